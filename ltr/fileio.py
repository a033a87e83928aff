"""Writing files so that a reader never sees a half-written one: write a temporary file beside
the target, then rename it into place.

Temporary files are named ``.<target name>.<random>.tmp``, so that a run killed while writing
leaves something :func:`stale_temporaries` recognises and its next start can remove."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


def _current_umask() -> int:
    # Reading the umask means setting it; done once, at import, not while threads write files.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def output_file_mode() -> int:
    """The permissions an ordinary new file gets (0o666 less the umask)."""
    return 0o666 & ~_UMASK


def temporary_prefix(path: Path) -> str:
    return f".{path.name}."


TEMPORARY_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_path(path: str | Path, *, before_rename: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (created empty) for a writer that opens files by
    name (numpy's memory maps, say); it becomes ``path`` when the block ends without an
    exception, with an ordinary file's permissions; otherwise it is removed (Ctrl-C included)
    and ``path`` keeps its old content. ``before_rename(temporary)`` may check the written file
    and raise to refuse it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=temporary_prefix(path), suffix=TEMPORARY_SUFFIX)
    os.close(descriptor)
    try:
        yield Path(temporary)
        if before_rename is not None:
            before_rename(Path(temporary))
        # mkstemp creates the file readable by its owner only; give it the permissions an
        # ordinary file would get, so that shared result folders stay readable.
        os.chmod(temporary, output_file_mode())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def atomic_output(path: str | Path, *, sync: bool = False,
                  before_rename: Callable[[Path], None] | None = None) -> Iterator[BinaryIO]:
    """Yield a binary file that becomes ``path`` when the block ends without an exception;
    otherwise ``path`` keeps its old content and no temporary file is left. ``sync`` flushes it
    (and the rename) to the disk; ``before_rename(temporary)`` may check the written file and
    raise to refuse it."""
    with atomic_path(path, before_rename=before_rename) as temporary:
        with open(temporary, "wb") as file:
            yield file
            if sync:
                file.flush()
                os.fsync(file.fileno())
    if sync:
        _sync_folder(Path(path).parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable where the platform allows it (not every file system can sync a
    folder; the file itself is already on the disk)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def stale_temporaries(folder: str | Path, pattern: str = "*") -> list[Path]:
    """Temporary files that :func:`atomic_output` left in ``folder`` for targets matching
    ``pattern`` (a process killed while writing)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f".{pattern}.*{TEMPORARY_SUFFIX}") if p.is_file())


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path``; the file either keeps its old content or has all of ``data``."""
    with atomic_output(path) as file:
        file.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
