"""Person crops and identities for re-identification training, from MOTChallenge ground truth,
by the rules of mmtracking's ``tools/convert_datasets/mot/mot2reid.py``; the crops are cut from
the frames when they are read (no crop files are written).

Published rules, in order:

1. sequences: every training sequence of the benchmark; MOT17's only in its FRCNN copy (the
   three copies share frames and ground truth);
2. rows: every ground-truth row, in file order, except those of the classes 3, 4, 5, 6, 9, 10,
   11 (vehicles, occluders) and 2, 7, 8, 12, 13 (person on vehicle, static person, distractor,
   reflection, crowd), and those with visibility below ``vis_threshold`` (0.3); 2DMOT15 rows
   count as class 1, visibility 1. The mark (7th column) is not read: a kept class with mark 0
   is kept;
3. identities: one per (sequence folder, MOT id), named ``<sequence folder>_<id:06d>`` (mmtracking's
   crop folder), its crops in row order; the crop of a row is mmcv's ``imcrop`` of ``[x, y,
   x + w, y + h]`` (:func:`ltr.models.reid.crops.crop_frame`);
4. split: identities sorted by name; the first ``int(n * (1 - val_split))`` are the training
   identities (``train_80.txt``), the rest validation (``val_20.txt``), counted *before* step 5;
5. in each part, in that order, an identity with fewer than ``min_per_person`` (8) crops is
   dropped, and one with more than ``max_per_person`` (1000) keeps a random sample of that many
   (Python's ``random.sample`` after ``random.seed(0)``, training identities first);
6. labels: 0, 1, ... over the kept identities of each part in name order; ``all``
   (``train.txt``) numbers the validation identities after the training ones.

mmtracking samples among the crop files in directory-listing order; here among the crops in row
order (same seed, same rule, a reproducible subset).

:func:`mot_to_reid` writes mmtracking's layout (``python -m ltr.dataset.mot.convert reid``) and
:class:`ReIDImageList` reads it; the lists it writes hold the crops of :class:`MotReID`'s subsets.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from tqdm import tqdm

from ltr.data.image_loader import imread
from ltr.dataset.mot.motchallenge import MotChallenge
from ltr.fileio import atomic_write_bytes, atomic_write_text
from ltr.models.reid.crops import crop_frame

logger = logging.getLogger(__name__)

USELESS_CLASSES = (3, 4, 5, 6, 9, 10, 11)
IGNORED_CLASSES = (2, 7, 8, 12, 13)
SUBSETS = ("train", "val", "all")


@dataclasses.dataclass(frozen=True)
class ReIDCrop:
    """One crop: ``sequence`` (id in the MotChallenge dataset), 1-based ``frame``, ``box``
    ``[x, y, w, h]``, identity ``label`` and ``identity`` name."""

    sequence: int
    frame: int
    box: tuple[float, float, float, float]
    label: int
    identity: str


def collect_identities(mot: MotChallenge, *, vis_threshold: float = 0.3) -> dict[str, list[tuple[int, int, tuple]]]:
    """Steps 1 to 3 of the module docstring: identity name -> its crops ``(sequence id, frame, xywh box)``
    in row order, names sorted."""
    identities: dict[str, list[tuple[int, int, tuple]]] = {}
    excluded = np.array(USELESS_CLASSES + IGNORED_CLASSES)
    for seq_id, folder in enumerate(mot.sequence_folders):
        rows = mot.get_annotations(seq_id)
        keep = ~np.isin(rows.classes.astype(np.int64), excluded) & ~(rows.visibility < vis_threshold)
        for frame, identity, box in zip(rows.frame[keep], rows.id[keep], rows.box[keep]):
            identities.setdefault(f"{folder.name}_{int(identity):06d}", []).append(
                (seq_id, int(frame), tuple(float(v) for v in box)))
    return dict(sorted(identities.items()))


def split_identities(identities: dict[str, list], *, val_split: float = 0.2, min_per_person: int = 8,
                     max_per_person: int = 1000, seed: int = 0) -> dict[str, list[tuple[str, list, int]]]:
    """Steps 4 to 6: ``{"train": [...], "val": [...], "all": [...]}``, each a list of
    ``(name, crops, label)``."""
    if not 0 <= val_split < 1:
        raise ValueError(f"val_split must be in [0, 1), got {val_split}")
    names = sorted(identities)
    num_train = int(len(names) * (1 - val_split))
    rng = random.Random(seed)
    parts: dict[str, list[tuple[str, list, int]]] = {"train": [], "val": []}
    for part, part_names in (("train", names[:num_train]), ("val", names[num_train:])):
        for name in part_names:
            crops = identities[name]
            if len(crops) < min_per_person:
                continue
            if len(crops) > max_per_person:
                crops = rng.sample(crops, max_per_person)
            parts[part].append((name, crops, len(parts[part])))
    offset = len(parts["train"])
    parts["all"] = parts["train"] + [(name, crops, offset + label) for name, crops, label in parts["val"]]
    return parts


class MotReID:
    """The crops of one subset (``'train'``: train_80, ``'val'``: val_20, ``'all'``: train.txt)
    of a MOTChallenge training split, by mot2reid's rules (module docstring).

    ``mot``: the :class:`MotChallenge` split (its own row filters off). ``get_crop(i)`` reads the
    frame and returns the crop, RGB uint8 ``(h, w, 3)``; ``labels`` ``(N,)``; ``num_classes``."""

    def __init__(self, mot: MotChallenge, *, subset: str = "train", vis_threshold: float = 0.3,
                 min_per_person: int = 8, max_per_person: int = 1000, val_split: float = 0.2, seed: int = 0,
                 image_loader: Callable[[str], np.ndarray] = imread):
        if subset not in SUBSETS:
            raise ValueError(f"unknown ReID subset {subset!r}: use one of {', '.join(SUBSETS)}")
        if not mot.has_ground_truth:
            raise ValueError(f"{mot.name} has no ground truth: ReID crops come from a training split")
        self.mot = mot
        self.subset = subset
        self.name = f"{mot.name}_reid_{subset}"
        self.image_loader = image_loader
        parts = split_identities(collect_identities(mot, vis_threshold=vis_threshold), val_split=val_split,
                                 min_per_person=min_per_person, max_per_person=max_per_person, seed=seed)
        self.identities = [name for name, _, _ in parts[subset]]
        self.crops = [ReIDCrop(seq_id, frame, box, label, name)
                      for name, crops, label in parts[subset] for seq_id, frame, box in crops]
        self.labels = np.array([crop.label for crop in self.crops], dtype=np.int64)
        self.num_classes = len(self.identities)
        logger.info("%s: %d identities, %d crops", self.name, self.num_classes, len(self.crops))

    def __len__(self) -> int:
        return len(self.crops)

    def get_name(self) -> str:
        return self.name

    def indices_by_label(self) -> dict[int, np.ndarray]:
        """Crop indices of each label."""
        order = np.argsort(self.labels, kind="stable")
        labels, starts = np.unique(self.labels[order], return_index=True)
        return {int(label): indices for label, indices in zip(labels, np.split(order, starts[1:]))}

    def get_crop(self, index: int) -> np.ndarray:
        """The crop of ``index``: RGB uint8 ``(h, w, 3)``. Unreadable frames raise
        :class:`ltr.data.image_loader.ImageReadError` naming the file."""
        crop = self.crops[index]
        image = self.image_loader(str(self.mot.get_frame_path(crop.sequence, crop.frame)))
        return np.ascontiguousarray(crop_frame(image, crop.box))


# mmtracking's on-disk layout ------------------------------------------------------------------

def mot_to_reid(root: str | os.PathLike, out: str | os.PathLike, *, benchmark: str = "mot17", val_split: float = 0.2,
                vis_threshold: float = 0.3, min_per_person: int = 8, max_per_person: int = 1000,
                seed: int = 0) -> dict[str, Path]:
    """Write mmtracking's ReID layout of the benchmark at ``root`` into ``out`` (mot2reid.py):
    ``imgs/<identity>/<index:06d>.jpg`` (every crop of every identity, steps 1 to 3 of the module
    docstring, indices in row order) and ``meta/train_<80>.txt``, ``meta/val_<20>.txt`` and
    ``meta/train.txt`` (lines ``<identity>/<index>.jpg <label>``, steps 4 to 6). Published, ``out``
    must be empty or absent; files are written atomically. Returns the meta files by name."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} is not an empty folder: mot2reid writes into an empty one; remove it or "
                              f"choose another --out")
    mot = MotChallenge(root, benchmark, "train")
    identities = collect_identities(mot, vis_threshold=vis_threshold)
    for name, crops in tqdm(identities.items(), desc="ReID crops", unit="identity"):
        for index, (seq_id, frame, box) in enumerate(crops):
            image = mot.image_loader(str(mot.get_frame_path(seq_id, frame)))
            ok, data = cv2.imencode(".jpg", cv2.cvtColor(crop_frame(image, box), cv2.COLOR_RGB2BGR))
            if not ok:
                raise OSError(f"cannot encode the crop {index} of {name} (frame {frame} of {mot.sequence_folders[seq_id].name})")
            atomic_write_bytes(out / "imgs" / name / f"{index:06d}.jpg", data.tobytes())
    # Split crop indices: random.sample picks the same positions of a list of indices as of the crops.
    parts = split_identities({name: list(range(len(crops))) for name, crops in identities.items()},
                             val_split=val_split, min_per_person=min_per_person, max_per_person=max_per_person,
                             seed=seed)
    files = {"train": f"train_{int(100 * (1 - val_split))}.txt", "val": f"val_{int(100 * val_split)}.txt",
             "all": "train.txt"}
    written = {}
    for part, file_name in files.items():
        lines = [f"{name}/{index:06d}.jpg {label}\n" for name, indices, label in parts[part] for index in indices]
        written[file_name] = out / "meta" / file_name
        atomic_write_text(written[file_name], "".join(lines))
        logger.info("%s: %d identities, %d crops", written[file_name], len(parts[part]), len(lines))
    return written


