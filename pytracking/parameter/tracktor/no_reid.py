"""The default Tracktor without ReID: a track lost by regression never comes back."""

from pytracking.parameter.tracktor.default import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.use_reid = False
    return params
