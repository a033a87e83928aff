"""Seconds to score HOTA + CLEAR + Identity over an evaluation the size of MOT17 train (7 sequences,
5,316 frames, about 110,000 ground-truth boxes and a tracker output of similar size, seeded), with
our ``pytracking.analysis.mot`` and, side by side in the same run, with the official TrackEval code
where it is importable, plus the largest difference between the two tools' numbers.

    python benchmarks/mot_metrics.py [--quick] [--repeat 3] [--seed 0] [--preprocessing mot17]

TrackEval is not a dependency: ``pip install --no-deps trackeval`` into a throwaway environment, or
put its source on PYTHONPATH. Its code uses ``np.float``/``np.int``, removed from numpy 2, so this
script restores those two aliases before importing it. Both tools are timed from rows in memory
to combined scores (IoU, preprocessing, the three metrics, combining); reading files is left out.
``--quick`` scores a tiny evaluation (3 sequences, 185 frames) once, in seconds. Ends with one line
holding a JSON object:

- ``quick``: whether ``--quick`` ran; ``sequences``, ``frames``, ``gt_boxes``, ``tracker_boxes``:
  the evaluation's size; ``preprocessing``: the benchmark whose preprocessing rules apply;
- ``ours_s``: seconds our code takes (best of --repeat); ``trackeval_s``: TrackEval's, and
  ``trackeval_over_ours`` their ratio (both null where TrackEval is not importable);
- ``max_abs_diff``: the largest difference between the two tools' numbers (the 25 compared
  scores and the HOTA, DetA, AssA and LocA curves, per sequence and combined), ``max_diff_at``
  where it is (null without TrackEval);
- ``HOTA``, ``MOTA``, ``IDF1``: our combined scores (fractions), as a check of the evaluation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import numpy as np

from ltr.data.box_files import MotRows
from pytracking.analysis.mot import combine, compute_scores, evaluate_sequence

JSON_FIELDS: tuple[str, ...] = (
    "quick", "sequences", "frames", "gt_boxes", "tracker_boxes", "preprocessing", "ours_s", "trackeval_s",
    "trackeval_over_ours", "max_abs_diff", "max_diff_at", "HOTA", "MOTA", "IDF1")
MOT17_TRAIN_LENGTHS = (600, 525, 1050, 837, 654, 900, 750)
COMPARED = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr", "HOTA0", "MOTA", "MOTP",
            "IDF1", "IDP", "IDR", "TP", "FN", "FP", "IDSW", "MT", "PT", "ML", "Frag", "IDTP", "IDFN", "IDFP")
TRACKEVAL_KEYS = {"HOTA": ("HOTA", "HOTA"), "DetA": ("HOTA", "DetA"), "AssA": ("HOTA", "AssA"),
                  "LocA": ("HOTA", "LocA"), "DetRe": ("HOTA", "DetRe"), "DetPr": ("HOTA", "DetPr"),
                  "AssRe": ("HOTA", "AssRe"), "AssPr": ("HOTA", "AssPr"), "HOTA0": ("HOTA", "HOTA(0)"),
                  "MOTA": ("CLEAR", "MOTA"), "MOTP": ("CLEAR", "MOTP"), "TP": ("CLEAR", "CLR_TP"),
                  "FN": ("CLEAR", "CLR_FN"), "FP": ("CLEAR", "CLR_FP"), "IDSW": ("CLEAR", "IDSW"),
                  "MT": ("CLEAR", "MT"), "PT": ("CLEAR", "PT"), "ML": ("CLEAR", "ML"), "Frag": ("CLEAR", "Frag"),
                  "IDF1": ("Identity", "IDF1"), "IDP": ("Identity", "IDP"), "IDR": ("Identity", "IDR"),
                  "IDTP": ("Identity", "IDTP"), "IDFN": ("Identity", "IDFN"), "IDFP": ("Identity", "IDFP")}


def generate_sequence(rng: np.random.Generator, num_frames: int, objects_per_frame: float) -> tuple[MotRows, MotRows]:
    """Ground truth of walking people (MOT17 classes and marks, some distractors and zero-marked
    rows) and a tracker output with box noise, misses, false positives, identity switches,
    fragmented tracks and boxes on distractors, all boxes rounded to 2 decimals as in files."""
    mean_life = min(150.0, num_frames / 2)
    num_objects = max(2, int(round(objects_per_frame * num_frames / mean_life)))
    gt_parts, tr_parts = [], []
    next_tracker_id = 1
    for ident in range(1, num_objects + 1):
        life = int(np.clip(rng.exponential(mean_life), 5, num_frames))
        first = int(rng.integers(1, num_frames - life + 2))
        frames = np.arange(first, first + life)
        size = rng.uniform(20, 120)
        wh = np.array([size * 0.4, size])
        start = rng.uniform([0, 0], [1800, 900])
        velocity = rng.normal(0, 2, 2)
        xy = start + np.cumsum(rng.normal(velocity, 0.8, (life, 2)), axis=0)
        box = np.round(np.concatenate([xy, np.broadcast_to(wh, (life, 2))], 1), 2)
        cls = 1 if rng.random() < 0.9 else int(rng.choice([2, 7, 8, 12, 3]))
        mark = np.ones(life) if rng.random() < 0.95 else np.zeros(life)
        visibility = np.round(rng.uniform(0, 1, life), 2)
        extra = np.stack([np.full(life, cls), visibility], 1)
        gt_parts.append(MotRows(frames, np.full(life, ident), box, mark, extra))
        # The tracker follows this object with noise, losing and re-finding it (new identity
        # after a long gap: fragmentation and identity switches).
        seen = rng.random(life) < 0.85
        noisy = np.round(box + rng.normal(0, 0.06 * size, (life, 4)) * [1, 1, 0.5, 0.5], 2)
        noisy[:, 2:] = np.maximum(noisy[:, 2:], 1)
        track_ids = np.full(life, next_tracker_id)
        for cut in np.sort(rng.choice(life, size=int(rng.integers(0, 3)), replace=False)):
            next_tracker_id += 1
            track_ids[cut:] = next_tracker_id
        next_tracker_id += 1
        tr_parts.append(MotRows(frames[seen], track_ids[seen], noisy[seen], np.ones(seen.sum()),
                                np.full((seen.sum(), 3), -1.0)))
    # False positives: short tracks anywhere.
    for _ in range(max(1, num_objects // 4)):
        life = int(rng.integers(1, 30))
        first = int(rng.integers(1, num_frames - life + 2))
        xy = rng.uniform([0, 0], [1800, 900]) + np.cumsum(rng.normal(0, 2, (life, 2)), axis=0)
        size = rng.uniform(20, 120)
        box = np.round(np.concatenate([xy, np.broadcast_to([size * 0.4, size], (life, 2))], 1), 2)
        tr_parts.append(MotRows(np.arange(first, first + life), np.full(life, next_tracker_id), box,
                                np.ones(life), np.full((life, 3), -1.0)))
        next_tracker_id += 1
    gt = MotRows.from_array(np.concatenate([p.to_array() for p in gt_parts]))
    tracker = MotRows.from_array(np.concatenate([p.to_array() for p in tr_parts]))
    # Files are sorted by frame, not by identity.
    gt = gt.select(np.lexsort((gt.id, gt.frame)))
    tracker = tracker.select(np.lexsort((tracker.id, tracker.frame)))
    return gt, tracker


def generate(seed: int, lengths: tuple[int, ...], objects_per_frame: float) -> list[tuple[str, int, MotRows, MotRows]]:
    rng = np.random.default_rng(seed)
    return [(f"SEQ-{n:02d}", length, *generate_sequence(rng, length, objects_per_frame))
            for n, length in enumerate(lengths)]


def ours(sequences, preprocessing: str | None) -> tuple[dict, dict]:
    counts = {name: evaluate_sequence(gt, tr, length, preprocessing=preprocessing)
              for name, length, gt, tr in sequences}
    per_sequence = {name: compute_scores(c) for name, c in counts.items()}
    per_sequence["COMBINED_SEQ"] = combine(list(counts.values()))
    return per_sequence, counts


# ------------------------------------------------------------------------------------- TrackEval


@contextlib.contextmanager
def numpy_aliases():
    """``np.float`` and ``np.int``, which TrackEval still spells (numpy 2 removed them), for the
    time of the block only: removed again afterwards where numpy did not have them, so that code
    running later in the same process sees numpy as it is."""
    import scipy.optimize  # noqa: F401  (imported before the aliases, which scipy must not see)
    added = [name for name, value in (("float", float), ("int", int)) if not hasattr(np, name)]
    for name in added:
        setattr(np, name, {"float": float, "int": int}[name])
    try:
        yield
    finally:
        for name in added:
            delattr(np, name)


def import_trackeval():
    """TrackEval's modules, or None where it is not importable (call within numpy_aliases())."""
    try:
        from trackeval.datasets.mot_challenge_2d_box import MotChallenge2DBox
        from trackeval.metrics import CLEAR, HOTA, Identity
    except ImportError:
        return None
    return MotChallenge2DBox, HOTA, CLEAR, Identity


