"""The default Tracktor without camera-motion compensation (static cameras; faster)."""

from pytracking.parameter.tracktor.default import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.use_cmc = False
    return params
