"""The public op: input checks, the choice between the compiled kernels and the PyTorch
reference, and the autograd wrapper of the compiled kernels.

Inputs are checked once on each path, never by reading a CUDA tensor's values on the host
(which would synchronise the device on every call): here shapes, dtypes, devices and sizes;
the roi values (finite, batch indices integers in [0, B)) by the compiled CPU op
(``csrc/bindings.cpp``) and by the reference, both with a ValueError naming the rows. The
CUDA kernels pool such rows to zeros, with zero gradients, without a check.
"""

from __future__ import annotations

import logging
import math

import torch
from torch.autograd.function import once_differentiable

from external.compiled import build_command, load_compiled
from external.PreciseRoIPooling.reference import prroi_pool2d_torch

logger = logging.getLogger(__name__)


_C, _IMPORT_ERROR = load_compiled("external.PreciseRoIPooling", "the Precise RoI Pooling extension")

BUILD_COMMAND = build_command("external.PreciseRoIPooling")
COMPILED_DTYPES = {
    "cpu": (torch.float32, torch.float64),
    "cuda": (torch.float32, torch.float16, torch.bfloat16),
}
BACKENDS = ("auto", "compiled", "torch")
_warned_fallback = False


def compiled_available(device: torch.device | str = "cpu") -> bool:
    """Whether the compiled op is built for ``device``'s type."""
    kind = torch.device(device).type
    if _C is None or kind not in COMPILED_DTYPES:
        return False
    return kind == "cpu" or bool(_C.with_cuda())


def _kernel_layout(features: torch.Tensor) -> torch.Tensor:
    """The features as the compiled kernels read them: CPU features in channels-last memory as they
    are (the CPU kernels run their loops across the channels there, with the row-major kernels'
    values bit for bit), everything else row-major."""
    if features.device.type == "cpu" and features.is_contiguous(memory_format=torch.channels_last):
        return features
    return features.contiguous()


class _PrRoIPool2DFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features, rois, pooled_height, pooled_width, spatial_scale):
        features, rois = _kernel_layout(features), rois.contiguous()
        output = _C.forward(features, rois, pooled_height, pooled_width, spatial_scale)
        ctx.save_for_backward(features, rois, output)
        ctx.params = (pooled_height, pooled_width, spatial_scale)
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        features, rois, output = ctx.saved_tensors
        # Refining boxes needs only the rois' gradient: skip the features' where not asked for.
        grad_features, grad_rois = _C.backward(grad_output.contiguous(), features, rois, output, *ctx.params,
                                               features_grad=bool(ctx.needs_input_grad[0]))
        return (grad_features if ctx.needs_input_grad[0] else None,
                grad_rois if ctx.needs_input_grad[1] else None, None, None, None)


