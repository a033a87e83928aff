"""OpenCV's CSRT tracker with OpenCV's default settings."""

from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    # options: attributes of cv2.TrackerCSRT_Params to change, e.g. {"padding": ...}.
    return TrackerParams(method="csrt", options={}, debug=0)
