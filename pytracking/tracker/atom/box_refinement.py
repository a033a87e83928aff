"""Refining the target box with the IoU predictor: gradient ascent on the predicted IoU from the
current box and randomly jittered ones, then the mean of the best few, as published.

Boxes are [x, y, w, h] in sample pixels (the coordinates of the IoU predictor's input crop).
"""

from __future__ import annotations

import dataclasses

import torch

from ltr.data.boxes import cxcywh_to_xywh, xywh_to_cxcywh


@dataclasses.dataclass(frozen=True)
class RefinementParams:
    num_init_random_boxes: int = 9
    box_jitter_pos: float = 0.1  # of the square root of the box area
    box_jitter_sz: float = 0.5
    iterations: int = 5
    step_length: float | tuple[float, float] = 1.0  # one value, or (position, size)
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
    centre = xywh_to_cxcywh(box)[:2] + jitter[:, :2]
    return torch.cat([box.view(1, 4), cxcywh_to_xywh(torch.cat([centre, size], 1))])


def autograd_iou_and_gradient(predict_iou):
    """``predict_iou`` ((1, K, 4) -> (1, K)) as the pair (IoU (1, K), its gradient (1, K, 4)
    with respect to the boxes) that :func:`optimize_boxes` steps with, by autograd."""
    def iou_and_gradient(boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        current = boxes.detach().requires_grad_(True)
        with torch.enable_grad():
            iou = predict_iou(current)
            (gradient,) = torch.autograd.grad(iou.sum(), current)
        return iou.detach(), gradient
    return iou_and_gradient


def optimize_boxes(predict_iou, boxes: torch.Tensor, params: RefinementParams, *, iou_and_gradient=None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient ascent of ``predict_iou`` ((1, K, 4) -> (1, K)) from ``boxes`` (K, 4); steps
    are the gradient times the step length times the box size (w, h, w, h). With a
    ``step_length_decay`` below 1, a box whose predicted IoU fell since the last step takes that
    step back and its step length decays. Returns (boxes (K, 4), IoU (K,)): the boxes after the
    last step with the IoU predicted at the last step's start, as published (no extra forward
    pass; with 0 iterations, the IoU of ``boxes``). ``iou_and_gradient`` ((1, K, 4) -> (IoU
    (1, K), gradient (1, K, 4))) gives both without autograd where the caller can (the tracker's
    :meth:`~pytracking.tracker.atom.network.AtomNetWrapper.predict_iou_and_gradient`); by
    default they come from ``predict_iou`` through autograd."""
    boxes = boxes.view(1, -1, 4).detach()
    if params.iterations <= 0:
        with torch.no_grad():
            return boxes.view(-1, 4), predict_iou(boxes).view(-1)
    length = params.step_length
    if isinstance(length, (tuple, list)):
        step_length = boxes.new_tensor([length[0], length[0], length[1], length[1]]).expand(1, boxes.shape[1], 4)
    else:
        step_length = boxes.new_full((1, boxes.shape[1], 1), float(length))
    step_length = step_length.clone()
    previous = torch.full(boxes.shape[:2], -float("inf"), dtype=boxes.dtype, device=boxes.device)
    step = torch.zeros_like(boxes)
    if iou_and_gradient is None:
        iou_and_gradient = autograd_iou_and_gradient(predict_iou)
    for _ in range(params.iterations):
        current = boxes
        iou, gradient = iou_and_gradient(current)
        if params.step_length_decay >= 1:  # every step taken: the published update as it is written
            boxes = (current + step_length * gradient * current[..., 2:].repeat(1, 1, 2)).detach()
            continue
        improved = iou > previous
        step_length[~improved] *= params.step_length_decay
        previous = iou
        mask = improved.view(1, -1, 1).to(boxes.dtype)
        step = mask * step_length * gradient * current[..., 2:].repeat(1, 1, 2) - (1 - mask) * step
        boxes = (current + step).detach()
    return boxes.view(-1, 4), iou.view(-1)


def refine(predict_iou, box: torch.Tensor, params: RefinementParams, generator: torch.Generator | None = None,
           *, iou_and_gradient=None) -> tuple[torch.Tensor, float] | None:
    """The refined box (4,) and its predicted IoU, or None when every optimised box has an
    aspect ratio beyond ``maximal_aspect_ratio``. Sides are clamped to at least 1 pixel before
    the aspect ratio is checked, as published. ``iou_and_gradient``: see :func:`optimize_boxes`."""
    boxes, iou = optimize_boxes(predict_iou, candidate_boxes(box, params, generator), params,
                                iou_and_gradient=iou_and_gradient)
    boxes = boxes.clone()
    boxes[:, 2:] = boxes[:, 2:].clamp(min=1)
    aspect = boxes[:, 2] / boxes[:, 3]
    keep = (aspect < params.maximal_aspect_ratio) & (aspect > 1 / params.maximal_aspect_ratio)
    keep &= torch.isfinite(boxes).all(1) & torch.isfinite(iou)  # a NaN box never wins
    if not bool(keep.any()):
        return None
    boxes, iou = boxes[keep], iou[keep]
    best = torch.topk(iou, min(params.top_k, len(iou))).indices
    return boxes[best].mean(0), float(iou[best].mean())
