"""Drawing training samples: a dataset by weight, a sequence with enough visible frames, and
train and test frames from it; then processing.

An unreadable frame does not stop training at once: the sample is drawn again from another
sequence, with a warning naming the file; every sample carries the number of such redraws in
``load_failures`` (and the files in ``failed_frames``) so that the loader can count them per
epoch and stop when they pass 1% of the epoch's samples (:class:`ltr.data.loader.LTRLoader`).
"""

from __future__ import annotations

import logging
import random
from typing import Callable, TypeVar

import numpy as np
import torch

from ltr.data.image_loader import ImageReadError
from ltr.data.tensordict import TensorDict

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_REDRAWS = 100  # unreadable samples in a row before the sampler gives up


def draw_readable(draw: Callable[[], T], *, redraw: Callable[[], None] | None = None) -> tuple[T, list[str]]:
    """``draw()`` until its frames read: a sample with an unreadable frame is logged and another
    drawn (``redraw()`` first, e.g. to pick another anchor); after :data:`MAX_REDRAWS` failures
    in a row, a RuntimeError naming the last file. Returns the sample and the unreadable paths."""
    failed: list[str] = []
    while True:
        try:
            return draw(), failed
        except ImageReadError as error:
            failed.append(error.path)
            logger.warning("skipping an unreadable frame, drawing another sample: %s", error)
            if len(failed) >= MAX_REDRAWS:
                raise RuntimeError(f"{len(failed)} samples in a row had unreadable frames, the last "
                                   f"{failed[-1]}: check the dataset files") from error
            if redraw is not None:
                redraw()


def no_processing(data: TensorDict) -> TensorDict:
    return data


