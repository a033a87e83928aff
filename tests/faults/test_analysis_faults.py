"""Fault injection for the analysis and the evaluation datasets (issue 14, items 6 and 11, and the
OTB-subset report): each case is one named test. The user must see one clear line (no traceback)
naming the file or setting and what to do, and nothing computed may be lost.

Tests run as root here, so file modes do not stop writes. An unwritable folder is made as a path
whose parent is a regular file (no user can create a folder there); a full disk is a patched
write raising ENOSPC.

Cases (8):
1. result_plot_path unwritable (from the environment variable): scores printed, one line naming
   the folder, result_plot_path and TRACKING_RESULT_PLOT_PATH, exit 1.
2. --output unwritable: scores printed, one line naming the folder and --output, exit 1.
3. Disk full while writing the curve cache: a warning; scores and tables complete.
4. Disk full while writing a plot: OutputWriteError carrying the scores; the tables were written.
5. inf in a result file: one line naming the file and line, exit 1.
6. -inf size in a result file (the fast path's other infinity): refused, naming file and line.
7. Only one OTB sequence's annotation present: that sequence is analysed, the others listed
   without error.
8. The annotation of a sequence that is used is missing: one line naming the file and otb_path.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pytracking.analysis import cache as cache_module
from pytracking.analysis import plots as plots_module
from pytracking.analysis.evaluate import TrackerRuns
from pytracking.analysis.pipeline import OutputWriteError, analyse_dataset
from pytracking.evaluation.annotations import read_spec
from pytracking.evaluation.datasets import get_dataset

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "pytracking" / "run_analysis.py"
FRAMES = 4
GT = [[10.0 + i, 10.0, 20.0, 20.0] for i in range(FRAMES)]


def rows(boxes) -> str:
    return "".join(",".join(f"{v:g}" for v in box) + "\n" for box in boxes)


def cli_env(base: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")}
    env.update(TRACKING_LOCAL_FILE=os.devnull, TRACKING_WORKSPACE_DIR=str(base / "ws"), **extra)
    env["PYTHONPATH"] = str(REPO)
    return env


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=180)


def unwritable_folder(base: Path) -> Path:
    """A folder no one can create: its parent is a regular file (works as root too)."""
    blocker = base / "a-file"
    blocker.write_text("not a folder\n")
    return blocker / "plots"


@pytest.fixture
def tree(tmp_path) -> Path:
    """The synthetic (GOT-10k) layout with two sequences and tracker T's results (all hits)."""
    val = tmp_path / "synth" / "val"
    val.mkdir(parents=True)
    (val / "list.txt").write_text("seqA\nseqB\n")
    for name in ("seqA", "seqB"):
        (val / name).mkdir()
        (val / name / "groundtruth.txt").write_text(rows(GT))
        (val / name / "absence.label").write_text("0\n" * FRAMES)
        (val / name / "cover.label").write_text("8\n" * FRAMES)
        result = tmp_path / "results" / "T" / "p" / f"{name}.txt"
        result.parent.mkdir(parents=True, exist_ok=True)
        result.write_text(rows(GT))
    return tmp_path


def base_args(tree: Path) -> list[str]:
    return ["--dataset", "synthetic", "--dataset_root", str(tree / "synth"), "--tracker", "T", "p",
            "--results_path", str(tree / "results")]


