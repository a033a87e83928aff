"""The MOT metrics against what the official TrackEval code reports on two 2DMOT15 sequences and the
CEM tracker's published output (``../shared/mot-reference``, see its README): every integer
count equal, every ratio within 1e-6, per sequence and combined. Skips where the folder is absent."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

from ltr.data.box_files import read_mot_rows
from pytracking.analysis.mot import combine, compute_scores, evaluate_sequence

REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "mot-reference"
INTEGERS = ("TP", "FN", "FP", "IDSW", "MT", "PT", "ML", "Frag", "IDTP", "IDFN", "IDFP")

pytestmark = pytest.mark.skipif(not (REFERENCE / "expected_trackeval.json").is_file(),
                                reason=f"no MOT reference data at {REFERENCE}")


def _scores() -> tuple[dict, dict]:
    expected = json.loads((REFERENCE / "expected_trackeval.json").read_text())
    gt_root = REFERENCE / "gt" / "mot_challenge" / "MOT15-train"
    counts, scores = [], {}
    for seq in [s for s in expected if s != "COMBINED_SEQ"]:
        info = configparser.ConfigParser()
        info.read(gt_root / seq / "seqinfo.ini")
        gt = read_mot_rows(gt_root / seq / "gt" / "gt.txt")
        tracker = read_mot_rows(REFERENCE / "trackers" / "mot_challenge" / "MOT15-train" / "CEM" / "data" / f"{seq}.txt")
        c = evaluate_sequence(gt, tracker, int(info["Sequence"]["seqLength"]), preprocessing="mot15")
        counts.append(c)
        scores[seq] = compute_scores(c)
    scores["COMBINED_SEQ"] = combine(counts)
    return expected, scores


def test_every_value_matches_trackeval():
    expected, scores = _scores()
    assert set(scores) == set(expected)
    for seq, values in expected.items():
        for key, value in values.items():
            if key in INTEGERS:
                assert scores[seq][key] == value, f"{seq} {key}"
                assert isinstance(scores[seq][key], int)
            else:
                assert scores[seq][key] == pytest.approx(value, abs=1e-6), f"{seq} {key}"