def _check(features: torch.Tensor, rois: torch.Tensor, pooled_height: int, pooled_width: int,
           spatial_scale: float) -> None:
    """Shapes, dtypes, devices and sizes: metadata only, no tensor values are read."""
    if not isinstance(features, torch.Tensor) or features.dim() != 4:
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"features must be a 4-D tensor (B, C, H, W), got {shape}")
    if not isinstance(rois, torch.Tensor) or rois.dim() != 2 or rois.shape[1] != 5:
        shape = tuple(rois.shape) if isinstance(rois, torch.Tensor) else type(rois).__name__
        raise ValueError(f"rois must have shape (K, 5) as [batch_index, x0, y0, x1, y1], got {shape}")
    if not features.is_floating_point():
        raise ValueError(f"features must be floating point, got {features.dtype}")
    if rois.dtype != features.dtype:
        raise ValueError(f"rois ({rois.dtype}) and features ({features.dtype}) must have the same dtype")
    if rois.device != features.device:
        raise ValueError(f"rois are on {rois.device} but features on {features.device}")
    for name, value in (("pooled_height", pooled_height), ("pooled_width", pooled_width)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not (math.isfinite(spatial_scale) and spatial_scale > 0):
        raise ValueError(f"spatial_scale must be positive and finite, got {spatial_scale!r}")


def prroi_pool2d(features: torch.Tensor, rois: torch.Tensor, pooled_height: int, pooled_width: int,
                 spatial_scale: float, backend: str = "auto") -> torch.Tensor:
    """Precise RoI Pooling: the exact average of the bilinearly interpolated feature map over
    each bin, differentiable in the features and the box coordinates.

    features (B, C, H, W); rois (K, 5) as [batch_index, x0, y0, x1, y1] in image coordinates,
    multiplied by ``spatial_scale``; returns (K, C, PH, PW). A roi with x1 < x0 or y1 < y0 has
    zero area: its bins are 0, as is every bin of zero area. Rows with non-finite values or a
    batch index that is not an integer in [0, B) are a ValueError on the CPU and for the
    reference; the CUDA kernels pool them to 0 (checking would synchronise every call). ``backend``: "compiled" (the C++ or
    CUDA kernels), "torch" (the PyTorch reference), or "auto" (compiled where built for the
    device and dtype, else the reference, with one warning).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    _check(features, rois, pooled_height, pooled_width, spatial_scale)
    pooled_height, pooled_width, spatial_scale = int(pooled_height), int(pooled_width), float(spatial_scale)
    if rois.shape[0] == 0:
        return features.new_zeros(0, features.shape[1], pooled_height, pooled_width)
    kind = features.device.type
    compiled = compiled_available(features.device) and features.dtype in COMPILED_DTYPES[kind]
    if backend == "compiled" and not compiled:
        reason = (f"{_IMPORT_ERROR}; build it with {BUILD_COMMAND}" if _C is None
                  else f"it does not support {features.dtype} on {kind}")
        raise RuntimeError(f"the compiled PrRoIPool op cannot run: {reason}")
    if backend == "torch" or not compiled:
        if backend == "auto":
            _warn_fallback(kind, features.dtype)
        return prroi_pool2d_torch(features, rois, pooled_height, pooled_width, spatial_scale)
    return _PrRoIPool2DFunction.apply(features, rois, pooled_height, pooled_width, spatial_scale)


def prroi_pool2d_box_gradient(features: torch.Tensor, rois: torch.Tensor, output: torch.Tensor,
                              grad_output: torch.Tensor, pooled_height: int, pooled_width: int,
                              spatial_scale: float, backend: str = "auto") -> torch.Tensor:
    """The gradient (K, 5) of sum(``grad_output`` * pooled) with respect to ``rois`` (K, 5),
    where ``output`` = :func:`prroi_pool2d` (``features``, ``rois``, ...) was computed before
    (the batch-index column's gradient is 0): the backward pass of the boxes alone, without
    autograd's graph, for a caller that pools the same boxes it then moves (ATOM's box
    refinement). The compiled op gives the values its autograd backward gives; the reference
    recomputes the pooling under autograd."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    pooled_height, pooled_width, spatial_scale = int(pooled_height), int(pooled_width), float(spatial_scale)
    if rois.shape[0] == 0:
        return torch.zeros_like(rois)
    kind = features.device.type
    compiled = compiled_available(features.device) and features.dtype in COMPILED_DTYPES[kind]
    if backend == "torch" or not compiled:
        with torch.enable_grad():
            leaf = rois.detach().requires_grad_(True)
            pooled = prroi_pool2d_torch(features.detach(), leaf, pooled_height, pooled_width, spatial_scale)
            (gradient,) = torch.autograd.grad(pooled, leaf, grad_output)
        return gradient
    _, gradient = _C.backward(grad_output.contiguous(), _kernel_layout(features), rois.contiguous(),
                              output.contiguous(), pooled_height, pooled_width, spatial_scale, features_grad=False)
    return gradient


def _warn_fallback(kind: str, dtype: torch.dtype) -> None:
    global _warned_fallback
    if not _warned_fallback:
        _warned_fallback = True
        reason = f"{_IMPORT_ERROR} (run {BUILD_COMMAND})" if _C is None else f"not built for {dtype} on {kind}"
        logger.warning("Precise RoI Pooling: %s; using the slower PyTorch reference", reason)


class PrRoIPool2D(torch.nn.Module):
    """Precise RoI Pooling as a module; see :func:`prroi_pool2d`."""

    def __init__(self, pooled_height: int, pooled_width: int, spatial_scale: float, *, backend: str = "auto"):
        super().__init__()
        self.pooled_height, self.pooled_width = int(pooled_height), int(pooled_width)
        self.spatial_scale = float(spatial_scale)
        self.backend = backend

    def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        return prroi_pool2d(features, rois, self.pooled_height, self.pooled_width, self.spatial_scale,
                            backend=self.backend)

    def extra_repr(self) -> str:
        return f"pooled=({self.pooled_height}, {self.pooled_width}), spatial_scale={self.spatial_scale}"
