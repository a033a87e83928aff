"""OpenCV's MIL tracker with OpenCV's default settings."""

from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    # options: attributes of cv2.TrackerMIL_Params to change, e.g. {"samplerSearchWinSize": ...}.
    return TrackerParams(method="mil", options={}, debug=0)
