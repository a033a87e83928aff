"""FairMOT's JDE association: the track memory, kept apart from the network (as mmtracking keeps
its trackers), rule by rule as published (``src/lib/tracker/multitracker.py`` ``STrack`` and
``JDETracker.update`` steps 2-5, ``matching.py``, ``basetrack.py``,
``tracking_utils/kalman_filter.py``; github.com/ifzhang/FairMOT 4aa6297):

- every detection's embedding is divided by its norm again (float32);
- first association: the confirmed tracked tracks and the lost tracks (a lost track's height
  velocity zeroed), predicted by the Kalman filter on ``[cx, cy, a, h]`` (DeepSORT's: the one
  ByteTrack uses, same constants), against all detections on the cosine distance between the
  track's smoothed embedding and the detection's (clamped at 0), fused with motion
  (``fuse_motion``): where the squared Mahalanobis distance of the detection from the track's
  predicted measurement (all four values) is above ``CHI2INV95[4]`` (9.4877) the cost is infinite,
  and every cost becomes ``0.98 * cost + 0.02 * mahalanobis``; assignment limited at
  ``embedding_match_thresh`` (0.4); a tracked track matched is updated (box, score, embedding), a
  lost one found again (box and embedding; its score stays that of its last update, as published);
- second association: the tracked tracks of the pool left against the detections left, on IoU
  distance (+1 pixel, ``cython_bbox``), limited at ``iou_match_thresh`` (0.5); tracked tracks
  still left become lost;
- the unconfirmed tracks (started in the previous frame, not predicted) against the detections
  left, IoU distance, limited at ``unconfirmed_match_thresh`` (0.7); unconfirmed tracks left are
  removed;
- a detection left starts a track when its score is at least ``det_thresh`` (not below it; the
  published ``det_thresh`` is ``conf_thres``, so every detection kept qualifies); it is confirmed
  at once only in the sequence's first frame, otherwise when matched in the next frame;
- lost tracks are removed after ``int(frame_rate / 30 * track_buffer)`` frames without a match
  (checked before the lists are merged: a track removed in this frame leaves the lost list in
  the next one);
- a tracked and a lost track closer than 0.15 in IoU distance: the younger is dropped;
- embeddings: the smoothed embedding starts as the first one and becomes ``0.9 * smoothed + 0.1 *
  new``, divided by its norm, on every update and every re-finding;
- output: the confirmed tracked tracks, ``[id, x, y, w, h, score]`` with the Kalman state's box.

Identities start at 1 for every sequence (the published code counts in a class attribute that
``track.py`` never resets, so its identities run on from one sequence to the next).
The assignment is lapjv's with ``extend_cost`` (:func:`pytracking.libs.assignment.thresholded_assignment`).
"""

from __future__ import annotations

import numpy as np

from ltr.data.boxes import cxcyah_to_xywh, xywh_to_cxcyah, xyxy_to_xywh
from pytracking.libs.assignment import thresholded_assignment
from pytracking.libs.kalman_filter import CHI2INV95, bytetrack_kalman_filter
from pytracking.tracker.track_lists import TrackState, iou_distance, joint, remove_duplicates, without


class JDETrack:
    """A detection with its embedding, and once activated a track (the published STrack)."""

    def __init__(self, box: np.ndarray, score: np.float32, embedding: np.ndarray, *, momentum: float = 0.9):
        self.detection_box = np.asarray(box, dtype=np.float64)  # [x, y, w, h]
        self.score = score
        self.momentum = momentum
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.state = TrackState.NEW
        self.is_activated = False
        self.track_id = 0
        self.frame_id = 0
        self.start_frame = 0
        self.tracklet_len = 0
        self.smooth_embedding: np.ndarray | None = None
        self.embedding: np.ndarray
        self.update_embedding(embedding)

    @staticmethod
    def _normalised(embedding: np.ndarray) -> np.ndarray:
        embedding = np.asarray(embedding, dtype=np.float32)
        return embedding / np.linalg.norm(embedding)

    def update_embedding(self, embedding: np.ndarray) -> None:
        """The published ``update_features``: the new embedding divided by its norm becomes the
        current one; the smoothed one starts as that very array (so dividing it by its norm
        divides the current one too, as published) and is then ``momentum * smoothed + (1 -
        momentum) * new``, divided by its norm; all float32."""
        embedding = self._normalised(embedding)
        self.embedding = embedding
        if self.smooth_embedding is None:
            self.smooth_embedding = embedding
        else:
            self.smooth_embedding = self.momentum * self.smooth_embedding + (1 - self.momentum) * embedding
        self.smooth_embedding /= np.linalg.norm(self.smooth_embedding)

    @property
    def box(self) -> np.ndarray:
        """[x, y, w, h]: the Kalman state's once a track, the detection's before."""
        if self.mean is None:
            return self.detection_box.copy()
        return cxcyah_to_xywh(self.mean[:4])


