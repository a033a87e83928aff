"""Scoring tracking results: per-frame errors, success and precision curves, tables and plots.

``analyse_dataset(dataset, trackers)`` does a whole analysis and writes its outputs; ``analyse``
only scores."""

from pytracking.analysis.evaluate import AnalysisResult, TrackerRuns, analyse
from pytracking.analysis.pipeline import analyse_dataset

__all__ = ["AnalysisResult", "TrackerRuns", "analyse", "analyse_dataset"]
