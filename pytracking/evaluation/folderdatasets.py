"""The benchmarks with one folder per sequence: VOT2018, LaSOT (test), GOT-10k (val, test),
TrackingNet (test) and the generated synthetic dataset (GOT-10k layout).

Layouts, under the dataset root:

- VOT2018: ``<name>/groundtruth.txt`` (4 values ``x,y,w,h`` or 8 polygon corners per line) and
  frames ``<name>/color/%08d.jpg`` or ``<name>/%08d.jpg``; one frame per ground-truth line.
- LaSOT: ``<class>/<class>-<n>/img/%08d.jpg``, ``groundtruth.txt``, ``full_occlusion.txt`` and
  ``out_of_view.txt`` (one comma-separated line of 0/1 each).
- GOT-10k: ``<split>/list.txt`` naming the sequences, ``<split>/<seq>/%08d.jpg``,
  ``groundtruth.txt``; ``val`` has one box per frame, ``absence.label`` and ``cover.label``
  (``target_visible`` follows training's rule, :func:`ltr.dataset.got10k.got10k_visible`), ``test``
  only the first frame's box (frames counted on disk).
- TrackingNet: ``TEST/anno/<seq>.txt`` (the first frame's box) and ``TEST/frames/<seq>/<i>.jpg``,
  0-based (frames counted on disk).

Listing a dataset reads only its sequence list (``list.txt``, the packaged names, the annotation
folder); a sequence's folder, annotation and label files are read when its ground truth, frames
or flags are first used, and their errors appear then.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

from admin.environment import resolve_dataset_root
from ltr.data.box_files import read_boxes, read_labels
from ltr.dataset.got10k import read_visibility

from .annotations import read_spec, require
from .data import Annotation, Sequence, SequenceList

_FRAME_8 = re.compile(r"^\d{8}\.jpg$")
_FRAME_INT = re.compile(r"^(\d+)\.jpg$")


def _names(default_spec: str, sequences: Iterable[str] | None) -> list[str]:
    return list(sequences) if sequences is not None else list(read_spec(default_spec))


def vot(root: str | Path | None = None, *, sequences: Iterable[str] | None = None) -> SequenceList:
    """VOT2018 (the 60 names of vot2018.json, or ``sequences``), rooted at ``root`` or ``vot_path``."""
    field = "vot_path"
    base = resolve_dataset_root(root, field)
    return SequenceList(Sequence(name, None, "vot", functools.partial(_vot_annotation, base, name, field),
                                 anno_path=str(base / name / "groundtruth.txt"))
                        for name in _names("vot2018.json", sequences))


def _vot_annotation(base: Path, name: str, field: str) -> Annotation:
    folder = require(base / name, "VOT sequence folder", field)
    boxes = read_boxes(folder / "groundtruth.txt", field=field, polygons=True)
    image_dir = folder / "color" if (folder / "color").is_dir() else folder
    require(image_dir / f"{1:08d}.jpg", f"first frame of VOT sequence {name} (in color/ or the sequence folder)", field)
    return Annotation(boxes, [str(image_dir / f"{number:08d}.jpg") for number in range(1, boxes.shape[0] + 1)])


def lasot(root: str | Path | None = None, *, sequences: Iterable[str] | None = None) -> SequenceList:
    """LaSOT test set (the 280 names of lasot_test.txt, or ``sequences``), rooted at ``root`` or
    ``lasot_path``; ``target_visible`` is False where the target is fully occluded or out of view."""
    field = "lasot_path"
    base = resolve_dataset_root(root, field)
    result = []
    for name in _names("lasot_test.txt", sequences):
        object_class = name.rsplit("-", 1)[0]
        folder = base / object_class / name
        result.append(Sequence(name, None, "lasot", functools.partial(_lasot_annotation, folder, name, field),
                               object_class=object_class, anno_path=str(folder / "groundtruth.txt")))
    return SequenceList(result)


def _lasot_annotation(folder: Path, name: str, field: str) -> Annotation:
    require(folder, "LaSOT sequence folder", field)
    boxes = read_boxes(folder / "groundtruth.txt", field=field)
    occluded = read_labels(folder / "full_occlusion.txt", field=field).astype(bool)
    out_of_view = read_labels(folder / "out_of_view.txt", field=field).astype(bool)
    if occluded.shape != out_of_view.shape:
        raise ValueError(f"LaSOT sequence {name}: full_occlusion.txt has {occluded.size} flags and "
                         f"out_of_view.txt {out_of_view.size} in {folder}; fix or replace the files")
    frames = [str(folder / "img" / f"{number:08d}.jpg") for number in range(1, boxes.shape[0] + 1)]
    return Annotation(boxes, frames, ~(occluded | out_of_view))


def _got10k_layout(base: Path, split: str, field: str, dataset: str) -> SequenceList:
    split_dir = require(base / split, f"{dataset} {split} folder", field)
    names = [line.strip() for line in require(split_dir / "list.txt", "sequence list", field).read_text().splitlines()
             if line.strip()]
    return SequenceList(
        Sequence(name, None, dataset, functools.partial(_got10k_annotation, split_dir / name, split, field, dataset),
                 anno_path=str(split_dir / name / "groundtruth.txt"), first_frame_only=split == "test")
        for name in names)


def _got10k_annotation(folder: Path, split: str, field: str, dataset: str) -> Annotation:
    require(folder, f"{dataset} sequence folder", field)
    anno = folder / "groundtruth.txt"
    boxes = read_boxes(anno, field=field)
    if split == "test":
        count = sum(1 for path in folder.iterdir() if _FRAME_8.match(path.name))
        if boxes.shape[0] < 1:
            raise ValueError(f"{anno} holds no box: the first frame's box is needed; fix or replace the file")
        return Annotation(boxes[:1], [str(folder / f"{number:08d}.jpg") for number in range(1, count + 1)])
    # The rule training uses too (ltr.dataset.got10k.got10k_visible).
    visible, _ = read_visibility(folder, boxes, field=field)
    return Annotation(boxes, [str(folder / f"{number:08d}.jpg") for number in range(1, boxes.shape[0] + 1)], visible)


def got10k(root: str | Path | None = None, *, split: str = "val") -> SequenceList:
    """GOT-10k ``val`` or ``test``, rooted at ``root`` or ``got10k_path`` (the folder holding
    ``val/`` and ``test/``)."""
    if split not in ("val", "test"):
        raise ValueError(f"GOT-10k split must be 'val' or 'test', not {split!r}")
    return _got10k_layout(resolve_dataset_root(root, "got10k_path"), split, "got10k_path", "got10k")


def synthetic(root: str | Path | None = None) -> SequenceList:
    """The generated synthetic dataset's ``val/`` split (GOT-10k layout), rooted at ``root`` or
    ``synthetic_dir``; generate it first if it is missing."""
    return _got10k_layout(resolve_dataset_root(root, "synthetic_dir"), "val", "synthetic_dir", "synthetic")


def trackingnet(root: str | Path | None = None) -> SequenceList:
    """TrackingNet test set, rooted at ``root`` or ``trackingnet_path`` (the folder holding ``TEST/``)."""
    field = "trackingnet_path"
    test_dir = require(resolve_dataset_root(root, field) / "TEST", "TrackingNet TEST folder", field)
    anno_dir = require(test_dir / "anno", "TrackingNet annotation folder", field)
    return SequenceList(
        Sequence(anno.stem, None, "trackingnet", functools.partial(_trackingnet_annotation, test_dir, anno, field),
                 anno_path=str(anno), first_frame_only=True)
        for anno in sorted(anno_dir.glob("*.txt")))


def _trackingnet_annotation(test_dir: Path, anno: Path, field: str) -> Annotation:
    name = anno.stem
    folder = require(test_dir / "frames" / name, "TrackingNet frame folder", field)
    boxes = read_boxes(anno, field=field)
    if boxes.shape[0] < 1:
        raise ValueError(f"{anno} holds no box: the first frame's box is needed; fix or replace the file")
    numbers = sorted(int(m.group(1)) for m in map(_FRAME_INT.match, (p.name for p in folder.iterdir())) if m)
    if numbers != list(range(len(numbers))):
        raise ValueError(f"TrackingNet sequence {name}: frames in {folder} are not numbered 0.jpg ... "
                         f"{len(numbers) - 1}.jpg without gaps; re-extract the sequence")
    return Annotation(boxes[:1], [str(folder / f"{number}.jpg") for number in numbers])
