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

The per-object work is batched: a frame's embeddings are normalised together, the matched tracks'
Kalman corrections and embedding smoothing are one batch each, the first association's stacked
states and embeddings are reused for the corrections, and every track stores its box after each
Kalman step. Boxes, scores and identities are the one-by-one values; the normalised embeddings
differ from the one-vector norms by float32 rounding only (the batched norm sums in another order).
The first association's cost is computed only for the pairs within the gate
(:meth:`JDEAssociation._gated_embedding_cost`), and an assignment whose answer is evident (each
track and each detection with at most one cost within the limit) is taken without the solver
(:func:`~pytracking.libs.assignment.evident_pairs`); both give the straightforward path's matches
(tested).
"""

from __future__ import annotations

import numpy as np
import torch

from ltr.data.boxes import cxcyah_to_xywh, xywh_to_cxcyah, xyxy_to_xywh
from pytracking.libs.assignment import thresholded_assignment
from pytracking.libs.kalman_filter import CHI2INV95, bytetrack_kalman_filter
from pytracking.tracker.track_lists import TrackState, end_of_frame, iou_distance, joint


def normalised_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row of (N, D) ``vectors`` divided by its L2 norm, in float32: the published
    ``feat /= np.linalg.norm(feat)``, one frame's rows in one batch (the batched norm sums in
    another order than the one-vector ``np.linalg.norm``: equal to rounding)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def first_embeddings(embeddings: np.ndarray) -> np.ndarray:
    """(N, D) detection embeddings as the published ``STrack`` holds them after its first
    ``update_features``: divided by the norm, then (the smoothed embedding being that very array,
    divided in place by its norm) divided by the norm once more. Current and smoothed embedding
    are both this."""
    return normalised_rows(normalised_rows(embeddings))


def smoothed_embeddings(smoothed: np.ndarray, new: np.ndarray, momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """The published ``update_features`` of matched tracks, batched over rows: the new embedding
    divided by its norm becomes the current one, and the smoothed one becomes ``momentum *
    smoothed + (1 - momentum) * current`` divided by its norm; float32. Returns (current,
    smoothed), each (N, D)."""
    current = normalised_rows(new)
    return current, normalised_rows(momentum * np.asarray(smoothed, dtype=np.float32) + (1 - momentum) * current)


# How far above the gate the Mahalanobis distance's lower bound must be for a pair to be left out
# without computing the distance (see JDEAssociation._gated_embedding_cost).
GATE_BOUND_MARGIN = 1.01


class JDETrack:
    """A detection with its embedding, and once activated a track (the published STrack).

    ``box`` ([x, y, w, h], float64) is the detection's until the track is activated and then the
    Kalman state's (``cxcyah_to_xywh(mean[:4])``), stored after every step of the filter by
    :class:`JDEAssociation` rather than recomputed at every read."""

    __slots__ = ("detection_box", "box", "score", "mean", "covariance", "state", "is_activated", "track_id",
                 "frame_id", "start_frame", "tracklet_len", "embedding", "smooth_embedding")

    def __init__(self, box: np.ndarray, score: np.float32, embedding: np.ndarray):
        """``embedding``: as the published STrack holds it once made (:func:`first_embeddings`)."""
        self.detection_box = np.asarray(box, dtype=np.float64)  # [x, y, w, h]
        self.box = self.detection_box
        self.score = score
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.state = TrackState.NEW
        self.is_activated = False
        self.track_id = 0
        self.frame_id = 0
        self.start_frame = 0
        self.tracklet_len = 0
        self.embedding = embedding
        self.smooth_embedding = embedding


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, D) and (M, D) vectors -> (N, M) cosine distance ``1 - u.v / (|u| |v|)`` in float64 (as
    ``scipy``'s ``cdist``), clamped at 0."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :]
    # The product through torch, whose threads are the network's: numpy's BLAS would start threads
    # of its own, which fight torch's (still spinning after the forward pass) for the cores: 10x
    # slower on two cores.
    dot = (torch.from_numpy(a) @ torch.from_numpy(b).T).numpy()
    return np.maximum(0.0, 1.0 - dot / norms)


def embedding_distance(tracks: list[JDETrack], detections: list[JDETrack]) -> np.ndarray:
    """Cosine distance between the tracks' smoothed embeddings and the detections' embeddings,
    clamped at 0 (the published ``embedding_distance``)."""
    return cosine_distance(_stack([t.smooth_embedding for t in tracks]), _stack([d.embedding for d in detections]))


def _stack(rows: list[np.ndarray]) -> np.ndarray:
    return np.array(rows) if rows else np.zeros((0, 0))


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

    @staticmethod
    def _set_states(tracks: list[JDETrack], mean: np.ndarray, covariance: np.ndarray) -> None:
        """Each track's Kalman state from the batch, and its box from that state (once for all)."""
        boxes = cxcyah_to_xywh(mean[:, :4])
        for track, m, p, box in zip(tracks, mean, covariance, boxes):
            track.mean, track.covariance, track.box = m, p, box

    def _activate(self, tracks: list[JDETrack]) -> None:
        """The published ``activate`` of each detection, in order (identities in that order)."""
        if not tracks:
            return
        mean, covariance = self.kalman.initiate(xywh_to_cxcyah(np.array([t.detection_box for t in tracks])))
        self._set_states(tracks, mean, covariance)
        for track in tracks:
            track.track_id = self._next_id
            self._next_id += 1
            track.tracklet_len = 0
            track.state = TrackState.TRACKED
            track.is_activated = self.frame_id == 1
            track.frame_id = self.frame_id
            track.start_frame = self.frame_id

    def _correct(self, tracks: list[JDETrack], detections: list[JDETrack], refound: list[bool], *,
                 mean: np.ndarray | None = None, covariance: np.ndarray | None = None,
                 smoothed: np.ndarray | None = None, boxes: np.ndarray | None = None,
                 embeddings: np.ndarray | None = None) -> None:
        """``update`` (refound False: score and tracklet length too) or ``re_activate`` of each
        track by its detection; one batched Kalman correction and one batched embedding update for
        all (each track's is its own). The tracks' states and smoothed embeddings and the
        detections' boxes and embeddings, stacked, may be given (the same rows as the objects
        hold); otherwise they are stacked here."""
        if not tracks:
            return
        if mean is None or covariance is None:
            mean, covariance = np.array([t.mean for t in tracks]), np.array([t.covariance for t in tracks])
        if boxes is None:
            boxes = np.array([d.box for d in detections])
        mean, covariance = self.kalman.update(mean, covariance, xywh_to_cxcyah(boxes))
        self._set_states(tracks, mean, covariance)
        current, smoothed = smoothed_embeddings(
            np.array([t.smooth_embedding for t in tracks]) if smoothed is None else smoothed,
            np.array([d.embedding for d in detections]) if embeddings is None else embeddings,
            self.embedding_momentum)
        for track, detection, found_again, e, s in zip(tracks, detections, refound, current, smoothed):
            track.embedding, track.smooth_embedding = e, s
            track.state = TrackState.TRACKED
            track.is_activated = True
            track.frame_id = self.frame_id
            if found_again:
                track.tracklet_len = 0
            else:
                track.tracklet_len += 1
                track.score = detection.score

    def _predict(self, tracks: list[JDETrack]) -> tuple[np.ndarray, np.ndarray]:
        """Each track one frame ahead (a lost track's height velocity zeroed first); returns the
        predicted states stacked, (N, 8) and (N, 8, 8)."""
        if not tracks:
            return np.zeros((0, 8)), np.zeros((0, 8, 8))
        mean = np.array([t.mean for t in tracks])
        covariance = np.array([t.covariance for t in tracks])
        mean[np.array([t.state != TrackState.TRACKED for t in tracks]), 7] = 0.0
        mean, covariance = self.kalman.predict(mean, covariance)
        self._set_states(tracks, mean, covariance)
        return mean, covariance

    def fuse_motion(self, cost: np.ndarray, tracks: list[JDETrack], detections: list[JDETrack]) -> np.ndarray:
        """``cost`` gated (infinite where the squared Mahalanobis distance is above the gate) and
        mixed: ``motion_weight * cost + (1 - motion_weight) * mahalanobis``."""
        if cost.size == 0:
            return cost
        return self._fuse(cost, np.array([t.mean for t in tracks]), np.array([t.covariance for t in tracks]),
                          np.array([d.box for d in detections]))

    def _fuse(self, cost: np.ndarray, mean: np.ndarray, covariance: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """:meth:`fuse_motion` on stacked track states and detection boxes ([x, y, w, h])."""
        if cost.size == 0:
            return cost
        gating = self.kalman.gating_distance(mean, covariance, xywh_to_cxcyah(boxes))
        cost = np.where(gating > self.gating_threshold, np.inf, cost)
        return self.motion_weight * cost + (1 - self.motion_weight) * gating

    def _gated_embedding_cost(self, smoothed: np.ndarray, embeddings: np.ndarray, mean: np.ndarray,
                              covariance: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """:meth:`_fuse` of :func:`cosine_distance`, computed only for the pairs the gate lets
        through: every other pair costs infinity whatever its cosine distance (``0.98 * inf +
        0.02 * g`` is infinite).

        - The gate first rules out the pairs that are far on the centre alone: with ``S`` the
          projected covariance and ``d`` the difference, ``d' S^-1 d >= d_i^2 / S_ii`` for each
          value ``i`` (Cauchy-Schwarz); a pair whose bound for ``cx`` or ``cy`` is finite and
          above the gate by :data:`GATE_BOUND_MARGIN` (1 %, far beyond the rounding of either
          side) is out.
        - The others get the gate's very values
          (:meth:`~pytracking.libs.kalman_filter.KalmanFilter.gating_distance_at`).
        - Per pair within the gate the same steps as :func:`cosine_distance` (float64 dot
          product, the norms' product, ``1 - dot / norms`` clamped at 0); the dot product is
          summed by numpy's einsum rather than torch's matrix product (no threads, the frame's
          few hundred pairs), which may differ from it in the last bit, as both differ from the
          published ``cdist``."""
        if len(smoothed) == 0 or len(embeddings) == 0:
            return np.zeros((len(smoothed), len(embeddings)))
        measured = xywh_to_cxcyah(boxes)
        projected_mean, projected_cov = self.kalman.project(mean, covariance)
        bound = None
        for i in (0, 1):
            value = np.square(measured[None, :, i] - projected_mean[:, i, None]) / projected_cov[:, i, i, None]
            bound = value if bound is None else np.maximum(bound, value)
        far = (bound > self.gating_threshold * GATE_BOUND_MARGIN) & np.isfinite(bound)
        candidates = np.flatnonzero(~far)
        rows, cols = np.divmod(candidates, bound.shape[1])
        gating = self.kalman.gating_distance_at(mean, covariance, measured, rows, cols)
        within = ~(gating > self.gating_threshold)
        candidates, rows, cols, gating = candidates[within], rows[within], cols[within], gating[within]
        a = np.asarray(smoothed, dtype=np.float64)
        b = np.asarray(embeddings, dtype=np.float64)
        norms = np.linalg.norm(a, axis=1)[rows] * np.linalg.norm(b, axis=1)[cols]
        dot = np.einsum("ij,ij->i", a[rows], b[cols])
        cosine = np.maximum(0.0, 1.0 - dot / norms)
        cost = np.full(bound.shape, np.inf)
        cost.reshape(-1)[candidates] = self.motion_weight * cosine + (1 - self.motion_weight) * gating
        return cost

    # One frame -------------------------------------------------------------------------------

    def detections_from(self, boxes_xyxy: np.ndarray, scores: np.ndarray, embeddings: np.ndarray) -> list[JDETrack]:
        """Detections from (N, 4) float32 ``[x0, y0, x1, y1]`` boxes (their width and height taken
        in float32, as published), (N,) scores and (N, D) embeddings (normalised here, in one
        batch, as the published STrack normalises each)."""
        boxes = xyxy_to_xywh(np.asarray(boxes_xyxy, dtype=np.float32)).astype(np.float64)
        scores = np.asarray(scores, dtype=np.float32)
        if len(scores) == 0:
            return []
        return [JDETrack(box, score, embedding)
                for box, score, embedding in zip(boxes, scores, first_embeddings(embeddings))]

    def update(self, detections: list[JDETrack]) -> list[JDETrack]:
        """One frame: the detections (from :meth:`detections_from`) -> the confirmed tracked tracks."""
        self.frame_id += 1
        activated, refound, newly_lost, newly_removed = [], [], [], []
        unconfirmed = [t for t in self.tracked if not t.is_activated]
        confirmed = [t for t in self.tracked if t.is_activated]

        # First association: embeddings fused with motion.
        # The pool's states, smoothed embeddings and the detections' boxes and embeddings are
        # stacked once and their matched rows handed on.
        pool = joint(confirmed, self.lost)
        mean, covariance = self._predict(pool)
        smoothed = _stack([t.smooth_embedding for t in pool])
        boxes = _stack([d.box for d in detections])
        embeddings = _stack([d.embedding for d in detections])
        cost = self._gated_embedding_cost(smoothed, embeddings, mean, covariance, boxes)
        matches, unmatched_pool, unmatched_dets = thresholded_assignment(cost, self.embedding_match_thresh)
        rows, cols = matches[:, 0], matches[:, 1]
        matched = [pool[t] for t in rows.tolist()]
        refind = [track.state != TrackState.TRACKED for track in matched]
        self._correct(matched, [detections[d] for d in cols.tolist()], refind, mean=mean[rows],
                      covariance=covariance[rows], smoothed=smoothed[rows] if len(rows) else None,
                      boxes=boxes[cols] if len(cols) else None, embeddings=embeddings[cols] if len(cols) else None)
        for track, found_again in zip(matched, refind):
            (refound if found_again else activated).append(track)

        # Second association: IoU of the tracked tracks left.
        detections = [detections[d] for d in unmatched_dets.tolist()]
        remaining = [track for track in (pool[t] for t in unmatched_pool.tolist()) if track.state == TrackState.TRACKED]
        matches, unmatched_remaining, unmatched_dets = thresholded_assignment(
            iou_distance(remaining, detections), self.iou_match_thresh)
        self._correct([remaining[t] for t, _ in matches], [detections[d] for _, d in matches], [False] * len(matches))
        activated.extend(remaining[t] for t, _ in matches)
        for t in unmatched_remaining:
            if remaining[t].state != TrackState.LOST:
                remaining[t].state = TrackState.LOST
                newly_lost.append(remaining[t])

        # Unconfirmed tracks.
        detections = [detections[d] for d in unmatched_dets]
        matches, unmatched_unconfirmed, unmatched_dets = thresholded_assignment(
            iou_distance(unconfirmed, detections), self.unconfirmed_match_thresh)
        self._correct([unconfirmed[t] for t, _ in matches], [detections[d] for _, d in matches],
                      [False] * len(matches))
        activated.extend(unconfirmed[t] for t, _ in matches)
        for t in unmatched_unconfirmed:
            unconfirmed[t].state = TrackState.REMOVED
            newly_removed.append(unconfirmed[t])

        # New tracks.
        new = [detections[d] for d in unmatched_dets if not detections[d].score < self.det_thresh]
        self._activate(new)
        activated.extend(new)

        self.tracked, self.lost = end_of_frame(
            self.tracked, self.lost, self.removed_ids, frame_id=self.frame_id, max_time_lost=self.max_time_lost,
            duplicate_iou_distance=self.duplicate_iou_distance, activated=activated, refound=refound,
            newly_lost=newly_lost, newly_removed=newly_removed)
        return [t for t in self.tracked if t.is_activated]
