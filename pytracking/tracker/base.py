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
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ltr.declarations import UnknownNameError, caller_file, describe_unknown, display_path, unknown_names
from pytracking.tracker.outputs import SINGLE_OBJECT, FrameOutput


class UnknownParameterError(UnknownNameError):
    """A parameter file sets a parameter that its tracker does not read (a ValueError)."""


class NoDefault:
    """Declared instead of a default: the tracker reads the parameter without one
    (:data:`REQUIRED`), or derives it from other parameters (the reason says how)."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"NoDefault({self.reason!r})"


REQUIRED = NoDefault("required")

# The file that set each parameter, per TrackerParams, for errors that name it; kept outside the
# values so that as_dict() and pickling see only the parameters.
_ORIGINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class TrackerParams:
    """An attribute bag of tracker parameters: ``TrackerParams(lr=0.01).lr``. It remembers which
    file set each parameter, so that a parameter its tracker does not read is reported there."""

    def __init__(self, **values: Any):
        self.__dict__.update(values)
        origin = caller_file(1)
        _ORIGINS[self] = dict.fromkeys(values, origin)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        _ORIGINS.setdefault(self, {})[name] = caller_file(1)

    def origin(self, name: str) -> str | None:
        """The file that last set ``name`` (None when not known, e.g. after unpickling)."""
        return _ORIGINS.get(self, {}).get(name)

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
        if name not in self.__dict__:
            self.__dict__[name] = value
            _ORIGINS.setdefault(self, {})[name] = caller_file(1)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in sorted(self.__dict__.items()))
        return f"TrackerParams({values})"


class BaseTracker(abc.ABC):
    """A tracker: built from its parameters, then initialised on the first frame of a sequence
    and asked for its output on each following frame. ``frame_output`` says what that output is:
    one box (``"target_bbox"``, the default) or the frame's tracks (``"tracks"``,
    :data:`pytracking.tracker.outputs.MULTI_OBJECT`)."""

    frame_output: ClassVar[FrameOutput] = SINGLE_OBJECT
    # The parameters the tracker reads (its helpers' included), each with the default it reads
    # it with, or REQUIRED / a NoDefault saying how it is derived. Every tracker in
    # pytracking/tracker declares them (a test holds each name read somewhere); None: not
    # declared, nothing checked (scripted trackers in tests).
    PARAMETERS: ClassVar[Mapping[str, Any] | None] = None
    # Set by the runner for every tracker: run_tracker.py's --debug and its debug folder.
    COMMON_PARAMETERS: ClassVar[Mapping[str, Any]] = {"debug": 0, "debug_dir": None}

    def __init__(self, params: TrackerParams):
        self.check_parameters(params)
        self.params = params

    @classmethod
    def needs_detections(cls, params: TrackerParams) -> bool:
        """Whether the tracker with ``params`` tracks given detections (``info["detections"]``
        each frame) rather than finding the objects itself: multi-object trackers do unless
        they say otherwise."""
        return cls.frame_output is not SINGLE_OBJECT

    @classmethod
    def check_parameters(cls, params: TrackerParams, source: str | None = None) -> None:
        """Raise :class:`UnknownParameterError` when ``params`` sets a parameter that the tracker
        does not declare in ``PARAMETERS``, naming the file that set it and close declared
        names; ``source`` (the parameter file loaded) leads the message, and stands for the
        file where that is not recorded."""
        if cls.PARAMETERS is None:
            return
        declared = {**cls.COMMON_PARAMETERS, **cls.PARAMETERS}
        unknown = unknown_names(params.as_dict(), declared)
        if unknown:
            files = {name: params.origin(name) or (display_path(source) if source else None) for name in unknown}
            message = describe_unknown("tracker parameter", files, declared, f"{cls.__name__} does not read",
                                       f"{cls.__name__}.PARAMETERS ({cls.__module__})")
            raise UnknownParameterError(f"parameter file {source}: {message}" if source else message, files)

    @abc.abstractmethod
    def initialize(self, image: np.ndarray, info: dict) -> dict:
        """Start tracking the object at ``info["init_bbox"]`` ``[x, y, w, h]`` in ``image``
        (RGB uint8 ``(H, W, 3)``). Returns per-frame outputs (may be ``{}``; the first frame's
        box is then the initial box)."""

    @abc.abstractmethod
    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        """The target in the next frame: a dict with at least ``"target_bbox"``
        ``[x, y, w, h]`` (floats), and any other per-frame outputs."""
