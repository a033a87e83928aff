"""Backbones returning intermediate feature maps; every family has the constructor
``f(output_layers, pretrained, ...)`` and the methods ``out_channels(layer)`` and
``stride(layer)``. ``BACKBONES`` names them."""

from ltr.models.backbone.resnet import (LAYERS, PretrainedWeightsMissing, ResNet, find_pretrained_weights,
                                        load_pretrained_weights, resnet18, resnet50, resnet_tiny)

BACKBONES = {"resnet18": resnet18, "resnet50": resnet50, "resnet_tiny": resnet_tiny}

__all__ = ["BACKBONES", "LAYERS", "PretrainedWeightsMissing", "ResNet", "find_pretrained_weights",
           "load_pretrained_weights", "resnet18", "resnet50", "resnet_tiny"]
