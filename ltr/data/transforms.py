"""Image transforms for training, with joint and per-image semantics.

``Transform(*transforms)`` composes. Calling a transform with ``joint=True`` draws its random
parameters once for all the images (a grey-scale decision for a whole training pair), with
``joint=False`` once per image. Images are (H, W, C) uint8 arrays before ``ToTensor`` and
(C, H, W) float tensors after; boxes [x, y, w, h] follow geometric transforms. Randomness comes
from the ``rng`` (a numpy Generator) passed in, so a seeded pipeline repeats.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from ltr.data.processing_utils import recycled_arrays

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _to_chw_float(image: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8 -> contiguous (C, H, W) float32, converted and laid out in one pass."""
    if any(stride < 0 for stride in image.strides):  # torch cannot view mirrored arrays
        image = np.ascontiguousarray(image)
    height, width, channels = image.shape
    return torch.empty((channels, height, width)).copy_(torch.from_numpy(image).permute(2, 0, 1))


def _uniform(rng: np.random.Generator | None, low: float = 0.0, high: float = 1.0) -> float:
    return float((rng if rng is not None else np.random.default_rng()).uniform(low, high))


class Transform:
    """A composition of transforms, or (in subclasses) one transform.

    With ``fuse`` (the default), a :class:`ToTensorAndJitter` followed by a :class:`Normalize`
    on uint8 images runs as one pass: each pixel value is looked up in a table of the 256
    values both transforms would give it (per channel), computed with the same float32
    operations, so the result is identical to running them one after the other, with the same
    random draws; a 288x288 crop is read once instead of five passes over a float image."""

    def __init__(self, *transforms: "Transform", fuse: bool = True):
        if len(transforms) == 1 and isinstance(transforms[0], (list, tuple)):
            transforms = tuple(transforms[0])
        self.transforms = transforms
        self.fuse = fuse

    def __call__(self, *, image: list, bbox: list | None = None, joint: bool = True,
                 rng: np.random.Generator | None = None):
        """Transform a list of images (and their boxes); returns (images, boxes)."""
        index = 0
        while index < len(self.transforms):
            transform = self.transforms[index]
            following = self.transforms[index + 1] if index + 1 < len(self.transforms) else None
            if self.fuse and _fusable(transform, following, image):
                image, bbox = transform.jitter_and_normalize(following, image=image, bbox=bbox, joint=joint, rng=rng)
                index += 2
                continue
            image, bbox = transform(image=image, bbox=bbox, joint=joint, rng=rng)
            index += 1
        return image, bbox

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"{type(self).__name__}({inner})"


class TransformBase(Transform):
    """One transform: subclasses draw parameters in ``roll`` and apply them per image."""

    def __init__(self):
        super().__init__()

    def roll(self, rng: np.random.Generator | None):
        return None

    def transform_image(self, image, params):
        return image

    def transform_bbox(self, bbox: torch.Tensor, image_shape: tuple[int, int], params) -> torch.Tensor:
        return bbox

    def __call__(self, *, image: list, bbox: list | None = None, joint: bool = True,
                 rng: np.random.Generator | None = None):
        shared = self.roll(rng) if joint else None
        images, boxes = [], []
        for index, img in enumerate(image):
            params = shared if joint else self.roll(rng)
            shape = tuple(img.shape[:2]) if isinstance(img, np.ndarray) else tuple(img.shape[-2:])
            images.append(self.transform_image(img, params))
            if bbox is not None:
                boxes.append(self.transform_bbox(bbox[index], shape, params))
        return images, (boxes if bbox is not None else None)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items() if k != "transforms")
        return f"{type(self).__name__}({fields})"


class ToGrayscale(TransformBase):
    """With ``probability``, replace the colours by their luminance (kept as 3 channels)."""

    def __init__(self, probability: float = 0.5):
        super().__init__()
        self.probability = probability

    def roll(self, rng):
        return _uniform(rng) < self.probability

    def transform_image(self, image, grey: bool):
        if not grey:
            return image
        if isinstance(image, np.ndarray):
            return np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
        weights = image.new_tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
        return (image * weights).sum(0, keepdim=True).expand_as(image).contiguous()


class ToTensor(TransformBase):
    """(H, W, C) uint8 -> (C, H, W) float32 in [0, 1]."""

    def transform_image(self, image, params):
        if torch.is_tensor(image):
            return image
        return _to_chw_float(image).div_(255.0)


