"""Declared names: what training settings and tracker parameters may be set, because code reads
them. A name set but not declared is a typo or a leftover that nothing reads; it is an error
naming the name, the file that set it and the closest declared names, as ``admin/local.py``
does for its fields. Shared by :mod:`ltr.settings` and :mod:`pytracking.tracker.base`."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


class UnknownNameError(ValueError):
    """Names were set that nothing reads. ``names`` maps each to the file that set it (None:
    unknown); a ValueError, so the entry scripts report it as one line."""

    def __init__(self, message: str, names: Mapping[str, str | None]):
        super().__init__(message)
        self.names = dict(names)


def caller_file(depth: int = 1) -> str:
    """The file of the code ``depth`` frames above the caller of this function, shown relative to
    the repository when inside it (``pytracking/parameter/atom/default.py``)."""
    return display_path(sys._getframe(depth + 1).f_code.co_filename)


def display_path(file: str) -> str:
    try:
        return Path(file).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return file


def unknown_names(values: Iterable[str], declared: Iterable[str]) -> list[str]:
    """The names in ``values`` that are not declared, sorted; names starting with '_' are
    private helpers, never checked."""
    known = set(declared)
    return sorted(name for name in values if name not in known and not name.startswith("_"))


def describe_unknown(kind: str, unknown: Mapping[str, str | None], declared: Iterable[str], unread: str,
                     declared_in: str) -> str:
    """One line: each unknown name with the file that set it and the close declared names.

    ``kind`` is what the names are ("tracker parameter"), ``unread`` says that nothing reads
    them ("ATOM does not read"), ``declared_in`` where a new name is declared."""
    known = sorted(declared)
    parts = []
    for name, file in unknown.items():
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        parts.append(f"{file or 'an unknown file'} sets {kind} {name!r}, which {unread}{hint}")
    return (f"{'; '.join(parts)}. Remove it, fix its spelling, or declare a new one where the code that reads it "
            f"is declared: {declared_in}")
