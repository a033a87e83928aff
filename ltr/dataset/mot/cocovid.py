"""Reading detection ground truth from COCO-style annotation files: mmtracking's COCO-video files
(``python -m ltr.dataset.mot.convert coco`` writes them: ``<mot17_dir>/annotations/half-train_cocoformat.json``
and so on, image paths relative to ``<mot17_dir>/train``) and plain COCO detection sets.

mmtracking trains Tracktor's detector with mmdetection's ``CocoDataset`` on these files
(``configs/det/faster-rcnn_r50_fpn_4e_mot17-half.py``: ``USE_MMDET = True``, ``classes=('pedestrian',)``),
so its rules are the ones applied here (mmdet 2.x ``mmdet/datasets/coco.py``):

- classes are picked by category *name*; their ids in the order of the file's category list;
  label ``k`` (1-based here, torchvision's convention; mmdet counts from 0) is the k-th of them;
- per image, an annotation is skipped when it has ``ignore`` true, when its box does not overlap
  the image (``inter_w * inter_h == 0`` with the box clipped to ``[0, width] x [0, height]``), when
  ``area <= 0`` or ``w < 1`` or ``h < 1``, or when its category is not one of the classes; an
  ``iscrowd`` one becomes an ignore box, every other one a ground-truth box ``[x, y, x + w, y + h]``;
- for training (``test_mode=False``) images without an annotation of the classes (any annotation
  of theirs, before the per-image rules) and images whose shorter side is under ``min_size`` (32)
  are left out; for testing every image is kept;
- COCO evaluation (:meth:`CocoDetectionSet.evaluation_ground_truth`) scores against every
  annotation of the classes (none of the per-image rules apply there; ``iscrowd`` marks a crowd
  region), as pycocotools does.

So with the toolkit's converter (which writes every MOT row with its class as ``category_id``), the
ground truth is the class-1 (pedestrian) rows, whatever their mark or visibility: what mmtracking's
current ``mot2coco.py`` keeps (it drops the other classes, writing category 1 for the rest).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ltr.data.boxes import xywh_to_xyxy
from ltr.data.image_loader import imread

logger = logging.getLogger(__name__)


class CocoAnnotationError(ValueError):
    """An annotation file that cannot be used; the message names it and what is wrong."""


@dataclasses.dataclass(frozen=True)
class CocoImage:
    """One image of a set: ``boxes`` (N, 4) float32 ``[x0, y0, x1, y1]`` and ``labels`` (N,) int64
    (1-based class index) for training, ``ignore_boxes`` (M, 4) the crowd regions."""

    id: int
    path: Path
    width: int
    height: int
    boxes: np.ndarray
    labels: np.ndarray
    ignore_boxes: np.ndarray
    video_id: int | None = None
    frame_id: int | None = None


@dataclasses.dataclass(frozen=True)
class EvaluationGroundTruth:
    """COCO evaluation's ground truth of one image: ``boxes`` (K, 4) ``[x, y, w, h]``, ``areas``
    (K,) (the annotation's ``area``, not the box's), ``crowd`` (K,) bool."""

    image_id: int
    boxes: np.ndarray
    areas: np.ndarray
    crowd: np.ndarray


def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} is missing: write it with python -m ltr.dataset.mot.convert "
                                f"coco --root <benchmark> --out <benchmark>/annotations (MOTChallenge), or check "
                                f"the path")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CocoAnnotationError(f"annotation file {path} is not valid JSON ({error}); write it again") from None
    if not isinstance(data, dict):
        raise CocoAnnotationError(f"annotation file {path} holds a {type(data).__name__}, not a COCO dict with "
                                  f"'images', 'annotations' and 'categories'")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise CocoAnnotationError(f"annotation file {path} has no list '{key}': it is not a COCO annotation file")
    return data


class CocoDetectionSet:
    """The images of a COCO-style annotation file ``annotation_file`` under ``image_folder`` (the
    folder its ``file_name`` values are relative to), with mmdetection's ground-truth rules (see
    the module docstring). ``test_mode`` keeps every image (evaluation)."""

    def __init__(self, annotation_file: str | os.PathLike, image_folder: str | os.PathLike, *,
                 classes: Sequence[str] = ("pedestrian",), test_mode: bool = False, min_size: int = 32):
        self.annotation_file = Path(annotation_file)
        self.image_folder = Path(image_folder)
        self.classes = tuple(classes)
        self.test_mode = bool(test_mode)
        data = _load_json(self.annotation_file)
        where = f"annotation file {self.annotation_file}"
        names = {}
        try:
            for category in data["categories"]:
                names[int(category["id"])] = str(category["name"])
            category_ids = [cid for cid, name in names.items() if name in self.classes]
            missing = [name for name in self.classes if name not in names.values()]
            if missing:
                raise CocoAnnotationError(f"{where} has no category named {', '.join(map(repr, missing))} "
                                          f"(its categories: {', '.join(sorted(names.values()))})")
            self.category_ids = category_ids
            label_of = {cid: index + 1 for index, cid in enumerate(category_ids)}
            images = {}
            for record in data["images"]:
                image_id = int(record["id"])
                if image_id in images:
                    raise CocoAnnotationError(f"{where}: image id {image_id} appears twice")
                images[image_id] = record
            annotations: dict[int, list[dict]] = {image_id: [] for image_id in images}
            seen_ids = set()
            for annotation in data["annotations"]:
                image_id = int(annotation["image_id"])
                if image_id not in annotations:
                    raise CocoAnnotationError(f"{where}: annotation {annotation.get('id')} refers to image id "
                                              f"{image_id}, which the file does not list; write the file again")
                if "id" in annotation:
                    if annotation["id"] in seen_ids:
                        raise CocoAnnotationError(f"{where}: annotation id {annotation['id']} is not unique")
                    seen_ids.add(annotation["id"])
                if len(annotation["bbox"]) != 4:
                    raise CocoAnnotationError(f"{where}: annotation {annotation.get('id')} has bbox "
                                              f"{annotation['bbox']!r}, not [x, y, w, h]")
                annotations[image_id].append(annotation)
            self.videos = {int(v["id"]): str(v.get("name", v["id"])) for v in data.get("videos", [])}
            self.images: list[CocoImage] = []
            self._evaluation: list[EvaluationGroundTruth] = []
            for image_id, record in images.items():
                width, height = int(record["width"]), int(record["height"])
                of_classes = [a for a in annotations[image_id] if int(a["category_id"]) in label_of]
                if not self.test_mode and (not of_classes or min(width, height) < min_size):
                    continue
                self.images.append(self._parse(record, of_classes, label_of))
                self._evaluation.append(EvaluationGroundTruth(
                    image_id, np.array([a["bbox"] for a in of_classes], np.float64).reshape(-1, 4),
                    np.array([float(a.get("area", a["bbox"][2] * a["bbox"][3])) for a in of_classes], np.float64),
                    np.array([bool(a.get("iscrowd", False)) for a in of_classes], bool)))
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, CocoAnnotationError):
                raise
            raise CocoAnnotationError(f"{where} is not a COCO annotation file ({type(error).__name__}: {error}); "
                                      f"write it again") from None
        logger.info("%s: %d images, %d boxes of %s", self.annotation_file, len(self.images),
                    sum(len(i.boxes) for i in self.images), ", ".join(self.classes))

    def _parse(self, record: dict, annotations: list[dict], label_of: dict[int, int]) -> CocoImage:
        width, height = int(record["width"]), int(record["height"])
        boxes, labels, ignore = [], [], []
        for annotation in annotations:
            if annotation.get("ignore", False):
                continue
            x, y, w, h = (float(v) for v in annotation["bbox"])
            x0, y0, x1, y1 = xywh_to_xyxy(np.array([x, y, w, h])).tolist()
            inter_w = max(0.0, min(x1, width) - max(x0, 0.0))
            inter_h = max(0.0, min(y1, height) - max(y0, 0.0))
            if inter_w * inter_h == 0:
                continue
            if float(annotation.get("area", w * h)) <= 0 or w < 1 or h < 1:
                continue
            box = [x, y, w, h]
            if annotation.get("iscrowd", False):
                ignore.append(box)
            else:
                boxes.append(box)
                labels.append(label_of[int(annotation["category_id"])])
        return CocoImage(id=int(record["id"]), path=self.image_folder / str(record["file_name"]), width=width,
                         height=height, boxes=xywh_to_xyxy(np.array(boxes, np.float32).reshape(-1, 4)),
                         labels=np.array(labels, np.int64),
                         ignore_boxes=xywh_to_xyxy(np.array(ignore, np.float32).reshape(-1, 4)),
                         video_id=int(record["video_id"]) if "video_id" in record else None,
                         frame_id=int(record["frame_id"]) if "frame_id" in record else None)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> CocoImage:
        return self.images[index]

    def read_image(self, index: int) -> np.ndarray:
        """RGB uint8 (H, W, 3) of image ``index``; a missing file raises an error naming it and
        the annotation file that lists it."""
        image = self.images[index]
        if not image.path.is_file():
            raise FileNotFoundError(f"image {image.path} (image id {image.id} of {self.annotation_file}) is missing: "
                                    f"check the image folder {self.image_folder}")
        return imread(image.path)

    def check_images(self) -> None:
        """Every listed image exists; else one error naming the first missing ones."""
        missing = [str(i.path) for i in self.images if not i.path.is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} image(s) listed in {self.annotation_file} are missing under "
                                    f"{self.image_folder}, e.g. {', '.join(missing[:3])}")

    def take_every(self, step: int) -> "CocoDetectionSet":
        """A copy holding every ``step``-th image (from the first): a cheaper evaluation set."""
        if step < 1:
            raise ValueError(f"step must be >= 1, not {step}")
        subset = copy.copy(self)
        subset.images = self.images[::step]
        subset._evaluation = self._evaluation[::step]
        return subset

    def evaluation_ground_truth(self) -> list[EvaluationGroundTruth]:
        """Per image (in :attr:`images` order) the ground truth COCO evaluation scores against."""
        return list(self._evaluation)