def embedding_distance(tracks: list[JDETrack], detections: list[JDETrack]) -> np.ndarray:
    """Cosine distance (``scipy``'s ``cdist``: ``1 - u.v / (|u| |v|)``, float64) between the
    tracks' smoothed embeddings and the detections' embeddings, clamped at 0."""
    if not tracks or not detections:
        return np.zeros((len(tracks), len(detections)))
    a = np.stack([t.smooth_embedding for t in tracks]).astype(np.float64)
    b = np.stack([d.embedding for d in detections]).astype(np.float64)
    dot = a @ b.T
    norms = np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :]
    return np.maximum(0.0, 1.0 - dot / norms)


class JDEAssociation:
    """The JDE track memory of one sequence; :meth:`update` takes a frame's detections."""

    def __init__(self, *, det_thresh: float, track_buffer: int = 30, frame_rate: float = 30.0,
                 embedding_match_thresh: float = 0.4, iou_match_thresh: float = 0.5,
                 unconfirmed_match_thresh: float = 0.7, motion_weight: float = 0.98,
                 gating_threshold: float = CHI2INV95[4], duplicate_iou_distance: float = 0.15,
                 embedding_momentum: float = 0.9):
        self.det_thresh = det_thresh
        self.max_time_lost = int(frame_rate / 30.0 * track_buffer)
        self.embedding_match_thresh = embedding_match_thresh
        self.iou_match_thresh = iou_match_thresh
        self.unconfirmed_match_thresh = unconfirmed_match_thresh
        self.motion_weight = motion_weight
        self.gating_threshold = gating_threshold
        self.duplicate_iou_distance = duplicate_iou_distance
        self.embedding_momentum = embedding_momentum
        self.kalman = bytetrack_kalman_filter()
        self.tracked: list[JDETrack] = []
        self.lost: list[JDETrack] = []
        self.removed_ids: set[int] = set()
        self.frame_id = 0
        self._next_id = 1

    # Track life ------------------------------------------------------------------------------

    def _activate(self, track: JDETrack) -> None:
        track.track_id = self._next_id
        self._next_id += 1
        mean, covariance = self.kalman.initiate(xywh_to_cxcyah(track.detection_box)[None])
        track.mean, track.covariance = mean[0], covariance[0]
        track.tracklet_len = 0
        track.state = TrackState.TRACKED
        track.is_activated = self.frame_id == 1
        track.frame_id = self.frame_id
        track.start_frame = self.frame_id

    def _correct(self, pairs: list[tuple[JDETrack, JDETrack]], refound: list[bool]) -> None:
        """Each ``(track, detection)`` pair: ``update`` (refound False: score and tracklet length
        too) or ``re_activate``. The Kalman corrections of the pairs are independent, so they run
        as one batched update (one call a stage instead of one a track: on a crowded synthetic
        frame, 42 tracks, the association took 6 ms instead of 13, the same tracks out)."""
        if not pairs:
            return
        means, covariances = self.kalman.update(np.stack([t.mean for t, _ in pairs]),
                                                np.stack([t.covariance for t, _ in pairs]),
                                                xywh_to_cxcyah(np.stack([d.box for _, d in pairs])))
        for (track, detection), mean, covariance, again in zip(pairs, means, covariances, refound):
            track.mean, track.covariance = mean, covariance
            track.update_embedding(detection.embedding)
            track.state = TrackState.TRACKED
            track.is_activated = True
            track.frame_id = self.frame_id
            if again:
                track.tracklet_len = 0
            else:
                track.tracklet_len += 1
                track.score = detection.score

    def _predict(self, tracks: list[JDETrack]) -> None:
        if not tracks:
            return
        mean = np.stack([t.mean for t in tracks])
        covariance = np.stack([t.covariance for t in tracks])
        mean[np.array([t.state != TrackState.TRACKED for t in tracks]), 7] = 0.0
        mean, covariance = self.kalman.predict(mean, covariance)
        for track, m, p in zip(tracks, mean, covariance):
            track.mean, track.covariance = m, p

    def fuse_motion(self, cost: np.ndarray, tracks: list[JDETrack], detections: list[JDETrack]) -> np.ndarray:
        """``cost`` gated (infinite where the squared Mahalanobis distance is above the gate) and
        mixed: ``motion_weight * cost + (1 - motion_weight) * mahalanobis``."""
        if cost.size == 0:
            return cost
        measurements = np.stack([xywh_to_cxcyah(d.box) for d in detections])
        mean = np.stack([t.mean for t in tracks])
        covariance = np.stack([t.covariance for t in tracks])
        gating = self.kalman.gating_distance(mean, covariance, measurements)
        cost = np.where(gating > self.gating_threshold, np.inf, cost)
        return self.motion_weight * cost + (1 - self.motion_weight) * gating

    # One frame -------------------------------------------------------------------------------

    def detections_from(self, boxes_xyxy: np.ndarray, scores: np.ndarray, embeddings: np.ndarray) -> list[JDETrack]:
        """Detections from (N, 4) float32 ``[x0, y0, x1, y1]`` boxes (their width and height taken
        in float32, as published), (N,) scores and (N, D) embeddings."""
        boxes = xyxy_to_xywh(np.asarray(boxes_xyxy, dtype=np.float32))
        return [JDETrack(box, score, embedding, momentum=self.embedding_momentum)
                for box, score, embedding in zip(boxes, np.asarray(scores, dtype=np.float32), embeddings)]

    def update(self, detections: list[JDETrack]) -> list[JDETrack]:
        """One frame: the detections (from :meth:`detections_from`) -> the confirmed tracked tracks."""
        self.frame_id += 1
        activated, refound, newly_lost, newly_removed = [], [], [], []
        unconfirmed = [t for t in self.tracked if not t.is_activated]
        confirmed = [t for t in self.tracked if t.is_activated]

        # First association: embeddings fused with motion.
        pool = joint(confirmed, self.lost)
        self._predict(pool)
        cost = self.fuse_motion(embedding_distance(pool, detections), pool, detections)
        matches, unmatched_pool, unmatched_dets = thresholded_assignment(cost, self.embedding_match_thresh)
        refinds = [pool[t].state != TrackState.TRACKED for t, _ in matches]
        self._correct([(pool[t], detections[d]) for t, d in matches], refinds)
        for (t, _), refind in zip(matches, refinds):
            (refound if refind else activated).append(pool[t])

        # Second association: IoU of the tracked tracks left.
        detections = [detections[d] for d in unmatched_dets]
        remaining = [pool[t] for t in unmatched_pool if pool[t].state == TrackState.TRACKED]
        matches, unmatched_remaining, unmatched_dets = thresholded_assignment(
            iou_distance(remaining, detections), self.iou_match_thresh)
        self._correct([(remaining[t], detections[d]) for t, d in matches], [False] * len(matches))
        activated.extend(remaining[t] for t, _ in matches)
        for t in unmatched_remaining:
            if remaining[t].state != TrackState.LOST:
                remaining[t].state = TrackState.LOST
                newly_lost.append(remaining[t])

        # Unconfirmed tracks.
        detections = [detections[d] for d in unmatched_dets]
        matches, unmatched_unconfirmed, unmatched_dets = thresholded_assignment(
            iou_distance(unconfirmed, detections), self.unconfirmed_match_thresh)
        self._correct([(unconfirmed[t], detections[d]) for t, d in matches], [False] * len(matches))
        activated.extend(unconfirmed[t] for t, _ in matches)
        for t in unmatched_unconfirmed:
            unconfirmed[t].state = TrackState.REMOVED
            newly_removed.append(unconfirmed[t])

        # New tracks.
        for d in unmatched_dets:
            detection = detections[d]
            if detection.score < self.det_thresh:
                continue
            self._activate(detection)
            activated.append(detection)

        # Lost too long.
        for track in self.lost:
            if self.frame_id - track.frame_id > self.max_time_lost:
                track.state = TrackState.REMOVED
                newly_removed.append(track)

        tracked = [t for t in self.tracked if t.state == TrackState.TRACKED]
        tracked = joint(joint(tracked, activated), refound)
        lost = without(self.lost, {t.track_id for t in tracked})
        lost.extend(newly_lost)
        lost = without(lost, self.removed_ids)
        self.removed_ids.update(t.track_id for t in newly_removed)
        self.tracked, self.lost = remove_duplicates(tracked, lost, self.duplicate_iou_distance)
        return [t for t in self.tracked if t.is_activated]
