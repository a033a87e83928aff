"""Re-identification networks (mmtracking's, for Tracktor): embeddings of person crops."""

from ltr.models.reid.crops import crop_frame, crop_network_input
from ltr.models.reid.network import LinearReIDHead, ReIDNet, reid_r50, reid_tiny

__all__ = ["LinearReIDHead", "ReIDNet", "crop_frame", "crop_network_input", "reid_r50", "reid_tiny"]
