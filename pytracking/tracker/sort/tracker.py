"""SORT, rule by rule as in the published ``sort.py`` (github.com/abewley/sort):

- a constant-velocity Kalman filter on ``[u, v, s, r]`` (centre, area, aspect ratio)
  (:func:`pytracking.libs.kalman_filter.sort_kalman_filter`); before each prediction the area
  velocity is zeroed when ``s + ds <= 0``, and a track whose predicted box is not finite is
  dropped before association;
- IoU of plain continuous boxes (no +1 pixel), detections against predicted boxes; when every
  detection and every track has at most one IoU above ``iou_threshold`` those pairs are taken
  directly, otherwise the assignment that maximises the summed IoU; a pair below the threshold
  (strictly) is undone;
- unmatched detections start tracks, in order: first those the assignment left out, then those
  undone by the threshold;
- a track is output in a frame when it was matched in that frame and has been matched in
  ``min_hits`` consecutive frames since it started, or while the sequence is in its first
  ``min_hits`` frames; it is deleted once unmatched for more than ``max_age`` frames.

Differences, on purpose: identities start at 1 for every sequence (the published code counts on
across sequences in one process, in a class attribute); the score of an output track is the score
of the detection it was matched with in that frame (the published script writes 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltr.data.boxes import box_iou, cxcysr_to_xywh, xywh_to_cxcysr
from pytracking.libs.assignment import min_cost_assignment
from pytracking.libs.kalman_filter import sort_kalman_filter
from pytracking.tracker.base import BaseTracker, TrackerParams
from pytracking.tracker.mot_inputs import frame_detections
from pytracking.tracker.outputs import MULTI_OBJECT


@dataclass
class _Track:
    track_id: int
    mean: np.ndarray  # (7,)
    covariance: np.ndarray  # (7, 7)
    score: float
    hits: int = 0
    hit_streak: int = 0
    age: int = 0
    time_since_update: int = 0


def associate(detections: np.ndarray, predicted: np.ndarray,
              iou_threshold: float) -> tuple[np.ndarray, list[int], list[int]]:
    """SORT's association of (N, 4) detections with (M, 4) predicted boxes, both [x, y, w, h]:
    the (K, 2) ``[detection, track]`` matches, the unmatched detections and tracks in SORT's
    order."""
    if len(predicted) == 0:
        return np.zeros((0, 2), dtype=np.int64), list(range(len(detections))), []
    iou = box_iou(detections[:, None, :], predicted[None, :, :])
    if min(iou.shape) > 0:
        above = iou > iou_threshold
        if above.sum(1).max() == 1 and above.sum(0).max() == 1:
            pairs = np.argwhere(above)
        else:
            pairs = min_cost_assignment(-iou)
    else:
        pairs = np.zeros((0, 2), dtype=np.int64)
    unmatched_detections = [d for d in range(len(detections)) if d not in pairs[:, 0]]
    unmatched_tracks = [t for t in range(len(predicted)) if t not in pairs[:, 1]]
    matches = []
    for d, t in pairs:
        if iou[d, t] < iou_threshold:
            unmatched_detections.append(int(d))
            unmatched_tracks.append(int(t))
        else:
            matches.append((int(d), int(t)))
    return np.array(matches, dtype=np.int64).reshape(-1, 2), unmatched_detections, unmatched_tracks


class SortTracker(BaseTracker):
    """SORT over the detections of each frame (``info["detections"]``)."""

    frame_output = MULTI_OBJECT
    # iou_threshold: least IoU of a match; max_age: frames a track survives unmatched;
    # min_hits: consecutive matches before a track is output (after the first min_hits frames).
    PARAMETERS = {"iou_threshold": 0.3, "max_age": 1, "min_hits": 3}

    def __init__(self, params: TrackerParams):
        super().__init__(params)
        self.iou_threshold = float(params.get("iou_threshold", 0.3))
        self.max_age = int(params.get("max_age", 1))
        self.min_hits = int(params.get("min_hits", 3))
        self.kalman = sort_kalman_filter()
        self._reset()

    def _reset(self) -> None:
        self.tracks: list[_Track] = []
        self.frame_count = 0
        self._next_id = 1

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        self._reset()
        return self.track(image, info)

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        return {"tracks": self.update(frame_detections(info, "SORT"))}

    def _predict(self) -> np.ndarray:
        """Advance every track one frame; drop those whose box is not finite; their boxes."""
        if not self.tracks:
            return np.zeros((0, 4))
        mean = np.stack([t.mean for t in self.tracks])
        covariance = np.stack([t.covariance for t in self.tracks])
        shrinking = mean[:, 6] + mean[:, 2] <= 0  # the area would turn negative: stop its change
        mean[shrinking, 6] = 0.0
        mean, covariance = self.kalman.predict(mean, covariance)
        for track, m, p in zip(self.tracks, mean, covariance):
            track.mean, track.covariance = m, p
            track.age += 1
            if track.time_since_update > 0:
                track.hit_streak = 0
            track.time_since_update += 1
        boxes = cxcysr_to_xywh(mean[:, :4])
        finite = np.isfinite(boxes).all(1)
        self.tracks = [t for t, keep in zip(self.tracks, finite) if keep]
        return boxes[finite]

    def update(self, detections: np.ndarray) -> np.ndarray:
        """One frame: (N, 5) ``[x, y, w, h, score]`` -> (K, 6) ``[id, x, y, w, h, score]`` by id."""
        self.frame_count += 1
        predicted = self._predict()
        matches, unmatched_detections, _ = associate(detections[:, :4], predicted, self.iou_threshold)
        for d, t in matches:
            track = self.tracks[t]
            track.time_since_update = 0
            track.hits += 1
            track.hit_streak += 1
            mean, covariance = self.kalman.update(track.mean[None], track.covariance[None],
                                                  xywh_to_cxcysr(detections[d, :4])[None])
            track.mean, track.covariance = mean[0], covariance[0]
            track.score = float(detections[d, 4])
        for d in unmatched_detections:
            mean, covariance = self.kalman.initiate(xywh_to_cxcysr(detections[d, :4])[None])
            self.tracks.append(_Track(self._next_id, mean[0], covariance[0], float(detections[d, 4])))
            self._next_id += 1
        rows = []
        for track in self.tracks:
            if track.time_since_update < 1 and (track.hit_streak >= self.min_hits
                                                or self.frame_count <= self.min_hits):
                box = cxcysr_to_xywh(track.mean[:4])
                rows.append([track.track_id, *box.tolist(), track.score])
        self.tracks = [t for t in self.tracks if t.time_since_update <= self.max_age]
        rows.sort(key=lambda row: row[0])
        return np.array(rows, dtype=np.float64).reshape(-1, 6)
