"""The benchmarks described by a spec of one record per sequence: OTB-100, NFS (30 fps), UAV123
and Temple-Color-128 (TPL).

A record holds ``name``, the image folder ``path``, ``startFrame`` and ``endFrame`` (inclusive),
zero padding ``nz``, extension ``ext``, the annotation file ``anno_path`` (relative to the
dataset root), optionally ``object_class`` and ``initOmit`` (frames left out at the start, with
their ground-truth rows: Tiger1). Frame paths are built, never listed: the images need not exist
to build the sequences (the analysis needs only the annotations).

Row counts: where an annotation file (after ``initOmit``) has more rows than the record has frames,
the first rows are kept; where it has fewer, NaN rows are appended (the analysis counts them as
failures). Each such file is logged as a warning when it is read. ``strict=True`` raises instead
(when the sequence is used). The real OTB-100 annotations match their records exactly.

Annotation files are read when a sequence's ground truth is first used, not when the dataset is
listed: one sequence runs with only its own annotation present, and a missing or malformed file is
reported when its sequence is used.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import numpy as np

from admin.environment import resolve_dataset_root
from ltr.data.box_files import read_boxes

from .annotations import read_spec
from .data import Sequence, SequenceList

logger = logging.getLogger(__name__)


def _records(spec_name: str, specs: list[dict] | None, spec_file: str | Path | None) -> list[dict]:
    if specs is not None:
        return list(specs)
    return read_spec(Path(spec_file) if spec_file is not None else spec_name)


def _reconcile(boxes: np.ndarray, frames: int, anno: Path, name: str) -> tuple[np.ndarray, bool]:
    """Ground truth of exactly ``frames`` rows: extra rows dropped, missing rows NaN."""
    if boxes.shape[0] == frames:
        return boxes, False
    if boxes.shape[0] > frames:
        logger.warning("%s: %d boxes for %d frames of sequence %s; keeping the first %d",
                       anno, boxes.shape[0], frames, name, frames)
        return boxes[:frames], True
    logger.warning("%s: %d boxes for %d frames of sequence %s; the last %d frames get NaN boxes",
                   anno, boxes.shape[0], frames, name, frames - boxes.shape[0])
    padding = np.full((frames - boxes.shape[0], 4), np.nan)
    return np.concatenate([boxes, padding]), True


def _spec_ground_truth(anno: Path, field: str, omit: int, frames: int, name: str, strict: bool) -> np.ndarray:
    """The ground truth of one record, read when its sequence is first used."""
    boxes = read_boxes(anno, field=field)[omit:]
    if not strict:
        boxes, _ = _reconcile(boxes, frames, anno, name)
    return boxes


def spec_sequences(dataset: str, field: str, records: list[dict], root: Path, *, strict: bool = False,
                   exclude: set[str] = frozenset()) -> SequenceList:
    """The sequences of ``records`` under ``root`` (see the module docstring); no annotation
    file is read until its sequence's ground truth is used."""
    sequences = []
    for record in records:
        name = record["name"]
        if name in exclude:
            continue
        start, end, omit = int(record["startFrame"]), int(record["endFrame"]), int(record.get("initOmit", 0))
        folder = root / record["path"]
        nz, ext = int(record["nz"]), record["ext"]
        frames = [str(folder / f"{number:0{nz}d}.{ext}") for number in range(start, end + 1)][omit:]
        anno = root / record["anno_path"]
        loader = functools.partial(_spec_ground_truth, anno, field, omit, len(frames), name, strict)
        sequences.append(Sequence(name, frames, dataset, loader, object_class=record.get("object_class"),
                                  anno_path=str(anno)))
    return SequenceList(sequences)


def otb(root: str | Path | None = None, *, specs: list[dict] | None = None,
        spec_file: str | Path | None = None, strict: bool = False) -> SequenceList:
    """OTB-100, rooted at ``root`` or the environment's ``otb_path``."""
    return spec_sequences("otb", "otb_path", _records("otb100.json", specs, spec_file),
                          resolve_dataset_root(root, "otb_path"), strict=strict)


def nfs(root: str | Path | None = None, *, specs: list[dict] | None = None,
        spec_file: str | Path | None = None, strict: bool = False) -> SequenceList:
    """Need for Speed, 30 fps version, rooted at ``root`` or ``nfs_path``."""
    return spec_sequences("nfs", "nfs_path", _records("nfs.json", specs, spec_file),
                          resolve_dataset_root(root, "nfs_path"), strict=strict)


def uav(root: str | Path | None = None, *, specs: list[dict] | None = None,
        spec_file: str | Path | None = None, strict: bool = False) -> SequenceList:
    """UAV123, rooted at ``root`` or ``uav_path``; NaN rows where the target is absent are kept."""
    return spec_sequences("uav", "uav_path", _records("uav123.json", specs, spec_file),
                          resolve_dataset_root(root, "uav_path"), strict=strict)


def _key(name: str) -> str:
    return name.lower().replace("_", "")


def tpl_otb_overlap(tpl_records: list[dict], otb_records: list[dict]) -> set[str]:
    """Names of the TPL sequences that are OTB-100 sequences.

    tpl.json has no flag for it, so they are found by name: a TPL name without its ``tpl_``
    prefix matches an OTB name, or the folder-sharing base of one (``Jogging_1`` -> ``Jogging``),
    case-insensitively and ignoring underscores (``tpl_Jogging1`` is OTB ``Jogging_1``). Names
    with ``_ce`` are Temple-Color's own new sequences and never match (``tpl_Skiing_ce`` is not
    OTB ``Skiing``).
    """
    otb_keys = set()
    for record in otb_records:
        otb_keys.add(_key(record["name"]))
        otb_keys.add(_key(re.sub(r"_\d+$", "", record["name"])))
    overlap = set()
    for record in tpl_records:
        short = re.sub(r"^tpl_", "", record["name"])
        if "_ce" not in short.lower() and _key(short) in otb_keys:
            overlap.add(record["name"])
    return overlap


def tpl(root: str | Path | None = None, *, specs: list[dict] | None = None,
        spec_file: str | Path | None = None, strict: bool = False, exclude_otb: bool = False,
        otb_specs: list[dict] | None = None) -> SequenceList:
    """Temple-Color-128, rooted at ``root`` or ``tpl_path``; ``exclude_otb`` leaves out the
    sequences it shares with OTB-100 (see :func:`tpl_otb_overlap`)."""
    records = _records("tpl.json", specs, spec_file)
    exclude = set()
    if exclude_otb:
        exclude = tpl_otb_overlap(records, otb_specs if otb_specs is not None else read_spec("otb100.json"))
    return spec_sequences("tpl", "tpl_path", records, resolve_dataset_root(root, "tpl_path"), strict=strict,
                          exclude=exclude)
