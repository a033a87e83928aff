"""FairMOT (Zhang et al., IJCV 2021) as github.com/ifzhang/FairMOT publishes it: one network
detecting people as heatmap peaks and embedding them, and JDE's association. Tracker name
``fairmot``, parameter files ``pytracking/parameter/fairmot/`` (``default``: MOT16/17 with the
released ``fairmot_dla34.pth``; ``mot15``, ``mot20``; ``synthetic``: the network of
``ltr/train_settings/fairmot/fairmot_synthetic.py``). FairMOT's own commands: ``pytracking/run_fairmot.py``."""


def get_tracker_class():
    from pytracking.tracker.fairmot.tracker import FairMOTTracker

    return FairMOTTracker
