"""A prepared copy of a dataset's frames: decoded once, stored as raw RGB uint8 arrays that
training reads through memory maps instead of decoding JPEGs again every epoch.

Made by ``python ltr/run_prepare.py SOURCE OUTPUT`` (:func:`prepare_frames`); read by
:class:`PreparedFrames`, a frame loader that any dataset takes as its ``image_loader``
(``Got10k(root, image_loader=frame_loader(OUTPUT))``; :func:`frame_loader` decodes when there is
no copy there): frames it holds come from the copy, any other frame is decoded as before.

Exactness: level ``r`` of a frame is the decoder's own output at 1/``r`` of the size
(``imread(path, r)``), so a crop read from the copy is the crop the pipeline would have made
from the frame decoded whole at that reduction, bit for bit. The crop asks for the same
reduction it would ask the decoder for (:func:`ltr.data.processing_utils.decode_reduction`);
a level the copy lacks is decoded from the JPEG. Against the region decoder
(:mod:`external.jpeg_region`) used when there is no copy: identical at 1/2, 1/4, 1/8; at full
size the region decoder's pixels may differ from a whole decode by a few grey levels at the
edges of the region (chroma upsampling at its border), so crops may too.

Layout of OUTPUT:

- ``prepared.json``: ``{"format": 1, "source": <absolute source root>, "levels": [...]}``;
- per sequence folder (a folder of the source holding image files), ``<key>.r<level>.npy``,
  (frames, height / level, width / level, 3) uint8, one per level, then ``<key>.json``: the
  folder (relative to the source), its frame file names in order and each level's size. A
  sequence is complete when its ``.json`` exists: it is written last, and every file is written
  under a temporary name and renamed, so an interrupted run leaves no half file and a rerun
  continues where it stopped.

Size: all levels (1, 2, 4, 8) take 1.33 x width x height x 3 bytes per frame (3.7 MB for a
1280x720 frame); levels 2, 4, 8 alone a quarter of that.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ltr.data.image_loader import REDUCTIONS, ImageReadError, imread
from ltr.fileio import atomic_path, atomic_write_text, stale_temporaries

logger = logging.getLogger(__name__)

FORMAT = 1
INDEX_FILE = "prepared.json"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".bmp")


class PreparedCopyError(ValueError):
    """A prepared copy that cannot be used or continued; the message names the folder and what
    to do."""


def sequence_folders(source: Path) -> Iterator[tuple[Path, list[str]]]:
    """Every folder under ``source`` holding image files, with their names sorted, in a fixed
    order (sorted relative paths)."""
    for folder, subfolders, files in os.walk(source):
        subfolders.sort()
        frames = sorted(f for f in files if f.lower().endswith(IMAGE_SUFFIXES))
        if frames:
            yield Path(folder), frames


def sequence_key(relative: str) -> str:
    """A file name for a sequence folder's relative path ('.' for frames at the top)."""
    return "__".join(Path(relative).parts) or "_root"


def _prepare_sequence(folder: Path, frames: list[str], output: Path, key: str, levels: tuple[int, ...],
                      loader: Callable) -> dict:
    first = {level: loader(folder / frames[0], level) for level in levels}
    shapes = {level: image.shape for level, image in first.items()}
    for level in levels:
        with atomic_path(output / f"{key}.r{level}.npy") as temporary:
            array = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8,
                                              shape=(len(frames), *shapes[level]))
            for index, name in enumerate(frames):
                image = first[level] if index == 0 else loader(folder / name, level)
                if image.shape != shapes[level]:
                    raise PreparedCopyError(f"{folder / name} is {image.shape[1]}x{image.shape[0]} where the "
                                            f"sequence's first frame is {shapes[level][1]}x{shapes[level][0]}")
                array[index] = image
            array.flush()
            del array
    return {"levels": {str(level): list(shapes[level][:2]) for level in levels}}


