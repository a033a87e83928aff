"""Converters between multi-object tracking formats, as commands::

    python -m ltr.dataset.mot.convert coco --root MOT17 --out MOT17/annotations
    python -m ltr.dataset.mot.convert mot-labels --split-dir MOT17/train --out MOT17/labels_with_ids/train
    python -m ltr.dataset.mot.convert reid --root MOT17 --out MOT17/reid
    python -m ltr.dataset.mot.convert crowdhuman-labels --annotation annotation_train.odgt \\
        --images CrowdHuman/Images --out crowdhuman/labels_with_ids/train

Rules, from the public code they reproduce:

- ``coco`` (mmtracking ``tools/convert_datasets/mot/mot2coco.py``): one file per subset,
  ``<subset>_cocoformat.json``, subsets in the order train, [test], half-train, half-val; video,
  image and annotation ids count from 1 across all subsets of one run, instance ids from 0 per
  subset (one per (video, MOT identity), in order of first appearance). Every ground-truth row
  becomes an annotation (no filter): ``category_id`` (the class), ``bbox`` ``[x, y, w, h]``,
  ``area``, ``iscrowd`` false, ``visibility``, ``mot_instance_id``, ``mot_conf`` (the mark); for
  2DMOT15 category 1, visibility 1 and conf 1. Images carry ``frame_id`` (0-based within the
  subset's frames of the video) and ``mot_frame_id`` (the 1-based frame). Halves: mmtracking's
  cut (:func:`ltr.dataset.mot.motchallenge.half_frame_range`). Video folders are taken sorted
  by name (mmtracking: directory order).
- ``mot-labels`` (FairMOT ``src/gen_labels_16.py``, ``gen_labels_20.py``, ``gen_labels_15.py``):
  rows with mark 0 are dropped, and for MOT16/17/20 rows whose class is not 1; rows are taken
  sorted by (identity, frame); a global identity counter starts at 0 and is incremented before a
  row whose MOT identity differs from the previous kept row's (so identities start at 1 and run
  on across the sequences of one run; as in FairMOT, a sequence starting with the identity the
  previous one ended with continues that identity). One line per object
  ``0 id cx/W cy/H w/W h/H`` (W, H from seqinfo.ini, 6 decimals) in
  ``<out>/<seq>/img1/%06d.txt``; frames without objects get no file.
- ``crowdhuman-labels`` (FairMOT ``src/gen_labels_crowd_id.py``): boxes with ``extra.ignore == 1``
  are dropped (no tag filter); the full-body box ``fbox``; every kept box is a new identity,
  counted from 0 per annotation file; W, H from the image; ``<out>/<ID>.txt``.

Files are written atomically; FairMOT appends to label files, so running it twice doubles them,
where running this twice gives the same files.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ltr.data.box_files import write_jde_labels
from ltr.data.boxes import xywh_to_cxcywh
from ltr.dataset.mot.crowdhuman import read_odgt
from ltr.dataset.mot.motchallenge import (PEDESTRIAN, frame_range, list_sequence_folders, read_ground_truth,
                                          read_seqinfo)
from ltr.dataset.mot.reid import mot_to_reid
from ltr.fileio import atomic_write_text

logger = logging.getLogger(__name__)

# mmtracking's MOT categories (mot2coco.py CLASSES).
COCO_CATEGORIES = [{"id": i, "name": name} for i, name in enumerate(
    ["pedestrian", "person_on_vehicle", "car", "bicycle", "motorbike", "non_mot_vehicle", "static_person",
     "distractor", "occluder", "occluder_on_ground", "occluder_full", "reflection", "crowd"], 1)]


def mot_to_coco(root: str | os.PathLike, out: str | os.PathLike, *, with_test: bool = False,
                halves: bool = True, mot15: bool | None = None) -> dict[str, Path]:
    """Write mmtracking's COCO-video files for the MOTChallenge benchmark ``root`` (holding
    ``train/`` and ``test/``) into ``out``; returns ``{subset: file}``. ``mot15``: 2DMOT15 rules
    (None: 'MOT15' in the folder's path, as mmtracking decides)."""
    root, out = Path(root), Path(out)
    subsets = ["train"] + (["test"] if with_test else []) + (["half-train", "half-val"] if halves else [])
    video_id = image_id = annotation_id = 1
    written = {}
    for subset in subsets:
        folder = root / ("test" if subset == "test" else "train")
        output = {"categories": COCO_CATEGORIES, "videos": [], "images": [], "annotations": []}
        instance = 0
        for video_folder in list_sequence_folders(folder):
            info = read_seqinfo(video_folder)
            first, last = frame_range(info, subset, "mmtracking")
            output["videos"].append({"id": video_id, "name": video_folder.name, "fps": int(info.frame_rate),
                                     "width": info.im_width, "height": info.im_height})
            rows = None
            if subset != "test":
                is15 = "MOT15" in str(video_folder.resolve()) if mot15 is None else mot15
                rows = read_ground_truth(info)
            instances: dict[int, int] = {}
            for frame_index, frame in enumerate(range(first, last + 1)):
                output["images"].append({
                    "id": image_id, "video_id": video_id, "file_name": f"{video_folder.name}/{info.im_dir}/"
                    f"{frame:06d}{info.im_ext}", "height": info.im_height, "width": info.im_width,
                    "frame_id": frame_index, "mot_frame_id": frame})
                if rows is not None:
                    for index in np.flatnonzero(rows.frame == frame):
                        box = [float(v) for v in rows.box[index]]
                        mot_id = int(rows.id[index])
                        if mot_id not in instances:
                            instances[mot_id] = instance
                            instance += 1
                        output["annotations"].append({
                            "category_id": 1 if is15 else int(rows.classes[index]), "bbox": box,
                            "area": box[2] * box[3], "iscrowd": False,
                            "visibility": 1.0 if is15 else float(rows.visibility[index]),
                            "mot_instance_id": mot_id, "mot_conf": 1.0 if is15 else float(rows.score[index]),
                            "id": annotation_id, "image_id": image_id, "instance_id": instances[mot_id]})
                        annotation_id += 1
                image_id += 1
            video_id += 1
        output["num_instances"] = instance
        path = out / f"{subset}_cocoformat.json"
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(output))
        logger.info("%s: %d videos, %d images, %d instances -> %s", subset, len(output["videos"]),
                    len(output["images"]), instance, path)
        written[subset] = path
    return written


