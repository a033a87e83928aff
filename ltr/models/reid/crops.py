"""The two crop rules of mmtracking's re-identification, one function each.

:func:`crop_network_input` is the tracker's (``BaseTracker.crop_imgs``, used by Tracktor on the
normalised detector input): published rules, in order,

1. the input is cut to the image's size before padding: ``img[:, :, :h, :w]``;
2. the box's x coordinates are clamped to ``[0, w]``, its y coordinates to ``[0, h]`` (xyxy);
3. each coordinate is truncated to an integer (``int()``; non-negative after the clamp, so the floor);
4. a box of zero width (``x2 == x1`` after truncation) gets ``x2 = x1 + 1``, likewise the height:
   a one-pixel column or row, never an empty crop;
5. the crop ``img[:, :, y1:y2, x1:x2]`` (``x2``, ``y2`` exclusive) is resized to the crop size
   ``(h, w)`` by bilinear interpolation with ``align_corners=False``.

Where the published code would fail, this one decides: a box lying on the right (bottom) border
after the clamp (``x1 == w``) is shifted one pixel in (``x1 = w - 1``), as published it would
crop nothing and the interpolation would raise; an inverted box (``x2 < x1``) is a ValueError.

:func:`crop_frame` is the training data's (``tools/convert_datasets/mot/mot2reid.py`` through
``mmcv.imcrop`` with scale 1 and no padding): the xywh box becomes ``[x, y, x + w, y + h]``,
its coordinates are truncated towards zero (``astype(np.int32)``), clipped to ``[0, W - 1]`` and
``[0, H - 1]``, and the crop is ``image[y1:y2 + 1, x1:x2 + 1]`` (both corners inclusive).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ltr.data.boxes import xywh_to_xyxy


def crop_network_input(batch: torch.Tensor, boxes: torch.Tensor, crop_size: Sequence[int], *,
                       image_size: Sequence[int] | None = None) -> torch.Tensor:
    """Crops ``(N, C, crop_h, crop_w)`` of ``boxes`` ``(N, 4)`` (xyxy, pixels of the network input)
    from ``batch`` ``(1, C, H, W)`` (the normalised, padded network input) by the tracker's rule
    (module docstring). ``image_size`` ``(h, w)``: the image inside the padding (default: all of
    ``batch``)."""
    if batch.dim() != 4 or batch.shape[0] != 1:
        raise ValueError(f"crop_network_input takes one image (1, C, H, W), got a tensor of shape {tuple(batch.shape)}")
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be (N, 4) xyxy, got shape {tuple(boxes.shape)}")
    h, w = (int(v) for v in (image_size if image_size is not None else batch.shape[-2:]))
    crop_h, crop_w = (int(v) for v in crop_size)
    if boxes.shape[0] == 0:
        return batch.new_zeros((0, batch.shape[1], crop_h, crop_w))
    image = batch[:, :, :h, :w]
    corners = boxes.detach().to("cpu", torch.float64).clone()
    corners[:, 0::2] = corners[:, 0::2].clamp(0, w)
    corners[:, 1::2] = corners[:, 1::2].clamp(0, h)
    crops = []
    for box, (x1, y1, x2, y2) in zip(boxes.tolist(), corners.trunc().long().tolist()):
        if x2 < x1 or y2 < y1:
            raise ValueError(f"box {box} (xyxy) is inverted: its right (bottom) edge lies left of (above) its left "
                             f"(top) edge; give [x0, y0, x1, y1] with x1 >= x0 and y1 >= y0")
        x1, y1 = min(x1, w - 1), min(y1, h - 1)  # on the border: one pixel in (published: an empty crop)
        x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
        crops.append(F.interpolate(image[:, :, y1:y2, x1:x2], size=(crop_h, crop_w), mode="bilinear",
                                   align_corners=False))
    return torch.cat(crops, 0)


def crop_frame(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The crop of ``box`` ``[x, y, w, h]`` from ``image`` ``(H, W, C)`` by mot2reid's rule (module
    docstring); a view of ``image``, never empty."""
    corners = xywh_to_xyxy(np.asarray(box, dtype=np.float64)).astype(np.int32)
    height, width = image.shape[:2]
    x1, x2 = np.clip(corners[0::2], 0, width - 1)
    y1, y2 = np.clip(corners[1::2], 0, height - 1)
    return image[y1:y2 + 1, x1:x2 + 1]
