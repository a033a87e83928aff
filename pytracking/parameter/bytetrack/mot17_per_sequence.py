"""ByteTrack as the published MOT evaluation runs it on MOT17, settings per sequence included
(yolox/evaluators/mot_evaluator.py, ``evaluate``): ``track_buffer`` 14 on MOT17-05 and MOT17-06,
25 on MOT17-13 and MOT17-14; ``track_thresh`` 0.65 on MOT17-01 and MOT17-06, 0.7 on MOT17-12,
0.67 on MOT17-14 (0.3 on MOT20-06 and MOT20-08: see ``mot20_per_sequence``); every other
sequence keeps ``mot17``'s values. The published scores on the MOT17 test server were made so;
``mot17`` is the same without the per-sequence tuning."""

from pytracking.parameter.bytetrack.mot17 import parameters as base
from pytracking.tracker.base import TrackerParams

# The published evaluator's table, by sequence name (MOT17 names without the detector suffix).
PUBLISHED_SEQUENCE_OVERRIDES = {
    "MOT17-01": {"track_thresh": 0.65},
    "MOT17-05": {"track_buffer": 14},
    "MOT17-06": {"track_buffer": 14, "track_thresh": 0.65},
    "MOT17-12": {"track_thresh": 0.7},
    "MOT17-13": {"track_buffer": 25},
    "MOT17-14": {"track_buffer": 25, "track_thresh": 0.67},
    "MOT20-06": {"track_thresh": 0.3},
    "MOT20-08": {"track_thresh": 0.3},
}


def parameters() -> TrackerParams:
    params = base()
    params.sequence_overrides = PUBLISHED_SEQUENCE_OVERRIDES
    return params
