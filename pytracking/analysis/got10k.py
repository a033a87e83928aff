"""GOT-10k's own scores: average overlap (AO) and success rates (SR0.5, SR0.75), with the rules of
the official GOT-10k toolkit (``got-10k/toolkit``: ``ExperimentGOT10k.report`` and ``_evaluate``
in ``got10k/experiments/got10k.py``, ``rect_iou`` in ``got10k/utils/metrics.py``), so that the
numbers are the toolkit's and not this package's OTB-style AUC under another name:

- the first frame is left out (the tracker is given its box): frames 2..N are scored;
- only frames where the target is visible are scored (the toolkit keeps ``cover > 0``; a
  sequence's ``target_visible`` is that rule, :func:`ltr.dataset.got10k.got10k_visible`, which
  also leaves out frames whose two labels disagree or whose box is invalid);
- IoU of continuous boxes (``[x, y, w, h]`` covers x .. x + w, not the OTB pixel rule), after
  clipping both boxes to the image (``resolution`` of the sequence's ``meta_info.ini``, else the
  first frame's size); ``eps`` is added to the union and the IoU clipped to [0, 1];
- AO is the mean IoU over all scored frames of all sequences and runs together (frames, not
  sequences, are averaged: a long sequence weighs more), SR_t the fraction of those frames with
  IoU > t (strictly greater);
- frames missing at the end of a short result (allowed only on request) count with IoU 0, as the
  other scores count them (the toolkit refuses such files).

Scores are percentages here, as in the other tables; the toolkit's report writes fractions.
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import numpy as np

from ltr.data.boxes import box_iou

logger = logging.getLogger(__name__)
GOT10K_SCORE_NAMES = ("AO", "SR0.5", "SR0.75")
_THRESHOLDS = {"SR0.5": 0.5, "SR0.75": 0.75}
_RESOLUTION = re.compile(r"^\s*resolution\s*:\s*(.+?)\s*$", re.MULTILINE)


def got10k_iou(pred: np.ndarray, gt: np.ndarray, bound: tuple[float, float] | None = None) -> np.ndarray:
    """IoU of continuous boxes ``[x, y, w, h]``, (N, 4) and (N, 4) -> (N,), as the GOT-10k toolkit
    computes it: both boxes clipped to the image ``bound`` = (width, height) where given."""
    pred = np.array(pred, dtype=np.float64).reshape(-1, 4)
    gt = np.array(gt, dtype=np.float64).reshape(-1, 4)
    if bound is not None:
        for boxes in (pred, gt):
            boxes[:, 0] = np.clip(boxes[:, 0], 0, bound[0])
            boxes[:, 1] = np.clip(boxes[:, 1], 0, bound[1])
            boxes[:, 2] = np.clip(boxes[:, 2], 0, bound[0] - boxes[:, 0])
            boxes[:, 3] = np.clip(boxes[:, 3], 0, bound[1] - boxes[:, 1])
    # The toolkit divides by union + eps, box_iou by max(union, tiny): equal where the union is 0
    # (IoU 0) and within 1e-16 elsewhere.
    return np.clip(box_iou(pred, gt), 0.0, 1.0)


def scored_frames(num_frames: int, target_visible: np.ndarray | None, ground_truth: np.ndarray) -> np.ndarray:
    """(N,) bool: the frames GOT-10k scores (not the first; the target visible; where no flags
    are known, a finite box of positive size)."""
    if target_visible is not None:
        scored = np.asarray(target_visible, dtype=np.bool_).copy()
    else:
        gt = np.asarray(ground_truth, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            scored = np.isfinite(gt).all(1) & (gt[:, 2:] > 0).all(1)
    scored[:1] = False
    return scored[:num_frames]


def sequence_ious(pred: np.ndarray, gt: np.ndarray, target_visible: np.ndarray | None,
                  bound: tuple[float, float] | None) -> np.ndarray:
    """The IoUs of the scored frames of one run on one sequence; frames ``pred`` misses at its
    end get IoU 0."""
    gt = np.asarray(gt, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    iou = np.zeros(len(gt))
    iou[:len(pred)] = got10k_iou(pred, gt[:len(pred)], bound)
    return iou[scored_frames(len(gt), target_visible, gt)]


def scores_of(ious: list[np.ndarray]) -> dict[str, float]:
    """AO, SR0.5 and SR0.75 in percent over the IoUs of all sequences and runs, frame-weighted
    (NaN where no frame is scored)."""
    every = np.concatenate(ious) if ious else np.zeros(0)
    if every.size == 0:
        return {name: float("nan") for name in GOT10K_SCORE_NAMES}
    result = {"AO": 100.0 * float(every.mean())}
    result.update({name: 100.0 * float((every > threshold).mean()) for name, threshold in _THRESHOLDS.items()})
    return result


def image_bound(frames: list[str]) -> tuple[float, float] | None:
    """(width, height) of a sequence's images: the ``resolution`` of ``meta_info.ini`` beside the
    frames (GOT-10k's layout), else the first frame's size; None where neither can be read."""
    if not frames:
        return None
    folder = Path(frames[0]).parent
    meta = folder / "meta_info.ini"
    if meta.is_file():
        match = _RESOLUTION.search(meta.read_text(errors="replace"))
        if match:
            try:
                width, height = ast.literal_eval(match.group(1))
                return float(width), float(height)
            except (ValueError, SyntaxError, TypeError) as error:
                logger.warning("%s: resolution %r is not (width, height) (%s); using the first frame's size",
                               meta, match.group(1), error)
    first = Path(frames[0])
    if first.is_file():
        from PIL import Image, UnidentifiedImageError  # only where a meta file is missing

        try:
            with Image.open(first) as image:
                return float(image.size[0]), float(image.size[1])
        except (OSError, UnidentifiedImageError) as error:
            logger.warning("%s cannot be read for its size (%s)", first, error)
    return None
