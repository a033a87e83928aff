"""Detector training data: mmdetection 2.x's training pipeline as transforms, the dataset that
yields one image and its boxes per sample, and the collate function that batches them.

A sample is a dict: ``img`` (H, W, 3) float32 RGB, ``boxes`` (N, 4) float32 ``[x0, y0, x1, y1]``,
``labels`` (N,) int64 (1 = pedestrian), ``ignore_boxes`` (M, 4), ``img_shape`` (h, w),
``scale_factor`` (w scale, h scale). Each transform is called as ``transform(sample, rng)`` with a
``numpy.random.Generator`` and returns the sample, or None to refuse it (mmdet then draws another
image). The published rules (``mmdet/datasets/pipelines/transforms.py``, the training pipeline of
mmtracking's ``configs/_base_/datasets/mot_challenge_det.py``), rule by rule:

- :class:`Resize` (``img_scale=(1088, 1088), ratio_range=(0.8, 1.2), keep_ratio=True,
  bbox_clip_border=False``): ratio ``r = U[0, 1) * (max - min) + min``; target scale
  ``(int(1088 r), int(1088 r))``; mmcv's keep-ratio rescale: factor ``f = min(long / max(h, w),
  short / min(h, w))``, new size ``int(w f + 0.5)``, ``int(h f + 0.5)``, bilinear (cv2
  INTER_LINEAR); boxes times ``(new_w / w, new_h / h)``, not clipped.
- :class:`PhotoMetricDistortion` (brightness delta 32, contrast 0.5-1.5, saturation 0.5-1.5,
  hue 18), in float with no clipping, each step with probability 1/2 and in this order:
  brightness ``+ U(-32, 32)``; a coin for the contrast's place (first or last); contrast ``* U(0.5,
  1.5)`` when first; to HSV (cv2, float: H in [0, 360)); saturation ``S * U(0.5, 1.5)``; hue ``H +
  U(-18, 18)`` wrapped into [0, 360]; back to colour; contrast when last; a random permutation of
  the channels. mmdet works on BGR images (``to_rgb=True`` swaps them in Normalize); here the image
  is RGB throughout and the HSV conversions are cv2's RGB ones, which give the same values, and the
  channel permutation is equally uniform.
- :class:`RandomCrop` (``crop_size=(1088, 1088), crop_type='absolute', allow_negative_crop=False,
  bbox_clip_border=False``): crop ``(min(1088, h), min(1088, w))`` at offsets drawn uniformly from
  ``0 .. h - crop_h`` and ``0 .. w - crop_w``; boxes shifted by the offset and not clipped, kept
  when ``x1 > x0 and y1 > y0`` (so without clipping a box outside the crop stays); when no
  ground-truth box is kept the sample is refused (an image without boxes is refused).
- :class:`RandomFlip` (``flip_ratio=0.5``, horizontal): ``x0' = w - x1``, ``x1' = w - x0``.
- :class:`Normalize` (mean 123.675, 116.28, 103.53; std 58.395, 57.12, 57.375 on RGB).
- :class:`Pad` (``size_divisor=32``): zeros at the bottom and right up to ``ceil(h / 32) * 32``.
- Batches (mmcv's collate): images zero-padded at the bottom and right to the batch's largest.
- A refused sample is replaced by another image drawn at random (mmdet's ``_rand_another``; it
  draws from the images of the same aspect-ratio group, which for MOTChallenge is all of them).

The test pipeline (:func:`evaluation_pipeline`) is Resize at the fixed scale (no ratio), Normalize, Pad.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from ltr.data.loader import LTRLoader
from ltr.data.tensordict import TensorDict

MMDET_MEAN = (123.675, 116.28, 103.53)
MMDET_STD = (58.395, 57.12, 57.375)
Sample = dict


def keep_ratio_size(height: int, width: int, scale: tuple[int, int]) -> tuple[int, int]:
    """(new_h, new_w) of mmcv's keep-ratio rescale of an ``height`` x ``width`` image to
    ``scale``: the long edge at most ``max(scale)``, the short at most ``min(scale)``."""
    factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
    return int(height * float(factor) + 0.5), int(width * float(factor) + 0.5)


class Resize:
    """mmdet's Resize with ``keep_ratio=True`` (module docstring); ``ratio_range`` None: the
    fixed ``scale`` (testing)."""

    def __init__(self, *, scale: tuple[int, int] = (1088, 1088), ratio_range: tuple[float, float] | None = (0.8, 1.2),
                 clip_border: bool = False):
        if ratio_range is not None and not 0 < ratio_range[0] <= ratio_range[1]:
            raise ValueError(f"ratio_range must be (low, high) with 0 < low <= high, not {ratio_range}")
        self.scale = tuple(int(s) for s in scale)
        self.ratio_range = ratio_range
        self.clip_border = clip_border

    def target_scale(self, rng: np.random.Generator) -> tuple[int, int]:
        if self.ratio_range is None:
            return self.scale
        low, high = self.ratio_range
        ratio = rng.random() * (high - low) + low
        return int(self.scale[0] * ratio), int(self.scale[1] * ratio)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        image = sample["img"]
        height, width = image.shape[:2]
        new_h, new_w = keep_ratio_size(height, width, self.target_scale(rng))
        if (new_h, new_w) != (height, width):
            image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        w_scale, h_scale = new_w / width, new_h / height
        factor = np.array([w_scale, h_scale, w_scale, h_scale], np.float32)
        sample["img"] = image
        sample["img_shape"] = (new_h, new_w)
        sample["scale_factor"] = (w_scale, h_scale)
        for key in ("boxes", "ignore_boxes"):
            boxes = sample[key] * factor
            if self.clip_border:
                boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, new_w)
                boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, new_h)
            sample[key] = boxes
        return sample


class PhotoMetricDistortion:
    """mmdet's PhotoMetricDistortion (module docstring: order, ranges, probabilities)."""

    def __init__(self, *, brightness_delta: float = 32, contrast_range: tuple[float, float] = (0.5, 1.5),
                 saturation_range: tuple[float, float] = (0.5, 1.5), hue_delta: float = 18):
        self.brightness_delta = brightness_delta
        self.contrast_range = contrast_range
        self.saturation_range = saturation_range
        self.hue_delta = hue_delta

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        image = sample["img"].astype(np.float32)
        if rng.integers(2):
            image += np.float32(rng.uniform(-self.brightness_delta, self.brightness_delta))
        contrast_first = rng.integers(2) == 1  # mmdet's mode 1
        if contrast_first and rng.integers(2):
            image *= np.float32(rng.uniform(*self.contrast_range))
        image = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        if rng.integers(2):
            image[..., 1] *= np.float32(rng.uniform(*self.saturation_range))
        if rng.integers(2):
            hue = image[..., 0]
            hue += np.float32(rng.uniform(-self.hue_delta, self.hue_delta))
            hue[hue > 360] -= 360
            hue[hue < 0] += 360
        image = cv2.cvtColor(image, cv2.COLOR_HSV2RGB)
        if not contrast_first and rng.integers(2):
            image *= np.float32(rng.uniform(*self.contrast_range))
        if rng.integers(2):
            image = image[..., rng.permutation(3)]
        sample["img"] = np.ascontiguousarray(image)
        return sample


