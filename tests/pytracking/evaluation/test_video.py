"""Tracking through a video file: the library function, its result files (complete and partial),
its errors, and the run_video.py entry script on a generated video."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from pytracking.evaluation.tracker import Tracker
from pytracking.evaluation.video import (SelectionCancelled, VideoError, annotate, check_init_box, display_problem,
                                         open_capture, track_video)
from pytracking.tracker.base import BaseTracker

REPO = Path(__file__).resolve().parents[3]
WIDTH, HEIGHT, FRAMES, SIDE = 160, 120, 20, 32
MIN_MEAN_IOU = 0.8  # CSRT reaches about 0.94 on this scene (KCF 0.78)


def true_boxes() -> np.ndarray:
    """(FRAMES, 4) boxes of the square: 3 px right and 1.5 px down per frame, from (20, 20)."""
    t = np.arange(FRAMES, dtype=np.float64)
    return np.stack([20 + 3 * t, 20 + 1.5 * t, np.full(FRAMES, SIDE), np.full(FRAMES, SIDE)], axis=1)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x1 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y1 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """A 160x120 mp4v video of 20 frames: a textured square moving over a plain grey background."""
    path = tmp_path_factory.mktemp("video") / "square.mp4"
    texture = np.random.default_rng(0).integers(0, 256, (SIDE // 4, SIDE // 4, 3), dtype=np.uint8)
    texture = np.kron(texture, np.ones((4, 4, 1), dtype=np.uint8))  # 4x4 blocks survive compression
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for x, y, _, _ in true_boxes():
        frame = np.full((HEIGHT, WIDTH, 3), 120, dtype=np.uint8)
        frame[int(y):int(y) + SIDE, int(x):int(x) + SIDE] = texture
        writer.write(frame)
    writer.release()
    return path


def read_video(path: Path) -> tuple[int, tuple[int, int], float]:
    """Frames decoded, (width, height) and fps of ``path``."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), path
    size, fps, count = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))), \
        capture.get(cv2.CAP_PROP_FPS), 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count, size, fps


