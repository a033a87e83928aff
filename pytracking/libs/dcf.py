"""Correlation-filter helpers: Gaussian label maps, Hann windows, and the peak of score maps.

Sizes, centres and positions here are tensor-ordered (rows, columns), as score maps are.
"""

from __future__ import annotations

from typing import Sequence

import torch


def _pair(value, name: str) -> tuple[float, float]:
    """A scalar or a pair (tensor, list, tuple) -> (rows, columns) floats."""
    values = torch.as_tensor(value, dtype=torch.float64).reshape(-1).tolist()
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise ValueError(f"{name} must be a number or a (rows, columns) pair, got {value!r}")
    return values[0], values[1]


def _gauss_1d(size: int, sigma: float, center: float, end_pad: int, dtype: torch.dtype) -> torch.Tensor:
    # Coordinates are relative to the middle of the unpadded grid, (size - 1) / 2. Computed in
    # ``dtype`` in the published trackers' order, whose online learning amplifies any rounding.
    coordinates = torch.arange(size + end_pad, dtype=dtype) - (size - 1) / 2
    return torch.exp(-1.0 / (2 * sigma ** 2) * (coordinates - center) ** 2)


def label_function_spatial(sz, sigma, center=(0.0, 0.0), end_pad=(0, 0),
                           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Gaussian label map (1, 1, H + end_pad[0], W + end_pad[1]) for a score map of size
    ``sz`` = (H, W): exp(-d^2 / (2 sigma^2)) per axis, with d measured from ``center``, which is
    relative to the middle of the H x W grid (pixel (H - 1) / 2, (W - 1) / 2) and may be
    fractional. ``end_pad`` extends the grid at the bottom/right, e.g. by 1 for the (H + 1) x
    (W + 1) score map of an even-sized filter. ``sigma`` and ``center`` are numbers or pairs."""
    height, width = (int(v) for v in _pair(sz, "sz"))
    sigma_y, sigma_x = _pair(sigma, "sigma")
    center_y, center_x = _pair(center, "center")
    pad_y, pad_x = (int(v) for v in _pair(end_pad, "end_pad"))
    if sigma_y <= 0 or sigma_x <= 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    rows = _gauss_1d(height, sigma_y, center_y, pad_y, dtype)
    columns = _gauss_1d(width, sigma_x, center_x, pad_x, dtype)
    return (rows.reshape(1, 1, -1, 1) * columns.reshape(1, 1, 1, -1))


def hann1d(sz: int, centered: bool = True, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Hann window (sz,) without its zero end points: w[n] = (1 - cos(2 pi (n + 1) / (sz + 1))) / 2,
    peaking at the middle (1 there for odd sz). ``centered=False`` gives the published trackers'
    window for maps whose zero displacement is at index 0: w[d] = (1 + cos(2 pi d / (sz + 2))) / 2
    at circular displacement d (d = 0 .. sz // 2 and its mirror), 1 at index 0."""
    if sz < 1:
        raise ValueError(f"a window needs a positive size, got {sz}")
    if not centered:
        half = 0.5 * (1 + torch.cos(2 * torch.pi * torch.arange(sz // 2 + 1, dtype=torch.float64) / (sz + 2)))
        return torch.cat([half, half[1:sz - sz // 2].flip(0)]).to(dtype)
    n = torch.arange(1, sz + 1, dtype=torch.float64)
    return (0.5 * (1 - torch.cos(2 * torch.pi * n / (sz + 1)))).to(dtype)


def hann2d(sz: Sequence[int], centered: bool = True, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Separable Hann window (1, 1, H, W) for ``sz`` = (H, W); see :func:`hann1d`."""
    height, width = (int(v) for v in _pair(sz, "sz"))
    return (hann1d(height, centered, dtype)[:, None] * hann1d(width, centered, dtype)[None, :]).reshape(
        1, 1, height, width)


def hann2d_clipped(sz: Sequence[int], effective_sz: Sequence[int], centered: bool = True,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A Hann window of ``effective_sz`` (clipped to ``sz``) in the middle of an (H, W) map of
    zeros: (1, 1, H, W). With an odd margin the extra zero row/column is at the bottom/right."""
    height, width = (int(v) for v in _pair(sz, "sz"))
    eff_h, eff_w = (int(v) for v in _pair(effective_sz, "effective_sz"))
    eff_h, eff_w = min(eff_h, height), min(eff_w, width)
    window = torch.zeros(1, 1, height, width, dtype=dtype)
    top, left = (height - eff_h) // 2, (width - eff_w) // 2
    window[..., top:top + eff_h, left:left + eff_w] = hann2d((eff_h, eff_w), True, dtype)
    if not centered:
        window = torch.fft.ifftshift(window, dim=(-2, -1))
    return window


def max2d(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Peaks of score maps (..., H, W): the maximum values (...) and their positions (..., 2)
    as (row, column), long; the first in row-major order on ties."""
    if scores.dim() < 2:
        raise ValueError(f"max2d takes maps (..., H, W), got shape {tuple(scores.shape)}")
    width = scores.shape[-1]
    flat_scores = scores.flatten(-2)
    flat = flat_scores.argmax(dim=-1)
    values = flat_scores.gather(-1, flat.unsqueeze(-1)).squeeze(-1)
    return values, torch.stack((flat // width, flat % width), dim=-1)
