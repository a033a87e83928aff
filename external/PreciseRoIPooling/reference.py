"""Precise RoI Pooling in plain PyTorch: the reference the compiled op is tested against, and
the fallback where it is not built. Vectorised over rois and bins; differentiable in the
features and in the box coordinates through autograd.

The feature map is the continuous function F(x, y) = sum_ij f[i, j] k(x - j) k(y - i) with the
hat k(t) = max(0, 1 - |t|): bilinear between integer positions, zero outside the map. Each bin
returns the integral of F over the bin divided by its area; the integral is separable, a row
weight times a column weight per feature, each a difference of the hat's antiderivative.
"""

from __future__ import annotations

import torch


def hat_antiderivative(t: torch.Tensor) -> torch.Tensor:
    """G(t) = integral of max(0, 1 - |s|) for s < t: 0 below -1, 1 above 1."""
    t = t.clamp(-1.0, 1.0)
    return torch.where(t < 0, 0.5 * (t + 1) ** 2, 1 - 0.5 * (1 - t) ** 2)


def bin_weights(start: torch.Tensor, end: torch.Tensor, size: int) -> torch.Tensor:
    """Integral of k(x - j) over [start, end] for j = 0..size-1: (..., size)."""
    positions = torch.arange(size, dtype=start.dtype, device=start.device)
    return hat_antiderivative(end[..., None] - positions) - hat_antiderivative(start[..., None] - positions)


def check_roi_values(rois: torch.Tensor, batch: int) -> None:
    """ValueError naming the rows of ``rois`` (K, 5) with non-finite values or a batch index that
    is not an integer in [0, batch). It reads the values on the host: the reference does anyway
    (it splits the rois by image), the compiled op checks them in C++ instead."""
    with torch.no_grad():
        non_finite = (~torch.isfinite(rois)).any(1)
        index = rois[:, 0]
        outside = ~non_finite & ((index < 0) | (index >= batch) | (index != index.round()))
        bad, rows = non_finite.nonzero()[:, 0].tolist(), outside.nonzero()[:, 0].tolist()
    if bad:
        raise ValueError(f"rois hold non-finite values (NaN or inf) in rows {bad[:10]}")
    if rows:
        raise ValueError(f"batch indices of rois rows {rows[:10]} ({index[rows[:10]].tolist()}) are not "
                         f"integers in [0, {batch})")


def prroi_pool2d_torch(features: torch.Tensor, rois: torch.Tensor, pooled_height: int,
                       pooled_width: int, spatial_scale: float) -> torch.Tensor:
    """features (B, C, H, W), rois (K, 5) as [batch_index, x0, y0, x1, y1] -> (K, C, PH, PW).
    Shapes, dtypes and devices are assumed valid (see ``prroi_pool2d``); roi values are checked
    (:func:`check_roi_values`)."""
    check_roi_values(rois, features.shape[0])
    _, channels, height, width = features.shape
    batch_index = rois[:, 0].long()
    # Bin edges and weights in float64: in float32, differences of the antiderivative lose
    # digits for small bins. They are small tensors; the pooling itself runs in the input dtype.
    x0, y0, x1, y1 = (rois[:, 1:].double() * spatial_scale).unbind(1)
    # x1 < x0 is a roi of zero area.
    roi_w, roi_h = (x1 - x0).clamp(min=0), (y1 - y0).clamp(min=0)
    steps_x = torch.arange(pooled_width + 1, dtype=torch.float64, device=rois.device) / pooled_width
    steps_y = torch.arange(pooled_height + 1, dtype=torch.float64, device=rois.device) / pooled_height
    edges_x = x0[:, None] + steps_x * roi_w[:, None]  # (K, PW + 1)
    edges_y = y0[:, None] + steps_y * roi_h[:, None]
    weights_x = bin_weights(edges_x[:, :-1], edges_x[:, 1:], width)  # (K, PW, W)
    weights_y = bin_weights(edges_y[:, :-1], edges_y[:, 1:], height)  # (K, PH, H)
    area = (edges_y[:, 1:] - edges_y[:, :-1])[:, :, None] * (edges_x[:, 1:] - edges_x[:, :-1])[:, None, :]

    order = torch.argsort(batch_index, stable=True)
    images, counts = torch.unique_consecutive(batch_index[order], return_counts=True)
    pieces = []
    for image, rows in zip(images.tolist(), torch.split(order, counts.tolist())):
        pieces.append(torch.einsum("chw,kph,kqw->kcpq", features[image], weights_y[rows].to(features.dtype),
                                   weights_x[rows].to(features.dtype)))
    if not pieces:
        return features.new_zeros(0, channels, pooled_height, pooled_width)
    integral = torch.cat(pieces)[torch.argsort(order)]
    area = area.to(integral.dtype)[:, None]
    nonzero = area > 0
    return torch.where(nonzero, integral / torch.where(nonzero, area, torch.ones_like(area)), 0.0)
