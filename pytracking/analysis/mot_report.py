"""Scoring multi-object results: CLEAR, Identity and HOTA (:mod:`pytracking.analysis.mot`) of each
tracker on a dataset of :class:`~pytracking.evaluation.motdatasets.MotSequence`, their tables and
their HOTA/DetA/AssA-against-threshold plots.

Results are MOTChallenge files ``<results_path>/<tracker>/<param>[_<run:03d>]/<sequence>.txt``
whose frame column is the sequence's MOTChallenge frame number (``seq.first_frame`` onwards), and
``<sequence>_time.txt`` with one time per frame, from which the frames per second are computed
(total frames over total time; NaN where a time file is missing). A tracker with several runs is
scored on the counts of all its runs summed, as if each run were more sequences.

Outputs (atomic writes): ``scores.csv``/``scores.md`` (one row per tracker, combined over
sequences as TrackEval combines them), ``sequences.csv``/``sequences.md`` (one row per sequence
and tracker) and ``hota_curves_<tracker>.{png,pdf}``. Ratios are percentages.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import re
from pathlib import Path

import numpy as np

from ltr.data.box_files import MotRows, ResultFileError, read_mot_rows
from ltr.fileio import atomic_write_bytes, atomic_write_text
from pytracking.analysis.evaluate import TrackerRuns, usable_sequences
from pytracking.analysis.mot import ALPHAS, MotCounts, combine_counts, compute_scores, evaluate_sequence
from pytracking.analysis.reports import _csv, _markdown
from pytracking.evaluation.motdatasets import MotSequence
from pytracking.evaluation.results import run_folder
from pytracking.evaluation.submission import read_times

logger = logging.getLogger(__name__)

# The table's columns: ratios (shown in percent) and then integer counts; FPS is added last.
RATIO_COLUMNS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1")
COUNT_COLUMNS = ("IDSW", "FP", "FN")
TABLE_COLUMNS = (*RATIO_COLUMNS, *COUNT_COLUMNS, "FPS")
# Every scalar in the CSV files: the full set of compute_scores.
CSV_RATIOS = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr", "HOTA0", "MOTA", "MOTP",
              "MODA", "IDF1", "IDP", "IDR", "MTR", "PTR", "MLR")
CSV_COUNTS = ("TP", "FN", "FP", "IDSW", "Frag", "MT", "PT", "ML", "IDTP", "IDFN", "IDFP")
CURVE_NAMES = ("HOTA", "DetA", "AssA")
SCORES_CSV, SCORES_MD, SEQUENCES_CSV, SEQUENCES_MD = "scores.csv", "scores.md", "sequences.csv", "sequences.md"
FORMATS = ("png", "pdf")


def is_mot_dataset(sequences) -> bool:
    """Whether ``sequences`` are multi-object sequences (and so scored by this module)."""
    sequences = list(sequences)
    return bool(sequences) and all(isinstance(seq, MotSequence) for seq in sequences)


def preprocessing_for(dataset: str) -> str:
    """The MOTChallenge preprocessing of a dataset name: ``mot15`` and ``mot20`` have their own;
    MOT16, MOT17 and the synthetic set (MOT17's layout and classes) use MOT17's."""
    benchmark = dataset.split("_")[0]
    return benchmark if benchmark in ("mot15", "mot20") else "mot17"


def read_result(path: Path, seq: MotSequence) -> MotRows:
    """A result file's rows with frames renumbered ``1..len(seq)`` (what the metrics expect); a
    missing file, a malformed line or a frame outside the sequence's split is an error naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"no result file {path}: run the tracker on this sequence first")
    last = seq.first_frame + len(seq) - 1
    rows = read_mot_rows(path, what="result file", error=ResultFileError, max_frame=last)
    if len(rows) and rows.frame.min() < seq.first_frame:
        raise ResultFileError(f"{path} has rows in frame {rows.frame.min()}, before the sequence's frames "
                              f"{seq.first_frame}..{last}; run the tracker on this sequence again")
    return _shift(rows, seq.first_frame)


def _shift(rows: MotRows, first_frame: int) -> MotRows:
    return MotRows(rows.frame - (first_frame - 1), rows.id, rows.box, rows.score, rows.extra)


@dataclasses.dataclass
class MotAnalysisResult:
    """Scores of ``trackers`` on the ``sequences`` used (``left_out``: results missing)."""

    dataset: str
    trackers: list[TrackerRuns]
    sequences: list[str]
    left_out: list[str]
    counts: dict[str, list[MotCounts]]  # tracker label -> one per sequence (runs summed)
    scores: dict[str, dict]  # tracker label -> combined scores (compute_scores' dict, fractions)
    sequence_scores: dict[str, list[dict]]  # tracker label -> one per sequence
    fps: dict[str, float]  # tracker label -> frames per second (NaN: a time file missing)
    output_dir: Path | None = None
    files: list[Path] = dataclasses.field(default_factory=list)

    def row(self, label: str) -> dict[str, float]:
        """The table's values for ``label``: ratios in percent, counts, frames per second."""
        scores = self.scores[label]
        values = {name: 100.0 * scores[name] for name in RATIO_COLUMNS}
        values.update({name: scores[name] for name in COUNT_COLUMNS})
        values["FPS"] = self.fps[label]
        return values

    def table(self) -> str:
        """One row per tracker: HOTA, DetA, AssA, MOTA, IDF1 (%), IDSW, FP, FN, FPS and sequences."""
        width = max(len(t.label) for t in self.trackers) + 2
        lines = [f"{'Tracker':<{width}}" + "".join(f"{n:>9}" for n in TABLE_COLUMNS) + f"{'Sequences':>11}"]
        for tracker in self.trackers:
            values = self.row(tracker.label)
            cells = [f"{values[n]:>9.2f}" for n in RATIO_COLUMNS] + [f"{values[n]:>9d}" for n in COUNT_COLUMNS]
            cells.append(f"{values['FPS']:>9.1f}")
            lines.append(f"{tracker.label:<{width}}" + "".join(cells) + f"{len(self.sequences):>11d}")
        return "\n".join(lines)


def _tracker_fps(tracker: TrackerRuns, used: list[MotSequence], results_path: Path) -> float:
    frames, seconds = 0, 0.0
    for run_id in tracker.run_ids:
        folder = run_folder(results_path, tracker.name, tracker.param, run_id)
        for seq in used:
            path = folder / f"{seq.name}_time.txt"
            if not path.is_file():
                logger.warning("%s: no time file %s; its frames per second are not shown", tracker.label, path)
                return math.nan
            times = read_times(path, len(seq))
            frames, seconds = frames + len(times), seconds + float(times.sum())
    return frames / seconds if seconds > 0 else math.nan


def analyse_mot(sequences, trackers: list[TrackerRuns], *, results_path: str | Path, dataset: str,
                skip_missing: bool = False, preprocessing: str | None = None) -> MotAnalysisResult:
    """Score ``trackers`` on the MOT ``sequences``; ``preprocessing`` defaults to the dataset's
    (:func:`preprocessing_for`). Missing result files are an error listing them, or with
    ``skip_missing`` those sequences are left out for every tracker."""
    labels = [t.label for t in trackers]
    if not trackers or len(set(labels)) != len(labels):
        raise ValueError(f"trackers need distinct labels, got {labels}: give them display names")
    sequences = list(sequences)
    if any(seq.split == "test" for seq in sequences):
        raise ValueError(f"{dataset} is a test split without ground truth: it is scored by the benchmark's server")
    results_path = Path(results_path)
    preprocessing = preprocessing_for(dataset) if preprocessing is None else preprocessing
    used = usable_sequences(sequences, trackers, results_path, skip_missing)
    left_out = sorted({seq.name for seq in sequences} - {seq.name for seq in used})
    ground_truth = {seq.name: _shift(seq.ground_truth, seq.first_frame) for seq in used}
    counts, scores, sequence_scores, fps = {}, {}, {}, {}
    for tracker in trackers:
        per_sequence = []
        for seq in used:
            runs = []
            for run_id in tracker.run_ids:
                path = run_folder(results_path, tracker.name, tracker.param, run_id) / f"{seq.name}.txt"
                rows = read_result(path, seq)
                try:
                    runs.append(evaluate_sequence(ground_truth[seq.name], rows, len(seq), preprocessing=preprocessing))
                except ValueError as error:
                    raise ResultFileError(f"{path}: {error}") from None
            per_sequence.append(runs[0] if len(runs) == 1 else combine_counts(runs))
        counts[tracker.label] = per_sequence
        scores[tracker.label] = compute_scores(combine_counts(per_sequence))
        sequence_scores[tracker.label] = [compute_scores(c) for c in per_sequence]
        fps[tracker.label] = _tracker_fps(tracker, used, results_path)
        logger.info("%s on %s: HOTA %.2f, MOTA %.2f, IDF1 %.2f", tracker.label, dataset,
                    100 * scores[tracker.label]["HOTA"], 100 * scores[tracker.label]["MOTA"],
                    100 * scores[tracker.label]["IDF1"])
    return MotAnalysisResult(dataset, list(trackers), [seq.name for seq in used], left_out, counts, scores,
                             sequence_scores, fps)


def _values(scores: dict, decimals: int) -> list[str]:
    return [f"{100.0 * scores[n]:.{decimals}f}" for n in CSV_RATIOS] + [str(int(scores[n])) for n in CSV_COUNTS]


def _fps_cell(fps: float, decimals: int, missing: str) -> str:
    return missing if math.isnan(fps) else f"{fps:.{decimals}f}"


def scores_csv(result: MotAnalysisResult) -> str:
    """One row per tracker: every combined score (ratios in percent, four decimals), FPS, sequences."""
    return _csv(["tracker", *CSV_RATIOS, *CSV_COUNTS, "FPS", "sequences"],
                [[t.label, *_values(result.scores[t.label], 4), _fps_cell(result.fps[t.label], 2, ""),
                  len(result.sequences)] for t in result.trackers])


def scores_markdown(result: MotAnalysisResult) -> str:
    rows = []
    for t in result.trackers:
        values = result.row(t.label)
        rows.append([t.label, *(f"{values[n]:.2f}" for n in RATIO_COLUMNS), *(str(values[n]) for n in COUNT_COLUMNS),
                     _fps_cell(values["FPS"], 1, "-"), str(len(result.sequences))])
    table = _markdown(["Tracker", *TABLE_COLUMNS, "Sequences"], rows)
    return (f"# Scores on {result.dataset} ({len(result.sequences)} sequences)\n\n{table}\n"
            f"HOTA, DetA and AssA are means over the 19 thresholds 0.05..0.95, combined over sequences from "
            f"summed counts (TrackEval's rules); MOTA and IDF1 at IoU 0.5. Percentages.\n")


def sequences_csv(result: MotAnalysisResult) -> str:
    """One row per sequence and tracker: every score of that sequence."""
    return _csv(["sequence", "tracker", *CSV_RATIOS, *CSV_COUNTS],
                [[name, t.label, *_values(result.sequence_scores[t.label][i], 4)]
                 for i, name in enumerate(result.sequences) for t in result.trackers])


def sequences_markdown(result: MotAnalysisResult) -> str:
    columns = (*RATIO_COLUMNS, *COUNT_COLUMNS)
    rows = [[name, t.label, *(f"{100.0 * s[n]:.2f}" for n in RATIO_COLUMNS), *(str(int(s[n])) for n in COUNT_COLUMNS)]
            for i, name in enumerate(result.sequences) for t in result.trackers
            for s in [result.sequence_scores[t.label][i]]]
    return f"# Scores per sequence on {result.dataset}\n\n" + _markdown(["Sequence", "Tracker", *columns], rows, 2)


def write_mot_reports(result: MotAnalysisResult, output_dir: str | Path) -> list[Path]:
    """Write the four tables into ``output_dir`` (atomically); returns the paths written."""
    output_dir = Path(output_dir)
    files = {SCORES_CSV: scores_csv(result), SCORES_MD: scores_markdown(result),
             SEQUENCES_CSV: sequences_csv(result), SEQUENCES_MD: sequences_markdown(result)}
    for name, text in files.items():
        atomic_write_text(output_dir / name, text)
    return [output_dir / name for name in files]


def plot_stem(label: str) -> str:
    """``hota_curves_<label>``, the label reduced to letters, digits, ``-`` and ``_``."""
    return "hota_curves_" + (re.sub(r"[^A-Za-z0-9_-]+", "_", label).strip("_") or "tracker")


def write_mot_plots(result: MotAnalysisResult, output_dir: str | Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """HOTA, DetA and AssA against the localisation threshold, one figure per tracker."""
    # Off-screen figures, as the SOT plots: no display and no pyplot state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    output_dir = Path(output_dir)
    written = []
    stems = [plot_stem(t.label) for t in result.trackers]
    for index, tracker in enumerate(result.trackers):
        stem = stems[index] if stems.count(stems[index]) == 1 else f"{stems[index]}_{index + 1}"
        scores = result.scores[tracker.label]
        figure = Figure(figsize=(6.4, 4.8), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        for k, name in enumerate(CURVE_NAMES):
            axes.plot(ALPHAS, 100.0 * np.asarray(scores["curves"][name]), color=f"C{k}", marker="o", markersize=3,
                      label=f"{name} [{100.0 * scores[name]:.1f}]")
        axes.set_xlim(0.0, 1.0)
        axes.set_ylim(0.0, 100.0)
        axes.set_xlabel("Localisation threshold (alpha)")
        axes.set_ylabel("Score [%]")
        axes.set_title(f"{tracker.label} on {result.dataset} ({len(result.sequences)} sequences)")
        axes.grid(True, alpha=0.3)
        axes.legend(loc="lower left", fontsize="small")
        figure.tight_layout()
        for fmt in formats:
            buffer = io.BytesIO()
            # No creation date: the same analysis gives the same file.
            figure.savefig(buffer, format=fmt, metadata={"CreationDate": None} if fmt == "pdf" else None)
            path = output_dir / f"{stem}.{fmt}"
            atomic_write_bytes(path, buffer.getvalue())
            written.append(path)
    return written