def trackeval_raw(gt: MotRows, tracker: MotRows, length: int, name: str) -> dict:
    """The per-frame dict TrackEval's ``_load_raw_file`` builds from the two files (no IoU yet)."""
    # Its reader groups rows by frame keeping file order within a frame.
    gt = gt.select(np.argsort(gt.frame, kind="stable"))
    tracker = tracker.select(np.argsort(tracker.frame, kind="stable"))
    raw = {key: [] for key in ("gt_ids", "gt_dets", "gt_classes", "gt_extras", "gt_crowd_ignore_regions",
                               "tracker_ids", "tracker_dets", "tracker_classes", "tracker_confidences")}
    g_start = np.searchsorted(gt.frame, np.arange(1, length + 2))
    t_start = np.searchsorted(tracker.frame, np.arange(1, length + 2))
    for t in range(length):
        g = slice(g_start[t], g_start[t + 1])
        k = slice(t_start[t], t_start[t + 1])
        raw["gt_ids"].append(gt.id[g].astype(int))
        raw["gt_dets"].append(gt.box[g].copy())
        raw["gt_classes"].append(gt.extra[g, 0].astype(int))
        raw["gt_extras"].append({"zero_marked": gt.score[g].astype(int)})
        raw["gt_crowd_ignore_regions"].append(np.empty((0, 4)))
        raw["tracker_ids"].append(tracker.id[k].astype(int))
        raw["tracker_dets"].append(tracker.box[k].copy())
        raw["tracker_classes"].append(tracker.extra[k, 0].astype(int))
        raw["tracker_confidences"].append(tracker.score[k].copy())
    raw["num_timesteps"] = length
    raw["seq"] = name
    return raw


