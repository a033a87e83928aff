"""GOT-10k's training set (its ``train/`` folder):

    list.txt                          sequence folder names, one per line
    GOT-10k_Train_000001/
        00000001.jpg ...              frames, 1-based on disk
        groundtruth.txt               x,y,w,h per frame
        absence.label                 1 where the target is absent
        cover.label                   visible-ratio level 0..8 per frame
        meta_info.ini                 object and motion classes
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from admin.environment import EnvironmentPathError, resolve_dataset_root, where_to_set
from ltr.data.image_loader import imread
from ltr.data.boxes import box_is_valid
from ltr.data.box_files import read_boxes, read_labels
from ltr.dataset.base_video_dataset import (BaseVideoDataset, LRUCache, check_lengths, empty_meta, group_by_class,
                                            subsample)
from ltr.dataset.check import missing_folder, verify_files

logger = logging.getLogger(__name__)

DATA_SPECS_DIR = Path(__file__).resolve().parents[1] / "data_specs"
# Indices (0-based, into list.txt of the full 9,335-sequence GOT-10k train set) of each split.
SPLIT_FILES = {
    "train": "got10k_train_split.txt",
    "val": "got10k_val_split.txt",
    "vottrain": "got10k_vot_train_split.txt",
    "votval": "got10k_vot_val_split.txt",
}
# What a sequence folder must hold for training (meta_info.ini is optional: classes only).
SEQUENCE_FILES = ("groundtruth.txt", "absence.label", "cover.label", "00000001.jpg")
_META_FIELDS = {"object_class": "object_class_name", "motion_class": "motion_class", "major_class": "major_class",
                "root_class": "root_class", "motion_adverb": "motion_adverb"}


def read_split_indices(split: str) -> list[int]:
    """The sequence indices of a named split, from ``ltr/data_specs``."""
    if split not in SPLIT_FILES:
        raise ValueError(f"unknown GOT-10k split {split!r}: use one of {', '.join(SPLIT_FILES)}")
    path = DATA_SPECS_DIR / SPLIT_FILES[split]
    indices = []
    for number, line in enumerate(path.read_text().split("\n"), 1):
        if line.strip():
            try:
                indices.append(int(line))
            except ValueError:
                raise ValueError(f"{path}, line {number}: {line!r} is not a sequence index") from None
    return indices


def got10k_visible(absence: np.ndarray, cover: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """GOT-10k's one visibility rule, for training and evaluation: ``(N,)`` bool, the target is
    visible where it is not absent, its visible-ratio level ``cover`` (0..8) is above 0, and its
    box is valid (finite, positive size).

    The official toolkit scores the frames with ``cover > 0``; in GOT-10k's labels ``absence`` is 1
    exactly where ``cover`` is 0, so the rule agrees with it there, and where a file's two labels
    disagree the frame counts as not visible. A frame without a valid box cannot be scored either."""
    valid = box_is_valid(torch.as_tensor(np.asarray(boxes))).numpy()
    return (np.asarray(absence) == 0) & (np.asarray(cover) > 0) & valid


def read_visibility(folder: str | os.PathLike, boxes: np.ndarray, *, field: str | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The ``(N,)`` bool visibility (:func:`got10k_visible`) and ``(N,)`` int64 cover levels of the
    GOT-10k sequence ``folder`` whose ground truth is ``boxes`` (``absence.label``, ``cover.label``).
    ``field`` is the dataset's environment field, named when a file is missing."""
    folder = Path(folder)
    absence = read_labels(folder / "absence.label", (0, 1), field=field)
    cover = read_labels(folder / "cover.label", range(9), field=field)
    check_lengths(str(folder), boxes, {str(folder / "absence.label"): absence, str(folder / "cover.label"): cover},
                  boxes_file=str(folder / "groundtruth.txt"))
    return got10k_visible(absence, cover, boxes), cover


def read_meta_info(path: str | os.PathLike) -> dict[str, Any]:
    """The meta information of ``meta_info.ini``, parsed by key; None for missing keys (all of
    them when the file is missing)."""
    meta = empty_meta()
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        logger.debug("%s is missing: the sequence has no meta information", path)
        return meta
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip() in _META_FIELDS:
            meta[_META_FIELDS[key.strip()]] = value.strip() or None
    return meta


