"""Box geometry: the one module where a box changes layout.

Boxes are ``[x, y, w, h]`` (top-left corner, float pixels) everywhere a box crosses a function
boundary; other layouts are converted here, at the edge:

- ``xyxy``: ``[x0, y0, x1, y1]``, the top-left and the (exclusive) bottom-right corner, x1 = x + w;
- ``cxcywh``: ``[cx, cy, w, h]``, the continuous centre, cx = x + w / 2;
- ``pixel_cxcywh``: ``[cx, cy, w, h]``, the centre as a pixel index, cx = x + (w - 1) / 2, the
  published trackers' convention (ATOM's ``pos``); it is not the continuous centre.

Box functions take numpy arrays or torch tensors of shape ``(..., 4)`` and return the same type
(leading dimensions broadcast). The point helpers (``centre_from_corner`` and friends) are plain
arithmetic on one coordinate pair or one coordinate: floats, arrays or tensors of any shape.
Each helper keeps one fixed operation order, so a caller's float32 result does not depend on
which helper it went through (``0.5 * w`` and ``w / 2`` round alike; ``x + (w - 1) / 2`` and
``x + w / 2 - 0.5`` do not, hence separate pixel-index helpers).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

Boxes = TypeVar("Boxes", np.ndarray, torch.Tensor)
Coordinate = TypeVar("Coordinate", float, np.ndarray, torch.Tensor)


def _cat(first: Boxes, second: Boxes) -> Boxes:
    """Join two (..., 2) halves into (..., 4), torch or numpy."""
    if isinstance(first, torch.Tensor):
        return torch.cat([first, second], -1)
    return np.concatenate([first, second], -1)


# Points: one coordinate (or pair) and the matching size ----------------------------------

def centre_from_corner(corner: Coordinate, size: Coordinate) -> Coordinate:
    """Continuous centre of the extent starting at ``corner``: corner + size / 2."""
    return corner + 0.5 * size


def corner_from_centre(centre: Coordinate, size: Coordinate) -> Coordinate:
    """Top-left corner of the extent of ``size`` centred on ``centre``: centre - size / 2."""
    return centre - 0.5 * size


def pixel_centre_from_corner(corner: Coordinate, size: Coordinate) -> Coordinate:
    """Centre as a pixel index (published trackers): corner + (size - 1) / 2."""
    return corner + (size - 1) / 2


def corner_from_pixel_centre(centre: Coordinate, size: Coordinate) -> Coordinate:
    """Inverse of :func:`pixel_centre_from_corner`: centre - (size - 1) / 2."""
    return centre - (size - 1) / 2


# Boxes (..., 4) ---------------------------------------------------------------------------

def xywh_to_xyxy(boxes: Boxes) -> Boxes:
    """(..., 4) [x, y, w, h] -> [x0, y0, x1, y1], x1 = x + w."""
    return _cat(boxes[..., :2], boxes[..., :2] + boxes[..., 2:])


def xyxy_gradient_to_xywh(gradient: Boxes) -> Boxes:
    """The gradient (..., 4) of a function of [x0, y0, x1, y1] carried back through
    :func:`xywh_to_xyxy` to [x, y, w, h] (chain rule: d/dx = d/dx0 + d/dx1, d/dw = d/dx1), for a
    backward pass written out without autograd."""
    return _cat(gradient[..., :2] + gradient[..., 2:], gradient[..., 2:])


def xyxy_to_xywh(boxes: Boxes) -> Boxes:
    """(..., 4) [x0, y0, x1, y1] -> [x, y, w, h], w = x1 - x0."""
    return _cat(boxes[..., :2], boxes[..., 2:] - boxes[..., :2])


def xywh_to_cxcywh(boxes: Boxes) -> Boxes:
    """(..., 4) [x, y, w, h] -> [cx, cy, w, h], cx = x + w / 2."""
    return _cat(centre_from_corner(boxes[..., :2], boxes[..., 2:]), boxes[..., 2:])


def cxcywh_to_xywh(boxes: Boxes) -> Boxes:
    """(..., 4) [cx, cy, w, h] -> [x, y, w, h], x = cx - w / 2."""
    return _cat(corner_from_centre(boxes[..., :2], boxes[..., 2:]), boxes[..., 2:])


def cxcywh_to_xyxy(boxes: Boxes) -> Boxes:
    """(..., 4) [cx, cy, w, h] -> [x0, y0, x1, y1] = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]."""
    half = 0.5 * boxes[..., 2:]
    return _cat(boxes[..., :2] - half, boxes[..., :2] + half)


def xyxy_to_cxcywh(boxes: Boxes) -> Boxes:
    """(..., 4) [x0, y0, x1, y1] -> [cx, cy, w, h], through [x, y, w, h]."""
    return xywh_to_cxcywh(xyxy_to_xywh(boxes))


def xyxy_to_cxcywh_mean(boxes: Boxes) -> Boxes:
    """(..., 4) [x0, y0, x1, y1] -> [cx, cy, w, h] with the centre as the corners' mean, cx =
    (x0 + x1) / 2 (FairMOT's and YOLO's arithmetic: :func:`xyxy_to_cxcywh` up to rounding)."""
    return _cat((boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2])


def xywh_to_pixel_cxcywh(boxes: Boxes) -> Boxes:
    """(..., 4) [x, y, w, h] -> [cx, cy, w, h] with the centre a pixel index, cx = x + (w - 1) / 2."""
    return _cat(pixel_centre_from_corner(boxes[..., :2], boxes[..., 2:]), boxes[..., 2:])


def pixel_cxcywh_to_xywh(boxes: Boxes) -> Boxes:
    """(..., 4) [cx, cy, w, h], centre a pixel index -> [x, y, w, h], x = cx - (w - 1) / 2."""
    return _cat(corner_from_pixel_centre(boxes[..., :2], boxes[..., 2:]), boxes[..., 2:])


def box_iou(a: Boxes, b: Boxes) -> Boxes:
    """IoU of [x, y, w, h] boxes (continuous pixels), broadcast over leading dimensions:
    (..., 4), (..., 4) -> (...,). 0 where both boxes are empty."""
    if isinstance(a, torch.Tensor):
        low = torch.maximum(a[..., :2], b[..., :2])
        high = torch.minimum(a[..., :2] + a[..., 2:], b[..., :2] + b[..., 2:])
        intersection = (high - low).clamp(min=0).prod(-1)
        union = a[..., 2:].prod(-1) + b[..., 2:].prod(-1) - intersection
        return intersection / union.clamp(min=torch.finfo(union.dtype).tiny)
    low = np.maximum(a[..., :2], b[..., :2])
    high = np.minimum(a[..., :2] + a[..., 2:], b[..., :2] + b[..., 2:])
    intersection = np.clip(high - low, 0, None).prod(-1)
    union = a[..., 2:].prod(-1) + b[..., 2:].prod(-1) - intersection
    return intersection / np.maximum(union, np.finfo(np.result_type(union.dtype, np.float32)).tiny)


def box_is_valid(boxes: Boxes) -> Boxes:
    """Finite boxes of positive width and height: (..., 4) -> (...,) bool."""
    if isinstance(boxes, torch.Tensor):
        return torch.isfinite(boxes).all(-1) & (boxes[..., 2] > 0) & (boxes[..., 3] > 0)
    return np.isfinite(boxes).all(-1) & (boxes[..., 2] > 0) & (boxes[..., 3] > 0)


def box_iou_plus_one(a: Boxes, b: Boxes) -> Boxes:
    """IoU of [x, y, w, h] boxes with the +1 pixel convention of Fast R-CNN's ``bbox_overlaps``
    (``cython_bbox``, used by ByteTrack): each box is taken as ``w + 1`` by ``h + 1`` pixels, so
    boxes that touch or overlap by less than one pixel still overlap. Broadcast like
    :func:`box_iou`."""
    return box_iou(_cat(a[..., :2], a[..., 2:] + 1), _cat(b[..., :2], b[..., 2:] + 1))


# Kalman filter measurements of the MOT trackers -------------------------------------------

def xywh_to_cxcysr(boxes: Boxes) -> Boxes:
    """(..., 4) [x, y, w, h] -> [cx, cy, s, r], s = w * h the area, r = w / h (SORT's measurement)."""
    size = boxes[..., 2:]
    centre = centre_from_corner(boxes[..., :2], size)
    area = size[..., :1] * size[..., 1:]
    return _cat(centre, _cat(area, size[..., :1] / size[..., 1:]))


def cxcysr_to_xywh(boxes: Boxes) -> Boxes:
    """(..., 4) [cx, cy, s, r] -> [x, y, w, h], w = sqrt(s * r), h = s / w (NaN where s * r < 0)."""
    area, ratio = boxes[..., 2:3], boxes[..., 3:4]
    product = area * ratio
    width = product.sqrt() if isinstance(product, torch.Tensor) else np.sqrt(product)
    size = _cat(width, area / width)
    return _cat(corner_from_centre(boxes[..., :2], size), size)


def xywh_to_cxcyah(boxes: Boxes) -> Boxes:
    """(..., 4) [x, y, w, h] -> [cx, cy, a, h], a = w / h (DeepSORT's and ByteTrack's measurement)."""
    size = boxes[..., 2:]
    centre = centre_from_corner(boxes[..., :2], size)
    return _cat(centre, _cat(size[..., :1] / size[..., 1:], size[..., 1:]))


def cxcyah_to_xywh(boxes: Boxes) -> Boxes:
    """(..., 4) [cx, cy, a, h] -> [x, y, w, h], w = a * h."""
    height = boxes[..., 3:4]
    size = _cat(boxes[..., 2:3] * height, height)
    return _cat(corner_from_centre(boxes[..., :2], size), size)


def pairwise_iou_xyxy(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """IoU of every ``[x0, y0, x1, y1]`` box of ``a`` (N, 4) with every box of ``b`` (M, 4): (N, M),
    as mmdetection 2.x's ``bbox_overlaps`` computes it (no +1 pixel; the union clamped to at least
    ``eps``), in the boxes' dtype."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return a.new_zeros((a.shape[0], b.shape[0]))
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    low = torch.maximum(a[:, None, :2], b[None, :, :2])
    high = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    size = (high - low).clamp(min=0)
    intersection = size[..., 0] * size[..., 1]
    union = torch.clamp(area_a[:, None] + area_b[None, :] - intersection, min=eps)
    return intersection / union
