"""Reading the annotation files of the evaluation benchmarks, with errors that name the file,
the line, and the environment field that points at the dataset."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from admin.environment import ENV_PREFIX, env_settings

SPEC_DIR = Path(__file__).resolve().parent / "specs"
_SEPARATORS = re.compile(r"[,\s]+")


def where_set(field: str) -> str:
    return f"set {field} in admin/local.py or the environment variable {ENV_PREFIX}{field.upper()}"


def dataset_root(root: str | Path | None, field: str) -> Path:
    """``root`` when given (it must exist), else the environment's ``field``
    (which raises :class:`admin.environment.EnvironmentPathError` when unset or missing)."""
    if root is None:
        return Path(getattr(env_settings(), field))
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"dataset folder {root} does not exist: pass an existing root, or {where_set(field)}")
    return root


def require(path: Path, what: str, field: str) -> Path:
    """``path``, or FileNotFoundError naming it and the environment field of its dataset."""
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist: check that the dataset is complete "
                                f"and that {field} points at it ({where_set(field)})")
    return path


def read_spec(name: str | Path) -> list[dict] | list[str]:
    """A benchmark spec: a file of ``pytracking/evaluation/specs/`` by its name (a str without
    a folder), or any file given as a :class:`~pathlib.Path` or a str with a folder."""
    path = Path(name) if isinstance(name, Path) or Path(name).name != name else SPEC_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"benchmark spec {path} does not exist: the package data folder "
                                f"{SPEC_DIR} is incomplete; reinstall the package")
    if path.suffix == ".json":
        with path.open() as file:
            return json.load(file)
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def polygon_to_box(polygon: np.ndarray) -> np.ndarray:
    """``(N, 8)`` corners ``x1, y1, ..., x4, y4`` to ``(N, 4)`` axis-aligned ``[x, y, w, h]``
    boxes spanning them (min and max of the corners)."""
    xs, ys = polygon[:, 0::2], polygon[:, 1::2]
    x0, y0 = xs.min(axis=1), ys.min(axis=1)
    return np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)


def read_boxes(path: Path, field: str, *, polygons: bool = False) -> np.ndarray:
    """The ``(N, 4)`` float64 boxes of an annotation file, one ``x, y, w, h`` per line,
    separated by commas, spaces or tabs; ``NaN`` values are kept. With ``polygons``, lines of 8
    values (VOT corners) become the axis-aligned box around them. Blank lines are skipped.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: a line is malformed (names the file and the line number).
    """
    require(path, "annotation file", field)
    widths = (4, 8) if polygons else (4,)
    boxes = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        tokens = _SEPARATORS.split(line)
        try:
            values = [float(token) for token in tokens]
        except ValueError:
            raise ValueError(f"{path}, line {number}: {line!r} is not a list of numbers; "
                             f"fix or replace the annotation file") from None
        if len(values) not in widths:
            expected = " or ".join(str(w) for w in widths)
            raise ValueError(f"{path}, line {number}: {len(values)} values, expected {expected} "
                             f"(x, y, w, h{' or polygon corners' if polygons else ''}); fix or replace the file")
        row = np.asarray(values, dtype=np.float64)
        boxes.append(polygon_to_box(row[None])[0] if row.size == 8 else row)
    return np.stack(boxes) if boxes else np.zeros((0, 4), dtype=np.float64)


def read_flags(path: Path, field: str) -> np.ndarray:
    """The 0/1 flags of a label file (one per line, or comma separated on one line) as bools."""
    require(path, "label file", field)
    flags = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for token in _SEPARATORS.split(line.strip()):
            if not token:
                continue
            if token not in ("0", "1"):
                raise ValueError(f"{path}, line {number}: {token!r} is not a 0/1 flag; fix or replace the file")
            flags.append(token == "1")
    return np.asarray(flags, dtype=np.bool_)
