"""CrowdHuman: ``annotation_train.odgt`` / ``annotation_val.odgt`` (one JSON object per line:
``ID``, ``gtboxes``: each with ``tag`` ('person', 'mask' for crowds and reflections...), boxes
``fbox`` (full body), ``vbox`` (visible part), ``hbox`` (head), all ``[x, y, w, h]`` pixels, and
``extra.ignore`` 1 for boxes to ignore) and ``Images/<ID>.jpg``, under ``crowdhuman_dir``."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from admin.environment import resolve_dataset_root
from ltr.data.box_files import BoxFileError, read_text
from ltr.data.image_loader import imread
from ltr.dataset.check import check_datasets, missing_file

logger = logging.getLogger(__name__)

BOX_KINDS = ("fbox", "vbox", "hbox")


@dataclasses.dataclass
class CrowdHumanImage:
    """One annotated image: ``boxes`` ``{kind: (K, 4) float64 [x, y, w, h]}`` for fbox, vbox,
    hbox (NaN where a box lacks that kind), ``tags`` (K) strings, ``ignore`` ``(K,)`` bool."""

    image_id: str
    boxes: dict[str, np.ndarray]
    tags: list[str]
    ignore: np.ndarray


def read_odgt(path: str | os.PathLike) -> list[CrowdHumanImage]:
    """The images of an ``.odgt`` file, in file order.

    Raises BoxFileError naming the file and line for a line that is not JSON, lacks ``ID`` or
    ``gtboxes``, or holds a box that is not four finite numbers; FileNotFoundError when missing."""
    path = Path(path)
    text = read_text(path, what="CrowdHuman annotation file", field="crowdhuman_dir")
    images = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise BoxFileError(f"{where}: not a JSON object ({error.msg}); replace the file with CrowdHuman's "
                               f"original") from None
        if not isinstance(record, dict) or "ID" not in record or not isinstance(record.get("gtboxes"), list):
            raise BoxFileError(f"{where}: expected an object with 'ID' and a list 'gtboxes'; replace the file "
                               f"with CrowdHuman's original")
        boxes = {kind: [] for kind in BOX_KINDS}
        tags, ignore = [], []
        for box_number, entry in enumerate(record["gtboxes"]):
            for kind in BOX_KINDS:
                value = entry.get(kind)
                if value is None:
                    boxes[kind].append([np.nan] * 4)
                    continue
                try:
                    box = [float(v) for v in value]
                except (TypeError, ValueError):
                    box = []
                if len(box) != 4 or not np.isfinite(box).all():
                    raise BoxFileError(f"{where}: box {box_number} {kind} {value!r} is not four finite numbers "
                                       f"x, y, w, h; fix or replace the file")
                boxes[kind].append(box)
            tags.append(str(entry.get("tag", "")))
            extra = entry.get("extra") or {}
            ignore.append(bool(extra.get("ignore", 0) == 1))
        images.append(CrowdHumanImage(str(record["ID"]), {k: np.asarray(v, np.float64).reshape(-1, 4)
                                                          for k, v in boxes.items()},
                                      tags, np.asarray(ignore, dtype=bool)))
    return images


class CrowdHuman:
    """CrowdHuman images with many people each, for training detectors and FairMOT.

    Args:
        root: the folder holding the ``.odgt`` files and ``Images/``; None: ``crowdhuman_dir``.
        split: ``'train'`` or ``'val'``.
        box: which box is an object's box: ``'fbox'`` (full body, FairMOT's choice), ``'vbox'``, ``'hbox'``.
        persons_only: keep ``tag == 'person'`` boxes only.
        drop_ignored: leave out boxes with ``extra.ignore == 1`` (FairMOT does).
    """

    env_field = "crowdhuman_dir"

    def __init__(self, root: str | os.PathLike | None = None, split: str = "train", *, box: str = "fbox",
                 persons_only: bool = True, drop_ignored: bool = True,
                 image_loader: Callable[[str], np.ndarray] = imread):
        if split not in ("train", "val"):
            raise ValueError(f"unknown CrowdHuman split {split!r}: use 'train' or 'val'")
        if box not in BOX_KINDS:
            raise ValueError(f"unknown CrowdHuman box {box!r}: use one of {', '.join(BOX_KINDS)}")
        self.root = resolve_dataset_root(root, self.env_field, "CrowdHuman")
        self.name = f"crowdhuman_{split}"
        self.annotation_file = self.root / f"annotation_{split}.odgt"
        self.box, self.persons_only, self.drop_ignored = box, persons_only, drop_ignored
        self.image_loader = image_loader
        self.images = read_odgt(self.annotation_file)
        logger.info("%s: %d images in %s", self.name, len(self.images), self.root)

    def get_num_images(self) -> int:
        return len(self.images)

    def image_path(self, index: int) -> Path:
        return self.root / "Images" / f"{self.images[index].image_id}.jpg"

    def get_annotation(self, index: int) -> np.ndarray:
        """``(K, 4)`` float64 ``[x, y, w, h]`` boxes of image ``index`` after the filters."""
        image = self.images[index]
        keep = np.ones(len(image.tags), dtype=bool)
        if self.persons_only:
            keep &= np.asarray([tag == "person" for tag in image.tags], dtype=bool)
        if self.drop_ignored:
            keep &= ~image.ignore
        boxes = image.boxes[self.box][keep]
        return boxes[~np.isnan(boxes).any(1)]

    def get_image(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The RGB uint8 ``(H, W, 3)`` image and its ``(K, 4)`` boxes."""
        path = self.image_path(index)
        if missing_file(path):
            raise FileNotFoundError(f"CrowdHuman image {path} is missing (listed in {self.annotation_file}): "
                                    f"extract CrowdHuman's image archives into {self.root / 'Images'}")
        return self.image_loader(str(path)), self.get_annotation(index)

    def verify_tree(self) -> list[str]:
        """One line per image listed in the annotation file but missing from ``Images/``."""
        folder = self.root / "Images"
        present = set(os.listdir(folder)) if folder.is_dir() else set()
        missing = [f"{image.image_id}.jpg" for image in self.images if f"{image.image_id}.jpg" not in present]
        if missing:
            return [f"{self.name}: {len(missing)} of {len(self.images)} images listed in {self.annotation_file} "
                    f"are missing from {folder} (first: {missing[0]})"]
        return []

    def check(self) -> None:
        check_datasets([self])
