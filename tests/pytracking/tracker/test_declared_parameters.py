"""Tracker parameters are declared (``BaseTracker.PARAMETERS``): a parameter file that sets
anything else is an error naming it, and a declared name must be read by some code."""

import ast
import importlib
import inspect
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from pytracking.evaluation.tracker import Tracker, parameter_names, tracker_names
from pytracking.tracker.base import REQUIRED, BaseTracker, NoDefault, TrackerParams, UnknownParameterError

REPO = Path(__file__).resolve().parents[3]
TRACKERS = {name: Tracker(name, parameter_names(name)[0]).tracker_class for name in tracker_names()}
PARAMETER_FILES = [(tracker, name) for tracker in tracker_names() for name in parameter_names(tracker)]


def declared(tracker_class) -> dict:
    return {**tracker_class.COMMON_PARAMETERS, **tracker_class.PARAMETERS}


def read_pattern(name: str) -> re.Pattern:
    """A read of parameter ``name``: ``params.name`` / ``p.name`` (not an assignment), or
    ``params.get("name" ...)``, ``params.has("name")``, ``getattr(params, "name" ...)``."""
    quoted = rf"[\"']{re.escape(name)}[\"']"
    return re.compile(rf"\b(?:params|p)\.{re.escape(name)}\b(?!\s*=(?!=))"
                      rf"|\b(?:params|p)\.(?:get|has)\(\s*{quoted}|getattr\(\s*[\w.]*params\s*,\s*{quoted}")


def reading_sources() -> dict[Path, str]:
    """The code that may read parameters: pytracking without its parameter files and ATOM's
    declaration."""
    skip = {REPO / "pytracking/tracker/atom/parameters.py"}
    return {path: path.read_text() for path in (REPO / "pytracking").rglob("*.py")
            if path.relative_to(REPO / "pytracking").parts[0] != "parameter" and path not in skip}


@pytest.mark.parametrize("tracker", sorted(TRACKERS))
def test_every_tracker_declares_its_parameters(tracker):
    assert TRACKERS[tracker].PARAMETERS is not None, f"{TRACKERS[tracker].__name__} declares no PARAMETERS"


def test_every_declared_parameter_is_read_somewhere():
    sources = reading_sources()
    unread = [f"{cls.__name__}.{name}" for cls in [BaseTracker, *TRACKERS.values()]
              for name in (cls.COMMON_PARAMETERS if cls is BaseTracker else cls.PARAMETERS)
              if not any(read_pattern(name).search(text) for text in sources.values())]
    assert not unread, f"declared but read by no code (remove them from the declaration): {unread}"


def _constant(node: ast.AST):
    try:
        return ast.literal_eval(node)
    except ValueError:
        try:  # arithmetic of constants, e.g. 18 * 16
            return eval(compile(ast.Expression(node), "<default>", "eval"), {"__builtins__": {}})
        except NameError:
            return NoDefault("computed")


@pytest.mark.parametrize("tracker", sorted(TRACKERS))
def test_declared_defaults_are_those_the_tracker_reads_with(tracker):
    cls = TRACKERS[tracker]
    names = declared(cls)
    tree = ast.parse(Path(inspect.getsourcefile(cls)).read_text())
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in names):
            continue
        name, want = node.args[0].value, names[node.args[0].value]
        if len(node.args) == 1:
            assert want is REQUIRED, f"{name} is read without a default: declare it REQUIRED"
            continue
        got = _constant(node.args[1])
        if isinstance(got, NoDefault):
            assert isinstance(want, NoDefault) and want is not REQUIRED, f"{name}: declare how its default is derived"
        else:
            assert want == got and type(want) is type(got), f"{name}: declared default {want!r}, read with {got!r}"


@pytest.mark.parametrize("tracker, name", PARAMETER_FILES)
def test_every_parameter_file_loads_cleanly(tracker, name):
    runner = Tracker(tracker, name)
    params = runner.get_parameters()
    runner.tracker_class.check_parameters(params)


def generated_parameter_file(tmp_path: Path, body: str):
    path = tmp_path / "typo_params.py"
    path.write_text(textwrap.dedent(body))
    spec = importlib.util.spec_from_file_location("typo_params", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


def test_a_misspelt_parameter_names_itself_the_file_and_the_closest_name(tmp_path):
    from pytracking.tracker.atom.atom import ATOM

    path, module = generated_parameter_file(tmp_path, """
        from pytracking.parameter.atom.default import parameters as base

        def parameters():
            params = base()
            params.filter_sise = 3
            return params
        """)
    with pytest.raises(UnknownParameterError, match=rf"{re.escape(str(path))} sets tracker parameter "
                                                    r"'filter_sise'.*did you mean 'filter_size'") as error:
        ATOM(module.parameters())
    assert error.value.names == {"filter_sise": str(path)}
    assert isinstance(error.value, ValueError) and "\n" not in str(error.value)


def test_an_unread_parameter_is_an_error_too():
    from pytracking.tracker.opencv.tracker import OpenCVTracker

    with pytest.raises(ValueError, match=r"tracker parameter 'iounet_layers', which OpenCVTracker does not read"):
        OpenCVTracker(TrackerParams(method="kcf", iounet_layers=("layer3",)))


def test_the_runners_debug_parameters_are_accepted_and_undeclared_trackers_are_not_checked():
    from pytracking.tracker.opencv.tracker import OpenCVTracker

    params = TrackerParams(method="kcf")
    params.debug = 1
    params.set_default("debug_dir", "/tmp/debug")
    OpenCVTracker(params)

    class Scripted(BaseTracker):
        def initialize(self, image, info):
            return {}

        def track(self, image, info=None):
            return {}

    Scripted(TrackerParams(anything=1))


def test_run_tracker_reports_a_misspelt_parameter_in_one_line(tmp_path, monkeypatch, capsys):
    from pytracking import run_tracker

    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))
    path, module = generated_parameter_file(tmp_path, """
        from pytracking.tracker.base import TrackerParams

        def parameters():
            return TrackerParams(method="kcf", optoins={})
        """)
    monkeypatch.setitem(sys.modules, "pytracking.parameter.opencv.typo_params", module)
    with pytest.raises(SystemExit) as error:
        run_tracker.main(["opencv", "typo_params", "--dataset_name", "otb"])
    message = str(error.value.code)
    assert "pytracking/parameter/opencv/typo_params.py" in message and "'optoins'" in message
    assert "did you mean 'options'" in message and str(path) in message and "\n" not in message
