"""Helpers for the dataset tests: tiny frames of known colours, and an environment that no
admin/local.py or TRACKING_* variable of the user's leaks into."""

from __future__ import annotations

import types
from pathlib import Path

import cv2
import numpy as np
import pytest


FRAME_WIDTH, FRAME_HEIGHT = 24, 16


def colour(sequence: int, frame: int) -> tuple[int, int, int]:
    """A distinct RGB colour for each (sequence, frame) of a test tree."""
    return (20 + (17 * frame) % 220, 20 + (29 * sequence) % 220, 200 - (13 * frame) % 100)


def write_frame(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (FRAME_WIDTH, FRAME_HEIGHT)) -> None:
    """A uniform JPEG of colour ``rgb`` (written as OpenCV's BGR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.empty((size[1], size[0], 3), np.uint8)
    image[:] = rgb[::-1]
    ok, data = cv2.imencode(path.suffix, image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    path.write_bytes(data.tobytes())


def assert_frame(frame: np.ndarray, rgb: tuple[int, int, int], size: tuple[int, int] = (FRAME_WIDTH, FRAME_HEIGHT)) -> None:
    """``frame`` is the RGB uint8 image that :func:`write_frame` wrote with ``rgb``."""
    assert frame.dtype == np.uint8 and frame.shape == (size[1], size[0], 3)
    assert np.abs(frame.reshape(-1, 3).mean(axis=0) - np.array(rgb)).max() < 4, (frame[0, 0], rgb)


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


def box_lines(boxes: list[list[float]], separator: str = ",") -> list[str]:
    return [separator.join(str(v) for v in box) for box in boxes]


@pytest.fixture
def frames() -> types.SimpleNamespace:
    """The helpers above, for the test modules (pytest imports them in importlib mode)."""
    return types.SimpleNamespace(colour=colour, write_frame=write_frame, assert_frame=assert_frame,
                                 write_lines=write_lines, box_lines=box_lines)


@pytest.fixture
def clean_env(isolated_workspace) -> Path:
    """The isolated environment (tests/conftest.py); its workspace folder."""
    return isolated_workspace
