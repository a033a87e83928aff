"""MOTChallenge evaluation datasets (2DMOT15, MOT16, MOT17, MOT20) and the generated synthetic MOT
dataset (MOTChallenge layout, ``synthetic_mot_dir``): sequences with many objects and their public
detections. Layouts and splits: :mod:`ltr.dataset.mot.motchallenge`.

A :class:`MotSequence` is a :class:`~pytracking.evaluation.data.Sequence` whose ground truth is
:class:`~ltr.data.box_files.MotRows` (all rows, unfiltered: the metrics apply the benchmark's
preprocessing) and which hands the tracker its public detections:

- ``init_info()`` -> ``{"detections": (N, 5) float64 [x, y, w, h, score]}`` of the first frame;
- ``frame_info(index)`` -> the same for frame ``index`` (0-based into ``frames``; the file's
  frame number is ``first_frame + index``).

Frames are the sequence's frames in the split (``half-val``: the second half, mmtracking's cut by
default), so ``len(seq)`` is the number of frames the tracker runs on; ``first_frame`` is the
MOTChallenge number of ``frames[0]``, which a result file's frame column must use.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from admin.environment import resolve_dataset_root
from ltr.data.box_files import MotRows
from ltr.dataset.mot.motchallenge import (BENCHMARKS, detections_array, frame_range, list_sequence_folders,
                                          read_detections, read_ground_truth, read_seqinfo, split_folder)

from .data import Sequence, SequenceList


def _read(folder: Path, split: str, half_split: str, field: str, what: str):
    info = read_seqinfo(folder, field)
    first, last = frame_range(info, split, half_split)
    if what == "info":
        return info, first, last
    rows = read_ground_truth(info, field) if what == "gt" else read_detections(info, field)
    return rows.select((rows.frame >= first) & (rows.frame <= last))


class MotSequence(Sequence):
    """A multi-object evaluation sequence (see the module docstring). ``ground_truth`` is
    :class:`MotRows` (empty for test splits); ``detections`` the public detections' rows."""

    def __init__(self, name: str, folder: Path, dataset: str, *, split: str, half_split: str = "mmtracking",
                 field: str):
        self._where = (Path(folder), split, half_split, field)
        self.split = split
        self._info = self._gt = self._det = None
        # Sequence's own storage stays for the SOT attributes; everything MOT is read here, lazily.
        super().__init__(name, [], dataset, np.zeros((0, 4)), anno_path=str(Path(folder) / "gt" / "gt.txt"))

    def _load_info(self):
        if self._info is None:
            self._info = _read(*self._where, "info")
        return self._info

    @property
    def seqinfo(self):
        """The sequence's :class:`~ltr.dataset.mot.motchallenge.SeqInfo`."""
        return self._load_info()[0]

    @property
    def first_frame(self) -> int:
        return self._load_info()[1]

    @property
    def frames(self) -> list[str]:
        info, first, last = self._load_info()
        return [str(info.frame_path(n)) for n in range(first, last + 1)]

    def __len__(self) -> int:
        _, first, last = self._load_info()
        return last - first + 1

    @property
    def ground_truth(self) -> MotRows:
        if self.split == "test":
            return MotRows.from_array(np.zeros((0, 9)))
        if self._gt is None:
            self._gt = _read(*self._where, "gt")
        return self._gt

    @property
    def ground_truth_rect(self) -> np.ndarray:
        raise AttributeError(f"sequence {self.name!r} ({self.dataset}) is a multi-object sequence: its ground truth "
                             f"is seq.ground_truth (MOT rows), not one box per frame")

    @property
    def detections(self) -> MotRows:
        if self._det is None:
            self._det = _read(*self._where, "det")
        return self._det

    def frame_info(self, index: int) -> dict:
        """``{"detections": (N, 5) [x, y, w, h, score]}`` of frame ``index`` (0-based)."""
        rows = self.detections
        return {"detections": detections_array(rows.select(rows.frame == self.first_frame + index))}

    def init_info(self) -> dict:
        """The first frame's detections, as :meth:`frame_info` (a MOT tracker starts from no box),
        the sequence's name as ``"sequence_name"`` (for settings made per sequence) and its
        ``seqinfo.ini`` frame rate as ``"sequence_frame_rate"`` (FairMOT's track.py reads it)."""
        return {**self.frame_info(0), "sequence_name": self.name, "sequence_frame_rate": self.seqinfo.frame_rate}

    def __repr__(self) -> str:
        return f"MotSequence(name={self.name!r}, dataset={self.dataset!r}, split={self.split!r})"


def _motchallenge(benchmark: str, root, split: str, *, detector: str | None = None,
                  half_split: str = "mmtracking", field: str | None = None, dataset: str | None = None,
                  sequences=None) -> SequenceList:
    field = field or BENCHMARKS[benchmark][0]
    base = resolve_dataset_root(root, field)
    folders = list_sequence_folders(base / split_folder(split), detector=detector)
    if sequences is not None:
        wanted = set(sequences)
        folders = [f for f in folders if f.name in wanted]
    name = dataset or f"{benchmark}_{split.replace('-', '_')}"
    return SequenceList(MotSequence(f.name, f, name, split=split, half_split=half_split, field=field) for f in folders)


def mot15(root=None, *, split: str = "train", half_split: str = "mmtracking", sequences=None) -> SequenceList:
    """2DMOT15 ``train``, ``test`` or ``half-val``, rooted at ``root`` or ``mot15_dir``."""
    return _motchallenge("mot15", root, split, half_split=half_split, sequences=sequences)


def mot16(root=None, *, split: str = "train", half_split: str = "mmtracking", sequences=None) -> SequenceList:
    """MOT16, as :func:`mot15` (``mot16_dir``)."""
    return _motchallenge("mot16", root, split, half_split=half_split, sequences=sequences)


def mot17(root=None, *, split: str = "train", detector: str = "FRCNN", half_split: str = "mmtracking",
          sequences=None) -> SequenceList:
    """MOT17 with the public detections of ``detector`` (``'DPM'``, ``'FRCNN'``, ``'SDP'``):
    the sequences ``MOT17-xx-<detector>`` (``mot17_dir``)."""
    return _motchallenge("mot17", root, split, detector=detector, half_split=half_split, sequences=sequences)


def mot20(root=None, *, split: str = "train", half_split: str = "mmtracking", sequences=None) -> SequenceList:
    """MOT20, as :func:`mot15` (``mot20_dir``)."""
    return _motchallenge("mot20", root, split, half_split=half_split, sequences=sequences)


def synthetic_mot(root=None, *, split: str = "train", half_split: str = "mmtracking", sequences=None) -> SequenceList:
    """The generated synthetic MOT dataset (MOTChallenge layout) at ``root`` or ``synthetic_mot_dir``."""
    return _motchallenge("mot17", root, split, half_split=half_split, field="synthetic_mot_dir",
                         dataset="synthetic_mot", sequences=sequences)
