"""ATOM for VOT's reset-based protocol: the tracker is restarted after each failure, so it never
declares the target lost, and learns more conservatively from a smaller sample memory."""

from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = default_parameters()
    params.sample_memory_size = 200
    params.learning_rate = 0.0075
    params.hard_negative_learning_rate = 0.0075
    params.target_not_found_threshold = 0.0
    return params
