"""Camera-motion compensation by OpenCV's ECC image alignment, as mmtracking's
``CameraMotionCompensation`` (``mmtrack/models/motion/camera_motion_compensation.py``) does it
for Tracktor:

- both frames are turned to gray with ``cv2.cvtColor(..., COLOR_RGB2GRAY)`` from ``(H, W, 3)``
  float32 arrays; mmtracking hands it the network inputs (resized, normalised, zero-padded),
  so :func:`gray_image` takes those (or plain RGB images);
- ``cv2.findTransformECC(previous, current, eye(2, 3), warp_mode, (EPS | COUNT, num_iters,
  stop_eps), None, 1)``: the previous frame is the template, so the (2, 3) matrix maps a point of
  the previous frame to where it is in the current one;
- a box ``[x0, y0, x1, y1]`` is warped by mapping its two corners, ``(x0, y0, 1)`` and
  ``(x1, y1, 1)``, through the matrix (no re-fitting of the other two corners, so a rotated box
  keeps the axis-aligned extent between the two mapped corners).

One addition: where the published code lets ``cv2.error`` (ECC did not converge) end the run,
this falls back to the identity (no compensation for that frame), counts it in ``failures`` and
logs it.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import torch

logger = logging.getLogger(__name__)

# The motion models whose warp is a (2, 3) matrix; a homography (3, 3) would not warp boxes here.
WARP_MODES = {"translation": cv2.MOTION_TRANSLATION, "euclidean": cv2.MOTION_EUCLIDEAN,
              "affine": cv2.MOTION_AFFINE}


def gray_image(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """A network input ``(1, 3, H, W)`` / ``(3, H, W)`` tensor or an RGB ``(H, W, 3)`` array as the
    float32 ``(H, W)`` gray image ECC runs on (``cv2.COLOR_RGB2GRAY`` of the values as they are,
    normalised or not, as mmtracking converts its network inputs)."""
    if isinstance(image, torch.Tensor):
        array = image.detach().to("cpu", torch.float32)
        if array.dim() == 4:
            if array.shape[0] != 1:
                raise ValueError(f"gray_image takes one image, got a batch of shape {tuple(array.shape)}")
            array = array[0]
        if array.dim() != 3 or array.shape[0] != 3:
            raise ValueError(f"gray_image: expected a (1, 3, H, W) or (3, H, W) tensor, got {tuple(image.shape)}")
        array = array.permute(1, 2, 0).numpy()
    else:
        array = np.asarray(image)
        if array.ndim != 3 or array.shape[2] != 3:
            raise ValueError(f"gray_image: expected an RGB (H, W, 3) array, got shape {array.shape}")
    return cv2.cvtColor(np.ascontiguousarray(array, dtype=np.float32), cv2.COLOR_RGB2GRAY)


class CameraMotionCompensation:
    """ECC alignment of consecutive frames (``warp_mode`` one of :data:`WARP_MODES`; mmtracking's
    Tracktor configs use ``euclidean`` with 100 iterations and ``stop_eps`` 1e-5)."""

    def __init__(self, warp_mode: str = "euclidean", num_iters: int = 100, stop_eps: float = 1e-5):
        if warp_mode not in WARP_MODES:
            raise ValueError(f"camera motion: warp_mode {warp_mode!r} is not one of {', '.join(WARP_MODES)}")
        if num_iters < 1 or stop_eps < 0:
            raise ValueError(f"camera motion: num_iters must be >= 1 and stop_eps >= 0, got {num_iters}, {stop_eps}")
        self.warp_mode = warp_mode
        self.num_iters = int(num_iters)
        self.stop_eps = float(stop_eps)
        self.failures = 0  # frames where ECC failed and the identity was used

    def warp_matrix(self, previous_gray: np.ndarray, current_gray: np.ndarray) -> np.ndarray:
        """The float32 (2, 3) matrix mapping points of the previous frame to the current one, from
        two gray float32 images of one size (:func:`gray_image`); the identity when ECC fails."""
        if previous_gray.shape != current_gray.shape:
            raise ValueError(f"camera motion: frames of different sizes {previous_gray.shape} and "
                             f"{current_gray.shape}; every frame of a sequence must have one size")
        matrix = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, self.num_iters, self.stop_eps)
        try:
            _, matrix = cv2.findTransformECC(np.asarray(previous_gray, dtype=np.float32),
                                             np.asarray(current_gray, dtype=np.float32), matrix,
                                             WARP_MODES[self.warp_mode], criteria, None, 1)
        except cv2.error as error:
            self.failures += 1
            logger.warning("camera motion: ECC failed (%s); no compensation for this frame (%d such frames)",
                           str(error).strip().splitlines()[-1], self.failures)
            return np.eye(2, 3, dtype=np.float32)
        return matrix

    @staticmethod
    def warp_boxes(boxes: torch.Tensor | np.ndarray, matrix: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        """(N, 4) ``[x0, y0, x1, y1]`` boxes with both corners mapped by the (2, 3) ``matrix``; a
        tensor in, a tensor out (its dtype and device), an array in, an array out."""
        if isinstance(boxes, torch.Tensor):
            m = torch.as_tensor(matrix, dtype=boxes.dtype, device=boxes.device)
            ones = boxes.new_ones((boxes.shape[0], 1))
            top_left = torch.cat([boxes[:, :2], ones], 1) @ m.t()
            bottom_right = torch.cat([boxes[:, 2:4], ones], 1) @ m.t()
            return torch.cat([top_left, bottom_right], 1)
        boxes = np.asarray(boxes)
        m = np.asarray(matrix, dtype=boxes.dtype)
        ones = np.ones((boxes.shape[0], 1), dtype=boxes.dtype)
        top_left = np.concatenate([boxes[:, :2], ones], 1) @ m.T
        bottom_right = np.concatenate([boxes[:, 2:4], ones], 1) @ m.T
        return np.concatenate([top_left, bottom_right], 1)
