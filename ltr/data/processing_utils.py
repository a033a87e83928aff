"""The crop function shared by training (``sample_target``) and tracking, and the IoU-Net's box
proposals.

A crop is a square window of side ``ceil(sqrt(w * h) * search_area_factor)`` pixels centred on a
box, resized to ``output_sz``; what lies outside the image repeats the border pixels. The window
is placed with sub-pixel precision and the box mapping is exact, so a box drawn at its mapped
position in the crop covers what it covered in the image. Shrinking by 2x or more first averages
whole blocks of pixels (as libjpeg's reduced-size decoding does), so a crop taken from a frame
decoded at 1/2, 1/4 or 1/8 of its size matches the one taken from the full frame.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading

import cv2
import numpy as np
import torch

from ltr.data.boxes import box_iou, centre_from_corner, corner_from_centre, xywh_to_xyxy
from ltr.data.image_loader import REDUCTIONS


class RecycledArrays:
    """Arrays for the per-sample hot path (crops, look-up results) handed out again once nothing
    else refers to them.

    Why: each training sample makes a few fresh 0.1-1 MB arrays, and the C allocator gives such
    memory back to the system when the sample is freed (large blocks are mapped one by one, and
    the heap's top is trimmed), so the next sample's arrays are faulted in again page by page:
    about 4 us per 4 KiB page on a virtual machine, 2-3 ms of a 7 ms ATOM sample. An array is
    handed out again only when the pool's own reference is the last one: no view of it, and no
    tensor made from it (``torch.from_numpy`` keeps the array alive), is left anywhere, so a
    sample kept by its consumer is never overwritten. At most ``limit`` arrays per shape and
    type are kept; beyond that, arrays are fresh ones the pool forgets."""

    def __init__(self, limit: int = 64):
        self.limit = limit
        self._arrays: dict[tuple, list[np.ndarray]] = {}
        self._lock = threading.Lock()
        # What the reference count of an array only a list holds reads as, measured the way
        # ``empty`` measures it (the interpreter's own temporary references included).
        self._unused = _references([np.empty(0)], 0)

    def empty(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype`` that nothing else uses."""
        key = (tuple(shape), np.dtype(dtype).str)
        with self._lock:
            arrays = self._arrays.setdefault(key, [])
            for index in range(len(arrays)):
                if _references(arrays, index) == self._unused:
                    return arrays[index]
            array = np.empty(shape, dtype)
            if len(arrays) < self.limit:
                arrays.append(array)
            return array

    def __getstate__(self) -> dict:
        return {"limit": self.limit}  # arrays and lock are per process

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["limit"])


def as_floats(box) -> list[float]:
    """A box's four numbers as Python floats; one call for a tensor or array (iterating a
    tensor makes a tensor per element)."""
    return [float(v) for v in (box.tolist() if hasattr(box, "tolist") else box)]


def _references(arrays: list, index: int) -> int:
    return sys.getrefcount(arrays[index])


recycled_arrays = RecycledArrays()  # this process's pool for the training pipeline


@dataclasses.dataclass(frozen=True)
class CropWindow:
    """A square window of the full-size image: top-left (x0, y0), side in pixels (whole in
    training crops, fractional in the tracker's samples), and the size of the crop it is resized
    to."""

    x0: float
    y0: float
    side: float
    output_sz: int

    @property
    def resize_factor(self) -> float:
        """Crop pixels per image pixel."""
        return self.output_sz / self.side

    def map_box(self, box: torch.Tensor) -> torch.Tensor:
        """Image [x, y, w, h] (..., 4) -> the same box in crop coordinates."""
        offset = box.new_tensor([self.x0, self.y0, 0.0, 0.0])
        return (box - offset) * self.resize_factor

    def unmap_box(self, box: torch.Tensor) -> torch.Tensor:
        """Crop [x, y, w, h] -> image coordinates."""
        offset = box.new_tensor([self.x0, self.y0, 0.0, 0.0])
        return box / self.resize_factor + offset


def crop_window(box, search_area_factor: float, output_sz: int) -> CropWindow:
    """The window centred on ``box`` ([x, y, w, h]) of side ceil(sqrt(w * h) * factor)."""
    x, y, w, h = as_floats(box)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise ValueError(f"cannot crop around the box {[x, y, w, h]}: it needs a finite positive size")
    side = max(1, math.ceil(math.sqrt(w * h) * search_area_factor))
    return CropWindow(corner_from_centre(centre_from_corner(x, w), side),
                      corner_from_centre(centre_from_corner(y, h), side), side, int(output_sz))


