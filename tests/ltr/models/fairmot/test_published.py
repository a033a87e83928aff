"""Our FairMOT networks against FairMOT's own model code (fixtures made by
``tests/ltr/models/fairmot_reference/make_fixture.py``): the state_dict keys and shapes of
every ``--arch``, in FairMOT's order, and the head outputs of DLA-34 (DCN and plain) under the
same seeded weights."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ltr.models.fairmot.network import build_fairmot

HERE = Path(__file__).parents[1] / "fairmot_reference"


def _load_reference():
    spec = importlib.util.spec_from_file_location("fairmot_make_fixture", HERE / "make_fixture.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


reference = _load_reference()
PUBLISHED_KEYS = reference.read_keys()


@pytest.mark.parametrize("arch", reference.ARCHS)
def test_state_dict_keys_and_shapes_are_fairmots(arch):
    heads = reference.DEFAULT_HEADS
    net = build_fairmot(arch, num_classes=heads["hm"], reid_dim=heads["id"], head_conv=256, ltrb=heads["wh"] == 4)
    ours = [(key, tuple(value.shape)) for key, value in net.state_dict().items()]
    assert ours == PUBLISHED_KEYS[arch]


def test_the_fixture_holds_the_expected_head_keys():
    """A check of the fixture itself against hand-written rules: FairMOT's heads in its order,
    3x3 to 256 then 1x1, on 64 channels (DLA's level 2, PoseResNet's last deconvolution)."""
    for arch, rows in PUBLISHED_KEYS.items():
        head_rows = [(key, shape) for key, shape in rows if key.split(".")[0] in ("hm", "wh", "id", "reg")]
        assert head_rows == [(f"{head}.{index}.{kind}", shape)
                             for head, channels in (("hm", 1), ("wh", 4), ("id", 128), ("reg", 2))
                             for index, kind, shape in ((0, "weight", (256, 64, 3, 3)), (0, "bias", (256,)),
                                                        (2, "weight", (channels, 256, 1, 1)),
                                                        (2, "bias", (channels,)))]
    dcn_keys = [key for key, _ in PUBLISHED_KEYS["dla_34"] if key.startswith("dla_up.ida_2.proj_3.")]
    assert dcn_keys[-4:] == ["dla_up.ida_2.proj_3.conv.weight", "dla_up.ida_2.proj_3.conv.bias",
                             "dla_up.ida_2.proj_3.conv.conv_offset_mask.weight",
                             "dla_up.ida_2.proj_3.conv.conv_offset_mask.bias"]


@pytest.mark.parametrize("arch", reference.CONFORMANCE_ARCHS)
def test_head_outputs_match_fairmots(arch):
    heads = reference.CONFORMANCE_HEADS
    net = build_fairmot(arch, num_classes=heads["hm"], reid_dim=heads["id"], head_conv=reference.CONFORMANCE_HEAD_CONV,
                        ltrb=heads["wh"] == 4)
    reference.fill_state_dict(net)
    net.eval()
    with torch.no_grad():
        outputs = net(reference.seeded_input())
    published = np.load(reference.OUTPUTS_FILE)
    assert list(outputs) == list(heads)
    for head, value in outputs.items():
        expected = torch.from_numpy(published[f"{arch}/{head}"])
        scale = float(expected.abs().max())
        assert value.shape == expected.shape and scale > 0.1
        torch.testing.assert_close(value, expected, rtol=1e-4, atol=1e-4 * scale)
