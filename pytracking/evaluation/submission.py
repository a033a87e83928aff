"""Packing raw results into the zip files that the GOT-10k and TrackingNet evaluation servers
take (``python pytracking/run_pack_submission.py`` is the command).

GOT-10k test: one folder per sequence holding ``<seq>_001.txt`` (``_002``, ``_003``... for
further runs), comma-separated ``x,y,w,h`` per frame, and ``<seq>_time.txt``, one time per frame
in seconds (the mean over the runs). TrackingNet: ``<seq>.txt`` per sequence, comma-separated
``x,y,w,h`` per frame. Every sequence of the dataset must have complete results first.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Sequence as SequenceABC
from pathlib import Path

import numpy as np

from admin.environment import env_settings
from ltr.data.box_files import format_box_rows
from ltr.fileio import atomic_write_bytes
from pytracking.evaluation.results import ResultFileError, read_boxes, run_folder
from pytracking.evaluation.data import SequenceList
from pytracking.evaluation.datasets import get_dataset

logger = logging.getLogger(__name__)

BENCHMARKS = {"got10k": "got10k_test", "trackingnet": "trackingnet"}


class IncompleteResultsError(FileNotFoundError):
    """Some sequences lack complete results; the message lists them."""


def read_times(path: Path, frames: int) -> np.ndarray:
    """The ``(frames,)`` per-frame times of a ``<seq>_time.txt`` file; a missing file, a line that is
    not a number or another count is an error naming the file."""
    if not path.is_file():
        raise FileNotFoundError(f"no time file {path}")
    try:
        times = np.array([float(line) for line in path.read_text().split()], dtype=np.float64)
    except ValueError:
        raise ResultFileError(f"{path} holds something other than one number per line") from None
    if len(times) != frames:
        raise ResultFileError(f"{path} has {len(times)} times for {frames} frames")
    return times


def collect_results(dataset: SequenceList, folders: SequenceABC[Path], *, times: bool
                    ) -> dict[str, list[tuple[np.ndarray, np.ndarray | None]]]:
    """For each sequence, the ``(N, 4)`` boxes (and ``(N,)`` times) of every run folder.

    Raises:
        IncompleteResultsError: listing every sequence and run whose results are missing or short.
    """
    results: dict[str, list[tuple[np.ndarray, np.ndarray | None]]] = {}
    problems = []
    for seq in dataset:
        runs = []
        for folder in folders:
            try:
                boxes, _ = read_boxes(folder / f"{seq.name}.txt", len(seq))
                durations = read_times(folder / f"{seq.name}_time.txt", len(seq)) if times else None
            except (FileNotFoundError, ResultFileError) as error:
                problems.append(f"{seq.name}: {error}")
                continue
            runs.append((boxes, durations))
        results[seq.name] = runs
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise IncompleteResultsError(
            f"{len(problems)} results of {len(dataset)} sequences x {len(folders)} run(s) are missing or incomplete "
            f"in {', '.join(map(str, folders))}:\n  {shown}\nrun the tracker on these sequences "
            f"(python pytracking/run_tracker.py ...) before packing")
    return results


def _write_zip(output: Path, files: dict[str, str]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    atomic_write_bytes(output, buffer.getvalue())
    logger.info("wrote %s (%d files)", output, len(files))
    return output


def _dataset(dataset: SequenceList | str | None, benchmark: str) -> SequenceList:
    if dataset is None:
        dataset = BENCHMARKS[benchmark]
    return get_dataset(dataset) if isinstance(dataset, str) else dataset


def default_output(benchmark: str, tracker: str, param: str) -> Path:
    """``<workspace_dir>/submissions/<tracker>_<param>_<benchmark>.zip``."""
    return Path(env_settings().workspace_dir) / "submissions" / f"{tracker}_{param}_{benchmark}.zip"


def pack_got10k(tracker: str, param: str, run_ids: SequenceABC[int | None] = (None,), *,
                dataset: SequenceList | str | None = None, output: str | Path | None = None,
                results_path: str | Path | None = None) -> Path:
    """Zip the results of ``run_ids`` (numbered ``_001``, ``_002``... in that order) on
    ``dataset`` (default GOT-10k test) for the GOT-10k server; returns the zip's path."""
    run_ids = list(run_ids) or [None]
    sequences = _dataset(dataset, "got10k")
    results_path = results_path or env_settings().results_path
    folders = [run_folder(results_path, tracker, param, run) for run in run_ids]
    results = collect_results(sequences, folders, times=True)
    files = {}
    for name, runs in results.items():
        for number, (boxes, _) in enumerate(runs, 1):
            files[f"{name}/{name}_{number:03d}.txt"] = format_box_rows(boxes, delimiter=",")
        mean_times = np.mean([durations for _, durations in runs], axis=0)
        files[f"{name}/{name}_time.txt"] = "".join(f"{t:.8f}\n" for t in mean_times)
    return _write_zip(Path(output) if output else default_output("got10k", tracker, param), files)


def pack_trackingnet(tracker: str, param: str, run_id: int | None = None, *,
                     dataset: SequenceList | str | None = None, output: str | Path | None = None,
                     results_path: str | Path | None = None) -> Path:
    """Zip the results of run ``run_id`` on ``dataset`` (default TrackingNet test) for the
    TrackingNet server; returns the zip's path."""
    sequences = _dataset(dataset, "trackingnet")
    results_path = results_path or env_settings().results_path
    folder = run_folder(results_path, tracker, param, run_id)
    results = collect_results(sequences, [folder], times=False)
    files = {f"{name}.txt": format_box_rows(runs[0][0], delimiter=",") for name, runs in results.items()}
    return _write_zip(Path(output) if output else default_output("trackingnet", tracker, param), files)
