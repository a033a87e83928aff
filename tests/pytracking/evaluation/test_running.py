"""Running trackers over datasets: result files, resuming, interrupted writes, failures,
sharding over ranks, worker processes, and the entry scripts."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ltr.fileio
from ltr.dataset.synthetic import SceneConfig, generate_dataset
from pytracking.evaluation.results import read_boxes
from pytracking.evaluation import get_dataset
from pytracking.evaluation import running
from pytracking.evaluation.running import (EmptyRunError, ResultsFolderError, RunInterrupted, is_complete,
                                           results_paths, run_dataset, shard, work_pairs)
from pytracking.evaluation.tracker import Tracker, trackerlist
from pytracking.run_experiment import load_experiment

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    """Three generated sequences of 8 frames, 96x72 pixels (GOT-10k layout, val split)."""
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, train=0, val=3, config=SceneConfig(width=96, height=72, frames=8), workers=1)
    return root


@pytest.fixture
def dataset(synthetic_root):
    return get_dataset("synthetic", root=synthetic_root)


def corrupt_copy(synthetic_root: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the dataset whose second sequence has an undecodable third frame."""
    root = tmp_path / "corrupt"
    shutil.copytree(synthetic_root, root)
    frame = root / "val" / "GOT-10k_Val_000002" / "00000003.jpg"
    frame.write_bytes(b"not a jpeg")
    return root, frame


def script_env(tmp_path: Path, synthetic: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")}
    return {**env, "TRACKING_LOCAL_FILE": os.devnull, "TRACKING_WORKSPACE_DIR": str(tmp_path / "ws"),
            "TRACKING_SYNTHETIC_DIR": str(synthetic)}


def result_texts(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("*.txt")) if not p.name.endswith("_time.txt")}


# ---------------------------------------------------------------- files, resume, rerun

def test_results_round_trip_through_read_boxes(dataset):
    tracker = Tracker("opencv", "csrt")
    report = run_dataset(dataset, tracker)
    assert [r.sequence for r in report.done] == dataset.names() and report.ok
    for seq in dataset:
        box_file, time_file, failure = results_paths(tracker, seq)
        boxes, extra = read_boxes(box_file, len(seq))
        expected = tracker.run_sequence(seq)["target_bbox"]  # CSRT is deterministic
        assert extra == 0 and np.allclose(boxes, expected, atol=5e-5)
        assert "\t" in box_file.read_text().splitlines()[0]
        assert all(len(v.split(".")[1]) == 4 for v in box_file.read_text().split())
        times = np.loadtxt(time_file)
        assert times.shape == (len(seq),) and np.all(times > 0)
        assert not failure.exists()
    assert boxes[0].tolist() == dataset[-1].init_info()["init_bbox"]


def test_resume_skips_complete_and_rerun_redoes(dataset, monkeypatch):
    tracker = Tracker("opencv", "kcf")
    calls = []
    original = Tracker.run_sequence
    monkeypatch.setattr(Tracker, "run_sequence", lambda self, seq, **kw: calls.append(seq.name) or original(self, seq, **kw))
    run_dataset(dataset, tracker)
    assert calls == dataset.names()
    box_file = results_paths(tracker, dataset[0])[0]
    stamp = box_file.stat().st_mtime_ns

    report = run_dataset(dataset, tracker)
    assert calls == dataset.names() and not report.done
    assert [r.sequence for r in report.skipped] == dataset.names()
    assert box_file.stat().st_mtime_ns == stamp

    # A box file short of rows (written by something else, cut off) does not count as complete.
    short = results_paths(tracker, dataset[1])[0]
    short.write_text("".join(short.read_text().splitlines(keepends=True)[:5]))
    report = run_dataset(dataset, tracker)
    assert calls[3:] == [dataset[1].name] and [r.sequence for r in report.done] == [dataset[1].name]

    report = run_dataset(dataset, tracker, rerun=True)
    assert calls[4:] == dataset.names() and len(report.done) == 3 and not report.skipped


