"""MOTChallenge benchmarks (2DMOT15, MOT16, MOT17, MOT20) for training and evaluation.

Layout, under a benchmark root (environment fields ``mot15_dir``, ``mot16_dir``, ``mot17_dir``,
``mot20_dir``)::

    train/<seq>/seqinfo.ini      [Sequence] name, imDir, frameRate, seqLength, imWidth, imHeight, imExt
    train/<seq>/img1/000001.jpg  frames, 1-based
    train/<seq>/gt/gt.txt        frame, id, x, y, w, h, mark, class, visibility (MOT16/17/20);
                                 frame, id, x, y, w, h, mark, -1, -1, -1 (2DMOT15: no classes)
    train/<seq>/det/det.txt      public detections: frame, -1, x, y, w, h, score, ...
    test/<seq>/...               the same without gt/

MOT17 holds each sequence three times (``MOT17-02-DPM``, ``-FRCNN``, ``-SDP``) with the same frames
and ground truth and the detections of one public detector each: the training dataset lists each
sequence once (frames and ground truth read once) and takes ``det.txt`` from the copy of the
detector it is given.

Splits: ``train``, ``test``, and the halves of each training sequence used for ablations,
``half-train`` and ``half-val`` (:func:`half_frame_range`), in two published conventions that
differ by one frame:

- ``"mmtracking"`` (``tools/convert_datasets/mot/mot2coco.py``): ``split_frame = N // 2 + 1``;
  half-train is frames ``1 .. N // 2 + 1``, half-val ``N // 2 + 2 .. N``. The middle frame (and,
  for even N, the one after it) is in half-train.
- ``"fairmot"`` (``src/gen_data_path.py``: ``mot17.half`` / ``mot17.val``; ``src/track_half.py``;
  ByteTrack's converter splits the same way): ``half = int(N / 2)``; half-train is frames
  ``1 .. N // 2``, half-val ``N // 2 + 1 .. N``. The middle frame of an odd N is in half-val.
"""

from __future__ import annotations

import configparser
import dataclasses
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from admin.environment import resolve_dataset_root, where_to_set
from ltr.data.box_files import BoxFileError, MotRows, read_mot_rows
from ltr.data.image_loader import imread
from ltr.dataset.base_video_dataset import LRUCache
from ltr.dataset.check import check_datasets, missing_file, missing_folder

logger = logging.getLogger(__name__)

# name -> (environment field, the benchmark's own name)
BENCHMARKS: dict[str, tuple[str, str]] = {
    "mot15": ("mot15_dir", "2DMOT15"),
    "mot16": ("mot16_dir", "MOT16"),
    "mot17": ("mot17_dir", "MOT17"),
    "mot20": ("mot20_dir", "MOT20"),
}
MOT17_DETECTORS = ("DPM", "FRCNN", "SDP")
HALF_SPLITS = ("mmtracking", "fairmot")
# "val" exists only in the generated synthetic dataset (its validation sequences, with ground truth).
SPLITS = ("train", "val", "test", "half-train", "half-val")
PEDESTRIAN = 1
_SEQINFO_KEYS = {"name": str, "imDir": str, "frameRate": float, "seqLength": int, "imWidth": int, "imHeight": int,
                 "imExt": str}


class MotDataError(BoxFileError):
    """A MOTChallenge file that cannot be used; the message names it (and the line) and what to do."""


@dataclasses.dataclass(frozen=True)
class SeqInfo:
    """The ``seqinfo.ini`` of one sequence folder ``folder``."""

    folder: Path
    name: str
    im_dir: str
    frame_rate: float
    seq_length: int
    im_width: int
    im_height: int
    im_ext: str

    def frame_path(self, number: int) -> Path:
        """The image of 1-based frame ``number``: ``<folder>/<imDir>/%06d<imExt>``."""
        return self.folder / self.im_dir / f"{number:06d}{self.im_ext}"

    @property
    def gt_file(self) -> Path:
        return self.folder / "gt" / "gt.txt"

    @property
    def det_file(self) -> Path:
        return self.folder / "det" / "det.txt"


