"""Tracktor's published rules (mmtracking's TracktorTracker), one by one, on scripted networks:
hand-made detections, a box head given as a function, embeddings given as a table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pytracking.evaluation.tracker import Tracker
from pytracking.libs.camera_motion import CameraMotionCompensation
from pytracking.tracker.tracktor.tracker import TracktorTracker

_spec = importlib.util.spec_from_file_location("tracktor_scripted",
                                               Path(__file__).parent / "tracktor_reference" / "scripted.py")
scripted = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = scripted  # dataclasses look their module up
_spec.loader.exec_module(scripted)

IMAGE = np.zeros((200, 400, 3), dtype=np.uint8)
A = [0.0, 0.0, 10.0, 10.0]  # xyxy, area 100
FAR = [200.0, 100.0, 220.0, 140.0]


def build(detections, regress=None, embed=None, *, parameter="no_cmc", scale=(1.0, 1.0), cmc=None, **overrides):
    """A tracker on scripted networks; ``detections`` and the box head in network-input pixels."""
    runner = Tracker("tracktor", parameter)
    params = runner.get_parameters()
    for key, value in overrides.items():
        setattr(params, key, value)
    detector = scripted.ScriptedDetector(detections, regress)
    reid = scripted.ScriptedReID(detector, embed or (lambda frame, boxes: torch.zeros((len(boxes), 4))))
    tracker = TracktorTracker(params, detector=detector, reid=reid, prepare_images=scripted.scripted_prepare(*scale),
                              cmc=cmc, device="cpu")
    return tracker, detector, reid


def run(tracker, frames: int, infos=None) -> list[np.ndarray]:
    outs = []
    for index in range(frames):
        info = None if infos is None else infos[index]
        out = tracker.initialize(IMAGE, info) if index == 0 else tracker.track(IMAGE, info)
        outs.append(out["tracks"])
    return outs


def ids(outs) -> list[list[int]]:
    return [out[:, 0].astype(int).tolist() for out in outs]


def regress_with(scores_by_frame, boxes_by_frame=None):
    """A box head returning per frame the given scores (and boxes; else the boxes as handed in)."""

    def regress(frame, boxes):
        out = boxes.clone() if boxes_by_frame is None else torch.tensor(boxes_by_frame[frame], dtype=torch.float32)
        return out, torch.tensor(scores_by_frame[frame], dtype=torch.float32)

    return regress


def test_first_frame_detections_above_obj_score_thr_strictly_start_tracks_in_original_pixels():
    # Scale (0.5, 0.25): network boxes [x0 * 0.5, y0 * 0.25, ...]; output in original pixels.
    tracker, _, _ = build([([[5, 5, 10, 20], [50, 5, 60, 10], [100, 0, 110, 5]], [0.9, 0.5, 0.51])],
                          scale=(0.5, 0.25))
    (out,) = run(tracker, 1)
    np.testing.assert_array_equal(out, [[1, 10, 20, 10, 60, np.float32(0.9)], [2, 200, 0, 20, 20, np.float32(0.51)]])


def test_regression_gets_last_boxes_in_network_pixels_and_a_score_at_the_threshold_ends_the_track():
    detections = [([[5, 5, 10, 20], [50, 5, 60, 10]], [0.9, 0.8])]
    regress = regress_with({1: [0.6, 0.5], 2: [0.7]}, {1: [[6, 5, 11, 20], [50, 5, 60, 10]], 2: [[7, 5, 12, 20]]})
    tracker, detector, _ = build(detections, regress, scale=(0.5, 0.25))
    outs = run(tracker, 3)
    assert ids(outs) == [[1, 2], [1], [1]]
    # Handed in: the previous frame's boxes (original pixels) times the scale factor.
    assert [(f, b.tolist()) for f, b in detector.regressed] == [
        (1, [[5, 5, 10, 20], [50, 5, 60, 10]]), (2, [[6, 5, 11, 20]])]
    np.testing.assert_allclose(outs[1], [[1, 12, 20, 10, 60, 0.6]], rtol=1e-6)
    np.testing.assert_allclose(outs[2], [[1, 14, 20, 10, 60, 0.7]], rtol=1e-6)


@pytest.mark.parametrize("second, survives", [([0, 0, 10, 6], True),   # IoU 0.6: kept (suppressed above only)
                                              ([0, 0, 10, 7], False)])  # IoU 0.7: suppressed
def test_regressed_tracks_are_suppressed_by_higher_scores_above_nms_iou_strictly(second, survives):
    detections = [([A, FAR], [0.9, 0.9])]
    regress = regress_with({1: [0.8, 0.9]}, {1: [A, second]})  # the second track scores higher
    tracker, _, _ = build(detections, regress)
    outs = run(tracker, 2)
    assert ids(outs)[1] == ([1, 2] if survives else [2])


def test_a_zero_regression_score_never_enters_the_nms():
    # Score 0 is dropped before the NMS (multiclass_nms keeps scores > 0), so it suppresses nothing,
    # whatever the order; the track it belongs to ends.
    regress = regress_with({1: [0.0, 0.7]}, {1: [A, A]})
    tracker, _, _ = build([([A, FAR], [0.9, 0.9])], regress)
    assert ids(run(tracker, 2))[1] == [2]


@pytest.mark.parametrize("box, kept", [([0, 0, 10, 3], False),    # IoU 30/100 = 0.3: dropped
                                       ([0, 0, 10, 2.9], True)])  # IoU 0.29: a new track
def test_a_detection_overlapping_a_continued_track_by_match_iou_or_more_is_dropped(box, kept):
    tracker, _, _ = build([([A], [0.9]), ([box], [0.9])])
    assert ids(run(tracker, 2))[1] == ([1, 2] if kept else [1])


def lost_then_found(frames: int, found: list, lost_at: int = 1, **kwargs):
    """Track 1 at A is lost by regression at frame ``lost_at``; ``found[frame]``: detections then."""
    detections = [([A], [0.9])] + [(found.get(f, ([], []))) for f in range(1, frames)]
    scores = {f: [0.9] if f < lost_at else [0.1] for f in range(1, frames)}
    return build(detections, regress_with(scores), **kwargs)


def embeddings_by_x(table):
    """Embeddings looked up by each box's x0 (in network pixels)."""
    return lambda frame, boxes: torch.tensor([table[(frame, round(float(b[0]), 3))] for b in boxes])


