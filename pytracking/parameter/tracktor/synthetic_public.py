"""The synthetic networks on the synthetic sequences' public detections (their ``det/det.txt``)."""

from pytracking.parameter.tracktor.public import parameters as public
from pytracking.parameter.tracktor.synthetic import parameters as synthetic
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = synthetic()
    for name in ("public_detections", "public_score_thr", "public_nms_iou_thr", "public_max_per_img"):
        setattr(params, name, getattr(public(), name))
    return params
