"""The MOT quick start on tiny options: generates, tracks with SORT and ByteTrack, prints the
metrics table and writes the plots; a second run only re-scores."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["Tracker", "HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN", "FPS", "Sequences"]


def _table(stdout: str) -> list[list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == COLUMNS)
    return [line.split() for line in lines[start + 1:start + 3]]


def test_mot_quickstart_prints_the_table_and_resumes(tmp_path):
    env = {**os.environ, "TRACKING_LOCAL_FILE": os.devnull, "TRACKING_WORKSPACE_DIR": str(tmp_path / "ws")}
    command = [sys.executable, "pytracking/run_quickstart.py", "--mot", "--train", "0", "--val", "2",
               "--frames", "20", "--width", "256", "--height", "192", "--min-objects", "4", "--max-objects", "6",
               "--workers", "1"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
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
    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 sequences written" in again.stdout and "0 sequences run" in again.stdout
    assert [row[:-2] for row in _table(again.stdout)] == [row[:-2] for row in rows]