def decode_reduction(window: CropWindow, image_size: tuple[int, int] | None = None) -> int:
    """The largest JPEG decoding reduction (1, 2, 4, 8) that does not go below the crop's own
    resolution: the crop is shrunk by at least that much anyway."""
    shrink = window.side / window.output_sz
    reduction = max(r for r in REDUCTIONS if r <= max(shrink, 1.0))
    if image_size is not None:
        # Keep a usable image: never decode below 16 pixels on a side.
        while reduction > 1 and min(image_size) / reduction < 16:
            reduction //= 2
    return reduction


def extract_crop(image: np.ndarray, window: CropWindow, image_scale: float = 1.0,
                 origin: tuple[int, int] = (0, 0), *, pool: RecycledArrays | None = None) -> np.ndarray:
    """Resample ``window`` of ``image`` to (output_sz, output_sz, C).

    ``image_scale`` is the image's size relative to the full-size frame the window refers to
    (1/2 for a frame decoded at half size); ``origin`` is where the array's top-left pixel lies
    in that image, when only a region of it was decoded (see ``crop_region``). The array's
    edges are taken as the frame's: what lies beyond them repeats them. With ``pool``, the crop
    is written into an array from it (the same pixels)."""
    height, width = image.shape[:2]
    out = window.output_sz
    scale = image_scale
    shrink = window.side * scale / out
    # The window in the array's pixels.
    left, top = window.x0 * scale - origin[0], window.y0 * scale - origin[1]
    source, source_x, source_y, block = image, 0, 0, 1
    if shrink >= 2:
        # Average k x k blocks of the region under the window (k a power of two, as in JPEG's
        # reduced-size decoding), then interpolate what is left (less than 2x): no aliasing,
        # and the same result whether the frame was decoded whole or reduced.
        block = 2 ** int(math.floor(math.log2(shrink)))
        right, bottom = left + window.side * scale, top + window.side * scale
        # Blocks aligned to multiples of k from the image's origin, like a reduced decode's.
        x0 = min(max(math.floor(left) - block, 0), width - 1)
        y0 = min(max(math.floor(top) - block, 0), height - 1)
        x0 = max(0, (x0 + origin[0]) // block * block - origin[0])
        y0 = max(0, (y0 + origin[1]) // block * block - origin[1])
        x1 = max(min(math.ceil(right) + block, width), x0 + 1)
        y1 = max(min(math.ceil(bottom) + block, height), y0 + 1)
        region = image[y0:y1, x0:x1]
        pad_y, pad_x = -region.shape[0] % block, -region.shape[1] % block
        if pad_x or pad_y:
            region = cv2.copyMakeBorder(region, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
        source = cv2.resize(region, (region.shape[1] // block, region.shape[0] // block),
                            interpolation=cv2.INTER_AREA)
        source_x, source_y = x0, y0
    step = window.side * scale / (out * block)
    # Output pixel u (centre u + 0.5) shows image x = x0 + (u + 0.5) * side / out; OpenCV puts
    # pixel centres at integers.
    offset_x = (left + 0.5 * window.side * scale / out - source_x) / block - 0.5
    offset_y = (top + 0.5 * window.side * scale / out - source_y) / block - 0.5
    matrix = np.array([[step, 0.0, offset_x], [0.0, step, offset_y]])
    # OpenCV returns one channel as (out, out): the pool's array has the same shape.
    channels = source.shape[2:] if source.ndim == 3 and source.shape[2] > 1 else ()
    crop = None if pool is None else pool.empty((out, out, *channels), source.dtype)
    return cv2.warpAffine(source, matrix, (out, out), dst=crop, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def crop_region(window: CropWindow, image_scale: float = 1.0, margin: int = 8) -> tuple[int, int, int, int]:
    """The pixels (x0, y0, x1, y1) of the image at ``image_scale`` that ``extract_crop`` reads
    for ``window``, with a margin, the top-left aligned to 16 pixels (so that JPEG block and
    averaging grids line up); not clipped to the image."""
    shrink = window.side * image_scale / window.output_sz
    margin += 2 ** int(math.floor(math.log2(shrink))) if shrink >= 2 else 1
    x0 = math.floor(window.x0 * image_scale) - margin
    y0 = math.floor(window.y0 * image_scale) - margin
    _, _, right, bottom = xywh_to_xyxy(np.array([window.x0, window.y0, window.side, window.side], np.float64))
    x1 = math.ceil(float(right) * image_scale) + margin
    y1 = math.ceil(float(bottom) * image_scale) + margin
    return x0 // 16 * 16, y0 // 16 * 16, x1, y1


def sample_target(image: np.ndarray, target_box, search_area_factor: float, output_sz: int,
                  image_scale: float = 1.0) -> tuple[np.ndarray, float]:
    """Crop of side ceil(sqrt(w * h) * search_area_factor) around ``target_box`` (full-size image
    coordinates), resized to ``output_sz``: (crop (output_sz, output_sz, C), resize factor)."""
    window = crop_window(target_box, search_area_factor, output_sz)
    return extract_crop(image, window, image_scale), window.resize_factor


def sample_proposals(box: torch.Tensor, count: int, sigma_factors, min_iou: float, *,
                     rng: np.random.Generator, max_tries: int = 100,
                     first_tries: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` boxes drawn around ``box`` by Gaussian perturbation of centre and size.

    Each proposal picks a sigma factor from ``sigma_factors``; its standard deviation is that
    factor times sqrt(w * h), shrunk by 0.9 after each draw whose IoU with ``box`` is not above
    ``min_iou`` (at most ``max_tries`` draws; the last is kept). A width or height drawn at
    most 1 pixel becomes 15-50% of the box's. All random numbers are drawn at once (for every
    try, used or not, so the random stream does not depend on the outcome); the boxes and IoUs
    are worked out for the ``first_tries`` tries first, and for the others only for proposals
    with no accepted draw among those: element by element the same operations, so the same
    result as working out all tries. Returns proposals (count, 4) and their IoU with ``box``
    (count,), float32."""
    x, y, w, h = as_floats(box)
    sigma_factors = np.asarray(sigma_factors, np.float64).reshape(-1)
    choice = rng.integers(len(sigma_factors), size=count)
    noise = rng.standard_normal((4, count, max_tries))
    shrink = rng.uniform(0.15, 0.5, (2, count, max_tries))
    decay = 0.9 ** np.arange(max_tries)
    chosen = sigma_factors[choice]
    reference = np.array([x, y, w, h])

    def draw(rows, tries: slice) -> tuple[np.ndarray, np.ndarray]:
        """The draws (len(rows), tries, 4) and their IoU with ``box``."""
        sigma = chosen[rows][:, None] * decay[None, tries] * np.sqrt(w * h)
        cx = centre_from_corner(x, w) + noise[0, rows, tries] * sigma
        cy = centre_from_corner(y, h) + noise[1, rows, tries] * sigma
        pw = w + noise[2, rows, tries] * sigma
        ph = h + noise[3, rows, tries] * sigma
        pw = np.where(pw <= 1, w * shrink[0, rows, tries], pw)
        ph = np.where(ph <= 1, h * shrink[1, rows, tries], ph)
        boxes = np.stack([corner_from_centre(cx, pw), corner_from_centre(cy, ph), pw, ph], -1)
        return boxes, box_iou(reference, boxes)

    proposals, iou = np.empty((count, 4)), np.empty(count)
    every = np.arange(count)
    boxes, overlap = draw(every, slice(0, min(first_tries, max_tries)))
    accepted = overlap > min_iou
    done = accepted.any(1)
    first = accepted.argmax(1)
    proposals[done], iou[done] = boxes[done, first[done]], overlap[done, first[done]]
    rest = every[~done]
    if rest.size:
        boxes, overlap = draw(rest, slice(0, max_tries))
        accepted = overlap > min_iou
        # The first accepted draw, or the last draw when none was.
        first = np.where(accepted.any(1), accepted.argmax(1), max_tries - 1)
        proposals[rest], iou[rest] = boxes[np.arange(rest.size), first], overlap[np.arange(rest.size), first]
    return torch.from_numpy(proposals.astype(np.float32)), torch.from_numpy(iou.astype(np.float32))
