"""ATOM with the published settings and this toolkit's departures from the published tracker,
each of which is an option of ``default.py`` (published value in brackets):

- ``crop_mode = "subpixel"`` ("whole_pixel"): samples are cut by the training crop function,
  centred on the exact position with a fractional side, instead of at the position truncated to a
  whole pixel with a whole-pixel side (while the geometry assumes the rounded position);
- ``preconditioner = "energy"`` ("diagonal"): conjugate gradient's diagonal preconditioner
  scales with the samples' per-channel energy (``precond_data_param``, ``precond_reg_param``,
  ``precond_proj_param``) and applies to the filter updates too, instead of the fixed
  filter_reg / projection_reg of the first frame only;
- ``clamp_refined_state = True`` (False): the IoU predictor's box obeys the limits the
  classifier's moves obey (at least 20% of the target inside the image, the scale within its
  bounds);
- ``iou_window_margin = 1.0`` (None): the IoU predictor's test features are computed only within
  one target size (square root of the area) around the box, about half the map; boxes whose
  pooling stays inside get the whole map's predictions, a box that a refinement step brings
  near the window's edge may differ;
- ``fold_batch_norm = True`` and ``channels_last = None`` (False, False): BatchNorm folded into
  the frozen network's convolutions, and channels-last convolutions on the CPU; faster, and the
  same network up to rounding.
"""

from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.tracker.base import TrackerParams


def apply_improvements(params: TrackerParams) -> TrackerParams:
    """Set the options listed in the module docstring on ``params``; returns it."""
    params.crop_mode = "subpixel"
    params.preconditioner = "energy"
    params.precond_data_param = 0.75
    params.precond_reg_param = 0.25
    params.precond_proj_param = 40
    params.clamp_refined_state = True
    params.iou_window_margin = 1.0
    params.fold_batch_norm = True
    params.channels_last = None  # on the CPU
    return params


def parameters() -> TrackerParams:
    return apply_improvements(default_parameters())
