"""mmtracking's ``tracktor_faster-rcnn_r50_fpn_4e_mot17-public-half.py``: the sequence's public
detections as proposals of the box head, then the detector's test settings (score above 0.05,
NMS 0.5, at most 100)."""

from pytracking.parameter.tracktor.default import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.public_detections = True
    params.public_score_thr = 0.05
    params.public_nms_iou_thr = 0.5
    params.public_max_per_img = 100
    return params
