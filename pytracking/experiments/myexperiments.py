"""Example experiments. Each function returns ``(trackers, dataset)``; run one with
``python pytracking/run_experiment.py myexperiments <function>``."""

from __future__ import annotations

from pytracking.evaluation import SequenceList, get_dataset
from pytracking.evaluation.tracker import Tracker, trackerlist

OPENCV_BASELINES = ("csrt", "kcf", "mil")


def opencv_baselines() -> list[Tracker]:
    """OpenCV's CSRT, KCF and MIL trackers."""
    return [tracker for param in OPENCV_BASELINES for tracker in trackerlist("opencv", param)]


def opencv_otb() -> tuple[list[Tracker], SequenceList]:
    """The OpenCV baselines on OTB-100 (``otb_path``)."""
    return opencv_baselines(), get_dataset("otb")


def opencv_synthetic() -> tuple[list[Tracker], SequenceList]:
    """The OpenCV baselines on the generated synthetic dataset's validation split
    (``synthetic_dir``; ``python pytracking/run_quickstart.py`` writes it)."""
    return opencv_baselines(), get_dataset("synthetic")


def mil_runs_otb() -> tuple[list[Tracker], SequenceList]:
    """MIL, which is not deterministic, three times (run ids 0, 1, 2) on OTB-100; the analysis
    averages the runs."""
    return trackerlist("opencv", "mil", range(3)), get_dataset("otb")
