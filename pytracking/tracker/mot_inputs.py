"""What a multi-object tracker on given detections reads from a frame's ``info``."""

from __future__ import annotations

import numpy as np


def frame_detections(info: dict | None, tracker: str) -> np.ndarray:
    """``info["detections"]`` as a float64 ``(N, 5)`` array ``[x, y, w, h, score]``."""
    if not info or "detections" not in info:
        raise ValueError(f"{tracker} tracks given detections: the frame's info has no 'detections' "
                         f"((N, 5) [x, y, w, h, score]); run it on a MOT sequence, which hands its "
                         f"public detections to each frame")
    detections = np.asarray(info["detections"], dtype=np.float64)
    if detections.size == 0:
        return np.zeros((0, 5))
    if detections.ndim != 2 or detections.shape[1] < 5:
        raise ValueError(f"{tracker}: detections of shape {detections.shape}, expected (N, 5) "
                         f"[x, y, w, h, score]")
    return detections[:, :5]
