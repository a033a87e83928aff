"""On-disk cache of per-sequence curves, so that re-analysing a dataset reads no result file twice.

One file per run folder, ``<cache_dir>/<tracker>/<run folder>-<hash of its path>.npz``, holds for
each sequence the success (21), precision (51) and normalised precision (51) curves, the
per-sequence scores, how many frames the result file missed (scored as failures), and the key
they were computed under. A key covers the result file's path, size and mtime_ns, a digest of
the ground truth (and visibility) and of the dataset name, and the protocol:
:data:`PROTOCOL_VERSION` and a fingerprint of the scoring code (``metrics.py`` and
``results.py``), so that a changed file, annotation or protocol is recomputed. Files are written
atomically; one that cannot be read is recomputed with a warning, and one that cannot be written
is a warning too (the scores do not depend on it).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import logging
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from ltr.fileio import atomic_write_bytes
from pytracking.analysis import metrics
from pytracking.analysis.metrics import (NORM_PRECISION_THRESHOLDS, OVERLAP_THRESHOLDS, PRECISION_THRESHOLDS,
                                         SCORE_NAMES, SequenceCurves)
from pytracking.evaluation import results

logger = logging.getLogger(__name__)

# Bump when the scoring protocol changes in a way the code fingerprint would not show.
PROTOCOL_VERSION = 2  # 2: result files holding inf are refused (were scored)
_SHAPES = {"success": len(OVERLAP_THRESHOLDS), "precision": len(PRECISION_THRESHOLDS),
           "norm_precision": len(NORM_PRECISION_THRESHOLDS), "scores": len(SCORE_NAMES)}
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclasses.dataclass
class Entry:
    """One sequence's cached result for one run."""

    key: str
    curves: SequenceCurves
    scores: np.ndarray  # (5,) in the order of SCORE_NAMES, percent
    missing: int = 0  # frames missing at the end of the result file, scored as failures


@functools.cache
def protocol_fingerprint() -> str:
    """Digest of the protocol version and of the scoring code's source."""
    digest = hashlib.sha256(f"protocol {PROTOCOL_VERSION}".encode())
    for module in (metrics, results):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def ground_truth_digest(ground_truth: np.ndarray, target_visible: np.ndarray | None, dataset: str) -> str:
    """Digest of what the curves depend on besides the result file: (N, 4) boxes, (N,) flags."""
    digest = hashlib.sha256(dataset.encode())
    digest.update(np.ascontiguousarray(ground_truth, dtype=np.float64).tobytes())
    if target_visible is not None:
        digest.update(b"visible")
        digest.update(np.ascontiguousarray(target_visible, dtype=np.bool_).tobytes())
    return digest.hexdigest()


def entry_key(result_file: Path, gt_digest: str) -> str:
    """The key of ``result_file`` scored against the ground truth of ``gt_digest``."""
    stat = os.stat(result_file)
    text = f"{protocol_fingerprint()}|{os.path.abspath(result_file)}|{stat.st_size}|{stat.st_mtime_ns}|{gt_digest}"
    return hashlib.sha256(text.encode()).hexdigest()


class RunCache:
    """The cache file of one run folder."""

    def __init__(self, cache_dir: str | Path, run_folder: str | Path):
        run_folder = Path(os.path.abspath(run_folder))
        tag = hashlib.sha256(str(run_folder).encode()).hexdigest()[:12]
        self.path = (Path(cache_dir) / _UNSAFE.sub("_", run_folder.parent.name)
                     / f"{_UNSAFE.sub('_', run_folder.name)}-{tag}.npz")

    def load(self) -> dict[str, Entry]:
        """Sequence name -> entry; empty when there is no file or it cannot be read."""
        if not self.path.is_file():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                names, keys = [str(n) for n in data["names"]], [str(k) for k in data["keys"]]
                arrays = {field: data[field] for field in _SHAPES}
                missing = data["missing"]
            for field, width in _SHAPES.items():
                if arrays[field].shape != (len(names), width) or len(keys) != len(names):
                    raise ValueError(f"array {field!r} has shape {arrays[field].shape}, expected "
                                     f"({len(names)}, {width})")
            if missing.shape != (len(names),):
                raise ValueError(f"array 'missing' has shape {missing.shape}, expected ({len(names)},)")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            logger.warning("curve cache %s cannot be read (%s); recomputing its curves", self.path, error)
            return {}
        return {name: Entry(key, SequenceCurves(arrays["success"][i], arrays["precision"][i],
                                                arrays["norm_precision"][i]), arrays["scores"][i], int(missing[i]))
                for i, (name, key) in enumerate(zip(names, keys))}

    def save(self, entries: dict[str, Entry]) -> None:
        names = sorted(entries)
        buffer = io.BytesIO()
        np.savez(buffer, names=np.array(names, dtype=str), keys=np.array([entries[n].key for n in names], dtype=str),
                 success=_stack([entries[n].curves.success for n in names], _SHAPES["success"]),
                 precision=_stack([entries[n].curves.precision for n in names], _SHAPES["precision"]),
                 norm_precision=_stack([entries[n].curves.norm_precision for n in names], _SHAPES["norm_precision"]),
                 scores=_stack([entries[n].scores for n in names], _SHAPES["scores"]),
                 missing=np.array([entries[n].missing for n in names], dtype=np.int64))
        try:
            atomic_write_bytes(self.path, buffer.getvalue())
        except OSError as error:
            # The cache only saves time: the scores are complete without it.
            logger.warning("curve cache %s cannot be written (%s); the scores are not affected, the curves will be "
                           "computed again next time (make %s writable, or pass --no_cache)", self.path,
                           error.strerror or error, self.path.parent.parent)


def _stack(rows: list[np.ndarray], width: int) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), width)
