"""Bounding-box average precision as COCO evaluates it (pycocotools ``COCOeval``, ``iouType='bbox'``,
one category, area range 'all'), and the trainer hook that scores a detector with it after an epoch.

The rules of ``COCOeval.evaluateImg`` / ``accumulate`` / ``summarize``, each kept here:

- IoU thresholds ``np.linspace(.5, .95, 10)`` (a match needs IoU >= threshold: a box at IoU
  exactly 0.6 matches 0.5, 0.55 and 0.6), recall thresholds ``np.linspace(0, 1, 101)``;
- per image, detections sorted by falling score (stable) and cut to ``max_dets``; ground truth
  sorted with the crowd regions last; IoU of ``[x, y, w, h]`` boxes, and for a crowd region
  ``intersection / detection area`` instead;
- greedy matching per threshold, detections in score order: each takes, among the ground truth
  not yet matched (crowd regions may be matched again) with IoU >= ``min(t, 1 - 1e-10)``, the
  one of highest IoU (on ties the later one), a regular one before any crowd region; a detection
  matched to a crowd region is ignored (neither true nor false positive); unmatched: false positive;
- over all images, detections sorted by falling score (stable, images in order); precision
  ``tp / (tp + fp + eps)``, recall ``tp / (regular ground truth)``; precision made
  non-increasing from the right; at each recall threshold the precision at the first recall
  ``>=`` it (0 beyond the last); AP at a threshold is the mean over the 101 recall thresholds;
- AP is the mean over the 10 thresholds, AP50 and AP75 the values at 0.5 and 0.75; -1 when there
  is no regular ground truth (COCO's "no value").

mmdetection 2.x's ``CocoDataset.evaluate`` (what mmtracking's detector configs run) sets
``maxDets = [100, 300, 1000]`` and reports ``stats[0]``, which uses the last: its bbox_mAP is AP
at 1000 detections per image; COCO's own default is 100. Both are ``max_dets`` here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import torch

from ltr.data.boxes import xywh_to_xyxy, xyxy_to_xywh
from ltr.data.detection import MMDET_MEAN, MMDET_STD, evaluation_pipeline, new_sample

logger = logging.getLogger(__name__)

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclasses.dataclass(frozen=True)
class ImageDetections:
    """Detections of one image: ``boxes`` (D, 4) ``[x, y, w, h]`` in the image's pixels, ``scores`` (D,)."""

    boxes: np.ndarray
    scores: np.ndarray


def coco_iou(detections: np.ndarray, ground_truth: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """(D, G) IoU of ``[x, y, w, h]`` boxes; for crowd ground truth intersection over the detection's area."""
    d = np.asarray(detections, np.float64).reshape(-1, 1, 4)
    g = np.asarray(ground_truth, np.float64).reshape(1, -1, 4)
    d_corners, g_corners = xywh_to_xyxy(d), xywh_to_xyxy(g)
    low = np.maximum(d_corners[..., :2], g_corners[..., :2])
    high = np.minimum(d_corners[..., 2:], g_corners[..., 2:])
    intersection = np.clip(high - low, 0, None).prod(-1)
    d_area, g_area = d[..., 2] * d[..., 3], g[..., 2] * g[..., 3]
    union = np.where(np.asarray(crowd, bool).reshape(1, -1), d_area, d_area + g_area - intersection)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, intersection / union, 0.0)


