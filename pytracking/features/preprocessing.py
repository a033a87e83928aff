"""Image patches for the trackers.

Two ways to cut a patch:

- :func:`sample_patch` uses the crop function training uses
  (``ltr.data.processing_utils.extract_crop``): the window is placed with sub-pixel precision,
  so the network sees at tracking time what it saw in training;
- :func:`sample_patch_whole_pixels` cuts the patch the way the published ATOM tracker does: at
  the whole pixel its position truncates to, with a whole-pixel size, after subsampling the image
  by every ``df``-th pixel when the patch shrinks by 2 or more.

Positions are (x, y) in image pixels, continuous, with the image's top-left corner at (0, 0)
and pixel (row i, column j) covering [j, j + 1) x [i, i + 1): the centre of a box [x, y, w, h]
is (x + w / 2, y + h / 2). Patches are float tensors (1, 3, S, S) with values 0..255.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ltr.data.boxes import corner_from_centre, corner_from_pixel_centre
from ltr.data.processing_utils import CropWindow, extract_crop


def numpy_to_torch(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) array (uint8 or float) -> (1, 3, H, W) float32 tensor, values unchanged."""
    if image.ndim != 3:
        raise ValueError(f"expected an (H, W, C) image, got shape {image.shape}")
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0).float()


def torch_to_numpy(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) or (3, H, W) tensor -> (H, W, 3) float32 array, values unchanged."""
    if image.dim() == 4:
        if image.shape[0] != 1:
            raise ValueError(f"torch_to_numpy converts one image, got a batch of {image.shape[0]}")
        image = image[0]
    if image.dim() != 3:
        raise ValueError(f"expected a (1, C, H, W) or (C, H, W) tensor, got shape {tuple(image.shape)}")
    return image.detach().permute(1, 2, 0).to(device="cpu", dtype=torch.float32).numpy()


def patch_window(pos: Sequence[float], sample_size: float, output_size: int) -> CropWindow:
    """The square window of side ``sample_size`` image pixels centred on ``pos`` (x, y)."""
    x, y = (float(v) for v in pos)
    side = float(sample_size)
    if not side > 0 or not np.isfinite([x, y, side]).all():
        raise ValueError(f"cannot sample a patch of side {sample_size} at {tuple(pos)}: need a finite position "
                         f"and a positive side")
    # The side may be fractional: extract_crop places windows with sub-pixel precision.
    return CropWindow(corner_from_centre(x, side), corner_from_centre(y, side), side, int(output_size))


def sample_patch(image: np.ndarray, pos: Sequence[float], sample_size: float, output_size: int, *,
                 image_scale: float = 1.0) -> tuple[torch.Tensor, CropWindow]:
    """The square patch of side ``sample_size`` (image pixels, may be fractional) centred on
    ``pos`` = (x, y), resized to ``output_size``; outside the image the border repeats.
    ``image`` is (H, W, 3); ``image_scale`` its size relative to the frame ``pos`` refers to (1/2
    for a frame decoded at half size). Returns the patch (1, 3, S, S) float32 in 0..255 and
    its window, whose ``map_box``/``unmap_box`` convert boxes between image and patch."""
    if isinstance(image, torch.Tensor):
        image = torch_to_numpy(image)
    window = patch_window(pos, sample_size, output_size)
    return numpy_to_torch(extract_crop(image, window, image_scale)), window


def sample_patch_multiscale(image: np.ndarray, pos: Sequence[float], scales: Sequence[float], sample_size: float,
                            output_size: int, *, image_scale: float = 1.0
                            ) -> tuple[torch.Tensor, list[CropWindow]]:
    """Patches of sides ``sample_size * scale`` for each of ``scales``, all centred on ``pos``
    and resized to ``output_size``: (len(scales), 3, S, S) and their windows."""
    patches, windows = [], []
    for scale in scales:
        patch, window = sample_patch(image, pos, float(sample_size) * float(scale), output_size,
                                     image_scale=image_scale)
        patches.append(patch)
        windows.append(window)
    if not patches:
        raise ValueError("sample_patch_multiscale needs at least one scale")
    return torch.cat(patches), windows


def _patch_source(image) -> np.ndarray | torch.Tensor:
    """What patches are cut from: an (H, W, C) array as it is (cut first, then converted: the
    window's pixels only), any other image as a (1, C, H, W) float tensor."""
    if isinstance(image, np.ndarray) and image.ndim == 3:
        return image
    if isinstance(image, torch.Tensor):
        if image.dim() != 4 or image.shape[0] != 1:
            raise ValueError(f"expected an image (1, C, H, W), got shape {tuple(image.shape)}")
        return image.float()
    return numpy_to_torch(image)


def _whole_pixel_span(position: float, size: int) -> tuple[int, int]:
    """Pixels [first, end) of a whole-pixel window of ``size`` around the pixel index
    ``position`` (already truncated): first = trunc(position - (size - 1) / 2) and end =
    trunc(position + size / 2 + 1), truncated towards zero as the published tracker's integer
    conversion does. An even size thus spans size or size + 1 pixels, by the sign of the ends."""
    return int(corner_from_pixel_centre(position, size)), int(position + size / 2 + 1)


def _window_to_torch(image: np.ndarray, spans, rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """``numpy_to_torch(image[rows][:, columns])`` (the same values in the same layout:
    (1, 3, n, m) float32 with the strides of a permuted (n, m, 3) array), without its copies: a
    window inside the image is a view, and the conversion to float32 runs on (n, m, 3)
    before the permutation instead of on the permuted array."""
    height, width = image.shape[:2]
    (row0, row1), (col0, col1) = spans
    if 0 <= row0 and row1 <= height and 0 <= col0 and col1 <= width:
        window = image[row0:row1, col0:col1]
    else:  # the border repeats: clamped indices
        window = np.take(np.take(image, rows.numpy(), axis=0), columns.numpy(), axis=1)
    if window.ndim != 3:
        raise ValueError(f"expected an (H, W, C) image, got shape {image.shape}")
    return torch.from_numpy(window).float().permute(2, 0, 1).unsqueeze(0)


def sample_patch_whole_pixels(image, pos: Sequence[float], sample_size: float, output_size: int) -> torch.Tensor:
    """The square patch of side ``sample_size`` around ``pos`` = (x, y), cut as the published ATOM
    tracker cuts it, resized to ``output_size``: (1, 3, S, S) float32 in 0..255.

    Rules (each axis): the centre is the pixel index trunc(x - 0.5) (positions here are
    continuous, the pixel index of a continuous x being x - 0.5); with df = max(trunc(side / S -
    0.1), 1) > 1 the image is first subsampled to every df-th pixel, starting at centre mod df;
    the window of n = max(round(side / df), 2) pixels spans :func:`_whole_pixel_span`; pixels
    outside the image repeat the border; the window is resized bilinearly (half-pixel centres,
    no antialiasing) unless it is S x S already. ``image``: (H, W, 3) array or (1, 3, H, W)
    tensor."""
    x, y = (float(v) for v in pos)
    side = float(sample_size)
    if not side > 0 or not np.isfinite([x, y, side]).all():
        raise ValueError(f"cannot sample a patch of side {sample_size} at {tuple(pos)}: need a finite position "
                         f"and a positive side")
    # An array is cut before it is converted (the same values, as float32, in the same layout
    # as numpy_to_torch gives).
    tensor = _patch_source(image)
    output_size = int(output_size)
    centre = [int(y - 0.5), int(x - 0.5)]  # rows, columns; int() truncates towards zero
    side32 = torch.tensor(side, dtype=torch.float32)  # float32 arithmetic, as published
    df = max(int(float(side32 / output_size) - 0.1), 1)
    is_array = isinstance(tensor, np.ndarray)
    if df > 1:
        offsets = [c % df for c in centre]
        tensor = (tensor[offsets[0]::df, offsets[1]::df] if is_array
                  else tensor[..., offsets[0]::df, offsets[1]::df])
        centre = [(c - o) // df for c, o in zip(centre, offsets)]
    size = max(int(torch.round(side32 / df)), 2)
    spans = [_whole_pixel_span(c, size) for c in centre]
    # Clamped indices repeat the border, whether the window overlaps the image or not.
    height, width = tensor.shape[:2] if is_array else tensor.shape[-2:]
    rows = torch.arange(*spans[0]).clamp_(0, height - 1)
    columns = torch.arange(*spans[1]).clamp_(0, width - 1)
    if is_array:
        patch = _window_to_torch(tensor, spans, rows, columns)
    else:
        patch = tensor.index_select(-2, rows).index_select(-1, columns)
    if patch.shape[-2:] == (output_size, output_size):
        return patch.clone()
    return torch.nn.functional.interpolate(patch, (output_size, output_size), mode="bilinear", align_corners=False)


def sample_patch_whole_pixels_multiscale(image, pos: Sequence[float], scales: Sequence[float], sample_size: float,
                                         output_size: int) -> torch.Tensor:
    """:func:`sample_patch_whole_pixels` for each of ``scales`` (sides ``sample_size * scale``):
    (len(scales), 3, S, S)."""
    if not len(scales):
        raise ValueError("sample_patch_whole_pixels_multiscale needs at least one scale")
    tensor = _patch_source(image)
    patches = [sample_patch_whole_pixels(tensor, pos, float(sample_size) * float(scale), output_size)
               for scale in scales]
    if len(patches) == 1 and patches[0].is_contiguous():
        return patches[0]  # what torch.cat would copy it to
    return torch.cat(patches)

