"""ATOM with the synthetic network and without the IoU predictor: the scale comes from the
classifier at five sample scales."""

from pytracking.parameter.atom.synthetic import parameters as synthetic_parameters
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = synthetic_parameters()
    params.use_iou_net = False
    params.scale_factors = tuple(1.02 ** k for k in (-2, -1, 0, 1, 2))
    return params
