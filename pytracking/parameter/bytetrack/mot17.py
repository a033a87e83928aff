"""ByteTrack as the published MOT17 evaluation runs it (tools/track.py defaults and
yolox/evaluators/mot_evaluator.py): track_thresh 0.6, match_thresh 0.9, and the output filter
(area above 100, width / height at most 1.6). The evaluator's per-sequence changes
(track_buffer 14 or 25, track_thresh 0.65 to 0.7 on named sequences) are ``mot17_per_sequence``."""

from pytracking.parameter.bytetrack.default import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.track_thresh = 0.6
    params.match_thresh = 0.9
    params.min_box_area = 100.0
    params.aspect_ratio_thresh = 1.6
    return params
