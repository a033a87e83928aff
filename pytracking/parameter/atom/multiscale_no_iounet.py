"""ATOM's published settings without the IoU predictor: the scale comes from the classifier at
five sample scales."""

from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.tracker.base import TrackerParams


def without_iou_net(params: TrackerParams) -> TrackerParams:
    """No IoU predictor; scales 1.02^-2 .. 1.02^2 for the classifier; returns ``params``."""
    params.use_iou_net = False
    params.scale_factors = tuple(1.02 ** k for k in (-2, -1, 0, 1, 2))
    return params


def parameters() -> TrackerParams:
    return without_iou_net(default_parameters())
