"""FairMOT on MOT20 as published (README: ``--test_mot20 True --load_model your_mot20_model.pth
--conf_thres 0.3``; the released ``mot20_fairmot.pth``): conf_thres 0.3."""

from pytracking.parameter.fairmot.default import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.conf_thres = 0.3
    params.load_model = "mot20_fairmot.pth"
    return params
