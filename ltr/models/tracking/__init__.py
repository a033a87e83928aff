"""Full tracking networks and the registry of their constructors."""

from ltr.models.tracking.atom import (NETWORK_CONSTRUCTORS, ATOMnet, UnknownNetworkError, atom_resnet18,
                                     atom_resnet50, atom_resnet_tiny, build_network, network_constructor)

__all__ = ["ATOMnet", "NETWORK_CONSTRUCTORS", "UnknownNetworkError", "atom_resnet18", "atom_resnet50",
           "atom_resnet_tiny", "build_network", "network_constructor"]
