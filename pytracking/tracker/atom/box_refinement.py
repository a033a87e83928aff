"""Refining the target box with the IoU predictor: gradient ascent on the predicted IoU from the
current box and randomly jittered ones, then the mean of the best few.

Boxes are [x, y, w, h] in sample pixels (the coordinates of the IoU predictor's input crop).
"""

from __future__ import annotations

import dataclasses

import torch


@dataclasses.dataclass(frozen=True)
class RefinementParams:
    num_init_random_boxes: int = 9
    box_jitter_pos: float = 0.1  # of the square root of the box area
    box_jitter_sz: float = 0.5
    iterations: int = 5
    step_length: float = 1.0
    step_length_decay: float = 1.0
    maximal_aspect_ratio: float = 6.0
    top_k: int = 3


def candidate_boxes(box: torch.Tensor, params: RefinementParams, generator: torch.Generator | None = None
                    ) -> torch.Tensor:
    """``box`` (4,) and ``num_init_random_boxes`` jittered copies: (1 + n, 4). Centres move by up
    to ±jitter_pos/2 and sizes by ±jitter_sz/2 of sqrt(area); no side below a third of the
    box's shorter side."""
    count = params.num_init_random_boxes
    if count == 0:
        return box.view(1, 4).clone()
    square = float(box[2:].prod().sqrt())
    factor = square * box.new_tensor([params.box_jitter_pos] * 2 + [params.box_jitter_sz] * 2)
    jitter = (torch.rand(count, 4, generator=generator, dtype=box.dtype).to(box.device) - 0.5) * factor
    size = (box[2:] + jitter[:, 2:]).clamp(min=float(box[2:].min()) / 3)
    centre = box[:2] + box[2:] / 2 + jitter[:, :2]
    return torch.cat([box.view(1, 4), torch.cat([centre - size / 2, size], 1)])


def optimize_boxes(predict_iou, boxes: torch.Tensor, params: RefinementParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient ascent of ``predict_iou`` ((1, K, 4) -> (1, K)) from ``boxes`` (K, 4); steps
    are scaled by the box size so that they are relative. Returns (boxes (K, 4), IoU (K,)):
    the boxes after the last step with the IoU predicted at the last step's start, as the
    published tracker does (no extra forward pass; with 0 iterations, the IoU of ``boxes``)."""
    boxes = boxes.view(1, -1, 4).detach()
    step = params.step_length
    if params.iterations <= 0:
        with torch.no_grad():
            return boxes.view(-1, 4), predict_iou(boxes).view(-1)
    for _ in range(params.iterations):
        current = boxes.clone().requires_grad_(True)
        with torch.enable_grad():
            iou = predict_iou(current)
            (gradient,) = torch.autograd.grad(iou.sum(), current)
        boxes = (current + step * gradient * current[..., 2:].repeat(1, 1, 2)).detach()
        step *= params.step_length_decay
    return boxes.view(-1, 4), iou.detach().view(-1)


def refine(predict_iou, box: torch.Tensor, params: RefinementParams, generator: torch.Generator | None = None
           ) -> tuple[torch.Tensor, float] | None:
    """The refined box (4,) and its predicted IoU, or None when every optimised box has an
    aspect ratio beyond ``maximal_aspect_ratio``."""
    boxes, iou = optimize_boxes(predict_iou, candidate_boxes(box, params, generator), params)
    aspect = boxes[:, 2] / boxes[:, 3]
    keep = (boxes[:, 2:] > 0).all(1) & (aspect < params.maximal_aspect_ratio) & (
        aspect > 1 / params.maximal_aspect_ratio) & torch.isfinite(iou)
    if not bool(keep.any()):
        return None
    boxes, iou = boxes[keep], iou[keep]
    best = torch.topk(iou, min(params.top_k, len(iou))).indices
    return boxes[best].mean(0), float(iou[best].mean())
