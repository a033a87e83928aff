"""FairMOT's rules one by one, on hand-made numbers: decoding a hand heatmap, the coordinate
transform, the gate and fuse_motion, the thresholds, the lost-track buffer, duplicates and the
smoothed embedding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ltr.data.fairmot import letterbox
from pytracking.libs.kalman_filter import CHI2INV95
from pytracking.tracker.fairmot.association import JDEAssociation, embedding_distance
from pytracking.tracker.fairmot.decode import (decode_detections, mot_decode, output_to_frame_transform,
                                               to_frame_pixels)
from pytracking.tracker.track_lists import TrackState


def heads(h=8, w=8, dim=4):
    return {"hm": torch.full((1, 1, h, w), -10.0), "wh": torch.zeros(1, 4, h, w), "reg": torch.zeros(1, 2, h, w),
            "id": torch.zeros(1, dim, h, w)}


def test_decode_a_hand_heatmap():
    out = heads()
    logit = lambda p: float(np.log(p / (1 - p)))  # noqa: E731
    out["hm"][0, 0, 2, 3] = logit(0.9)  # a peak
    out["hm"][0, 0, 2, 4] = logit(0.8)  # its neighbour: not a peak
    out["hm"][0, 0, 6, 6] = logit(0.4)  # exactly conf_thres: dropped (strictly above)
    out["hm"][0, 0, 5, 1] = logit(0.5)
    out["wh"][0, :, 2, 3] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    out["reg"][0, :, 2, 3] = torch.tensor([0.25, 0.5])
    out["id"][0, :, 2, 3] = torch.tensor([3.0, 4.0, 0.0, 0.0])
    # Frame 32 x 32, input 32 x 32: output cell = 4 frame pixels.
    found = decode_detections(out, (32, 32), (32, 32), conf_thres=float(np.float32(0.4)), k=500)
    assert len(found) == 2
    np.testing.assert_allclose(found.scores, [0.9, 0.5], atol=1e-6)
    # centre (3.25, 2.5) cells; [cx - 1, cy - 2, cx + 3, cy + 4] = [2.25, 0.5, 6.25, 6.5] cells
    np.testing.assert_allclose(found.boxes[0], [9.0, 2.0, 25.0, 26.0], atol=1e-5)
    np.testing.assert_allclose(found.boxes[1], [4.0, 20.0, 4.0, 20.0], atol=1e-5)  # no size, no offset
    np.testing.assert_allclose(found.embeddings[0], [0.6, 0.8, 0, 0], atol=1e-6)


def test_wh_boxes_and_no_offset_head():
    out = heads()
    out["hm"][0, 0, 4, 4] = 5.0
    out["wh"] = torch.zeros(1, 2, 8, 8)
    out["wh"][0, :, 4, 4] = torch.tensor([2.0, 4.0])
    dets, _ = mot_decode(out["hm"].sigmoid(), out["wh"], None, ltrb=False, k=3)
    # centre (4.5, 4.5) without the offset head; half sizes 1 and 2
    np.testing.assert_allclose(dets[0, 0, :4].numpy(), [3.5, 2.5, 5.5, 6.5])


def test_the_transform_undoes_the_letterbox():
    # 640 x 480 frame into 1088 x 608: scale s = max(1088 / 608 * 480, 640) = 858.95; output 272 x 152.
    transform = output_to_frame_transform((640, 480), (1088, 608))
    s = 1088 / 608 * 480
    points = np.array([[136.0, 76.0], [0.0, 0.0], [272.0, 152.0]])
    expected = np.array([[320.0, 240.0], [320 - s / 2, 240 - s / 2 * 152 / 272], [320 + s / 2, 240 + s / 2 * 152 / 272]])
    np.testing.assert_allclose(to_frame_pixels(points, transform), expected, atol=1e-3)
    # The letterbox: 480 rows scaled by 608 / 480 fill the height; 810.7 -> 811 columns, padded 138 / 139.
    boxed, _ = letterbox(np.zeros((480, 640, 3), np.uint8), width=1088, height=608)
    assert boxed.shape == (608, 1088, 3) and boxed[0, 137, 0] == 128 and boxed[0, 138, 0] == 0
    assert boxed[0, 1088 - 139, 0] == 128 and boxed[0, 1088 - 140, 0] == 0


def detections(assoc, boxes, scores, embeddings):
    boxes = np.asarray(boxes, dtype=np.float32)
    xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
    return assoc.detections_from(xyxy, np.asarray(scores), np.asarray(embeddings, dtype=np.float32))


def test_gating_distance_is_the_squared_mahalanobis_distance():
    from pytracking.libs.kalman_filter import bytetrack_kalman_filter

    kf = bytetrack_kalman_filter()
    mean, cov = kf.initiate(np.array([[50.0, 60.0, 0.5, 100.0], [0.0, 0.0, 1.0, 20.0]]))
    z = np.array([[55.0, 60.0, 0.5, 100.0], [50.0, 60.0, 0.6, 110.0]])
    got = kf.gating_distance(mean, cov, z)
    # S = P + R: diagonal (10^2 + 5^2, 10^2 + 5^2, 1e-4 + 1e-2, 10^2 + 5^2) for h = 100
    s = np.array([125.0, 125.0, 0.0101, 125.0])
    assert got.shape == (2, 2)
    np.testing.assert_allclose(got[0], [25 / s[0], 0.01 / s[2] + 100 / s[3]], rtol=1e-9)
    only = kf.gating_distance(mean, cov, z, only_position=True)
    np.testing.assert_allclose(only[0], [25 / 125, 0.0], atol=1e-12)
    assert CHI2INV95[4] == 9.4877 and kf.gating_distance(mean, cov, np.zeros((0, 4))).shape == (2, 0)


def test_fuse_motion_gates_and_mixes():
    assoc = JDEAssociation(det_thresh=0.4)
    tracks = assoc.update(detections(assoc, [[0, 0, 50, 100]], [0.9], [[1, 0]]))  # started: the initial state
    near, far = detections(assoc, [[5, 0, 50, 100], [300, 0, 50, 100]], [0.9, 0.9], [[1, 0], [0, 1]])
    cost = embedding_distance(tracks, [near, far])
    np.testing.assert_allclose(cost, [[0.0, 1.0]], atol=1e-7)
    fused = assoc.fuse_motion(cost.copy(), tracks, [near, far])
    gating = assoc.kalman.gating_distance(tracks[0].mean[None], tracks[0].covariance[None],
                                          np.array([[30.0, 50.0, 0.5, 100.0]]))[0, 0]
    assert gating < CHI2INV95[4]
    np.testing.assert_allclose(fused[0, 0], 0.98 * 0.0 + 0.02 * gating)
    assert fused[0, 1] == np.inf


def test_embedding_distance_is_clamped_at_zero():
    assoc = JDEAssociation(det_thresh=0.4)
    a, b = detections(assoc, [[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.9], [[1, 0], [1, 1e-9]])
    assert embedding_distance([a], [b])[0, 0] >= 0.0


def run(assoc, frames):
    return [[t.track_id for t in assoc.update(detections(assoc, *frame) if frame[0] else [])] for frame in frames]


PERSON = ([[100, 100, 40, 100]], [0.9], [[1, 0, 0]])


def test_new_tracks_are_confirmed_in_the_first_frame_or_when_matched_next():
    assoc = JDEAssociation(det_thresh=0.4)
    assert run(assoc, [PERSON, PERSON]) == [[1], [1]]
    late = JDEAssociation(det_thresh=0.4)
    assert run(late, [([], [], []), PERSON, PERSON]) == [[], [], [1]]


def test_a_new_track_needs_det_thresh_or_more():
    assoc = JDEAssociation(det_thresh=float(np.float32(0.5)))
    assert run(assoc, [([[0, 0, 40, 100]], [0.5], [[1, 0, 0]])]) == [[1]]  # exactly det_thresh: started
    assoc = JDEAssociation(det_thresh=0.5)
    assert run(assoc, [([[0, 0, 40, 100]], [0.49], [[1, 0, 0]])]) == [[]]


def test_embedding_match_threshold_then_iou():
    assoc = JDEAssociation(det_thresh=0.4)
    run(assoc, [PERSON])
    # Same place, embedding at cosine distance 1 (cost 0.98 > 0.4): matched by IoU in the second step.
    run(assoc, [([[101, 100, 40, 100]], [0.8], [[0, 1, 0]])])
    assert [t.track_id for t in assoc.tracked] == [1] and assoc.tracked[0].score == np.float32(0.8)
    # Far away with the same embedding: the gate forbids it, the IoU is 0: a new track, the old lost.
    run(assoc, [([[400, 100, 40, 100]], [0.8], [[1, 0, 0]])])
    assert [t.track_id for t in assoc.lost] == [1] and [t.track_id for t in assoc.tracked] == [2]


def test_lost_tracks_are_kept_track_buffer_frames_at_30_fps():
    # frame_rate 15, track_buffer 4: int(15 / 30 * 4) = 2 frames.
    assoc = JDEAssociation(det_thresh=0.4, track_buffer=4, frame_rate=15)
    assert assoc.max_time_lost == 2
    run(assoc, [PERSON, ([], [], []), ([], [], []), ([], [], [])])
    # lost at frame 2 (last seen 1); frame 4: 4 - 1 = 3 > 2 removed; it leaves the lost list at frame 5
    assert [t.track_id for t in assoc.lost] == [1] and 1 in assoc.removed_ids
    run(assoc, [([], [], [])])
    assert assoc.lost == []


def test_a_lost_track_is_found_again_by_its_embedding_keeping_its_score():
    assoc = JDEAssociation(det_thresh=0.4)
    run(assoc, [PERSON, PERSON, ([], [], [])])
    assert assoc.lost[0].state == TrackState.LOST
    out = run(assoc, [([[100, 100, 40, 100]], [0.6], [[1, 0, 0]])])
    assert out == [[1]] and assoc.tracked[0].score == np.float32(0.9)  # re_activate keeps the score


def test_smoothed_embedding_momentum():
    assoc = JDEAssociation(det_thresh=0.4)
    run(assoc, [PERSON, ([[100, 100, 40, 100]], [0.9], [[0, 1, 0]])])
    # 0.9 * (1, 0, 0) + 0.1 * (0, 1, 0), normalised
    expected = np.array([0.9, 0.1, 0.0]) / np.hypot(0.9, 0.1)
    np.testing.assert_allclose(assoc.tracked[0].smooth_embedding, expected, rtol=1e-6)
    np.testing.assert_allclose(assoc.tracked[0].embedding, [0, 1, 0])


def test_duplicates_keep_the_older_track():
    from pytracking.tracker.track_lists import remove_duplicates

    class T:
        def __init__(self, tid, start, frame):
            self.track_id, self.start_frame, self.frame_id = tid, start, frame
            self.box = np.array([0.0, 0.0, 10.0, 10.0])

    tracked, lost = remove_duplicates([T(1, 1, 10)], [T(2, 5, 9)], 0.15)
    assert [t.track_id for t in tracked] == [1] and lost == []
    tracked, lost = remove_duplicates([T(1, 5, 9)], [T(2, 1, 5)], 0.15)  # tie (4 and 4): the tracked one goes
    assert tracked == [] and [t.track_id for t in lost] == [2]


@pytest.mark.parametrize("w, h, kept", [(40, 100, True), (9, 11, False), (170, 100, False), (160, 100, True)])
def test_output_filter(w, h, kept):
    from pytracking.tracker.base import TrackerParams
    from pytracking.tracker.fairmot.tracker import FairMOTTracker

    tracker = FairMOTTracker(TrackerParams(), network=object(), device="cpu")
    assoc = tracker.association
    run(assoc, [([[10, 10, w, h]], [0.9], [[1, 0, 0]])])
    assert len(tracker.output(assoc.tracked)) == int(kept)