def mot_to_labels(split_dir: str | os.PathLike, out: str | os.PathLike, *, mot15: bool = False,
                  sequences: Sequence[str] | None = None) -> int:
    """Write FairMOT's ``labels_with_ids`` for the sequences of ``split_dir`` (a benchmark's
    ``train/``; ``sequences`` to pick some) into ``out``; returns the number of identities.
    ``mot15``: keep every class (2DMOT15 has none)."""
    split_dir, out = Path(split_dir), Path(out)
    folders = list_sequence_folders(split_dir)
    if sequences is not None:
        folders = [split_dir / name for name in sequences]
    identity, last_mot_id = 0, None
    for folder in folders:
        info = read_seqinfo(folder)
        rows = read_ground_truth(info)
        keep = rows.score != 0
        if not mot15:
            keep &= rows.classes == PEDESTRIAN
        rows = rows.select(keep)
        order = np.lexsort((rows.frame, rows.id))
        lines: dict[int, list[list[float]]] = {}
        scale = np.array([info.im_width, info.im_height, info.im_width, info.im_height], dtype=np.float64)
        normalised = xywh_to_cxcywh(rows.box) / scale
        for index in order:
            mot_id = int(rows.id[index])
            if mot_id != last_mot_id:
                identity += 1
                last_mot_id = mot_id
            lines.setdefault(int(rows.frame[index]), []).append([0, identity, *normalised[index]])
        target = out / folder.name / "img1"
        target.mkdir(parents=True, exist_ok=True)
        for frame, frame_rows in lines.items():
            write_jde_labels(target / f"{frame:06d}.txt", np.asarray(frame_rows))
        logger.info("%s: %d frames with labels -> %s", folder.name, len(lines), target)
    return identity


