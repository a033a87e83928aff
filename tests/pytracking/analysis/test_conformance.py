"""The published OTB-100 results of two trackers reproduce their published scores (±0.01).

Uses the annotations and raw results in ``../shared/reference-results`` beside the repository;
skipped where that folder is absent (it is not part of the toolkit)."""

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
