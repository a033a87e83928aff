"""Hand-built MOT cases whose CLEAR, Identity and HOTA numbers are derived by hand (in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ltr.data.box_files import MotRows
from pytracking.analysis.mot import ALPHAS, combine, combine_counts, compute_scores, evaluate_sequence

A, B, C = (0, 0, 10, 10), (100, 100, 10, 10), (300, 0, 20, 40)


def rows(*entries, cls=None, mark=None) -> MotRows:
    """``(frame, id, box)`` entries as MOT rows; ground truth gets ``class, visibility`` columns."""
    if not entries:
        return MotRows.from_array(np.zeros((0, 9)))
    frame = [e[0] for e in entries]
    ident = [e[1] for e in entries]
    box = [e[2] for e in entries]
    classes = np.ones(len(entries)) if cls is None else np.asarray(cls, dtype=float)
    marks = np.ones(len(entries)) if mark is None else np.asarray(mark, dtype=float)
    return MotRows(frame, ident, box, marks, np.stack([classes, np.ones(len(entries))], 1))


def scores(gt, tracker, frames, preprocessing="mot17"):
    return compute_scores(evaluate_sequence(gt, tracker, frames, preprocessing=preprocessing))


def check(result, **expected):
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, abs=1e-12), key


def test_empty_output():
    gt = rows((1, 1, A), (2, 1, A), (3, 1, A), (1, 2, B), (2, 2, B))
    s = scores(gt, rows(), 3)
    # Nothing matched: every ground-truth box a miss, both objects mostly lost; LocA is 1 by convention.
    check(s, TP=0, FN=5, FP=0, IDSW=0, Frag=0, MT=0, PT=0, ML=2, MOTA=0, MOTP=0,
          IDTP=0, IDFN=5, IDFP=0, IDF1=0, HOTA=0, DetA=0, AssA=0, LocA=1, HOTA0=0)


def test_empty_ground_truth():
    tracker = rows((1, 4, A), (2, 4, A), (3, 4, A), (3, 5, B))
    s = scores(rows(), tracker, 3)
    # TrackEval returns early here, before computing ratios: MOTA is 0, not (0 - 4 - 0) / max(1, 0).
    check(s, TP=0, FN=0, FP=4, MOTA=0, MT=0, PT=0, ML=0, MLR=1, IDTP=0, IDFP=4, IDFN=0, IDF1=0,
          HOTA=0, DetA=0, LocA=1)
    # Combined (even alone) the formula applies: MOTA = (0 - 4 - 0) / max(1, 0).
    counts = evaluate_sequence(rows(), tracker, 3)
    check(combine([counts]), FP=4, MOTA=-4)
    check(combine([counts, counts]), FP=8, MOTA=-8)


def test_identity_switch():
    gt = rows(*[(f, 1, A) for f in range(1, 5)])
    tracker = rows((1, 7, A), (2, 7, A), (3, 8, A), (4, 8, A))
    s = scores(gt, tracker, 4)
    # One switch at frame 3, one tracked run: MOTA = (4 - 0 - 1) / 4.
    check(s, TP=4, FN=0, FP=0, IDSW=1, Frag=0, MT=1, PT=0, ML=0, MOTA=0.75, MOTP=1)
    # Best identity assignment keeps 2 of 4: IDF1 = 2 / (2 + 1 + 1).
    check(s, IDTP=2, IDFN=2, IDFP=2, IDF1=0.5, IDP=0.5, IDR=0.5)
    # HOTA: per pair 2 matches, Jaccard 2 / (4 + 2 - 2) = 0.5; AssA = (2*0.5 + 2*0.5) / 4.
    check(s, DetA=1, AssA=0.5, HOTA=math.sqrt(0.5), AssRe=0.5, AssPr=1, LocA=1, HOTA0=math.sqrt(0.5))


def test_fragmentation_and_mostly_tracked_is_strict():
    gt = rows(*[(f, 1, A) for f in range(1, 6)])
    tracker = rows((1, 3, A), (2, 3, A), (3, 9, B), (4, 3, A), (5, 3, A))
    s = scores(gt, tracker, 5)
    # Lost at frame 3 (a tracker box elsewhere), re-found at 4: two runs, Frag 1; tracked 4/5 = 0.8
    # is not > 0.8, so partly tracked. MOTA = (4 - 1) / 5.
    check(s, TP=4, FN=1, FP=1, IDSW=0, Frag=1, MT=0, PT=1, ML=0, MOTA=0.6)
    check(s, IDTP=4, IDFN=1, IDFP=1, IDF1=0.8)
    # DetA = 4 / 6, AssA = 4 * (4 / (5 + 4 - 4)) / 4 = 0.8.
    check(s, DetA=4 / 6, AssA=0.8, HOTA=math.sqrt(4 / 6 * 0.8))


def test_frame_without_tracker_boxes_does_not_fragment():
    # TrackEval's CLEAR skips frames where either side is empty: frame 3 (no tracker box at all)
    # neither ends the run nor resets the continuation, so Frag stays 0.
    gt = rows(*[(f, 1, A) for f in range(1, 6)])
    tracker = rows((1, 3, A), (2, 3, A), (4, 3, A), (5, 3, A))
    check(scores(gt, tracker, 5), TP=4, FN=1, FP=0, Frag=0, IDSW=0, PT=1)


def test_distractor_match_is_removed_with_mot17_preprocessing():
    # Frame 1: a pedestrian (A), a static person (class 7, B), a zero-marked pedestrian (C);
    # the tracker has a box on each.
    gt = rows((1, 1, A), (1, 2, B), (1, 3, C), cls=[1, 7, 1], mark=[1, 1, 0])
    tracker = rows((1, 1, A), (1, 2, B), (1, 3, C))
    s = scores(gt, tracker, 1, "mot17")
    # The box on the static person goes; the zero-marked pedestrian is ignored as ground truth,
    # but the box on it is not a distractor match and stays, as a false positive.
    check(s, TP=1, FP=1, FN=0, MOTA=0, IDTP=1, IDFP=1, IDFN=0, DetA=0.5)
    # 2DMOT15 rules: classes mean nothing, only the zero mark drops ground truth.
    check(scores(gt, tracker, 1, "mot15"), TP=2, FP=1, FN=0)
    # No preprocessing: all three count.
    check(scores(gt, tracker, 1, None), TP=3, FP=0, FN=0)


def test_duplicate_boxes():
    gt = rows((1, 1, A), (2, 1, A))
    tracker = rows((1, 1, A), (1, 2, A), (2, 1, A), (2, 2, A))
    s = scores(gt, tracker, 2)
    # One copy matches, the other is a false positive each frame: MOTA = (2 - 2) / 2.
    check(s, TP=2, FP=2, FN=0, IDSW=0, MOTA=0, MOTP=1, MT=1)
    # IDF1 = 2 / (2 + 0.5 * 2).
    check(s, IDTP=2, IDFP=2, IDFN=0, IDF1=2 / 3)
    # HOTA's tie is broken as TrackEval's Hungarian breaks it (the first copy, both frames):
    # DetA = 2 / 4, AssA = 2 * (2 / (2 + 2 - 2)) / 2 = 1.
    check(s, DetA=0.5, AssA=1, HOTA=math.sqrt(0.5))


def test_track_jumping_between_two_people():
    gt = rows(*[(f, 1, A) for f in range(1, 5)], *[(f, 2, B) for f in range(1, 5)])
    tracker = rows((1, 5, A), (2, 5, A), (3, 5, B), (4, 5, B))
    s = scores(gt, tracker, 4)
    # CLEAR sees no switch (person 2 was never matched before frame 3): IDSW 0, both half tracked.
    check(s, TP=4, FN=4, FP=0, IDSW=0, Frag=0, MT=0, PT=2, ML=0, MOTA=0.5)
    # Identity sees it: one of the two halves only. IDF1 = 2 / (2 + 1 + 3).
    check(s, IDTP=2, IDFN=6, IDFP=2, IDF1=1 / 3)
    # HOTA: Jaccard 2 / (4 + 4 - 2) for both pairs: AssA = 2 * 2 * (1/3) / 4; DetA = 4 / 8.
    check(s, DetA=0.5, AssA=1 / 3, HOTA=math.sqrt(1 / 6), AssRe=0.5, AssPr=0.5)


def test_iou_of_exactly_half_counts():
    # IoU 50 / 100 = 0.5: CLEAR (>= 0.5 - eps) and Identity (>= 0.5) both match it.
    gt = rows((1, 1, (0, 0, 10, 10)))
    tracker = rows((1, 1, (0, 0, 10, 5)))
    s = scores(gt, tracker, 1)
    check(s, TP=1, IDTP=1, MOTP=0.5)
    # HOTA counts it at the thresholds 0.05..0.5 (10 of 19).
    assert np.array_equal(s["curves"]["DetA"], (ALPHAS <= 0.5 + 1e-12).astype(float))


def test_combine_sums_counts_not_scores():
    gt = rows(*[(f, 1, A) for f in range(1, 5)])
    switch = scores(gt, rows((1, 7, A), (2, 7, A), (3, 8, A), (4, 8, A)), 4)
    a = evaluate_sequence(gt, rows((1, 7, A), (2, 7, A), (3, 8, A), (4, 8, A)), 4)
    b = evaluate_sequence(gt, rows(), 4)
    s = combine([a, b])
    # TP 4 of 8 gt; HOTA from summed TP/FN: DetA = 4 / 8, AssA weighted by TP (b has none) = 0.5.
    check(s, TP=4, FN=4, IDSW=1, ML=1, MT=1, MOTA=3 / 8, DetA=0.5, AssA=0.5, HOTA=0.5)
    assert s["HOTA"] != pytest.approx((switch["HOTA"] + 0) / 2)
    assert combine_counts([a]).tp == a.tp


def test_errors_name_the_problem():
    gt = rows((1, 1, A), (1, 1, B))
    with pytest.raises(ValueError, match="more than once"):
        evaluate_sequence(gt, rows(), 1)
    with pytest.raises(ValueError, match="outside"):
        evaluate_sequence(rows((3, 1, A)), rows(), 2)
    with pytest.raises(ValueError, match="preprocessing"):
        evaluate_sequence(rows(), rows(), 1, preprocessing="mot99")