def run_trackeval(modules, raws: dict, preprocessing: str | None) -> dict:
    dataset_cls, hota_cls, clear_cls, identity_cls = modules
    # The dataset's folder checks are not wanted: only its preprocessing and IoU are used.
    dataset = object.__new__(dataset_cls)
    dataset.benchmark = {"mot15": "MOT15", "mot16": "MOT16", "mot17": "MOT17", "mot20": "MOT20"}[preprocessing]
    dataset.do_preproc = True
    dataset.class_name_to_class_id = {'pedestrian': 1, 'person_on_vehicle': 2, 'car': 3, 'bicycle': 4,
                                      'motorbike': 5, 'non_mot_vehicle': 6, 'static_person': 7,
                                      'distractor': 8, 'occluder': 9, 'occluder_on_ground': 10,
                                      'occluder_full': 11, 'reflection': 12, 'crowd': 13}
    dataset.valid_class_numbers = list(dataset.class_name_to_class_id.values())
    metrics = [hota_cls(), clear_cls({"PRINT_CONFIG": False}), identity_cls({"PRINT_CONFIG": False})]
    results = {}
    for name, raw in raws.items():
        raw = dict(raw)
        raw["similarity_scores"] = [dataset._calculate_similarities(g, t)
                                    for g, t in zip(raw["gt_dets"], raw["tracker_dets"])]
        data = dataset.get_preprocessed_seq_data(raw, "pedestrian")
        results[name] = {m.get_name(): m.eval_sequence(data) for m in metrics}
    combined = {m.get_name(): m.combine_sequences({n: r[m.get_name()] for n, r in results.items()})
                for m in metrics}
    results["COMBINED_SEQ"] = combined
    return results


