"""Scores of trackers on a dataset: every sequence's curves from its result files (or from the
curve cache), averaged over runs of a tracker and over sequences."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from pytracking.analysis import got10k
from pytracking.analysis.cache import Entry, RunCache, entry_key, ground_truth_digest
from pytracking.analysis.got10k import GOT10K_SCORE_NAMES
from pytracking.analysis.metrics import SCORE_NAMES, SequenceCurves, scores, sequence_curves, sequence_errors
from pytracking.evaluation.results import read_boxes, run_folder, short_result_error

logger = logging.getLogger(__name__)
CURVE_FIELDS = ("success", "precision", "norm_precision")


@dataclasses.dataclass(frozen=True)
class TrackerRuns:
    """A tracker's results: name, parameter name, and run ids (None: the run without an id)."""

    name: str
    param: str
    run_ids: tuple = (None,)
    display_name: str | None = None

    @property
    def label(self) -> str:
        """The name in tables and plots; an average of several runs says how many, ``ATOM default (3 runs)``."""
        base = self.display_name or f"{self.name} {self.param}"
        return f"{base} ({len(self.run_ids)} runs)" if len(self.run_ids) > 1 else base

    def result_file(self, results_path: str | Path, run_id: int | None, sequence: str) -> Path:
        return run_folder(results_path, self.name, self.param, run_id) / f"{sequence}.txt"


@dataclasses.dataclass
class AnalysisResult:
    """Curves and scores of ``trackers`` on the ``sequences`` used (the others were left out)."""

    trackers: list[TrackerRuns]
    sequences: list[str]
    curves: dict[str, list[SequenceCurves]]  # tracker label -> one per sequence, averaged over runs
    scores: dict[str, dict[str, float]]  # tracker label -> score name -> percent
    sequence_scores: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # label -> (S, 5)
    dataset: str = ""
    left_out: list[str] = dataclasses.field(default_factory=list)
    # tracker label -> sequence -> frames its result files missed (summed over runs), scored as failures
    short_results: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    output_dir: Path | None = None
    files: list[Path] = dataclasses.field(default_factory=list)  # what analyse_dataset wrote
    # tracker label -> AO, SR0.5, SR0.75 (percent) by the GOT-10k toolkit's rules; empty unless asked for
    got10k_scores: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    def score_names(self) -> tuple[str, ...]:
        """The columns of the tables: the scores, then GOT-10k's where computed."""
        return SCORE_NAMES + (GOT10K_SCORE_NAMES if self.got10k_scores else ())

    def all_scores(self, label: str) -> dict[str, float]:
        return {**self.scores[label], **self.got10k_scores.get(label, {})}

    def table(self) -> str:
        """The scores, one row per tracker, and the number of sequences they are averaged over."""
        width = max(len(t.label) for t in self.trackers) + 2
        names = self.score_names()
        lines = [f"{'Tracker':<{width}}" + "".join(f"{n:>15}" for n in names) + f"{'Sequences':>11}"]
        for tracker in self.trackers:
            values = self.all_scores(tracker.label)
            lines.append(f"{tracker.label:<{width}}" + "".join(f"{values[n]:>15.2f}" for n in names)
                         + f"{len(self.sequences):>11d}")
        return "\n".join(lines)

    def mean_curves(self, label: str) -> SequenceCurves:
        """A tracker's curves averaged over the sequences used (what the plots show)."""
        return SequenceCurves(*(np.mean([getattr(c, f) for c in self.curves[label]], 0) for f in CURVE_FIELDS))


def missing_results(sequences, trackers: list[TrackerRuns], results_path: str | Path) -> dict[str, list[Path]]:
    """Sequence name -> the result files missing for it (sequences with none missing left out)."""
    missing = {}
    for seq in sequences:
        paths = [t.result_file(results_path, run, seq.name) for t in trackers for run in t.run_ids]
        absent = [p for p in paths if not p.is_file()]
        if absent:
            missing[seq.name] = absent
    return missing


