"""The modulated deformable convolution of DCNv2 (github.com/CharlesShang/DCNv2, the ``DCN``
module that FairMOT imports as ``from dcn_v2 import DCN``), on torchvision's
``torchvision.ops.deform_conv2d`` instead of DCNv2's compiled extension.

Published rules (DCNv2's ``dcn_v2.py`` and ``modulated_deformable_im2col`` kernels):

- parameters ``weight`` ``(out, in, kh, kw)`` and ``bias`` ``(out,)`` of the convolution, and
  ``conv_offset_mask``: a Conv2d (same kernel, stride and padding, no dilation, with bias) producing
  ``deformable_groups * 3 * kh * kw`` channels; ``weight`` uniform in ``+-1/sqrt(in * kh * kw)``,
  ``bias`` zero, ``conv_offset_mask`` all zero (so an untrained layer samples the plain grid
  with mask 0.5);
- forward: ``o1, o2, m = chunk(conv_offset_mask(x), 3, dim=1)``; offsets ``cat(o1, o2)``
  (the first two thirds, in order), mask ``sigmoid(m)``;
- offset layout: for kernel position ``k = i * kw + j`` of deformable group ``g``, channel
  ``2k`` is the vertical offset (dy) and ``2k + 1`` the horizontal one (dx); the mask channel
  is ``k``. torchvision's ``deform_conv2d`` reads the same layout (``offset[2k]`` dy,
  ``offset[2k + 1]`` dx), so the offsets pass through unchanged;
- sampling: bilinear at ``(h_out * stride - pad + i * dilation + dy, ...)``, zero outside the
  image (points with ``h <= -1`` or ``h >= height``, likewise for w): torchvision's rule too.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d


class DCN(nn.Module):
    """DCNv2's ``DCN(in_channels, out_channels, kernel_size, stride, padding, dilation=1,
    deformable_groups=1)``: a modulated deformable convolution whose offsets and mask come from
    ``conv_offset_mask`` applied to the input (module docstring). Input ``(B, in, H, W)`` ->
    ``(B, out, H', W')`` as a Conv2d of the same geometry."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int] = 3,
                 stride: int = 1, padding: int = 1, dilation: int = 1, deformable_groups: int = 1):
        super().__init__()
        if in_channels % deformable_groups:
            raise ValueError(f"in_channels ({in_channels}) must be a multiple of deformable_groups "
                             f"({deformable_groups})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.deformable_groups = deformable_groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        kh, kw = self.kernel_size
        # As DCNv2: the offset convolution has the kernel, stride and padding but not the dilation.
        self.conv_offset_mask = nn.Conv2d(in_channels, deformable_groups * 3 * kh * kw, self.kernel_size,
                                          stride=self.stride, padding=self.padding, bias=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """DCNv2's initialisation (module docstring)."""
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.zeros_(self.bias)
        nn.init.zeros_(self.conv_offset_mask.weight)
        nn.init.zeros_(self.conv_offset_mask.bias)

    def offsets_and_mask(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The offsets ``(B, 2 * G * kh * kw, H', W')`` ((dy, dx) per kernel position) and the
        mask ``(B, G * kh * kw, H', W')`` in (0, 1) that :meth:`forward` samples with."""
        o1, o2, mask = torch.chunk(self.conv_offset_mask(x), 3, dim=1)
        return torch.cat((o1, o2), dim=1), torch.sigmoid(mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        offset, mask = self.offsets_and_mask(x)
        return deform_conv2d(x, offset, self.weight, self.bias, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, mask=mask)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, deformable_groups={self.deformable_groups}")