def read_seqinfo(folder: str | os.PathLike, field: str | None = None) -> SeqInfo:
    """The ``seqinfo.ini`` of sequence ``folder``.

    Raises:
        FileNotFoundError: the file is missing (names it and the field to check).
        MotDataError: a key is missing or not a number where one is needed (names file and key).
    """
    folder = Path(folder)
    path = folder / "seqinfo.ini"
    if missing_file(path):
        hint = f"; or check that {field} points at the benchmark ({where_to_set(field)})" if field else ""
        raise FileNotFoundError(f"{path} is missing: every MOTChallenge sequence folder holds one; download or "
                                f"extract the benchmark again{hint}")
    parser = configparser.ConfigParser()
    # MOTChallenge's keys are camelCase: keep their case.
    parser.optionxform = str
    try:
        parser.read_string(path.read_text(), source=str(path))
    except configparser.Error as error:
        raise MotDataError(f"{path} is not an ini file ({error}); replace it with the benchmark's original") from None
    if not parser.has_section("Sequence"):
        raise MotDataError(f"{path} has no [Sequence] section; replace it with the benchmark's original")
    section = parser["Sequence"]
    values = {}
    for key, kind in _SEQINFO_KEYS.items():
        if key not in section:
            raise MotDataError(f"{path}: key {key!r} is missing from [Sequence]; replace the file with the "
                               f"benchmark's original")
        try:
            values[key] = kind(section[key].strip())
        except ValueError:
            raise MotDataError(f"{path}: {key}={section[key]!r} is not a {kind.__name__}; fix or replace the file") from None
    for key in ("seqLength", "imWidth", "imHeight"):
        if values[key] <= 0:
            raise MotDataError(f"{path}: {key}={values[key]} must be positive; fix or replace the file")
    return SeqInfo(folder, values["name"], values["imDir"], values["frameRate"], values["seqLength"],
                   values["imWidth"], values["imHeight"], values["imExt"])


def half_frame_range(seq_length: int, half: str, convention: str = "mmtracking") -> tuple[int, int]:
    """The 1-based inclusive frame range ``(first, last)`` of ``half`` (``'half-train'`` or
    ``'half-val'``) of a sequence of ``seq_length`` frames, in ``convention`` (see the module's
    docstring): mmtracking cuts after frame ``N // 2 + 1``, FairMOT after frame ``N // 2``."""
    if convention not in HALF_SPLITS:
        raise ValueError(f"unknown half-split convention {convention!r}: use one of {', '.join(HALF_SPLITS)}")
    cut = seq_length // 2 + 1 if convention == "mmtracking" else seq_length // 2
    if half == "half-train":
        return 1, cut
    if half == "half-val":
        return cut + 1, seq_length
    raise ValueError(f"unknown half {half!r}: use 'half-train' or 'half-val'")


def frame_range(info: SeqInfo, split: str, convention: str = "mmtracking") -> tuple[int, int]:
    """The 1-based inclusive frames of ``info``'s sequence in ``split`` (all of them for train and test)."""
    if split in ("train", "val", "test"):
        return 1, info.seq_length
    return half_frame_range(info.seq_length, split, convention)


def split_folder(split: str) -> str:
    """The folder a split's sequences live in: the halves are halves of ``train/``."""
    if split not in SPLITS:
        raise ValueError(f"unknown MOTChallenge split {split!r}: use one of {', '.join(SPLITS)}")
    return split if split in ("val", "test") else "train"


def mot17_base(name: str) -> tuple[str, str | None]:
    """``'MOT17-02-FRCNN'`` -> ``('MOT17-02', 'FRCNN')``; a name without a detector suffix -> ``(name, None)``."""
    base, dash, detector = name.rpartition("-")
    if dash and detector in MOT17_DETECTORS:
        return base, detector
    return name, None


