"""Checking training datasets before training starts, and reporting every problem at once.

A recipe names several datasets; on a partial download each may lack its root field, its root
folder, sequence folders or annotation files. Found one at a time (a loader worker dying on the
first missing folder, a field error per run), they cost a run each. Here every dataset is built
and its tree checked (:meth:`verify_tree`: listed folders and annotation files exist; no image
is decoded and no annotation parsed), and all problems are raised together in one
:class:`DatasetCheckError`, one line per problem.

    train, val = build_datasets({"lasot": lambda: Lasot(settings.env.lasot_dir, split="train"),
                                 "got10k val": lambda: Got10k(settings.env.got10k_dir, split="val")})
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from admin.environment import EnvironmentPathError

logger = logging.getLogger(__name__)

# Lines of problems shown; the rest are counted. A partial TrackingNet can lack thousands of
# folders, and the first few say what is wrong.
MAX_LINES = 20


class DatasetCheckError(EnvironmentPathError):
    """Training datasets that are not set up: ``problems`` holds one line per problem, and the
    message lists them (at most :data:`MAX_LINES`, then a count). ``field`` is the first
    environment field involved, ``fields`` all of them (empty where a ``root=`` was passed)."""

    def __init__(self, problems: list[str], *, fields: list[str], max_lines: int = MAX_LINES):
        self.problems = list(problems)
        self.fields = list(fields)
        super().__init__(format_problems(self.problems, max_lines), field=fields[0] if fields else "",
                         state="incomplete")


def format_problems(problems: list[str], max_lines: int = MAX_LINES) -> str:
    """One line per problem under a heading, at most ``max_lines`` of them, then a count."""
    count = len(problems)
    heading = (f"{count} problem{'s' if count != 1 else ''} with the training datasets; fix "
               f"{'them' if count != 1 else 'it'} (or leave the dataset out of the recipe) and start again:")
    lines = [heading] + [f"  - {problem}" for problem in problems[:max_lines]]
    if count > max_lines:
        lines.append(f"  ... and {count - max_lines} more ({count} in all)")
    return "\n".join(lines)


def missing_file(path: str | os.PathLike) -> bool:
    """True when ``path`` is not a regular file (one stat; a folder there counts as missing)."""
    return not os.path.isfile(path)


def missing_folder(path: str | os.PathLike) -> bool:
    return not os.path.isdir(path)


def verify_files(prefix: str, folder: Path, files: Iterable[str]) -> list[str]:
    """Problems for each of ``files`` that is not a file inside ``folder``."""
    return [f"{prefix}: {folder / name} is missing" for name in files if missing_file(folder / name)]


def tree_problems(dataset: Any) -> list[str]:
    """The problems of one built dataset: its ``verify_tree()``, or a note that it has none."""
    verify = getattr(dataset, "verify_tree", None)
    if verify is None:
        logger.warning("%s (%s) has no verify_tree(): its files are not checked before training",
                       getattr(dataset, "name", dataset), type(dataset).__name__)
        return []
    return list(verify())


def _field_of(error: BaseException) -> str | None:
    return getattr(error, "field", None) or None


def _unique(items: Iterable[str]) -> list[str]:
    # Two datasets read through one missing field give the same line; keep it once, in order.
    return list(dict.fromkeys(items))


def check_datasets(datasets: Iterable[Any], *, max_lines: int = MAX_LINES) -> None:
    """Check the trees of built datasets; raise one DatasetCheckError listing every problem."""
    problems: list[str] = []
    fields: list[str] = []
    for dataset in datasets:
        found = tree_problems(dataset)
        if found and getattr(dataset, "env_field", None):
            fields.append(dataset.env_field)
        problems += found
    if problems:
        raise DatasetCheckError(_unique(problems), fields=_unique(fields), max_lines=max_lines)


def build_datasets(builders: Mapping[str, Callable[[], Any]], *, max_lines: int = MAX_LINES) -> dict[str, Any]:
    """Build every dataset (``name -> constructor``), check every tree, and return them by name.

    A constructor that fails on its setup (a field not set, a root missing or a file, a list
    file missing or empty: OSError or ValueError) is recorded as a problem of ``name`` and the
    others are still built and checked; then one DatasetCheckError lists all problems. Other
    errors (bugs) propagate as they are."""
    built: dict[str, Any] = {}
    problems: list[str] = []
    fields: list[str] = []
    for name, build in builders.items():
        try:
            built[name] = build()
        except (OSError, ValueError) as error:
            # Setup errors of the datasets are OSError (missing paths, EnvironmentPathError) or
            # ValueError (malformed list or split files); they already name the file and the fix.
            message = str(error)
            problems.append(message if isinstance(error, EnvironmentPathError) else f"{name}: {message}")
            if _field_of(error):
                fields.append(_field_of(error))
            logger.debug("dataset %s could not be built", name, exc_info=error)
    for name, dataset in built.items():
        found = tree_problems(dataset)
        if found and getattr(dataset, "env_field", None):
            fields.append(dataset.env_field)
        problems += found
    if problems:
        raise DatasetCheckError(_unique(problems), fields=_unique(fields), max_lines=max_lines)
    logger.info("datasets checked: %s", ", ".join(f"{name} ({_size(d)})" for name, d in built.items()))
    return built


def _size(dataset: Any) -> str:
    if hasattr(dataset, "get_num_sequences"):
        return f"{dataset.get_num_sequences()} sequences"
    if hasattr(dataset, "get_num_images"):
        return f"{dataset.get_num_images()} images"
    return type(dataset).__name__