def read_rows(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    assert all(len(line.split(",")) == 4 and all(len(v.split(".")[1]) == 4 for v in line.split(",")) for line in lines)
    return np.loadtxt(path, delimiter=",", ndmin=2)


def init_box() -> list[float]:
    return true_boxes()[0].tolist()


# ---------------------------------------------------------------- the library function


def test_track_video_follows_the_square_and_writes_both_files(video, tmp_path):
    results, annotated = tmp_path / "out" / "square.txt", tmp_path / "out" / "square_tracked.mp4"
    summary = track_video(Tracker("opencv", "csrt"), video, init_box(), results_file=results, video_file=annotated)
    assert summary.frames == FRAMES and not summary.stopped_early and summary.mean_fps > 0
    assert summary.boxes.shape == (FRAMES, 4) and summary.times.shape == (FRAMES,)
    assert summary.boxes[0].tolist() == init_box()
    assert iou(summary.boxes, true_boxes()).mean() > MIN_MEAN_IOU
    np.testing.assert_allclose(read_rows(results), summary.boxes, atol=5e-5)
    assert (summary.results_file, summary.video_file) == (results, annotated)
    assert read_video(annotated) == (FRAMES, (WIDTH, HEIGHT), 25.0)
    assert sorted(p.name for p in results.parent.iterdir()) == ["square.txt", "square_tracked.mp4"]
    assert "20 frames" in summary.report() and str(results) in summary.report()


def test_quit_key_stops_and_keeps_the_frames_done(video, tmp_path):
    keys = iter([-1] * 5 + [ord("q")])
    results = tmp_path / "r.txt"
    summary = track_video(Tracker("opencv", "kcf"), video, init_box(), results_file=results,
                          show=lambda frame: next(keys))
    assert summary.frames == 6 and summary.stopped_early
    assert read_rows(results).shape == (6, 4)


def test_reselect_key_reinitialises_on_that_frame(video):
    chosen = true_boxes()[10].tolist()
    keys = iter([-1] * 10 + [ord("r")] + [-1] * FRAMES)
    selections = []

    def select(frame):
        selections.append(frame.shape)
        return chosen if len(selections) == 2 else init_box()

    summary = track_video(Tracker("opencv", "csrt"), video, None, select=select, show=lambda frame: next(keys))
    assert selections == [(HEIGHT, WIDTH, 3)] * 2 and summary.reselections == 1
    assert summary.boxes[0].tolist() == init_box() and summary.boxes[10].tolist() == chosen


def test_cancelled_selection_on_the_first_frame(video):
    with pytest.raises(SelectionCancelled, match="no box"):
        track_video(Tracker("opencv", "csrt"), video, None, select=lambda frame: None)
    with pytest.raises(ValueError, match="init_box"):
        track_video(Tracker("opencv", "csrt"), video, None)


class Crashing(BaseTracker):
    def initialize(self, image, info):
        self.frame = 0
        return {}

    def track(self, image, info=None):
        self.frame += 1
        if self.frame == 5:
            raise RuntimeError("tracker broke")
        return {"target_bbox": [1.0, 2.0, 3.0, 4.0]}


def test_a_crash_leaves_only_partial_files(video, tmp_path):
    tracker = Tracker("opencv", "csrt")
    tracker.create_tracker = Crashing
    results, annotated = tmp_path / "a.txt", tmp_path / "a_tracked.mp4"
    with pytest.raises(RuntimeError, match="tracker broke"):
        track_video(tracker, video, init_box(), results_file=results, video_file=annotated)
    assert not results.exists() and not annotated.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt.partial", "a_tracked.partial.mp4"]
    np.testing.assert_array_equal(read_rows(tmp_path / "a.txt.partial"), [init_box()] + [[1, 2, 3, 4]] * 4)


@pytest.mark.parametrize("box, message", [([10, 10, 0, 5], "non-positive size"), ([10, 10, 5, -1], "non-positive"),
                                          ([150, 10, 20, 20], "not inside the 160x120 frame"),
                                          ([-1, 10, 20, 20], "not inside"), ([1, 2, 3], "four finite")])
def test_bad_init_boxes_are_named(box, message):
    with pytest.raises(ValueError, match=message) as error:
        check_init_box(box, (HEIGHT, WIDTH, 3))
    assert str(box[0]) in str(error.value)


def test_init_box_inside_the_frame_is_kept():
    assert check_init_box([0, 0, WIDTH, HEIGHT], (HEIGHT, WIDTH, 3)) == [0.0, 0.0, 160.0, 120.0]


def test_source_errors_name_the_source(video, tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(VideoError, match=str(missing)):
        track_video(Tracker("opencv", "csrt"), missing, init_box())
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video" * 100)
    with pytest.raises(VideoError, match="could not open video .*garbage.mp4"):
        open_capture(garbage)
    exhausted = cv2.VideoCapture(str(video))
    while exhausted.read()[0]:
        pass
    with pytest.raises(VideoError, match="could not read the first frame of clip"):
        track_video(Tracker("opencv", "csrt"), exhausted, init_box(), source_name="clip")
    with pytest.raises(ValueError, match="not inside"):
        track_video(Tracker("opencv", "csrt"), video, [150, 100, 20, 30])


def test_annotate_draws_the_box_and_leaves_the_input():
    frame = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    out = annotate(frame, [50, 40, 30, 20], 7, 12.5)
    assert not frame.any()
    assert out[40, 65].tolist() == [0, 255, 0] and out[60, 50].tolist() == [0, 255, 0]
    assert not out[50, 65].any()  # inside the box: untouched
    assert out[:30, :80].any()  # the text


def test_display_problem_without_a_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform.startswith("linux"):
        assert "DISPLAY" in display_problem()


# ---------------------------------------------------------------- the entry script


def run_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")}
    env.update(TRACKING_LOCAL_FILE=os.devnull, TRACKING_WORKSPACE_DIR=str(tmp_path / "ws"),
               DISPLAY="", WAYLAND_DISPLAY="")
    return subprocess.run([sys.executable, str(REPO / "pytracking" / "run_video.py"), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_run_video_script_saves_results(video, tmp_path):
    box = [str(v) for v in init_box()]
    done = run_script(tmp_path, "opencv", "csrt", str(video), "--init_box", *box, "--save_results",
                      "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    rows = read_rows(tmp_path / "out" / "square.txt")
    assert rows.shape == (FRAMES, 4) and iou(rows, true_boxes()).mean() > MIN_MEAN_IOU
    assert read_video(tmp_path / "out" / "square_tracked.mp4")[:2] == (FRAMES, (WIDTH, HEIGHT))
    assert "tracked 20 frames" in done.stdout and "square_tracked.mp4" in done.stdout


def test_run_video_script_errors(video, tmp_path):
    missing = tmp_path / "nowhere" / "clip.mp4"
    done = run_script(tmp_path, "opencv", "csrt", str(missing), "--init_box", "1", "2", "3", "4")
    assert done.returncode != 0 and str(missing) in done.stderr
    done = run_script(tmp_path, "opencv", "csrt", str(video))
    assert done.returncode != 0 and "--init_box" in done.stderr and "DISPLAY" in done.stderr
    done = run_script(tmp_path, "opencv", "csrt", str(video), "--init_box", "150", "10", "20", "20")
    assert done.returncode != 0 and "not inside the 160x120 frame" in done.stderr


# ---------------------------------------------------------------- the windowed paths, with OpenCV's GUI faked


@pytest.fixture
def fake_gui(monkeypatch):
    """cv2's window functions replaced: ``keys`` are returned by waitKey in turn (then -1),
    ``rois`` by selectROI; shown frames are counted."""
    state = {"keys": [], "rois": [], "shown": 0}

    def wait_key(delay):
        return state["keys"].pop(0) if state["keys"] else -1

    def imshow(window, frame):
        state["shown"] += 1

    monkeypatch.setattr(cv2, "namedWindow", lambda *args: None)
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: None)
    monkeypatch.setattr(cv2, "imshow", imshow)
    monkeypatch.setattr(cv2, "waitKey", wait_key)
    monkeypatch.setattr(cv2, "selectROI", lambda *args, **kwargs: state["rois"].pop(0))
    return state


def test_run_video_draws_the_box_in_a_window(video, tmp_path, fake_gui, monkeypatch, capsys):
    import pytracking.run_video as run_video

    monkeypatch.setattr(run_video, "display_problem", lambda: None)
    fake_gui["rois"] = [tuple(int(v) for v in init_box())]
    assert run_video.main(["opencv", "csrt", str(video), "--save_results", "--output", str(tmp_path)]) == 0
    rows = read_rows(tmp_path / "square.txt")
    assert rows.shape == (FRAMES, 4) and rows[0].tolist() == init_box() and fake_gui["shown"] == FRAMES
    fake_gui["rois"] = [(0, 0, 0, 0)]  # selection cancelled
    with pytest.raises(SystemExit, match="no box was drawn"):
        run_video.main(["opencv", "csrt", str(video)])


def test_run_webcam_tracks_a_capture(video, tmp_path, fake_gui, monkeypatch, capsys):
    import pytracking.run_webcam as run_webcam

    monkeypatch.setattr(run_webcam, "display_problem", lambda: None)
    monkeypatch.setattr(run_webcam, "open_capture", lambda camera: cv2.VideoCapture(str(video)))
    # Preview: frame 0 shown, SPACE freezes; frame 1 is the first tracked; q after 5 frames.
    fake_gui["keys"] = [ord(" ")] + [-1] * 4 + [ord("q")]
    roi = (23, 21, 32, 32)  # true_boxes()[1] in whole pixels, as selectROI gives it
    fake_gui["rois"] = [roi]
    assert run_webcam.main(["opencv", "csrt", "--save_results", "--output", str(tmp_path)]) == 0
    (results,) = tmp_path.glob("camera0_*.txt")
    rows = read_rows(results)
    assert rows.shape == (5, 4) and rows[0].tolist() == list(roi)
    assert read_video(results.with_name(results.stem + "_tracked.mp4"))[0] == 5
    assert "tracked 5 frames of camera 0" in capsys.readouterr().out


def test_run_webcam_needs_a_display(monkeypatch):
    import pytracking.run_webcam as run_webcam

    monkeypatch.setattr(run_webcam, "display_problem", lambda: "no display is available")
    with pytest.raises(SystemExit, match="needs a window.*no display is available.*run_video.py with --init_box"):
        run_webcam.main(["opencv", "csrt"])
