"""OpenCV's KCF tracker with OpenCV's default settings."""

from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    # options: attributes of cv2.TrackerKCF_Params to change, e.g. {"detect_thresh": ...}.
    return TrackerParams(method="kcf", options={}, debug=0)
