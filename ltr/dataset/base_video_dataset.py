"""The interface every training video dataset offers the samplers, and the helpers the dataset
modules share: checking label lengths, a small per-sequence cache, and reproducible subsampling.
Roots are resolved by :func:`admin.environment.resolve_dataset_root`; annotation and label files
are read by :mod:`ltr.data.box_files`.

A dataset is a list of sequences; a sequence has N frames (0-based ids) and per-frame
annotations, as returned by :meth:`BaseVideoDataset.get_sequence_info`:

- ``'bbox'``: float32 ``(N, 4)``, ``[x, y, w, h]`` in pixels, top-left corner;
- ``'valid'``: bool ``(N,)``, the box is usable: finite, ``w > 0`` and ``h > 0``;
- ``'visible'``: bool ``(N,)``, the target can be seen (dataset-specific), and valid;
- optionally ``'visible_ratio'``: float32 ``(N,)``, where the dataset has it.
"""

from __future__ import annotations

import collections
import logging
import random
from pathlib import Path
from typing import Any, Callable, Hashable, Sequence

import numpy as np
import torch

from ltr.data.box_files import BoxFileError
from ltr.data.image_loader import LazyFrame, imread
from ltr.dataset.check import check_datasets, missing_folder

logger = logging.getLogger(__name__)

META_KEYS = ("object_class_name", "motion_class", "major_class", "root_class", "motion_adverb")


def empty_meta() -> dict[str, Any]:
    """Meta information with every key unknown."""
    return dict.fromkeys(META_KEYS)


def check_lengths(sequence: str, boxes: np.ndarray, labels: dict[str, np.ndarray], *,
                  boxes_file: str = "groundtruth.txt") -> None:
    """Every label file of ``sequence`` has one value per box, or BoxFileError names the file that
    is out of step and by how many lines.

    The files vote: the one whose length differs from all the others (a short ``groundtruth.txt``
    beside two label files that agree) is named as short or long; with no such file, every
    length is given."""
    counts = {boxes_file: len(boxes), **{name: len(values) for name, values in labels.items()}}
    if len(set(counts.values())) <= 1:
        return

    def amount(name: str, count: int) -> str:
        return f"{count} {'boxes' if name == boxes_file else 'labels'}"

    def short(name: str) -> str:
        # Files inside the sequence folder by their own name: the folder is named once.
        return Path(name).name if Path(name).parent == Path(sequence) else name

    votes = collections.Counter(counts.values())
    (majority, support), *rest = votes.most_common()
    odd = [name for name, count in counts.items() if count != majority]
    if support > 1 and len(odd) == 1 and (not rest or rest[0][1] < support):
        name = odd[0]
        count = counts[name]
        others = " and ".join(short(n) for n in counts if n != name)
        side = "short" if count < majority else "long"
        lines = abs(count - majority)
        raise BoxFileError(
            f"sequence {sequence}: {short(name)} is {side} by {lines} line{'s' if lines != 1 else ''} "
            f"({amount(name, count)} where {others} have {majority}); fix or replace {short(name)}")
    listing = ", ".join(f"{short(name)} has {amount(name, count)}" for name, count in counts.items())
    raise BoxFileError(f"sequence {sequence}: its files disagree on the number of frames ({listing}); "
                       f"fix or replace the wrong one")


def subsample(items: Sequence, data_fraction: float | None, what: str) -> list:
    """A reproducible random fraction of ``items`` (``random.Random(0)``), in their order."""
    items = list(items)
    if data_fraction is None:
        return items
    if not 0 < data_fraction <= 1:
        raise ValueError(f"data_fraction must be in (0, 1], got {data_fraction} for {what}")
    count = max(1, int(len(items) * data_fraction)) if items else 0
    keep = sorted(random.Random(0).sample(range(len(items)), count))
    logger.info("%s: keeping %d of %d sequences (data_fraction %g)", what, count, len(items), data_fraction)
    return [items[i] for i in keep]


class LRUCache:
    """A small least-recently-used cache (plain data, so datasets still pickle for workers)."""

    def __init__(self, maxsize: int = 256):
        self.maxsize = maxsize
        self._items: collections.OrderedDict = collections.OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = compute()
        self._items[key] = value
        if len(self._items) > self.maxsize:
            self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


def group_by_class(classes: Sequence[str | None]) -> dict[str, list[int]]:
    """Sequence ids of each class name (sequences without a class are left out)."""
    groups: dict[str, list[int]] = {}
    for seq_id, name in enumerate(classes):
        if name is not None:
            groups.setdefault(name, []).append(seq_id)
    return groups


