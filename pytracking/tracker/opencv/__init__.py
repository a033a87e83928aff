"""OpenCV's classic trackers (CSRT, KCF, MIL) as baselines: tracker name ``opencv``, parameter
files ``pytracking/parameter/opencv/{csrt,kcf,mil}.py``."""


def get_tracker_class():
    from pytracking.tracker.opencv.tracker import OpenCVTracker

    return OpenCVTracker