@pytest.mark.parametrize("distance, same", [(2.0, True), (2.01, False)])
def test_reid_accepts_a_distance_of_at_most_match_score_thr(distance, same):
    table = {(0, 0.0): [0.0, 0.0], (2, 1.0): [distance, 0.0]}
    tracker, _, _ = lost_then_found(3, {2: ([[1, 0, 11, 10]], [0.9])}, embed=embeddings_by_x(table))
    assert ids(run(tracker, 3)) == [[1], [], [1] if same else [2]]


@pytest.mark.parametrize("box, allowed", [([0, 0, 10, 2], True),      # IoU 20/100 = 0.2: allowed
                                          ([0, 0, 10, 1.9], False)])  # IoU 0.19: forbidden
def test_reid_needs_an_iou_of_match_iou_thr_with_the_last_box(box, allowed):
    table = {(0, 0.0): [0.0, 0.0], (2, 0.0): [0.0, 0.0]}
    tracker, _, _ = lost_then_found(3, {2: ([box], [0.9])}, embed=embeddings_by_x(table))
    assert ids(run(tracker, 3))[2] == ([1] if allowed else [2])


def test_reid_compares_with_the_mean_of_the_last_num_samples_embeddings():
    # Track 1 carries embeddings 0, 2, 4 (frames 0-2), is lost at frame 3; a detection at 5 is
    # 2 from mean(2, 4) = 3 (num_samples 2) but 3 from mean(0, 2, 4) = 2 (num_samples 3).
    table = {(0, 0.0): [0.0], (1, 0.0): [2.0], (2, 0.0): [4.0], (4, 1.0): [5.0]}
    for samples, expected in [(2, [1]), (3, [2])]:
        tracker, _, reid = lost_then_found(5, {4: ([[1, 0, 11, 10]], [0.9])}, lost_at=3,
                                           embed=embeddings_by_x(table), reid_num_samples=samples)
        assert ids(run(tracker, 5))[4] == expected
    # The continued track's embeddings are those of its regressed box, taken every frame.
    assert [f for f, _ in reid.calls] == [0, 1, 2, 4]


