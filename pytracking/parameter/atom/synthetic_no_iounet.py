"""ATOM with the synthetic network and without the IoU predictor: the scale comes from the
classifier at five sample scales."""

from pytracking.parameter.atom.multiscale_no_iounet import without_iou_net
from pytracking.parameter.atom.synthetic import parameters as synthetic_parameters
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    return without_iou_net(synthetic_parameters())
