"""FairMOT's training samples: one image of a JDE data config, augmented, letterboxed, with its
CenterNet targets on the stride-4 grid.

The published rules (FairMOT ``src/lib/datasets/dataset/jde.py``: ``LoadImagesAndLabels.get_data``,
``letterbox``, ``random_affine``, ``JointDataset.__getitem__``; ``src/lib/utils/image.py``:
``gaussian_radius``, ``draw_umich_gaussian``), in the order they run:

1. HSV colour augmentation (training): with ``fraction`` 0.5, ``a = (U[0,1) * 2 - 1) * 0.5 + 1``
   multiplies S (float32), clipped to 0..255 only when ``a > 1``, then truncated to uint8; a
   second draw does the same to V. FairMOT converts BGR to HSV; here the image is RGB and cv2's
   RGB conversion gives the same H, S and V.
2. Letterbox to ``width`` x ``height`` (1088 x 608): ``ratio = min(height / h, width / w)``, the
   resized size ``(round(w * ratio), round(h * ratio))`` (Python's round, INTER_AREA), padding
   ``dw = (width - new_w) / 2`` split as ``left = round(dw - 0.1)``, ``right = round(dw + 0.1)``
   (the same for the height), colour 127.5 (128 in a uint8 image). Boxes: ``x * ratio + dw`` with
   the unrounded ``dw`` (as published, so a box may sit half a pixel off the rounded padding).
3. Random affine (training; degrees (-5, 5), translate (0.1, 0.1), scale (0.5, 1.2), shear
   (-2, 2)): draws in order angle ``a``, scale ``s``, x and y translation, x and y shear, each
   ``U[0,1) * (high - low) + low`` (translation ``(U * 2 - 1) * 0.1``); ``R`` is cv2's rotation
   about the image centre with scale ``s``; the x translation is ``0.1 * U * image height`` and
   the y translation ``0.1 * U * image width`` (FairMOT's order, kept); shear ``tan(deg)`` in
   ``S[0, 1]`` and ``S[1, 0]``; ``M = S @ T @ R``; the image is warped (INTER_LINEAR, border
   127.5). Each box's four corners are warped, their bounding box shrunk about its centre by
   ``max(|sin a|, |cos a|) ** 0.5``; clipped to the image only with ``clip_boxes`` (FairMOT's
   README for MOT20: uncomment the four ``np.clip`` lines); kept when ``w > 4``, ``h > 4``, its
   area over the original's > 0.1 and ``max(w / h, h / w) < 10``, and then when ``x0 < width``,
   ``x1 > 0``, ``y0 < height``, ``y1 > 0``.
4. Horizontal flip (training) when ``U[0,1) > 0.5`` (probability 0.5): the centre ``cx`` becomes
   ``width - cx`` (FairMOT: ``1 - cx`` normalised).
5. The image as RGB float32 (3, H, W) in [0, 1] (``ToTensor``: divided by 255, no mean or std).
6. Targets (``JointDataset.__getitem__``) on the grid ``H / 4`` x ``W / 4`` for the first
   ``max_objs`` (500, FairMOT's ``K``) boxes: centre and size normalised by the input size and
   times the grid size (float32); the amodal box from that centre and size; the centre clipped
   to ``0 .. grid - 1``; when ``w > 0`` and ``h > 0``: ``radius = max(0, int(gaussian_radius(
   (ceil(h), ceil(w)))))`` (CenterNet's, min_overlap 0.7), ``ct_int`` the centre truncated to
   int, ``draw_umich_gaussian`` (diameter ``2r + 1``, sigma ``diameter / 6``, maximum with what is
   there), ``wh`` = (left, top, right, bottom) distances from the clipped centre to the amodal
   box's sides, ``ind = y_int * W_grid + x_int``, ``reg = ct - ct_int``, ``reg_mask = 1``,
   ``ids`` the identity (offset per dataset by :class:`~ltr.dataset.mot.jde.JdeDataset`, -1
   unknown), ``bbox`` the box about the clipped centre as ``[x0, y0, x1, y1]`` on the grid.

Randomness comes from a ``numpy.random.Generator`` (the loader reseeds it per epoch and worker),
not Python's global ``random`` as in FairMOT; the draws are the same in number and order.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Protocol, Sequence

import cv2
import numpy as np
import torch

from ltr.data.boxes import cxcywh_to_xyxy, xywh_to_cxcywh, xywh_to_xyxy, xyxy_to_cxcywh_mean, xyxy_to_xywh
from ltr.data.tensordict import TensorDict

logger = logging.getLogger(__name__)

FAIRMOT_INPUT_SIZE = (1088, 608)  # (width, height) of FairMOT's training images
PAD_COLOUR = 127.5
MAX_OBJECTS = 500  # FairMOT's opt.K
DOWN_RATIO = 4


@dataclasses.dataclass(frozen=True)
class Letterbox:
    """Where an image lands in a letterboxed one: ``ratio``, the resized size, the unrounded
    padding ``pad_w`` / ``pad_h`` (that boxes are shifted by) and the rounded borders."""
    ratio: float
    new_width: int
    new_height: int
    pad_w: float
    pad_h: float
    top: int
    bottom: int
    left: int
    right: int


def letterbox_geometry(image_height: int, image_width: int, *, width: int = FAIRMOT_INPUT_SIZE[0],
                       height: int = FAIRMOT_INPUT_SIZE[1]) -> Letterbox:
    """FairMOT's letterbox of an ``image_height`` x ``image_width`` image into ``width`` x ``height``
    (module docstring, rule 2)."""
    ratio = min(float(height) / image_height, float(width) / image_width)
    new_width, new_height = round(image_width * ratio), round(image_height * ratio)
    pad_w, pad_h = (width - new_width) / 2, (height - new_height) / 2
    return Letterbox(ratio=ratio, new_width=new_width, new_height=new_height, pad_w=pad_w, pad_h=pad_h,
                     top=round(pad_h - 0.1), bottom=round(pad_h + 0.1), left=round(pad_w - 0.1),
                     right=round(pad_w + 0.1))


def letterbox(image: np.ndarray, *, width: int = FAIRMOT_INPUT_SIZE[0], height: int = FAIRMOT_INPUT_SIZE[1],
              colour: float = PAD_COLOUR) -> tuple[np.ndarray, Letterbox]:
    """``image`` (H, W, 3) resized (INTER_AREA) and padded to (height, width, 3), and its geometry."""
    geometry = letterbox_geometry(image.shape[0], image.shape[1], width=width, height=height)
    resized = cv2.resize(image, (geometry.new_width, geometry.new_height), interpolation=cv2.INTER_AREA)
    padded = cv2.copyMakeBorder(resized, geometry.top, geometry.bottom, geometry.left, geometry.right,
                                cv2.BORDER_CONSTANT, value=(colour, colour, colour))
    return padded, geometry


def letterbox_boxes(boxes: np.ndarray, geometry: Letterbox) -> np.ndarray:
    """``(K, 4)`` ``[x, y, w, h]`` boxes of the original image in the letterboxed one."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scaled = boxes * geometry.ratio
    scaled[:, 0] += geometry.pad_w
    scaled[:, 1] += geometry.pad_h
    return scaled


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """An (H, W, 3) uint8 RGB image as FairMOT's network takes it (rule 5): (3, H, W) float32,
    divided by 255."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255)


def augment_hsv(image: np.ndarray, rng: np.random.Generator, *, fraction: float = 0.5) -> np.ndarray:
    """FairMOT's saturation and value augmentation of an RGB uint8 image (rule 1); two draws."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    for channel in (1, 2):
        values = hsv[:, :, channel].astype(np.float32)
        factor = (rng.random() * 2 - 1) * fraction + 1
        values *= factor
        if factor > 1:
            np.clip(values, 0, 255, out=values)
        hsv[:, :, channel] = values.astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def affine_matrix(angle: float, scale: float, translate_x: float, translate_y: float, shear_x: float,
                  shear_y: float, image_height: int, image_width: int) -> np.ndarray:
    """FairMOT's 3x3 ``S @ T @ R`` for an angle and shears in degrees and translations in pixels."""
    rotation = np.eye(3)
    rotation[:2] = cv2.getRotationMatrix2D(angle=angle, center=(image_width / 2, image_height / 2), scale=scale)
    translation = np.eye(3)
    translation[0, 2], translation[1, 2] = translate_x, translate_y
    shear = np.eye(3)
    shear[0, 1] = math.tan(shear_x * math.pi / 180)
    shear[1, 0] = math.tan(shear_y * math.pi / 180)
    return shear @ translation @ rotation


