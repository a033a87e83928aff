"""Reading raw tracking results: ``<results_path>/<tracker>/<param>[_<run:03d>]/<sequence>.txt``
with one ``x,y,w,h`` row per frame (commas, tabs or spaces).

A row that is not four numbers, a NaN or a negative size is an error naming the file (and line).
Tolerated and counted: rows beyond the ground truth's length are dropped (some published result
files carry extra frames). Fewer rows than the ground truth is an error, unless short results are
allowed (``allow_short``): published result files sometimes miss their last frames, which the
analysis then counts as failures, as pytracking's analysis does.

Files are parsed by :mod:`ltr.data.box_files` (numpy in one call; only a file that this fast path
rejects, or in which it finds a problem, is read again line by line, to name the line that is
wrong); this module holds the result policy and the folder layout."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ltr.data import box_files
from ltr.data.box_files import ResultFileError

__all__ = ["ResultFileError", "parse_fast", "parse_lines", "read_boxes", "run_folder", "short_result_error"]

logger = logging.getLogger(__name__)
# What a result row must be: four numbers, no NaN, no negative size (the reader's keyword options).
RESULT_POLICY = dict(columns=(4,), nan=False, nonnegative_size=True)


def run_folder(results_path: str | Path, tracker: str, param: str, run_id: int | None = None) -> Path:
    name = param if run_id is None else f"{param}_{run_id:03d}"
    return Path(results_path) / tracker / name


def parse_fast(text: str) -> np.ndarray | None:
    """The (N, 4) rows of ``text``, or None where it is not plainly N valid rows (empty, a row
    that is not four numbers, NaN, a negative size): the line-by-line reader then says what."""
    return box_files.parse_fast(text, **RESULT_POLICY)


def parse_lines(path: Path, text: str) -> np.ndarray:
    """The (N, 4) rows of ``text``, checked line by line; errors name ``path`` and the line."""
    rows = box_files.parse_lines(path, text, error=ResultFileError, **RESULT_POLICY)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def read_boxes(path: str | Path, expected_rows: int, *, allow_short: bool = False) -> tuple[np.ndarray, int]:
    """The boxes of a result file, at most ``expected_rows`` of them, and how many extra rows
    were dropped. Fewer rows raise ResultFileError unless ``allow_short``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no result file {path}: run the tracker on this sequence first")
    rows = box_files.parse_rows(path, path.read_text(), error=ResultFileError, **RESULT_POLICY)
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
