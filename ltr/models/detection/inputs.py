"""Input preparation for the detectors, as mmdetection 2.x's test pipeline of mmtracking's
MOT configs does it (``Resize(keep_ratio=True)``, ``Normalize``, ``Pad(size_divisor=32)``, the
collate that stacks images padded to one size).

Published rules, each tested:

- keep-ratio rescale (``mmcv.rescale_size``): with ``scale = (a, b)``, the factor is
  ``s = min(max(a, b) / max(h, w), min(a, b) / min(h, w))`` and the new size is
  ``(int(w * s + 0.5), int(h * s + 0.5))``; 1920x1080 at (1088, 1088) becomes 1088x612;
- without keep-ratio, ``scale`` is ``(width, height)`` and the image takes exactly that size;
- the recorded scale factor is ``(new_w / w, new_h / h)`` (what mmdet divides boxes by when it
  rescales results to the original image), not ``s``;
- resizing is OpenCV's bilinear ``cv2.resize(..., INTER_LINEAR)`` on the uint8 image (so the
  resized pixels are rounded to uint8 again, as mmcv's ``imresize`` returns them);
- normalisation after resizing: ``(pixel - mean) / std`` per RGB channel (mmcv multiplies by
  ``1 / std``), float32;
- padding after normalisation, at the bottom and right, with zeros, each image to a multiple of
  ``size_divisor`` and the batch to the largest padded image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch

from ltr.data.detection import MMDET_MEAN, MMDET_STD, keep_ratio_size


@dataclass
class DetectionInputs:
    """A batch ready for a detector.

    ``batch`` (B, 3, Hp, Wp) float32, normalised, zero-padded at the bottom and right;
    ``image_sizes`` (h, w) of each image after resizing, before padding (mmdet's ``img_shape``);
    ``scale_factors`` (w scale, h scale) from the original image to the resized one (divide a box
    in network-input pixels by them to get original pixels); ``original_sizes`` (h, w) of the
    images as given."""

    batch: torch.Tensor
    image_sizes: list[tuple[int, int]]
    scale_factors: list[tuple[float, float]]
    original_sizes: list[tuple[int, int]]


def rescale_size(height: int, width: int, scale: tuple[int, int], *, keep_ratio: bool = True) -> tuple[int, int]:
    """(new_h, new_w) of an image of ``height`` x ``width`` resized to ``scale`` by mmdet's rule
    (module docstring): with ``keep_ratio`` the largest size that fits the long edge in
    ``max(scale)`` and the short edge in ``min(scale)``; without, ``scale`` as (width, height)."""
    if len(scale) != 2 or min(scale) <= 0:
        raise ValueError(f"scale must be two positive sizes, not {scale!r}")
    if not keep_ratio:
        return int(scale[1]), int(scale[0])
    return keep_ratio_size(height, width, scale)


def _as_hwc(image: np.ndarray | torch.Tensor, index: int) -> np.ndarray:
    """An RGB image as an (H, W, 3) numpy array, uint8 kept, anything else float32."""
    if isinstance(image, torch.Tensor):
        if image.dim() != 3 or image.shape[0] != 3:
            raise ValueError(f"image {index}: a tensor image must be (3, H, W) RGB, got shape {tuple(image.shape)}")
        array = image.detach().cpu().permute(1, 2, 0).numpy()
    elif isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image {index}: a numpy image must be (H, W, 3) RGB, got shape {image.shape}")
        array = image
    else:
        raise TypeError(f"image {index}: expected a numpy array (H, W, 3) or a tensor (3, H, W), "
                        f"got {type(image).__name__}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"image {index} is empty: shape {array.shape}")
    if array.dtype != np.uint8:
        array = array.astype(np.float32)
    return np.ascontiguousarray(array)


def prepare_images(images: Sequence[np.ndarray | torch.Tensor], *, scale: tuple[int, int] = (1088, 1088),
                   keep_ratio: bool = True, mean: Sequence[float] = MMDET_MEAN, std: Sequence[float] = MMDET_STD,
                   size_divisor: int = 32, device: torch.device | str | None = None) -> DetectionInputs:
    """Resize, normalise and pad RGB images into one batch by mmdet's rules (module docstring).

    ``images``: RGB uint8 (H, W, 3) numpy arrays or (3, H, W) tensors, uint8 or float holding
    0..255 pixel values. A detector's own ``test_scale``, ``normalize_mean`` and
    ``normalize_std`` are what to pass for it."""
    if isinstance(images, (np.ndarray, torch.Tensor)):
        raise TypeError("prepare_images takes a sequence of images; wrap a single image in a list")
    if len(images) == 0:
        raise ValueError("prepare_images got no images")
    if size_divisor < 1:
        raise ValueError(f"size_divisor must be >= 1, not {size_divisor}")
    mean_array = np.asarray(mean, dtype=np.float32).reshape(1, 1, 3)
    inverse_std = 1.0 / np.asarray(std, dtype=np.float64).reshape(1, 1, 3)

    resized: list[np.ndarray] = []
    image_sizes: list[tuple[int, int]] = []
    scale_factors: list[tuple[float, float]] = []
    original_sizes: list[tuple[int, int]] = []
    for index, image in enumerate(images):
        array = _as_hwc(image, index)
        height, width = array.shape[:2]
        new_h, new_w = rescale_size(height, width, scale, keep_ratio=keep_ratio)
        if (new_h, new_w) != (height, width):
            array = cv2.resize(array, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        normalised = ((array.astype(np.float32) - mean_array) * inverse_std).astype(np.float32)
        resized.append(normalised)
        image_sizes.append((new_h, new_w))
        scale_factors.append((new_w / width, new_h / height))
        original_sizes.append((height, width))

    padded_h = max(math.ceil(h / size_divisor) * size_divisor for h, _ in image_sizes)
    padded_w = max(math.ceil(w / size_divisor) * size_divisor for _, w in image_sizes)
    batch = torch.zeros(len(resized), 3, padded_h, padded_w, dtype=torch.float32)
    for index, array in enumerate(resized):
        h, w = array.shape[:2]
        batch[index, :, :h, :w] = torch.from_numpy(array).permute(2, 0, 1)
    if device is not None:
        batch = batch.to(device)
    return DetectionInputs(batch=batch, image_sizes=image_sizes, scale_factors=scale_factors,
                           original_sizes=original_sizes)