def warp_boxes(boxes: np.ndarray, matrix: np.ndarray, angle: float, *, width: int, height: int,
               clip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(K, 4)`` ``[x, y, w, h]`` boxes through ``matrix`` as FairMOT's ``random_affine`` (rule 3):
    the kept boxes and the indices of the input boxes they come from."""
    corners = xywh_to_xyxy(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
    count = len(corners)
    if count == 0:
        return np.zeros((0, 4)), np.zeros(0, dtype=np.int64)
    area0 = np.prod(xyxy_to_xywh(corners)[:, 2:], axis=1)
    points = np.ones((count * 4, 3))
    points[:, :2] = corners[:, [0, 1, 2, 3, 0, 3, 2, 1]].reshape(count * 4, 2)
    points = (points @ matrix.T)[:, :2].reshape(count, 8)
    xs, ys = points[:, [0, 2, 4, 6]], points[:, [1, 3, 5, 7]]
    warped = np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1)
    radians = angle * math.pi / 180
    reduction = max(abs(math.sin(radians)), abs(math.cos(radians))) ** 0.5
    centred = xyxy_to_cxcywh_mean(warped)
    centred[:, 2:] *= reduction
    warped = cxcywh_to_xyxy(centred)
    if clip:
        warped[:, [0, 2]] = np.clip(warped[:, [0, 2]], 0, width)
        warped[:, [1, 3]] = np.clip(warped[:, [1, 3]], 0, height)
    w, h = xyxy_to_xywh(warped)[:, 2:].T
    area = w * h
    aspect = np.maximum(w / (h + 1e-16), h / (w + 1e-16))
    keep = (w > 4) & (h > 4) & (area / (area0 + 1e-16) > 0.1) & (aspect < 10)
    keep &= (warped[:, 0] < width) & (warped[:, 2] > 0) & (warped[:, 1] < height) & (warped[:, 3] > 0)
    indices = np.flatnonzero(keep)
    return xyxy_to_xywh(warped[indices]), indices


def random_affine(image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator, *,
                  degrees: Sequence[float] = (-5, 5), translate: Sequence[float] = (0.1, 0.1),
                  scale: Sequence[float] = (0.5, 1.2), shear: Sequence[float] = (-2, 2),
                  border: float = PAD_COLOUR, clip_boxes: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FairMOT's ``random_affine`` with its training ranges (rule 3); six draws. Returns the
    warped image, the kept ``[x, y, w, h]`` boxes, their indices among ``boxes``, and ``M``."""
    height, width = image.shape[:2]
    angle = rng.random() * (degrees[1] - degrees[0]) + degrees[0]
    factor = rng.random() * (scale[1] - scale[0]) + scale[0]
    # FairMOT multiplies the x translation by the height and the y one by the width.
    translate_x = (rng.random() * 2 - 1) * translate[0] * height
    translate_y = (rng.random() * 2 - 1) * translate[1] * width
    shear_x = rng.random() * (shear[1] - shear[0]) + shear[0]
    shear_y = rng.random() * (shear[1] - shear[0]) + shear[0]
    matrix = affine_matrix(angle, factor, translate_x, translate_y, shear_x, shear_y, height, width)
    warped = cv2.warpPerspective(image, matrix, dsize=(width, height), flags=cv2.INTER_LINEAR,
                                 borderValue=(border, border, border))
    kept, indices = warp_boxes(boxes, matrix, angle, width=width, height=height, clip=clip_boxes)
    return warped, kept, indices, matrix


def flip_boxes(boxes: np.ndarray, width: float) -> np.ndarray:
    """``[x, y, w, h]`` boxes of an image of ``width`` flipped left-right: ``cx -> width - cx``."""
    boxes = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    boxes[:, 0] = width - boxes[:, 0] - boxes[:, 2]
    return boxes


# Targets ---------------------------------------------------------------------------------

def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """CenterNet's radius for a box of ``height`` x ``width``: the smallest of its three quadratic
    roots (a corner shift that keeps IoU >= ``min_overlap``)."""
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2 ** 2 - 16 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def gaussian_2d(size: int, sigma: float) -> np.ndarray:
    """A ``size`` x ``size`` (odd) Gaussian with peak 1; values below eps * peak set to 0."""
    half = (size - 1) / 2
    y, x = np.ogrid[-half:half + 1, -half:half + 1]
    kernel = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    kernel[kernel < np.finfo(kernel.dtype).eps * kernel.max()] = 0
    return kernel


def draw_umich_gaussian(heatmap: np.ndarray, centre: Sequence[int], radius: int) -> np.ndarray:
    """CenterNet's ``draw_umich_gaussian``: the element-wise maximum of ``heatmap`` (H, W) and a
    Gaussian of diameter ``2 radius + 1`` (sigma diameter / 6) at integer ``centre`` (x, y),
    cut at the borders; in place, and returned."""
    diameter = 2 * radius + 1
    kernel = gaussian_2d(diameter, diameter / 6)
    x, y = int(centre[0]), int(centre[1])
    height, width = heatmap.shape[:2]
    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)
    region = heatmap[y - top:y + bottom, x - left:x + right]
    patch = kernel[radius - top:radius + bottom, radius - left:radius + right]
    if min(patch.shape) > 0 and min(region.shape) > 0:
        np.maximum(region, patch, out=region)
    return heatmap


