"""SORT as published: IoU 0.3, max_age 1, min_hits 3 (sort.py's defaults)."""

from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    return TrackerParams(iou_threshold=0.3, max_age=1, min_hits=3, debug=0)
