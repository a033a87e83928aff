"""TrackingNet's training sets:

    TRAIN_<k>/anno/<sequence>.txt       x,y,w,h per frame
    TRAIN_<k>/frames/<sequence>/0.jpg   frames, 0-based on disk
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
from ltr.data.box_files import read_boxes
from ltr.dataset.base_video_dataset import BaseVideoDataset, LRUCache, empty_meta, group_by_class, subsample
from ltr.dataset.check import missing_file, missing_folder

logger = logging.getLogger(__name__)

CLASS_MAP_FILE = Path(__file__).resolve().parents[1] / "data_specs" / "trackingnet_classmap.txt"
NUM_SETS = 12


def read_class_map(path: str | Path = CLASS_MAP_FILE) -> dict[str, str]:
    """Sequence name to object class, from ``<sequence>\\t<class>`` lines."""
    path = Path(path)
    classes = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        name, tab, class_name = line.strip().partition("\t")
        if not tab or not class_name.strip():
            raise ValueError(f"{path}, line {number}: expected '<sequence>\\t<class>', got {line!r}")
        classes[name.strip()] = class_name.strip()
    return classes


class TrackingNet(BaseVideoDataset):
    """TrackingNet training sequences.

    Args:
        root: the folder holding ``TRAIN_0`` ... ``TRAIN_11``; None: ``env_settings().trackingnet_dir``.
        image_loader: reads a frame file into an RGB uint8 array.
        set_ids: which ``TRAIN_<k>`` sets to use (each must be there); None: those in root.
        data_fraction: keep this random fraction of the sequences (reproducible).

    ``sequence_list`` holds ``(set_id, sequence_name)`` pairs. ``get_sequence_info`` gives
    ``bbox``, ``valid`` and ``visible`` (= valid)."""

    env_field = "trackingnet_dir"

    def __init__(self, root: str | None = None, image_loader: Callable[[str], np.ndarray] = imread,
                 set_ids: Sequence[int] | None = None, data_fraction: float | None = None):
        root = str(resolve_dataset_root(root, self.env_field, "trackingnet"))
        super().__init__("trackingnet", root, image_loader)
        if set_ids is None:
            set_ids = [k for k in range(NUM_SETS) if (Path(root) / f"TRAIN_{k}").is_dir()]
            if not set_ids:
                raise FileNotFoundError(f"{root} holds none of TRAIN_0 .. TRAIN_{NUM_SETS - 1}: the TrackingNet "
                                        f"root must be the folder holding them; set {self.env_field} or pass root")
        self.set_ids = [int(k) for k in set_ids]
        sequences = []
        for k in self.set_ids:
            anno = Path(root) / f"TRAIN_{k}" / "anno"
            if not anno.is_dir():
                raise FileNotFoundError(f"TrackingNet set TRAIN_{k} was asked for but {anno} is missing: "
                                        f"download and extract it, or leave it out of set_ids")
            sequences += [(k, f.stem) for f in sorted(anno.iterdir()) if f.suffix == ".txt"]
        self.sequence_list = subsample(sequences, data_fraction, self.name)
        class_map = read_class_map()
        self._classes = [class_map.get(name) for _, name in self.sequence_list]
        missing = sum(c is None for c in self._classes)
        if missing:
            logger.info("%s: %d of %d sequences are not in %s and have no class", self.name, missing,
                        len(self.sequence_list), CLASS_MAP_FILE)
        self._seq_per_class = group_by_class(self._classes)
        self.class_list = sorted(self._seq_per_class)
        self._info_cache = LRUCache()
        logger.info("%s: %d sequences in sets %s of %s", self.name, len(self.sequence_list), self.set_ids, root)

    def has_class_info(self) -> bool:
        return True

    def get_sequence_name(self, seq_id: int) -> str:
        self._check_seq_id(seq_id)
        set_id, name = self.sequence_list[seq_id]
        return f"TRAIN_{set_id}/{name}"

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        if class_name not in self._seq_per_class:
            raise KeyError(f"{self.name} has no sequence of class {class_name!r}")
        return list(self._seq_per_class[class_name])

    def verify_sequence(self, seq_id: int) -> list[str]:
        self._check_seq_id(seq_id)
        set_id, name = self.sequence_list[seq_id]
        base = Path(self.root) / f"TRAIN_{set_id}"
        prefix = f"{self.name}: sequence TRAIN_{set_id}/{name}"
        problems = []
        if missing_file(base / "anno" / f"{name}.txt"):
            problems.append(f"{prefix}: {base / 'anno' / f'{name}.txt'} is missing")
        frames = base / "frames" / name
        if missing_folder(frames):
            problems.append(f"{prefix} has no frames folder {frames} (extract TRAIN_{set_id}'s frames)")
        elif missing_file(frames / "0.jpg"):
            problems.append(f"{prefix}: {frames / '0.jpg'} is missing")
        return problems

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        info = self._info_cache.get(seq_id, lambda: self._read_sequence_info(seq_id))
        return {key: value.clone() for key, value in info.items()}

    def _read_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        self._check_seq_id(seq_id)
        set_id, name = self.sequence_list[seq_id]
        bbox = torch.from_numpy(read_boxes(Path(self.root) / f"TRAIN_{set_id}" / "anno" / f"{name}.txt",
                                           skip_blank=False, dtype=np.float32))
        valid = box_is_valid(bbox)
        return {"bbox": bbox, "valid": valid, "visible": valid.clone()}

    def frame_path(self, seq_id: int, frame_id: int) -> str:
        self._check_seq_id(seq_id)
        set_id, name = self.sequence_list[seq_id]
        return str(Path(self.root) / f"TRAIN_{set_id}" / "frames" / name / f"{frame_id}.jpg")

    def get_meta_info(self, seq_id: int) -> dict[str, Any]:
        self._check_seq_id(seq_id)
        meta = empty_meta()
        meta["object_class_name"] = self._classes[seq_id]
        return meta
