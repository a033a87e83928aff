"""ONNX export of the FairMOT networks, for deployment outside PyTorch.

The export uses PyTorch's ``torch.export``-based ONNX exporter (``dynamo=True``, which needs
the ``onnxscript`` package), at opset :data:`OPSET` = 19: the first opset with ONNX's
``DeformConv`` operator, to which that exporter maps ``torchvision::deform_conv2d`` with its
modulation mask, so ``dla_34``, ``resdcn_*`` and ``fairmot_tiny(deformable=True)`` export as
well as the plain-convolution networks. (The older TorchScript exporter, ``dynamo=False``, has no
mapping for ``torchvision::deform_conv2d`` and fails on the DCN networks.) onnxruntime runs
``DeformConv`` on its CPU provider.

The graph takes ``images`` ``(B, 3, height, width)`` float32 RGB in [0, 1] and returns one
output per head, named as the heads (``hm``, ``wh``, ``id``, ``reg``), as the network's
``forward`` in eval mode. Shapes are fixed at export (the batch size too).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from ltr.fileio import atomic_write_bytes

logger = logging.getLogger(__name__)

OPSET = 19


def export_onnx(net: nn.Module, path: str | Path, *, height: int, width: int, batch_size: int = 1,
                opset: int = OPSET) -> Path:
    """Writes ``net`` (a FairMOT network, in eval mode for the export; its mode is restored) as
    an ONNX model to ``path`` (atomically), for images ``(batch_size, 3, height, width)`` (H and
    W multiples of 32). Returns ``path``."""
    if height % 32 or width % 32 or height <= 0 or width <= 0:
        raise ValueError(f"height and width must be positive multiples of 32 for a FairMOT network, got "
                         f"{height}x{width}")
    try:
        import onnxscript  # noqa: F401  (the exporter needs it; a clear message instead of a deep import error)
    except ImportError as error:
        raise RuntimeError("ONNX export needs the packages onnx and onnxscript: pip install onnx onnxscript "
                           "(the toolkit's 'test' extra has them)") from error
    path = Path(path)
    heads = list(getattr(net, "heads", {}))
    was_training = net.training
    net.eval()
    try:
        example = torch.zeros(batch_size, 3, height, width)
        program = torch.onnx.export(net, (example,), input_names=["images"], output_names=heads or None,
                                    opset_version=opset, dynamo=True, verbose=False)
    finally:
        net.train(was_training)
    atomic_write_bytes(path, program.model_proto.SerializeToString())
    logger.info("exported %s to %s (opset %d, input %dx3x%dx%d)", type(net).__name__, path, opset, batch_size,
                height, width)
    return path