def score_file(path: Path, ground_truth: np.ndarray, target_visible: np.ndarray | None,
               dataset: str) -> tuple[SequenceCurves, np.ndarray, int]:
    """Curves and (5,) scores of one result file against its sequence's ground truth, and how
    many frames the file missed at its end (counted as failures)."""
    boxes, _ = read_boxes(path, len(ground_truth), allow_short=True)
    errors = sequence_errors(boxes, ground_truth, dataset=dataset, target_visible=target_visible, allow_short=True)
    curves = sequence_curves(errors)
    values = scores([curves])
    return curves, np.array([values[n] for n in SCORE_NAMES]), errors.missing


def _run_entries(tracker: TrackerRuns, run_id: int | None, used: list, digests: dict[str, str],
                 results_path: str | Path, dataset: str, cache_dir: Path | None,
                 allow_short: bool) -> tuple[list[Entry], int]:
    """One run's entries for the sequences ``used``, from the cache where the key matches;
    and how many were computed. A short result file is an error unless ``allow_short``."""
    folder = run_folder(results_path, tracker.name, tracker.param, run_id)
    cache = RunCache(cache_dir, folder) if cache_dir is not None else None
    cached = cache.load() if cache is not None else {}
    entries, computed = [], 0
    try:
        for seq in used:
            path = folder / f"{seq.name}.txt"
            key = entry_key(path, digests[seq.name])
            entry = cached.get(seq.name)
            if entry is None or entry.key != key:
                gt = np.asarray(seq.ground_truth_rect, dtype=np.float64)
                entry = Entry(key, *score_file(path, gt, seq.target_visible, dataset))
                cached[seq.name] = entry
                computed += 1
            if entry.missing and not allow_short:
                frames = len(seq.ground_truth_rect)
                raise short_result_error(path, frames - entry.missing, frames)
            entries.append(entry)
    finally:
        # What was computed before an error is kept for the next run.
        if cache is not None and computed:
            cache.save(cached)
    return entries, computed


def usable_sequences(sequences: list, trackers: list[TrackerRuns], results_path: str | Path,
                     skip_missing: bool) -> list:
    """The sequences with results for every tracker and run. Missing results raise
    FileNotFoundError listing them, or with ``skip_missing`` leave those sequences out (logged)."""
    incomplete = missing_results(sequences, trackers, results_path)
    if incomplete and not skip_missing:
        listed = [str(p) for paths in incomplete.values() for p in paths]
        shown = "\n  ".join(listed[:20]) + (f"\n  ... and {len(listed) - 20} more" if len(listed) > 20 else "")
        raise FileNotFoundError(f"{len(listed)} result files are missing (for {len(incomplete)} of "
                                f"{len(sequences)} sequences):\n  {shown}\nrun the trackers on those sequences, "
                                f"or leave the sequences out (skip_missing / --skip_missing)")
    used = [seq for seq in sequences if seq.name not in incomplete]
    if incomplete:
        logger.warning("%d of %d sequences left out for every tracker (results missing): %s", len(incomplete),
                       len(sequences), ", ".join(sorted(incomplete)[:10]) + (" ..." if len(incomplete) > 10 else ""))
    if not used:
        raise FileNotFoundError(f"no sequence has results for every tracker under {results_path}; "
                                f"run the trackers first")
    return used


