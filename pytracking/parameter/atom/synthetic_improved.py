"""``synthetic.py`` (the synthetic network) with the options of ``improved.py``."""

from pytracking.parameter.atom.improved import apply_improvements
from pytracking.parameter.atom.synthetic import parameters as synthetic_parameters
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    return apply_improvements(synthetic_parameters())