class BaseVideoDataset(torch.utils.data.Dataset):
    """A training dataset of videos: sequences of frames with one annotated target each.

    Subclasses set ``sequence_list`` (one entry per sequence) and implement
    :meth:`get_sequence_info`, :meth:`frame_path` and, where they know it,
    :meth:`get_meta_info`; :meth:`get_frames` is shared."""

    def __init__(self, name: str, root: str, image_loader: Callable[[str], np.ndarray] = imread):
        self.name = name
        self.root = root
        self.image_loader = image_loader
        self.sequence_list: list = []
        self.class_list: list[str] = []

    def __len__(self) -> int:
        return self.get_num_sequences()

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} is read through a sampler: use "
                                  f"get_sequence_info() and get_frames()")

    def is_video_sequence(self) -> bool:
        """True: sequences are videos (False for datasets of single images, such as COCO)."""
        return True

    def is_synthetic_video_dataset(self) -> bool:
        return False

    def get_name(self) -> str:
        return self.name

    def get_num_sequences(self) -> int:
        return len(self.sequence_list)

    def get_sequence_name(self, seq_id: int) -> str:
        """A readable name of the sequence, for messages."""
        self._check_seq_id(seq_id)
        entry = self.sequence_list[seq_id]
        return entry if isinstance(entry, str) else str(entry)

    def has_class_info(self) -> bool:
        return False

    def has_occlusion_info(self) -> bool:
        return False

    def has_segmentation_info(self) -> bool:
        return False

    def get_num_classes(self) -> int:
        return len(self.get_class_list())

    def get_class_list(self) -> list[str]:
        return list(self.class_list)

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        raise NotImplementedError(f"{type(self).__name__} has no class information")

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """``'bbox'`` float32 (N, 4) x,y,w,h; ``'valid'`` and ``'visible'`` bool (N,); maybe more."""
        raise NotImplementedError

    def frame_path(self, seq_id: int, frame_id: int) -> str:
        """The file of frame ``frame_id`` (0-based) of sequence ``seq_id``."""
        raise NotImplementedError

    def get_meta_info(self, seq_id: int) -> dict[str, Any]:
        """``object_class_name``, ``motion_class``, ``major_class``, ``root_class``,
        ``motion_adverb``; None where unknown."""
        self._check_seq_id(seq_id)
        return empty_meta()

    def get_frames(self, seq_id: int, frame_ids: Sequence[int], anno: dict[str, torch.Tensor] | None = None,
                   *, lazy: bool = False) -> tuple[list, dict[str, list[torch.Tensor]], dict[str, Any]]:
        """The frames ``frame_ids`` of a sequence, their annotations and the sequence's meta info.

        Frames are RGB uint8 ``(H, W, 3)`` arrays, or :class:`LazyFrame` objects when ``lazy``.
        ``anno`` (default: :meth:`get_sequence_info`) maps each key to a list of per-frame values.
        For datasets of single images every frame id reads the one image (pytracking's samplers
        pass 1 there)."""
        self._check_seq_id(seq_id)
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        frame_ids = [int(f) for f in frame_ids]
        if not self.is_video_sequence():
            frame_ids = [0] * len(frame_ids)
        elif anno:
            length = len(next(iter(anno.values())))
            wrong = [f for f in frame_ids if not 0 <= f < length]
            if wrong:
                raise IndexError(f"{self.get_name()}: frame ids {wrong} are outside sequence "
                                 f"{self.get_sequence_name(seq_id)}, which has {length} frames")
        paths = [self.frame_path(seq_id, f) for f in frame_ids]
        if lazy:
            frames = [LazyFrame(path, self.image_loader) for path in paths]
        else:
            frames = [self.image_loader(path) for path in paths]
        anno_frames = {key: [value[f].clone() if torch.is_tensor(value) else value[f] for f in frame_ids]
                       for key, value in anno.items()}
        return frames, anno_frames, self.get_meta_info(seq_id)

    def verify_tree(self) -> list[str]:
        """The problems of the dataset's files on disk, one line each (empty: none), cheaply:
        existence checks only, no image decoded and no annotation parsed. Every listed sequence
        is checked (:meth:`verify_sequence`); a dataset without sequences is a problem too."""
        if self.get_num_sequences() == 0:
            return [f"{self.name}: no sequences in {self.root}"]
        problems: list[str] = []
        for seq_id in range(self.get_num_sequences()):
            problems += self.verify_sequence(seq_id)
        return problems

    def verify_sequence(self, seq_id: int) -> list[str]:
        """The problems of one sequence; here: the folder of its first frame is missing.
        Datasets override it to check their annotation files as well."""
        folder = Path(self.frame_path(seq_id, 0)).parent
        if missing_folder(folder):
            return [f"{self.name}: sequence {self.get_sequence_name(seq_id)} has no folder {folder}"]
        return []

    def check(self) -> None:
        """Raise :class:`ltr.dataset.check.DatasetCheckError` listing every problem of
        :meth:`verify_tree`; nothing when the tree is complete."""
        check_datasets([self])

    def _check_seq_id(self, seq_id: int) -> None:
        if not 0 <= seq_id < len(self.sequence_list):
            raise IndexError(f"{self.name}: sequence id {seq_id} is outside 0..{len(self.sequence_list) - 1}")
