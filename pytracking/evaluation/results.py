"""Reading raw tracking results: ``<results_path>/<tracker>/<param>[_<run:03d>]/<sequence>.txt``
with one ``x,y,w,h`` row per frame (commas, tabs or spaces).

A row that is not four numbers, a NaN or a negative size is an error naming the file (and line).
Tolerated and counted: rows beyond the ground truth's length are dropped (some published result
files carry extra frames). Fewer rows than the ground truth is an error, unless short results are
allowed (``allow_short``): published result files sometimes miss their last frames, which the
analysis then counts as failures, as pytracking's analysis does.

Files are parsed by numpy in one call; only a file that this fast path rejects, or in which it
finds a problem, is read again line by line, to name the line that is wrong."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)
_SEPARATORS = re.compile(r"[,\s]+")


class ResultFileError(ValueError):
    """A result file that cannot be scored; the message names it and what is wrong."""


def run_folder(results_path: str | Path, tracker: str, param: str, run_id: int | None = None) -> Path:
    name = param if run_id is None else f"{param}_{run_id:03d}"
    return Path(results_path) / tracker / name


def parse_fast(text: str) -> np.ndarray | None:
    """The (N, 4) rows of ``text``, or None where it is not plainly N valid rows (empty, a row
    that is not four numbers, NaN, a negative size): the line-by-line reader then says what."""
    if not text.strip():
        return None
    try:
        rows = np.loadtxt(io.StringIO(text.replace(",", " ")), dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        return None
    if rows.shape[1] != 4 or np.isnan(rows).any() or (rows[:, 2:] < 0).any():
        return None
    return rows


def parse_lines(path: Path, text: str) -> np.ndarray:
    """The (N, 4) rows of ``text``, checked line by line; errors name ``path`` and the line."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        tokens = [t for t in _SEPARATORS.split(line.strip()) if t]
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            values = []
        if len(values) != 4:
            raise ResultFileError(f"{path}, line {number}: expected four numbers x,y,w,h, got {line!r}")
        if any(np.isnan(values)):
            raise ResultFileError(f"{path}, line {number}: NaN in {line!r}; results must hold a box for every frame")
        if values[2] < 0 or values[3] < 0:
            raise ResultFileError(f"{path}, line {number}: negative size in {line!r}")
        rows.append(values)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def read_boxes(path: str | Path, expected_rows: int, *, allow_short: bool = False) -> tuple[np.ndarray, int]:
    """The boxes of a result file, at most ``expected_rows`` of them, and how many extra rows
    were dropped. Fewer rows raise ResultFileError unless ``allow_short``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no result file {path}: run the tracker on this sequence first")
    text = path.read_text()
    rows = parse_fast(text)
    if rows is None:
        rows = parse_lines(path, text)
    if len(rows) < expected_rows and (not allow_short or len(rows) == 0):
        raise short_result_error(path, len(rows), expected_rows)
    extra = max(len(rows) - expected_rows, 0)
    if extra:
        logger.warning("%s: %d rows beyond the ground truth's %d frames are ignored", path, extra, expected_rows)
    return np.ascontiguousarray(rows[:expected_rows]), extra


def short_result_error(path: Path, rows: int, expected_rows: int) -> ResultFileError:
    return ResultFileError(f"{path} has {rows} rows but the ground truth has {expected_rows} frames: the run is "
                           f"incomplete; run the tracker on this sequence again, or, for published results that "
                           f"miss their last frames, count those frames as failures with --allow_short_results "
                           f"(allow_short_results=True)")