class RandomCrop:
    """mmdet's RandomCrop, absolute size (module docstring)."""

    def __init__(self, *, crop_size: tuple[int, int] = (1088, 1088), allow_negative_crop: bool = False,
                 clip_border: bool = False):
        self.crop_size = tuple(int(s) for s in crop_size)  # (h, w)
        self.allow_negative_crop = allow_negative_crop
        self.clip_border = clip_border

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample | None:
        image = sample["img"]
        height, width = image.shape[:2]
        crop_h, crop_w = min(self.crop_size[0], height), min(self.crop_size[1], width)
        top = int(rng.integers(0, height - crop_h + 1))
        left = int(rng.integers(0, width - crop_w + 1))
        sample["img"] = image[top:top + crop_h, left:left + crop_w]
        sample["img_shape"] = (crop_h, crop_w)
        offset = np.array([left, top, left, top], np.float32)
        for key in ("boxes", "ignore_boxes"):
            boxes = sample[key] - offset
            if self.clip_border:
                boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, crop_w)
                boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, crop_h)
            valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            if key == "boxes" and not valid.any() and not self.allow_negative_crop:
                return None
            sample[key] = boxes[valid]
            if key == "boxes":
                sample["labels"] = sample["labels"][valid]
        return sample


class RandomFlip:
    """mmdet's RandomFlip, horizontal, with ``probability``."""

    def __init__(self, *, probability: float = 0.5):
        if not 0 <= probability <= 1:
            raise ValueError(f"flip probability must be in [0, 1], not {probability}")
        self.probability = probability

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        # mmdet: np.random.choice(['horizontal', None], p=[ratio, 1 - ratio]).
        flip = rng.random() < self.probability
        sample["flip"] = bool(flip)
        if flip:
            width = sample["img_shape"][1]
            sample["img"] = np.ascontiguousarray(sample["img"][:, ::-1])
            for key in ("boxes", "ignore_boxes"):
                boxes = sample[key].copy()
                boxes[:, 0] = width - sample[key][:, 2]
                boxes[:, 2] = width - sample[key][:, 0]
                sample[key] = boxes
        return sample