class ToTensorAndJitter(TransformBase):
    """To a float tensor in [0, 1], multiplied by a brightness factor drawn uniformly from
    [1 - brightness_jitter, 1 + brightness_jitter] and clamped."""

    def __init__(self, brightness_jitter: float = 0.0, normalize: bool = True):
        super().__init__()
        self.brightness_jitter = brightness_jitter
        self.normalize = normalize

    def roll(self, rng):
        return _uniform(rng, max(0.0, 1 - self.brightness_jitter), 1 + self.brightness_jitter)

    def transform_image(self, image, factor: float):
        tensor = _to_chw_float(image)
        tensor.mul_(factor / 255.0 if self.normalize else factor)
        return tensor.clamp_(0.0, 1.0 if self.normalize else 255.0)

    def table(self, factor: float, normalize: "Normalize | None" = None) -> np.ndarray:
        """(3, 256) float32: what ``transform_image`` (then ``normalize``) makes of each uint8
        value in each channel. The same float32 operations in the same order (the factor
        rounded to float32 and multiplied, clamped, then (x - mean) / std with float32 mean and
        std, as torch computes them on float32 tensors), in numpy: ten small tensor operations
        would cost more than the look-up itself. Equal to the tensor result bit for bit (tested
        against it)."""
        scale = np.float32(factor / 255.0 if self.normalize else factor)
        values = np.arange(256, dtype=np.float32) * scale
        np.clip(values, np.float32(0.0), np.float32(1.0 if self.normalize else 255.0), out=values)
        values = np.repeat(values[None], 3, axis=0)
        if normalize is not None:
            mean = np.asarray(normalize.mean, np.float32).reshape(-1, 1)
            std = np.asarray(normalize.std, np.float32).reshape(-1, 1)
            values = (values - mean) / std
        return values

    def jitter_and_normalize(self, normalize: "Normalize", *, image: list, bbox: list | None, joint: bool,
                             rng: np.random.Generator | None):
        """This transform then ``normalize`` in one pass per uint8 (H, W, 3) image, through
        :meth:`table`; the same random draws, in the same order, as the two run apart."""
        shared = self.roll(rng) if joint else None
        images = []
        for img in image:
            table = self.table(shared if joint else self.roll(rng), normalize)
            height, width, channels = img.shape
            planes = [recycled_arrays.empty((height, width), np.uint8) for _ in range(channels)]
            out = recycled_arrays.empty((channels, height, width), np.float32)
            for channel, plane in enumerate(cv2.split(img, planes)):
                looked_up = cv2.LUT(plane, table[channel].reshape(1, 256), dst=out[channel])
                if not np.shares_memory(looked_up, out):  # OpenCV wrote elsewhere
                    out[channel] = looked_up
            images.append(torch.from_numpy(out))
        return images, (list(bbox) if bbox is not None else None)


def _fusable(transform: Transform, following: Transform | None, images: list) -> bool:
    """A ToTensorAndJitter (to [0, 1]) then a Normalize, on RGB uint8 arrays."""
    return (type(transform) is ToTensorAndJitter and transform.normalize and type(following) is Normalize
            and len(following.mean) == 3 and len(following.std) == 3
            and all(isinstance(i, np.ndarray) and i.dtype == np.uint8 and i.ndim == 3 and i.shape[2] == 3
                    for i in images))


class Normalize(TransformBase):
    """Per-channel (x - mean) / std on (C, H, W) tensors."""

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD, inplace: bool = False):
        super().__init__()
        self.mean, self.std, self.inplace = tuple(mean), tuple(std), inplace

    def transform_image(self, image: torch.Tensor, params):
        mean = image.new_tensor(self.mean).view(-1, 1, 1)
        std = image.new_tensor(self.std).view(-1, 1, 1)
        if self.inplace:
            return image.sub_(mean).div_(std)
        return torch.sub(image, mean).div_(std)


class RandomHorizontalFlip(TransformBase):
    """With ``probability``, mirror left to right (boxes follow)."""

    def __init__(self, probability: float = 0.5):
        super().__init__()
        self.probability = probability

    def roll(self, rng):
        return _uniform(rng) < self.probability

    def transform_image(self, image, flip: bool):
        if not flip:
            return image
        if isinstance(image, np.ndarray):
            return np.ascontiguousarray(image[:, ::-1])
        return image.flip(-1)

    def transform_bbox(self, bbox, image_shape, flip: bool):
        if not flip:
            return bbox
        flipped = bbox.clone()
        flipped[..., 0] = image_shape[1] - bbox[..., 0] - bbox[..., 2]
        return flipped


class Blur(TransformBase):
    """Gaussian blur of standard deviation ``sigma`` (one value, or one per axis: y, x)."""

    def __init__(self, sigma):
        super().__init__()
        sigma = (sigma, sigma) if isinstance(sigma, (int, float)) else tuple(sigma)
        self.sigma = sigma

    def transform_image(self, image, params):
        sigma_y, sigma_x = self.sigma
        size_x = 2 * math.ceil(2 * sigma_x) + 1
        size_y = 2 * math.ceil(2 * sigma_y) + 1
        if isinstance(image, np.ndarray):
            return cv2.GaussianBlur(image, (size_x, size_y), sigmaX=sigma_x, sigmaY=sigma_y,
                                    borderType=cv2.BORDER_REPLICATE)
        blurred = cv2.GaussianBlur(image.permute(1, 2, 0).numpy(), (size_x, size_y), sigmaX=sigma_x,
                                   sigmaY=sigma_y, borderType=cv2.BORDER_REPLICATE)
        blurred = blurred[..., None] if blurred.ndim == 2 else blurred
        return torch.from_numpy(np.ascontiguousarray(blurred.transpose(2, 0, 1)))