def fairmot_targets(boxes: np.ndarray, ids: np.ndarray, *, input_width: int, input_height: int,
                    classes: np.ndarray | None = None, num_classes: int = 1, down_ratio: int = DOWN_RATIO,
                    max_objs: int = MAX_OBJECTS, ltrb: bool = True) -> dict[str, np.ndarray]:
    """The targets of ``JointDataset.__getitem__`` (rule 6) for ``(K, 4)`` ``[x, y, w, h]`` boxes
    in input pixels and their ``(K,)`` identities: ``hm`` (C, H/4, W/4) float32, ``wh`` (M, 4)
    (ltrb) or (M, 2), ``reg`` (M, 2), ``ind`` (M,) int64, ``reg_mask`` (M,) uint8, ``ids`` (M,)
    int64, ``bbox`` (M, 4) float32, with ``M = max_objs``."""
    out_w, out_h = input_width // down_ratio, input_height // down_ratio
    hm = np.zeros((num_classes, out_h, out_w), dtype=np.float32)
    wh = np.zeros((max_objs, 4 if ltrb else 2), dtype=np.float32)
    reg = np.zeros((max_objs, 2), dtype=np.float32)
    ind = np.zeros(max_objs, dtype=np.int64)
    reg_mask = np.zeros(max_objs, dtype=np.uint8)
    target_ids = np.zeros(max_objs, dtype=np.int64)
    bbox = np.zeros((max_objs, 4), dtype=np.float32)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    # FairMOT's labels: centre and size normalised by the input size (float32), then on the grid.
    normalised = (xywh_to_cxcywh(boxes) / np.array([input_width, input_height] * 2)).astype(np.float32)
    grid = normalised * np.array([out_w, out_h, out_w, out_h], dtype=np.float32)
    classes = np.zeros(len(boxes), dtype=np.int64) if classes is None else np.asarray(classes, dtype=np.int64)
    for k in range(min(len(boxes), max_objs)):
        cx, cy, w, h = (np.float32(v) for v in grid[k])
        amodal = cxcywh_to_xyxy(np.array([cx, cy, w, h], dtype=np.float32))
        cx, cy = np.float32(np.clip(cx, 0, out_w - 1)), np.float32(np.clip(cy, 0, out_h - 1))
        if not (h > 0 and w > 0):
            continue
        radius = max(0, int(gaussian_radius(math.ceil(h), math.ceil(w))))
        centre = np.array([cx, cy], dtype=np.float32)
        centre_int = centre.astype(np.int32)
        draw_umich_gaussian(hm[classes[k]], centre_int, radius)
        if ltrb:
            wh[k] = centre[0] - amodal[0], centre[1] - amodal[1], amodal[2] - centre[0], amodal[3] - centre[1]
        else:
            wh[k] = w, h
        ind[k] = centre_int[1] * out_w + centre_int[0]
        reg[k] = centre - centre_int
        reg_mask[k] = 1
        target_ids[k] = ids[k]
        bbox[k] = cxcywh_to_xyxy(np.array([cx, cy, w, h], dtype=np.float32))
    return {"hm": hm, "wh": wh, "reg": reg, "ind": ind, "reg_mask": reg_mask, "ids": target_ids, "bbox": bbox}