class Normalize:
    """``(img - mean) / std`` per RGB channel."""

    def __init__(self, *, mean: Sequence[float] = MMDET_MEAN, std: Sequence[float] = MMDET_STD):
        self.mean = np.asarray(mean, np.float32).reshape(1, 1, 3)
        self.inverse_std = (1.0 / np.asarray(std, np.float64)).astype(np.float32).reshape(1, 1, 3)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        sample["img"] = (sample["img"].astype(np.float32) - self.mean) * self.inverse_std
        return sample


class Pad:
    """Zeros at the bottom and right up to a multiple of ``size_divisor``."""

    def __init__(self, *, size_divisor: int = 32):
        if size_divisor < 1:
            raise ValueError(f"size_divisor must be >= 1, not {size_divisor}")
        self.size_divisor = size_divisor

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        image = sample["img"]
        height, width = image.shape[:2]
        padded_h = math.ceil(height / self.size_divisor) * self.size_divisor
        padded_w = math.ceil(width / self.size_divisor) * self.size_divisor
        if (padded_h, padded_w) != (height, width):
            out = np.zeros((padded_h, padded_w, image.shape[2]), image.dtype)
            out[:height, :width] = image
            sample["img"] = out
        sample["pad_shape"] = (padded_h, padded_w)
        return sample


class DetectionPipeline:
    """Transforms applied in order; None as soon as one refuses the sample."""

    def __init__(self, *transforms):
        self.transforms = list(transforms)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample | None:
        for transform in self.transforms:
            sample = transform(sample, rng)
            if sample is None:
                return None
        return sample


def train_pipeline(*, scale: tuple[int, int] = (1088, 1088), ratio_range: tuple[float, float] | None = (0.8, 1.2),
                   crop_size: tuple[int, int] | None = (1088, 1088), flip_probability: float = 0.5,
                   photometric: bool = True, mean: Sequence[float] = MMDET_MEAN, std: Sequence[float] = MMDET_STD,
                   size_divisor: int = 32) -> DetectionPipeline:
    """mmtracking's detector training pipeline (``mot_challenge_det.py``) with its values as defaults."""
    transforms = [Resize(scale=scale, ratio_range=ratio_range, clip_border=False)]
    if photometric:
        transforms.append(PhotoMetricDistortion())
    if crop_size is not None:
        transforms.append(RandomCrop(crop_size=crop_size, clip_border=False))
    transforms += [RandomFlip(probability=flip_probability), Normalize(mean=mean, std=std),
                   Pad(size_divisor=size_divisor)]
    return DetectionPipeline(*transforms)


def evaluation_pipeline(*, scale: tuple[int, int] = (1088, 1088), mean: Sequence[float] = MMDET_MEAN,
                  std: Sequence[float] = MMDET_STD, size_divisor: int = 32) -> DetectionPipeline:
    """mmtracking's detector test pipeline: Resize at ``scale`` (keep ratio), Normalize, Pad."""
    return DetectionPipeline(Resize(scale=scale, ratio_range=None), Normalize(mean=mean, std=std),
                             Pad(size_divisor=size_divisor))


def new_sample(image: np.ndarray, boxes: np.ndarray | None = None, labels: np.ndarray | None = None,
               ignore_boxes: np.ndarray | None = None) -> Sample:
    """A sample of an RGB (H, W, 3) image (converted to float32, as mmdet loads with
    ``to_float32=True``) and its ``[x0, y0, x1, y1]`` boxes."""
    boxes = np.zeros((0, 4), np.float32) if boxes is None else np.asarray(boxes, np.float32).reshape(-1, 4)
    labels = np.ones(len(boxes), np.int64) if labels is None else np.asarray(labels, np.int64).reshape(-1)
    ignore = np.zeros((0, 4), np.float32) if ignore_boxes is None else np.asarray(ignore_boxes, np.float32).reshape(-1, 4)
    return {"img": np.asarray(image, np.float32), "boxes": boxes.copy(), "labels": labels.copy(),
            "ignore_boxes": ignore.copy(), "img_shape": tuple(image.shape[:2]), "scale_factor": (1.0, 1.0),
            "original_shape": tuple(image.shape[:2]), "flip": False}


