"""Every script in ``benchmarks/`` keeps running: each one's ``--quick`` mode (tiny sizes, every
column of the full run) is run here in-process, so that a change to the code a benchmark measures
breaks this test rather than, months later, the benchmark.

The convention every script follows: ``main(argv: list[str] | None = None) -> dict`` parses
``argv``, prints its lines and ends with one stdout line ``json.dumps(figures)``, returning
``figures``; ``--quick`` sets ``figures["quick"]`` True; the module constant ``JSON_FIELDS`` lists
the keys that line always has; timings carry their unit in the name (``_ms``, ``_s``,
``_per_s``). A new script is covered by being in the folder. No wall-clock time is asserted:
only that timings are positive, finite numbers."""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))
# Suffixes of figures that are durations or rates: positive and finite wherever they are numbers
# (None stands for a column that cannot be measured here, e.g. without a compiled op).
TIMING_SUFFIXES = ("_ms", "_s")
# Not part of the repository's own files: tools' folders and caches.
NOT_WATCHED = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", "node_modules"}


def script_params():
    return [pytest.param(path, id=path.name) for path in SCRIPTS]


def test_there_are_benchmarks():
    assert len(SCRIPTS) >= 5, f"expected the benchmark scripts in {BENCHMARKS}"


def declarations(path: Path) -> list[str]:
    """What ``path`` lacks of the convention, read from its source (nothing is run): a
    module-level ``JSON_FIELDS`` tuple of strings, an argparse ``--quick`` flag, and
    ``main(argv...)``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    missing = []
    fields = None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        else:
            continue
        if "JSON_FIELDS" in targets:
            fields = node.value
    if fields is None:
        missing.append("a module-level JSON_FIELDS: tuple[str, ...] naming the keys of its JSON line")
    elif not isinstance(fields, ast.Tuple):
        missing.append(f"JSON_FIELDS as a tuple (line {fields.lineno} assigns a {type(fields).__name__})")
    quick = any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument" and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == "--quick"
                for node in ast.walk(tree))
    if not quick:
        missing.append('a --quick flag (parser.add_argument("--quick", action="store_true", ...))')
    mains = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "main"]
    if not mains or not mains[0].args.args:
        missing.append("def main(argv: list[str] | None = None) -> dict")
    runs_main = any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
                    and any("main(" in ast.unparse(statement) for statement in node.body) for node in tree.body)
    if not runs_main:
        missing.append('if __name__ == "__main__": main() (python benchmarks/<name>.py runs it)')
    return missing


@pytest.mark.parametrize("path", script_params())
def test_script_declares_the_convention(path):
    missing = declarations(path)
    assert not missing, f"benchmarks/{path.name} lacks: " + "; ".join(missing)


def test_declarations_finds_what_is_missing(tmp_path):
    bare = tmp_path / "bare.py"
    bare.write_text("import argparse\n\ndef main():\n    argparse.ArgumentParser().parse_args()\n")
    assert len(declarations(bare)) == 4
    good = tmp_path / "good.py"
    good.write_text('import argparse\nJSON_FIELDS: tuple[str, ...] = ("quick",)\n\n'
                    'def main(argv=None):\n    parser = argparse.ArgumentParser()\n'
                    '    parser.add_argument("--quick", action="store_true")\n\n'
                    'if __name__ == "__main__":\n    main()\n')
    assert declarations(good) == []
    listed = tmp_path / "listed.py"
    listed.write_text('JSON_FIELDS = ["quick"]\n')
    assert any("as a tuple" in m for m in declarations(listed))


def load_script(path: Path, monkeypatch):
    """The script as a module named ``benchmarks.<name>``: unique, and the name by which a
    worker process it spawns finds the classes it defines (registered while the test runs)."""
    name = f"benchmarks.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def repository_files() -> dict[str, tuple[int, int]]:
    """(modification time, size) of every file in the repository but tools' folders and caches."""
    files = {}
    for folder, subfolders, names in os.walk(REPO):
        subfolders[:] = [s for s in subfolders if s not in NOT_WATCHED]
        for name in names:
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:  # removed meanwhile
                continue
            files[os.path.relpath(path, REPO)] = (stat.st_mtime_ns, stat.st_size)
    return files


