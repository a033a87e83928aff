"""FairMOT on MOT16 / MOT17 as published (README: ``track.py mot --load_model
../models/fairmot_dla34.pth --conf_thres 0.4``; ``opts.py`` defaults): DLA-34 with the released
``fairmot_dla34.pth`` (put it in ``network_path``), input 1088 x 608, conf_thres 0.4, K 500,
track_buffer 30, output of boxes above 100 pixels of area and not wider than 1.6 x their height."""

from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    return TrackerParams(checkpoint=None, arch="dla_34", load_model="fairmot_dla34.pth", reid_dim=128, head_conv=256,
                         num_classes=1, input_size=(1088, 608), frame_resize=None, conf_thres=0.4, K=500, ltrb=True,
                         reg_offset=True, down_ratio=4, track_buffer=30, frame_rate=30, min_box_area=100.0,
                         aspect_ratio_thresh=1.6, debug=0)
