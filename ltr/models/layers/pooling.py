"""Max pooling as two one-dimensional passes on the CPU.

PyTorch's CPU max pooling of a row-major (NCHW) map always computes the argmax indices too, one
window at a time: ResNet's stem pooling (3x3, stride 2, on 64 x 144 x 144 for a 288-pixel sample)
took 7.8 ms of a 55-65 ms backbone on two cores. The maximum over a k x k window is the maximum
over its k rows of the maximum over its k columns, and a maximum rounds nothing, so the same values
come from k elementwise maxima of strided views along the height (whole rows: vectorised), then k
along the width: 1.8 ms there, 72 against 152 ms for a batch of 16, and 22 against 60 ms for
FairMOT's stem at 1088x608.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.utils import _pair


def _max_pool_along(x: torch.Tensor, dim: int, kernel: int, stride: int, padding: int) -> torch.Tensor:
    """Max pooling of ``x`` along ``dim`` alone (window ``kernel``, ``stride``, ``padding``
    cells of -inf each side), the output sizes of ``max_pool2d`` without ``ceil_mode``."""
    size = x.shape[dim]
    count = (size + 2 * padding - kernel) // stride + 1
    shape = list(x.shape)
    shape[dim] = count
    out = x.new_full(shape, float("-inf"))
    step = [slice(None)] * x.dim()
    step[dim] = slice(None, None, stride)
    for offset in range(kernel):
        # Output i reads input stride * i - padding + offset, where that lies inside the map.
        first = max(0, -(-(padding - offset) // stride))
        last = min(count - 1, (size - 1 + padding - offset) // stride)
        if last < first:
            continue
        source = x.narrow(dim, stride * first - padding + offset, stride * (last - first) + 1)[tuple(step)]
        target = out.narrow(dim, first, last - first + 1)
        torch.maximum(source, target, out=target)
    return out


def separable_max_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """``torch.nn.functional.max_pool2d(x, kernel_size, stride, padding)`` (no dilation, no
    ``ceil_mode``) of a (B, C, H, W) map as a pass along the height, then one along the width:
    the same values (NaN and infinities included; where the largest value of a window is a zero,
    its sign may be the other zero's). No indices; use the library's function where a gradient
    must flow (it sends a tie's gradient to one input, ``torch.maximum`` splits it)."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or stride == [] else _pair(stride)
    padding = _pair(padding)
    if x.dim() != 4:
        raise ValueError(f"separable_max_pool2d takes a (B, C, H, W) map, not one of shape {tuple(x.shape)}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"padding {padding} exceeds half the kernel {kernel}")
    x = _max_pool_along(x, 2, kernel[0], stride[0], padding[0])
    return _max_pool_along(x, 3, kernel[1], stride[1], padding[1])


class SeparableMaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` (same arguments, no parameters: checkpoints are unchanged) whose forward
    runs :func:`separable_max_pool2d` where it is exact and faster: on the CPU, a row-major
    floating-point map of at least :attr:`MIN_ELEMENTS` elements, no gradient recorded, no
    dilation, ``ceil_mode`` or indices, and not while tracing, scripting, compiling or exporting
    (which keep the library's single operation). Elsewhere it is ``nn.MaxPool2d``'s forward."""

    MIN_ELEMENTS = 1 << 16  # the library's kernel is as fast near 25,600 elements, faster below

    @torch.jit.unused  # TorchScript keeps the library's call alone
    def _separable(self, x: torch.Tensor) -> Optional[torch.Tensor]:
        """:func:`separable_max_pool2d` of ``x`` where it applies, else None."""
        if (torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.compiler.is_exporting()
                or torch.onnx.is_in_onnx_export()):
            return None
        if not (x.dim() == 4 and x.device.type == "cpu" and x.is_floating_point() and x.is_contiguous()
                and x.numel() >= self.MIN_ELEMENTS and not (x.requires_grad and torch.is_grad_enabled())
                and _pair(self.dilation) == (1, 1) and not self.ceil_mode and not self.return_indices):
            return None
        return separable_max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def forward(self, x: torch.Tensor):
        if not torch.jit.is_scripting():
            pooled = self._separable(x)
            if pooled is not None:
                return pooled
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, ceil_mode=self.ceil_mode,
                            return_indices=self.return_indices)
