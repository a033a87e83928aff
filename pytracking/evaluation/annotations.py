"""The benchmark specs of the evaluation datasets, and the check that a file or folder of a
dataset exists, with an error naming the environment field that points at the dataset.
Annotation files are read by :mod:`ltr.data.box_files`; dataset roots are resolved by
:func:`admin.environment.resolve_dataset_root`."""

from __future__ import annotations

import json
from pathlib import Path

from admin.environment import where_to_set

SPEC_DIR = Path(__file__).resolve().parent / "specs"


def require(path: Path, what: str, field: str) -> Path:
    """``path``, or FileNotFoundError naming it and the environment field of its dataset."""
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist: check that the dataset is complete "
                                f"and that {field} points at it ({where_to_set(field)})")
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
