"""mmtracking's ``tracktor_faster-rcnn_r50_fpn_4e_mot17-private-half.py``: its released detector
(Faster R-CNN R50-FPN, one class, MOT17 half-train) and ReID (ResNet-50, 128-d) weights, to be
put in ``network_path``; ECC camera motion (euclidean, 100 iterations, eps 1e-5); the tracker's
thresholds and a 10-frame memory."""

from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = TrackerParams(debug=0)
    params.detector_network = "faster_rcnn_r50_fpn"
    params.detector_network_kwargs = {"num_classes": 1}
    params.detector_weights = "faster-rcnn_r50_fpn_4e_mot17-half-64ee2ed4.pth"
    params.reid_network = "reid_r50"
    params.reid_weights = "reid_r50_6e_mot17-4bf6b63d.pth"

    params.public_detections = False
    params.obj_score_thr = 0.5

    params.use_cmc = True
    params.cmc_warp_mode = "euclidean"
    params.cmc_num_iters = 100
    params.cmc_stop_eps = 1e-5
    params.cmc_rescale_translation = False  # as published: the translation in network-input pixels

    params.regression_obj_score_thr = 0.5
    params.regression_nms_iou_thr = 0.6
    params.regression_match_iou_thr = 0.3

    params.use_reid = True
    params.reid_num_samples = 10
    params.reid_match_score_thr = 2.0
    params.reid_match_iou_thr = 0.2
    params.num_frames_retain = 10
    return params
