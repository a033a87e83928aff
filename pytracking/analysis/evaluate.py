"""Scores of trackers on a dataset: every sequence's curves from its result files, averaged over
runs of a tracker and over sequences."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from pytracking.analysis.metrics import SequenceCurves, scores, sequence_curves, sequence_errors
from pytracking.analysis.results import read_boxes, run_folder

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrackerRuns:
    """A tracker's results: name, parameter name, and run ids (None: the run without an id)."""

    name: str
    param: str
    run_ids: tuple = (None,)
    display_name: str | None = None

    @property
    def label(self) -> str:
        return self.display_name or f"{self.name} {self.param}"


@dataclasses.dataclass
class AnalysisResult:
    trackers: list[TrackerRuns]
    sequences: list[str]
    curves: dict[str, list[SequenceCurves]]  # tracker label -> one per sequence
    scores: dict[str, dict[str, float]]  # tracker label -> score name -> percent

    def table(self) -> str:
        names = ["AUC", "OP50", "OP75", "Precision", "NormPrecision"]
        width = max(len(t.label) for t in self.trackers) + 2
        lines = [f"{'Tracker':<{width}}" + "".join(f"{n:>15}" for n in names)]
        for tracker in self.trackers:
            values = self.scores[tracker.label]
            lines.append(f"{tracker.label:<{width}}" + "".join(f"{values[n]:>15.2f}" for n in names))
        return "\n".join(lines)


def _missing(sequence, tracker: TrackerRuns, results_path) -> list[Path]:
    return [run_folder(results_path, tracker.name, tracker.param, run) / f"{sequence.name}.txt"
            for run in tracker.run_ids
            if not (run_folder(results_path, tracker.name, tracker.param, run) / f"{sequence.name}.txt").is_file()]


def analyse(sequences, trackers: list[TrackerRuns], *, results_path: str | Path, dataset: str = "",
            skip_missing: bool = False) -> AnalysisResult:
    """Score ``trackers`` on ``sequences`` (objects with ``name``, ``ground_truth_rect`` and
    ``target_visible``). Missing result files are an error listing them, or with
    ``skip_missing`` the sequences missing for any tracker are left out for all of them."""
    missing = {seq.name: [p for t in trackers for p in _missing(seq, t, results_path)] for seq in sequences}
    incomplete = {name: paths for name, paths in missing.items() if paths}
    if incomplete and not skip_missing:
        listed = [str(p) for paths in incomplete.values() for p in paths]
        raise FileNotFoundError(f"{len(listed)} result files are missing, e.g. {', '.join(listed[:5])}; run the "
                                f"trackers on those sequences, or leave the sequences out (skip_missing)")
    used = [seq for seq in sequences if seq.name not in incomplete]
    if incomplete:
        logger.warning("%d of %d sequences left out for every tracker (results missing): %s", len(incomplete),
                       len(sequences), ", ".join(sorted(incomplete)[:10]))
    curves: dict[str, list[SequenceCurves]] = {}
    for tracker in trackers:
        per_sequence = []
        for seq in used:
            gt = np.asarray(seq.ground_truth_rect, dtype=np.float64)
            runs = []
            for run in tracker.run_ids:
                path = run_folder(results_path, tracker.name, tracker.param, run) / f"{seq.name}.txt"
                boxes, _ = read_boxes(path, len(gt))
                errors = sequence_errors(boxes, gt, dataset=dataset, target_visible=seq.target_visible)
                runs.append(sequence_curves(errors))
            per_sequence.append(SequenceCurves(*(np.mean([getattr(r, f) for r in runs], 0)
                                                 for f in ("success", "precision", "norm_precision"))))
        curves[tracker.label] = per_sequence
    return AnalysisResult(list(trackers), [seq.name for seq in used], curves,
                          {label: scores(c) for label, c in curves.items()})
