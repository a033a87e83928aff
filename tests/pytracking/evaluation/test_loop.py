"""The one frame loop and the runner with both kinds of frame output: a single-object tracker's
box and a multi-object tracker's tracks, checked, stacked and written by the same code."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pytracking.evaluation.data import Sequence
from pytracking.evaluation.loop import FrameLoop
from pytracking.evaluation.running import is_complete, results_paths, run_dataset
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.base import BaseTracker, TrackerParams
from pytracking.tracker.outputs import MULTI_OBJECT, SINGLE_OBJECT, FrameOutputError

IMAGE = np.zeros((24, 32, 3), dtype=np.uint8)


class ScriptedTracker(BaseTracker):
    """Returns the dicts of ``params.script`` in order, one per call."""

    def initialize(self, image, info):
        self.calls = iter(self.params.script)
        return next(self.calls)

    def track(self, image, info=None):
        self.seen_info = info
        return next(self.calls)


class ScriptedMultiTracker(ScriptedTracker):
    frame_output = MULTI_OBJECT


def scripted(cls, *outputs) -> BaseTracker:
    return cls(TrackerParams(script=list(outputs)))


def test_single_object_box_is_checked_and_first_frame_defaults_to_the_init_box():
    loop = FrameLoop(scripted(ScriptedTracker, {}, {"target_bbox": [1, 2, 3, 4]}, {"target_bbox": [1, 2, -3, 4]}),
                     label="scripted", source="seq")
    first = loop.initialize(IMAGE, {"init_bbox": [5.0, 6.0, 7.0, 8.0]})
    np.testing.assert_array_equal(first.value, [5, 6, 7, 8])
    np.testing.assert_array_equal(loop.track(IMAGE, frame=1).value, [1, 2, 3, 4])
    with pytest.raises(FrameOutputError, match=r"scripted on frame 2 of seq: the box \[1, 2, -3, 4\]"):
        loop.track(IMAGE, frame=2)


@pytest.mark.parametrize("bad, message", [
    (None, "returned NoneType on frame 1 of seq, expected a dict"),
    ({"score": 1.0}, "returned no 'target_bbox' on frame 1"),
    ({"target_bbox": [0, 0, float("nan"), 1]}, "not four finite numbers"),
    ({"target_bbox": [0, 0, 1]}, "not four finite numbers"),
])
def test_single_object_outputs_that_break_the_contract(bad, message):
    loop = FrameLoop(scripted(ScriptedTracker, {}, bad), label="scripted", source="seq")
    loop.initialize(IMAGE, {"init_bbox": [0, 0, 1, 1]})
    with pytest.raises((TypeError, FrameOutputError), match=message):
        loop.track(IMAGE, frame=1)


def test_multi_object_tracks_are_checked_and_stacked_with_frame_numbers_from_one():
    tracks_1 = [[1, 10, 20, 5, 6, 0.9], [3, 0, 0, 2, 2, 0.5]]
    tracks_3 = [[3, 1, 1, 2, 2, 0.25]]
    loop = FrameLoop(scripted(ScriptedMultiTracker, {"tracks": tracks_1}, {"tracks": []}, {"tracks": tracks_3}),
                     label="multi", source="seq")
    values = [loop.initialize(IMAGE, {}).value, loop.track(IMAGE, frame=1).value, loop.track(IMAGE, frame=2).value]
    assert values[1].shape == (0, 6)
    np.testing.assert_array_equal(MULTI_OBJECT.stack(values), [[1, 1, 10, 20, 5, 6, 0.9], [1, 3, 0, 0, 2, 2, 0.5],
                                                               [3, 3, 1, 1, 2, 2, 0.25]])
    assert MULTI_OBJECT.stack([np.zeros((0, 6))]).shape == (0, 7)


@pytest.mark.parametrize("tracks, message", [
    ([[1, 0, 0, 1, 1]], r"shape \(1, 5\)"),
    ([[1.5, 0, 0, 1, 1, 1]], "whole numbers >= 1"),
    ([[0, 0, 0, 1, 1, 1]], "whole numbers >= 1"),
    ([[2, 0, 0, 1, 1, 1], [2, 5, 5, 1, 1, 1]], "appears twice"),
    ([[2, 0, 0, float("inf"), 1, 1]], "NaN or inf"),
    ([[2, 0, 0, 1, -1, 1]], "negative width or height"),
])
def test_multi_object_tracks_that_break_the_contract(tracks, message):
    with pytest.raises(FrameOutputError, match=message):
        MULTI_OBJECT.check(tracks, "multi on frame 4 of seq")


def make_sequence(tmp_path, frames: int = 3) -> Sequence:
    import cv2

    paths = []
    for index in range(frames):
        path = tmp_path / f"{index:08d}.jpg"
        cv2.imwrite(str(path), IMAGE)
        paths.append(path)
    return Sequence("seq1", paths, "test", np.tile([[1.0, 1.0, 4.0, 4.0]], (frames, 1)))


def multi_parameters() -> TrackerParams:
    return TrackerParams(script=[{"tracks": [[1, 1.5, 2.25, 3, 4, 0.75]]}, {"tracks": []},
                                 {"tracks": [[1, 2, 3, 3, 4, 0.5], [2, 8, 8, 2, 2, 0.125]], "note": "x"}])


def test_the_runner_runs_a_multi_object_tracker_unchanged_and_writes_motchallenge_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_RESULTS_PATH", str(tmp_path / "results"))
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "ws"))
    seq = make_sequence(tmp_path)
    tracker = Tracker.from_class(ScriptedMultiTracker, multi_parameters, name="scripted", parameter_name="multi")
    output = tracker.run_sequence(seq)
    assert output["note"] == [None, None, "x"] and output["time"].shape == (3,)
    report = run_dataset([seq], tracker)
    assert len(report.done) == 1 and not report.failed
    result_file, time_file, _ = results_paths(tracker, seq)
    assert result_file.parent == tmp_path / "results" / "scripted" / "multi"
    assert result_file.read_text().splitlines() == ["1,1,1.50,2.25,3.00,4.00,0.7500,-1,-1,-1",
                                                    "3,1,2.00,3.00,3.00,4.00,0.5000,-1,-1,-1",
                                                    "3,2,8.00,8.00,2.00,2.00,0.1250,-1,-1,-1"]
    assert len(time_file.read_text().splitlines()) == 3
    assert is_complete(tracker, seq)
    time_file.write_text("0.1\n")  # a run cut short: its time file misses frames
    assert not is_complete(tracker, seq)
    assert len(run_dataset([seq], tracker).done) == 1


def test_the_runner_writes_a_single_object_tracker_one_box_per_frame(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_RESULTS_PATH", str(tmp_path / "results"))
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "ws"))
    seq = make_sequence(tmp_path)

    def parameters() -> TrackerParams:
        return TrackerParams(script=[{}, {"target_bbox": [2, 2, 4, 4]}, {"target_bbox": [3, 2.5, 4, 4]}])

    tracker = Tracker.from_class(ScriptedTracker, parameters, name="scripted", parameter_name="single")
    assert tracker.frame_output is SINGLE_OBJECT
    assert len(run_dataset([seq], tracker).done) == 1
    result_file = results_paths(tracker, seq)[0]
    assert result_file.read_text() == ("1.0000\t1.0000\t4.0000\t4.0000\n2.0000\t2.0000\t4.0000\t4.0000\n"
                                       "3.0000\t2.5000\t4.0000\t4.0000\n")
