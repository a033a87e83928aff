"""run_analysis.py on a multi-object dataset: SORT and ByteTrack run by the runner on a generated
synthetic MOT set, scored through the CLI (table, CSV/Markdown, HOTA curve plots) and through
analyse_dataset, whose combined numbers must be the metrics API's own."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ltr.data.box_files import ResultFileError, read_mot_rows
from ltr.dataset.synthetic.mot import MotConfig
from ltr.dataset.synthetic.mot_generate import generate_mot_dataset
from pytracking.analysis import TrackerRuns, analyse_dataset
from pytracking.analysis.mot import combine, evaluate_sequence
from pytracking.analysis.mot_report import MotAnalysisResult, plot_stem, preprocessing_for
from pytracking.evaluation import get_dataset
from pytracking.evaluation.running import run_dataset
from pytracking.evaluation.tracker import Tracker

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "pytracking" / "run_analysis.py"
TRACKERS = (("sort", "default"), ("bytetrack", "default"))


@pytest.fixture(scope="module")
def mot_workspace(tmp_path_factory) -> dict[str, str]:
    """A 2-sequence synthetic MOT val split and both trackers' results; the environment to use it."""
    root = tmp_path_factory.mktemp("mot_analysis")
    generate_mot_dataset(root / "data", seed=7, train=0, val=2,
                         config=MotConfig(width=320, height=240, frames=30, min_objects=5, max_objects=8), workers=1)
    env = {"TRACKING_LOCAL_FILE": os.devnull, "TRACKING_WORKSPACE_DIR": str(root / "ws"),
           "TRACKING_SYNTHETIC_MOT_DIR": str(root / "data")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        dataset = get_dataset("synthetic_mot")
        for name, param in TRACKERS:
            assert run_dataset(dataset, Tracker(name, param)).ok
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return env


@pytest.fixture
def environment(mot_workspace, monkeypatch):
    for key, value in mot_workspace.items():
        monkeypatch.setenv(key, value)
    return mot_workspace


def _results_folder(name: str, param: str) -> Path:
    return Tracker(name, param).results_dir


def test_the_cli_prints_the_table_and_writes_tables_and_plots(environment, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")} | environment
    out = tmp_path / "out"
    args = [sys.executable, str(SCRIPT), "--dataset", "synthetic_mot", "--tracker", "sort", "default",
            "--tracker", "bytetrack", "default", "--output", str(out)]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0].split()
    assert header == ["Tracker", "HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN", "FPS", "Sequences"]
    assert "sort default" in done.stdout and "bytetrack default" in done.stdout
    assert "2 of 2 sequences used" in done.stdout
    for name in ("scores.csv", "scores.md", "sequences.csv", "sequences.md"):
        assert (out / name).is_file()
    for label in ("sort default", "bytetrack default"):
        for fmt in ("png", "pdf"):
            assert (out / f"{plot_stem(label)}.{fmt}").stat().st_size > 1000
    rows = list(csv.DictReader((out / "sequences.csv").open()))
    assert {(r["sequence"], r["tracker"]) for r in rows} == {(s, t) for s in ("SYN-V001", "SYN-V002")
                                                            for t in ("sort default", "bytetrack default")}


def test_combined_scores_are_the_metrics_api_own(environment, tmp_path):
    trackers = [TrackerRuns(name, param) for name, param in TRACKERS]
    result = analyse_dataset("synthetic_mot", trackers, output_dir=tmp_path / "out", plots=False)
    assert isinstance(result, MotAnalysisResult) and result.sequences == ["SYN-V001", "SYN-V002"]
    dataset = get_dataset("synthetic_mot")
    for name, param in TRACKERS:
        counts = [evaluate_sequence(seq.ground_truth, read_mot_rows(_results_folder(name, param) / f"{seq.name}.txt"),
                                    len(seq), preprocessing="mot17") for seq in dataset]
        expected = combine(counts)
        got = result.scores[f"{name} {param}"]
        for key in ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN", "LocA"):
            assert got[key] == pytest.approx(expected[key], abs=1e-12)
        assert 0 < result.fps[f"{name} {param}"] < float("inf")
    scores = list(csv.DictReader((tmp_path / "out" / "scores.csv").open()))
    assert float(scores[0]["HOTA"]) == pytest.approx(100 * result.scores["sort default"]["HOTA"], abs=1e-4)
    assert "| sort default |" in (tmp_path / "out" / "scores.md").read_text()


def test_missing_and_malformed_result_files_are_named(environment, tmp_path):
    folder = _results_folder("sort", "default")
    copy = tmp_path / "results" / "sort" / "default"
    copy.mkdir(parents=True)
    (copy / "SYN-V001.txt").write_text((folder / "SYN-V001.txt").read_text())
    with pytest.raises(FileNotFoundError, match="SYN-V002.txt"):
        analyse_dataset("synthetic_mot", [TrackerRuns("sort", "default")], results_path=tmp_path / "results",
                        output_dir=tmp_path / "out")
    left = analyse_dataset("synthetic_mot", [TrackerRuns("sort", "default")], results_path=tmp_path / "results",
                           output_dir=tmp_path / "out", skip_missing=True, plots=False)
    assert left.sequences == ["SYN-V001"] and left.left_out == ["SYN-V002"]
    (copy / "SYN-V002.txt").write_text("1,1,10,10,5\n")
    with pytest.raises(ResultFileError, match="SYN-V002.txt"):
        analyse_dataset("synthetic_mot", [TrackerRuns("sort", "default")], results_path=tmp_path / "results",
                        output_dir=tmp_path / "out")


def test_preprocessing_follows_the_benchmark():
    assert [preprocessing_for(n) for n in ("mot15_train", "mot16_train", "mot17_half_val", "mot20_train",
                                          "synthetic_mot")] == ["mot15", "mot17", "mot17", "mot20", "mot17"]
