"""A tracker as the evaluation sees it: a tracker package and one of its parameter files, found by
name (``Tracker("opencv", "csrt")``), run over a sequence frame by frame with every frame timed."""

from __future__ import annotations

import difflib
import importlib
import logging
import pkgutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from admin.environment import env_settings
from ltr.data.image_loader import imread
from pytracking.evaluation.results import run_folder
from pytracking.evaluation.data import Sequence
from pytracking.tracker.base import BaseTracker, TrackerParams

logger = logging.getLogger(__name__)

TRACKER_PACKAGE = "pytracking.tracker"
PARAMETER_PACKAGE = "pytracking.parameter"


def _subpackages(package: str) -> list[str]:
    module = importlib.import_module(package)
    return sorted(info.name for info in pkgutil.iter_modules(module.__path__) if info.ispkg)


def _submodules(package: str) -> list[str]:
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError:
        return []
    return sorted(info.name for info in pkgutil.iter_modules(module.__path__) if not info.ispkg)


def tracker_names() -> list[str]:
    """Trackers found in ``pytracking/tracker/`` (packages defining ``get_tracker_class``)."""
    return _subpackages(TRACKER_PACKAGE)


def parameter_names(tracker: str) -> list[str]:
    """Parameter files of ``tracker`` in ``pytracking/parameter/<tracker>/``."""
    return _submodules(f"{PARAMETER_PACKAGE}.{tracker}")


def _unknown(kind: str, name: str, known: list[str], where: str) -> ValueError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(known) if known else "none"
    return ValueError(f"unknown {kind} {name!r}: no {where}.{hint} Available: {listed}")