class ReIDImageList:
    """mmtracking's ReID layout (``<root>/imgs``, ``<root>/meta/<ann_file>``, as written by
    :func:`mot_to_reid` or mmtracking's mot2reid.py) with the interface of :class:`MotReID`."""

    def __init__(self, root: str | os.PathLike, ann_file: str = "train_80.txt", *,
                 image_loader: Callable[[str], np.ndarray] = imread):
        self.root = Path(root)
        self.name = f"reid_{Path(ann_file).stem}"
        self.image_loader = image_loader
        path = self.root / "meta" / ann_file
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: write the ReID layout with python -m ltr.dataset.mot.convert "
                                    f"reid --root <benchmark> --out {self.root}")
        self.files: list[str] = []
        labels = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
                raise ValueError(f"{path}, line {number}: {line!r} is not '<identity>/<image> <label>'; fix or "
                                 f"write the file again")
            self.files.append(fields[0])
            labels.append(int(fields[1]))
        self.labels = np.array(labels, dtype=np.int64)
        self.identities = sorted({file.split("/")[0] for file in self.files})
        self.num_classes = len(np.unique(self.labels))

    def __len__(self) -> int:
        return len(self.files)

    def get_name(self) -> str:
        return self.name

    def get_crop(self, index: int) -> np.ndarray:
        return self.image_loader(str(self.root / "imgs" / self.files[index]))
