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

Each track's Kalman state, box and embeddings live in the rows of stacked arrays
(:class:`TrackArrays`; a track is its row there, ``slot``), so that a frame predicts all the pool's
tracks in one batch, gates and costs them from the same stacked rows, corrects all the matched
tracks of a step in one batch and writes the rows back by index; a frame's detections stay stacked
too (:class:`JDEDetections`), and objects are made only for the tracks started. Boxes, scores and
identities are the one-by-one values (every operation is row by row: a batch's row is that row
alone, tested); the normalised embeddings differ from the one-vector norms by float32 rounding only
(the batched norm sums in another order).

The first association's cost is computed only for the pairs that the gate may let through
(:func:`gate_candidates`: a band around each track's centre, found on the detections sorted by
``cx``), from one projection of the pool that the corrections reuse, and its assignment is made
from those pairs (:func:`~pytracking.libs.assignment.thresholded_assignment_of_pairs`: an evident
answer, each track and each detection with at most one cost within the limit, without the solver
or the whole matrix); a stage with no track or no detection left is skipped. All of it gives the
straightforward object-by-object update's tracks bit for bit (``test_fairmot_track_arrays.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from ltr.data.boxes import cxcyah_to_xywh, xywh_to_cxcyah, xyxy_to_xywh
from pytracking.libs.assignment import thresholded_assignment, thresholded_assignment_of_pairs
from pytracking.libs.kalman_filter import CHI2INV95, KalmanFilter, bytetrack_kalman_filter
from pytracking.tracker.track_lists import TrackState, box_iou_distance, end_of_frame, joint

TRACKED = TrackState.TRACKED


def row_norms(vectors: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """``np.linalg.norm(vectors, axis=1, keepdims=keepdims)`` of a real (N, D) array: its very
    operations (``sqrt(add.reduce(x * x, axis=1))``) without its checks, the same values."""
    return np.sqrt(np.add.reduce(vectors * vectors, axis=1, keepdims=keepdims))


def normalised_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row of (N, D) ``vectors`` divided by its L2 norm, in float32: the published
    ``feat /= np.linalg.norm(feat)``, one frame's rows in one batch (the batched norm sums in
    another order than the one-vector ``np.linalg.norm``: equal to rounding)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / row_norms(vectors, keepdims=True)


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
# without computing the distance (see gate_candidates).
GATE_BOUND_MARGIN = 1.01


