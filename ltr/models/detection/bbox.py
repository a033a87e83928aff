"""The box machinery of mmdetection 2.x's Faster R-CNN, written where torchvision's rule differs:
anchors, the delta box coder, the max-IoU assigner, the random sampler, and the multi-level RoI
feature extractor. Boxes are ``xyxy`` float tensors in network-input pixels.

Published rules (mmdet 2.x; each has a test with hand-derived numbers):

- Anchors (``AnchorGenerator``, ``center_offset=0``): the base anchor of a level with stride
  ``s`` is centred on (0, 0) with ``w = s * scale / sqrt(ratio)``, ``h = s * scale * sqrt(ratio)``
  (``ratio = h / w``), corners ``centre -+ size / 2``, NOT rounded (torchvision rounds them).
  Order per location: ratios outer, scales inner; locations row-major; shifted by
  ``(x * s, y * s)``, the given stride (torchvision infers it from the feature size).
  Anchors of locations beyond the image's padded size (``ceil(pad / s)``) are not valid.
- Delta coder (``DeltaXYWHBBoxCoder``): ``dx = (gx - px) / pw``, ``dw = log(gw / pw)`` with
  centres and sizes from ``x2 - x1`` (no +1), then ``(d - mean) / std``. Decoding clamps
  ``dw, dh`` to ``[-log(1000 / 16), log(1000 / 16)]`` on BOTH sides (torchvision clamps only the
  top) and clips to the image only when ``clip_border`` (mmtracking's Tracktor configs set it
  False for the RPN and the box head).
- Assigner (``MaxIoUAssigner``): negative where the best IoU is in ``[0, neg_iou_thr)``,
  positive where it is ``>= pos_iou_thr``, the rest ignored; then with ``match_low_quality``,
  for each ground truth in order whose best IoU is ``>= min_pos_iou``, every box that reaches
  that best IoU is assigned to it (a later ground truth wins a tie).
- Sampler (``RandomSampler``): at most ``num * pos_fraction`` positives at random, negatives to
  fill ``num``.
- RoI levels (``SingleRoIExtractor.map_roi_levels``): ``floor(log2(sqrt(w * h) / finest_scale +
  1e-6))`` clamped to the levels, ``finest_scale = 56``; RoIAlign is mmcv's with
  ``aligned=True`` (half-pixel shift) and ``sampling_ratio=0`` (adaptive), which torchvision's
  ``roi_align(..., aligned=True)`` computes (torchvision's ``MultiScaleRoIAlign`` uses
  ``aligned=False`` and sampling ratio 2).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torchvision.ops import box_iou, roi_align

from ltr.data.boxes import cxcywh_to_xyxy, xyxy_to_cxcywh, xyxy_to_xywh

# mmdet's wh_ratio_clip: decoded sizes change at most by 1000 / 16 either way.
WH_RATIO_CLIP = 16 / 1000


class AnchorGenerator:
    """mmdet 2.x anchors (module docstring) for levels of ``strides``; ``scales`` multiply the
    stride (the base size); ``ratios`` are height / width."""

    def __init__(self, *, strides: Sequence[int], ratios: Sequence[float], scales: Sequence[float]):
        if not strides or not ratios or not scales:
            raise ValueError("anchors need at least one stride, ratio and scale")
        self.strides = tuple(int(s) for s in strides)
        self.ratios = tuple(float(r) for r in ratios)
        self.scales = tuple(float(s) for s in scales)

    @property
    def num_base_anchors(self) -> int:
        return len(self.ratios) * len(self.scales)

    def base_anchors(self, level: int, *, dtype: torch.dtype = torch.float32,
                     device: torch.device | None = None) -> torch.Tensor:
        """(A, 4) xyxy anchors of ``level`` centred on (0, 0), ratios outer, scales inner."""
        base = float(self.strides[level])
        ratios = torch.tensor(self.ratios, dtype=dtype, device=device)
        scales = torch.tensor(self.scales, dtype=dtype, device=device)
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        widths = (base * w_ratios[:, None] * scales[None, :]).reshape(-1)
        heights = (base * h_ratios[:, None] * scales[None, :]).reshape(-1)
        zeros = torch.zeros_like(widths)
        return cxcywh_to_xyxy(torch.stack([zeros, zeros, widths, heights], 1))

    def grid_anchors(self, feature_sizes: Sequence[tuple[int, int]], *, dtype: torch.dtype = torch.float32,
                     device: torch.device | None = None) -> list[torch.Tensor]:
        """Per level (H * W * A, 4) anchors, location-major (row-major locations, then A)."""
        anchors = []
        for level, (height, width) in enumerate(feature_sizes):
            stride = self.strides[level]
            shift_x = torch.arange(width, dtype=dtype, device=device) * stride
            shift_y = torch.arange(height, dtype=dtype, device=device) * stride
            yy, xx = torch.meshgrid(shift_y, shift_x, indexing="ij")
            shifts = torch.stack([xx.reshape(-1), yy.reshape(-1), xx.reshape(-1), yy.reshape(-1)], 1)
            base = self.base_anchors(level, dtype=dtype, device=device)
            anchors.append((shifts[:, None, :] + base[None, :, :]).reshape(-1, 4))
        return anchors

    def valid_flags(self, feature_sizes: Sequence[tuple[int, int]], pad_size: tuple[int, int], *,
                    device: torch.device | None = None) -> list[torch.Tensor]:
        """Per level (H * W * A,) bool: the location lies within ``ceil(pad / stride)`` of the
        image's own padded size (h, w), as mmdet's ``valid_flags``."""
        flags = []
        for level, (height, width) in enumerate(feature_sizes):
            stride = self.strides[level]
            valid_h = min(math.ceil(pad_size[0] / stride), height)
            valid_w = min(math.ceil(pad_size[1] / stride), width)
            valid_y = torch.arange(height, device=device) < valid_h
            valid_x = torch.arange(width, device=device) < valid_w
            valid = (valid_y[:, None] & valid_x[None, :]).reshape(-1)
            flags.append(valid[:, None].expand(-1, self.num_base_anchors).reshape(-1))
        return flags


class DeltaXYWHCoder:
    """mmdet's ``DeltaXYWHBBoxCoder`` (module docstring)."""

    def __init__(self, *, means: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
                 stds: Sequence[float] = (1.0, 1.0, 1.0, 1.0), clip_border: bool = True):
        self.means = tuple(float(m) for m in means)
        self.stds = tuple(float(s) for s in stds)
        self.clip_border = bool(clip_border)

    def encode(self, boxes: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(N, 4) xyxy ``boxes`` and ``targets`` -> (N, 4) normalised deltas."""
        source = xyxy_to_cxcywh(boxes.float())
        target = xyxy_to_cxcywh(targets.float())
        dxy = (target[:, :2] - source[:, :2]) / source[:, 2:]
        dwh = torch.log(target[:, 2:] / source[:, 2:])
        deltas = torch.cat([dxy, dwh], 1)
        means = deltas.new_tensor(self.means)
        stds = deltas.new_tensor(self.stds)
        return (deltas - means) / stds

    def decode(self, boxes: torch.Tensor, deltas: torch.Tensor,
               max_shape: tuple[int, int] | None = None) -> torch.Tensor:
        """(N, 4) xyxy ``boxes`` and (N, 4 * K) deltas -> (N, 4 * K) xyxy boxes; clipped to
        ``max_shape`` (h, w) when the coder's ``clip_border`` is set and a shape is given."""
        count = deltas.shape[0]
        deltas = deltas.reshape(count, deltas.shape[-1] // 4, 4)
        deltas = deltas * deltas.new_tensor(self.stds) + deltas.new_tensor(self.means)
        source = xyxy_to_cxcywh(boxes)[:, None, :]
        limit = abs(math.log(WH_RATIO_CLIP))
        dwh = deltas[..., 2:].clamp(min=-limit, max=limit)
        centres = source[..., :2] + source[..., 2:] * deltas[..., :2]
        sizes = source[..., 2:] * dwh.exp()
        decoded = cxcywh_to_xyxy(torch.cat([centres, sizes], -1))
        if self.clip_border and max_shape is not None:
            height, width = max_shape
            decoded = torch.stack([decoded[..., 0].clamp(0, width), decoded[..., 1].clamp(0, height),
                                   decoded[..., 2].clamp(0, width), decoded[..., 3].clamp(0, height)], -1)
        return decoded.reshape(count, deltas.shape[1] * 4)


def assign_max_iou(boxes: torch.Tensor, gt_boxes: torch.Tensor, *, pos_iou_thr: float, neg_iou_thr: float,
                   min_pos_iou: float, match_low_quality: bool) -> torch.Tensor:
    """mmdet's ``MaxIoUAssigner`` (module docstring; ``gt_max_assign_all=True``). (N, 4) boxes,
    (G, 4) ground truth, both xyxy -> (N,) long: -1 ignored, 0 negative, i + 1 assigned to
    ground truth i."""
    count = boxes.shape[0]
    assigned = torch.full((count,), -1, dtype=torch.long, device=boxes.device)
    if gt_boxes.shape[0] == 0 or count == 0:
        assigned.zero_()
        return assigned
    overlaps = box_iou(gt_boxes.float(), boxes.float())  # (G, N)
    max_overlaps, argmax = overlaps.max(0)
    gt_max_overlaps = overlaps.max(1).values
    assigned[(max_overlaps >= 0) & (max_overlaps < neg_iou_thr)] = 0
    positive = max_overlaps >= pos_iou_thr
    assigned[positive] = argmax[positive] + 1
    if match_low_quality:
        for index in range(gt_boxes.shape[0]):
            if gt_max_overlaps[index] >= min_pos_iou:
                assigned[overlaps[index] == gt_max_overlaps[index]] = index + 1
    return assigned


def sample_random(assigned: torch.Tensor, *, num: int, pos_fraction: float,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """mmdet's ``RandomSampler`` (``neg_pos_ub=-1``): indices of the sampled positives
    (``assigned > 0``, at most ``int(num * pos_fraction)``) and negatives (``assigned == 0``,
    ``num`` minus the positives taken)."""
    def choose(indices: torch.Tensor, wanted: int) -> torch.Tensor:
        if indices.numel() <= wanted:
            return indices
        order = torch.randperm(indices.numel(), generator=generator, device="cpu").to(indices.device)
        return indices[order[:wanted]]

    positives = choose(torch.nonzero(assigned > 0).flatten(), int(num * pos_fraction))
    negatives = choose(torch.nonzero(assigned == 0).flatten(), num - positives.numel())
    return positives, negatives


def map_roi_levels(boxes: torch.Tensor, num_levels: int, finest_scale: float = 56.0) -> torch.Tensor:
    """(N, 4) xyxy -> (N,) level index by mmdet's ``map_roi_levels`` (module docstring)."""
    sizes = xyxy_to_xywh(boxes)[:, 2:]
    scale = torch.sqrt(sizes[:, 0] * sizes[:, 1])
    levels = torch.floor(torch.log2(scale / finest_scale + 1e-6))
    return levels.clamp(min=0, max=num_levels - 1).long()


class MultiLevelRoIAlign(nn.Module):
    """mmdet's ``SingleRoIExtractor`` with mmcv's ``RoIAlign(output_size, sampling_ratio=0,
    aligned=True)`` over feature maps of ``strides`` (module docstring)."""

    def __init__(self, *, strides: Sequence[int], output_size: int = 7, sampling_ratio: int = 0,
                 finest_scale: float = 56.0):
        super().__init__()
        self.strides = tuple(int(s) for s in strides)
        self.output_size = int(output_size)
        self.sampling_ratio = int(sampling_ratio)
        self.finest_scale = float(finest_scale)

    def forward(self, features: Sequence[torch.Tensor], rois: torch.Tensor) -> torch.Tensor:
        """``features``: the maps of ``strides`` (B, C, H, W); ``rois`` (K, 5) as
        ``[batch_index, x0, y0, x1, y1]`` -> (K, C, output_size, output_size)."""
        features = list(features)[:len(self.strides)]
        channels = features[0].shape[1]
        out = features[0].new_zeros(rois.shape[0], channels, self.output_size, self.output_size)
        if rois.shape[0] == 0:
            return out
        if len(features) == 1:
            return roi_align(features[0], rois, self.output_size, 1.0 / self.strides[0], self.sampling_ratio, True)
        levels = map_roi_levels(rois[:, 1:], len(features), self.finest_scale)
        for level, feature in enumerate(features):
            index = torch.nonzero(levels == level).flatten()
            if index.numel():
                out[index] = roi_align(feature, rois[index], self.output_size, 1.0 / self.strides[level],
                                       self.sampling_ratio, True)
        return out
