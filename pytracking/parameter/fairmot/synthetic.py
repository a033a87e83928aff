"""FairMOT on the synthetic MOT scenes with the small network that
``ltr/train_settings/fairmot/fairmot_synthetic.py`` trains (``fairmot_synthetic.pth.tar`` in
``network_path``), at the input size of that recipe, ``input_size`` (w, h) = (384, 288)."""

from pytracking.parameter.fairmot.default import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.checkpoint = "fairmot_synthetic.pth.tar"
    params.arch = None
    params.load_model = None
    params.input_size = (384, 288)
    return params
