"""ByteTrack (Zhang et al., ECCV 2022) over given detections: tracker name ``bytetrack``,
parameter files ``pytracking/parameter/bytetrack/{default,mot17,mot20}.py``."""


def get_tracker_class():
    from pytracking.tracker.bytetrack.tracker import ByteTracker

    return ByteTracker
