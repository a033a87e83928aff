"""The OpenCV baselines: integer boxes for OpenCV, a lost target, options, and CSRT following a
moving textured square."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from pytracking.evaluation import Sequence
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.base import TrackerParams
from pytracking.tracker.opencv.tracker import OpenCVTracker, create_opencv_tracker, integer_box

SIDE = 24  # the square's side in pixels


def moving_square(folder: Path, frames: int = 30, width: int = 128, height: int = 96) -> Sequence:
    """A 6x6 checkerboard of random colours, ``SIDE`` pixels wide, moving over a blurred noise
    background: right across the frame while bobbing up and down."""
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.uniform(60, 190, (height, width, 3)).astype(np.float32), (0, 0), 3)
    cells = rng.integers(0, 2, (6, 6, 3)) * 200 + 25
    texture = np.kron(cells, np.ones((SIDE // 6, SIDE // 6, 1)))
    boxes, paths = [], []
    for t in range(frames):
        x = int(round(20 + 70 * (0.5 - 0.5 * np.cos(np.pi * t / (frames - 1)))))
        y = int(round(36 + 20 * np.sin(2 * np.pi * t / frames)))
        image = background.copy()
        image[y:y + SIDE, x:x + SIDE] = texture
        paths.append(folder / f"{t:04d}.png")
        cv2.imwrite(str(paths[-1]), image.astype(np.uint8))
        boxes.append([x, y, SIDE, SIDE])
    return Sequence("square", paths, "test", boxes)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) overlaps of (N, 4) boxes x, y, w, h."""
    x0, y0 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x1, y1 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]), np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


@pytest.fixture(scope="module")
def square(tmp_path_factory) -> Sequence:
    return moving_square(tmp_path_factory.mktemp("square"))


def test_csrt_follows_a_moving_textured_square(square):
    output = Tracker("opencv", "csrt").run_sequence(square)
    overlaps = iou(output["target_bbox"], square.ground_truth_rect)
    # The square moves 70 pixels right and 20 up and down in 30 frames; CSRT stays on it.
    assert overlaps.mean() > 0.8 and overlaps.min() > 0.5
    assert output["target_found"][1:] == [True] * (len(square) - 1)


@pytest.mark.parametrize("method", ["kcf", "mil"])
def test_kcf_and_mil_give_a_box_per_frame(square, method):
    output = Tracker("opencv", method).run_sequence(square)
    assert output["target_bbox"].shape == (len(square), 4) and np.all(output["target_bbox"][:, 2:] > 0)


def test_integer_box_rounds_corners_and_clips():
    # Corners (10.4, 20.6) and (15.6, 26.1) round to (10, 21) and (16, 26).
    assert integer_box([10.4, 20.6, 5.2, 5.5], (100, 100, 3)) == (10, 21, 6, 5)
    # Clipped to the 100x100 image; never less than a pixel.
    assert integer_box([-3.2, 95.0, 10.0, 10.0], (100, 100, 3)) == (0, 95, 7, 5)
    assert integer_box([50.2, 50.2, 0.1, 0.1], (100, 100, 3)) == (50, 50, 1, 1)
    assert integer_box([120.0, 10.0, 5.0, 5.0], (100, 100, 3)) == (99, 10, 1, 5)


class Lost:
    """Stands in for an OpenCV tracker that reports failure on every update."""

    def update(self, image):
        return False, (0, 0, 0, 0)


def test_lost_target_keeps_the_previous_box(caplog):
    tracker = OpenCVTracker(TrackerParams(method="kcf", options={}))
    image = np.zeros((40, 40, 3), np.uint8)
    image[10:20, 10:20] = 255
    assert tracker.initialize(image, {"init_bbox": [10.0, 10.0, 10.0, 10.0]}) == {}
    tracker._tracker = Lost()
    with caplog.at_level(logging.DEBUG, logger="pytracking.tracker.opencv.tracker"):
        first = tracker.track(image)
        second = tracker.track(image)
    assert first == {"target_bbox": [10.0, 10.0, 10.0, 10.0], "target_found": False} == second
    assert tracker.failures == 2
    assert "lost the target in frame 2" in caplog.text and "2 frames lost so far" in caplog.text


def test_options_and_methods_are_checked():
    assert create_opencv_tracker("csrt", {"padding": 2.5}) is not None
    with pytest.raises(ValueError, match=r"TrackerCSRT_Params has no option 'paddin'.*padding"):
        create_opencv_tracker("csrt", {"paddin": 2.5})
    with pytest.raises(ValueError, match=r"'goturn'.*csrt, kcf, mil"):
        create_opencv_tracker("goturn")
    with pytest.raises(RuntimeError, match="before initialize"):
        OpenCVTracker(TrackerParams(method="kcf")).track(np.zeros((8, 8, 3), np.uint8))
