import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytracking.run_analysis import build_parser, trackers_from_arguments

from .conftest import FRAMES, auc, ground_truth, write_results

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "pytracking" / "run_analysis.py"


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")}
    env.update(TRACKING_LOCAL_FILE=os.devnull, TRACKING_WORKSPACE_DIR=str(tmp_path / "ws"),
               **extra)
    return env


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def synthetic_tree(tmp_path) -> Path:
    """Two sequences in the synthetic (GOT-10k) layout; tracker T hits 4 and 2 of 4 frames."""
    val = tmp_path / "synth" / "val"
    val.mkdir(parents=True)
    (val / "list.txt").write_text("seqA\nseqB\n")
    for name, hits in (("seqA", 4), ("seqB", 2)):
        (val / name).mkdir()
        rows = "".join(",".join(f"{v:g}" for v in row) + "\n" for row in ground_truth())
        (val / name / "groundtruth.txt").write_text(rows)
        (val / name / "absence.label").write_text("0\n" * FRAMES)
        (val / name / "cover.label").write_text("8\n" * FRAMES)
        write_results(tmp_path / "results" / "T" / "p" / f"{name}.txt", hits)
    return tmp_path


def test_cli_prints_the_table_and_writes_the_outputs(synthetic_tree):
    env = cli_env(synthetic_tree, TRACKING_SYNTHETIC_DIR=str(synthetic_tree / "synth"),
                  TRACKING_RESULTS_PATH=str(synthetic_tree / "results"))
    done = run_cli(["--dataset", "synthetic", "--tracker", "T", "p", "--no_plots"], env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["Tracker", "AUC", "OP50", "OP75", "Precision", "NormPrecision", "Sequences"]
    assert lines[1].split() == ["T", "p", f"{(auc(4) + auc(2)) / 2:.2f}", "75.00", "75.00", "75.00", "75.00", "2"]
    out = synthetic_tree / "ws" / "result_plots" / "synthetic"
    assert f"written to {out}:" in done.stdout and "scores.csv" in done.stdout
    assert (out / "scores.csv").is_file() and (out / "sequences.csv").is_file()
    assert not (out / "success_plot.png").exists()


def test_cli_lists_missing_results_and_skip_missing_reports_the_count(synthetic_tree):
    (synthetic_tree / "results" / "T" / "p" / "seqB.txt").unlink()
    args = ["--dataset", "synthetic", "--dataset_root", str(synthetic_tree / "synth"), "--tracker", "T", "p",
            "--results_path", str(synthetic_tree / "results"), "--output", str(synthetic_tree / "out"), "--no_plots"]
    env = cli_env(synthetic_tree)
    failed = run_cli(args, env)
    assert failed.returncode == 1
    assert "1 result files are missing" in failed.stderr and str(Path("T", "p", "seqB.txt")) in failed.stderr
    assert "Traceback" not in failed.stderr
    done = run_cli([*args, "--skip_missing"], env)
    assert done.returncode == 0, done.stderr
    assert "1 of 2 sequences used (1 left out, results missing)" in done.stdout
    assert f"{auc(4):.2f}" in done.stdout and (synthetic_tree / "out" / "scores.md").is_file()


def test_runids_apply_to_the_tracker_before_them_or_by_default_to_all():
    args = build_parser().parse_args(["--dataset", "otb", "--runids", "0", "1", "--tracker", "a", "x",
                                      "--tracker", "b", "y", "--runids", "2", "--tracker", "c", "z"])
    trackers = trackers_from_arguments(args)
    assert [(t.name, t.param, t.run_ids) for t in trackers] == [("a", "x", (0, 1)), ("b", "y", (2,)),
                                                                 ("c", "z", (0, 1))]
    args = build_parser().parse_args(["--dataset", "otb", "--tracker", "a", "x", "--tracker", "a", "x",
                                      "--runids", "3"])
    labels = [(t.run_ids, t.label) for t in trackers_from_arguments(args)]
    assert labels == [((None,), "a x runs -"), ((3,), "a x runs 3")]


def test_runids_twice_for_one_tracker_is_an_error(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--dataset", "otb", "--tracker", "a", "x", "--runids", "1", "--runids", "2"])
    assert "--runids is given twice after --tracker a x" in capsys.readouterr().err


def test_short_results_fail_unless_allowed_then_count_as_failed_frames(synthetic_tree):
    # seqA's file loses its last row: 3 hits of 4 frames once the missing frame fails.
    path = synthetic_tree / "results" / "T" / "p" / "seqA.txt"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:3]))
    args = ["--dataset", "synthetic", "--dataset_root", str(synthetic_tree / "synth"), "--tracker", "T", "p",
            "--results_path", str(synthetic_tree / "results"), "--output", str(synthetic_tree / "out"), "--no_plots"]
    env = cli_env(synthetic_tree)
    for attempt in range(2):  # the second time the curves come from the cache: still refused
        failed = run_cli(args, env)
        assert failed.returncode == 1 and "Traceback" not in failed.stderr
        assert f"{path} has 3 rows but the ground truth has 4 frames" in failed.stderr
        assert "--allow_short_results" in failed.stderr
        done = run_cli([*args, "--allow_short_results"], env)
        assert done.returncode == 0, done.stderr
        assert f"{(auc(3) + auc(2)) / 2:.2f}" in done.stdout
        assert "T p: 1 missing frames counted as failures in 1 sequences: seqA (1)" in done.stdout
    rows = (synthetic_tree / "out" / "sequences.csv").read_text().splitlines()
    assert rows[0].endswith(",missing_frames") and rows[1].startswith("seqA,") and rows[1].endswith(",1")
    assert rows[2].endswith(",0")
    assert "T p: 1 frames missing at the end of 1 result files counted as failures (seqA 1)" in \
        (synthetic_tree / "out" / "scores.md").read_text()


def test_multi_run_labels_carry_the_run_count():
    args = build_parser().parse_args(["--dataset", "otb", "--tracker", "atom", "default", "--runids", "0", "1", "2",
                                      "--tracker", "dimp", "dimp50"])
    assert [t.label for t in trackers_from_arguments(args)] == ["atom default (3 runs)", "dimp dimp50"]


def test_got10k_metrics_on_request_print_ao_and_sr_beside_auc(synthetic_tree):
    args = ["--dataset", "synthetic", "--dataset_root", str(synthetic_tree / "synth"), "--tracker", "T", "p",
            "--results_path", str(synthetic_tree / "results"), "--output", str(synthetic_tree / "out"), "--no_plots"]
    env = cli_env(synthetic_tree)
    plain = run_cli(args, env)
    assert plain.returncode == 0, plain.stderr
    assert "AO" not in plain.stdout.splitlines()[0]
    done = run_cli([*args, "--got10k_metrics"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split()[-4:] == ["AO", "SR0.5", "SR0.75", "Sequences"]
    # Frame 1 is not scored: seqA's frames 2-4 have IoU 1, seqB's frame 2 IoU 1 and 3-4 IoU 0: 4 of 6.
    assert done.stdout.splitlines()[1].split()[-4:] == ["66.67", "66.67", "66.67", "2"]