def list_sequence_folders(folder: Path, *, detector: str | None = None, once: bool = False) -> list[Path]:
    """The sequence folders in ``folder`` (a benchmark's ``train/`` or ``test/``), sorted by name.

    MOT17 copies: ``detector`` keeps only that detector's copies; ``once`` keeps one copy per
    sequence (``detector``'s, else the first by name), for readers that need frames and ground
    truth once."""
    if missing_folder(folder):
        raise FileNotFoundError(f"{folder} is missing: a MOTChallenge benchmark root holds train/ and test/; "
                                f"download or extract it again, or point the root elsewhere")
    if detector is not None and detector not in MOT17_DETECTORS:
        raise ValueError(f"unknown MOT17 detector {detector!r}: use one of {', '.join(MOT17_DETECTORS)}")
    folders = sorted(p for p in folder.iterdir() if p.is_dir())
    if detector is not None:
        copies = [p for p in folders if mot17_base(p.name)[1] is not None]
        if copies:
            folders = [p for p in folders if mot17_base(p.name)[1] in (None, detector)]
    if once:
        chosen: dict[str, Path] = {}
        for path in folders:
            chosen.setdefault(mot17_base(path.name)[0], path)
        folders = list(chosen.values())
    return folders


def read_ground_truth(info: SeqInfo, field: str | None = None) -> MotRows:
    """The rows of ``info``'s ``gt/gt.txt``, in the MOT16/17/20 column layout: 2DMOT15's rows
    (no classes: ``x, y, z`` world coordinates after the mark) become class 1 (pedestrian) and
    visibility 1, so every benchmark's rows have ``classes`` and ``visibility``.

    Errors (MotDataError, naming the file and line): a malformed or non-numeric line, NaN, a
    negative or zero size, a frame number beyond ``seqLength``; FileNotFoundError when missing."""
    rows = read_mot_rows(info.gt_file, what="ground-truth file", field=field, error=MotDataError,
                         positive_size=True, max_frame=info.seq_length)
    if rows.extra.shape[1] == 2:
        return rows
    if rows.extra.shape[1] == 3 and (len(rows) == 0 or np.all(rows.extra[:, 1:] == -1)):
        # 2DMOT15: the columns after the mark are world coordinates (-1), not class and visibility.
        extra = np.column_stack([np.full(len(rows), PEDESTRIAN, np.float64), np.ones(len(rows))])
        return MotRows(rows.frame, rows.id, rows.box, rows.score, extra)
    if rows.extra.shape[1] >= 2:
        return MotRows(rows.frame, rows.id, rows.box, rows.score, rows.extra[:, :2])
    raise MotDataError(f"{info.gt_file}: {7 + rows.extra.shape[1]} columns per line; MOTChallenge ground truth has 9 "
                       f"(frame, id, x, y, w, h, mark, class, visibility) or 10 (2DMOT15); fix or replace the file")


def read_detections(info: SeqInfo, field: str | None = None) -> MotRows:
    """The public detections ``det/det.txt`` of ``info``'s sequence (score in ``score``).
    Errors as :func:`read_ground_truth`."""
    return read_mot_rows(info.det_file, what="detection file", field=field, error=MotDataError,
                         positive_size=True, max_frame=info.seq_length)


def filter_rows(rows: MotRows, *, pedestrians_only: bool = False, min_visibility: float = 0.0,
                consider_only: bool = False) -> MotRows:
    """Ground-truth rows kept by the options: class 1 only, visibility at least ``min_visibility``,
    rows whose mark (7th column, "consider") is not 0."""
    keep = np.ones(len(rows), dtype=bool)
    if pedestrians_only:
        keep &= rows.classes == PEDESTRIAN
    if min_visibility > 0:
        keep &= rows.visibility >= min_visibility
    if consider_only:
        keep &= rows.score != 0
    return rows.select(keep)


def detections_array(rows: MotRows) -> np.ndarray:
    """``(N, 5)`` float64 ``[x, y, w, h, score]`` of detection rows."""
    return np.column_stack([rows.box, rows.score]) if len(rows) else np.zeros((0, 5))


