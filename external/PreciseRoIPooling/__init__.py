"""Precise RoI Pooling on CPU and GPU, exact and differentiable in features and boxes."""

from external.PreciseRoIPooling.function import (PrRoIPool2D, compiled_available, prroi_pool2d,
                                                 prroi_pool2d_box_gradient)
from external.PreciseRoIPooling.reference import prroi_pool2d_torch

__all__ = ["PrRoIPool2D", "compiled_available", "prroi_pool2d", "prroi_pool2d_box_gradient", "prroi_pool2d_torch"]
