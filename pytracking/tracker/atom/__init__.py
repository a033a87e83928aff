"""The ATOM tracker (``python pytracking/run_tracker.py atom default --dataset_name otb``)."""


def get_tracker_class():
    from pytracking.tracker.atom.atom import ATOM

    return ATOM