# The dataset --------------------------------------------------------------------------------

class ImageSource(Protocol):
    """What the samples read (:class:`~ltr.dataset.mot.jde.JdeDataset`)."""

    def get_num_images(self) -> int: ...

    def get_image(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


class FairMOTSamples(torch.utils.data.Dataset):
    """One image of ``source`` per sample, through FairMOT's training pipeline (module docstring)
    when ``augment``, else letterbox only. With ``world_size`` ranks, rank ``rank`` takes every
    ``world_size``-th image from ``rank`` on (the loader shuffles its share each epoch).

    A sample is a TensorDict: ``images`` (3, H, W) float32 RGB in [0, 1] and the targets of
    :func:`fairmot_targets`."""

    def __init__(self, source: ImageSource, *, input_size: Sequence[int] = FAIRMOT_INPUT_SIZE, augment: bool = True,
                 hsv_fraction: float = 0.5, degrees: Sequence[float] = (-5, 5),
                 translate: Sequence[float] = (0.1, 0.1), scale: Sequence[float] = (0.5, 1.2),
                 shear: Sequence[float] = (-2, 2), flip_probability: float = 0.5, clip_boxes: bool = False,
                 max_objs: int = MAX_OBJECTS, down_ratio: int = DOWN_RATIO, ltrb: bool = True, rank: int = 0,
                 world_size: int = 1):
        width, height = (int(v) for v in input_size)
        if width % 32 or height % 32 or width <= 0 or height <= 0:
            raise ValueError(f"input_size {list(input_size)}: width and height must be positive multiples of 32 "
                             f"(the network's stride)")
        if source.get_num_images() == 0:
            raise ValueError(f"{getattr(source, 'config_file', source)} lists no training image")
        self.source = source
        self.width, self.height = width, height
        self.augment = augment
        self.hsv_fraction = hsv_fraction
        self.affine = {"degrees": tuple(degrees), "translate": tuple(translate), "scale": tuple(scale),
                       "shear": tuple(shear)}
        self.flip_probability = flip_probability
        self.clip_boxes = clip_boxes
        self.max_objs = max_objs
        self.down_ratio = down_ratio
        self.ltrb = ltrb
        self.indices = np.arange(rank, source.get_num_images(), max(1, world_size))
        self.rng = np.random.default_rng(0)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.indices)

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Image ``index`` of the source through the pipeline: the (H, W, 3) uint8 RGB image, its
        ``[x, y, w, h]`` boxes in input pixels and their identities."""
        image, boxes, ids = self.source.get_image(index)
        if self.augment and self.hsv_fraction > 0:
            image = augment_hsv(image, self.rng, fraction=self.hsv_fraction)
        image, geometry = letterbox(image, width=self.width, height=self.height)
        boxes = letterbox_boxes(boxes, geometry)
        ids = np.asarray(ids, dtype=np.int64)
        if self.augment:
            image, boxes, kept, _ = random_affine(image, boxes, self.rng, clip_boxes=self.clip_boxes, **self.affine)
            ids = ids[kept]
            # FairMOT: flip when random() > 0.5; with probability p: when random() > 1 - p.
            if self.rng.random() > 1 - self.flip_probability:
                image = np.ascontiguousarray(image[:, ::-1])
                boxes = flip_boxes(boxes, self.width)
        return image, boxes, ids

    def __getitem__(self, position: int) -> TensorDict:
        index = int(self.indices[position])
        image, boxes, ids = self.sample(index)
        targets = fairmot_targets(boxes, ids, input_width=self.width, input_height=self.height,
                                  down_ratio=self.down_ratio, max_objs=self.max_objs, ltrb=self.ltrb)
        return TensorDict(images=image_tensor(image), **{name: torch.from_numpy(value) for name, value in targets.items()})
