"""ByteTrack, rule by rule as in the published ``yolox/tracker/byte_tracker.py``
(github.com/ifzhang/ByteTrack):

- detections scoring above ``track_thresh`` (strictly) are high, those strictly between
  ``low_thresh`` and ``track_thresh`` low; a detection scoring exactly ``track_thresh`` is
  neither and is ignored;
- first association: the confirmed tracked tracks and the lost tracks, predicted by the Kalman
  filter on ``[cx, cy, a, h]`` (a lost track's height velocity zeroed first), against the high
  detections on IoU distance with the +1 pixel convention, fused with the detection score
  (``1 - IoU * score``) unless ``fuse_score`` is off (``mot20``), assignment limited at
  ``match_thresh``; a lost track matched is found again, keeping its identity;
- second association: the tracked tracks left against the low detections, plain IoU distance
  limited at ``second_match_thresh``; tracked tracks still left become lost;
- the unconfirmed tracks (started in the previous frame, not predicted) against the high
  detections left, fused as above, limited at ``unconfirmed_match_thresh``; unconfirmed tracks
  left are removed;
- a high detection left starts a track when its score is at least ``track_thresh +
  new_track_margin``; it is confirmed (output) at once only in the sequence's first frame,
  otherwise when matched in the next frame;
- lost tracks are removed after ``int(frame_rate / 30 * track_buffer)`` frames without a match
  (checked before the lists are merged, so a track removed in this frame stays in the lost list
  until the next frame, as published);
- a tracked and a lost track closer than ``duplicate_iou_distance`` (strictly): the one tracked
  for the shorter time is dropped (the lost one on a tie);
- output: the confirmed tracked tracks, with the box of the Kalman state after the update and
  the score of their last detection; optionally only those of area above ``min_box_area`` and
  width / height at most ``aspect_ratio_thresh`` (the published MOT evaluation's output filter).

Settings per sequence (``sequence_overrides``, off by default): the published MOT evaluation
(``yolox/evaluators/mot_evaluator.py``) sets ``track_buffer`` and ``track_thresh`` by the
sequence's name before building the tracker for it (so ``det_thresh`` follows the new
``track_thresh``); ``sequence_overrides`` maps names to such values, applied in
:meth:`ByteTrackTracker.initialize` from ``info["sequence_name"]``. A MOT17 name matches with or
without its detector suffix (the published evaluator reads only the ``-FRCNN`` copies).
The frame rate is 30 unless the first frame's info gives ``frame_rate``: the published
evaluation builds every tracker with its default 30, whatever the sequence's rate.

Identities start at 1 for every sequence (the published code counts on across sequences in one
process, in a class attribute).
"""

from __future__ import annotations

import numpy as np

from ltr.data.boxes import cxcyah_to_xywh, xywh_to_cxcyah
from ltr.dataset.mot.motchallenge import mot17_base
from pytracking.libs.assignment import thresholded_assignment
from pytracking.libs.kalman_filter import bytetrack_kalman_filter
from pytracking.tracker.base import BaseTracker, TrackerParams
from pytracking.tracker.mot_inputs import frame_detections
from pytracking.tracker.outputs import MULTI_OBJECT
from pytracking.tracker.track_lists import TrackState, end_of_frame, iou_distance, joint


class _Track:
    """A detection, and once activated a track (the published STrack)."""

    def __init__(self, box: np.ndarray, score: float):
        self.detection_box = box  # [x, y, w, h]
        self.score = score
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.state = TrackState.NEW
        self.is_activated = False
        self.track_id = 0
        self.frame_id = 0
        self.start_frame = 0
        self.tracklet_len = 0

    @property
    def box(self) -> np.ndarray:
        """[x, y, w, h]: the Kalman state's once a track, the detection's before."""
        if self.mean is None:
            return self.detection_box.copy()
        return cxcyah_to_xywh(self.mean[:4])


def _fuse_score(cost: np.ndarray, detections: list[_Track]) -> np.ndarray:
    if cost.size == 0:
        return cost
    scores = np.array([d.score for d in detections])
    return 1.0 - (1.0 - cost) * scores[None, :]