def crowdhuman_to_labels(annotation: str | os.PathLike, images: str | os.PathLike, out: str | os.PathLike) -> int:
    """Write FairMOT's ``labels_with_ids`` for a CrowdHuman annotation file into ``out``;
    returns the number of identities (one per kept box)."""
    images, out = Path(images), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    identity = 0
    for record in read_odgt(annotation):
        path = images / f"{record.image_id}.jpg"
        if not path.is_file():
            raise FileNotFoundError(f"CrowdHuman image {path} (listed in {annotation}) is missing: extract the image "
                                    f"archives into {images}")
        with Image.open(path) as image:
            # The stored size, without EXIF rotation (FairMOT reads with IMREAD_IGNORE_ORIENTATION).
            width, height = image.size
        keep = ~record.ignore
        boxes = record.boxes["fbox"][keep]
        if not len(boxes):
            continue
        scale = np.array([width, height, width, height], dtype=np.float64)
        ids = np.arange(identity, identity + len(boxes))
        identity += len(boxes)
        rows = np.column_stack([np.zeros(len(boxes)), ids, xywh_to_cxcywh(boxes) / scale])
        write_jde_labels(out / f"{record.image_id}.txt", rows)
    return identity


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ltr.dataset.mot.convert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    coco = commands.add_parser("coco", help="MOTChallenge -> mmtracking's COCO-video JSON files")
    coco.add_argument("--root", required=True, help="the benchmark folder holding train/ (and test/)")
    coco.add_argument("--out", required=True, help="folder for <subset>_cocoformat.json")
    coco.add_argument("--with-test", action="store_true", help="also write test_cocoformat.json")
    coco.add_argument("--no-halves", action="store_true", help="leave out half-train and half-val")
    labels = commands.add_parser("mot-labels", help="MOTChallenge ground truth -> FairMOT labels_with_ids")
    labels.add_argument("--split-dir", required=True, help="the benchmark's train/ folder")
    labels.add_argument("--out", required=True, help="the labels_with_ids/train folder to write")
    labels.add_argument("--mot15", action="store_true", help="2DMOT15 rules: no class filter")
    crowd = commands.add_parser("crowdhuman-labels", help="CrowdHuman -> FairMOT labels_with_ids")
    crowd.add_argument("--annotation", required=True, help="annotation_train.odgt or annotation_val.odgt")
    crowd.add_argument("--images", required=True, help="the folder of <ID>.jpg images")
    crowd.add_argument("--out", required=True, help="the labels_with_ids folder to write")
    reid = commands.add_parser("reid", help="MOTChallenge -> mmtracking's ReID crops and lists (mot2reid)")
    reid.add_argument("--root", required=True, help="the benchmark folder holding train/")
    reid.add_argument("--out", required=True, help="an empty folder for imgs/ and meta/")
    reid.add_argument("--benchmark", default="mot17", choices=("mot15", "mot16", "mot17", "mot20"))
    reid.add_argument("--val-split", type=float, default=0.2, help="share of the identities for validation")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # The report goes through logging (configured above to print bare messages): this module is
    # library code as well as a command.
    if args.command == "coco":
        files = mot_to_coco(args.root, args.out, with_test=args.with_test, halves=not args.no_halves)
        logger.info("%s", "\n".join(str(path) for path in files.values()))
    elif args.command == "reid":
        files = mot_to_reid(args.root, args.out, benchmark=args.benchmark, val_split=args.val_split)
        logger.info("%s", "\n".join(str(path) for path in files.values()))
    elif args.command == "mot-labels":
        logger.info("%d identities written to %s", mot_to_labels(args.split_dir, args.out, mot15=args.mot15), args.out)
    else:
        logger.info("%d identities written to %s", crowdhuman_to_labels(args.annotation, args.images, args.out),
                    args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