class Got10k(BaseVideoDataset):
    """GOT-10k training sequences.

    Args:
        root: GOT-10k's ``train/`` folder, holding ``list.txt``; None: ``env_settings().got10k_dir``.
        image_loader: reads a frame file into an RGB uint8 array.
        split: ``'train'``, ``'val'``, ``'vottrain'`` or ``'votval'``: the published splits of
            the full training set (indices into its ``list.txt``).
        seq_ids: indices into ``list.txt`` of the sequences to use (not with ``split``).
        data_fraction: keep this random fraction of the sequences (reproducible).

    ``get_sequence_info`` gives ``bbox``, ``valid``, ``visible`` (:func:`got10k_visible`: not
    absent, cover > 0, valid) and ``visible_ratio`` (cover / 8)."""

    env_field = "got10k_dir"
    dataset_name = "got10k"

    def __init__(self, root: str | None = None, image_loader: Callable[[str], np.ndarray] = imread,
                 split: str | None = None, seq_ids: Sequence[int] | None = None,
                 data_fraction: float | None = None):
        root = str(resolve_dataset_root(root, self.env_field, self.dataset_name))
        super().__init__(self.dataset_name, root, image_loader)
        all_sequences = self._read_list()
        if split is not None:
            if seq_ids is not None:
                raise ValueError("Got10k: pass either split or seq_ids, not both")
            seq_ids = read_split_indices(split)
            source = f"split {split!r} ({DATA_SPECS_DIR / SPLIT_FILES[split]})"
        else:
            source = "seq_ids"
        if seq_ids is None:
            selected = all_sequences
        else:
            seq_ids = [int(i) for i in seq_ids]
            beyond = [i for i in seq_ids if not 0 <= i < len(all_sequences)]
            if beyond:
                raise ValueError(
                    f"{self.name}: {source} refers to sequence {max(beyond, key=abs)} but "
                    f"{Path(root) / 'list.txt'} has {len(all_sequences)} sequences (indices 0..{len(all_sequences) - 1}); "
                    f"the split files are for the full GOT-10k train set (9,335 sequences): point root at it, "
                    f"or pass seq_ids valid for this list")
            selected = [all_sequences[i] for i in seq_ids]
        self.sequence_list = subsample(selected, data_fraction, self.name)
        self._info_cache = LRUCache()
        self._meta: dict[str, dict[str, Any]] = {}
        self._seq_per_class: dict[str, list[int]] | None = None
        logger.info("%s: %d sequences in %s", self.name, len(self.sequence_list), root)

    def _read_list(self) -> list[str]:
        path = Path(self.root) / "list.txt"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: the {self.name} root must be the folder holding "
                                    f"list.txt (GOT-10k's train/ folder); set {self.env_field} or pass root")
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        if not names:
            # Caught here, in the main process: an empty list would otherwise surface as
            # randrange()'s error in a loader worker.
            raise EnvironmentPathError(
                f"{path} lists no sequences: it must name one sequence folder per line; restore it from the "
                f"dataset (or regenerate the dataset), or point {self.env_field} elsewhere "
                f"({where_to_set(self.env_field)})", field=self.env_field, state="empty")
        return names

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def _sequence_path(self, seq_id: int) -> Path:
        self._check_seq_id(seq_id)
        return Path(self.root) / self.sequence_list[seq_id]

    def _existing_sequence_path(self, seq_id: int) -> Path:
        path = self._sequence_path(seq_id)
        if not path.is_dir():
            raise FileNotFoundError(f"sequence {self.sequence_list[seq_id]} is listed in "
                                    f"{Path(self.root) / 'list.txt'} but its folder {path} is missing")
        return path

    def verify_sequence(self, seq_id: int) -> list[str]:
        path = self._sequence_path(seq_id)
        name = self.sequence_list[seq_id]
        if missing_folder(path):
            return [f"{self.name}: sequence {name} is listed in {Path(self.root) / 'list.txt'} but has no folder {path}"]
        return verify_files(f"{self.name}: sequence {name}", path, SEQUENCE_FILES)

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        info = self._info_cache.get(seq_id, lambda: self._read_sequence_info(seq_id))
        return {key: value.clone() for key, value in info.items()}

    def _read_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        path = self._existing_sequence_path(seq_id)
        boxes = read_boxes(path / "groundtruth.txt", skip_blank=False, dtype=np.float32)
        visible, cover = read_visibility(path, boxes)
        bbox = torch.from_numpy(boxes)
        return {"bbox": bbox, "valid": box_is_valid(bbox), "visible": torch.from_numpy(visible),
                "visible_ratio": torch.from_numpy(cover).float() / 8}

    def frame_path(self, seq_id: int, frame_id: int) -> str:
        return str(self._sequence_path(seq_id) / f"{frame_id + 1:08d}.jpg")

    def get_meta_info(self, seq_id: int) -> dict[str, Any]:
        name = self._sequence_path(seq_id).name
        if name not in self._meta:
            self._meta[name] = read_meta_info(self._existing_sequence_path(seq_id) / "meta_info.ini")
        return dict(self._meta[name])

    def _class_index(self) -> dict[str, list[int]]:
        if self._seq_per_class is None:
            if len(self.sequence_list) > 1000:
                logger.info("%s: reading the meta information of %d sequences", self.name, len(self.sequence_list))
            classes = [self.get_meta_info(i)["object_class_name"] for i in range(len(self.sequence_list))]
            self._seq_per_class = group_by_class(classes)
            self.class_list = sorted(self._seq_per_class)
        return self._seq_per_class

    def get_class_list(self) -> list[str]:
        self._class_index()
        return list(self.class_list)

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        index = self._class_index()
        if class_name not in index:
            raise KeyError(f"{self.name} has no sequence of class {class_name!r}")
        return list(index[class_name])
