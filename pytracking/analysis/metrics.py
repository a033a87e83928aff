"""Per-frame errors and the benchmark scores built from them, with the protocol of the published
OTB/LaSOT analyses, so that published numbers reproduce:

- boxes are inclusive pixel boxes for overlap and centre ([x, y, w, h] covers pixels x..x+w-1);
- the first frame's prediction is set to the ground truth;
- a prediction of zero width or height is replaced by the previous one (where the ground truth
  is known), as trackers that lose the target write zeros;
- frames missing at the end of a short result (allowed only on request) get zero boxes after that
  replacement, so they count as failures (IoU 0; the centre of a zero box), as in the published
  analysis;
- frames with invalid ground truth (non-positive size or NaN) count as overlap failures and, for
  the precision curve, as failures too, except on UAV123, whose absent-target (NaN) frames the
  published analysis counts as precision successes; for the normalised precision curve they count
  as successes (as in the published analysis);
- on OTB-100 a ground-truth row is also invalid where its x or y is not positive (the OTB
  toolkit's rule: every coordinate must be positive; 8 frames of Biker and Crowds). Published
  OTB-100 scores are computed this way;
- on LaSOT, frames where the target is not visible count as failures for both precisions;
- success when IoU > threshold (21 thresholds 0, 0.05, ..., 1), precision when centre error <=
  threshold (0..50 pixels), normalised precision when the centre error divided by the ground
  truth size <= threshold (0..0.5 in steps of 0.01); rates are over all ground-truth frames.
"""

from __future__ import annotations

import dataclasses

import numpy as np

OVERLAP_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
# Datasets whose toolkit also rejects ground-truth rows with a non-positive x or y.
CORNER_MUST_BE_POSITIVE = frozenset({"otb"})
# The keys of scores(), in the order tables list them.
SCORE_NAMES = ("AUC", "OP50", "OP75", "Precision", "NormPrecision")


def inclusive_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of inclusive pixel boxes [x, y, w, h]: (N, 4), (N, 4) -> (N,). The published OTB
    protocol's rule (a box covers pixels x .. x + w - 1), kept here rather than in
    ``ltr.data.boxes`` (continuous boxes) because the published scores depend on it."""
    top_left = np.maximum(pred[:, :2], gt[:, :2])
    bottom_right = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, gt[:, :2] + gt[:, 2:] - 1.0)
    size = np.clip(bottom_right - top_left + 1.0, 0.0, None)
    intersection = size.prod(1)
    union = pred[:, 2:].prod(1) + gt[:, 2:].prod(1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return intersection / union


def inclusive_centre_error(pred: np.ndarray, gt: np.ndarray, normalized: bool = False) -> np.ndarray:
    """Distance between the centres of inclusive pixel boxes (the OTB protocol's); with ``normalized``, in units of
    the ground truth's width and height."""
    pred_centre = pred[:, :2] + 0.5 * (pred[:, 2:] - 1.0)
    gt_centre = gt[:, :2] + 0.5 * (gt[:, 2:] - 1.0)
    if normalized:
        with np.errstate(invalid="ignore", divide="ignore"):
            pred_centre = pred_centre / gt[:, 2:]
            gt_centre = gt_centre / gt[:, 2:]
    return np.sqrt(((pred_centre - gt_centre) ** 2).sum(1))


@dataclasses.dataclass
class SequenceErrors:
    overlap: np.ndarray  # (N,), -1 where the ground truth is invalid
    centre: np.ndarray  # (N,), inf (or -1 on UAV123) where it counts as a failure
    norm_centre: np.ndarray  # (N,)
    valid: np.ndarray  # (N,) bool: ground truth usable (and target visible where known)
    replaced_zero_boxes: int  # predictions of zero size replaced by the previous box
    missing: int = 0  # frames missing at the end of the prediction, counted as failures


def sequence_errors(pred: np.ndarray, gt: np.ndarray, *, dataset: str = "",
                    target_visible: np.ndarray | None = None, allow_short: bool = False) -> SequenceErrors:
    """Per-frame errors of ``pred`` (M, 4) against ``gt`` (N, 4) under the protocol of the
    module's docstring. M = N, or with ``allow_short`` 1 <= M < N: the missing frames fail."""
    pred = np.array(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64)
    short = allow_short and 0 < len(pred) < len(gt)
    if pred.shape != gt.shape and not short:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    replaced = 0
    zero = (pred[:, 2:] == 0.0).any(1) & ~np.isnan(gt[:len(pred)]).any(1)
    zero[0] = False
    for index in np.nonzero(zero)[0]:
        pred[index] = pred[index - 1]
        replaced += 1
    missing = len(gt) - len(pred)
    pred = np.concatenate([pred, np.zeros((missing, 4))])
    pred[0] = gt[0]
    with np.errstate(invalid="ignore"):
        valid = (gt > 0.0).all(1) if dataset in CORNER_MUST_BE_POSITIVE else (gt[:, 2:] > 0.0).all(1)
    if target_visible is not None:
        target_visible = np.asarray(target_visible, dtype=np.bool_)
        valid &= target_visible
    with np.errstate(invalid="ignore"):
        centre = inclusive_centre_error(pred, gt)
        norm_centre = inclusive_centre_error(pred, gt, normalized=True)
        iou = inclusive_iou(pred, gt)
    centre[~valid] = -1.0 if dataset == "uav" else np.inf
    norm_centre[~valid] = -1.0
    iou[~valid] = -1.0
    if dataset == "lasot" and target_visible is not None:
        centre[~target_visible] = np.inf
        norm_centre[~target_visible] = np.inf
    if np.isnan(iou).any():
        raise ValueError("the overlap is NaN for valid frames: check the boxes")
    return SequenceErrors(iou, centre, norm_centre, valid, replaced, missing)


@dataclasses.dataclass
class SequenceCurves:
    success: np.ndarray  # (21,) fraction of frames with IoU above each overlap threshold
    precision: np.ndarray  # (51,)
    norm_precision: np.ndarray  # (51,)


def sequence_curves(errors: SequenceErrors) -> SequenceCurves:
    frames = len(errors.overlap)
    return SequenceCurves(
        success=(errors.overlap[:, None] > OVERLAP_THRESHOLDS[None]).sum(0) / frames,
        precision=(errors.centre[:, None] <= PRECISION_THRESHOLDS[None]).sum(0) / frames,
        norm_precision=(errors.norm_centre[:, None] <= NORM_PRECISION_THRESHOLDS[None]).sum(0) / frames,
    )


def scores(curves: list[SequenceCurves]) -> dict[str, float]:
    """Scores in percent, averaged over sequences: AUC (mean of the success curve), OP50, OP75,
    precision at 20 px and normalised precision at 0.2."""
    success = np.mean([c.success for c in curves], 0)
    precision = np.mean([c.precision for c in curves], 0)
    norm_precision = np.mean([c.norm_precision for c in curves], 0)
    return {
        "AUC": 100.0 * float(success.mean()),
        "OP50": 100.0 * float(success[10]),
        "OP75": 100.0 * float(success[15]),
        "Precision": 100.0 * float(precision[20]),
        "NormPrecision": 100.0 * float(norm_precision[20]),
    }
