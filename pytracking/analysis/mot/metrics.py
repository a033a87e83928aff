"""CLEAR, Identity and HOTA for multi-object tracking, scored as the official TrackEval code
(``mot_challenge_2d_box`` dataset; metrics ``HOTA``, ``CLEAR``, ``Identity``) scores them.

The rules reproduced here (each one checked against TrackEval's source):

- Similarity is the IoU of ``[x, y, w, h]`` boxes taken as continuous ``[x, x + w]`` (no +1 pixel);
  the area is computed from the converted corners; a box of area <= eps, or a pair whose union
  is <= eps, has IoU 0.
- Preprocessing (MOT16/17/20): each frame's tracker boxes are matched (Hungarian, IoU >= 0.5 - eps)
  to *all* ground-truth boxes of that frame, whatever their class or mark; tracker boxes matched to
  a distractor class (person on vehicle 2, static person 7, distractor 8, reflection 12, and on
  MOT20 also non-MOT vehicle 6) are removed. Then ground truth is kept only where the mark is
  non-zero and the class is pedestrian (1). MOT15: only zero-marked ground truth is removed.
- CLEAR: per frame, Hungarian on ``1000 * continues + IoU`` over pairs with IoU >= 0.5 - eps,
  where ``continues`` means the pair was matched in the previous frame that had both ground
  truth and tracker boxes (frames where either side is empty are skipped entirely: they neither
  break a track for Frag nor reset the continuation bonus). IDSW compares with the last tracker
  matched to that object, however long ago. MOTP is the mean IoU of the matches. MT: tracked
  ratio > 0.8, PT: >= 0.2 (and not MT), ML: the rest. Frag: tracked runs per object minus one.
- Identity: a pair counts as a potential identity match where IoU >= 0.5 (no eps here); the
  global one-to-one assignment of identities maximises the matched detections.
- HOTA: per frame, Hungarian on ``alignment(gt_id, tracker_id) * IoU``, where the alignment is the
  Jaccard index of the identities' soft co-occurrence ``sum_t IoU / (rowsum + colsum - IoU)``;
  a match counts at threshold alpha where IoU >= alpha - eps, alpha in ``arange(0.05, 0.99, 0.05)``.
- Combining sequences: counts are summed; AssA, AssRe, AssPr are averaged weighted by the
  per-threshold HOTA TP; LocA weighted likewise; HOTA, DetA... are then recomputed from the
  summed counts (not a mean of sequence scores).
- A single sequence with no ground truth (or no tracker box) scores MOTA 0 and MLR 1, as
  TrackEval's early return leaves them; once combined, the formulas apply to the sums.

Everything is vectorised over the pairs of boxes that share a frame; a Hungarian solve is run
only for frames whose candidate matches conflict, on the same full frame matrix, in the same
row order, as TrackEval, so that ties are broken the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ltr.data.box_files import MotRows
from ltr.data.boxes import xywh_to_xyxy

EPS = np.finfo(float).eps
ALPHAS = np.arange(0.05, 0.99, 0.05)
"""The 19 HOTA localisation thresholds, built exactly as TrackEval builds them."""
CLEAR_THRESHOLD = 0.5
IDENTITY_THRESHOLD = 0.5
PREPROCESSING_THRESHOLD = 0.5
PEDESTRIAN = 1
VALID_CLASSES = np.arange(1, 14)
DISTRACTORS = {"mot16": (2, 7, 8, 12), "mot17": (2, 7, 8, 12), "mot20": (2, 6, 7, 8, 12)}
PREPROCESSINGS = ("mot15", "mot16", "mot17", "mot20", None)


@dataclasses.dataclass
class MotCounts:
    """What one sequence (or several combined) contributes; :func:`combine_counts` sums these and
    :func:`compute_scores` turns them into scores. Arrays of shape ``(19,)`` are per HOTA
    threshold (:data:`ALPHAS`)."""

    hota_tp: np.ndarray
    hota_fn: np.ndarray
    hota_fp: np.ndarray
    ass_a: np.ndarray
    ass_re: np.ndarray
    ass_pr: np.ndarray
    loc_a: np.ndarray
    tp: int = 0
    fn: int = 0
    fp: int = 0
    idsw: int = 0
    mt: int = 0
    pt: int = 0
    ml: int = 0
    frag: int = 0
    motp_sum: float = 0.0
    idtp: int = 0
    idfn: int = 0
    idfp: int = 0
    num_frames: int = 0
    combined: bool = False


# ----------------------------------------------------------------------------------------- input


@dataclasses.dataclass
class _Rows:
    """One side's rows sorted by frame (stably, so file order holds within a frame)."""

    frame: np.ndarray      # (N,) 0-based frame
    ident: np.ndarray      # (N,) compact identity 0..num_ids-1
    box: np.ndarray        # (N, 4) x, y, w, h
    start: np.ndarray      # (F + 1,) row offsets of each frame
    num_ids: int