def prepare_frames(source: str | os.PathLike, output: str | os.PathLike, *, levels=(1, 2, 4, 8),
                   loader: Callable = imread, progress: Callable[[int, int], None] | None = None) -> dict:
    """Decode every sequence folder of ``source`` at each of ``levels`` into ``output`` (see the
    module's docstring); sequences already there are kept (a rerun continues). A sequence with
    an unreadable frame or frames of different sizes is skipped with a warning (training decodes
    its frames as before). Returns counts: 'prepared', 'kept', 'skipped' (a list of lines),
    'frames'. Raises PreparedCopyError for a missing source or an output prepared from another
    source or with other levels."""
    source, output = Path(source).resolve(), Path(output)
    levels = tuple(sorted({int(level) for level in levels}))
    if not levels or any(level not in REDUCTIONS for level in levels):
        raise PreparedCopyError(f"levels must be among {REDUCTIONS}, got {list(levels)}")
    if not source.is_dir():
        raise PreparedCopyError(f"the dataset folder {source} does not exist: give the root of a dataset's frames")
    header = {"format": FORMAT, "source": str(source), "levels": list(levels)}
    index = output / INDEX_FILE
    if index.exists():
        existing = _read_header(output)
        if existing != header:
            raise PreparedCopyError(f"{output} holds a copy of {existing['source']} with levels {existing['levels']}; "
                                    f"give another output folder, or delete it to prepare {source} with levels "
                                    f"{list(levels)}")
    output.mkdir(parents=True, exist_ok=True)
    for stale in stale_temporaries(output):
        stale.unlink()  # left by a run that was killed outright
    atomic_write_text(index, json.dumps(header))
    folders = list(sequence_folders(source))
    counts = {"prepared": 0, "kept": 0, "skipped": [], "frames": 0}
    for number, (folder, frames) in enumerate(folders):
        relative = folder.relative_to(source).as_posix()
        key = sequence_key(relative)
        manifest = output / f"{key}.json"
        if manifest.exists():
            counts["kept"] += 1
        else:
            try:
                entry = _prepare_sequence(folder, frames, output, key, levels, loader)
            except (ImageReadError, PreparedCopyError) as error:
                logger.warning("skipping sequence %s: %s", relative, error)
                counts["skipped"].append(f"{relative}: {error}")
                continue
            atomic_write_text(manifest, json.dumps({"folder": relative, "frames": frames, **entry}))
            counts["prepared"] += 1
        counts["frames"] += len(frames)
        if progress is not None:
            progress(number + 1, len(folders))
    return counts


