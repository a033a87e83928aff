"""Success, precision and normalised precision plots of an analysis, as PNG and PDF.

Figures are drawn off-screen (no display or pyplot state needed) and written atomically. Legend
entries carry each tracker's score, ``ATOM raw [66.7]``, best first: the success AUC, the
precision at 20 pixels and the normalised precision at 0.2.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ltr.fileio import atomic_write_bytes
from pytracking.analysis.evaluate import AnalysisResult
from pytracking.analysis.metrics import NORM_PRECISION_THRESHOLDS, OVERLAP_THRESHOLDS, PRECISION_THRESHOLDS

FORMATS = ("png", "pdf")
_STYLES = ("-", "--", "-.", ":")


@dataclasses.dataclass(frozen=True)
class PlotKind:
    name: str  # file stem
    field: str  # SequenceCurves field
    score: str  # the score in the legend
    thresholds: np.ndarray
    title: str
    xlabel: str
    marker: float | None  # threshold of the score, drawn as a dotted line


PLOTS = (
    PlotKind("success_plot", "success", "AUC", OVERLAP_THRESHOLDS, "Success plot", "Overlap threshold", None),
    PlotKind("precision_plot", "precision", "Precision", PRECISION_THRESHOLDS, "Precision plot",
             "Location error threshold [pixels]", 20.0),
    PlotKind("norm_precision_plot", "norm_precision", "NormPrecision", NORM_PRECISION_THRESHOLDS,
             "Normalized precision plot", "Normalized location error threshold", 0.2),
)


def legend_order(result: AnalysisResult, score: str) -> list[str]:
    """Tracker labels sorted by ``score``, best first (ties keep the trackers' order)."""
    return sorted((t.label for t in result.trackers), key=lambda label: -result.scores[label][score])


def draw(result: AnalysisResult, kind: PlotKind) -> Figure:
    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for index, label in enumerate(legend_order(result, kind.score)):
        curve = 100.0 * getattr(result.mean_curves(label), kind.field)
        axes.plot(kind.thresholds, curve, color=f"C{index % 10}", linestyle=_STYLES[(index // 10) % len(_STYLES)],
                  linewidth=2.0 if index == 0 else 1.5, label=f"{label} [{result.scores[label][kind.score]:.1f}]")
    if kind.marker is not None:
        axes.axvline(kind.marker, color="0.6", linestyle=":", linewidth=1.0)
    axes.set_xlim(kind.thresholds[0], kind.thresholds[-1])
    axes.set_ylim(0.0, 100.0)
    axes.set_xlabel(kind.xlabel)
    axes.set_ylabel("Overlap precision [%]" if kind.field == "success" else "Distance precision [%]")
    dataset = f" on {result.dataset}" if result.dataset else ""
    axes.set_title(f"{kind.title}{dataset} ({len(result.sequences)} sequences)")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower left" if kind.field == "success" else "lower right", fontsize="small")
    figure.tight_layout()
    return figure


def write_plots(result: AnalysisResult, output_dir: str | Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Draw the three plots into ``output_dir`` as ``<plot>.<format>``; returns the paths written."""
    output_dir = Path(output_dir)
    written = []
    for kind in PLOTS:
        figure = draw(result, kind)
        for fmt in formats:
            buffer = io.BytesIO()
            # No creation date: the same analysis gives the same file.
            metadata = {"CreationDate": None} if fmt == "pdf" else None
            figure.savefig(buffer, format=fmt, metadata=metadata)
            path = output_dir / f"{kind.name}.{fmt}"
            atomic_write_bytes(path, buffer.getvalue())
            written.append(path)
    return written