def assert_one_clear_line(done: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def test_unwritable_result_plot_path_prints_scores_and_names_the_setting(tree):
    folder = unwritable_folder(tree)
    done = run_cli([*base_args(tree), "--no_plots"], cli_env(tree, TRACKING_RESULT_PLOT_PATH=str(folder)))
    assert done.returncode == 1 and len(done.stdout.splitlines()) > 2, done.stdout + done.stderr
    # The scores come first and complete: all hits, AUC 100 * 20/21.
    assert done.stdout.splitlines()[1].split()[:3] == ["T", "p", f"{100 * 20 / 21:.2f}"], done.stderr
    assert "2 of 2 sequences used" in done.stdout
    line = assert_one_clear_line(done)
    assert str(folder) in line and "result_plot_path" in line
    assert "TRACKING_RESULT_PLOT_PATH" in line and "--output" in line
    # The unwritable cache under it was a warning, not the error.
    assert "curve cache" in done.stderr and "cannot be written" in done.stderr


def test_unwritable_output_folder_prints_scores_and_names_the_option(tree):
    folder = unwritable_folder(tree)
    done = run_cli([*base_args(tree), "--output", str(folder)], cli_env(tree))
    assert done.returncode == 1
    assert done.stdout.splitlines()[1].split()[:2] == ["T", "p"]
    line = assert_one_clear_line(done)
    assert str(folder) in line and "--output" in line and "result_plot_path" not in line


def test_disk_full_while_writing_the_curve_cache_is_a_warning(tree, monkeypatch, caplog):
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(cache_module, "atomic_write_bytes", full)
    with caplog.at_level(logging.WARNING):
        result = analyse_dataset("synthetic", [TrackerRuns("T", "p")], dataset_root=tree / "synth",
                                 results_path=tree / "results", output_dir=tree / "out", plots=False)
    assert result.scores["T p"]["AUC"] == pytest.approx(100 * 20 / 21)
    assert "cannot be written (No space left on device)" in caplog.text and "--no_cache" in caplog.text
    assert (tree / "out" / "scores.csv").is_file() and not (tree / "out" / "cache").exists()


def test_disk_full_while_writing_a_plot_keeps_the_scores_and_the_tables(tree, monkeypatch):
    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(plots_module, "atomic_write_bytes", full)
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tree / "ws"))
    out = tree / "ws" / "result_plots" / "synthetic"
    with pytest.raises(OutputWriteError, match=r"into .*synthetic \(No space left on device.*result_plot_path") as raised:
        analyse_dataset("synthetic", [TrackerRuns("T", "p")], dataset_root=tree / "synth",
                        results_path=tree / "results", plots=True, use_cache=False)
    assert raised.value.result.scores["T p"]["AUC"] == pytest.approx(100 * 20 / 21)
    assert (out / "scores.csv").is_file() and not (out / "success_plot.png").exists()


def refused_row(tree: Path, row: str) -> None:
    """The CLI on T's results with ``row`` as seqB's third line: exit 1, one line naming file and line."""
    path = tree / "results" / "T" / "p" / "seqB.txt"
    lines = path.read_text().splitlines()
    lines[2] = row
    path.write_text("\n".join(lines) + "\n")
    done = run_cli([*base_args(tree), "--no_plots", "--output", str(tree / "out")], cli_env(tree))
    assert done.returncode == 1
    line = assert_one_clear_line(done)
    assert f"{path}, line 3" in line and "infinite value" in line


def test_inf_in_a_result_file_is_one_line_naming_file_and_line(tree):
    refused_row(tree, "10,10,inf,20")


def test_negative_infinite_size_in_a_result_file_is_one_line_naming_file_and_line(tree):
    refused_row(tree, "10,10,20,-inf")


def otb_with_one_annotation(base: Path) -> tuple[Path, Path]:
    """The OTB-100 root with only Biker's annotation, and T's result for Biker."""
    root = base / "OTB100"
    biker = next(r for r in read_spec("otb100.json") if r["name"] == "Biker")
    frames = int(biker["endFrame"]) - int(biker["startFrame"]) + 1
    boxes = np.tile([10.0, 10.0, 20.0, 20.0], (frames, 1))
    anno = root / biker["anno_path"]
    anno.parent.mkdir(parents=True)
    anno.write_text(rows(boxes))
    result = base / "results" / "T" / "p" / "Biker.txt"
    result.parent.mkdir(parents=True)
    result.write_text(rows(boxes))
    return root, base / "results"


def test_one_otb_sequence_runs_with_only_its_own_annotation(tmp_path):
    root, results = otb_with_one_annotation(tmp_path)
    assert len(get_dataset("otb", root=root)) == 100
    done = run_cli(["--dataset", "otb", "--dataset_root", str(root), "--tracker", "T", "p", "--sequence", "Biker",
                    "--results_path", str(results), "--output", str(tmp_path / "out"), "--no_plots"],
                   cli_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "1 of 1 sequences used" in done.stdout


def test_missing_annotation_of_a_used_sequence_is_one_line_naming_file_and_field(tmp_path):
    root, results = otb_with_one_annotation(tmp_path)
    (results / "T" / "p" / "Basketball.txt").write_text(rows([[1, 1, 1, 1]]))
    done = run_cli(["--dataset", "otb", "--dataset_root", str(root), "--tracker", "T", "p", "--sequence", "Biker",
                    "Basketball", "--results_path", str(results), "--output", str(tmp_path / "out"), "--no_plots"],
                   cli_env(tmp_path))
    assert done.returncode == 1
    line = assert_one_clear_line(done)
    assert "Basketball" in line and "groundtruth_rect.txt is missing" in line and "otb_path" in line
