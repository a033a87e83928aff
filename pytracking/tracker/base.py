"""The interface every tracker implements, and the parameters it is built from.

Adding a tracker named ``mytracker`` with a parameter setting ``default``:

- ``pytracking/tracker/mytracker/__init__.py`` defines ``get_tracker_class()``, returning a
  subclass of :class:`BaseTracker` (import the class inside the function when it pulls in heavy
  modules, so that finding the tracker stays cheap).
- ``pytracking/parameter/mytracker/default.py`` defines ``parameters() -> TrackerParams``.
  A variant imports a base setting and overrides what differs::

      from pytracking.parameter.mytracker.default import parameters as base

      def parameters() -> TrackerParams:
          params = base()
          params.search_area_scale = 5.0
          return params

- ``python pytracking/run_tracker.py mytracker default --dataset_name otb`` runs it; the
  evaluation wrapper (:class:`pytracking.evaluation.tracker.Tracker`) builds the tracker once
  per sequence, calls :meth:`BaseTracker.initialize` on the first frame and
  :meth:`BaseTracker.track` on every other, and times each call.

Images are RGB uint8 arrays ``(H, W, 3)``; boxes are ``[x, y, w, h]`` floats in pixels.
``params.debug`` (an int, 0 by default) asks for more logging or visualisation.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np


class TrackerParams:
    """An attribute bag of tracker parameters: ``TrackerParams(lr=0.01).lr``."""

    def __init__(self, **values: Any):
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup failed: say which parameter is missing.
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"tracker parameter {name!r} is not set; set it in the tracker's parameter file "
                             f"(pytracking/parameter/<tracker>/<param>.py). Set: {', '.join(sorted(self.__dict__))}")

    def get(self, name: str, *default: Any) -> Any:
        """The value of ``name``; ``default`` when given and ``name`` is not set, otherwise
        an AttributeError naming the parameter."""
        if len(default) > 1:
            raise TypeError(f"get() takes one default at most, got {len(default)}")
        if name in self.__dict__:
            return self.__dict__[name]
        if default:
            return default[0]
        return getattr(self, name)  # raises the AttributeError naming the parameter

    def has(self, name: str) -> bool:
        return name in self.__dict__

    def set_default(self, name: str, value: Any) -> None:
        """Set ``name`` to ``value`` unless it is set already."""
        self.__dict__.setdefault(name, value)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in sorted(self.__dict__.items()))
        return f"TrackerParams({values})"


class BaseTracker(abc.ABC):
    """A single-object tracker: built from its parameters, then initialised on the first frame
    of a sequence and asked for the target's box on each following frame."""

    def __init__(self, params: TrackerParams):
        self.params = params

    @abc.abstractmethod
    def initialize(self, image: np.ndarray, info: dict) -> dict:
        """Start tracking the object at ``info["init_bbox"]`` ``[x, y, w, h]`` in ``image``
        (RGB uint8 ``(H, W, 3)``). Returns per-frame outputs (may be ``{}``; the first frame's
        box is then the initial box)."""

    @abc.abstractmethod
    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        """The target in the next frame: a dict with at least ``"target_bbox"``
        ``[x, y, w, h]`` (floats), and any other per-frame outputs."""
