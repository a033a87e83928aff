"""ByteTrack as the published MOT20 command runs it (README: tools/track.py ... --match_thresh
0.7 --mot20): no score fusion, match_thresh 0.7, otherwise the MOT17 evaluation's settings."""

from pytracking.parameter.bytetrack.mot17 import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.match_thresh = 0.7
    params.fuse_score = False
    return params