def test_reid_assignment_is_the_minimum_cost_assignment_not_greedy():
    # One-dimensional embeddings: track 1 at 0, track 2 at 2.5; detections d0 at 1.0, d1 at -1.0.
    # Distances [[1.0, 1.0], [1.5, 3.5]]: taking (1, d0) first would leave (2, d1) at 3.5, rejected;
    # the minimum-cost assignment is (1, d1) + (2, d0) = 2.5, both within 2.0.
    second = [50.0, 0.0, 60.0, 10.0]
    d0, d1 = [1.0, 0.0, 11.0, 10.0], [51.0, 0.0, 61.0, 10.0]
    value = {(0, 0.0): 0.0, (0, 50.0): 2.5, (2, 1.0): 1.0, (2, 51.0): -1.0}
    detections = [([A, second], [0.9, 0.9]), ([], []), ([d0, d1], [0.9, 0.9])]
    tracker, _, _ = build(detections, regress_with({1: [0.1, 0.1]}),
                          lambda frame, boxes: torch.tensor([[value[(frame, float(b[0]))]] for b in boxes]),
                          reid_match_iou_thr=0.0)
    outs = run(tracker, 3)
    # d1 (box at 51) becomes track 1, d0 (box at 1) track 2: rows sorted by id show their boxes.
    assert ids(outs)[2] == [1, 2]
    assert outs[2][:, 1].tolist() == [51.0, 1.0]


@pytest.mark.parametrize("gap, same", [(10, True), (11, False)])
def test_inactive_tracks_are_kept_for_num_frames_retain_frames(gap, same):
    table = {(0, 0.0): [0.0], (gap, 0.0): [0.0]}
    tracker, _, _ = lost_then_found(gap + 1, {gap: ([A], [0.9])}, embed=embeddings_by_x(table))
    assert ids(run(tracker, gap + 1))[gap] == ([1] if same else [2])


def test_without_reid_a_lost_track_never_comes_back_and_no_embedding_is_taken():
    tracker, _, reid = lost_then_found(3, {2: ([A], [0.9])}, parameter="no_reid")
    tracker.params.use_cmc = False
    assert ids(run(tracker, 3)) == [[1], [], [2]]
    assert reid.calls == []


class ShiftCMC:
    """Scripted camera motion: every frame moves by ``shift`` network pixels in x."""

    def __init__(self, shift: float):
        self.shift = shift
        self.frames: list[tuple[tuple, tuple]] = []

    def warp_matrix(self, previous, current):
        self.frames.append((previous.shape, current.shape))
        return np.array([[1, 0, self.shift], [0, 1, 0]], dtype=np.float32)

    warp_boxes = staticmethod(CameraMotionCompensation.warp_boxes)


@pytest.mark.parametrize("rescale, moved", [(False, 5.0), (True, 10.0)])
def test_camera_motion_moves_boxes_before_regression_published_in_network_pixels(rescale, moved):
    cmc = ShiftCMC(5.0)
    tracker, detector, _ = build([([[5, 5, 10, 20]], [0.9])], parameter="default", scale=(0.5, 0.25), cmc=cmc,
                                 cmc_rescale_translation=rescale)
    run(tracker, 2)
    # Original box [10, 20, 20, 80] moved by 5 (as published) or 5 / 0.5 original pixels, times the scale.
    x0 = (10 + moved) * 0.5
    assert detector.regressed[0][1].tolist() == [[x0, 5.0, x0 + 5.0, 20.0]]
    assert cmc.frames == [((50, 200), (50, 200))]  # gray network inputs of the previous and this frame


def test_camera_motion_moves_inactive_tracks_too_so_reid_finds_them_where_they_drifted():
    # Track 1 lost at frame 1; the camera moves 10 px per frame, so at frame 2 its box has moved 20:
    # a detection there overlaps it fully (it would not overlap A at all).
    moved = [20.0, 0.0, 30.0, 10.0]
    table = {(0, 0.0): [0.0], (2, 20.0): [0.0]}
    tracker, _, _ = lost_then_found(3, {2: ([moved], [0.9])}, parameter="default", cmc=ShiftCMC(10.0),
                                    embed=embeddings_by_x(table))
    assert ids(run(tracker, 3))[2] == [1]