def _import(module_name: str, kind: str, name: str, known: list[str], where: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        # Only a missing module of this name is a typo; a missing dependency inside it is not.
        if error.name is not None and (module_name == error.name or module_name.startswith(error.name + ".")):
            raise _unknown(kind, name, known, where) from None
        raise


class Tracker:
    """Tracker ``name`` with parameter file ``parameter_name``; results of run ``run_id`` go to
    ``<results_path>/<name>/<parameter_name>[_<run_id:03d>]``.

    Raises:
        ValueError: no such tracker or parameter file; the message lists the available ones.
    """

    def __init__(self, name: str, parameter_name: str, run_id: int | None = None,
                 display_name: str | None = None):
        self.name = name
        self.parameter_name = parameter_name
        self.run_id = run_id
        self.display_name = display_name
        package = _import(f"{TRACKER_PACKAGE}.{name}", "tracker", name, tracker_names(),
                          f"package pytracking/tracker/{name}/")
        if not hasattr(package, "get_tracker_class"):
            raise ValueError(f"pytracking/tracker/{name}/__init__.py defines no get_tracker_class(); "
                             f"see pytracking/tracker/base.py for what a tracker package holds")
        self.tracker_class: type[BaseTracker] = package.get_tracker_class()
        self._parameter_module = f"{PARAMETER_PACKAGE}.{name}.{parameter_name}"
        module = _import(self._parameter_module, f"parameter file of tracker {name!r}", parameter_name,
                         parameter_names(name), f"file pytracking/parameter/{name}/{parameter_name}.py")
        if not callable(getattr(module, "parameters", None)):
            raise ValueError(f"{module.__file__} defines no parameters() function returning TrackerParams")

    @property
    def label(self) -> str:
        """How reports name the tracker: its display name, or ``name param[_run]``."""
        if self.display_name:
            return self.display_name
        run = "" if self.run_id is None else f"_{self.run_id:03d}"
        return f"{self.name} {self.parameter_name}{run}"

    def __repr__(self) -> str:
        return f"Tracker({self.name!r}, {self.parameter_name!r}, run_id={self.run_id!r})"

    @property
    def results_dir(self) -> Path:
        """Where this run's result files go (``results_path`` of the environment)."""
        return run_folder(env_settings().results_path, self.name, self.parameter_name, self.run_id)

    def get_parameters(self) -> TrackerParams:
        """A fresh :class:`TrackerParams` from the parameter file's ``parameters()``. A numbered
        run of a tracker whose parameters have a ``seed`` draws with seed + run id, so that
        runs 0, 1, 2 differ as repeated runs of a randomised tracker should, and each repeats."""
        params = importlib.import_module(self._parameter_module).parameters()
        if not isinstance(params, TrackerParams):
            raise TypeError(f"parameters() of pytracking/parameter/{self.name}/{self.parameter_name}.py returned "
                            f"{type(params).__name__}, expected TrackerParams")
        # A parameter the tracker does not read is a typo or a leftover: reported before any run.
        self.tracker_class.check_parameters(params, f"pytracking/parameter/{self.name}/{self.parameter_name}.py")
        if self.run_id is not None and params.has("seed"):
            params.seed = int(params.seed) + int(self.run_id)
        return params

    def create_tracker(self, params: TrackerParams) -> BaseTracker:
        return self.tracker_class(params)

    def run_sequence(self, seq: Sequence, *, debug: int | None = None) -> dict[str, Any]:
        """Run the tracker over ``seq``: ``initialize`` on frame 0 with ``seq.init_info()``,
        ``track`` on the others. ``debug`` (when given) sets ``params.debug``; trackers that
        save debug images put them in ``params.debug_dir``, by default
        ``<results_dir>/debug/<sequence>/``.

        Returns ``{"target_bbox": (N, 4) float64, "time": (N,) seconds, ...}``; frame 0's box
        is the initial box unless ``initialize`` returns one, and its time is the
        initialisation's. Times cover the tracker's calls, not reading the frames. Other
        outputs that the tracker returns are lists of length N (None where a frame lacks them).
        """
        params = self.get_parameters()
        if debug is not None:
            params.debug = debug
        params.set_default("debug", 0)
        params.set_default("debug_dir", str(self.results_dir / "debug" / seq.name))
        tracker = self.create_tracker(params)
        init_info = seq.init_info()
        outputs: dict[str, list] = {"target_bbox": [], "time": []}
        for index, frame in enumerate(seq.frames):
            image = imread(frame)
            start = time.perf_counter()
            if index == 0:
                out = tracker.initialize(image, init_info) or {}
            else:
                out = tracker.track(image, {})
            elapsed = time.perf_counter() - start
            if out is None or not isinstance(out, dict):
                raise TypeError(f"{self.label}: {'initialize' if index == 0 else 'track'} returned "
                                f"{type(out).__name__} on frame {index} of {seq.name}, expected a dict")
            if index > 0 and "target_bbox" not in out:
                raise KeyError(f"{self.label}: track() returned no 'target_bbox' on frame {index} of {seq.name}")
            box = self._checked_box(out.get("target_bbox", init_info["init_bbox"]), seq.name, index)
            outputs["target_bbox"].append(box)
            outputs["time"].append(elapsed)
            for key, value in out.items():
                if key != "target_bbox":
                    outputs.setdefault(key, [None] * index).append(value)
            for values in outputs.values():
                if len(values) == index:  # a key this frame did not return
                    values.append(None)
        result: dict[str, Any] = dict(outputs)
        result["target_bbox"] = np.asarray(outputs["target_bbox"], dtype=np.float64).reshape(-1, 4)
        result["time"] = np.asarray(outputs["time"], dtype=np.float64)
        return result

    def _checked_box(self, box, sequence: str, index: int) -> list[float]:
        values = np.asarray(box, dtype=np.float64).reshape(-1)
        if values.shape != (4,) or not np.all(np.isfinite(values)) or values[2] < 0 or values[3] < 0:
            raise ValueError(f"{self.label} returned the box {box!r} on frame {index} of {sequence}: "
                             f"a box is four finite numbers x, y, w, h with w, h >= 0")
        return values.tolist()


def trackerlist(name: str, parameter_name: str, run_ids: Iterable[int | None] | int | None = None,
                display_name: str | None = None) -> list[Tracker]:
    """One :class:`Tracker` per run id (``range(n)`` when an int; the run without id when None)."""
    if run_ids is None:
        run_ids = [None]
    elif isinstance(run_ids, int):
        run_ids = range(run_ids)
    return [Tracker(name, parameter_name, run_id, display_name) for run_id in run_ids]
