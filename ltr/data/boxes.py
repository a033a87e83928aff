"""Box geometry. Boxes are [x, y, w, h] (top-left corner, float pixels) everywhere a box crosses a
function boundary; other layouts are converted here, at the edge."""

from __future__ import annotations

import torch


def xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) [x, y, w, h] -> [x0, y0, x1, y1]."""
    return torch.cat([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], -1)


def xyxy_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) [x0, y0, x1, y1] -> [x, y, w, h]."""
    return torch.cat([boxes[..., :2], boxes[..., 2:] - boxes[..., :2]], -1)


def xywh_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    return torch.cat([boxes[..., :2] + 0.5 * boxes[..., 2:], boxes[..., 2:]], -1)


def cxcywh_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    return torch.cat([boxes[..., :2] - 0.5 * boxes[..., 2:], boxes[..., 2:]], -1)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of [x, y, w, h] boxes, broadcast over leading dimensions: (...,)."""
    low = torch.maximum(a[..., :2], b[..., :2])
    high = torch.minimum(a[..., :2] + a[..., 2:], b[..., :2] + b[..., 2:])
    intersection = (high - low).clamp(min=0).prod(-1)
    union = a[..., 2:].prod(-1) + b[..., 2:].prod(-1) - intersection
    return intersection / union.clamp(min=torch.finfo(union.dtype).tiny)


def box_is_valid(boxes: torch.Tensor) -> torch.Tensor:
    """Finite boxes of positive width and height: (...,) bool."""
    return torch.isfinite(boxes).all(-1) & (boxes[..., 2] > 0) & (boxes[..., 3] > 0)
