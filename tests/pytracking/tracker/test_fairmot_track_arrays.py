"""FairMOT's association on stacked rows (``TrackArrays``: batched Kalman steps, the band-searched
gate, the evident assignment from the gated pairs, skipped empty stages) gives what the
straightforward one gives: the published ``JDETracker.update`` written object by object here
(each track's own Kalman step as a batch of one, the whole fused cost matrix through
``cosine_distance`` and ``fuse_motion``'s gate, the solver for every assignment, the track
lists' rules on the objects). Every track's identity, box, score, state, Kalman state and
embeddings are compared bit for bit, frame by frame, on scenes with ties, frames without
detections, a first frame without tracks, all detections below the threshold, tracks lost and
found again, unconfirmed tracks removed and lost tracks forgotten."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ltr.data.boxes import cxcyah_to_xywh, xywh_to_cxcyah, xyxy_to_xywh
from pytracking.libs.assignment import thresholded_assignment
from pytracking.libs.kalman_filter import bytetrack_kalman_filter
from pytracking.tracker.fairmot.association import (JDEAssociation, JDEDetections, cosine_distance, first_embeddings,
                                                    gate_candidates, row_norms, smoothed_embeddings)
from pytracking.tracker.track_lists import TrackState, end_of_frame, iou_distance, joint


class PlainTrack:
    def __init__(self, box, score, embedding):
        self.box, self.score = box, score
        self.embedding = self.smooth_embedding = embedding
        self.mean = self.covariance = None
        self.state, self.is_activated = TrackState.NEW, False
        self.track_id = self.frame_id = self.start_frame = self.tracklet_len = 0


class PlainJDE:
    """The published ``JDETracker.update`` object by object; ``events`` counts what happened."""

    def __init__(self, det_thresh: float, track_buffer: int):
        self.det_thresh, self.max_time_lost = det_thresh, track_buffer
        self.kalman = bytetrack_kalman_filter()
        self.gate = JDEAssociation(det_thresh=det_thresh)  # its fuse_motion: the whole gate matrix
        self.tracked, self.lost, self.removed_ids = [], [], set()
        self.frame_id, self.next_id = 0, 1
        self.events = Counter()

    def _state(self, track, mean, covariance):
        track.mean, track.covariance = mean[0], covariance[0]
        track.box = cxcyah_to_xywh(track.mean[:4])

    def _update(self, track, detection, refound):
        self._state(track, *self.kalman.update(track.mean[None], track.covariance[None],
                                               xywh_to_cxcyah(detection.box[None])))
        current, smoothed = smoothed_embeddings(track.smooth_embedding[None], detection.embedding[None], 0.9)
        track.embedding, track.smooth_embedding = current[0], smoothed[0]
        track.state, track.is_activated, track.frame_id = TrackState.TRACKED, True, self.frame_id
        if refound:
            track.tracklet_len = 0
        else:
            track.tracklet_len += 1
            track.score = detection.score

    def update(self, boxes_xyxy, scores, embeddings):
        self.frame_id += 1
        boxes = xyxy_to_xywh(np.asarray(boxes_xyxy, dtype=np.float32)).astype(np.float64)
        detections = [PlainTrack(boxes[i], np.float32(scores[i]), first_embeddings(embeddings[i:i + 1])[0])
                      for i in range(len(scores))]
        activated, refound, newly_lost, newly_removed = [], [], [], []
        unconfirmed = [t for t in self.tracked if not t.is_activated]
        pool = joint([t for t in self.tracked if t.is_activated], self.lost)
        for track in pool:
            mean = track.mean.copy()
            if track.state != TrackState.TRACKED:
                mean[7] = 0.0
            self._state(track, *self.kalman.predict(mean[None], track.covariance[None]))
        cost = np.zeros((len(pool), len(detections)))
        if pool and detections:
            cost = self.gate.fuse_motion(cosine_distance(np.array([t.smooth_embedding for t in pool]),
                                                         np.array([d.embedding for d in detections])), pool, detections)
        matches, u_pool, u_det = thresholded_assignment(cost, 0.4, evident_shortcut=False)
        for t, d in matches:
            found_again = pool[t].state != TrackState.TRACKED
            self._update(pool[t], detections[d], found_again)
            (refound if found_again else activated).append(pool[t])
            self.events["refound" if found_again else "embedding match"] += 1
        detections = [detections[d] for d in u_det]
        remaining = [pool[t] for t in u_pool if pool[t].state == TrackState.TRACKED]
        matches, u_remaining, u_det = thresholded_assignment(iou_distance(remaining, detections), 0.5,
                                                             evident_shortcut=False)
        for t, d in matches:
            self._update(remaining[t], detections[d], False)
            activated.append(remaining[t])
            self.events["iou match"] += 1
        for t in u_remaining:
            remaining[t].state = TrackState.LOST
            newly_lost.append(remaining[t])
            self.events["lost"] += 1
        detections = [detections[d] for d in u_det]
        matches, u_unconfirmed, u_det = thresholded_assignment(iou_distance(unconfirmed, detections), 0.7,
                                                               evident_shortcut=False)
        for t, d in matches:
            self._update(unconfirmed[t], detections[d], False)
            activated.append(unconfirmed[t])
            self.events["confirmed"] += 1
        for t in u_unconfirmed:
            unconfirmed[t].state = TrackState.REMOVED
            newly_removed.append(unconfirmed[t])
            self.events["unconfirmed removed"] += 1
        for d in u_det:
            track = detections[d]
            if track.score < self.det_thresh:
                self.events["below det_thresh"] += 1
                continue
            self._state(track, *self.kalman.initiate(xywh_to_cxcyah(track.box[None])))
            track.track_id, self.next_id = self.next_id, self.next_id + 1
            track.state, track.is_activated = TrackState.TRACKED, self.frame_id == 1
            track.frame_id = track.start_frame = self.frame_id
            activated.append(track)
        self.events["forgotten"] += sum(self.frame_id - t.frame_id > self.max_time_lost for t in self.lost)
        self.tracked, self.lost = end_of_frame(
            self.tracked, self.lost, self.removed_ids, frame_id=self.frame_id, max_time_lost=self.max_time_lost,
            duplicate_iou_distance=0.15, activated=activated, refound=refound, newly_lost=newly_lost,
            newly_removed=newly_removed)
        return [t for t in self.tracked if t.is_activated]


def snapshot(out, tracked, lost):
    return [(t.track_id, t.box.tobytes(), float(t.score), t.state.name, t.is_activated, t.frame_id, t.start_frame,
             t.tracklet_len, t.mean.tobytes(), t.covariance.tobytes(), t.embedding.tobytes(),
             t.smooth_embedding.tobytes()) for t in [*out, *tracked, *lost]]


def scene(seed: int, *, ties: bool, frames: int = 26, people: int = 22, dim: int = 16):
    """A crowd (two people almost on top of each other and alike, people leaving and coming
    back, three leaving for good); frames 9 and 10 without detections; seeds divisible by 3 start with an empty frame,
    seeds 1 mod 4 have a frame whose scores are all below the threshold; ``ties``: whole-pixel
    positions and noiseless embeddings (equal costs)."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 400, (people, 2))
    start[1] = start[0] + 3.0
    velocity = rng.uniform(-4, 4, (people, 2))
    size = np.column_stack([rng.uniform(20, 40, people), rng.uniform(60, 110, people)])
    looks = rng.normal(size=(people, dim)).astype(np.float32)
    looks[1] = looks[0] + rng.normal(0, 0.2, dim).astype(np.float32)
    for frame in range(frames):
        present = rng.random(people) > 0.2
        present[people - 3:] &= frame < 12  # three leave for good
        if frame in (9, 10) or (frame == 0 and seed % 3 == 0):
            present[:] = False
        xy = start + frame * velocity + (0.0 if ties else rng.normal(0, 1.0, (people, 2)))
        xy = np.round(xy) if ties else xy
        xyxy = np.concatenate([xy, xy + size], axis=1)[present].astype(np.float32)
        scores = rng.uniform(0.3, 1.0, int(present.sum())).astype(np.float32)
        if seed % 4 == 1 and frame == 5:
            scores[:] = 0.2
        noise = 0.0 if ties else rng.normal(0, 0.1, (int(present.sum()), dim))
        yield xyxy, scores, (looks[present] + noise).astype(np.float32)


