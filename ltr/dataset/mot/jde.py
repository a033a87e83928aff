"""FairMOT/JDE training lists.

A data config JSON names the lists: ``{"root": ..., "train": {name: list file}, "test_emb": {...},
"test": {...}}``. A list file holds image paths relative to the data root, one per line; an
image's labels are the file at the same path with ``images`` replaced by ``labels_with_ids`` and
the extension by ``.txt``, one line per object ``class id cx/W cy/H w/W h/H`` (identity -1:
unknown; no file: no objects). When several datasets are mixed, FairMOT's ``JointDataset`` counts
each dataset's identities as its largest identity + 1, in config order, and offsets the known
identities of each dataset by the counts of those before it; this reader does the same.

Differences from FairMOT, on purpose: the ``images`` -> ``labels_with_ids`` replacement is made
on the listed (relative) path only, not on the root too; relative list-file paths in the config
are taken from the config file's folder.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np

from admin.environment import resolve_dataset_root
from ltr.data.box_files import BoxFileError, read_jde_labels, read_text
from ltr.data.boxes import cxcywh_to_xywh
from ltr.data.image_loader import imread
from ltr.dataset.check import check_datasets, missing_file

logger = logging.getLogger(__name__)

SECTIONS = ("train", "test_emb", "test")


def label_path_for(image: str) -> str:
    """The label file of a listed image path: ``images`` -> ``labels_with_ids``, ``.png``/``.jpg`` -> ``.txt``."""
    parts = ["labels_with_ids" if part == "images" else part for part in PurePosixPath(image).parts]
    path = PurePosixPath(*parts)
    return str(path.with_suffix(".txt")) if path.suffix in (".jpg", ".png") else str(path)


def read_data_config(path: str | os.PathLike) -> dict:
    """The data config JSON at ``path``; BoxFileError names the file when it is not one."""
    path = Path(path)
    text = read_text(path, what="FairMOT data config")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise BoxFileError(f"{path}, line {error.lineno}: not JSON ({error.msg}); fix the file") from None
    if not isinstance(config, dict) or not isinstance(config.get("train"), dict):
        raise BoxFileError(f"{path}: expected an object with 'root' and 'train': {{name: list file}}; fix the file")
    return config


def read_image_list(path: str | os.PathLike) -> list[str]:
    """The image paths of a list file, one per line (blank lines skipped)."""
    text = read_text(path, what="FairMOT image list")
    return [line.strip() for line in text.splitlines() if line.strip()]


class JdeDataset:
    """The images and labels of one section (``'train'``, ``'test_emb'`` or ``'test'``) of a
    FairMOT data config, several datasets mixed with their identities offset.

    Args:
        config: the data config JSON file.
        root: the data root; None: the config's ``root``, else the ``jde_root`` field.
    """

    env_field = "jde_root"

    def __init__(self, config: str | os.PathLike, root: str | os.PathLike | None = None, section: str = "train", *,
                 image_loader: Callable[[str], np.ndarray] = imread):
        if section not in SECTIONS:
            raise ValueError(f"unknown section {section!r}: use one of {', '.join(SECTIONS)}")
        self.config_file = Path(config)
        data = read_data_config(self.config_file)
        self.root = resolve_dataset_root(root if root is not None else data.get("root") or None, self.env_field,
                                         "FairMOT/JDE data")
        lists = data.get(section) or {}
        self.name = f"jde_{section}"
        self.image_loader = image_loader
        self.images: list[tuple[str, str]] = []   # (dataset name, listed path)
        self.identity_counts: dict[str, int] = {}
        self.identity_offsets: dict[str, int] = {}
        offset = 0
        for name, list_file in lists.items():
            list_path = Path(list_file)
            if not list_path.is_absolute():
                list_path = self.config_file.parent / list_path
            listed = read_image_list(list_path)
            self.images += [(name, image) for image in listed]
            largest = -1
            for image in listed:
                labels = read_jde_labels(self.root / label_path_for(image))
                if len(labels):
                    largest = max(largest, int(labels[:, 1].max()))
            # FairMOT: tid_num = max id + 1; tid_start_index = running sum in config order.
            self.identity_counts[name] = largest + 1
            self.identity_offsets[name] = offset
            offset += largest + 1
        self.num_identities = offset
        logger.info("%s: %d images, %d identities from %s", self.name, len(self.images), offset, self.config_file)

    def get_num_images(self) -> int:
        return len(self.images)

    def image_path(self, index: int) -> Path:
        return self.root / self.images[index][1]

    def get_labels(self, index: int) -> np.ndarray:
        """``(K, 6)`` rows ``class, id, cx/W, cy/H, w/W, h/H`` with the dataset's identity offset
        added to known identities (-1 stays -1)."""
        name, image = self.images[index]
        labels = read_jde_labels(self.root / label_path_for(image)).copy()
        known = labels[:, 1] > -1
        labels[known, 1] += self.identity_offsets[name]
        return labels

    def get_boxes(self, index: int, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
        """``(K, 4)`` float64 ``[x, y, w, h]`` pixel boxes of an image of ``width`` x ``height``,
        and the ``(K,)`` int64 offset identities."""
        labels = self.get_labels(index)
        scale = np.array([width, height, width, height], dtype=np.float64)
        return cxcywh_to_xywh(labels[:, 2:6] * scale), labels[:, 1].astype(np.int64)

    def get_image(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The RGB uint8 ``(H, W, 3)`` image, its ``(K, 4)`` boxes and ``(K,)`` identities."""
        path = self.image_path(index)
        if missing_file(path):
            raise FileNotFoundError(f"image {path} is missing (listed for {self.images[index][0]} in "
                                    f"{self.config_file}): check the data root, or generate the lists again")
        image = self.image_loader(str(path))
        boxes, ids = self.get_boxes(index, image.shape[1], image.shape[0])
        return image, boxes, ids

    def verify_tree(self) -> list[str]:
        """One line per dataset with listed images missing under the root."""
        problems = []
        missing: dict[str, list[str]] = {}
        for name, image in self.images:
            if missing_file(self.root / image):
                missing.setdefault(name, []).append(image)
        for name, images in missing.items():
            problems.append(f"{self.name}: {len(images)} images of {name} are missing under {self.root} "
                            f"(first: {self.root / images[0]})")
        return problems

    def check(self) -> None:
        check_datasets([self])