def sample_to_tensors(sample: Sample) -> TensorDict:
    """``image`` (3, Hp, Wp) float32, ``image_size`` (2,) int64 ``[h, w]`` before padding,
    ``boxes`` (N, 4) float32, ``labels`` (N,) int64, ``scale_factor`` (2,) float64."""
    return TensorDict(image=torch.from_numpy(np.ascontiguousarray(sample["img"].transpose(2, 0, 1))),
                      image_size=torch.tensor(sample["img_shape"], dtype=torch.int64),
                      boxes=torch.from_numpy(np.ascontiguousarray(sample["boxes"], np.float32)),
                      labels=torch.from_numpy(np.ascontiguousarray(sample["labels"], np.int64)),
                      scale_factor=torch.tensor(sample["scale_factor"], dtype=torch.float64))


class DetectionSamples(torch.utils.data.Dataset):
    """One image of ``source`` (a :class:`~ltr.dataset.mot.cocovid.CocoDetectionSet`) and its
    boxes per sample, through ``pipeline``; a refused sample is replaced by a random other image
    (mmdet's rule). With ``world_size`` ranks, rank ``rank`` takes every ``world_size``-th image
    from ``rank`` on (its shard; the loader shuffles it per epoch). ``reseed`` is called by the
    loader with each epoch's seed."""

    def __init__(self, source, pipeline: DetectionPipeline, *, rank: int = 0, world_size: int = 1,
                 max_refusals: int = 100):
        if len(source) == 0:
            raise ValueError(f"{getattr(source, 'annotation_file', source)} has no image with ground truth to train on")
        self.source = source
        self.pipeline = pipeline
        self.indices = np.arange(rank, len(source), max(1, world_size))
        self.max_refusals = max_refusals
        self.rng = np.random.default_rng(0)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.indices)

    def sample(self, index: int) -> Sample | None:
        """Image ``index`` of the source through the pipeline (None: refused)."""
        image = self.source[index]
        return self.pipeline(new_sample(self.source.read_image(index), image.boxes, image.labels, image.ignore_boxes),
                             self.rng)

    def __getitem__(self, position: int) -> TensorDict:
        index = int(self.indices[position])
        for _ in range(self.max_refusals):
            sample = self.sample(index)
            if sample is not None:
                return sample_to_tensors(sample)
            index = int(self.rng.integers(len(self.source)))
        raise RuntimeError(f"{self.max_refusals} samples in a row were refused by the pipeline (no box left after "
                           f"cropping): check the annotations of {getattr(self.source, 'annotation_file', '')}")


def collate_detection(samples: list[TensorDict]) -> TensorDict:
    """A batch: ``images`` (B, 3, H, W) zero-padded at the bottom and right to the largest,
    ``image_sizes`` (B, 2) int64 ``[h, w]``, ``scale_factors`` (B, 2), and per image lists
    ``boxes`` (N_i, 4), ``labels`` (N_i,)."""
    height = max(s["image"].shape[1] for s in samples)
    width = max(s["image"].shape[2] for s in samples)
    images = torch.zeros(len(samples), 3, height, width, dtype=samples[0]["image"].dtype)
    for index, sample in enumerate(samples):
        _, h, w = sample["image"].shape
        images[index, :, :h, :w] = sample["image"]
    return TensorDict(images=images, image_sizes=torch.stack([s["image_size"] for s in samples]),
                      scale_factors=torch.stack([s["scale_factor"] for s in samples]),
                      boxes=[s["boxes"] for s in samples], labels=[s["labels"] for s in samples])


def detection_loader(name: str, dataset: DetectionSamples, **kwargs) -> LTRLoader:
    """An :class:`~ltr.data.loader.LTRLoader` batching with :func:`collate_detection` (images of
    different sizes, a box list per image)."""
    loader = LTRLoader(name, dataset, **kwargs)
    loader.collate_fn = collate_detection
    return loader
