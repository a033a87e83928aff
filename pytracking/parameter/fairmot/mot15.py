"""FairMOT on 2DMOT15 as published (README: ``--test_mot15 True --load_model your_mot15_model.pth
--conf_thres 0.3``; the model fine-tuned by ``experiments/mot15_ft_mix_dla34.sh``): conf_thres 0.3,
weights ``fairmot_mot15.pth`` in ``network_path``."""

from pytracking.parameter.fairmot.default import parameters as base
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = base()
    params.conf_thres = 0.3
    params.load_model = "fairmot_mot15.pth"
    return params