def match_image(gt_boxes: np.ndarray, gt_crowd: np.ndarray, detections: ImageDetections, *,
                max_dets: int, iou_thresholds: np.ndarray = IOU_THRESHOLDS
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """COCO's per-image matching: (scores (D,), matched (T, D), ignored (T, D), regular ground truth count)
    for the image's first ``max_dets`` detections by score."""
    scores = np.asarray(detections.scores, np.float64).reshape(-1)
    order = np.argsort(-scores, kind="mergesort")[:max_dets]
    scores = scores[order]
    boxes = np.asarray(detections.boxes, np.float64).reshape(-1, 4)[order]
    crowd = np.asarray(gt_crowd, bool).reshape(-1)
    gt_order = np.argsort(crowd, kind="mergesort")
    crowd = crowd[gt_order]
    gt = np.asarray(gt_boxes, np.float64).reshape(-1, 4)[gt_order]
    thresholds = np.minimum(np.asarray(iou_thresholds, np.float64), 1 - 1e-10)[:, None]  # (T, 1)
    num_t, num_d, num_g = len(thresholds), len(scores), len(gt)
    matched = np.zeros((num_t, num_d), bool)
    ignored = np.zeros((num_t, num_d), bool)
    if num_g and num_d:
        ious = coco_iou(boxes, gt, crowd)
        gt_taken = np.zeros((num_t, num_g), bool)
        for d in range(num_d):
            eligible = ~(gt_taken & ~crowd) & (ious[d][None, :] >= thresholds)  # (T, G)
            choice = np.full(num_t, -1)
            for group in (~crowd, crowd):  # regular ground truth first, crowd regions only without a match
                candidates = eligible & group
                values = np.where(candidates, ious[d][None, :], -1.0)[:, ::-1]  # reversed: ties go to the later
                best = num_g - 1 - values.argmax(1)
                found = candidates.any(1) & (choice < 0)
                choice[found] = best[found]
            rows = np.flatnonzero(choice >= 0)
            matched[rows, d] = True
            ignored[rows, d] = crowd[choice[rows]]
            gt_taken[rows, choice[rows]] = True
    return scores, matched, ignored, int((~crowd).sum())


def average_precision(scores: np.ndarray, matched: np.ndarray, ignored: np.ndarray, num_gt: int,
                      recall_thresholds: np.ndarray = RECALL_THRESHOLDS) -> np.ndarray:
    """COCO's accumulate for one category: (T,) interpolated AP per IoU threshold from all images'
    detections (scores (D,), matched / ignored (T, D)); -1 where there is no regular ground truth."""
    num_t = matched.shape[0]
    if num_gt == 0:
        return np.full(num_t, -1.0)
    order = np.argsort(-scores, kind="mergesort")
    matched, ignored = matched[:, order], ignored[:, order]
    tp = np.cumsum(matched & ~ignored, axis=1, dtype=np.float64)
    fp = np.cumsum(~matched & ~ignored, axis=1, dtype=np.float64)
    result = np.zeros(num_t)
    for t in range(num_t):
        recall = tp[t] / num_gt
        precision = tp[t] / (fp[t] + tp[t] + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        index = np.searchsorted(recall, recall_thresholds, side="left")
        result[t] = np.append(precision, 0.0)[np.minimum(index, len(precision))].mean()  # 0 past the last recall
    return result


def coco_bbox_ap(ground_truth: Sequence, detections: Sequence[ImageDetections], *, max_dets: int = 100,
                 iou_thresholds: np.ndarray = IOU_THRESHOLDS) -> dict[str, float]:
    """``{"AP", "AP50", "AP75"}`` of ``detections`` against ``ground_truth`` (one entry per image,
    each with ``boxes`` (K, 4) ``[x, y, w, h]`` and ``crowd`` (K,), e.g.
    :class:`~ltr.dataset.mot.cocovid.EvaluationGroundTruth`), by COCO's rules (module docstring)."""
    if len(ground_truth) != len(detections):
        raise ValueError(f"{len(ground_truth)} images of ground truth but detections for {len(detections)}")
    parts = [match_image(gt.boxes, gt.crowd, det, max_dets=max_dets, iou_thresholds=iou_thresholds)
             for gt, det in zip(ground_truth, detections)]
    num_t = len(iou_thresholds)
    scores = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
    matched = np.concatenate([p[1] for p in parts], 1) if parts else np.zeros((num_t, 0), bool)
    ignored = np.concatenate([p[2] for p in parts], 1) if parts else np.zeros((num_t, 0), bool)
    per_threshold = average_precision(scores, matched, ignored, sum(p[3] for p in parts))
    if per_threshold[0] < 0:
        return {"AP": -1.0, "AP50": -1.0, "AP75": -1.0}
    at = {round(float(t), 2): float(v) for t, v in zip(iou_thresholds, per_threshold)}
    return {"AP": float(per_threshold.mean()), "AP50": at.get(0.5, -1.0), "AP75": at.get(0.75, -1.0)}


@torch.no_grad()
def detect_images(net: torch.nn.Module, source, *, device: torch.device | str = "cpu", batch_size: int = 2
                  ) -> list[ImageDetections]:
    """Run ``net`` (the detector interface: ``extract_features``, ``detect``; its ``test_scale``,
    ``normalize_mean``, ``normalize_std``) over every image of ``source`` (a
    :class:`~ltr.dataset.mot.cocovid.CocoDetectionSet`) with the test pipeline; boxes back in the
    original image's pixels (divided by the resize factors, as mmdet's ``rescale=True``)."""
    pipeline = evaluation_pipeline(scale=tuple(getattr(net, "test_scale", (1088, 1088))),
                                   mean=getattr(net, "normalize_mean", MMDET_MEAN),
                                   std=getattr(net, "normalize_std", MMDET_STD))
    rng = np.random.default_rng(0)  # the test pipeline draws nothing
    results: list[ImageDetections] = []
    for start in range(0, len(source), batch_size):
        samples = [pipeline(new_sample(source.read_image(i)), rng) for i in range(start, min(start + batch_size, len(source)))]
        height = max(s["img"].shape[0] for s in samples)
        width = max(s["img"].shape[1] for s in samples)
        batch = torch.zeros(len(samples), 3, height, width)
        for index, sample in enumerate(samples):
            h, w = sample["img"].shape[:2]
            batch[index, :, :h, :w] = torch.from_numpy(sample["img"]).permute(2, 0, 1)
        batch = batch.to(device)
        sizes = [tuple(s["img_shape"]) for s in samples]
        for sample, (boxes, scores) in zip(samples, net.detect(net.extract_features(batch), sizes)):
            w_scale, h_scale = sample["scale_factor"]
            factor = torch.tensor([w_scale, h_scale, w_scale, h_scale], dtype=torch.float64)
            xyxy = boxes.detach().to("cpu", torch.float64).reshape(-1, 4) / factor
            results.append(ImageDetections(xyxy_to_xywh(xyxy).numpy(), scores.detach().to("cpu", torch.float64).numpy()))
    return results


class DetectionAPHook:
    """After every ``epoch_interval`` training epochs: the detector's bbox AP (AP, AP50, AP75) on
    ``source`` (a test-mode :class:`~ltr.dataset.mot.cocovid.CocoDetectionSet`), on the main
    process. The network goes back to training mode afterwards."""

    def __init__(self, source, *, name: str = "val_bbox", epoch_interval: int = 1, max_dets: int = 100,
                 batch_size: int = 2):
        self.source = source
        self.name = name
        self.epoch_interval = epoch_interval
        self.max_dets = max_dets
        self.batch_size = batch_size
        self.ground_truth = source.evaluation_ground_truth()

    def after_epoch(self, trainer) -> dict[str, float] | None:
        if not trainer.settings.is_main_process:
            return None
        net = trainer.actor.net
        net = net.module if isinstance(net, torch.nn.parallel.DistributedDataParallel) else net
        was_training = net.training
        net.eval()
        try:
            detections = detect_images(net, self.source, device=trainer.device, batch_size=self.batch_size)
        finally:
            net.train(was_training)
        return coco_bbox_ap(self.ground_truth, detections, max_dets=self.max_dets)