def timing_problems(figures: dict) -> list[str]:
    """Top-level timings (keys ending in _ms or _s, rates in _per_s included) that are numbers but
    not positive and finite."""
    return [f"{key} = {value!r}" for key, value in figures.items()
            if key.endswith(TIMING_SUFFIXES) and isinstance(value, (int, float)) and not isinstance(value, bool)
            and not (math.isfinite(value) and value > 0)]


def test_timing_problems_names_bad_timings():
    figures = {"a_ms": 0.0, "b_s": float("nan"), "c_per_s": float("inf"), "d_s": None, "e_ms": 1.5,
               "quick": True, "f_over_g": 0.0, "h_s": -1}
    assert timing_problems(figures) == ["a_ms = 0.0", "b_s = nan", "c_per_s = inf", "h_s = -1"]


@pytest.mark.parametrize("path", script_params())
def test_quick_run_ends_with_its_json_figures(path, monkeypatch, tmp_path, capsys, isolated_workspace):
    # Whatever a script writes goes to tmp_path: the workspace (isolated_workspace), temporary
    # folders, and the current folder.
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.chdir(tmp_path)
    before = repository_files()
    module = load_script(path, monkeypatch)
    returned = module.main(["--quick"])
    lines = capsys.readouterr().out.strip().splitlines()
    written = sorted(p for p, stamp in repository_files().items() if before.get(p) != stamp)

    assert lines, f"benchmarks/{path.name} --quick printed nothing"
    try:
        printed = json.loads(lines[-1])
    except json.JSONDecodeError as error:
        pytest.fail(f"the last line of benchmarks/{path.name} --quick is not JSON ({error}): {lines[-1]!r}")
    assert isinstance(returned, dict), f"main() of benchmarks/{path.name} returned {type(returned).__name__}"
    assert printed == json.loads(json.dumps(returned)), "the JSON line differs from the figures main() returns"
    assert printed.get("quick") is True, 'figures["quick"] must be True under --quick'
    assert not timing_problems(printed), f"timings that are not positive and finite: {timing_problems(printed)}"
    assert not written, f"benchmarks/{path.name} --quick wrote into the repository: {written}"
    # Last, so that a script without it shows every other check passing first.
    fields = getattr(module, "JSON_FIELDS", None)
    assert fields is not None, f"benchmarks/{path.name} has no JSON_FIELDS"
    absent = [key for key in fields if key not in printed]
    assert not absent, f"JSON_FIELDS keys missing from the JSON line: {absent}"


def test_mot_metrics_quick_without_trackeval(monkeypatch, tmp_path, capsys, isolated_workspace):
    """The MOT metrics benchmark's own figures: the tiny evaluation's size, scores that are
    fractions, TrackEval's columns null with --no-trackeval, and numpy without the np.float and
    np.int aliases it adds for TrackEval while it runs."""
    import numpy as np

    monkeypatch.chdir(tmp_path)
    aliases = {name: hasattr(np, name) for name in ("float", "int")}
    figures = load_script(BENCHMARKS / "mot_metrics.py", monkeypatch).main(["--quick", "--no-trackeval"])
    capsys.readouterr()
    assert figures["sequences"] == 3 and figures["frames"] == 60 + 45 + 80
    assert figures["gt_boxes"] > 0 and figures["tracker_boxes"] > 0
    for score in ("HOTA", "MOTA", "IDF1"):
        assert 0 < figures[score] < 1, score
    assert figures["trackeval_s"] is None and figures["trackeval_over_ours"] is None
    assert figures["max_abs_diff"] is None and figures["max_diff_at"] is None
    assert {name: hasattr(np, name) for name in ("float", "int")} == aliases
