"""Tracktor (Bergmann et al., ICCV 2019), rule by rule as mmtracking publishes it
(``mmtrack/models/mot/tracktor.py``, ``mmtrack/models/trackers/tracktor_tracker.py`` and its
``base_tracker.py``, configs ``configs/mot/tracktor/tracktor_faster-rcnn_r50_fpn_4e_mot17-{private,public}-half.py``).

Each frame is resized and normalised for the detector (``prepare_images``); boxes go to the
networks in the pixels of that network input and are kept, compared and output in the pixels of
the original image (mmtracking tests with ``rescale=True``): a box goes to a network multiplied by
the ``(w, h, w, h)`` scale factor and comes back divided by it, in float32.

- Detections: private mode, the detector's own (``detect``: RPN, box head, its test settings);
  public mode (``public_detections``), the frame's given boxes (``info["detections"]``, their
  scores unused) scaled to the network input and clipped to it (mmdet's ``Resize``), used as
  proposals of the box head (``regress_boxes``), then its test settings: score above
  ``public_score_thr`` (strictly), NMS at ``public_nms_iou_thr``, the best ``public_max_per_img``.
  Only detections scoring above ``obj_score_thr`` (strictly) are used.
- A frame with no track in memory: every detection starts a track.
- Otherwise, first camera-motion compensation (``use_cmc``): ECC between the gray images of the
  previous and the current network input (:mod:`pytracking.libs.camera_motion`) moves the last box
  of every track in memory, active or not, and the moved box replaces it. As published, the
  matrix, estimated in network-input pixels, is applied to boxes in original pixels;
  ``cmc_rescale_translation`` divides its translation by the scale factor first instead.
- Regression: the tracks updated in the previous frame (in the order they were created) go
  through the box head as proposals; boxes scoring above 0 (strictly) enter an NMS at
  ``regression_nms_iou_thr`` (a box is suppressed by a higher-scoring one when their IoU is above
  the threshold, strictly; survivors ordered by score, highest first), and of those the ones
  scoring above ``regression_obj_score_thr`` (strictly) continue their tracks with the regressed
  box and its score; the others become inactive.
- A detection whose IoU with some continued track is ``regression_match_iou_thr`` or more is
  dropped.
- ReID (``use_reid``): the detections left are matched to the tracks in memory that were not
  continued (inactive: last updated at most ``num_frames_retain`` frames ago, including those
  lost by regression in this frame) by the Euclidean distance between the detection's embedding
  and the mean of the track's last ``reid_num_samples`` embeddings; a pair whose IoU (the track's
  last box, camera-compensated, against the detection) is below ``reid_match_iou_thr`` costs 1e6;
  a minimum-cost assignment (Hungarian) over all pairs; a pair is accepted when its distance is at
  most ``reid_match_score_thr``. The track then continues with the detection's box and score.
- Every detection left starts a track with the next identity, in detection order.
- A track keeps its last box, last frame and its embeddings (the continued tracks' embeddings are
  those of their regressed boxes); it is forgotten once ``num_frames_retain`` frames or more have
  passed since its last update.
- Output of a frame: the continued tracks with their regressed boxes and scores, and the
  detections (re-identified or new) with theirs. Every IoU is mmdet's ``bbox_overlaps``
  (no +1 pixel).

Differences, on purpose: identities start at 1 for every sequence (published: from 0); the
frame's rows are sorted by identity; where ECC fails to converge the identity is used (counted
and logged) instead of ending the run.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torchvision.ops import nms

from ltr.data.boxes import pairwise_iou_xyxy, xywh_to_xyxy, xyxy_to_xywh
from pytracking.features.net_wrappers import default_device
from pytracking.libs.assignment import min_cost_assignment
from pytracking.libs.camera_motion import CameraMotionCompensation, gray_image
from pytracking.tracker.base import BaseTracker, TrackerParams
from pytracking.tracker.mot_inputs import frame_detections
from pytracking.tracker.outputs import MULTI_OBJECT
from pytracking.tracker.tracktor.networks import default_prepare_images, fast_inference_copy, load_tracktor_network

logger = logging.getLogger(__name__)

# The cost of a ReID pair that the IoU rule forbids (published value).
FORBIDDEN_COST = 1e6


@dataclass
class _Track:
    box: torch.Tensor  # (4,) [x0, y0, x1, y1], original pixels, float32: the last, camera-compensated
    score: float
    last_frame: int
    embeddings: deque = field(default_factory=deque)  # the last reid_num_samples (D,) embeddings


def nms_order(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, score_threshold: float = 0.0,
              max_count: int = -1) -> torch.Tensor:
    """mmdet's ``multiclass_nms`` for one class, as indices into ``boxes``: scores above
    ``score_threshold`` (strictly), then NMS (suppressed when the IoU with a higher-scoring kept box
    is above ``iou_threshold``, strictly; no +1 pixel), ordered by score, at most ``max_count``
    (all when negative). The threshold is compared in float32, as mmcv's kernel takes it (torchvision's
    takes a double, which would suppress a float32 IoU of exactly 0.6 at a threshold of 0.6)."""
    candidates = torch.nonzero(scores > score_threshold).flatten()
    if candidates.numel() == 0:
        return candidates
    keep = candidates[nms(boxes[candidates], scores[candidates], float(np.float32(iou_threshold)))]
    return keep[:max_count] if max_count > 0 else keep


class TracktorTracker(BaseTracker):
    """Tracktor over a detector and a ReID network (see the module's rules). ``detector``,
    ``reid``, ``prepare_images``, ``cmc`` and ``device`` replace what the parameters would load
    (tests script them): a detector has ``extract_features(batch)``, ``detect(features,
    image_sizes)``, ``regress_boxes(features, boxes, image_sizes)``, ``normalize_mean``,
    ``normalize_std`` and ``test_scale``; a ReID network ``embed_boxes(batch, boxes)``."""

    frame_output = MULTI_OBJECT
    PARAMETERS = {
        # networks (pytracking/tracker/tracktor/networks.py): a checkpoint, or a name and weights
        "detector_checkpoint": None, "detector_network": None, "detector_network_kwargs": {},
        "detector_weights": None,
        "reid_checkpoint": None, "reid_network": None, "reid_network_kwargs": {}, "reid_weights": None,
        "use_gpu": None,  # None: CUDA when available
        # detections
        "public_detections": False, "public_score_thr": 0.05, "public_nms_iou_thr": 0.5,
        "public_max_per_img": 100, "obj_score_thr": 0.5,
        # camera motion
        "use_cmc": True, "cmc_warp_mode": "euclidean", "cmc_num_iters": 100, "cmc_stop_eps": 1e-5,
        "cmc_rescale_translation": False,
        # regression
        "regression_obj_score_thr": 0.5, "regression_nms_iou_thr": 0.6, "regression_match_iou_thr": 0.3,
        # re-identification and memory
        "use_reid": True, "reid_num_samples": 10, "reid_match_score_thr": 2.0, "reid_match_iou_thr": 0.2,
        "num_frames_retain": 10,
        # speed: the ReID network with BatchNorm folded into its layers and channels-last
        # convolutions (rounding differs by ~1e-5 of the embeddings; off: the published arithmetic)
        "fast_reid": False,
    }

    @classmethod
    def needs_detections(cls, params: TrackerParams) -> bool:
        """Public mode tracks given detections; private mode detects with its own detector."""
        return bool(params.get("public_detections", False))

    def __init__(self, params: TrackerParams, *, detector: Any = None, reid: Any = None,
                 prepare_images: Callable[..., Any] | None = None, cmc: Any = None,
                 device: str | torch.device | None = None):
        super().__init__(params)
        self.public_detections = bool(params.get("public_detections", False))
        self.public_score_thr = float(params.get("public_score_thr", 0.05))
        self.public_nms_iou_thr = float(params.get("public_nms_iou_thr", 0.5))
        self.public_max_per_img = int(params.get("public_max_per_img", 100))
        self.obj_score_thr = float(params.get("obj_score_thr", 0.5))
        self.regression_obj_score_thr = float(params.get("regression_obj_score_thr", 0.5))
        self.regression_nms_iou_thr = float(params.get("regression_nms_iou_thr", 0.6))
        self.regression_match_iou_thr = float(params.get("regression_match_iou_thr", 0.3))
        self.use_reid = bool(params.get("use_reid", True))
        self.reid_num_samples = int(params.get("reid_num_samples", 10))
        self.reid_match_score_thr = float(params.get("reid_match_score_thr", 2.0))
        self.reid_match_iou_thr = float(params.get("reid_match_iou_thr", 0.2))
        self.num_frames_retain = int(params.get("num_frames_retain", 10))
        self.cmc_rescale_translation = bool(params.get("cmc_rescale_translation", False))
        if self.reid_num_samples < 1 or self.num_frames_retain < 1:
            raise ValueError(f"Tracktor: reid_num_samples ({self.reid_num_samples}) and num_frames_retain "
                             f"({self.num_frames_retain}) must be at least 1; fix the parameter file")
        if cmc is None and params.get("use_cmc", True):
            cmc = CameraMotionCompensation(warp_mode=params.get("cmc_warp_mode", "euclidean"),
                                           num_iters=params.get("cmc_num_iters", 100),
                                           stop_eps=params.get("cmc_stop_eps", 1e-5))
        self.cmc = cmc if params.get("use_cmc", True) else None
        self.device = torch.device(device) if device is not None else default_device(params.get("use_gpu", None))
        self._network_settings = {
            "detector": dict(checkpoint=params.get("detector_checkpoint", None),
                             network=params.get("detector_network", None),
                             network_kwargs=params.get("detector_network_kwargs", {}),
                             weights=params.get("detector_weights", None)),
            "reid": dict(checkpoint=params.get("reid_checkpoint", None), network=params.get("reid_network", None),
                         network_kwargs=params.get("reid_network_kwargs", {}),
                         weights=params.get("reid_weights", None)),
        }
        self.detector = detector
        self.reid = reid
        self.fast_reid = bool(params.get("fast_reid", False))
        self._reid_prepared = False
        self._prepare_images = prepare_images
        self._reset()

    # Networks ---------------------------------------------------------------------------------

    def _load_networks(self) -> None:
        """Load what the constructor was not given, on first use (finding the tracker stays cheap)."""
        if self.detector is None:
            self.detector = load_tracktor_network("detector", device=self.device, **self._network_settings["detector"])
        if self.reid is None and self.use_reid:
            self.reid = load_tracktor_network("reid", device=self.device, **self._network_settings["reid"])
        if self.fast_reid and self.reid is not None and not self._reid_prepared:
            self.reid = fast_inference_copy(self.reid)
        self._reid_prepared = True
        if self._prepare_images is None:
            self._prepare_images = default_prepare_images()

    # Protocol ---------------------------------------------------------------------------------

    def _reset(self) -> None:
        self.tracks: dict[int, _Track] = {}
        self.num_tracks = 0  # identities given so far (published ids from 0; output adds 1)
        self.frame_id = -1
        self._last_gray: np.ndarray | None = None

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        self._reset()
        return self.track(image, info)

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        self._load_networks()
        with torch.inference_mode():
            return {"tracks": self._step(image, info)}

    # One frame --------------------------------------------------------------------------------

    def _step(self, image: np.ndarray, info: dict | None) -> np.ndarray:
        self.frame_id += 1
        inputs = self._prepare_images([image], scale=tuple(self.detector.test_scale),
                                      mean=tuple(self.detector.normalize_mean), std=tuple(self.detector.normalize_std),
                                      device=self.device)
        batch = inputs.batch
        w_scale, h_scale = inputs.scale_factors[0]
        scale = torch.tensor([w_scale, h_scale, w_scale, h_scale], dtype=torch.float32, device=self.device)
        features = self.detector.extract_features(batch)
        det_boxes, det_scores = self._detections(features, inputs, info, scale)
        keep = det_scores > self.obj_score_thr
        det_boxes, det_scores = det_boxes[keep], det_scores[keep]
        gray = gray_image(batch) if self.cmc is not None else None

        if not self.tracks:
            ids = list(range(self.num_tracks, self.num_tracks + len(det_boxes)))
            self.num_tracks += len(det_boxes)
            embeddings = self._embed(batch, det_boxes, scale, inputs.image_sizes[0])
            boxes, scores = det_boxes, det_scores
        else:
            if self.cmc is not None and self._last_gray is not None:
                self._compensate(self._last_gray, gray, scale)
            prop_boxes, prop_scores, prop_ids = self._regress(features, inputs.image_sizes, scale)
            overlaps = pairwise_iou_xyxy(det_boxes, prop_boxes)
            keep = (overlaps < self.regression_match_iou_thr).all(dim=1)
            det_boxes, det_scores = det_boxes[keep], det_scores[keep]
            det_ids = [-1] * len(det_boxes)
            # One ReID pass for the continued tracks and the detections (published: two; the
            # network is in eval mode, so each crop's embedding does not depend on the others).
            embeddings = self._embed(batch, torch.cat([prop_boxes, det_boxes]), scale, inputs.image_sizes[0])
            if embeddings is not None and len(det_boxes):
                self._reidentify(det_boxes, embeddings[len(prop_boxes):], set(prop_ids), det_ids)
            for index, track_id in enumerate(det_ids):
                if track_id == -1:
                    det_ids[index] = self.num_tracks
                    self.num_tracks += 1
            ids = prop_ids + det_ids
            boxes = torch.cat([prop_boxes, det_boxes])
            scores = torch.cat([prop_scores, det_scores])

        self._update(ids, boxes, scores, embeddings)
        self._last_gray = gray
        order = np.argsort(np.array(ids, dtype=np.int64), kind="stable")
        xywh = xyxy_to_xywh(boxes).to("cpu", torch.float64).numpy()
        rows = np.column_stack([np.array(ids, dtype=np.float64) + 1, xywh,
                                scores.to("cpu", torch.float64).numpy()])
        return rows[order].reshape(-1, 6)

    def _detections(self, features: Any, inputs: Any, info: dict | None,
                    scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The frame's detections ``[x0, y0, x1, y1]`` in original pixels and their scores."""
        if not self.public_detections:
            boxes, scores = self.detector.detect(features, inputs.image_sizes)[0]
            return boxes.float() / scale, scores.float()
        given = frame_detections(info, "Tracktor with public detections")
        height, width = inputs.image_sizes[0]
        proposals = xywh_to_xyxy(torch.as_tensor(given[:, :4], dtype=torch.float32, device=self.device)) * scale
        proposals[:, 0::2] = proposals[:, 0::2].clamp(0, width)
        proposals[:, 1::2] = proposals[:, 1::2].clamp(0, height)
        if len(proposals) == 0:
            return proposals.new_zeros((0, 4)), proposals.new_zeros((0,))
        boxes, scores = self.detector.regress_boxes(features, [proposals], inputs.image_sizes)[0]
        boxes, scores = boxes.float() / scale, scores.float()
        keep = nms_order(boxes, scores, self.public_nms_iou_thr, self.public_score_thr, self.public_max_per_img)
        return boxes[keep], scores[keep]

    def _compensate(self, previous_gray: np.ndarray, current_gray: np.ndarray, scale: torch.Tensor) -> None:
        """Move the last box of every track in memory by the camera's motion."""
        matrix = torch.as_tensor(self.cmc.warp_matrix(previous_gray, current_gray), dtype=torch.float32,
                                 device=self.device)
        if self.cmc_rescale_translation:
            matrix = matrix.clone()
            matrix[:, 2] = matrix[:, 2] / scale[:2]
        boxes = torch.stack([track.box for track in self.tracks.values()])
        for track, box in zip(self.tracks.values(), self.cmc.warp_boxes(boxes, matrix)):
            track.box = box

    def _regress(self, features: Any, image_sizes: list, scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """The tracks of the previous frame through the box head: the continued tracks' boxes,
        scores and identities, in score order."""
        previous = [(track_id, track) for track_id, track in self.tracks.items() if track.last_frame == self.frame_id - 1]
        if not previous:
            return torch.zeros((0, 4), device=self.device), torch.zeros((0,), device=self.device), []
        boxes = torch.stack([track.box for _, track in previous]) * scale
        boxes, scores = self.detector.regress_boxes(features, [boxes], image_sizes)[0]
        boxes, scores = boxes.float() / scale, scores.float()
        keep = nms_order(boxes, scores, self.regression_nms_iou_thr, 0.0)
        keep = keep[scores[keep] > self.regression_obj_score_thr]
        return boxes[keep], scores[keep], [previous[int(i)][0] for i in keep]

    def _embed(self, batch: torch.Tensor, boxes: torch.Tensor, scale: torch.Tensor,
               image_size: tuple[int, int]) -> torch.Tensor | None:
        """ReID embeddings (N, D) of boxes in original pixels, cropped from the network input
        without its padding (``image_size`` (h, w)); None without ReID."""
        if self.reid is None or not self.use_reid:
            return None
        if len(boxes) == 0:  # the embedding size is not known without a box
            return torch.zeros((0, 0), device=self.device)
        return self.reid.embed_boxes(batch, boxes * scale, image_size=image_size).float()

    def _reidentify(self, boxes: torch.Tensor, embeddings: torch.Tensor, continued: set[int],
                    ids: list[int]) -> None:
        """Give detections the identities of inactive tracks they match (sets ``ids`` in place)."""
        inactive = [track_id for track_id in self.tracks if track_id not in continued]
        if not inactive or len(boxes) == 0:
            return
        means = torch.stack([torch.stack(list(self.tracks[t].embeddings)).mean(dim=0) for t in inactive])
        distances = torch.cdist(means, embeddings).cpu().numpy()
        last_boxes = torch.stack([self.tracks[t].box for t in inactive])
        overlaps = pairwise_iou_xyxy(last_boxes, boxes).cpu().numpy()
        distances[overlaps < self.reid_match_iou_thr] = FORBIDDEN_COST
        for row, col in min_cost_assignment(distances):
            if distances[row, col] <= self.reid_match_score_thr:
                ids[col] = inactive[row]

    def _update(self, ids: list[int], boxes: torch.Tensor, scores: torch.Tensor,
                embeddings: torch.Tensor | None) -> None:
        """Record the frame's boxes under their identities, then forget the tracks not updated for
        ``num_frames_retain`` frames or more."""
        for index, track_id in enumerate(ids):
            if track_id not in self.tracks:
                self.tracks[track_id] = _Track(boxes[index], 0.0, self.frame_id, deque(maxlen=self.reid_num_samples))
            track = self.tracks[track_id]
            track.box, track.score, track.last_frame = boxes[index], float(scores[index]), self.frame_id
            if embeddings is not None:
                track.embeddings.append(embeddings[index])
        for track_id in [t for t, track in self.tracks.items()
                         if self.frame_id - track.last_frame >= self.num_frames_retain]:
            del self.tracks[track_id]
