"""Multi-object trackers on a video file: detections from a MOTChallenge file, the MOTChallenge
result, the annotated video (a colour and an id per track), and run_video.py's errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ltr.data.box_files import BoxFileError, read_mot_rows
from pytracking.evaluation.tracker import Tracker
from pytracking.evaluation.video import (annotate_tracks, read_video_detections, track_colour, track_video,
                                         track_video_mot)

REPO = Path(__file__).resolve().parents[3]
WIDTH, HEIGHT, FRAMES = 200, 150, 12
STARTS = np.array([[10.0, 10.0], [150.0, 20.0], [60.0, 100.0]])  # three objects, top-left corners
STEPS = np.array([[4.0, 2.0], [-3.0, 3.0], [5.0, -2.0]])  # pixels per frame; the paths never meet
SIZES = np.array([[20.0, 30.0], [24.0, 24.0], [30.0, 18.0]])
COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0)]


def true_boxes(frame: int) -> np.ndarray:
    """(3, 4) boxes [x, y, w, h] of the three rectangles on ``frame`` (from 0)."""
    return np.column_stack([STARTS + frame * STEPS, SIZES])


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> tuple[Path, Path]:
    """A 12-frame video of three coloured rectangles and a hand-made det.txt of their boxes
    (score 0.9), frames counted from 1; frame 5 (index 4) has no detections at all."""
    folder = tmp_path_factory.mktemp("mot_video")
    video, det = folder / "three.mp4", folder / "det.txt"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (WIDTH, HEIGHT))
    assert writer.isOpened()
    lines = []
    for frame in range(FRAMES):
        image = np.full((HEIGHT, WIDTH, 3), 90, dtype=np.uint8)
        for (x, y, w, h), colour in zip(true_boxes(frame), COLOURS):
            cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), colour, -1)
            if frame != 4:
                lines.append(f"{frame + 1},-1,{x:g},{y:g},{w:g},{h:g},0.9,-1,-1,-1")
        writer.write(image)
    writer.release()
    det.write_text("\n".join(lines) + "\n")
    return video, det


def frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), path
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_read_video_detections_by_frame_index(scene):
    detections = read_video_detections(scene[1])
    assert sorted(detections) == [i for i in range(FRAMES) if i != 4]
    np.testing.assert_allclose(detections[0], np.column_stack([true_boxes(0), np.full(3, 0.9)]))


@pytest.mark.parametrize("name", ["sort", "bytetrack"])
def test_track_video_mot_writes_motchallenge_rows_and_video(scene, tmp_path, name):
    video, det = scene
    results, annotated = tmp_path / "three.txt", tmp_path / "three_tracked.mp4"
    summary = track_video_mot(Tracker(name, "default"), video, det, results_file=results, video_file=annotated)
    assert summary.frames == FRAMES and summary.identities == 3
    assert not list(tmp_path.glob("*partial*"))
    rows = read_mot_rows(results)
    assert rows.extra.shape[1] == 3 and np.all(rows.extra == -1)
    np.testing.assert_array_equal(rows.to_array()[:, :7], np.round(summary.tracks, 2))
    # Each identity follows one rectangle: its boxes are that rectangle's on every frame it has.
    for identity in np.unique(rows.id):
        mine = rows.select(rows.id == identity)
        truth = np.stack([true_boxes(f - 1) for f in mine.frame])  # (n, 3, 4)
        error = np.abs(truth - mine.box[:, None, :]).max(axis=2)  # (n, 3) against each rectangle
        target = int(np.argmin(error[0]))
        assert np.all(np.argmin(error, axis=1) == target) and error[:, target].max() < 3
    # Frame 5 has no detections: all three objects are tracked after it under their first ids.
    assert len(np.unique(rows.id[rows.frame >= 8])) == 3
    assert frame_count(annotated) == FRAMES


def test_track_colour_is_fixed_per_identity_and_drawn():
    assert track_colour(7) == track_colour(7) and track_colour(1) != track_colour(2)
    frame = np.zeros((60, 80, 3), dtype=np.uint8)
    out = annotate_tracks(frame, np.array([[7, 10, 20, 30, 25, 0.9]]), 3, 12.5)
    assert not frame.any()  # the input is left alone
    # The box's left edge is drawn in identity 7's colour.
    assert tuple(int(v) for v in out[35, 10]) == track_colour(7)


def test_single_and_multi_object_paths_refuse_each_other(scene):
    video, det = scene
    with pytest.raises(ValueError, match="track_video_mot"):
        track_video(Tracker("sort", "default"), video, [1, 1, 5, 5])
    with pytest.raises(ValueError, match="single-object tracker"):
        track_video_mot(Tracker("opencv", "csrt"), video, det)


def test_a_malformed_detection_file_names_file_and_line(scene, tmp_path):
    bad = tmp_path / "det.txt"
    bad.write_text("1,-1,10,10,20,30,0.9,-1,-1,-1\n2,-1,10,10,nan,30,0.9,-1,-1,-1\n")
    with pytest.raises(BoxFileError, match=r"det.txt, line 2"):
        track_video_mot(Tracker("sort", "default"), scene[0], bad)


def run_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")}
    env.update(TRACKING_LOCAL_FILE=os.devnull, TRACKING_WORKSPACE_DIR=str(tmp_path / "ws"),
               DISPLAY="", WAYLAND_DISPLAY="")
    return subprocess.run([sys.executable, str(REPO / "pytracking" / "run_video.py"), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_run_video_script_tracks_with_detections(scene, tmp_path):
    video, det = scene
    done = run_script(tmp_path, "bytetrack", "default", str(video), "--detections", str(det), "--save_results",
                      "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    rows = read_mot_rows(tmp_path / "out" / "three.txt")
    assert len(np.unique(rows.id)) == 3 and rows.frame.max() == FRAMES
    assert frame_count(tmp_path / "out" / "three_tracked.mp4") == FRAMES
    assert "in 3 tracks" in done.stdout and "three_tracked.mp4" in done.stdout


def test_run_video_script_needs_detections_for_a_mot_tracker(scene, tmp_path):
    done = run_script(tmp_path, "sort", "default", str(scene[0]))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--detections" in lines[0] and "tracks given detections" in lines[0], done.stderr
    done = run_script(tmp_path, "opencv", "csrt", str(scene[0]), "--detections", str(scene[1]))
    assert done.returncode != 0 and "not --detections" in done.stderr
    done = run_script(tmp_path, "sort", "default", str(scene[0]), "--detections", str(tmp_path / "none.txt"))
    assert done.returncode != 0 and "none.txt" in done.stderr
