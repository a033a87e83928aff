"""ByteTrack with the published tracker's defaults (tools/demo_track.py): track_thresh 0.5,
match_thresh 0.8, track_buffer 30, score fusion on, no output filter."""

from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    return TrackerParams(track_thresh=0.5, low_thresh=0.1, new_track_margin=0.1, match_thresh=0.8,
                         second_match_thresh=0.5, unconfirmed_match_thresh=0.7, fuse_score=True,
                         track_buffer=30, frame_rate=30, duplicate_iou_distance=0.15,
                         min_box_area=None, aspect_ratio_thresh=None, debug=0)
