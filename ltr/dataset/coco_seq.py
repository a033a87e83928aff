"""COCO object instances as training data:

    annotations/instances_<split><version>.json
    images/<split><version>/<file_name>   or   <split><version>/<file_name>  (as COCO unzips)

Every instance that is not a crowd (``iscrowd == 0``) is one target. :class:`MSCOCOSeq` offers
them as one-frame sequences (the video interface the samplers read), :class:`MSCOCO` as images.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from admin.environment import resolve_dataset_root
from ltr.data.image_loader import imread
from ltr.dataset.base_image_dataset import BaseImageDataset
from ltr.data.boxes import box_is_valid
from ltr.dataset.base_video_dataset import BaseVideoDataset, empty_meta, group_by_class, subsample
from ltr.dataset.check import missing_file

logger = logging.getLogger(__name__)

SPLITS = ("train", "val")
VERSIONS = ("2014", "2017")
ENV_FIELD = "coco_dir"


class CocoInstances:
    """The non-crowd instances of one COCO annotation file, as plain arrays (no pycocotools
    object is kept, so datasets stay small to pickle for loader workers)."""

    def __init__(self, root: str, split: str, version: str, data_fraction: float | None, what: str):
        if split not in SPLITS:
            raise ValueError(f"{what}: unknown COCO split {split!r}: use one of {', '.join(SPLITS)}")
        version = str(version)
        if version not in VERSIONS:
            raise ValueError(f"{what}: unknown COCO version {version!r}: use one of {', '.join(VERSIONS)}")
        name = f"{split}{version}"
        annotation_file = Path(root) / "annotations" / f"instances_{name}.json"
        if not annotation_file.is_file():
            raise FileNotFoundError(f"{annotation_file} is missing: the COCO root must hold annotations/ "
                                    f"with instances_{name}.json; set {ENV_FIELD} or pass root")
        candidates = [Path(root) / "images" / name, Path(root) / name]
        self.image_dir = next((c for c in candidates if c.is_dir()), None)
        if self.image_dir is None:
            raise FileNotFoundError(f"no COCO image folder for {name}: neither {candidates[0]} nor "
                                    f"{candidates[1]} exists; extract {name}.zip into the COCO root")
        from pycocotools.coco import COCO

        messages = io.StringIO()
        try:
            with contextlib.redirect_stdout(messages):  # pycocotools prints its progress
                coco = COCO(str(annotation_file))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{annotation_file} is not valid JSON ({error}); download it again") from None
        except (KeyError, TypeError) as error:
            raise ValueError(f"{annotation_file} is not a COCO instances file (missing {error}); "
                             f"download it again") from None
        logger.debug("pycocotools: %s", messages.getvalue().strip())
        try:
            ids = [a for a, ann in coco.anns.items() if ann.get("iscrowd", 0) == 0]
            ids = subsample(ids, data_fraction, what)
            anns = [coco.anns[a] for a in ids]
            self.annotation_ids = ids
            self.files = [coco.imgs[ann["image_id"]]["file_name"] for ann in anns]
            self.boxes = np.asarray([ann["bbox"] for ann in anns], dtype=np.float32).reshape(-1, 4)
            categories = [coco.cats[ann["category_id"]] for ann in anns]
        except KeyError as error:
            raise ValueError(f"{annotation_file}: an annotation refers to a missing image or category, or "
                             f"lacks a field ({error}); download the file again") from None
        self.classes = [c["name"] for c in categories]
        self.supercategories = [c.get("supercategory") for c in categories]
        self.per_class = group_by_class(self.classes)
        self.class_list = sorted(self.per_class)
        logger.info("%s: %d instances of %d classes in %s", what, len(ids), len(self.class_list), annotation_file)

    def meta(self, index: int) -> dict[str, Any]:
        meta = empty_meta()
        meta["object_class_name"] = self.classes[index]
        meta["major_class"] = self.supercategories[index]
        return meta

    def in_class(self, class_name: str, what: str) -> list[int]:
        if class_name not in self.per_class:
            raise KeyError(f"{what} has no instance of class {class_name!r}")
        return list(self.per_class[class_name])


class MSCOCOSeq(BaseVideoDataset):
    """COCO instances as one-frame sequences.

    Args:
        root: the COCO folder; None: ``env_settings().coco_dir``.
        image_loader: reads an image file into an RGB uint8 array.
        data_fraction: keep this random fraction of the instances (reproducible).
        split: ``'train'`` or ``'val'``.
        version: ``'2014'`` or ``'2017'``.

    ``sequence_list`` holds COCO annotation ids. ``get_sequence_info`` gives ``bbox`` (1, 4),
    ``valid`` and ``visible`` (= valid), each for the one frame; every frame id reads it."""

    env_field = ENV_FIELD

    def __init__(self, root: str | None = None, image_loader: Callable[[str], np.ndarray] = imread,
                 data_fraction: float | None = None, split: str = "train", version: str = "2014"):
        root = str(resolve_dataset_root(root, ENV_FIELD, "coco"))
        super().__init__("coco", root, image_loader)
        self.split, self.version = split, str(version)
        self._instances = CocoInstances(root, split, self.version, data_fraction, self.name)
        self.sequence_list = list(self._instances.annotation_ids)
        self.class_list = list(self._instances.class_list)

    def is_video_sequence(self) -> bool:
        return False

    def verify_tree(self) -> list[str]:
        """No instances, or image files that are missing (each file checked once, none decoded)."""
        if self.get_num_sequences() == 0:
            return [f"{self.name}: no instances in {self.root}"]
        paths = dict.fromkeys(str(self._instances.image_dir / f) for f in self._instances.files)
        return [f"{self.name}: image {path} is missing" for path in paths if missing_file(path)]

    def has_class_info(self) -> bool:
        return True

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        return self._instances.in_class(class_name, self.name)

    def get_sequence_name(self, seq_id: int) -> str:
        self._check_seq_id(seq_id)
        return f"annotation {self.sequence_list[seq_id]} ({self._instances.files[seq_id]})"

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        self._check_seq_id(seq_id)
        bbox = torch.from_numpy(self._instances.boxes[seq_id:seq_id + 1].copy())
        valid = box_is_valid(bbox)
        return {"bbox": bbox, "valid": valid, "visible": valid.clone()}

    def frame_path(self, seq_id: int, frame_id: int) -> str:
        self._check_seq_id(seq_id)
        return str(self._instances.image_dir / self._instances.files[seq_id])

    def get_meta_info(self, seq_id: int) -> dict[str, Any]:
        self._check_seq_id(seq_id)
        return self._instances.meta(seq_id)


class MSCOCO(BaseImageDataset):
    """COCO instances as single images; the arguments are those of :class:`MSCOCOSeq`.
    ``get_image_info`` gives ``bbox`` (4,), ``valid`` and ``visible`` (= valid)."""

    env_field = ENV_FIELD

    def __init__(self, root: str | None = None, image_loader: Callable[[str], np.ndarray] = imread,
                 data_fraction: float | None = None, split: str = "train", version: str = "2014"):
        root = str(resolve_dataset_root(root, ENV_FIELD, "coco"))
        super().__init__("coco", root, image_loader)
        self.split, self.version = split, str(version)
        self._instances = CocoInstances(root, split, self.version, data_fraction, self.name)
        self.image_list = list(self._instances.annotation_ids)
        self.class_list = list(self._instances.class_list)

    def has_class_info(self) -> bool:
        return True

    def get_images_in_class(self, class_name: str) -> list[int]:
        return self._instances.in_class(class_name, self.name)

    def get_image_info(self, im_id: int) -> dict[str, torch.Tensor]:
        self._check_im_id(im_id)
        bbox = torch.from_numpy(self._instances.boxes[im_id].copy())
        valid = box_is_valid(bbox[None])[0]
        return {"bbox": bbox, "valid": valid, "visible": valid.clone()}

    def image_path(self, im_id: int) -> str:
        self._check_im_id(im_id)
        return str(self._instances.image_dir / self._instances.files[im_id])

    def get_meta_info(self, im_id: int) -> dict[str, Any]:
        self._check_im_id(im_id)
        return self._instances.meta(im_id)
