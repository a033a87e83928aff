"""Tables of an analysis as CSV and Markdown files: the scores (``scores.csv``, ``scores.md``),
the scores of every sequence (``sequences.csv``) and the success AUC per attribute
(``attributes.csv``, ``attributes.md``); GOT-10k's AO, SR0.5 and SR0.75 beside the others where
computed. Scores are percentages; CSV files hold them with four
decimals, Markdown tables with two."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ltr.fileio import atomic_write_text
from pytracking.analysis.attributes import AttributeRow, Attributes, attribute_auc
from pytracking.analysis.evaluate import AnalysisResult
from pytracking.analysis.metrics import SCORE_NAMES

SCORES_CSV, SCORES_MD, SEQUENCES_CSV = "scores.csv", "scores.md", "sequences.csv"
ATTRIBUTES_CSV, ATTRIBUTES_MD = "attributes.csv", "attributes.md"


def _csv(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(value: float, decimals: int, missing: str) -> str:
    return missing if math.isnan(value) else f"{value:.{decimals}f}"


def _markdown(header: list[str], rows: list[list[str]], align_right_from: int = 1) -> str:
    escape = [[str(cell).replace("|", "\\|") for cell in row] for row in [header, *rows]]
    rule = ["---" if i < align_right_from else "---:" for i in range(len(header))]
    return "\n".join("| " + " | ".join(row) + " |" for row in [escape[0], rule, *escape[1:]]) + "\n"


def scores_csv(result: AnalysisResult) -> str:
    """One row per tracker: ``tracker, AUC, OP50, OP75, Precision, NormPrecision[, AO, SR0.5,
    SR0.75], sequences`` (GOT-10k's scores where computed). A multi-run average's label carries
    its run count, ``ATOM default (3 runs)``."""
    names = result.score_names()
    return _csv(["tracker", *names, "sequences"],
                [[t.label, *(_cell(result.all_scores(t.label)[n], 4, "") for n in names), len(result.sequences)]
                 for t in result.trackers])


def scores_markdown(result: AnalysisResult) -> str:
    title = f"Scores on {result.dataset or 'the dataset'} ({len(result.sequences)} sequences)"
    names = result.score_names()
    table = _markdown(["Tracker", *names, "Sequences"],
                      [[t.label, *(_cell(result.all_scores(t.label)[n], 2, "-") for n in names),
                        str(len(result.sequences))] for t in result.trackers])
    if result.got10k_scores:
        table += ("\nAO, SR0.5 and SR0.75 follow the GOT-10k toolkit: the first frame left out, only frames "
                  "where the target is visible, IoU of boxes clipped to the image, averaged over all frames of "
                  "all sequences and runs; SR counts IoU > 0.5 and > 0.75. AUC and OP follow the OTB protocol.\n")
    notes = "".join(f"\n{label}: {sum(missed.values())} frames missing at the end of {len(missed)} result files "
                    f"counted as failures ({', '.join(f'{n} {f}' for n, f in missed.items())}).\n"
                    for label, missed in result.short_results.items())
    return f"# {title}\n\n{table}{notes}"


def sequences_csv(result: AnalysisResult) -> str:
    """One row per sequence and tracker: ``sequence, tracker, AUC, OP50, OP75, Precision,
    NormPrecision, missing_frames`` (frames missing at the end of the result files, counted as
    failures, summed over runs)."""
    rows = [[name, t.label, *(f"{v:.4f}" for v in result.sequence_scores[t.label][i]),
             result.short_results.get(t.label, {}).get(name, 0)]
            for i, name in enumerate(result.sequences) for t in result.trackers]
    return _csv(["sequence", "tracker", *SCORE_NAMES, "missing_frames"], rows)


def attributes_csv(result: AnalysisResult, rows: list[AttributeRow]) -> str:
    """One row per attribute: ``attribute, name, sequences`` and each tracker's AUC (empty where
    no sequence shows the attribute)."""
    labels = [t.label for t in result.trackers]
    return _csv(["attribute", "name", "sequences", *labels],
                [[r.short, r.long, r.sequences, *(_cell(r.auc[label], 4, "") for label in labels)] for r in rows])


def attributes_markdown(result: AnalysisResult, rows: list[AttributeRow]) -> str:
    labels = [t.label for t in result.trackers]
    table = _markdown(["Attribute", "Sequences", *labels],
                      [[f"{r.long} ({r.short})", str(r.sequences), *(_cell(r.auc[label], 2, "-") for label in labels)]
                       for r in rows])
    return f"# Success AUC per attribute on {result.dataset or 'the dataset'}\n\n{table}"


def write_reports(result: AnalysisResult, output_dir: str | Path,
                  attributes: Attributes | None = None) -> list[Path]:
    """Write the tables into ``output_dir`` (atomically); the attribute tables only with
    ``attributes``. Returns the paths written."""
    output_dir = Path(output_dir)
    files = {SCORES_CSV: scores_csv(result), SCORES_MD: scores_markdown(result), SEQUENCES_CSV: sequences_csv(result)}
    if attributes is not None:
        rows = attribute_auc(result, attributes)
        files[ATTRIBUTES_CSV] = attributes_csv(result, rows)
        files[ATTRIBUTES_MD] = attributes_markdown(result, rows)
    for name, text in files.items():
        atomic_write_text(output_dir / name, text)
    return [output_dir / name for name in files]
