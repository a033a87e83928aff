"""The published OTB-100 results of two trackers reproduce their published scores (±0.01).

Uses the annotations and raw results in ``../shared/reference-results`` beside the repository;
skipped where that folder is absent (it is not part of the toolkit)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytracking.analysis.evaluate import TrackerRuns, analyse
from pytracking.evaluation.specdatasets import otb

REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "reference-results"
EXPECTED = {
    "ATOM raw": {"AUC": 66.68, "Precision": 87.88, "NormPrecision": 82.13, "OP50": 83.54},
    "SiamRPN++ raw": {"AUC": 69.53, "Precision": 90.49, "NormPrecision": 86.01, "OP50": 88.46},
}

pytestmark = pytest.mark.skipif(not (REFERENCE / "otb100").is_dir(),
                                reason=f"no reference results at {REFERENCE}")


def test_published_otb100_scores_reproduce():
    sequences = otb(REFERENCE / "otb100", strict=True)
    assert len(sequences) == 100
    result = analyse(sequences, [TrackerRuns("ATOM", "raw"), TrackerRuns("SiamRPN++", "raw")],
                     results_path=REFERENCE / "results" / "otb100", dataset="otb")
    for label, expected in EXPECTED.items():
        for name, value in expected.items():
            assert result.scores[label][name] == pytest.approx(value, abs=0.01), (label, name)


def test_published_otb100_scores_reproduce_through_the_command_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")}
    env.update(TRACKING_LOCAL_FILE=os.devnull, TRACKING_WORKSPACE_DIR=str(tmp_path / "ws"),
               TRACKING_OTB_PATH=str(REFERENCE / "otb100"), TRACKING_RESULTS_PATH=str(REFERENCE / "results" / "otb100"))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[3] / "pytracking" / "run_analysis.py"),
                           "--dataset", "otb", "--tracker", "ATOM", "raw", "--tracker", "SiamRPN++", "raw",
                           "--no_plots", "--output", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = {" ".join(line.split()[:2]): line.split()[2:] for line in done.stdout.splitlines()[1:3]}
    assert rows["ATOM raw"][0] == "66.68" and rows["SiamRPN++ raw"][0] == "69.53"
    assert rows["ATOM raw"][-1] == rows["SiamRPN++ raw"][-1] == "100"
    assert (tmp_path / "out" / "attributes.csv").is_file()
