"""The default Tracktor on the small networks that ``ltr/train_settings/tracktor/tracktor_synthetic.py``
trains on the synthetic MOT scenes (checkpoints in ``network_path``)."""

from pytracking.parameter.tracktor.default import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.detector_network = None
    params.detector_network_kwargs = {}
    params.detector_weights = None
    params.detector_checkpoint = "tracktor_synthetic_detector.pth.tar"
    params.reid_network = None
    params.reid_weights = None
    params.reid_checkpoint = "tracktor_synthetic_reid.pth.tar"
    return params
