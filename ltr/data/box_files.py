"""The one reader and writer of box files: per-frame annotations (``x,y,w,h`` rows, VOT polygons),
label files (one integer per frame), tracking results, and MOTChallenge rows
(``frame, id, x, y, w, h, score, ...``). A single-object result is a multi-object result with one
identity: :func:`boxes_to_mot` and :func:`mot_to_boxes` convert between the two.

Rows are separated by commas, spaces or tabs. Text is parsed by numpy in one call; only text that
this fast path rejects, or in which it finds something a policy forbids, is read again line by
line, so that the error names the file and the line. Policies differ by caller and are keyword
options of :func:`parse_rows`: annotations keep NaN (absent targets), results refuse it (and inf); VOT
lines may be 8 polygon corners; blank lines inside a training annotation file are an error (they
would shift every later frame), elsewhere they are skipped.

Writers format rows exactly (a fixed number of decimals) and write the file atomically.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from admin.environment import where_to_set
from ltr.data.boxes import xyxy_to_xywh
from ltr.fileio import atomic_write_text

# Commas, spaces and tabs, in any mix: every box format the toolkit reads uses one of them.
_SEPARATORS = re.compile(r"[,\s]+")
# A blank line between two rows (trailing blank lines are always ignored).
_INTERIOR_BLANK = re.compile(r"\n[ \t\r\f\v]*\n")
_WORDS = {4: "four", 6: "six", 7: "seven", 8: "eight"}


class BoxFileError(ValueError):
    """A box, label or MOT file that cannot be read; the message names it, the line and what to do."""


class ResultFileError(BoxFileError):
    """A result file that cannot be scored; the message names it and what is wrong."""


def read_text(path: str | os.PathLike, *, what: str = "annotation file", field: str | None = None) -> str:
    """The text of ``path``; FileNotFoundError names it (and ``field``, where given) when missing."""
    path = Path(path)
    try:
        return path.read_text()
    except FileNotFoundError:
        hint = f"; check that {field} points at it ({where_to_set(field)})" if field else ""
        raise FileNotFoundError(f"{what} {path} is missing: the dataset is incomplete, download or extract "
                                f"it again{hint}") from None
    except UnicodeDecodeError as error:
        raise BoxFileError(f"{path} is not a text file ({error}): replace it with the dataset's original") from None


def polygon_to_box(polygon: np.ndarray) -> np.ndarray:
    """``(N, 8)`` corners ``x1, y1, ..., x4, y4`` to ``(N, 4)`` axis-aligned ``[x, y, w, h]``
    boxes spanning them (min and max of the corners)."""
    xs, ys = polygon[:, 0::2], polygon[:, 1::2]
    corners = np.stack([xs.min(axis=1), ys.min(axis=1), xs.max(axis=1), ys.max(axis=1)], axis=1)
    return xyxy_to_xywh(corners)


def _expected(columns: tuple[int, ...] | None, min_columns: int, layout: str) -> str:
    if columns is None:
        return f"at least {_WORDS.get(min_columns, min_columns)} numbers {layout}"
    words = " or ".join(_WORDS.get(c, str(c)) for c in columns)
    return f"{words} numbers {layout}"


@dataclasses.dataclass(frozen=True)
class _Policy:
    columns: tuple[int, ...] | None
    min_columns: int
    nan: bool
    nonnegative_size: bool
    size_column: int
    skip_blank: bool


def parse_fast(text: str, *, columns: Sequence[int] | None = (4,), min_columns: int = 4, nan: bool = True,
               nonnegative_size: bool = False, size_column: int = 2, skip_blank: bool = True) -> np.ndarray | None:
    """The float64 rows of ``text`` parsed by numpy in one call, or None where they are not plainly
    valid under the policy (see :func:`parse_rows`): the line-by-line reader then says what is wrong.
    Empty text is None too (the caller decides whether no rows is allowed)."""
    if not text.strip():
        return None
    if not skip_blank and _INTERIOR_BLANK.search(text.strip()):
        return None
    try:
        rows = np.loadtxt(io.StringIO(text.replace(",", " ")), dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        return None
    width = rows.shape[1]
    if (columns is not None and width not in columns) or width < min_columns:
        return None
    # A policy without NaN (results) refuses infinities too: neither is a box.
    if not nan and not np.isfinite(rows).all():
        return None
    if nonnegative_size and (rows[:, size_column:size_column + 2] < 0).any():
        return None
    return rows


def parse_lines(path: str | os.PathLike, text: str, *, columns: Sequence[int] | None = (4,), min_columns: int = 4,
                nan: bool = True, nonnegative_size: bool = False, size_column: int = 2, skip_blank: bool = True,
                layout: str = "x,y,w,h", error: type[BoxFileError] = BoxFileError) -> list[list[float]]:
    """The rows of ``text``, checked line by line; every error names ``path`` and the line."""
    rows: list[list[float]] = []
    width = None
    lines = text.splitlines() if skip_blank else text.rstrip().splitlines()
    for number, line in enumerate(lines, 1):
        if skip_blank and not line.strip():
            continue
        tokens = [t for t in _SEPARATORS.split(line.strip()) if t]
        try:
            values = [float(t) for t in tokens]
            detail = f"{len(values)} values"
        except ValueError:
            values = None
            detail = "not all numbers"
        wrong_width = values is not None and (
            (columns is not None and len(values) not in columns) or len(values) < min_columns
            or (columns is None and width is not None and len(values) != width))
        if values is None or wrong_width:
            if values is not None and columns is None and width is not None and len(values) >= min_columns:
                detail += f" where the lines above have {width}"
            raise error(f"{path}, line {number}: expected {_expected(columns, min_columns, layout)}, "
                        f"got {line!r} ({detail}); fix or replace the file")
        if not nan and not np.isfinite(values).all():
            what = "NaN" if any(np.isnan(values)) else "an infinite value"
            raise error(f"{path}, line {number}: {what} in {line!r}; results must hold a finite box for every "
                        f"frame; run the tracker on this sequence again")
        if nonnegative_size and (values[size_column] < 0 or values[size_column + 1] < 0):
            raise error(f"{path}, line {number}: negative size in {line!r}; fix or replace the file")
        width = len(values)
        rows.append(values)
    return rows


def parse_rows(path: str | os.PathLike, text: str, *, columns: Sequence[int] | None = (4,), min_columns: int = 4,
               nan: bool = True, nonnegative_size: bool = False, size_column: int = 2, skip_blank: bool = True,
               layout: str = "x,y,w,h", error: type[BoxFileError] = BoxFileError) -> np.ndarray:
    """The float64 rows of ``text`` (the content of ``path``), separated by commas, spaces or tabs.

    Args:
        columns: the allowed numbers of values per line (None: any, at least ``min_columns``, the
            same on every line).
        nan: NaN values are kept (annotations: the target is absent), or an error (results).
        nonnegative_size: a negative ``w`` or ``h`` (columns ``size_column`` and the next) is an error.
        skip_blank: blank lines are skipped, or a blank line between rows is an error.
        layout, error: how the error message names a row's values, and the error type.

    Returns ``(N, C)`` rows. Lines of mixed widths (VOT's boxes and polygons) are read by
    :func:`read_boxes`, which converts them to one width.
    """
    options = dict(columns=tuple(columns) if columns is not None else None, min_columns=min_columns, nan=nan,
                   nonnegative_size=nonnegative_size, size_column=size_column, skip_blank=skip_blank)
    rows = parse_fast(text, **options)
    if rows is not None:
        return rows
    lines = parse_lines(path, text, layout=layout, error=error, **options)
    width = len(lines[0]) if lines else (options["columns"] or (min_columns,))[0]
    return np.asarray(lines, dtype=np.float64).reshape(-1, width)


def read_boxes(path: str | os.PathLike, *, polygons: bool = False, nan: bool = True, skip_blank: bool = True,
               dtype=np.float64, field: str | None = None, what: str = "annotation file") -> np.ndarray:
    """The ``(N, 4)`` boxes ``[x, y, w, h]`` of an annotation file, one row per frame.

    ``polygons``: lines of 8 values (VOT corners) become the axis-aligned box around them.
    ``field``: the environment field of the dataset, named when the file is missing.

    Raises:
        FileNotFoundError: the file is missing.
        BoxFileError (a ValueError): a malformed line, naming the file and the line.
    """
    text = read_text(path, what=what, field=field)
    columns = (4, 8) if polygons else (4,)
    layout = "x,y,w,h or polygon corners" if polygons else "x,y,w,h"
    options = dict(columns=columns, nan=nan, skip_blank=skip_blank)
    rows = parse_fast(text, **options)
    if rows is None:
        lines = parse_lines(path, text, layout=layout, **options)
        rows = [polygon_to_box(np.asarray([r]))[0] if len(r) == 8 else r for r in lines]
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    elif rows.shape[1] == 8:
        rows = polygon_to_box(rows)
    return np.ascontiguousarray(rows, dtype=dtype)


def read_labels(path: str | os.PathLike, allowed: Iterable[int] = (0, 1), *, field: str | None = None,
                what: str = "label file") -> np.ndarray:
    """Integer labels, one per frame, one per line or comma-separated on one line (int64).

    A value that is not one of ``allowed`` raises BoxFileError naming the file and the line."""
    text = read_text(path, what=what, field=field)
    allowed = set(allowed)
    values = []
    for number, line in enumerate(text.rstrip().splitlines(), 1):
        for token in _SEPARATORS.split(line.strip()):
            if not token:
                continue
            try:
                value = int(token)
            except ValueError:
                value = None
            if value not in allowed:
                raise BoxFileError(f"{path}, line {number}: label {token!r} is not one of "
                                   f"{sorted(allowed)}; fix or replace the file")
            values.append(value)
    return np.asarray(values, dtype=np.int64)


def format_box_rows(rows: Iterable[Sequence[float]], *, delimiter: str = "\t", decimals: int = 4) -> str:
    """One line per row, each value with ``decimals`` decimals, separated by ``delimiter``."""
    return "".join(delimiter.join(f"{float(v):.{decimals}f}" for v in row) + "\n" for row in rows)


def write_box_rows(path: str | os.PathLike, rows: Iterable[Sequence[float]], *, delimiter: str = "\t",
                   decimals: int = 4) -> None:
    """Write ``rows`` (see :func:`format_box_rows`) atomically: the file has all rows or its old content."""
    # Formatted first: a bad value fails before anything touches the file.
    atomic_write_text(path, format_box_rows(rows, delimiter=delimiter, decimals=decimals))


# ------------------------------------------------------------------------------------------- MOT

MOT_MIN_COLUMNS = 7


@dataclasses.dataclass
class MotRows:
    """MOTChallenge rows ``frame, id, x, y, w, h, score, extra...``, column by column.

    Attributes:
        frame: ``(N,)`` int64, 1-based frame numbers.
        id: ``(N,)`` int64 identities (-1 for detections without one).
        box: ``(N, 4)`` float64 ``[x, y, w, h]``.
        score: ``(N,)`` float64, the seventh column: a confidence in results and detections, the
            "consider" mark (0 or 1) in ground truth.
        extra: ``(N, K)`` float64, the columns after the score: ``class, visibility`` in MOT16/17/20
            ground truth, ``x, y, z`` world coordinates (-1) in results, detections and 2DMOT15.
    """

    frame: np.ndarray
    id: np.ndarray
    box: np.ndarray
    score: np.ndarray
    extra: np.ndarray

    def __post_init__(self):
        self.frame = np.asarray(self.frame, dtype=np.int64).reshape(-1)
        self.id = np.asarray(self.id, dtype=np.int64).reshape(-1)
        self.box = np.asarray(self.box, dtype=np.float64).reshape(-1, 4)
        self.score = np.asarray(self.score, dtype=np.float64).reshape(-1)
        count = len(self.frame)
        extra = np.asarray(self.extra, dtype=np.float64)
        self.extra = extra if extra.ndim == 2 else extra.reshape(count, -1 if count else 0)
        if not len(self.id) == len(self.box) == len(self.score) == len(self.extra) == count:
            raise ValueError(f"MotRows: {count} frames, {len(self.id)} ids, {len(self.box)} boxes, "
                             f"{len(self.score)} scores and {len(self.extra)} extra rows; give one of each per row")

    def __len__(self) -> int:
        return len(self.frame)

    @classmethod
    def from_array(cls, rows: np.ndarray) -> MotRows:
        """From ``(N, C)`` numbers, C >= 7, in MOTChallenge column order."""
        rows = np.asarray(rows, dtype=np.float64)
        if rows.size == 0 and rows.ndim != 2:
            rows = np.zeros((0, 10))
        return cls(rows[:, 0], rows[:, 1], rows[:, 2:6], rows[:, 6], rows[:, 7:])

    def to_array(self) -> np.ndarray:
        """``(N, 7 + K)`` float64 in MOTChallenge column order."""
        return np.concatenate([self.frame[:, None], self.id[:, None], self.box, self.score[:, None], self.extra], 1)

    def select(self, mask: np.ndarray) -> MotRows:
        """The rows where ``mask`` (bool ``(N,)``) is True."""
        return MotRows(self.frame[mask], self.id[mask], self.box[mask], self.score[mask], self.extra[mask])

    @property
    def classes(self) -> np.ndarray:
        """``(N,)`` int64 class of MOT16/17/20 ground truth (the eighth column)."""
        return self._extra_column(0, "class").astype(np.int64)

    @property
    def visibility(self) -> np.ndarray:
        """``(N,)`` float64 visible ratio of MOT16/17/20 ground truth (the ninth column)."""
        return self._extra_column(1, "visibility")

    def _extra_column(self, index: int, name: str) -> np.ndarray:
        if self.extra.shape[1] <= index:
            raise ValueError(f"these MOT rows have {7 + self.extra.shape[1]} columns: no {name} column "
                             f"(column {8 + index})")
        return self.extra[:, index]


def read_mot_rows(path: str | os.PathLike, *, what: str = "MOT file", field: str | None = None,
                  error: type[BoxFileError] = BoxFileError, positive_size: bool = False,
                  max_frame: int | None = None) -> MotRows:
    """The rows of a MOTChallenge text file (``gt.txt``, ``det.txt``, a result); an empty file has none.

    A line of fewer than 7 numbers, lines of different lengths, NaN, a negative size, a frame
    number below 1 or a non-integer frame or identity raise ``error`` naming the file and line.
    ``positive_size``: a zero width or height is an error too (annotations; results may hold
    empty boxes). ``max_frame``: a frame number above it (a sequence's ``seqLength``) is an error."""
    text = read_text(path, what=what, field=field)
    if not text.strip():
        return MotRows.from_array(np.zeros((0, 10)))
    rows = parse_rows(path, text, columns=None, min_columns=MOT_MIN_COLUMNS, nan=False, nonnegative_size=True,
                      size_column=4, layout="frame,id,x,y,w,h,score,...", error=error)
    bad = (rows[:, 0] < 1) | (rows[:, 0] != np.round(rows[:, 0])) | (rows[:, 1] != np.round(rows[:, 1]))
    if bad.any():
        # Rows skip blank lines: count the file's lines again to name the right one.
        numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        number, line = numbered[int(np.argmax(bad))]
        raise error(f"{path}, line {number}: frame and id must be integers and the frame at least 1, got "
                    f"{line!r}; fix or replace the file")
    checks = []
    if positive_size:
        checks.append(((rows[:, 4] <= 0) | (rows[:, 5] <= 0), "a box of zero width or height"))
    if max_frame is not None:
        checks.append((rows[:, 0] > max_frame, f"a frame number beyond the sequence's {max_frame} frames "
                                               f"(seqLength in seqinfo.ini)"))
    for bad, problem in checks:
        if bad.any():
            number, line = _nth_row_line(text, int(np.argmax(bad)))
            raise error(f"{path}, line {number}: {problem} in {line!r}; fix or replace the file")
    return MotRows.from_array(rows)


def _nth_row_line(text: str, index: int) -> tuple[int, str]:
    """The 1-based line number and text of the ``index``-th non-blank line (rows skip blank lines)."""
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    return numbered[index]


# ------------------------------------------------------------------------- FairMOT / JDE labels

JDE_COLUMNS = 6


def read_jde_labels(path: str | os.PathLike, *, missing_ok: bool = True) -> np.ndarray:
    """The ``(K, 6)`` float64 rows ``class, id, cx/W, cy/H, w/W, h/H`` of a FairMOT/JDE
    ``labels_with_ids`` file (identity -1: unknown). A missing file is an image without objects
    where ``missing_ok`` (as in FairMOT's loader); a malformed line, NaN or a negative size raises
    BoxFileError naming the file and the line."""
    path = Path(path)
    if missing_ok and not path.exists():
        return np.zeros((0, JDE_COLUMNS))
    text = read_text(path, what="label file")
    if not text.strip():
        return np.zeros((0, JDE_COLUMNS))
    return parse_rows(path, text, columns=(JDE_COLUMNS,), min_columns=JDE_COLUMNS, nan=False, nonnegative_size=True,
                      size_column=4, layout="class id cx/W cy/H w/W h/H")


def format_jde_labels(rows: np.ndarray) -> str:
    """FairMOT's label text: ``class id`` as integers, the four normalised values with 6 decimals,
    separated by spaces (``'0 {:d} {:.6f} {:.6f} {:.6f} {:.6f}'`` in its generators)."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, JDE_COLUMNS)
    return "".join(f"{int(r[0])} {int(r[1])} {r[2]:.6f} {r[3]:.6f} {r[4]:.6f} {r[5]:.6f}\n" for r in rows)


def write_jde_labels(path: str | os.PathLike, rows: np.ndarray) -> None:
    """Write ``(K, 6)`` label rows (:func:`format_jde_labels`) atomically."""
    atomic_write_text(path, format_jde_labels(rows))


def _shortest(value: float) -> str:
    # The shortest text that reads back as the same float: -1 stays "-1", 0.35 stays "0.35".
    return np.format_float_positional(float(value), trim="-")


def format_mot_rows(rows: MotRows, *, box_decimals: int = 2, score_decimals: int = 4) -> str:
    """MOTChallenge text: ``frame,id`` as integers, the box with ``box_decimals`` decimals, the
    score with ``score_decimals``, the extra columns (class, visibility, or x, y, z) as the
    shortest text of their value (``-1`` for the unused world coordinates)."""
    lines = []
    for frame, identity, box, score, extra in zip(rows.frame, rows.id, rows.box, rows.score, rows.extra):
        values = [f"{float(v):.{box_decimals}f}" for v in box] + [f"{float(score):.{score_decimals}f}"]
        values += [_shortest(v) for v in extra]
        lines.append(f"{int(frame)},{int(identity)},{','.join(values)}\n")
    return "".join(lines)


def write_mot_rows(path: str | os.PathLike, rows: MotRows, *, box_decimals: int = 2, score_decimals: int = 4) -> None:
    """Write ``rows`` as MOTChallenge text (:func:`format_mot_rows`), atomically."""
    atomic_write_text(path, format_mot_rows(rows, box_decimals=box_decimals, score_decimals=score_decimals))


def boxes_to_mot(boxes: np.ndarray, *, track_id: int = 1, scores: np.ndarray | None = None,
                 first_frame: int = 1) -> MotRows:
    """A single-object track ``(N, 4)`` as MOT rows of one identity, frames ``first_frame...``;
    frames whose box holds NaN (no box) get no row. Extra columns are ``-1, -1, -1``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f"boxes_to_mot: {len(scores)} scores for {len(boxes)} boxes")
    keep = ~np.isnan(boxes).any(1)
    frames = np.arange(first_frame, first_frame + len(boxes))[keep]
    count = len(frames)
    return MotRows(frames, np.full(count, track_id), boxes[keep], scores[keep], np.full((count, 3), -1.0))


def mot_to_boxes(rows: MotRows, num_frames: int | None = None, *, track_id: int | None = None,
                 first_frame: int = 1) -> np.ndarray:
    """The ``(num_frames, 4)`` boxes of one identity (``track_id``, or the only one there is);
    frames without a row are NaN. Several identities without ``track_id``, or two rows of one
    identity in one frame, raise ValueError."""
    if track_id is None:
        identities = np.unique(rows.id)
        if len(identities) > 1:
            raise ValueError(f"mot_to_boxes: the rows hold {len(identities)} identities "
                             f"({', '.join(map(str, identities[:5]))}...); pass track_id to pick one")
        track = rows
    else:
        track = rows.select(rows.id == track_id)
    index = track.frame - first_frame
    if num_frames is None:
        num_frames = int(index.max()) + 1 if len(index) else 0
    if len(np.unique(index)) != len(index):
        raise ValueError("mot_to_boxes: an identity has two rows in one frame")
    if len(index) and (index.min() < 0 or index.max() >= num_frames):
        raise ValueError(f"mot_to_boxes: frames {track.frame.min()}..{track.frame.max()} are outside "
                         f"{first_frame}..{first_frame + num_frames - 1}")
    boxes = np.full((num_frames, 4), np.nan)
    boxes[index] = track.box
    return boxes