@dataclasses.dataclass
class MotFrame:
    """The annotation of one frame. Shapes: ``boxes (K, 4)`` float64 ``[x, y, w, h]`` pixels;
    ``ids``, ``classes`` ``(K,)`` int64; ``visibility``, ``mark`` ``(K,)`` float64."""

    boxes: np.ndarray
    ids: np.ndarray
    classes: np.ndarray
    visibility: np.ndarray
    mark: np.ndarray

    @classmethod
    def from_rows(cls, rows: MotRows) -> MotFrame:
        return cls(rows.box, rows.id, rows.classes, rows.visibility, rows.score)


@dataclasses.dataclass
class MotSequenceData:
    """One sequence of a split: its ``seqinfo.ini`` and the 1-based inclusive frames ``first .. last``."""

    info: SeqInfo
    first: int
    last: int

    @property
    def frame_numbers(self) -> list[int]:
        return list(range(self.first, self.last + 1))


class MotChallenge:
    """A MOTChallenge benchmark split for training: sequences of frames with many objects.

    Args:
        root: the benchmark root holding ``train/`` and ``test/``; None: the environment field of
            ``benchmark`` (``mot17_dir``...).
        benchmark: ``'mot15'``, ``'mot16'``, ``'mot17'`` or ``'mot20'``.
        split: ``'train'``, ``'test'``, ``'half-train'`` or ``'half-val'``.
        half_split: ``'mmtracking'`` or ``'fairmot'``: where the halves are cut (module docstring).
        detector: MOT17: the public detector whose ``det.txt`` is read (default FRCNN); each
            sequence is listed once, its frames read from that detector's copy.
        pedestrians_only, min_visibility, consider_only: ground-truth filters (:func:`filter_rows`).
        image_loader: reads a frame file into an RGB uint8 ``(H, W, 3)`` array.

    Sequence ids index :attr:`sequences`; frames are 1-based MOTChallenge frame numbers.
    ``seqinfo.ini`` and annotation files are read on first use of a sequence (and checked by
    :meth:`verify_tree`)."""

    def __init__(self, root: str | os.PathLike | None = None, benchmark: str = "mot17", split: str = "train", *,
                 half_split: str = "mmtracking", detector: str | None = None, pedestrians_only: bool = False,
                 min_visibility: float = 0.0, consider_only: bool = False,
                 image_loader: Callable[[str], np.ndarray] = imread):
        if benchmark not in BENCHMARKS:
            raise ValueError(f"unknown MOTChallenge benchmark {benchmark!r}: use one of {', '.join(BENCHMARKS)}")
        if half_split not in HALF_SPLITS:
            raise ValueError(f"unknown half-split convention {half_split!r}: use one of {', '.join(HALF_SPLITS)}")
        self.env_field, title = BENCHMARKS[benchmark]
        self.benchmark, self.split, self.half_split = benchmark, split, half_split
        self.name = f"{benchmark}_{split}"
        self.root = resolve_dataset_root(root, self.env_field, title)
        self.detector = detector or ("FRCNN" if benchmark == "mot17" else None)
        self.filters = dict(pedestrians_only=pedestrians_only, min_visibility=min_visibility,
                            consider_only=consider_only)
        self.image_loader = image_loader
        folder = self.root / split_folder(split)
        self.sequence_folders = list_sequence_folders(folder, detector=self.detector, once=True)
        if not self.sequence_folders:
            raise FileNotFoundError(f"{folder} holds no sequence folders: download or extract {title} again, or "
                                    f"{where_to_set(self.env_field)}")
        self._cache = LRUCache(64)
        logger.info("%s: %d sequences in %s", self.name, len(self.sequence_folders), folder)

    @property
    def has_ground_truth(self) -> bool:
        return self.split != "test"

    def get_num_sequences(self) -> int:
        return len(self.sequence_folders)

    def get_sequence_name(self, seq_id: int) -> str:
        """The sequence's name; MOT17 without the detector suffix (its frames are shared)."""
        return mot17_base(self.sequence_folders[seq_id].name)[0]

    def get_sequence(self, seq_id: int) -> MotSequenceData:
        """The sequence's seqinfo and frame range in this split (reads ``seqinfo.ini``)."""
        def load() -> MotSequenceData:
            info = read_seqinfo(self.sequence_folders[seq_id], self.env_field)
            return MotSequenceData(info, *frame_range(info, self.split, self.half_split))
        return self._cache.get(("sequence", seq_id), load)

    def get_annotations(self, seq_id: int) -> MotRows:
        """The filtered ground-truth rows of the sequence's frames in this split (none for test)."""
        def load() -> MotRows:
            sequence = self.get_sequence(seq_id)
            if not self.has_ground_truth:
                return MotRows.from_array(np.zeros((0, 9)))
            rows = filter_rows(read_ground_truth(sequence.info, self.env_field), **self.filters)
            return rows.select((rows.frame >= sequence.first) & (rows.frame <= sequence.last))
        return self._cache.get(("gt", seq_id), load)

    def get_detections(self, seq_id: int) -> MotRows:
        """The public detections of the sequence's frames in this split."""
        def load() -> MotRows:
            sequence = self.get_sequence(seq_id)
            rows = read_detections(sequence.info, self.env_field)
            return rows.select((rows.frame >= sequence.first) & (rows.frame <= sequence.last))
        return self._cache.get(("det", seq_id), load)

    def get_frame_annotation(self, seq_id: int, frame: int) -> MotFrame:
        """The annotation of 1-based ``frame`` (:class:`MotFrame`)."""
        rows = self.get_annotations(seq_id)
        return MotFrame.from_rows(rows.select(rows.frame == frame))

    def get_frame_path(self, seq_id: int, frame: int) -> Path:
        sequence = self.get_sequence(seq_id)
        if not sequence.first <= frame <= sequence.last:
            raise IndexError(f"{self.name}: frame {frame} of {self.get_sequence_name(seq_id)} is outside this split's "
                             f"frames {sequence.first}..{sequence.last}")
        return sequence.info.frame_path(frame)

    def get_frames(self, seq_id: int, frames: list[int]) -> tuple[list[np.ndarray], list[MotFrame]]:
        """The images (RGB uint8 ``(H, W, 3)``) and annotations of 1-based ``frames``.

        Raises FileNotFoundError naming a missing frame file."""
        images = []
        for frame in frames:
            path = self.get_frame_path(seq_id, frame)
            if missing_file(path):
                raise FileNotFoundError(f"frame {path} is missing (seqinfo.ini says {self.get_sequence(seq_id).info.seq_length} "
                                        f"frames): download or extract {self.get_sequence_name(seq_id)} again")
            images.append(self.image_loader(str(path)))
        return images, [self.get_frame_annotation(seq_id, frame) for frame in frames]

    def verify_tree(self) -> list[str]:
        """Problems of the tree (one line each): a missing or unreadable ``seqinfo.ini``, image
        folder, frame file, ``gt/gt.txt`` (train splits) or ``det/det.txt``. Frame files are
        checked by one listing per sequence; no image is decoded and no annotation parsed."""
        problems = []
        for folder in self.sequence_folders:
            prefix = f"{self.name}: sequence {folder.name}"
            try:
                info = read_seqinfo(folder, self.env_field)
            except (OSError, ValueError) as error:
                problems.append(f"{prefix}: {error}")
                continue
            image_dir = folder / info.im_dir
            if missing_folder(image_dir):
                problems.append(f"{prefix}: its image folder {image_dir} is missing")
                continue
            present = set(os.listdir(image_dir))
            absent = [n for n in range(1, info.seq_length + 1) if info.frame_path(n).name not in present]
            if absent:
                problems.append(f"{prefix}: {len(absent)} of {info.seq_length} frames are missing "
                                f"(first: {info.frame_path(absent[0])})")
            needed = [info.det_file] + ([info.gt_file] if self.has_ground_truth else [])
            problems += [f"{prefix}: {path} is missing" for path in needed if missing_file(path)]
        return problems

    def check(self) -> None:
        """Raise DatasetCheckError listing every problem of :meth:`verify_tree`."""
        check_datasets([self])