class TrackingSampler(torch.utils.data.Dataset):
    """Samples of ``num_train_frames`` train and ``num_test_frames`` test frames.

    ``datasets`` are drawn with probabilities proportional to ``p_datasets`` (equal when None).
    Video sequences qualify when they have at least 20 frames and more than
    2 * (num_train_frames + num_test_frames) visible ones; image datasets (one-frame sequences)
    always do, and repeat their frame. Frame modes: ``'causal'`` takes a visible base frame,
    train frames among the ``max_gap`` frames before it and test frames among the ``max_gap``
    after; ``'interval'`` takes train and test frames within ``max_gap`` of the base. When no
    visible frame lies in range, the gap widens by 5 and the draw is repeated.

    ``lazy_frames`` hands frames to processing as :class:`LazyFrame` objects so it can decode
    them at a reduced size. Each worker reseeds the sampler (see ``reseed``), so workers draw
    different samples and a seeded run repeats."""

    def __init__(self, datasets, p_datasets, samples_per_epoch: int, max_gap: int, num_test_frames: int,
                 num_train_frames: int = 1, processing=no_processing, frame_sample_mode: str = "causal",
                 *, lazy_frames: bool = True, seed: int = 0):
        if not datasets:
            raise ValueError("the sampler needs at least one dataset")
        if frame_sample_mode not in ("causal", "interval"):
            raise ValueError(f"frame_sample_mode must be 'causal' or 'interval', got {frame_sample_mode!r}")
        weights = [1.0] * len(datasets) if p_datasets is None else [float(p) for p in p_datasets]
        if len(weights) != len(datasets) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"p_datasets {p_datasets} must hold one non-negative weight per dataset")
        # An empty dataset would fail only inside a loader worker (randrange of an empty range).
        empty = [d.get_name() for d, w in zip(datasets, weights) if w > 0 and d.get_num_sequences() == 0]
        if empty:
            raise ValueError(f"the sampler's dataset(s) {', '.join(empty)} have no sequences: check their sequence "
                             f"lists (e.g. GOT-10k's list.txt) with ltr.dataset.check_datasets, or give them weight 0")
        self.datasets = list(datasets)
        self.p_datasets = [w / sum(weights) for w in weights]
        self.samples_per_epoch = int(samples_per_epoch)
        self.max_gap = int(max_gap)
        self.num_test_frames = int(num_test_frames)
        self.num_train_frames = int(num_train_frames)
        self.processing = processing
        self.frame_sample_mode = frame_sample_mode
        self.lazy_frames = lazy_frames
        self.rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Restart the random streams of the sampler and its processing."""
        self.rng.seed(seed)
        if hasattr(self.processing, "reseed"):
            self.processing.reseed(seed + 1)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _visible_ids(self, visible: torch.Tensor, count: int, low: int | None = None,
                     high: int | None = None) -> list[int] | None:
        """``count`` ids (with repetition) of visible frames in [low, high), or None."""
        if count == 0:
            return []
        low = max(0, 0 if low is None else low)
        high = min(len(visible), len(visible) if high is None else high)
        # One vectorised pass: indexing a tensor element by element costs microseconds each.
        candidates = (np.flatnonzero(np.asarray(visible[low:high], dtype=np.bool_)) + low).tolist()
        if not candidates:
            return None
        return self.rng.choices(candidates, k=count)

    def _pick_sequence(self, dataset) -> tuple[int, dict]:
        is_video = dataset.is_video_sequence()
        needed = 2 * (self.num_test_frames + self.num_train_frames)
        for _ in range(1000):
            seq_id = self.rng.randrange(dataset.get_num_sequences())
            info = dataset.get_sequence_info(seq_id)
            visible = info["visible"]
            if not is_video or (int(visible.sum()) > needed and len(visible) >= 20):
                return seq_id, info
        raise RuntimeError(f"{dataset.get_name()}: no sequence with at least 20 frames and more than {needed} "
                           f"visible ones in 1000 draws; check its annotations or lower the frame counts")

    def _pick_frames(self, visible: torch.Tensor) -> tuple[list[int], list[int]]:
        gap_increase = 0
        while True:
            if self.frame_sample_mode == "causal":
                base = self._visible_ids(visible, 1, self.num_train_frames - 1, len(visible) - self.num_test_frames)
                if base is None:
                    raise RuntimeError("no visible base frame")  # excluded by _pick_sequence
                before = self._visible_ids(visible, self.num_train_frames - 1,
                                           base[0] - self.max_gap - gap_increase, base[0])
                if before is not None:
                    train = base + before
                    test = self._visible_ids(visible, self.num_test_frames, train[0] + 1,
                                             train[0] + self.max_gap + gap_increase + 1)
                    if test is not None:
                        return train, test
            else:
                base = self._visible_ids(visible, 1)
                low, high = base[0] - self.max_gap - gap_increase, base[0] + self.max_gap + gap_increase + 1
                extra = self._visible_ids(visible, self.num_train_frames - 1, low, high)
                test = self._visible_ids(visible, self.num_test_frames, low, high)
                if extra is not None and test is not None:
                    return base + extra, test
            gap_increase += 5

    def _draw(self) -> TensorDict:
        dataset = self.rng.choices(self.datasets, self.p_datasets)[0]
        seq_id, info = self._pick_sequence(dataset)
        if dataset.is_video_sequence():
            train_ids, test_ids = self._pick_frames(info["visible"])
        else:
            train_ids, test_ids = [0] * self.num_train_frames, [0] * self.num_test_frames
        all_frames, all_anno, meta = dataset.get_frames(seq_id, train_ids + test_ids, info, lazy=self.lazy_frames)
        split = len(train_ids)
        data = TensorDict({
            "train_images": all_frames[:split],
            "train_anno": all_anno["bbox"][:split],
            "test_images": all_frames[split:],
            "test_anno": all_anno["bbox"][split:],
            "dataset": dataset.get_name(),
            "test_class": meta.get("object_class_name"),
        })
        return self.processing(data)

    def __getitem__(self, index: int) -> TensorDict:
        data, failed = draw_readable(self._draw)
        data["load_failures"] = len(failed)
        data["failed_frames"] = "\n".join(failed)
        return data


class ATOMSampler(TrackingSampler):
    """The sampler of ATOM's training: one train and one test frame within ``max_gap`` of each
    other ('interval' mode)."""

    def __init__(self, datasets, p_datasets, samples_per_epoch: int, max_gap: int, num_test_frames: int = 1,
                 num_train_frames: int = 1, processing=no_processing, frame_sample_mode: str = "interval",
                 **kwargs):
        super().__init__(datasets, p_datasets, samples_per_epoch, max_gap, num_test_frames, num_train_frames,
                         processing, frame_sample_mode, **kwargs)