class TrackArrays:
    """The Kalman states, boxes and embeddings of one sequence's live tracks, stacked: row
    ``slot`` of ``mean`` (C, 8), ``covariance`` (C, 8, 8), ``box`` (C, 4, ``[x, y, w, h]`` of the
    state, stored after every Kalman step), ``embedding`` and ``smooth`` (C, D) float32 belongs
    to the track ``owner[slot]``. A frame reads and writes the rows of many tracks at once by
    index. A track that leaves the association (:meth:`release_all_but`) takes copies of its rows
    with it and its slot is used again; the arrays grow by doubling."""

    def __init__(self, state_dim: int, measure_dim: int):
        self.mean = np.zeros((0, state_dim))
        self.covariance = np.zeros((0, state_dim, state_dim))
        self.box = np.zeros((0, measure_dim))
        self.embedding = np.zeros((0, 0), dtype=np.float32)
        self.smooth = np.zeros((0, 0), dtype=np.float32)
        self.owner: list[JDETrack | None] = []
        self._free: list[int] = []  # a stack: the lowest free slot last
        self._in_use: set[int] = set()

    def allocate(self, tracks: list[JDETrack], embedding_dim: int) -> np.ndarray:
        """A slot for each track (which then reads its values there); returns them, (N,)."""
        self.check_embedding_size(embedding_dim)
        if len(self._free) < len(tracks):
            self._grow(len(tracks) - len(self._free), embedding_dim)
        slots = [self._free.pop() for _ in tracks]
        for track, slot in zip(tracks, slots):
            self.owner[slot] = track
            track.slot, track._arrays = slot, self
        self._in_use.update(slots)
        return np.array(slots, dtype=np.intp)

    def check_embedding_size(self, embedding_dim: int) -> None:
        """One embedding size per sequence (the arrays hold the first one's)."""
        if len(self.owner) and embedding_dim != self.embedding.shape[1]:
            raise ValueError(f"FairMOT association: detections with {embedding_dim}-value embeddings after "
                             f"{self.embedding.shape[1]}-value ones in one sequence; give one size throughout")

    def _grow(self, needed: int, embedding_dim: int) -> None:
        old = len(self.owner)
        capacity = max(64, 2 * old, old + needed)

        def grown(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
            bigger = np.zeros((capacity, *shape), dtype=array.dtype)
            if old:
                bigger[:old] = array
            return bigger

        self.mean = grown(self.mean, self.mean.shape[1:])
        self.covariance = grown(self.covariance, self.covariance.shape[1:])
        self.box = grown(self.box, self.box.shape[1:])
        self.embedding = grown(self.embedding, (embedding_dim,))
        self.smooth = grown(self.smooth, (embedding_dim,))
        self.owner.extend([None] * (capacity - old))
        self._free[:0] = range(capacity - 1, old - 1, -1)

    def write_state(self, slots: np.ndarray, mean: np.ndarray, covariance: np.ndarray) -> None:
        """The rows' Kalman states, and their boxes from them (``cxcyah_to_xywh(mean[:4])``)."""
        self.mean[slots] = mean
        self.covariance[slots] = covariance
        self.box[slots] = cxcyah_to_xywh(mean[:, :4])

    def release_all_but(self, live: set[int]) -> None:
        """The tracks of the slots in use that are not ``live`` leave: each keeps copies of its
        rows, and the slots are freed."""
        for slot in self._in_use - live:
            track = self.owner[slot]
            track._detach()
            self.owner[slot] = None
            self._free.append(slot)
        self._in_use &= live


def slots_of(tracks: Sequence[JDETrack]) -> np.ndarray:
    """The tracks' rows in their :class:`TrackArrays`, (N,)."""
    return np.fromiter((track.slot for track in tracks), dtype=np.intp, count=len(tracks))


class JDETrack:
    """A detection with its embedding, and once activated a track (the published STrack).

    ``box`` ([x, y, w, h], float64) is the detection's until the track is activated and then the
    Kalman state's (``cxcyah_to_xywh(mean[:4])``), stored after every step of the filter rather
    than recomputed at every read. A track's ``box``, ``mean``, ``covariance``, ``embedding`` and
    ``smooth_embedding`` are read from its row of the association's :class:`TrackArrays` while it
    is there (``slot``), from its own copies once it has left; each read is a copy."""

    __slots__ = ("score", "state", "is_activated", "track_id", "frame_id", "start_frame", "tracklet_len", "slot",
                 "_arrays", "_box", "_mean", "_covariance", "_embedding", "_smooth")

    def __init__(self, box: np.ndarray, score: np.float32, embedding: np.ndarray):
        """``embedding``: as the published STrack holds it once made (:func:`first_embeddings`)."""
        self._box = np.asarray(box, dtype=np.float64)  # [x, y, w, h]
        self.score = score
        self._mean: np.ndarray | None = None
        self._covariance: np.ndarray | None = None
        self._embedding = embedding
        self._smooth = embedding
        self.state = TrackState.NEW
        self.is_activated = False
        self.track_id = 0
        self.frame_id = 0
        self.start_frame = 0
        self.tracklet_len = 0
        self.slot = -1
        self._arrays: TrackArrays | None = None

    def _detach(self) -> None:
        arrays, slot = self._arrays, self.slot
        self._box, self._mean = arrays.box[slot].copy(), arrays.mean[slot].copy()
        self._covariance = arrays.covariance[slot].copy()
        self._embedding, self._smooth = arrays.embedding[slot].copy(), arrays.smooth[slot].copy()
        self._arrays, self.slot = None, -1

    @property
    def box(self) -> np.ndarray:
        return self._box.copy() if self._arrays is None else self._arrays.box[self.slot].copy()

    @property
    def mean(self) -> np.ndarray | None:
        if self._arrays is None:
            return None if self._mean is None else self._mean.copy()
        return self._arrays.mean[self.slot].copy()

    @property
    def covariance(self) -> np.ndarray | None:
        if self._arrays is None:
            return None if self._covariance is None else self._covariance.copy()
        return self._arrays.covariance[self.slot].copy()

    @property
    def embedding(self) -> np.ndarray:
        return self._embedding.copy() if self._arrays is None else self._arrays.embedding[self.slot].copy()

    @property
    def smooth_embedding(self) -> np.ndarray:
        return self._smooth.copy() if self._arrays is None else self._arrays.smooth[self.slot].copy()


class JDEDetections:
    """A frame's detections, stacked: ``boxes`` (M, 4) ``[x, y, w, h]`` float64, ``scores`` (M,)
    float32, ``embeddings`` (M, D) float32 as the published STrack holds them once made
    (:func:`first_embeddings`). A sequence of :class:`JDETrack` (one made at each read)."""

    __slots__ = ("boxes", "scores", "embeddings")

    def __init__(self, boxes: np.ndarray, scores: np.ndarray, embeddings: np.ndarray):
        self.boxes, self.scores, self.embeddings = boxes, scores, embeddings

    @classmethod
    def of(cls, detections: Sequence[JDETrack]) -> JDEDetections:
        """The detections of a list of :class:`JDETrack` detections (not yet tracks), stacked."""
        if not detections:
            return cls(np.zeros((0, 4)), np.zeros(0, dtype=np.float32), np.zeros((0, 0), dtype=np.float32))
        return cls(np.array([d.box for d in detections], dtype=np.float64),
                   np.array([d.score for d in detections], dtype=np.float32),
                   np.array([d.embedding for d in detections], dtype=np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, index: int | slice) -> JDETrack | list[JDETrack]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return JDETrack(self.boxes[index], self.scores[index], self.embeddings[index])

    def __iter__(self) -> Iterator[JDETrack]:
        return (self[i] for i in range(len(self)))


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


def embedding_distance(tracks: Sequence[JDETrack], detections: Sequence[JDETrack]) -> np.ndarray:
    """Cosine distance between the tracks' smoothed embeddings and the detections' embeddings,
    clamped at 0 (the published ``embedding_distance``)."""
    return cosine_distance(_stack([t.smooth_embedding for t in tracks]), _stack([d.embedding for d in detections]))


def _stack(rows: list[np.ndarray]) -> np.ndarray:
    return np.array(rows) if rows else np.zeros((0, 0))


def _centre_bound(measured: np.ndarray, projected_mean: np.ndarray, projected_cov: np.ndarray) -> np.ndarray:
    """The lower bound ``max(d_cx^2 / S_cx, d_cy^2 / S_cy)`` of the squared Mahalanobis distance
    (``d' S^-1 d >= d_i^2 / S_ii``, Cauchy-Schwarz) for every pair, (N, M)."""
    bound = None
    for i in (0, 1):
        value = np.square(measured[None, :, i] - projected_mean[:, i, None]) / projected_cov[:, i, i, None]
        bound = value if bound is None else np.maximum(bound, value)
    return bound


def gate_candidates(projected_mean: np.ndarray, projected_cov: np.ndarray, measured: np.ndarray,
                    gate: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (track row, measurement row), each once, in ascending track order, among which are
    all the pairs whose squared Mahalanobis distance (:meth:`KalmanFilter.gating_distance`) is
    not above ``gate``; the caller computes the distance of these only. ``projected_mean`` (N, 4)
    and ``projected_cov`` (N, 4, 4): the tracks' projected measurements
    (:meth:`KalmanFilter.project`); ``measured`` (M, 4).

    The distance is at least ``d_cx^2 / S_cx`` (``d' S^-1 d >= d_i^2 / S_ii``, Cauchy-Schwarz),
    so a pair within the gate has ``|d_cx| <= sqrt(gate * S_cx)``: each track's band of that
    half-width around its ``cx``, widened by :data:`GATE_BOUND_MARGIN` (1 %, far beyond the
    rounding of either side) and by four spacings of its ends' floats, holds all of them. With
    the measurements sorted by ``cx``, a band is two binary searches.

    When a value is not finite (the distance may then be NaN, which the gate lets through, or
    the bound not finite), all the pairs but those whose centre bound (:func:`_centre_bound`) is
    finite and above the gate by the margin."""
    limit = gate * GATE_BOUND_MARGIN
    count = len(projected_mean)
    x = projected_mean[:, 0]
    radius = np.sqrt(limit * projected_cov[:, 0, 0])
    # One sum is finite only when all its terms are (an overflow only sends a finite case here).
    total = (np.add.reduce(measured, axis=None) + np.add.reduce(projected_mean, axis=None)
             + np.add.reduce(projected_cov, axis=None) + np.add.reduce(radius))
    if not math.isfinite(total):
        bound = _centre_bound(measured, projected_mean, projected_cov)
        return np.divmod(np.flatnonzero(~((bound > limit) & np.isfinite(bound))), len(measured))
    radius = radius + 4 * np.spacing(np.abs(x) + radius)
    order = measured[:, 0].argsort(kind="stable")
    sorted_x = measured[order, 0]
    low = sorted_x.searchsorted(x - radius, side="left")
    counts = (sorted_x.searchsorted(x + radius, side="right") - low).clip(0)
    rows = np.arange(count).repeat(counts)
    # The k-th pair of row r is the measurement low[r] + k - (pairs before row r) in cx order.
    before = counts.cumsum() - counts
    cols = order[np.arange(len(rows)) - (before - low).repeat(counts)]
    return rows, cols


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
        self.kalman: KalmanFilter = bytetrack_kalman_filter()
        self.arrays = TrackArrays(self.kalman.dim, self.kalman.ndim)
        self.tracked: list[JDETrack] = []
        self.lost: list[JDETrack] = []
        self.removed_ids: set[int] = set()
        self.frame_id = 0
        self._next_id = 1

    # Costs (also for single tracks and detections) ------------------------------------------

    def fuse_motion(self, cost: np.ndarray, tracks: Sequence[JDETrack], detections: Sequence[JDETrack]) -> np.ndarray:
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

    def _gated_pairs(self, smoothed: np.ndarray, embeddings: np.ndarray, projected_mean: np.ndarray,
                     projected_cov: np.ndarray, measured: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The finite part of :meth:`_fuse` of :func:`cosine_distance`: the pairs (rows, cols)
        within the gate and their costs, from the tracks' projected measurements and the
        detections' ``[cx, cy, a, h]``; every other pair costs infinity whatever its cosine
        distance (``0.98 * inf + 0.02 * g`` is infinite).

        - :func:`gate_candidates` rules out the pairs that are far on the centre alone;
        - the others get the gate's very values
          (:meth:`~pytracking.libs.kalman_filter.KalmanFilter.gating_distance_of_pairs`);
        - per pair within the gate the same steps as :func:`cosine_distance` (float64 dot
          product, the norms' product, ``1 - dot / norms`` clamped at 0); the dot product is
          summed by numpy's einsum rather than torch's matrix product (no threads, the frame's
          few hundred pairs), which may differ from it in the last bit, as both differ from the
          published ``cdist``."""
        if len(smoothed) == 0 or len(embeddings) == 0:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros(0)
        rows, cols = gate_candidates(projected_mean, projected_cov, measured, self.gating_threshold)
        cholesky = np.linalg.cholesky(projected_cov)
        gating = self.kalman.gating_distance_of_pairs(projected_mean, cholesky, measured, rows, cols)
        within = ~(gating > self.gating_threshold)
        rows, cols, gating = rows[within], cols[within], gating[within]
        a = np.asarray(smoothed, dtype=np.float64)
        b = np.asarray(embeddings, dtype=np.float64)
        norms = row_norms(a)[rows] * row_norms(b)[cols]
        dot = np.einsum("ij,ij->i", a[rows], b[cols])
        cosine = np.maximum(0.0, 1.0 - dot / norms)
        return rows, cols, self.motion_weight * cosine + (1 - self.motion_weight) * gating

    # Track life ------------------------------------------------------------------------------

    def _activate(self, detections: JDEDetections, measured: np.ndarray, chosen: np.ndarray) -> list[JDETrack]:
        """The published ``activate`` of the ``chosen`` detections, in order (identities in that
        order): new tracks in new rows."""
        if len(chosen) == 0:
            return []
        tracks = [JDETrack(box, score, embedding) for box, score, embedding in
                  zip(detections.boxes[chosen], detections.scores[chosen], detections.embeddings[chosen])]
        slots = self.arrays.allocate(tracks, detections.embeddings.shape[1])
        mean, covariance = self.kalman.initiate(measured[chosen])
        self.arrays.write_state(slots, mean, covariance)
        self.arrays.embedding[slots] = detections.embeddings[chosen]
        self.arrays.smooth[slots] = detections.embeddings[chosen]
        confirmed = self.frame_id == 1
        for track in tracks:
            track._embedding = track._smooth = None  # read from the arrays now
            track.track_id = self._next_id
            self._next_id += 1
            track.tracklet_len = 0
            track.state = TRACKED
            track.is_activated = confirmed
            track.frame_id = self.frame_id
            track.start_frame = self.frame_id
        return tracks

    def _correct(self, tracks: list[JDETrack], slots: np.ndarray, detections: JDEDetections, measured: np.ndarray,
                 chosen: np.ndarray, refound: list[bool], mean: np.ndarray, covariance: np.ndarray,
                 projected: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """``update`` (refound False: score and tracklet length too) or ``re_activate`` of each
        track (rows ``slots``, states ``mean``, ``covariance``) by the detection ``chosen`` of the
        same place; one batched Kalman correction and one batched embedding update for all (each
        track's is its own). ``projected``: the states' projection when made before (rows of one
        made for the gate: the same numbers)."""
        if not tracks:
            return
        if projected is None:
            projected = self.kalman.project(mean, covariance)
        mean, covariance = self.kalman.update_projected(mean, covariance, measured[chosen], *projected)
        arrays = self.arrays
        arrays.write_state(slots, mean, covariance)
        current, smoothed = smoothed_embeddings(arrays.smooth[slots], detections.embeddings[chosen],
                                                self.embedding_momentum)
        arrays.embedding[slots] = current
        arrays.smooth[slots] = smoothed
        frame_id = self.frame_id
        for track, score, found_again in zip(tracks, detections.scores[chosen], refound):
            track.state = TRACKED
            track.is_activated = True
            track.frame_id = frame_id
            if found_again:
                track.tracklet_len = 0
            else:
                track.tracklet_len += 1
                track.score = score

    def _predict(self, tracks: list[JDETrack], slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each track one frame ahead (a lost track's height velocity zeroed first), in one batch;
        returns the predicted states stacked, (N, 8) and (N, 8, 8). They are not written to the
        tracks' rows here: :meth:`update` writes those of the tracks left unmatched by the first
        association (the matched ones get their corrected states instead)."""
        if not tracks:
            return np.zeros((0, self.kalman.dim)), np.zeros((0, self.kalman.dim, self.kalman.dim))
        mean = self.arrays.mean[slots]
        covariance = self.arrays.covariance[slots]
        mean[np.fromiter((t.state != TRACKED for t in tracks), dtype=bool, count=len(tracks)), 7] = 0.0
        return self.kalman.predict(mean, covariance)

    def _boxes_of(self, tracks: list[JDETrack]) -> np.ndarray:
        return self.arrays.box[slots_of(tracks)]

    # One frame -------------------------------------------------------------------------------

    def detections_from(self, boxes_xyxy: np.ndarray, scores: np.ndarray, embeddings: np.ndarray) -> JDEDetections:
        """Detections from (N, 4) float32 ``[x0, y0, x1, y1]`` boxes (their width and height taken
        in float32, as published), (N,) scores and (N, D) embeddings (normalised here, in one
        batch, as the published STrack normalises each)."""
        scores = np.asarray(scores, dtype=np.float32).reshape(-1)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if len(scores) == 0:
            dim = embeddings.shape[1] if embeddings.ndim == 2 else 0
            return JDEDetections(np.zeros((0, 4)), scores, np.zeros((0, dim), dtype=np.float32))
        boxes = xyxy_to_xywh(np.asarray(boxes_xyxy, dtype=np.float32)).astype(np.float64)
        return JDEDetections(boxes, scores, first_embeddings(embeddings))

    def update(self, detections: JDEDetections | Sequence[JDETrack]) -> list[JDETrack]:
        """One frame: the detections (from :meth:`detections_from`, or a list of them) -> the
        confirmed tracked tracks."""
        if not isinstance(detections, JDEDetections):
            detections = JDEDetections.of(detections)
        if len(detections):
            self.arrays.check_embedding_size(detections.embeddings.shape[1])
        self.frame_id += 1
        arrays = self.arrays
        activated, refound, newly_lost, newly_removed = [], [], [], []
        unconfirmed = [t for t in self.tracked if not t.is_activated]
        confirmed = [t for t in self.tracked if t.is_activated]
        boxes = detections.boxes
        measured = xywh_to_cxcyah(boxes)

        # First association: embeddings fused with motion, on the pool's predicted rows.
        pool = joint(confirmed, self.lost)
        pool_slots = slots_of(pool)
        mean, covariance = self._predict(pool, pool_slots)
        projected_mean, projected_cov = self.kalman.project(mean, covariance)
        matches, unmatched_pool, unmatched_dets = thresholded_assignment_of_pairs(
            *self._gated_pairs(arrays.smooth[pool_slots], detections.embeddings, projected_mean, projected_cov,
                               measured), (len(pool), len(detections)), self.embedding_match_thresh)
        rows, cols = matches[:, 0], matches[:, 1]
        if len(unmatched_pool):  # their predicted states (the IoU step reads their boxes)
            self.arrays.write_state(pool_slots[unmatched_pool], mean[unmatched_pool], covariance[unmatched_pool])
        if len(rows) == len(pool):  # every track matched: the rows are all, in order (no copies needed)
            matched, rows = pool, slice(None)
        else:
            matched = [pool[t] for t in rows.tolist()]
        refind = [track.state != TRACKED for track in matched]
        self._correct(matched, pool_slots[rows], detections, measured, cols, refind, mean[rows], covariance[rows],
                      (projected_mean[rows], projected_cov[rows]))
        for track, found_again in zip(matched, refind):
            (refound if found_again else activated).append(track)

        # Second association: IoU of the tracked tracks left (their predicted rows). (An empty side
        # matches nothing: the assignment is skipped.)
        remaining = [t for t in unmatched_pool.tolist() if pool[t].state == TRACKED]
        if remaining and len(unmatched_dets):
            remaining = np.array(remaining, dtype=np.intp)
            matches, unmatched_remaining, unmatched_dets_2 = thresholded_assignment(
                box_iou_distance(arrays.box[pool_slots[remaining]], boxes[unmatched_dets]), self.iou_match_thresh)
            rows, cols = remaining[matches[:, 0]], unmatched_dets[matches[:, 1]]
            matched = [pool[t] for t in rows.tolist()]
            self._correct(matched, pool_slots[rows], detections, measured, cols, [False] * len(matched),
                          mean[rows], covariance[rows], (projected_mean[rows], projected_cov[rows]))
            activated.extend(matched)
            remaining = remaining[unmatched_remaining].tolist()
            unmatched_dets = unmatched_dets[unmatched_dets_2]
        for t in remaining:
            if pool[t].state != TrackState.LOST:
                pool[t].state = TrackState.LOST
                newly_lost.append(pool[t])

        # Unconfirmed tracks (not predicted).
        unmatched_unconfirmed = range(len(unconfirmed))
        if unconfirmed and len(unmatched_dets):
            unconfirmed_slots = slots_of(unconfirmed)
            matches, unmatched_unconfirmed, unmatched_dets_3 = thresholded_assignment(
                box_iou_distance(arrays.box[unconfirmed_slots], boxes[unmatched_dets]), self.unconfirmed_match_thresh)
            slots, cols = unconfirmed_slots[matches[:, 0]], unmatched_dets[matches[:, 1]]
            matched = [unconfirmed[t] for t in matches[:, 0].tolist()]
            self._correct(matched, slots, detections, measured, cols, [False] * len(matched), arrays.mean[slots],
                          arrays.covariance[slots])
            activated.extend(matched)
            unmatched_unconfirmed = unmatched_unconfirmed.tolist()
            unmatched_dets = unmatched_dets[unmatched_dets_3]
        for t in unmatched_unconfirmed:
            unconfirmed[t].state = TrackState.REMOVED
            newly_removed.append(unconfirmed[t])

        # New tracks.
        activated.extend(self._activate(
            detections, measured, unmatched_dets[~(detections.scores[unmatched_dets] < self.det_thresh)]))

        self.tracked, self.lost = end_of_frame(
            self.tracked, self.lost, self.removed_ids, frame_id=self.frame_id, max_time_lost=self.max_time_lost,
            duplicate_iou_distance=self.duplicate_iou_distance, activated=activated, refound=refound,
            newly_lost=newly_lost, newly_removed=newly_removed, boxes_of=self._boxes_of)
        live = {t.slot for t in self.tracked}
        live.update(t.slot for t in self.lost)
        arrays.release_all_but(live)
        return [t for t in self.tracked if t.is_activated]
