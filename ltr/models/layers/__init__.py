"""Small building blocks shared by the networks."""

from ltr.models.layers.blocks import LinearBlock, conv_block
from ltr.models.layers.pooling import SeparableMaxPool2d, separable_max_pool2d

__all__ = ["LinearBlock", "SeparableMaxPool2d", "conv_block", "separable_max_pool2d"]
