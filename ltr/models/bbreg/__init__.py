"""Bounding-box regression heads."""

from ltr.models.bbreg.atom_iou_net import AtomIoUNet

__all__ = ["AtomIoUNet"]
