"""The MOT quick start on tiny options: generates, tracks with SORT and ByteTrack, prints the
metrics table and writes the plots; a second run only re-scores. With FairMOT or Tracktor: trains
their networks for an epoch and adds their rows."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["Tracker", "HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN", "FPS", "Sequences"]


def _table(stdout: str, rows: int = 2) -> list[list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == COLUMNS)
    return [line.split() for line in lines[start + 1:start + 1 + rows]]


def quickstart(tmp_path, *options: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``run_quickstart.py --mot`` with ``options`` (one worker) in the workspace ``tmp_path/ws``."""
    env = {**os.environ, "TRACKING_LOCAL_FILE": os.devnull, "TRACKING_WORKSPACE_DIR": str(tmp_path / "ws")}
    command = [sys.executable, "pytracking/run_quickstart.py", "--mot", *options, "--workers", "1"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def test_mot_quickstart_prints_the_table_and_resumes(tmp_path):
    options = ["--train", "0", "--val", "2", "--frames", "20", "--width", "256", "--height", "192",
               "--min-objects", "4", "--max-objects", "6", "--no-tracktor", "--no-fairmot"]
    result = quickstart(tmp_path, *options)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 sequences written" in result.stdout and "4 sequences run" in result.stdout
    rows = _table(result.stdout)
    assert [row[0] for row in rows] == ["SORT", "ByteTrack"]
    for row in rows:
        hota, mota = float(row[1]), float(row[4])
        assert 0 < hota <= 100 and mota <= 100 and row[-1] == "2"
    plots = tmp_path / "ws" / "result_plots" / "synthetic_mot"
    for name in ("scores.csv", "sequences.md", "hota_curves_SORT.png", "hota_curves_ByteTrack.pdf"):
        assert (plots / name).is_file()
    assert (tmp_path / "ws" / "quickstart_mot" / "quickstart_mot.log").is_file()
    again = quickstart(tmp_path, *options)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 sequences written" in again.stdout and "0 sequences run" in again.stdout
    assert [row[:-2] for row in _table(again.stdout)] == [row[:-2] for row in rows]


def test_mot_quickstart_trains_fairmot_and_adds_its_row(tmp_path):
    options = ["--train", "2", "--val", "1", "--frames", "12", "--width", "320", "--height", "240",
               "--min-objects", "6", "--max-objects", "8", "--epochs", "1", "--no-tracktor"]
    result = quickstart(tmp_path, *options)
    assert result.returncode == 0, result.stderr[-3000:]
    network = tmp_path / "ws" / "networks" / "fairmot_synthetic.pth.tar"
    assert network.is_file()
    rows = _table(result.stdout, rows=3)
    assert [row[0] for row in rows] == ["SORT", "ByteTrack", "FairMOT"]
    assert rows[2][-1] == "1" and 0 <= float(rows[2][1]) <= 100
    trained = network.read_bytes()
    again = quickstart(tmp_path, *options)
    assert again.returncode == 0, again.stderr[-3000:]
    assert network.read_bytes() == trained  # resumed at its last epoch: the same network
    assert "0 sequences run" in again.stdout and [row[:-2] for row in _table(again.stdout, rows=3)] == \
        [row[:-2] for row in rows]


@pytest.mark.slow  # trains a detector, a ReID network and FairMOT's network (one epoch each on tiny data)
def test_mot_quickstart_trains_tracktor_and_adds_its_rows(tmp_path):
    options = ["--train", "2", "--val", "1", "--frames", "20", "--width", "320", "--height", "240",
               "--min-objects", "8", "--max-objects", "10", "--epochs", "1"]
    result = quickstart(tmp_path, *options, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    networks = tmp_path / "ws" / "networks"
    assert (networks / "tracktor_synthetic_detector.pth.tar").is_file()
    assert (networks / "tracktor_synthetic_reid.pth.tar").is_file()
    rows = _table(result.stdout, rows=5)
    # "Tracktor (public)" splits into two words
    assert [row[0] for row in rows] == ["SORT", "ByteTrack", "Tracktor", "Tracktor", "FairMOT"]
    assert all(row[-1] == "1" for row in rows)
    # Nothing changed: a second run neither trains nor tracks again.
    again = quickstart(tmp_path, *options, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 sequences run" in again.stdout and "sequences run" in again.stdout


def test_mot_quickstart_reports_too_few_identities_for_reid_in_one_line(tmp_path):
    options = ["--train", "1", "--val", "1", "--frames", "12", "--width", "256", "--height", "192",
               "--min-objects", "3", "--max-objects", "4", "--epochs", "1"]
    result = quickstart(tmp_path, *options)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "identities" in last, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