def _sorted_rows(rows: MotRows, num_frames: int, what: str) -> MotRows:
    if len(rows) and (rows.frame.min() < 1 or rows.frame.max() > num_frames):
        raise ValueError(f"{what} has rows in frames {rows.frame.min()}..{rows.frame.max()}, outside the "
                         f"sequence's 1..{num_frames}; check the sequence length or the file")
    order = np.argsort(rows.frame, kind="stable")
    rows = rows.select(order)
    if len(rows):
        # The same identity twice in a frame makes every metric ill-defined; TrackEval refuses it too.
        key = rows.frame * (int(rows.id.max()) - int(rows.id.min()) + 1) + (rows.id - rows.id.min())
        dup = np.flatnonzero(np.diff(np.sort(key)) == 0)
        if len(dup):
            raise ValueError(f"{what}: an identity appears more than once in one frame "
                             f"({len(dup)} times); identities must be unique per frame")
    return rows


def _compact(rows: MotRows, num_frames: int) -> _Rows:
    ids, ident = np.unique(rows.id, return_inverse=True)
    start = np.searchsorted(rows.frame, np.arange(1, num_frames + 2))
    return _Rows(rows.frame - 1, ident.reshape(-1), rows.box, start, len(ids))


def _frame_pairs(g_start: np.ndarray, t_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (gt row, tracker row) pair sharing a frame, ordered by frame, gt row, tracker row
    (TrackEval's per-frame matrix in row-major order). Returns ``(frame, gt_row, tracker_row)``."""
    ng = np.diff(g_start)
    nt = np.diff(t_start)
    gt_frame = np.repeat(np.arange(len(ng)), ng)
    per_gt = nt[gt_frame]                      # pairs each gt row makes
    gt_row = np.repeat(np.arange(len(gt_frame)), per_gt)
    frame = gt_frame[gt_row]
    first = np.cumsum(per_gt) - per_gt         # offset of each gt row's first pair
    tracker_row = t_start[frame] + np.arange(len(gt_row)) - np.repeat(first, per_gt)
    return frame, gt_row, tracker_row


def box_iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``(P, 4)`` boxes ``a[i]`` and ``b[i]`` as ``[x, y, w, h]``, with TrackEval's float
    operations in the same order (so thresholds and ties fall the same way)."""
    _, _, ax1, ay1 = xywh_to_xyxy(a).T
    _, _, bx1, by1 = xywh_to_xyxy(b).T
    inter = (np.maximum(np.minimum(ax1, bx1) - np.maximum(a[:, 0], b[:, 0]), 0)
             * np.maximum(np.minimum(ay1, by1) - np.maximum(a[:, 1], b[:, 1]), 0))
    area_a = (ax1 - a[:, 0]) * (ay1 - a[:, 1])
    area_b = (bx1 - b[:, 0]) * (by1 - b[:, 1])
    union = area_a + area_b - inter
    inter[(area_a <= EPS) | (area_b <= EPS) | (union <= EPS)] = 0
    union[union <= EPS] = 1
    return inter / union


# -------------------------------------------------------------------------------------- matching


def _match(frame: np.ndarray, gt_row: np.ndarray, tracker_row: np.ndarray, score: np.ndarray,
           g_start: np.ndarray, t_start: np.ndarray, num_gt: int, num_tracker: int) -> np.ndarray:
    """Indices of the candidate pairs (``score > 0``, ordered by frame) that the per-frame
    maximum-score assignment keeps.

    A candidate that is the only one of both its rows is in every optimal assignment, so it is
    kept without a solve; frames with conflicting candidates are solved on their full matrix
    exactly as TrackEval solves them."""
    deg_g = np.bincount(gt_row, minlength=num_gt)
    deg_t = np.bincount(tracker_row, minlength=num_tracker)
    alone = (deg_g[gt_row] == 1) & (deg_t[tracker_row] == 1)
    keep = alone.copy()
    hard = np.unique(frame[~alone])
    bounds = np.searchsorted(frame, np.stack([hard, hard + 1]))
    for n, f in enumerate(hard):
        sel = np.arange(bounds[0, n], bounds[1, n])
        values = score[sel]
        rows = gt_row[sel] - g_start[f]
        cols = tracker_row[sel] - t_start[f]
        matrix = np.zeros((g_start[f + 1] - g_start[f], t_start[f + 1] - t_start[f]))
        matrix[rows, cols] = values
        mr, mc = linear_sum_assignment(-matrix)
        chosen = np.zeros_like(matrix, dtype=bool)
        chosen[mr, mc] = matrix[mr, mc] > EPS
        keep[sel[chosen[rows, cols]]] = True
    return np.flatnonzero(keep)


# ---------------------------------------------------------------------------------- preprocessing


def _preprocess(gt: MotRows, tracker: MotRows, num_frames: int, preprocessing: str | None) -> tuple[MotRows, MotRows]:
    if preprocessing not in PREPROCESSINGS:
        raise ValueError(f"preprocessing must be one of {PREPROCESSINGS}, got {preprocessing!r}")
    if tracker.extra.shape[1] and len(tracker) and tracker.extra[:, 0].max() > 1:
        raise ValueError(f"the tracker output holds class {int(tracker.extra[:, 0].max())}; MOTChallenge "
                         f"evaluates pedestrians only (class 1, or -1 in the eighth column)")
    if preprocessing is None:
        return gt, tracker
    if preprocessing == "mot15":
        return gt.select(gt.score != 0), tracker
    classes = gt.classes
    g_start = np.searchsorted(gt.frame, np.arange(1, num_frames + 2))
    t_start = np.searchsorted(tracker.frame, np.arange(1, num_frames + 2))
    both = (np.diff(g_start) > 0) & (np.diff(t_start) > 0)
    bad = ~np.isin(classes[both[gt.frame - 1]], VALID_CLASSES)
    if bad.any():
        raise ValueError(f"ground-truth class {classes[both[gt.frame - 1]][bad][0]} is not a MOTChallenge class "
                         f"(1..13); fix the file or evaluate without preprocessing")
    distractor = np.isin(classes, DISTRACTORS[preprocessing])
    frame, g_row, t_row = _frame_pairs(g_start, t_start)
    # Only frames where a distractor can take a tracker box need the matching at all.
    near = distractor[g_row]
    touched = np.unique(frame[near])
    sel = np.isin(frame, touched)
    frame, g_row, t_row = frame[sel], g_row[sel], t_row[sel]
    iou = box_iou_pairs(gt.box[g_row], tracker.box[t_row])
    cand = iou >= PREPROCESSING_THRESHOLD - EPS
    frame, g_row, t_row, iou = frame[cand], g_row[cand], t_row[cand], iou[cand]
    matched = _match(frame, g_row, t_row, iou, g_start, t_start, len(gt), len(tracker))
    removed = t_row[matched[distractor[g_row[matched]]]]
    keep_t = np.ones(len(tracker), dtype=bool)
    keep_t[removed] = False
    return gt.select((gt.score != 0) & (classes == PEDESTRIAN)), tracker.select(keep_t)


# ------------------------------------------------------------------------------------- sequences


def evaluate_sequence(gt: MotRows, tracker: MotRows, num_frames: int, *,
                      preprocessing: str | None = "mot17") -> MotCounts:
    """Score one sequence.

    Args:
        gt: ground-truth rows (``ltr.data.box_files.read_mot_rows`` of ``gt/gt.txt``); with MOT16/17/20
            preprocessing its extra columns must hold ``class, visibility``.
        tracker: the tracker's rows (a MOTChallenge result file), any order.
        num_frames: the sequence length (``seqLength``); rows must lie in frames ``1..num_frames``.
        preprocessing: ``"mot16"``/``"mot17"``/``"mot20"`` (distractor matches removed, zero-marked and
            non-pedestrian ground truth dropped), ``"mot15"`` (zero-marked ground truth dropped,
            as TrackEval does for 2DMOT15), or ``None`` (every row counts).

    Returns:
        The sequence's :class:`MotCounts`; :func:`compute_scores` gives its scores.

    Raises:
        ValueError: rows outside the sequence, an identity twice in one frame, a non-pedestrian
            tracker class, or an unknown ground-truth class under preprocessing.
    """
    gt = _sorted_rows(gt, num_frames, "the ground truth")
    tracker = _sorted_rows(tracker, num_frames, "the tracker output")
    gt, tracker = _preprocess(gt, tracker, num_frames, preprocessing)
    g, t = _compact(gt, num_frames), _compact(tracker, num_frames)
    frame, g_row, t_row = _frame_pairs(g.start, t.start)
    iou = box_iou_pairs(g.box[g_row], t.box[t_row])
    # Pairs of IoU 0 can never count; drop them once for all three metrics.
    pos = iou > 0
    frame, g_row, t_row, iou = frame[pos], g_row[pos], t_row[pos], iou[pos]
    counts = MotCounts(*[np.zeros(len(ALPHAS)) for _ in range(7)], num_frames=num_frames)
    _clear(counts, g, t, frame, g_row, t_row, iou)
    _identity(counts, g, t, g_row, t_row, iou)
    _hota(counts, g, t, frame, g_row, t_row, iou)
    return counts


def _clear(counts: MotCounts, g: _Rows, t: _Rows, frame, g_row, t_row, iou) -> None:
    cand = iou >= CLEAR_THRESHOLD - EPS
    frame, g_row, t_row, iou = frame[cand], g_row[cand], t_row[cand], iou[cand]
    num_gt, num_tracker = len(g.frame), len(t.frame)
    # Frames with both sides present: the only ones TrackEval's CLEAR loop looks at.
    active = (np.diff(g.start) > 0) & (np.diff(t.start) > 0)
    rank = np.cumsum(active) - 1
    active_frames = np.flatnonzero(active)
    # Tracker identity each gt row is matched to (-1: none), filled as frames are decided.
    matched_to = np.full(num_gt, -1)
    bounds = np.searchsorted(frame, np.arange(len(g.start)))

    deg_g = np.bincount(g_row, minlength=num_gt)
    deg_t = np.bincount(t_row, minlength=num_tracker)
    alone = (deg_g[g_row] == 1) & (deg_t[t_row] == 1)
    matched_to[g_row[alone]] = t.ident[t_row[alone]]
    prev_of = np.full(g.num_ids, -1)

    def frame_score(f):
        # Continuation bonus from the previous frame TrackEval looked at (both sides non-empty).
        sel = np.arange(bounds[f], bounds[f + 1])
        r = rank[f]
        if r > 0:
            pf = active_frames[r - 1]
            prev_rows = np.arange(g.start[pf], g.start[pf + 1])
            prev_of[g.ident[prev_rows]] = matched_to[prev_rows]
        cont = (prev_of[g.ident[g_row[sel]]] == t.ident[t_row[sel]]) & (prev_of[g.ident[g_row[sel]]] >= 0)
        values = 1000 * cont + iou[sel]
        if r > 0:
            prev_of[g.ident[prev_rows]] = -1
        return sel, values

    # Conflicting frames are solved in time order: each may depend on the previous one's matches.
    hard = np.unique(frame[~alone])
    keep = alone.copy()
    for f in hard:
        sel, values = frame_score(f)
        rows = g_row[sel] - g.start[f]
        cols = t_row[sel] - t.start[f]
        matrix = np.zeros((g.start[f + 1] - g.start[f], t.start[f + 1] - t.start[f]))
        matrix[rows, cols] = values
        mr, mc = linear_sum_assignment(-matrix)
        chosen = np.zeros_like(matrix, dtype=bool)
        chosen[mr, mc] = matrix[mr, mc] > EPS
        win = sel[chosen[rows, cols]]
        keep[win] = True
        matched_to[g_row[win]] = t.ident[t_row[win]]

    m = np.flatnonzero(keep)
    mg, mt, msim = g_row[m], t_row[m], iou[m]
    tp = len(m)
    counts.tp, counts.fn, counts.fp = tp, num_gt - tp, num_tracker - tp
    counts.motp_sum = float(msim.sum())
    # IDSW and Frag: walk each object's matches in time (rows are frame-sorted; stable sort by id).
    gid = g.ident[mg]
    order = np.argsort(gid, kind="stable")
    gid, tid, mrank = gid[order], t.ident[mt][order], rank[g.frame[mg]][order]
    same = gid[1:] == gid[:-1]
    counts.idsw = int(np.sum(same & (tid[1:] != tid[:-1])))
    starts = len(gid) - int(np.sum(same & (mrank[1:] - mrank[:-1] == 1)))
    counts.frag = starts - len(np.unique(gid))
    present = np.bincount(g.ident, minlength=g.num_ids)
    tracked = np.bincount(gid, minlength=g.num_ids)
    ratio = tracked / np.maximum(present, 1)
    counts.mt = int(np.sum(ratio > 0.8))
    counts.pt = int(np.sum(ratio >= 0.2)) - counts.mt
    counts.ml = g.num_ids - counts.mt - counts.pt


def _identity(counts: MotCounts, g: _Rows, t: _Rows, g_row, t_row, iou) -> None:
    cand = iou >= IDENTITY_THRESHOLD
    key = g.ident[g_row[cand]] * t.num_ids + t.ident[t_row[cand]]
    keys, together = np.unique(key, return_counts=True)
    idtp = 0
    if len(keys):
        _, row = np.unique(keys // t.num_ids, return_inverse=True)
        _, col = np.unique(keys % t.num_ids, return_inverse=True)
        matrix = np.zeros((row.max() + 1, col.max() + 1))
        matrix[row, col] = together
        # Minimising TrackEval's (G+T)^2 FN+FP cost is maximising the matched co-occurrences.
        r, c = linear_sum_assignment(matrix, maximize=True)
        idtp = int(matrix[r, c].sum())
    counts.idtp = idtp
    counts.idfn = len(g.frame) - idtp
    counts.idfp = len(t.frame) - idtp


def _hota(counts: MotCounts, g: _Rows, t: _Rows, frame, g_row, t_row, iou) -> None:
    num_gt, num_tracker = len(g.frame), len(t.frame)
    counts.hota_fn = np.full(len(ALPHAS), float(num_gt))
    counts.hota_fp = np.full(len(ALPHAS), float(num_tracker))
    counts.loc_a = np.ones(len(ALPHAS))
    if len(iou) == 0:
        return
    gt_count = np.bincount(g.ident, minlength=g.num_ids).astype(float)
    tr_count = np.bincount(t.ident, minlength=t.num_ids).astype(float)
    # Soft co-occurrence of identities: IoU normalised by everything else each box overlaps.
    row_sum = np.bincount(g_row, iou, minlength=num_gt)
    col_sum = np.bincount(t_row, iou, minlength=num_tracker)
    denom = col_sum[t_row] + row_sum[g_row] - iou
    soft = np.where(denom > EPS, iou / np.where(denom > EPS, denom, 1), 0.0)
    gi, ti = g.ident[g_row], t.ident[t_row]
    keys, inverse = np.unique(gi * t.num_ids + ti, return_inverse=True)
    potential = np.bincount(inverse, soft, minlength=len(keys))
    kg, kt = keys // t.num_ids, keys % t.num_ids
    align = potential / (gt_count[kg] + tr_count[kt] - potential)
    score = align[inverse] * iou
    m = _match(frame, g_row, t_row, score, g.start, t.start, num_gt, num_tracker)
    sim, mkey = iou[m], inverse[m]
    # level: how many thresholds a match passes (it counts for alphas[:level]).
    level = np.sum(sim[:, None] >= ALPHAS[None, :] - EPS, axis=1)
    per_level = np.bincount(level, minlength=len(ALPHAS) + 1)
    tp = np.cumsum(per_level[::-1])[::-1][1:].astype(float)
    loc = np.array([sim[level > a].sum() for a in range(len(ALPHAS))])
    hist = np.bincount(mkey * (len(ALPHAS) + 1) + level, minlength=len(keys) * (len(ALPHAS) + 1))
    hist = hist.reshape(len(keys), len(ALPHAS) + 1)
    mc = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:].astype(float)    # (K, 19) matches per pair
    denom_a = np.maximum(1, gt_count[kg][:, None] + tr_count[kt][:, None] - mc)
    counts.hota_tp = tp
    counts.hota_fn = num_gt - tp
    counts.hota_fp = num_tracker - tp
    counts.ass_a = np.sum(mc * (mc / denom_a), axis=0) / np.maximum(1, tp)
    counts.ass_re = np.sum(mc * (mc / np.maximum(1, gt_count[kg][:, None])), axis=0) / np.maximum(1, tp)
    counts.ass_pr = np.sum(mc * (mc / np.maximum(1, tr_count[kt][:, None])), axis=0) / np.maximum(1, tp)
    counts.loc_a = np.maximum(1e-10, loc) / np.maximum(1e-10, tp)


# --------------------------------------------------------------------------------------- combine


def combine_counts(counts: Sequence[MotCounts]) -> MotCounts:
    """Several sequences as one, as TrackEval's ``combine_sequences`` does: counts summed,
    AssA/AssRe/AssPr/LocA averaged with the per-threshold HOTA TP as weights."""
    if not counts:
        raise ValueError("combine_counts: no sequences to combine")
    total = MotCounts(*[np.zeros(len(ALPHAS)) for _ in range(7)])
    for field in ("hota_tp", "hota_fn", "hota_fp"):
        setattr(total, field, np.sum([getattr(c, field) for c in counts], axis=0))
    for field in ("tp", "fn", "fp", "idsw", "mt", "pt", "ml", "frag", "idtp", "idfn", "idfp", "num_frames"):
        setattr(total, field, int(sum(getattr(c, field) for c in counts)))
    total.combined = True
    total.motp_sum = float(sum(c.motp_sum for c in counts))
    for field in ("ass_a", "ass_re", "ass_pr"):
        weighted = np.sum([getattr(c, field) * c.hota_tp for c in counts], axis=0)
        setattr(total, field, weighted / np.maximum(1.0, total.hota_tp))
    loc = np.sum([c.loc_a * c.hota_tp for c in counts], axis=0)
    total.loc_a = np.maximum(1e-10, loc) / np.maximum(1e-10, total.hota_tp)
    return total


def compute_scores(counts: MotCounts) -> dict:
    """Scores from counts. Scalars: ``HOTA, DetA, AssA, LocA, DetRe, DetPr, AssRe, AssPr`` (means
    over the 19 thresholds, as TrackEval summarises them), ``HOTA0``, ``LocA0`` (at the lowest
    threshold), ``MOTA, MOTP, MODA, IDF1, IDP, IDR, MTR, PTR, MLR`` and the integer counts
    ``TP, FN, FP, IDSW, Frag, MT, PT, ML, IDTP, IDFN, IDFP``. ``curves``: ``{name: (19,) array}``
    for the HOTA family, against ``alphas`` (``(19,)``)."""
    c = counts
    det_re = c.hota_tp / np.maximum(1, c.hota_tp + c.hota_fn)
    det_pr = c.hota_tp / np.maximum(1, c.hota_tp + c.hota_fp)
    det_a = c.hota_tp / np.maximum(1, c.hota_tp + c.hota_fn + c.hota_fp)
    hota = np.sqrt(det_a * c.ass_a)
    curves = {"HOTA": hota, "DetA": det_a, "AssA": c.ass_a, "DetRe": det_re, "DetPr": det_pr,
              "AssRe": c.ass_re, "AssPr": c.ass_pr, "LocA": c.loc_a}
    scores: dict = {name: float(np.mean(curve)) for name, curve in curves.items()}
    scores["HOTA0"] = float(hota[0])
    scores["LocA0"] = float(c.loc_a[0])
    num_gt = max(1.0, c.tp + c.fn)
    scores["MOTA"] = (c.tp - c.fp - c.idsw) / num_gt
    scores["MODA"] = (c.tp - c.fp) / num_gt
    scores["MOTP"] = c.motp_sum / max(1.0, c.tp)
    ids = max(1.0, c.mt + c.pt + c.ml)
    scores.update(MTR=c.mt / ids, PTR=c.pt / ids, MLR=c.ml / ids)
    if not c.combined and (c.tp + c.fn == 0 or c.tp + c.fp == 0):
        # TrackEval's CLEAR returns early for a sequence with one side empty, before its ratios are
        # computed: MOTA 0 (not -FP) and MLR 1. Combined sequences get the formulas again.
        scores.update(MOTA=0.0, MODA=0.0, MOTP=0.0, MTR=0.0, PTR=0.0, MLR=1.0)
    scores["IDR"] = c.idtp / max(1.0, c.idtp + c.idfn)
    scores["IDP"] = c.idtp / max(1.0, c.idtp + c.idfp)
    scores["IDF1"] = c.idtp / max(1.0, c.idtp + 0.5 * c.idfp + 0.5 * c.idfn)
    scores.update(TP=c.tp, FN=c.fn, FP=c.fp, IDSW=c.idsw, Frag=c.frag, MT=c.mt, PT=c.pt, ML=c.ml,
                  IDTP=c.idtp, IDFN=c.idfn, IDFP=c.idfp)
    scores["curves"] = curves
    scores["alphas"] = ALPHAS.copy()
    return scores


def combine(counts: Sequence[MotCounts]) -> dict:
    """The combined scores of several sequences: ``compute_scores(combine_counts(counts))``."""
    return compute_scores(combine_counts(counts))