def trackeval_value(result: dict, key: str) -> float:
    metric, field = TRACKEVAL_KEYS[key]
    value = result[metric][field]
    return float(np.mean(value)) if np.ndim(value) else float(value)


def largest_difference(mine: dict, theirs: dict) -> tuple[float, str]:
    worst, where = 0.0, ""
    for name, scores in mine.items():
        for key in COMPARED:
            diff = abs(float(scores[key]) - trackeval_value(theirs[name], key))
            if diff > worst or not where:
                worst, where = diff, f"{name} {key}"
        for key in ("HOTA", "DetA", "AssA", "LocA"):    # the 19-threshold curves too
            diff = float(np.max(np.abs(scores["curves"][key] - theirs[name]["HOTA"][key])))
            if diff > worst:
                worst, where = diff, f"{name} {key} curve"
    return worst, where


def best_of(repeat: int, function, *args):
    times, result = [], None
    for _ in range(repeat):
        begin = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - begin)
    return min(times), result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny evaluation (seconds)")
    parser.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preprocessing", default="mot17", choices=["mot15", "mot16", "mot17", "mot20"])
    parser.add_argument("--no-trackeval", action="store_true", help="time our code only")
    args = parser.parse_args(argv)

    lengths = (60, 45, 80) if args.quick else MOT17_TRAIN_LENGTHS
    repeat = 1 if args.quick else args.repeat
    sequences = generate(args.seed, lengths, objects_per_frame=8 if args.quick else 21)
    gt_boxes = sum(len(gt) for _, _, gt, _ in sequences)
    tracker_boxes = sum(len(tr) for _, _, _, tr in sequences)
    print(f"{len(sequences)} sequences, {sum(lengths)} frames, {gt_boxes} ground-truth and {tracker_boxes} "
          f"tracker boxes, preprocessing {args.preprocessing}")

    ours_s, (mine, _) = best_of(repeat, ours, sequences, args.preprocessing)
    print(f"pytracking.analysis.mot  HOTA+CLEAR+Identity: {ours_s:.3f} s")
    figures = {"quick": args.quick, "sequences": len(sequences), "frames": int(sum(lengths)),
               "gt_boxes": int(gt_boxes), "tracker_boxes": int(tracker_boxes), "preprocessing": args.preprocessing,
               "ours_s": float(f"{ours_s:.4g}"), "trackeval_s": None, "trackeval_over_ours": None,
               "max_abs_diff": None, "max_diff_at": None, "HOTA": mine["COMBINED_SEQ"]["HOTA"],
               "MOTA": mine["COMBINED_SEQ"]["MOTA"], "IDF1": mine["COMBINED_SEQ"]["IDF1"]}
    with numpy_aliases():
        modules = None if args.no_trackeval else import_trackeval()
        if modules is None:
            print("TrackEval: not importable (pip install --no-deps trackeval, or its source on PYTHONPATH)")
        else:
            raws = {name: trackeval_raw(gt, tr, length, name) for name, length, gt, tr in sequences}
            theirs_s, theirs = best_of(repeat, run_trackeval, modules, raws, args.preprocessing)
            worst, where = largest_difference(mine, theirs)
            figures.update(trackeval_s=float(f"{theirs_s:.4g}"), trackeval_over_ours=round(theirs_s / ours_s, 2),
                           max_abs_diff=worst, max_diff_at=where)
            print(f"TrackEval                HOTA+CLEAR+Identity: {theirs_s:.3f} s  ({theirs_s / ours_s:.1f}x ours)")
            print(f"largest difference between the two tools' numbers: {worst:.3g} ({where})")
    combined = mine["COMBINED_SEQ"]
    print("combined: " + ", ".join(f"{k} {combined[k]:.4f}" if isinstance(combined[k], float) else f"{k} {combined[k]}"
                                   for k in ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN")))
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
