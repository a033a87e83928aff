"""What a tracker's frame output is, so that one loop and one runner serve every tracker.

A single-object tracker returns ``{"target_bbox": [x, y, w, h]}`` per frame; a multi-object
tracker returns ``{"tracks": (N, 6)}`` rows ``[id, x, y, w, h, score]``. A tracker class names
its kind in ``BaseTracker.frame_output``; the loop checks every frame's output with it, and the
runner stacks and writes the frames with it.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np


class FrameOutputError(ValueError):
    """A tracker returned a frame output that breaks its kind's contract; names tracker and frame."""


class FrameOutput(abc.ABC):
    """One kind of per-frame output: its key in the tracker's dict, its check, its stacking."""

    key: str

    @abc.abstractmethod
    def first_frame_default(self, init_info: dict) -> Any:
        """Frame 0's value when ``initialize`` returns none (it may return ``{}``)."""

    @abc.abstractmethod
    def check(self, value: Any, where: str) -> np.ndarray:
        """``value`` as a float64 array, or :class:`FrameOutputError` naming ``where``."""

    @abc.abstractmethod
    def stack(self, values: list[np.ndarray]) -> np.ndarray:
        """All frames' checked values as one array (the runner writes it)."""


class SingleObjectBox(FrameOutput):
    """``"target_bbox"``: four finite floats ``[x, y, w, h]`` with ``w, h >= 0``; stacked ``(N, 4)``."""

    key = "target_bbox"

    def first_frame_default(self, init_info: dict) -> Any:
        return init_info["init_bbox"]

    def check(self, value: Any, where: str) -> np.ndarray:
        box = np.asarray(value, dtype=np.float64).reshape(-1)
        if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] < 0 or box[3] < 0:
            raise FrameOutputError(f"{where}: the box {value!r} is not four finite numbers x, y, w, h with w, h >= 0")
        return box

    def stack(self, values: list[np.ndarray]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).reshape(-1, 4)


class MultiObjectTracks(FrameOutput):
    """``"tracks"``: ``(N, 6)`` rows ``[id, x, y, w, h, score]`` (N may be 0), ids whole numbers
    >= 1 and distinct within the frame, boxes finite with ``w, h >= 0``, scores finite; stacked
    ``(rows, 7)`` as ``[frame, id, x, y, w, h, score]`` with frames counted from 1, as
    MOTChallenge numbers them."""

    key = "tracks"

    def first_frame_default(self, init_info: dict) -> Any:
        return np.zeros((0, 6))

    def check(self, value: Any, where: str) -> np.ndarray:
        tracks = np.asarray(value, dtype=np.float64)
        if tracks.size == 0:
            return np.zeros((0, 6))
        if tracks.ndim != 2 or tracks.shape[1] != 6:
            raise FrameOutputError(f"{where}: tracks of shape {tracks.shape}, expected (N, 6) rows "
                                   f"[id, x, y, w, h, score]")
        if not np.all(np.isfinite(tracks)):
            raise FrameOutputError(f"{where}: tracks hold NaN or inf; every id, box and score must be finite")
        ids = tracks[:, 0]
        if np.any(ids != np.round(ids)) or np.any(ids < 1):
            raise FrameOutputError(f"{where}: track ids {ids.tolist()} must be whole numbers >= 1")
        if len(np.unique(ids)) != len(ids):
            raise FrameOutputError(f"{where}: a track id appears twice in one frame ({ids.tolist()})")
        if np.any(tracks[:, 3:5] < 0):
            raise FrameOutputError(f"{where}: a track has a negative width or height")
        return tracks

    def stack(self, values: list[np.ndarray]) -> np.ndarray:
        rows = [np.column_stack([np.full(len(tracks), frame, dtype=np.float64), tracks])
                for frame, tracks in enumerate(values, 1) if len(tracks)]
        return np.concatenate(rows) if rows else np.zeros((0, 7))


SINGLE_OBJECT = SingleObjectBox()
MULTI_OBJECT = MultiObjectTracks()
