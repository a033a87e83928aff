"""Batching samples for the trainer: ``LTRLoader`` over ``torch.utils.data.DataLoader``.

One collate function stacks tensors, arrays, TensorDicts and TensorLists along ``stack_dim``
(ATOM stacks along dimension 1: ``(frames, batch, ...)``). Workers are seeded from the loader's
seed and the epoch, so a seeded run repeats and workers draw different samples. Unreadable
frames that the sampler skipped are counted per epoch; past ``max_failure_rate`` of the epoch's
samples the loader stops with an error listing some of them.
"""

from __future__ import annotations

import collections.abc
import functools
import logging

import numpy as np
import torch
from torch.utils.data import DataLoader, get_worker_info

from ltr.data.tensordict import TensorDict
from ltr.data.tensorlist import TensorList

logger = logging.getLogger(__name__)


class TooManyLoadFailures(RuntimeError):
    """More unreadable frames in an epoch than the loader tolerates."""


def _stack(tensors: list, dim: int) -> torch.Tensor:
    """torch.stack; in a loader worker straight into shared memory, where the batch has to go
    anyway to reach the main process: one copy of every batch fewer."""
    first = tensors[0]
    if get_worker_info() is None or first.device.type != "cpu" or not all(
            t.shape == first.shape and t.dtype == first.dtype for t in tensors):
        return torch.stack(tensors, dim)
    shape = list(first.shape)
    shape.insert(dim if dim >= 0 else dim + first.dim() + 1, len(tensors))
    storage = first._typed_storage()._new_shared(first.numel() * len(tensors), device=first.device)
    out = first.new(storage).view(shape)
    return torch.stack(tensors, dim, out=out)


def ltr_collate(batch: list, stack_dim: int = 0):
    """Stack a list of samples: tensors and arrays along ``stack_dim``, numbers into a tensor,
    strings and None into lists; TensorDicts, dicts, TensorLists and sequences field by field."""
    first = batch[0]
    if torch.is_tensor(first):
        return _stack(batch, stack_dim)
    if isinstance(first, np.ndarray):
        if first.dtype.kind in "OSU":
            return list(batch)
        return _stack([torch.from_numpy(np.ascontiguousarray(b)) for b in batch], stack_dim)
    if isinstance(first, (bool, int, float, np.number)):
        return torch.tensor(batch)
    if isinstance(first, str) or first is None:
        return list(batch)
    if isinstance(first, TensorDict):
        return TensorDict({key: ltr_collate([d[key] for d in batch], stack_dim) for key in first})
    if isinstance(first, collections.abc.Mapping):
        return {key: ltr_collate([d[key] for d in batch], stack_dim) for key in first}
    if isinstance(first, TensorList):
        return TensorList(ltr_collate(list(items), stack_dim) for items in zip(*batch))
    if isinstance(first, collections.abc.Sequence):
        return [ltr_collate(list(items), stack_dim) for items in zip(*batch)]
    raise TypeError(f"ltr_collate cannot batch {type(first).__name__}")


def _seed_worker(worker_id: int) -> None:
    info = get_worker_info()
    seed = info.seed % 2**31
    np.random.seed(seed)
    if hasattr(info.dataset, "reseed"):
        info.dataset.reseed(seed)


class LTRLoader(DataLoader):
    """A DataLoader with ltr's collate function, a name, and how often it runs
    (``epoch_interval``: every that many epochs, for validation loaders).

    ``training`` marks the loader whose epochs count as training epochs. With ``seed`` given and
    ``set_epoch`` called, each epoch's samples are fixed by (seed, epoch, number of workers);
    with ``num_workers=0`` the dataset is reseeded in this process."""

    def __init__(self, name: str, dataset, training: bool = True, batch_size: int = 1, shuffle: bool = False,
                 sampler=None, batch_sampler=None, num_workers: int = 0, epoch_interval: int = 1,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, stack_dim: int = 0, seed: int | None = None,
                 max_failure_rate: float = 0.01, persistent_workers: bool = False, prefetch_factor: int | None = None):
        self.seed = seed
        generator = torch.Generator()
        if seed is not None:
            generator.manual_seed(seed)
        extra = {"prefetch_factor": prefetch_factor} if num_workers > 0 and prefetch_factor else {}
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler,
                         batch_sampler=batch_sampler, num_workers=num_workers,
                         collate_fn=functools.partial(ltr_collate, stack_dim=stack_dim), pin_memory=pin_memory,
                         drop_last=drop_last, timeout=timeout, worker_init_fn=worker_init_fn or _seed_worker,
                         generator=generator, persistent_workers=persistent_workers and num_workers > 0, **extra)
        self.name = name
        self.training = training
        self.epoch_interval = epoch_interval
        self.stack_dim = stack_dim
        self.max_failure_rate = max_failure_rate
        self.epoch = 0
        self.load_failures = 0  # in the epoch being iterated

    def set_epoch(self, epoch: int) -> None:
        """Fix the sample stream of ``epoch`` (with a seed) before iterating it."""
        self.epoch = epoch
        if self.seed is not None:
            self.generator.manual_seed(self.seed * 100_003 + epoch)

    def __iter__(self):
        if self.num_workers == 0 and hasattr(self.dataset, "reseed"):
            self.dataset.reseed(int(torch.randint(2**31 - 1, (), generator=self.generator)))
        self.load_failures = 0
        samples = len(self.dataset) if hasattr(self.dataset, "__len__") else 0
        allowed = self.max_failure_rate * samples
        failed_examples: list[str] = []
        for batch in super().__iter__():
            failures = batch.get("load_failures") if isinstance(batch, collections.abc.Mapping) else None
            if failures is not None:
                count = int(failures.sum())
                if count:
                    self.load_failures += count
                    files = [f for text in batch["failed_frames"] for f in text.split("\n") if f]
                    failed_examples += files
                    logger.warning("%s: %d unreadable frame(s) skipped in this batch (%d this epoch): %s",
                                   self.name, count, self.load_failures, ", ".join(files[:3]))
                if samples and self.load_failures > allowed:
                    raise TooManyLoadFailures(
                        f"{self.name}: {self.load_failures} samples of this epoch's {samples} had unreadable "
                        f"frames (more than {self.max_failure_rate:.0%}), e.g. {', '.join(failed_examples[:5])}; "
                        f"check the dataset files")
            yield batch
        if self.load_failures:
            logger.warning("%s: %d unreadable frame(s) skipped this epoch", self.name, self.load_failures)
