"""Batches of P identities x K crops for re-identification training (mmtracking's
``ReIDDataset.triplet_sampling``, ``triplet_sampler=dict(num_ids=8, ins_per_id=4)``), and the
crops' processing (``configs/_base_/datasets/mot_challenge_reid.py``).

Published sampling, per sample ``index`` (an epoch visits every crop once as anchor):

- the anchor's identity gives ``crops_per_id`` (K) crops, drawn from its crops *with* replacement;
- ``ids_per_batch - 1`` (P - 1) other identities are drawn *without* replacement, uniformly
  among all others, and give K crops each, with replacement;
- the sample holds the P * K crops identity by identity, the anchor's first.

Processing (train pipeline): resize to the crop size ignoring the aspect ratio (mmcv's
``imresize``: OpenCV bilinear, on float32 pixels), horizontal flip with probability 0.5 per crop,
normalise with the ImageNet mean and std of RGB. The validation pipeline has no flip.

Random draws go through the sampler's own generator, reseeded by the loader per worker and
epoch (``reseed``), so a seeded run repeats.
"""

from __future__ import annotations

import random
from typing import Sequence

import cv2
import numpy as np
import torch

from ltr.data.sampler import draw_readable
from ltr.data.tensordict import TensorDict
from ltr.data.transforms import IMAGENET_MEAN, IMAGENET_STD


class ReIDProcessing:
    """Crops (RGB uint8 ``(h, w, 3)`` arrays) -> ``(N, 3, H, W)`` float32, resized to
    ``crop_size`` ``(H, W)``, each flipped horizontally with ``flip_probability``, normalised
    ``(x / 255 - mean) / std``."""

    def __init__(self, *, crop_size: Sequence[int], flip_probability: float = 0.5,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD, seed: int = 0):
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.flip_probability = float(flip_probability)
        self.mean = np.asarray(mean, np.float32) * 255
        self.std = np.asarray(std, np.float32) * 255
        self.rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        self.rng.seed(seed)

    def __call__(self, crops: Sequence[np.ndarray]) -> torch.Tensor:
        height, width = self.crop_size
        out = np.empty((len(crops), 3, height, width), np.float32)
        for i, crop in enumerate(crops):
            image = cv2.resize(crop.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
            if self.flip_probability and self.rng.random() < self.flip_probability:
                image = image[:, ::-1]
            out[i] = ((image - self.mean) / self.std).transpose(2, 0, 1)
        return torch.from_numpy(out)


class ReIDSampler(torch.utils.data.Dataset):
    """Samples of ``ids_per_batch`` identities x ``crops_per_id`` crops of ``dataset`` (a
    :class:`ltr.dataset.mot.reid.MotReID` or anything with ``labels``, ``get_crop`` and
    ``get_name``), as a TensorDict: ``images`` ``(P*K, 3, H, W)``, ``labels`` ``(P*K,)`` int64.
    ``samples_per_epoch``: samples an epoch (default: one per crop, published)."""

    def __init__(self, dataset, *, processing: ReIDProcessing, ids_per_batch: int = 8, crops_per_id: int = 4,
                 samples_per_epoch: int | None = None, seed: int = 0):
        self.dataset = dataset
        labels = np.asarray(dataset.labels, dtype=np.int64)
        self.by_label = {int(label): np.flatnonzero(labels == label).tolist() for label in np.unique(labels)}
        if ids_per_batch < 2 or crops_per_id < 1:
            raise ValueError(f"a ReID batch needs at least 2 identities and 1 crop each, got ids_per_batch="
                             f"{ids_per_batch}, crops_per_id={crops_per_id}")
        if len(self.by_label) < ids_per_batch:
            raise ValueError(f"{dataset.get_name()} has {len(self.by_label)} identities, fewer than the {ids_per_batch} "
                             f"of a batch: use more sequences, or lower ids_per_batch")
        self.labels = labels
        self.ids_per_batch = int(ids_per_batch)
        self.crops_per_id = int(crops_per_id)
        self.samples_per_epoch = len(labels) if samples_per_epoch is None else int(samples_per_epoch)
        self.processing = processing
        self.rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        self.rng.seed(seed)
        self.processing.reseed(seed + 1)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def draw(self, anchor: int) -> list[int]:
        """The crop indices of the sample anchored at crop ``anchor`` (module docstring)."""
        positive = int(self.labels[anchor])
        others = [label for label in self.by_label if label != positive]
        chosen = [positive] + self.rng.sample(others, self.ids_per_batch - 1)
        return [index for label in chosen for index in self.rng.choices(self.by_label[label], k=self.crops_per_id)]

    def __getitem__(self, index: int) -> TensorDict:
        anchor = [index % len(self.labels)]

        def draw() -> tuple[list[int], list]:
            indices = self.draw(anchor[0])
            return indices, [self.dataset.get_crop(i) for i in indices]

        def another_anchor() -> None:
            anchor[0] = self.rng.randrange(len(self.labels))

        (indices, crops), failed = draw_readable(draw, redraw=another_anchor)
        return TensorDict({"images": self.processing(crops),
                           "labels": torch.as_tensor(self.labels[indices], dtype=torch.int64),
                           "load_failures": len(failed), "failed_frames": "\n".join(failed)})
