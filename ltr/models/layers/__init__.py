"""Small building blocks shared by the networks."""

from ltr.models.layers.blocks import LinearBlock, conv_block

__all__ = ["LinearBlock", "conv_block"]
