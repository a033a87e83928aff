"""Writes the fixtures that ``tests/ltr/models/fairmot/test_published.py`` compares our FairMOT
networks with, made by running FairMOT's own model code:

- ``state_dict_keys.txt``: for each ``--arch`` (``dla_34``, ``dlaconv_34``, ``resdcn_34``,
  ``resdcn_50``, FairMOT's default heads ``{'hm': 1, 'wh': 4, 'id': 128, 'reg': 2}``,
  ``head_conv`` 256) every state_dict key with its shape, in FairMOT's order: lines
  ``<arch> <key> <d0>x<d1>x...``.
- ``dla_outputs.npz``: the head outputs of FairMOT's ``DLASeg`` (``dla_34`` and ``dlaconv_34``
  with heads :data:`CONFORMANCE_HEADS` and ``head_conv`` :data:`CONFORMANCE_HEAD_CONV`) in
  eval mode, weights filled by :func:`fill_state_dict`, on :func:`seeded_input`; arrays
  ``<arch>/<head>`` (float32).

Not run by the tests (they import :func:`fill_state_dict`, :func:`seeded_input` and the
constants from here); rerun it only to change the fixtures.

How it was produced (FairMOT is MIT-licensed; its code stays in /tmp, never in the toolkit):

    mkdir -p /tmp/fairmot_ref
    for f in pose_dla_dcn pose_dla_conv resnet_dcn; do
        git --git-dir=<FairMOT clone>/.git show 4aa6297:src/lib/models/networks/$f.py > /tmp/fairmot_ref/$f.py
    done
    PYTHONPATH=<repo> /work/main/.venv/bin/python tests/ltr/models/fairmot_reference/make_fixture.py /tmp/fairmot_ref

(torch 2.14.1, numpy from the toolkit's environment; no separate venv is needed since nothing
is installed.) The three files run as published, except what they import or download:

- ``dcn_v2`` (DCNv2's compiled extension) is stubbed by a module whose ``DCN`` is the
  toolkit's :class:`ltr.models.fairmot.dcn.DCN` (same parameter names and shapes as DCNv2's);
- the networks are built without ImageNet weights: ``DLASeg(..., pretrained=False)``, so the
  DLA base has no ``fc`` (FairMOT's ``get_pose_net`` passes ``pretrained=True``, which creates
  ``base.fc``, 1000 x 512 x 1 x 1, to load the ImageNet file; the released FairMOT files carry
  it, unused), and ``PoseResNet(...)`` without ``init_weights`` (which only downloads
  torchvision's ResNet weights into the same keys).
"""

from __future__ import annotations

import importlib.util
import math
import sys
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).parent
KEYS_FILE = HERE / "state_dict_keys.txt"
OUTPUTS_FILE = HERE / "dla_outputs.npz"
SEED = 34
INPUT_SHAPE = (1, 3, 64, 96)
DEFAULT_HEADS = {"hm": 1, "wh": 4, "id": 128, "reg": 2}
CONFORMANCE_HEADS = {"hm": 2, "wh": 4, "id": 48, "reg": 2}
CONFORMANCE_HEAD_CONV = 32
ARCHS = ("dla_34", "dlaconv_34", "resdcn_34", "resdcn_50")
CONFORMANCE_ARCHS = ("dla_34", "dlaconv_34")


def fill_state_dict(module: torch.nn.Module, seed: int = SEED) -> None:
    """Fills every entry of ``module.state_dict()`` in key order from one float64 generator
    seeded with ``seed`` (so the order and shapes must match for two networks to get the same
    values): ``num_batches_tracked`` unchanged; ``running_var`` and 1-D ``weight`` (BatchNorm
    scales) uniform in [0.5, 1.5); ``running_mean`` and 1-D ``bias`` normal(0, 0.1); every
    other tensor normal(0, sqrt(2 / fan_in)) with ``fan_in = numel / shape[0]``."""
    generator = torch.Generator().manual_seed(seed)
    state = module.state_dict()
    filled = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            filled[key] = value
            continue
        shape = tuple(value.shape)
        if key.endswith("running_var") or (value.dim() == 1 and key.endswith("weight")):
            new = 0.5 + torch.rand(shape, generator=generator, dtype=torch.float64)
        elif key.endswith("running_mean") or (value.dim() == 1 and key.endswith("bias")):
            new = 0.1 * torch.randn(shape, generator=generator, dtype=torch.float64)
        else:
            fan_in = value.numel() // shape[0]
            new = math.sqrt(2.0 / fan_in) * torch.randn(shape, generator=generator, dtype=torch.float64)
        filled[key] = new.to(value.dtype)
    module.load_state_dict(filled, strict=True)


def seeded_input(seed: int = SEED) -> torch.Tensor:
    """Images ``INPUT_SHAPE`` uniform in [0, 1) (FairMOT's input range)."""
    generator = torch.Generator().manual_seed(seed + 1)
    return torch.rand(INPUT_SHAPE, generator=generator, dtype=torch.float64).float()


def read_keys(path: Path = KEYS_FILE) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    """``state_dict_keys.txt`` as ``{arch: [(key, shape), ...]}`` in file order."""
    table: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for line in path.read_text().splitlines():
        arch, key, shape = line.split()
        dims = tuple(int(d) for d in shape.split("x")) if shape != "scalar" else ()
        table.setdefault(arch, []).append((key, dims))
    return table


def _load_published(source: Path, name: str):
    spec = importlib.util.spec_from_file_location(f"fairmot_{name}", source / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _published_network(source: Path, arch: str, heads: dict[str, int], head_conv: int) -> torch.nn.Module:
    if arch in ("dla_34", "dlaconv_34"):
        module = _load_published(source, "pose_dla_dcn" if arch == "dla_34" else "pose_dla_conv")
        return module.DLASeg("dla34", dict(heads), pretrained=False, down_ratio=4, final_kernel=1, last_level=5,
                             head_conv=head_conv)
    module = _load_published(source, "resnet_dcn")
    block, layers = module.resnet_spec[int(arch.split("_")[1])]
    return module.PoseResNet(block, layers, dict(heads), head_conv=head_conv)


def main(source: Path) -> None:
    from ltr.models.fairmot.dcn import DCN

    sys.modules["dcn_v2"] = types.SimpleNamespace(DCN=DCN)
    torch.manual_seed(SEED)
    lines = []
    for arch in ARCHS:
        net = _published_network(source, arch, DEFAULT_HEADS, 256)
        for key, value in net.state_dict().items():
            shape = "x".join(str(d) for d in value.shape) if value.dim() else "scalar"
            lines.append(f"{arch} {key} {shape}")
    KEYS_FILE.write_text("\n".join(lines) + "\n")
    arrays = {}
    for arch in CONFORMANCE_ARCHS:
        net = _published_network(source, arch, CONFORMANCE_HEADS, CONFORMANCE_HEAD_CONV)
        fill_state_dict(net)
        net.eval()
        with torch.no_grad():
            outputs = net(seeded_input())[0]
        for head, value in outputs.items():
            arrays[f"{arch}/{head}"] = value.numpy().astype(np.float32)
    np.savez_compressed(OUTPUTS_FILE, **arrays)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