def test_public_detections_are_scaled_clipped_regressed_and_filtered_by_the_test_settings():
    # Given xywh in original pixels; scale (0.5, 0.25) on a 200 x 400 image -> network 50 x 200.
    given = np.array([[-4, 8, 20, 40, 0.3], [100, 100, 20, 400, 0.99], [300, 0, 10, 10, 0.9],
                      [350, 0, 10, 10, 0.9]])
    out_boxes = [[0, 2, 8, 12], [50, 25, 60, 50], [150, 0, 155, 2.5], [150, 0, 155, 2.0]]
    tracker, detector, _ = build([], regress_with({0: [0.9, 0.05, 0.8, 0.7]}, {0: out_boxes}),
                                 parameter="public", scale=(0.5, 0.25), use_cmc=False)
    (out,) = run(tracker, 1, [{"detections": given}])
    # Proposals: xyxy * (0.5, 0.25), clipped to x in [0, 200], y in [0, 50].
    np.testing.assert_allclose(detector.regressed[0][1].numpy(),
                               [[0, 2, 8, 12], [50, 25, 60, 50], [150, 0, 155, 2.5], [175, 0, 180, 2.5]])
    # Score 0.05 is not above public_score_thr; the last box overlaps the third by 0.8 > 0.5 and
    # scores lower: suppressed. Kept: the first (score 0.9) and the third (0.8), in original pixels.
    np.testing.assert_allclose(out, [[1, 0, 8, 16, 40, 0.9], [2, 300, 0, 10, 10, 0.8]], rtol=1e-6)


def test_public_detections_keep_at_most_max_per_img():
    given = np.array([[0, 0, 10, 10, 0.9], [100, 0, 10, 10, 0.9], [200, 0, 10, 10, 0.9]])
    tracker, _, _ = build([], regress_with({0: [0.6, 0.9, 0.7]}), parameter="public", use_cmc=False,
                          public_max_per_img=2)
    (out,) = run(tracker, 1, [{"detections": given}])
    assert out[:, 1].tolist() == [100.0, 200.0]  # the two best: 0.9 and 0.7


def test_public_mode_without_detections_in_the_info_is_an_error_naming_them():
    tracker, _, _ = build([], parameter="public", use_cmc=False)
    with pytest.raises(ValueError, match="detections"):
        tracker.initialize(IMAGE, {})


def test_private_mode_runs_without_info_and_identities_restart_per_sequence():
    detections = [([A], [0.9]), ([FAR], [0.9])]
    for _ in range(2):
        tracker, _, _ = build(detections)
        assert ids(run(tracker, 2)) == [[1], [1, 2]]
    # And the same tracker, re-initialised, starts again at 1.
    tracker.detector.frame = -1
    assert ids(run(tracker, 2)) == [[1], [1, 2]]


def test_declared_defaults_are_the_published_values():
    params = TracktorTracker.PARAMETERS
    assert (params["obj_score_thr"], params["regression_obj_score_thr"], params["regression_nms_iou_thr"],
            params["regression_match_iou_thr"], params["reid_num_samples"], params["reid_match_score_thr"],
            params["reid_match_iou_thr"], params["num_frames_retain"], params["cmc_num_iters"],
            params["cmc_stop_eps"]) == (0.5, 0.5, 0.6, 0.3, 10, 2.0, 0.2, 10, 100, 1e-5)


def test_private_mode_detects_and_public_mode_needs_given_detections():
    from pytracking.evaluation.tracker import Tracker

    for parameter, needs in (("default", False), ("public", True), ("synthetic", False), ("synthetic_public", True)):
        tracker = Tracker("tracktor", parameter)
        assert tracker.tracker_class.needs_detections(tracker.get_parameters()) is needs
    sort = Tracker("sort", "default")
    assert sort.tracker_class.needs_detections(sort.get_parameters())


def test_fast_reid_folds_a_copy_and_keeps_the_embeddings():
    import torch

    from ltr.models.registry import build_network
    from pytracking.evaluation.tracker import Tracker
    from pytracking.tracker.tracktor.tracker import TracktorTracker

    torch.manual_seed(0)
    reid = build_network("reid_tiny").eval()
    with torch.no_grad():  # BatchNorm statistics that are not the identity, so folding changes the layers
        for module in reid.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    params = Tracker("tracktor", "fast").get_parameters()
    tracker = TracktorTracker(params, detector=object(), reid=reid, prepare_images=lambda *a, **k: None, device="cpu")
    tracker._load_networks()
    assert tracker.reid is not reid  # the given (or cached) network is left as it is
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in tracker.reid.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in reid.modules())
    batch = torch.randn(1, 3, 96, 128)
    boxes = torch.tensor([[10.0, 5.0, 40.0, 80.0], [60.0, 20.0, 100.0, 90.0]])
    expected = reid.embed_boxes(batch, boxes)
    torch.testing.assert_close(tracker.reid.embed_boxes(batch, boxes), expected, rtol=1e-4, atol=1e-4)
