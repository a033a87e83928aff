"""ATOM's published settings for VOT's reset-based protocol: smaller samples (224 pixels, 4x the
target's side), a windowed score map, a target never declared lost, distractors handled as hard
negatives only, a slower learning rate and no minimum weight for the first frame's samples."""

from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.tracker.base import TrackerParams


def parameters() -> TrackerParams:
    params = default_parameters()
    params.image_sample_size = 14 * 16
    params.search_area_scale = 4.0
    params.learning_rate = 0.0075
    params.init_samples_minimum_weight = None
    params.window_output = True
    params.target_not_found_threshold = -1
    params.distractor_threshold = 100
    params.hard_negative_threshold = 0.3
    params.displacement_scale = 0.7
    return params