@pytest.mark.parametrize("ties", [False, True])
def test_stacked_association_is_the_object_by_object_one(ties):
    events = Counter()
    for seed in range(6):
        ours, plain = JDEAssociation(det_thresh=0.4, track_buffer=6), PlainJDE(0.4, 6)
        for frame, (xyxy, scores, embeddings) in enumerate(scene(seed, ties=ties)):
            out = ours.update(ours.detections_from(xyxy, scores, embeddings))
            expected = plain.update(xyxy, scores, embeddings)
            assert snapshot(out, ours.tracked, ours.lost) == snapshot(expected, plain.tracked, plain.lost), \
                f"seed {seed}, frame {frame}"
        events.update(plain.events)
    # The scenes go through every path.
    for event in ("embedding match", "refound", "iou match", "lost", "confirmed", "unconfirmed removed",
                  "below det_thresh", "forgotten"):
        assert events[event] > 0, event


def test_rows_are_reused_and_a_track_leaving_keeps_its_values():
    assoc = JDEAssociation(det_thresh=0.4, track_buffer=1)
    rng = np.random.default_rng(4)
    embeddings = rng.normal(size=(80, 8)).astype(np.float32)
    xy = np.column_stack([np.arange(80) * 60.0, np.zeros(80)])
    xyxy = np.concatenate([xy, xy + [40, 100]], axis=1).astype(np.float32)
    assoc.update(assoc.detections_from(xyxy[:70], np.full(70, 0.9), embeddings[:70]))  # grows past 64 rows
    first = list(assoc.tracked)
    assert len(first) == 70 and len({t.slot for t in first}) == 70
    assoc.update(assoc.detections_from(xyxy[:10], np.full(10, 0.9), embeddings[:10]))
    gone = first[10:]
    values = [(t.box, t.mean, t.covariance, t.smooth_embedding) for t in gone]
    for _ in range(3):  # lost, then forgotten (track_buffer 1), then out of the lost list
        assoc.update(assoc.detections_from(xyxy[:10], np.full(10, 0.9), embeddings[:10]))
    assert [t.track_id for t in assoc.tracked] == list(range(1, 11)) and assoc.lost == []
    for track, (box, mean, covariance, smooth) in zip(gone, values):
        assert track.slot == -1 and track.state == TrackState.REMOVED
        # Its last values: the prediction of the frame it was lost in and then forgotten.
        assert np.isfinite(track.mean).all() and track.smooth_embedding.tobytes() == smooth.tobytes()
        np.testing.assert_array_equal(track.box, cxcyah_to_xywh(track.mean[:4]))
    # Their rows serve new tracks.
    assoc.update(assoc.detections_from(xyxy, np.full(80, 0.9), embeddings))
    slots = [t.slot for t in assoc.tracked]
    assert len(set(slots)) == len(slots) == 80 and max(slots) < len(assoc.arrays.owner)
    assert all(assoc.arrays.owner[t.slot] is t for t in assoc.tracked)
    with pytest.raises(ValueError, match="embeddings"):
        assoc.update(assoc.detections_from(xyxy[:2] + 5000, np.full(2, 0.9), rng.normal(size=(2, 4))))


