"""Convolutions of feature maps with filters and projection matrices, element-wise over
TensorLists (one filter per feature layer).

``conv2d`` pads explicitly (``padding``) or by ``mode``:

- ``'valid'``: no padding, (H - kh + 1) x (W - kw + 1);
- ``'same'``: H x W, the output at (i, j) taking the filter centred on input (i, j) (for an even
  size k the centre is element k // 2);
- ``'full'``: k - 1 on every side, (H + kh - 1) x (W + kw - 1).

An even-sized filter with ``padding = k // 2`` gives an (H + 1) x (W + 1) map: a 4 x 4 filter with
padding 2 on an 18 x 18 feature map scores 19 x 19 positions, the map a tracker labels with
``dcf.label_function_spatial(..., end_pad=1)``.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from pytracking.libs.tensorlist import TensorList

MODES = ("same", "valid", "full")


def _zip_lists(function, input, weight, *args, **kwargs):
    """Apply ``function`` element-wise when ``input`` is a TensorList; a TensorList ``weight``
    pairs with it element by element, a tensor is shared by all elements."""
    if isinstance(weight, TensorList):
        if not isinstance(input, TensorList) or len(input) != len(weight):
            raise ValueError(f"a TensorList of {len(weight)} weights needs a TensorList input of the same length")
        return TensorList(function(x, w, *args, **kwargs) for x, w in zip(input, weight))
    if isinstance(input, TensorList):
        return TensorList(function(x, weight, *args, **kwargs) for x in input)
    return function(input, weight, *args, **kwargs)


def _flatten_batch(input: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """(*, C, H, W) -> (N, C, H, W) and the leading shape."""
    if input.dim() < 3:
        raise ValueError(f"feature maps must be (*, C, H, W), got shape {tuple(input.shape)}")
    leading = tuple(input.shape[:-3])
    return input.reshape(-1, *input.shape[-3:]), leading


def _conv2d(input: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
            padding: int | Sequence[int], mode: str | None) -> torch.Tensor:
    if weight is None:
        return input
    if weight.dim() != 4:
        raise ValueError(f"a filter is (out_channels, C, kh, kw), got shape {tuple(weight.shape)}")
    batch, leading = _flatten_batch(input)
    kh, kw = weight.shape[-2:]
    crop = None
    if mode is not None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if padding not in (0, (0, 0)):
            raise ValueError(f"give either padding ({padding}) or mode ({mode!r}), not both")
        if mode == "same":
            padding = (kh // 2, kw // 2)
            # An even size pads k // 2 on both sides, one more than needed: drop the last row/column.
            crop = (batch.shape[-2], batch.shape[-1])
        elif mode == "full":
            padding = (kh - 1, kw - 1)
        else:
            padding = (0, 0)
    out = F.conv2d(batch, weight, bias, padding=padding)
    if crop is not None:
        out = out[..., :crop[0], :crop[1]]
    return out.reshape(*leading, *out.shape[-3:])


def conv2d(input, weight, bias: torch.Tensor | None = None, padding: int | Sequence[int] = 0,
           mode: str | None = None):
    """Convolution (cross-correlation, as torch's) of feature maps (*, C, H, W) with filters
    (K, C, kh, kw) -> (*, K, H', W'); leading dimensions are batched. ``padding``: int or
    (rows, columns); or ``mode``: 'same', 'valid' or 'full' (see the module). TensorLists map
    element-wise. A ``weight`` of None returns the input."""
    return _zip_lists(_conv2d, input, weight, bias, padding, mode)


def _conv1x1(input: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    if weight is None:
        return input
    if weight.dim() == 4 and weight.shape[-2:] != (1, 1):
        raise ValueError(f"conv1x1 needs weights (D, C) or (D, C, 1, 1), got shape {tuple(weight.shape)}")
    matrix = weight.reshape(weight.shape[0], -1)
    batch, leading = _flatten_batch(input)
    if matrix.shape[1] != batch.shape[1]:
        raise ValueError(f"weights for {matrix.shape[1]} channels applied to maps of {batch.shape[1]} channels")
    out = torch.matmul(matrix, batch.flatten(-2)).reshape(batch.shape[0], matrix.shape[0], *batch.shape[-2:])
    return out.reshape(*leading, *out.shape[-3:])


def conv1x1(input, weight):
    """Channel projection of feature maps (*, C, H, W) by ``weight`` (D, C) or (D, C, 1, 1) ->
    (*, D, H, W), as a matrix product. TensorLists map element-wise; None returns the input."""
    return _zip_lists(_conv1x1, input, weight)
