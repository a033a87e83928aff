"""ATOM's published settings with every random draw switched off, so that runs compare exactly
with another implementation of the published tracker: no random shifts of the first frame's
augmented samples, no dropout copies, the projection initialised by PCA and the filter at zero,
and refinement from the classifier's box alone (no jittered boxes)."""

from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.tracker.base import TrackerParams


def without_random_draws(params: TrackerParams) -> TrackerParams:
    """Switch off the random draws listed in the module docstring on ``params``; returns it."""
    params.random_shift_factor = 0
    params.augmentation = {k: v for k, v in params.augmentation.items() if k != "dropout"}
    params.proj_init_method = "pca"
    params.filter_init_method = "zeros"
    params.num_init_random_boxes = 0
    return params


def parameters() -> TrackerParams:
    return without_random_draws(default_parameters())