def analyse(sequences, trackers: list[TrackerRuns], *, results_path: str | Path, dataset: str = "",
            skip_missing: bool = False, cache_dir: str | Path | None = None,
            allow_short_results: bool = False, got10k_metrics: bool = False) -> AnalysisResult:
    """Score ``trackers`` on ``sequences`` (objects with ``name``, ``ground_truth_rect`` and
    ``target_visible``). Missing result files are an error listing them, or with
    ``skip_missing`` the sequences missing for any tracker are left out for all of them. A
    result file with fewer rows than the ground truth is an error, or with
    ``allow_short_results`` its missing frames count as failures (as pytracking's analysis
    counts them), reported in ``short_results``. With ``cache_dir``, curves are read from and
    written to the curve cache there. With ``got10k_metrics``, GOT-10k's AO, SR0.5 and SR0.75
    are computed too (:mod:`pytracking.analysis.got10k`), into ``got10k_scores``."""
    labels = [t.label for t in trackers]
    if not trackers or len(set(labels)) != len(labels):
        raise ValueError(f"trackers need distinct labels, got {labels}: give them display names")
    sequences = list(sequences)
    used = usable_sequences(sequences, trackers, results_path, skip_missing)
    incomplete = {seq.name for seq in sequences} - {seq.name for seq in used}
    logger.info("analysing %d trackers on %d of %d sequences", len(trackers), len(used), len(sequences))
    digests = {seq.name: ground_truth_digest(seq.ground_truth_rect, seq.target_visible, dataset) for seq in used}
    cache_dir = Path(cache_dir) if cache_dir is not None else None
    curves: dict[str, list[SequenceCurves]] = {}
    sequence_scores: dict[str, np.ndarray] = {}
    short: dict[str, dict[str, int]] = {}
    for tracker in trackers:
        runs, computed = [], 0
        for run_id in tracker.run_ids:
            entries, count = _run_entries(tracker, run_id, used, digests, results_path, dataset, cache_dir,
                                          allow_short_results)
            runs.append(entries)
            computed += count
        missed = {seq.name: sum(run[i].missing for run in runs) for i, seq in enumerate(used)}
        missed = {name: frames for name, frames in missed.items() if frames}
        if missed:
            short[tracker.label] = missed
            logger.warning("%s: %d result files miss %d frames at their end, counted as failures: %s", tracker.label,
                           len(missed), sum(missed.values()), ", ".join(f"{n} ({f})" for n, f in missed.items()))
        total = len(used) * len(tracker.run_ids)
        logger.info("%s: %d sequence results, %d computed, %d from the cache", tracker.label, total, computed,
                    total - computed)
        curves[tracker.label] = [SequenceCurves(*(np.mean([getattr(run[i].curves, f) for run in runs], 0)
                                                  for f in CURVE_FIELDS)) for i in range(len(used))]
        # Scores are linear in the curves, so the mean of the runs' scores is the averaged curves' score.
        sequence_scores[tracker.label] = np.mean([[entry.scores for entry in run] for run in runs], 0)
    got10k = _got10k_scores(trackers, used, results_path, allow_short_results) if got10k_metrics else {}
    return AnalysisResult(list(trackers), [seq.name for seq in used], curves,
                          {label: scores(c) for label, c in curves.items()}, sequence_scores, dataset,
                          sorted(incomplete), short_results=short, got10k_scores=got10k)


def _got10k_scores(trackers: list[TrackerRuns], used: list, results_path: str | Path,
                   allow_short: bool) -> dict[str, dict[str, float]]:
    """AO, SR0.5, SR0.75 of every tracker, each run's IoUs of every sequence pooled (the toolkit's
    order). The result files are read again: the curve cache holds curves, not per-frame IoUs."""
    bounds = {seq.name: got10k.image_bound(seq.frames) for seq in used}
    unbounded = [name for name, bound in bounds.items() if bound is None]
    if unbounded:
        logger.warning("GOT-10k scores: the image size of %d sequences is unknown (no meta_info.ini or readable "
                       "first frame), so their boxes are not clipped to the image: %s", len(unbounded),
                       ", ".join(unbounded[:10]) + (" ..." if len(unbounded) > 10 else ""))
    result = {}
    for tracker in trackers:
        ious = []
        for run_id in tracker.run_ids:
            for seq in used:
                gt = np.asarray(seq.ground_truth_rect, dtype=np.float64)
                boxes, _ = read_boxes(tracker.result_file(results_path, run_id, seq.name), len(gt),
                                      allow_short=allow_short)
                ious.append(got10k.sequence_ious(boxes, gt, seq.target_visible, bounds[seq.name]))
        result[tracker.label] = got10k.scores_of(ious)
    return result
