"""SORT (Bewley et al., ICIP 2016) over given detections: tracker name ``sort``, parameter file
``pytracking/parameter/sort/default.py``."""


def get_tracker_class():
    from pytracking.tracker.sort.tracker import SortTracker

    return SortTracker
