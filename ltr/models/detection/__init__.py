"""Detectors for multi-object tracking: Faster R-CNN with a feature pyramid as mmtracking's
Tracktor uses it (``faster_rcnn``), its box machinery (``bbox``), the input preparation of
mmdetection's test pipeline (``inputs``) and the loading of released weights (``convert``)."""

from ltr.models.detection.faster_rcnn import FasterRCNN, faster_rcnn_r50_fpn, faster_rcnn_tiny
from ltr.models.detection.inputs import DetectionInputs, prepare_images, rescale_size

__all__ = ["DetectionInputs", "FasterRCNN", "faster_rcnn_r50_fpn", "faster_rcnn_tiny", "prepare_images",
           "rescale_size"]
