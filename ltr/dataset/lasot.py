"""LaSOT:

    <class>/<class>-<n>/
        img/00000001.jpg ...          frames, 1-based on disk
        groundtruth.txt               x,y,w,h per frame
        full_occlusion.txt            one line of comma-separated 0/1
        out_of_view.txt               one line of comma-separated 0/1
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from admin.environment import resolve_dataset_root
from ltr.data.image_loader import imread
from ltr.data.boxes import box_is_valid
from ltr.data.box_files import read_boxes, read_labels
from ltr.dataset.base_video_dataset import (BaseVideoDataset, LRUCache, check_lengths, empty_meta, group_by_class,
                                            subsample)
from ltr.dataset.check import missing_folder, verify_files

logger = logging.getLogger(__name__)

DATA_SPECS_DIR = Path(__file__).resolve().parents[1] / "data_specs"
SPLIT_FILES = {"train": "lasot_train_split.txt"}
# What a sequence folder must hold for training.
SEQUENCE_FILES = ("groundtruth.txt", "full_occlusion.txt", "out_of_view.txt", "img/00000001.jpg")


def sequence_class(name: str) -> str:
    """The class of a LaSOT sequence name: ``'airplane-10'`` -> ``'airplane'``."""
    return name.rsplit("-", 1)[0]


class Lasot(BaseVideoDataset):
    """LaSOT sequences.

    Args:
        root: the LaSOT folder holding one folder per class; None: ``env_settings().lasot_dir``.
        image_loader: reads a frame file into an RGB uint8 array.
        vid_ids: sequence numbers: for every class folder, the sequences ``<class>-<id>``.
        split: ``'train'``: the 1,120 training sequences of ``ltr/data_specs/lasot_train_split.txt``.
        data_fraction: keep this random fraction of the sequences (reproducible).

    One of ``split`` and ``vid_ids`` is needed (LaSOT's folder also holds its test sequences).
    ``get_sequence_info`` gives ``bbox``, ``valid`` and ``visible`` (neither fully occluded nor
    out of view, and valid)."""

    env_field = "lasot_dir"

    def __init__(self, root: str | None = None, image_loader: Callable[[str], np.ndarray] = imread,
                 vid_ids: Sequence[int] | None = None, split: str | None = None,
                 data_fraction: float | None = None):
        root = str(resolve_dataset_root(root, self.env_field, "lasot"))
        super().__init__("lasot", root, image_loader)
        sequences = self._build_sequence_list(vid_ids, split)
        self.sequence_list = subsample(sequences, data_fraction, self.name)
        self._seq_per_class = group_by_class([sequence_class(s) for s in self.sequence_list])
        self.class_list = sorted(self._seq_per_class)
        self._info_cache = LRUCache()
        logger.info("%s: %d sequences of %d classes in %s", self.name, len(self.sequence_list),
                    len(self.class_list), root)

    def _build_sequence_list(self, vid_ids: Sequence[int] | None, split: str | None) -> list[str]:
        if split is not None:
            if vid_ids is not None:
                raise ValueError("Lasot: pass either split or vid_ids, not both")
            if split not in SPLIT_FILES:
                raise ValueError(f"unknown LaSOT split {split!r}: use one of {', '.join(SPLIT_FILES)}")
            path = DATA_SPECS_DIR / SPLIT_FILES[split]
            return [line.strip() for line in path.read_text().splitlines() if line.strip()]
        if vid_ids is None:
            raise ValueError("Lasot: pass split='train' or vid_ids (LaSOT's folder also holds its test sequences)")
        classes = sorted(entry.name for entry in Path(self.root).iterdir() if entry.is_dir())
        if not classes:
            raise FileNotFoundError(f"{self.root} holds no class folders: the LaSOT root must hold "
                                    f"<class>/<class>-<n>/; set {self.env_field} or pass root")
        return [f"{c}-{int(v)}" for c in classes for v in vid_ids]

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        if class_name not in self._seq_per_class:
            raise KeyError(f"{self.name} has no sequence of class {class_name!r}")
        return list(self._seq_per_class[class_name])

    def _sequence_path(self, seq_id: int) -> Path:
        self._check_seq_id(seq_id)
        name = self.sequence_list[seq_id]
        return Path(self.root) / sequence_class(name) / name

    def verify_sequence(self, seq_id: int) -> list[str]:
        path = self._sequence_path(seq_id)
        name = self.sequence_list[seq_id]
        if missing_folder(path):
            return [f"{self.name}: sequence {name} has no folder {path} (the dataset is incomplete, or the "
                    f"sequence is not part of it)"]
        return verify_files(f"{self.name}: sequence {name}", path, SEQUENCE_FILES)

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        info = self._info_cache.get(seq_id, lambda: self._read_sequence_info(seq_id))
        return {key: value.clone() for key, value in info.items()}

    def _read_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        path = self._sequence_path(seq_id)
        if not path.is_dir():
            raise FileNotFoundError(f"LaSOT sequence {self.sequence_list[seq_id]} has no folder {path}: "
                                    f"the dataset is incomplete, or the sequence is not part of it")
        boxes = read_boxes(path / "groundtruth.txt", skip_blank=False, dtype=np.float32)
        occlusion = read_labels(path / "full_occlusion.txt", (0, 1))
        out_of_view = read_labels(path / "out_of_view.txt", (0, 1))
        check_lengths(str(path), boxes, {str(path / "full_occlusion.txt"): occlusion,
                                         str(path / "out_of_view.txt"): out_of_view},
                      boxes_file=str(path / "groundtruth.txt"))
        bbox = torch.from_numpy(boxes)
        valid = box_is_valid(bbox)
        visible = (torch.from_numpy(occlusion) == 0) & (torch.from_numpy(out_of_view) == 0) & valid
        return {"bbox": bbox, "valid": valid, "visible": visible}

    def frame_path(self, seq_id: int, frame_id: int) -> str:
        return str(self._sequence_path(seq_id) / "img" / f"{frame_id + 1:08d}.jpg")

    def get_meta_info(self, seq_id: int) -> dict[str, Any]:
        meta = empty_meta()
        meta["object_class_name"] = sequence_class(self._sequence_path(seq_id).name)
        return meta