def test_interrupted_write_leaves_no_counted_file(dataset, monkeypatch):
    tracker = Tracker("opencv", "kcf")
    seq = dataset[0]
    box_file, time_file, _ = results_paths(tracker, seq)
    real_replace = os.replace

    def interrupted(source, target):
        if Path(target) == box_file:
            raise KeyboardInterrupt  # killed between writing the box file and renaming it
        real_replace(source, target)

    monkeypatch.setattr(ltr.fileio.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_dataset(dataset, tracker)
    monkeypatch.setattr(ltr.fileio.os, "replace", real_replace)
    assert time_file.is_file() and not box_file.exists()
    assert sorted(p.name for p in box_file.parent.iterdir()) == [time_file.name]  # no temporary left
    assert not is_complete(tracker, seq)
    report = run_dataset(dataset, tracker)
    assert [r.sequence for r in report.done] == dataset.names()


# ---------------------------------------------------------------- failures

def test_failing_sequence_is_recorded_and_the_run_goes_on(synthetic_root, tmp_path, caplog):
    root, frame = corrupt_copy(synthetic_root, tmp_path)
    dataset = get_dataset("synthetic", root=root)
    tracker = Tracker("opencv", "kcf")
    with caplog.at_level(logging.INFO, logger="pytracking.evaluation.running"):
        report = run_dataset(dataset, tracker)
    # One line on the console naming the problem and the record; the traceback is in the record.
    assert "Traceback" not in caplog.text and "ETA" in caplog.text and "ImageReadError" in caplog.text
    bad = dataset[1]
    assert [r.sequence for r in report.failed] == [bad.name] and not report.ok
    assert [r.sequence for r in report.done] == [dataset[0].name, dataset[2].name]
    failure = results_paths(tracker, bad)[2]
    assert str(failure) in report.failed[0].message and "00000003.jpg" in report.failed[0].message
    record = failure.read_text()
    assert "Traceback" in record and "ImageReadError" in record and str(frame) in record
    assert not results_paths(tracker, bad)[0].exists()
    assert f"FAILED {bad.name}" in report.summary() and f"failed sequences: {bad.name}" in report.summary()

    shutil.copy(synthetic_root / "val" / bad.name / frame.name, frame)  # repaired
    report = run_dataset(dataset, tracker)
    assert [r.sequence for r in report.done] == [bad.name] and len(report.skipped) == 2
    assert not failure.exists()


def test_run_tracker_script_exits_nonzero_naming_the_failure(synthetic_root, tmp_path):
    root, _ = corrupt_copy(synthetic_root, tmp_path)
    env = script_env(tmp_path, root)
    command = [sys.executable, "pytracking/run_tracker.py", "opencv", "kcf", "--dataset_name", "synthetic"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    failure = tmp_path / "ws" / "tracking_results" / "opencv" / "kcf" / "failed" / "GOT-10k_Val_000002.txt"
    assert "failed sequences: GOT-10k_Val_000002" in result.stdout and str(failure) in result.stdout
    assert failure.is_file() and "2 sequences run" in result.stdout

    # One sequence by index, into a run id's folder.
    result = subprocess.run(command + ["--sequence", "2", "--runid", "1"], cwd=REPO, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "ws" / "tracking_results" / "opencv" / "kcf_001").glob("*.txt")) == \
        ["GOT-10k_Val_000003.txt", "GOT-10k_Val_000003_time.txt"]

    result = subprocess.run([sys.executable, "pytracking/run_tracker.py", "opencv", "kfc"], cwd=REPO, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "Available: csrt, kcf, mil" in result.stderr


# ---------------------------------------------------------------- ranks, workers, experiments

def test_rank_sharding_is_disjoint_and_complete(dataset, monkeypatch):
    items = list(range(10))
    shares = [shard(items, rank, 3) for rank in range(3)]
    assert sorted(sum(shares, [])) == items and all(len(set(a) & set(b)) == 0 for a in shares for b in shares
                                                    if a is not b)
    with pytest.raises(ValueError, match="RANK and WORLD_SIZE"):
        shard(items, 3, 3)

    trackers = trackerlist("opencv", "kcf", 2)
    everything = {(seq.name, t.label) for seq, t in work_pairs(dataset, trackers)}
    seen = []
    for rank in range(4):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "4")
        report = run_dataset(dataset, trackers)
        assert f"[rank {rank} of 4]" in report.summary()
        seen.append({(r.sequence, r.tracker) for r in report.done})
    assert set().union(*seen) == everything and sum(map(len, seen)) == len(everything) == 6


def test_two_workers_write_the_same_files_as_one(dataset, tmp_path, monkeypatch):
    trackers = [Tracker("opencv", "csrt"), Tracker("opencv", "kcf")]
    monkeypatch.setenv("TRACKING_RESULTS_PATH", str(tmp_path / "one"))
    run_dataset(dataset, trackers, workers=1)
    monkeypatch.setenv("TRACKING_RESULTS_PATH", str(tmp_path / "two"))
    report = run_dataset(dataset, trackers, workers=2, threads=1)
    assert len(report.done) == 6 and report.ok
    assert [(r.sequence, r.tracker) for r in report.done] == [(s.name, t.label) for s, t in work_pairs(dataset, trackers)]
    for param in ("csrt", "kcf"):
        one, two = result_texts(tmp_path / "one" / "opencv" / param), result_texts(tmp_path / "two" / "opencv" / param)
        assert len(one) == 3 and one == two
        assert len(list((tmp_path / "two" / "opencv" / param).glob("*_time.txt"))) == 3


def test_run_experiment_script(synthetic_root, tmp_path):
    env = script_env(tmp_path, synthetic_root)
    result = subprocess.run([sys.executable, "pytracking/run_experiment.py", "myexperiments", "opencv_synthetic"],
                            cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "9 sequences run" in result.stdout and "0 failed" in result.stdout
    for param in ("csrt", "kcf", "mil"):
        assert len(list((tmp_path / "ws" / "tracking_results" / "opencv" / param).glob("*_time.txt"))) == 3


def test_experiment_lookup_errors():
    assert callable(load_experiment("myexperiments", "opencv_otb"))
    with pytest.raises(SystemExit, match=r"no experiment module .*myexperiment\.py; available: .*myexperiments"):
        load_experiment("myexperiment", "opencv_otb")
    with pytest.raises(SystemExit, match=r"no experiment 'opencv_ot'; available: .*opencv_otb"):
        load_experiment("myexperiments", "opencv_ot")


# ---------------------------------------------------------------- faults (issue 14)

def test_interrupt_reports_what_was_kept(dataset, monkeypatch):
    tracker = Tracker("opencv", "kcf")
    original = running.run_pair

    def interrupted_on_second(seq, tracker, debug=None):
        if seq.name == dataset[1].name:
            raise KeyboardInterrupt
        return original(seq, tracker, debug)

    monkeypatch.setattr(running, "run_pair", interrupted_on_second)
    with pytest.raises(RunInterrupted) as caught:
        run_dataset(dataset, tracker)
    assert [r.sequence for r in caught.value.report.done] == [dataset[0].name]
    summary = caught.value.summary()
    assert "1 sequences have complete results" in summary and str(tracker.results_dir) in summary
    assert "\n" not in summary and "run the same command again" in summary


def test_unwritable_failure_record_does_not_stop_the_run(synthetic_root, tmp_path, monkeypatch):
    root, _ = corrupt_copy(synthetic_root, tmp_path)
    dataset = get_dataset("synthetic", root=root)
    tracker = Tracker("opencv", "kcf")
    real_write = running.atomic_write_text

    def failing_for_records(path, text):
        if Path(path).parent.name == "failed":
            raise OSError(28, "No space left on device")  # the folder went bad during the run
        real_write(path, text)

    monkeypatch.setattr(running, "atomic_write_text", failing_for_records)
    report = run_dataset(dataset, tracker)
    assert [r.sequence for r in report.done] == [dataset[0].name, dataset[2].name]
    assert "could not be written" in report.failed[0].message and "No space left" in report.failed[0].message


def test_unwritable_results_folder_is_refused_before_tracking(dataset, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("TRACKING_RESULTS_PATH", str(tmp_path / "results"))
    tracker = Tracker("opencv", "kcf")
    tracker.results_dir.parent.mkdir(parents=True)
    tracker.results_dir.write_text("a file")
    calls = []
    monkeypatch.setattr(Tracker, "run_sequence", lambda self, seq, **kw: calls.append(seq))
    with pytest.raises(ResultsFolderError, match=r"cannot write results to .*kcf .*TRACKING_RESULTS_PATH"):
        run_dataset(dataset, tracker)
    assert not calls


def test_nothing_to_run_is_an_error(dataset):
    with pytest.raises(EmptyRunError, match="no sequences"):
        run_dataset([], Tracker("opencv", "kcf"))
    with pytest.raises(EmptyRunError, match="no trackers"):
        run_dataset(dataset, [])
