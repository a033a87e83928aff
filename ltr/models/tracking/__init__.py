"""Full tracking networks (their constructors register in :mod:`ltr.models.registry`)."""

from ltr.models.tracking.atom import ATOMnet, atom_resnet18, atom_resnet50, atom_resnet_tiny

__all__ = ["ATOMnet", "atom_resnet18", "atom_resnet50", "atom_resnet_tiny"]
