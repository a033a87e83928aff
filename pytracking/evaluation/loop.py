"""The one per-frame tracking loop: ``initialize`` on the first frame (and whenever the caller
re-initialises), ``track`` on the others, each call timed and its output checked against the
tracker's kind of output (:mod:`pytracking.tracker.outputs`). Benchmark sequences
(:meth:`pytracking.evaluation.tracker.Tracker.run_sequence`) and videos
(:func:`pytracking.evaluation.video.track_video`) both step through it."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from pytracking.tracker.base import BaseTracker
from pytracking.tracker.outputs import FrameOutputError


@dataclasses.dataclass
class FrameStep:
    """One frame: the checked output (``value``), the tracker's whole dict, the call's seconds."""

    index: int
    value: np.ndarray
    out: dict[str, Any]
    seconds: float


class FrameLoop:
    """Steps ``tracker`` through frames; ``label`` and ``source`` name it and its frames in errors."""

    def __init__(self, tracker: BaseTracker, *, label: str, source: str):
        self.tracker = tracker
        self.output = type(tracker).frame_output
        self.label = label
        self.source = source

    def initialize(self, image: np.ndarray, info: dict, *, frame: int = 0) -> FrameStep:
        """Start (or restart, on a later ``frame``) from ``info``; the output defaults to the
        kind's first-frame value when ``initialize`` returns none."""
        start = time.perf_counter()
        out = self.tracker.initialize(image, info)
        seconds = time.perf_counter() - start
        out = {} if out is None else out
        self._check_dict(out, "initialize", frame)
        value = out[self.output.key] if self.output.key in out else self.output.first_frame_default(info)
        return self._step(frame, value, out, seconds)

    def track(self, image: np.ndarray, *, frame: int, info: dict | None = None) -> FrameStep:
        start = time.perf_counter()
        out = self.tracker.track(image, {} if info is None else info)
        seconds = time.perf_counter() - start
        self._check_dict(out, "track", frame)
        if self.output.key not in out:
            raise FrameOutputError(f"{self.label}: track() returned no {self.output.key!r} on frame {frame} "
                                   f"of {self.source}")
        return self._step(frame, out[self.output.key], out, seconds)

    def _check_dict(self, out: Any, call: str, frame: int) -> None:
        if not isinstance(out, dict):
            raise TypeError(f"{self.label}: {call} returned {type(out).__name__} on frame {frame} of "
                            f"{self.source}, expected a dict")

    def _step(self, frame: int, value: Any, out: dict, seconds: float) -> FrameStep:
        checked = self.output.check(value, f"{self.label} on frame {frame} of {self.source}")
        return FrameStep(frame, checked, out, seconds)
