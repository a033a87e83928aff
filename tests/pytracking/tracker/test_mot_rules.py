"""Published rules of SORT and ByteTrack on tiny streams."""

from __future__ import annotations

import numpy as np
import pytest

from pytracking.evaluation.tracker import Tracker

IMAGE = np.zeros((1, 1, 3), dtype=np.uint8)


def build(name: str, parameter: str = "default"):
    tracker = Tracker(name, parameter)
    return tracker.tracker_class(tracker.get_parameters())


def run(instance, frames):
    outs = []
    for index, dets in enumerate(frames):
        info = {"detections": np.array(dets, dtype=np.float64).reshape(-1, 5)}
        outs.append(instance.initialize(IMAGE, info) if index == 0 else instance.track(IMAGE, info))
    return [out["tracks"] for out in outs]


def test_sort_outputs_everything_in_the_first_min_hits_frames_then_needs_a_streak():
    still = [10.0, 10.0, 20.0, 40.0, 0.9]
    late = [100.0, 10.0, 20.0, 40.0, 0.9]
    frames = [[still], [still], [still], [still, late], [still, late], [still, late], [still, late]]
    ids = [out[:, 0].tolist() for out in run(build("sort"), frames)]
    # Frames 1-3: output (frame_count <= min_hits); the late track needs 3 matches after its start.
    assert ids == [[1], [1], [1], [1], [1], [1], [1, 2]]


def test_bytetrack_confirms_a_new_track_in_its_second_frame_except_in_the_first_frame():
    a = [10.0, 10.0, 20.0, 40.0, 0.9]
    b = [100.0, 10.0, 20.0, 40.0, 0.9]
    ids = [out[:, 0].tolist() for out in run(build("bytetrack"), [[a], [a, b], [a, b]])]
    assert ids == [[1], [1], [1, 2]]


def test_bytetrack_ignores_a_detection_scoring_exactly_track_thresh_and_needs_the_margin():
    at = [10.0, 10.0, 20.0, 40.0, 0.5]
    below_margin = [100.0, 10.0, 20.0, 40.0, 0.55]
    assert run(build("bytetrack"), [[at, below_margin]])[0].shape == (0, 6)


def test_bytetrack_output_filter_of_the_mot17_setting():
    wide = [10.0, 10.0, 80.0, 40.0, 0.9]  # w / h = 2 > 1.6
    small = [200.0, 10.0, 8.0, 12.0, 0.9]  # area 96 <= 100
    assert run(build("bytetrack"), [[wide, small]])[0].shape == (2, 6)
    assert run(build("bytetrack", "mot17"), [[wide, small]])[0].shape == (0, 6)


@pytest.mark.parametrize("name", ["sort", "bytetrack"])
def test_a_frame_without_detections_in_its_info_is_an_error(name):
    with pytest.raises(ValueError, match="detections"):
        build(name).initialize(IMAGE, {})


def test_bytetrack_scales_its_buffer_with_the_frame_rate():
    tracker = build("bytetrack")
    tracker.initialize(IMAGE, {"detections": np.zeros((0, 5)), "frame_rate": 15})
    assert tracker.max_time_lost == 15


def test_bytetrack_keeps_30_frames_per_second_when_the_sequence_gives_none():
    tracker = build("bytetrack")
    tracker.initialize(IMAGE, {"detections": np.zeros((0, 5)), "sequence_name": "MOT17-02-FRCNN"})
    assert tracker.max_time_lost == 30


@pytest.mark.parametrize("sequence, thresh, buffer", [
    ("MOT17-05-FRCNN", 0.6, 14), ("MOT17-06-DPM", 0.65, 14), ("MOT17-14-SDP", 0.67, 25),
    ("MOT17-12", 0.7, 30), ("MOT17-02-FRCNN", 0.6, 30), ("MOT20-08", 0.3, 30)])
def test_bytetrack_settings_per_sequence_as_the_published_evaluation(sequence, thresh, buffer):
    tracker = build("bytetrack", "mot17_per_sequence")
    tracker.initialize(IMAGE, {"detections": np.zeros((0, 5)), "sequence_name": sequence})
    assert (tracker.track_thresh, tracker.track_buffer, tracker.max_time_lost) == (thresh, buffer, buffer)
    assert tracker.det_thresh == thresh + 0.1  # new tracks follow the sequence's threshold
    # The next sequence starts from the base settings again.
    tracker.initialize(IMAGE, {"detections": np.zeros((0, 5)), "sequence_name": "MOT17-09-FRCNN"})
    assert (tracker.track_thresh, tracker.track_buffer) == (0.6, 30)


def test_bytetrack_per_sequence_threshold_changes_which_detections_start_tracks():
    box = [10.0, 10.0, 20.0, 40.0, 0.72]  # above 0.6 + 0.1, below 0.7 + 0.1
    frames = [[box], [box]]
    plain, tuned = build("bytetrack", "mot17"), build("bytetrack", "mot17_per_sequence")
    for tracker in (plain, tuned):
        tracker.initialize(IMAGE, {"detections": np.zeros((0, 5)), "sequence_name": "MOT17-12-FRCNN"})
    assert [len(plain.track(IMAGE, {"detections": np.array(f)})["tracks"]) for f in frames] == [0, 1]
    assert [len(tuned.track(IMAGE, {"detections": np.array(f)})["tracks"]) for f in frames] == [0, 0]


def test_bytetrack_rejects_overrides_of_other_settings():
    tracker = Tracker("bytetrack", "default")
    params = tracker.get_parameters()
    params.sequence_overrides = {"MOT17-02": {"low_thresh": 0.2}}
    with pytest.raises(ValueError, match=r"sequence_overrides\['MOT17-02'\] sets low_thresh"):
        tracker.tracker_class(params)