def _read_header(folder: Path) -> dict:
    path = folder / INDEX_FILE
    try:
        header = json.loads(path.read_text())
        if header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')}, expected {FORMAT}")
        return {"format": FORMAT, "source": str(header["source"]), "levels": [int(v) for v in header["levels"]]}
    except FileNotFoundError:
        raise PreparedCopyError(f"{folder} is not a prepared copy (no {INDEX_FILE}): make one with "
                                f"python ltr/run_prepare.py SOURCE {folder}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise PreparedCopyError(f"{path} is unreadable ({error}): delete {folder} and prepare it again") from error


class PreparedFrames:
    """A frame loader (``loader(path, reduction)``, ``loader.region(path, reduction, region)``)
    that reads the frames of a prepared copy from memory maps and decodes the others with
    ``fallback``. Memory maps open on first use, in each loader worker."""

    supports_reduction = True

    def __init__(self, folder: str | os.PathLike, *, fallback: Callable = imread):
        self.folder = Path(folder)
        header = _read_header(self.folder)
        self.source = header["source"]
        self.levels = tuple(header["levels"])
        self.fallback = fallback
        self._sequences: dict[str, tuple[str, dict[str, int]]] = {}
        for manifest in sorted(self.folder.glob("*.json")):
            if manifest.name == INDEX_FILE:
                continue
            try:
                entry = json.loads(manifest.read_text())
                folder = os.path.realpath(Path(self.source, entry["folder"]))
                self._sequences[folder] = (
                    manifest.stem, {name: index for index, name in enumerate(entry["frames"])})
            except (ValueError, KeyError, TypeError) as error:
                raise PreparedCopyError(f"{manifest} is unreadable ({error}): delete it and run the prepare "
                                        f"command again to redo that sequence") from error
        self._arrays: dict[tuple[str, int], np.ndarray] = {}
        self._folders: dict[str, str] = {}  # folder as asked -> real path (links resolved)
        self._asked = self._held = 0

    def __len__(self) -> int:
        """The number of sequences held."""
        return len(self._sequences)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_arrays"] = {}  # memory maps reopen in the process that unpickles
        return state

    def _frames(self, path, reduction: int) -> tuple[np.ndarray, int] | None:
        """The memory-mapped array holding ``path`` at ``reduction`` and the frame's index."""
        if reduction not in self.levels:
            return None
        folder, name = os.path.split(str(path))
        real = self._folders.get(folder)
        if real is None:
            real = self._folders[folder] = os.path.realpath(folder or ".")
        sequence = self._sequences.get(real)
        self._asked += 1
        if sequence is None or name not in sequence[1]:
            if self._asked == 100 and self._held == 0:
                logger.warning("the prepared copy %s (of %s) held none of the first 100 frames asked for, e.g. %s: "
                               "is it a copy of this dataset?", self.folder, self.source, path)
            return None
        self._held += 1
        key = (sequence[0], reduction)
        array = self._arrays.get(key)
        if array is None:
            file = self.folder / f"{sequence[0]}.r{reduction}.npy"
            try:
                array = np.load(file, mmap_mode="r")
            except (OSError, ValueError) as error:
                raise ImageReadError(file, f"the prepared copy's file is unreadable ({error}); delete "
                                           f"{self.folder / (sequence[0] + '.json')} and prepare again") from error
            self._arrays[key] = array
        return array, sequence[1][name]

    def __call__(self, path, reduction: int = 1) -> np.ndarray:
        found = self._frames(path, reduction)
        if found is None:
            return self.fallback(path, reduction) if reduction != 1 else self.fallback(path)
        array, index = found
        return np.array(array[index])

    def region(self, path, reduction: int, region: tuple[int, int, int, int]) -> tuple[np.ndarray, tuple[int, int]]:
        """At least ``region`` (x0, y0, x1, y1; clipped) of the frame at 1/``reduction``, and the
        position of the returned pixels' top-left (as ``ltr.data.image_loader.read_region``).
        Pixels from the copy are a read-only view of the memory map: the crop reads them once,
        straight from the page cache, with no copy in between."""
        found = self._frames(path, reduction)
        if found is None:
            read = getattr(self.fallback, "region", None)
            if read is not None:
                return read(path, reduction, region)
            return self.fallback(path, reduction), (0, 0)
        array, index = found
        height, width = array.shape[1:3]
        x0, y0 = min(max(int(region[0]), 0), width - 1), min(max(int(region[1]), 0), height - 1)
        x1, y1 = max(min(int(region[2]), width), x0 + 1), max(min(int(region[3]), height), y0 + 1)
        return array[index, y0:y1, x0:x1], (x0, y0)


def frame_loader(prepared: str | os.PathLike | None = None, *, fallback: Callable = imread) -> Callable:
    """The frame loader for a dataset's ``image_loader``: the prepared copy in ``prepared`` when
    there is one (:class:`PreparedFrames`), else ``fallback`` (decoding), with a warning when a
    folder was named but holds no copy."""
    if prepared is None:
        return fallback
    if not (Path(prepared) / INDEX_FILE).is_file():
        logger.warning("no prepared copy in %s (make one with python ltr/run_prepare.py SOURCE %s): frames are "
                       "decoded", prepared, prepared)
        return fallback
    return PreparedFrames(prepared, fallback=fallback)
