"""ONNX export of FairMOT's networks: the graph that onnxruntime runs on the CPU gives the
heads of PyTorch's forward, for DLA-34 with plain convolutions and with DCNs (ONNX's
``DeformConv``, opset 19)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from ltr.models.fairmot.export import export_onnx
from ltr.models.fairmot.network import build_fairmot

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def _fill_rule():
    spec = importlib.util.spec_from_file_location(
        "fairmot_make_fixture_export", Path(__file__).parents[1] / "fairmot_reference" / "make_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fill_state_dict


@pytest.mark.parametrize("arch,operator", [("dlaconv_34", "Conv"), ("dla_34", "DeformConv")])
def test_onnxruntime_gives_pytorchs_heads(arch, operator, tmp_path):
    net = build_fairmot(arch, reid_dim=32, head_conv=32)
    _fill_rule()(net)  # seeded weights with non-zero offsets, so the deformation is exercised
    net.train()
    path = export_onnx(net, tmp_path / f"{arch}.onnx", height=32, width=64)
    assert net.training  # the mode is restored
    model = onnx.load(str(path))
    assert operator in {node.op_type for node in model.graph.node}
    assert not list(tmp_path.glob(".*.tmp"))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    images = torch.rand(1, 3, 32, 64, generator=torch.Generator().manual_seed(2))
    outputs = session.run(None, {"images": images.numpy()})
    net.eval()
    with torch.no_grad():
        expected = net(images)
    assert [output.name for output in session.get_outputs()] == list(expected) == ["hm", "wh", "id", "reg"]
    for value, (head, reference) in zip(outputs, expected.items()):
        scale = float(reference.abs().max())
        assert scale > 0.1, head
        np.testing.assert_allclose(value, reference.numpy(), rtol=1e-4, atol=1e-4 * scale, err_msg=head)


def test_sizes_must_be_multiples_of_32(tmp_path):
    with pytest.raises(ValueError, match="multiples of 32.*48x64"):
        export_onnx(build_fairmot("tiny"), tmp_path / "x.onnx", height=48, width=64)