def test_detections_stay_stacked_and_read_as_tracks():
    assoc = JDEAssociation(det_thresh=0.4)
    xyxy = np.array([[0, 0, 10, 20], [5, 5, 25, 45]], dtype=np.float32)
    found = assoc.detections_from(xyxy, np.array([0.9, 0.5]), np.array([[3, 4], [1, 0]], dtype=np.float32))
    assert isinstance(found, JDEDetections) and len(found) == 2
    np.testing.assert_array_equal(found[1].box, [5, 5, 20, 40])
    np.testing.assert_allclose(found[0].embedding, [0.6, 0.8], atol=1e-7)
    assert [d.score for d in found] == [np.float32(0.9), np.float32(0.5)] and len(found[:1]) == 1
    again = JDEDetections.of(list(found))
    assert again.boxes.tobytes() == found.boxes.tobytes() and again.embeddings.tobytes() == found.embeddings.tobytes()
    empty = assoc.detections_from(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 2)))
    assert len(empty) == 0 and assoc.update(empty) == [] and assoc.update([]) == []
    # A list of detections is taken as the stacked ones.
    fresh = JDEAssociation(det_thresh=0.4)
    assert [t.track_id for t in fresh.update(list(found))] == [1, 2]


def test_gate_band_holds_every_pair_within_the_gate():
    kf = bytetrack_kalman_filter()
    rng = np.random.default_rng(9)
    candidates = pairs = 0
    for trial in range(20):
        n, m = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        z = np.column_stack([rng.uniform(0, 300, n), rng.uniform(0, 300, n), rng.uniform(0.3, 0.6, n),
                             rng.uniform(20, 120, n)])
        mean, covariance = kf.predict(*kf.initiate(z))
        measured = np.column_stack([rng.uniform(0, 300, m), rng.uniform(0, 300, m), rng.uniform(0.3, 0.6, m),
                                    rng.uniform(20, 120, m)])
        if trial % 5 == 4:
            measured[0, 1] = np.nan  # not finite: every pair is a candidate but those far on the centre
        projected_mean, projected_cov = kf.project(mean, covariance)
        rows, cols = gate_candidates(projected_mean, projected_cov, measured, 9.4877)
        assert len(set(zip(rows.tolist(), cols.tolist()))) == len(rows) and (np.diff(rows) >= 0).all()
        with np.errstate(invalid="ignore"):
            whole = kf.gating_distance(mean, covariance, measured)
        within = set(zip(*np.nonzero(~(whole > 9.4877))))
        assert within <= set(zip(rows.tolist(), cols.tolist()))
        candidates += len(rows)
        pairs += n * m
        if trial % 5 == 4:
            assert {(r, 0) for r in range(n)} <= set(zip(rows.tolist(), cols.tolist()))
    assert candidates < pairs / 3  # the band leaves most pairs out


def test_row_norms_are_numpys():
    rng = np.random.default_rng(10)
    for dtype in (np.float32, np.float64):
        x = rng.normal(size=(37, 128)).astype(dtype)
        assert row_norms(x).tobytes() == np.linalg.norm(x, axis=1).tobytes()
        assert row_norms(x, keepdims=True).tobytes() == np.linalg.norm(x, axis=1, keepdims=True).tobytes()
