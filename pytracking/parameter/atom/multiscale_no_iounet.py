"""ATOM without the IoU predictor: the scale comes from the classifier at five sample scales."""

from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = default_parameters()
    params.use_iou_net = False
    params.scale_factors = tuple(1.02 ** k for k in (-2, -1, 0, 1, 2))
    return params
