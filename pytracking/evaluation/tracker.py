"""A tracker as the evaluation sees it: a tracker class and one of its parameter settings, found
by name in ``pytracking/tracker`` and ``pytracking/parameter`` (``Tracker("opencv", "csrt")``) or
given directly (:meth:`Tracker.from_class`), run over a sequence by the one frame loop
(:mod:`pytracking.evaluation.loop`) with every frame timed and checked."""

from __future__ import annotations

import difflib
import importlib
import logging
import os
import pkgutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from admin.environment import env_settings
from ltr.data.image_loader import imread
from pytracking.evaluation.results import run_folder
from pytracking.evaluation.data import Sequence
from pytracking.evaluation.loop import FrameLoop
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


def user_network_path(network: str | os.PathLike) -> str:
    """A network checkpoint named by a user: a path that exists (from the current folder) is
    made absolute, so it is used as it is wherever the tracker runs; any other relative path
    is left to be looked up in ``network_path`` when the network is loaded
    (:func:`pytracking.features.net_wrappers.resolve_network_path`)."""
    path = Path(network).expanduser()
    return str(path.resolve()) if path.exists() else str(path)


class Tracker:
    """Tracker ``name`` with parameter file ``parameter_name``; results of run ``run_id`` go to
    ``<results_path>/<name>/<parameter_name>[_<run_id:03d>]``. ``network``: a checkpoint that
    replaces the parameter file's ``net_path`` (a path, absolute or from the current folder,
    or a file name in ``network_path``); results of another network go to the same folder, so
    give such runs their own ``run_id``.

    Raises:
        ValueError: no such tracker or parameter file; the message lists the available ones.
    """

    def __init__(self, name: str, parameter_name: str, run_id: int | None = None,
                 display_name: str | None = None, *, network: str | os.PathLike | None = None):
        self.name = name
        self.parameter_name = parameter_name
        self.run_id = run_id
        self.display_name = display_name
        self.network = None if network is None else user_network_path(network)
        self._parameters_source = f"pytracking/parameter/{name}/{parameter_name}.py"
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
        self._parameters: Callable[[], TrackerParams] = module.parameters

    @classmethod
    def from_class(cls, tracker_class: type[BaseTracker], parameters: Callable[[], TrackerParams], *,
                   name: str, parameter_name: str, run_id: int | None = None,
                   display_name: str | None = None, network: str | os.PathLike | None = None) -> "Tracker":
        """A tracker that lives outside ``pytracking/tracker`` (a user's own, a test's): built
        from ``tracker_class`` and the ``parameters()`` function, named ``name`` and
        ``parameter_name`` for its results folder."""
        tracker = cls.__new__(cls)
        tracker.name, tracker.parameter_name = name, parameter_name
        tracker.run_id, tracker.display_name = run_id, display_name
        tracker.network = None if network is None else user_network_path(network)
        tracker.tracker_class = tracker_class
        tracker._parameters = parameters
        tracker._parameters_source = f"{getattr(parameters, '__module__', '?')}.{getattr(parameters, '__qualname__', '?')}"
        return tracker

    @property
    def label(self) -> str:
        """How reports name the tracker: its display name, or ``name param[_run]``."""
        if self.display_name:
            return self.display_name
        run = "" if self.run_id is None else f"_{self.run_id:03d}"
        network = "" if self.network is None else f" ({Path(self.network).name})"
        return f"{self.name} {self.parameter_name}{run}{network}"

    def __repr__(self) -> str:
        network = "" if self.network is None else f", network={self.network!r}"
        return f"Tracker({self.name!r}, {self.parameter_name!r}, run_id={self.run_id!r}{network})"

    @property
    def results_dir(self) -> Path:
        """Where this run's result files go (``results_path`` of the environment)."""
        return run_folder(env_settings().results_path, self.name, self.parameter_name, self.run_id)

    def get_parameters(self) -> TrackerParams:
        """A fresh :class:`TrackerParams` from the parameter file's ``parameters()``. A numbered
        run of a tracker whose parameters have a ``seed`` draws with seed + run id, so that
        runs 0, 1, 2 differ as repeated runs of a randomised tracker should, and each repeats."""
        params = self._parameters()
        if not isinstance(params, TrackerParams):
            raise TypeError(f"parameters() of {self._parameters_source} returned "
                            f"{type(params).__name__}, expected TrackerParams")
        if self.network is not None:
            if not params.has("net_path"):
                raise ValueError(f"tracker {self.name!r} ({self._parameters_source}) uses no network (its parameters "
                                 f"set no net_path): leave out the network {self.network}")
            params.net_path = self.network
        # A parameter the tracker does not read is a typo or a leftover: reported before any run.
        self.tracker_class.check_parameters(params, self._parameters_source)
        if self.run_id is not None and params.has("seed"):
            params.seed = int(params.seed) + int(self.run_id)
        return params

    def create_tracker(self, params: TrackerParams) -> BaseTracker:
        return self.tracker_class(params)

    def build(self, *, debug: int | None = None, debug_dir: str | Path | None = None) -> BaseTracker:
        """A new tracker from fresh parameters; ``debug`` (when given) sets ``params.debug``
        (0 by default), ``debug_dir`` the default ``params.debug_dir``."""
        params = self.get_parameters()
        if debug is not None:
            params.debug = debug
        params.set_default("debug", 0)
        if debug_dir is not None:
            params.set_default("debug_dir", str(debug_dir))
        return self.create_tracker(params)

    @property
    def frame_output(self):
        """What a frame's output is (:mod:`pytracking.tracker.outputs`)."""
        return self.tracker_class.frame_output

    def run_sequence(self, seq: Sequence, *, debug: int | None = None) -> dict[str, Any]:
        """Run the tracker over ``seq``: ``initialize`` on frame 0 with ``seq.init_info()``,
        ``track`` on the others with ``seq.frame_info(index)``. ``debug`` (when given) sets
        ``params.debug``; trackers that save debug images put them in ``params.debug_dir``, by
        default ``<results_dir>/debug/<sequence>/``.

        Returns ``{key: stacked outputs, "time": (N,) seconds, ...}`` where ``key`` is the
        tracker's frame output: ``"target_bbox"`` ``(N, 4)`` float64 for a single-object
        tracker (frame 0's box is the initial box unless ``initialize`` returns one),
        ``"tracks"`` ``(rows, 7)`` ``[frame, id, x, y, w, h, score]`` for a multi-object one.
        Frame 0's time is the initialisation's. Times cover the tracker's calls, not reading the
        frames. Other outputs that the tracker returns are lists of length N (None where a
        frame lacks them).
        """
        init_info = seq.init_info()  # a bad first box is the sequence's fault: named before any tracker is built
        tracker = self.build(debug=debug, debug_dir=self.results_dir / "debug" / seq.name)
        loop = FrameLoop(tracker, label=self.label, source=seq.name)
        key = loop.output.key
        values: list[np.ndarray] = []
        outputs: dict[str, list] = {"time": []}
        for index, frame in enumerate(seq.frames):
            image = imread(frame)
            if index == 0:
                step = loop.initialize(image, init_info)
            else:
                step = loop.track(image, frame=index, info=seq.frame_info(index))
            values.append(step.value)
            outputs["time"].append(step.seconds)
            for name, value in step.out.items():
                if name != key:
                    outputs.setdefault(name, [None] * index).append(value)
            for series in outputs.values():
                if len(series) == index:  # a key this frame did not return
                    series.append(None)
        result: dict[str, Any] = {key: loop.output.stack(values), **outputs}
        result["time"] = np.asarray(outputs["time"], dtype=np.float64)
        return result


def trackerlist(name: str, parameter_name: str, run_ids: Iterable[int | None] | int | None = None,
                display_name: str | None = None, *, network: str | os.PathLike | None = None) -> list[Tracker]:
    """One :class:`Tracker` per run id (``range(n)`` when an int; the run without id when None)."""
    if run_ids is None:
        run_ids = [None]
    elif isinstance(run_ids, int):
        run_ids = range(run_ids)
    return [Tracker(name, parameter_name, run_id, display_name, network=network) for run_id in run_ids]