class ByteTracker(BaseTracker):
    """ByteTrack over the detections of each frame (``info["detections"]``)."""

    frame_output = MULTI_OBJECT
    PARAMETERS = {
        "track_thresh": 0.5,  # high detections score above it
        "low_thresh": 0.1,  # low detections score above it (and below track_thresh)
        "new_track_margin": 0.1,  # new tracks need track_thresh + this
        "match_thresh": 0.8,  # first association's cost limit
        "second_match_thresh": 0.5,  # low detections' cost limit
        "unconfirmed_match_thresh": 0.7,  # unconfirmed tracks' cost limit
        "fuse_score": True,  # IoU times detection score in the first and unconfirmed steps
        "track_buffer": 30,  # frames a lost track is kept, at 30 frames per second
        "frame_rate": 30,  # used when the sequence's info gives no frame_rate
        "duplicate_iou_distance": 0.15,  # tracked and lost tracks closer are duplicates
        "min_box_area": None,  # output only tracks of larger area (None: all)
        "aspect_ratio_thresh": None,  # output only tracks with w / h not above (None: all)
        "sequence_overrides": None,  # {sequence name: {track_thresh, track_buffer, ...}} (None: none)
    }
    # What sequence_overrides may change: the settings the published evaluation sets per sequence.
    PER_SEQUENCE = ("track_thresh", "track_buffer", "match_thresh")

    def __init__(self, params: TrackerParams):
        super().__init__(params)
        # What may change per sequence: the base values, set (with det_thresh) by
        # _apply_sequence_overrides for every sequence.
        self._base_values = {"track_thresh": float(params.get("track_thresh", 0.5)),
                             "track_buffer": int(params.get("track_buffer", 30)),
                             "match_thresh": float(params.get("match_thresh", 0.8))}
        self.new_track_margin = float(params.get("new_track_margin", 0.1))
        self.low_thresh = float(params.get("low_thresh", 0.1))
        self.second_match_thresh = float(params.get("second_match_thresh", 0.5))
        self.unconfirmed_match_thresh = float(params.get("unconfirmed_match_thresh", 0.7))
        self.fuse_score = bool(params.get("fuse_score", True))
        self.default_frame_rate = float(params.get("frame_rate", 30))
        self.duplicate_iou_distance = float(params.get("duplicate_iou_distance", 0.15))
        self.min_box_area = params.get("min_box_area", None)
        self.aspect_ratio_thresh = params.get("aspect_ratio_thresh", None)
        self.sequence_overrides = dict(params.get("sequence_overrides", None) or {})
        for name, values in self.sequence_overrides.items():
            unknown = sorted(set(values) - set(self.PER_SEQUENCE))
            if unknown:
                raise ValueError(f"sequence_overrides[{name!r}] sets {', '.join(unknown)}: only "
                                 f"{', '.join(self.PER_SEQUENCE)} can change per sequence")
        self._apply_sequence_overrides(None)
        self.kalman = bytetrack_kalman_filter()
        self._reset(self.default_frame_rate)

    def _apply_sequence_overrides(self, name: str | None) -> None:
        """The base settings, then those ``sequence_overrides`` gives ``name`` (a MOT17 name also
        by its base, without the detector suffix)."""
        values = dict(self._base_values)
        if name is not None:
            base, _ = mot17_base(name)
            values.update(self.sequence_overrides.get(name, self.sequence_overrides.get(base, {})))
        self.track_thresh = float(values["track_thresh"])
        # Summed as published (0.5 + 0.1), so the float compared is the same.
        self.det_thresh = self.track_thresh + self.new_track_margin
        self.track_buffer = int(values["track_buffer"])
        self.match_thresh = float(values["match_thresh"])

    def _reset(self, frame_rate: float) -> None:
        self.tracked: list[_Track] = []
        self.lost: list[_Track] = []
        self.removed_ids: set[int] = set()
        self.frame_id = 0
        self.max_time_lost = int(frame_rate / 30.0 * self.track_buffer)
        self._next_id = 1

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        # The sequence's frame rate when its first frame's info gives one (track_buffer is in
        # frames at 30 per second).
        frame_rate = info["frame_rate"] if "frame_rate" in info else self.default_frame_rate
        self._apply_sequence_overrides(info.get("sequence_name"))
        self._reset(float(frame_rate))
        return self.track(image, info)

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        return {"tracks": self.update(frame_detections(info, "ByteTrack"))}

    # Track life ------------------------------------------------------------------------------

    def _activate(self, track: _Track) -> None:
        track.track_id = self._next_id
        self._next_id += 1
        mean, covariance = self.kalman.initiate(xywh_to_cxcyah(track.detection_box)[None])
        track.mean, track.covariance = mean[0], covariance[0]
        track.tracklet_len = 0
        track.state = TrackState.TRACKED
        track.is_activated = self.frame_id == 1
        track.frame_id = self.frame_id
        track.start_frame = self.frame_id

    def _correct(self, track: _Track, detection: _Track, refound: bool) -> None:
        mean, covariance = self.kalman.update(track.mean[None], track.covariance[None],
                                              xywh_to_cxcyah(detection.box)[None])
        track.mean, track.covariance = mean[0], covariance[0]
        track.tracklet_len = 0 if refound else track.tracklet_len + 1
        track.state = TrackState.TRACKED
        track.is_activated = True
        track.frame_id = self.frame_id
        track.score = detection.score

    def _predict(self, tracks: list[_Track]) -> None:
        if not tracks:
            return
        mean = np.stack([t.mean for t in tracks])
        covariance = np.stack([t.covariance for t in tracks])
        not_tracked = np.array([t.state != TrackState.TRACKED for t in tracks])
        mean[not_tracked, 7] = 0.0  # a lost track keeps its height
        mean, covariance = self.kalman.predict(mean, covariance)
        for track, m, p in zip(tracks, mean, covariance):
            track.mean, track.covariance = m, p

    # One frame -------------------------------------------------------------------------------

    def update(self, detections: np.ndarray) -> np.ndarray:
        """One frame: (N, 5) ``[x, y, w, h, score]`` -> (K, 6) ``[id, x, y, w, h, score]`` by id."""
        self.frame_id += 1
        activated, refound, newly_lost, newly_removed = [], [], [], []
        scores = detections[:, 4]
        high = scores > self.track_thresh
        low = (scores > self.low_thresh) & (scores < self.track_thresh)
        high_dets = [_Track(box, float(s)) for box, s in zip(detections[high, :4], scores[high])]
        low_dets = [_Track(box, float(s)) for box, s in zip(detections[low, :4], scores[low])]

        unconfirmed = [t for t in self.tracked if not t.is_activated]
        confirmed = [t for t in self.tracked if t.is_activated]

        # First association: confirmed and lost tracks with the high detections.
        pool = joint(confirmed, self.lost)
        self._predict(pool)
        cost = iou_distance(pool, high_dets)
        if self.fuse_score:
            cost = _fuse_score(cost, high_dets)
        matches, unmatched_pool, unmatched_high = thresholded_assignment(cost, self.match_thresh)
        for t, d in matches:
            track = pool[t]
            if track.state == TrackState.TRACKED:
                self._correct(track, high_dets[d], refound=False)
                activated.append(track)
            else:
                self._correct(track, high_dets[d], refound=True)
                refound.append(track)

        # Second association: the tracked tracks left with the low detections.
        remaining = [pool[t] for t in unmatched_pool if pool[t].state == TrackState.TRACKED]
        cost = iou_distance(remaining, low_dets)
        matches, unmatched_remaining, _ = thresholded_assignment(cost, self.second_match_thresh)
        for t, d in matches:
            # Every remaining track is tracked, so this is an update, never a refind.
            self._correct(remaining[t], low_dets[d], refound=False)
            activated.append(remaining[t])
        for t in unmatched_remaining:
            track = remaining[t]
            if track.state != TrackState.LOST:
                track.state = TrackState.LOST
                newly_lost.append(track)

        # Unconfirmed tracks (not predicted, as published) with the high detections left.
        left = [high_dets[d] for d in unmatched_high]
        cost = iou_distance(unconfirmed, left)
        if self.fuse_score:
            cost = _fuse_score(cost, left)
        matches, unmatched_unconfirmed, unmatched_left = thresholded_assignment(cost, self.unconfirmed_match_thresh)
        for t, d in matches:
            self._correct(unconfirmed[t], left[d], refound=False)
            activated.append(unconfirmed[t])
        for t in unmatched_unconfirmed:
            unconfirmed[t].state = TrackState.REMOVED
            newly_removed.append(unconfirmed[t])

        # New tracks.
        for d in unmatched_left:
            detection = left[d]
            if detection.score < self.det_thresh:
                continue
            self._activate(detection)
            activated.append(detection)

        self.tracked, self.lost = end_of_frame(
            self.tracked, self.lost, self.removed_ids, frame_id=self.frame_id, max_time_lost=self.max_time_lost,
            duplicate_iou_distance=self.duplicate_iou_distance, activated=activated, refound=refound,
            newly_lost=newly_lost, newly_removed=newly_removed)
        return self._output([t for t in self.tracked if t.is_activated])

    def _output(self, tracks: list[_Track]) -> np.ndarray:
        rows = []
        for track in tracks:
            box = track.box
            area, ratio = box[2] * box[3], box[2] / box[3]
            if self.min_box_area is not None and not area > self.min_box_area:
                continue
            if self.aspect_ratio_thresh is not None and ratio > self.aspect_ratio_thresh:
                continue
            rows.append([track.track_id, *box.tolist(), track.score])
        rows.sort(key=lambda row: row[0])
        return np.array(rows, dtype=np.float64).reshape(-1, 6)
