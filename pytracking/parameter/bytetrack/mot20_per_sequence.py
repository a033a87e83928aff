"""ByteTrack as the published MOT20 evaluation runs it, settings per sequence included:
``mot20`` with ``track_thresh`` 0.3 on MOT20-06 and MOT20-08 (the published evaluator's table,
``mot17_per_sequence.PUBLISHED_SEQUENCE_OVERRIDES``, which names no other MOT20 sequence)."""

from pytracking.parameter.bytetrack.mot17_per_sequence import PUBLISHED_SEQUENCE_OVERRIDES
from pytracking.parameter.bytetrack.mot20 import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.sequence_overrides = PUBLISHED_SEQUENCE_OVERRIDES
    return params
