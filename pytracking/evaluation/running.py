"""Running trackers over a dataset: one job per (sequence, tracker) pair, resumable, in several
processes or torchrun ranks, with failures recorded instead of stopping the run.

The runner knows trackers only through :class:`pytracking.evaluation.tracker.Tracker` (its
label, results folder and ``run_sequence``) and what their frames output
(:mod:`pytracking.tracker.outputs`). Result files of a pair, in the tracker's ``results_dir``:

    <seq>.txt          a single-object tracker: one box per frame, x, y, w, h, tab separated,
                       4 decimals; a multi-object tracker: MOTChallenge rows
                       frame, id, x, y, w, h, score, -1, -1, -1 (comma separated, frames from 1)
    <seq>_time.txt     one time per frame, seconds
    failed/<seq>.txt   the traceback of the last failed attempt (removed by a later success)

Both result files are written atomically, the time file first. A pair is complete, and skipped
unless ``rerun``, when its box file holds one row per frame (single object), or when its result
file exists and its time file holds one row per frame (multi-object: frames may have no tracks).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import logging
import os
import signal
import tempfile
import time
import traceback
from collections.abc import Iterable, Sequence as SequenceABC
from pathlib import Path
from typing import TypeVar

import numpy as np

from admin.environment import EnvironmentPathError, EnvSettings, env_settings
from admin.logging_setup import setup_logging
from ltr.data.box_files import MotRows, write_box_rows, write_mot_rows
from ltr.fileio import atomic_write_text
from ltr.processes import WorkerStopped, worker_pool
from pytracking.evaluation.data import Sequence
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.outputs import SINGLE_OBJECT

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class PairResult:
    """What happened to one (sequence, tracker) pair."""

    sequence: str
    tracker: str  # the tracker's label
    status: str  # "done", "skipped" or "failed"
    message: str
    frames: int = 0
    seconds: float = 0.0  # tracker time summed over frames (done pairs)
    traceback: str = ""  # failed pairs


@dataclasses.dataclass
class RunReport:
    done: list[PairResult] = dataclasses.field(default_factory=list)
    skipped: list[PairResult] = dataclasses.field(default_factory=list)
    failed: list[PairResult] = dataclasses.field(default_factory=list)
    rank: int = 0
    world_size: int = 1

    @property
    def ok(self) -> bool:
        return not self.failed

    def add(self, result: PairResult) -> None:
        getattr(self, result.status).append(result)

    def summary(self) -> str:
        """Counts, then one line per failed pair naming its traceback file."""
        frames = sum(r.frames for r in self.done)
        seconds = sum(r.seconds for r in self.done)
        speed = f", {frames / seconds:.1f} frames/s tracking" if seconds > 0 else ""
        where = f" [rank {self.rank} of {self.world_size}]" if self.world_size > 1 else ""
        lines = [f"{len(self.done)} sequences run ({frames} frames{speed}), {len(self.skipped)} skipped "
                 f"(results complete), {len(self.failed)} failed{where}"]
        lines += [f"  FAILED {r.sequence} ({r.tracker}): {r.message}" for r in self.failed]
        if self.failed:
            names = ", ".join(dict.fromkeys(r.sequence for r in self.failed))
            lines.append(f"failed sequences: {names}")
        return "\n".join(lines)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM in the entry scripts) stopped :func:`run_dataset`: ``report`` holds
    the pairs finished before it; the pairs that were running wrote nothing (result files are
    written whole or not at all), so running again resumes with them."""

    def __init__(self, report: RunReport, trackers: list[Tracker]):
        super().__init__("interrupted")
        self.report = report
        self.trackers = trackers

    def summary(self) -> str:
        """One line: what was kept, where, and how to go on."""
        kept = len(self.report.done) + len(self.report.skipped)
        folders = ", ".join(str(tracker.results_dir) for tracker in self.trackers)
        failed = f" ({len(self.report.failed)} failed)" if self.report.failed else ""
        return (f"interrupted: {kept} sequences have complete results{failed} in {folders}; the sequences being "
                f"tracked wrote nothing; run the same command again to resume")


class EmptyRunError(ValueError):
    """There is no (sequence, tracker) pair to run."""


class ResultsFolderError(OSError):
    """A results folder (or its ``failed/`` folder) cannot be written."""


def check_writable(folder: Path) -> None:
    """Create ``folder`` and write and remove a probe file in it, so that a folder that cannot
    take results stops the run before any tracking, not after the first sequence."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=".write-check.", suffix=".tmp")
        os.close(descriptor)
        os.unlink(probe)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ResultsFolderError(f"cannot write results to {folder} ({reason}): make it writable, or set "
                                 f"results_path in admin/local.py or TRACKING_RESULTS_PATH to a folder "
                                 f"you can write") from None


def check_results_folders(trackers: Iterable[Tracker]) -> None:
    """:func:`check_writable` for each tracker's results folder and its ``failed/`` folder (when
    there is one: a results folder that can be written can take a new one)."""
    for tracker in trackers:
        try:
            folder = tracker.results_dir
        except EnvironmentPathError as error:  # results_path itself cannot be created
            raise ResultsFolderError(str(error)) from None
        check_writable(folder)
        failed = folder / "failed"
        if failed.exists():
            check_writable(failed)


def results_paths(tracker: Tracker, seq: Sequence) -> tuple[Path, Path, Path]:
    """The box file, time file and failure record of ``seq`` for ``tracker``."""
    folder = tracker.results_dir
    return folder / f"{seq.name}.txt", folder / f"{seq.name}_time.txt", folder / "failed" / f"{seq.name}.txt"


def count_rows(path: Path) -> int:
    """Non-empty lines of ``path``; 0 when it does not exist."""
    try:
        return sum(1 for line in path.read_text().splitlines() if line.strip())
    except FileNotFoundError:
        return 0


def is_complete(tracker: Tracker, seq: Sequence) -> bool:
    """Whether ``seq``'s results for ``tracker`` are complete (see the module's docstring)."""
    result_file, time_file, _ = results_paths(tracker, seq)
    if tracker.frame_output is SINGLE_OBJECT:
        return count_rows(result_file) == len(seq)
    return result_file.is_file() and count_rows(time_file) == len(seq)


def write_results(tracker: Tracker, seq: Sequence, output: dict) -> None:
    """Write the time file, then the result file (each atomically)."""
    result_file, time_file, _ = results_paths(tracker, seq)
    times = np.asarray(output["time"], dtype=np.float64).reshape(-1)
    if len(times) != len(seq):
        raise ValueError(f"{tracker.label} gave {len(times)} times for the {len(seq)} frames of {seq.name}")
    if tracker.frame_output is SINGLE_OBJECT:
        boxes = np.asarray(output["target_bbox"], dtype=np.float64).reshape(-1, 4)
        if len(boxes) != len(seq):
            raise ValueError(f"{tracker.label} gave {len(boxes)} boxes for the {len(seq)} frames of {seq.name}")
        atomic_write_text(time_file, "".join(f"{t:.6f}\n" for t in times))
        write_box_rows(result_file, boxes)
    else:
        rows = np.asarray(output[tracker.frame_output.key], dtype=np.float64).reshape(-1, 7)
        world = np.full((len(rows), 3), -1.0)  # MOTChallenge's unused x, y, z columns
        atomic_write_text(time_file, "".join(f"{t:.6f}\n" for t in times))
        write_mot_rows(result_file, MotRows.from_array(np.concatenate([rows, world], 1)))


def _record_failure(failure: Path, seq: Sequence, tracker: Tracker, text: str) -> str:
    """Write the failure record; returns where it is, for the failure's message (or why it is
    not: the folder may go bad during a run, and the sequence is still reported)."""
    try:
        atomic_write_text(failure, f"sequence {seq.name}, tracker {tracker.label}\n{text}")
    except OSError as error:
        logger.error("could not write the failure record %s: %s", failure, error)
        return f"; its traceback could not be written to {failure}: {error}"
    return f"; traceback in {failure}"


def run_pair(seq: Sequence, tracker: Tracker, debug: int | None = None) -> PairResult:
    """Track ``seq`` and write its results; an exception becomes a failed result whose
    traceback is written to ``failed/<seq>.txt``."""
    _, _, failure = results_paths(tracker, seq)
    try:
        output = tracker.run_sequence(seq, debug=debug)
        write_results(tracker, seq, output)
    except Exception as error:  # recorded and reported; the other sequences go on
        text = traceback.format_exc()
        message = f"{type(error).__name__}: {error}" + _record_failure(failure, seq, tracker, text)
        return PairResult(seq.name, tracker.label, "failed", message, frames=len(seq), traceback=text)
    failure.unlink(missing_ok=True)
    seconds = float(np.sum(output["time"]))
    fps = len(seq) / seconds if seconds > 0 else float("inf")
    return PairResult(seq.name, tracker.label, "done", f"{len(seq)} frames, {fps:.1f} frames/s",
                      frames=len(seq), seconds=seconds)


def rank_and_world_size() -> tuple[int, int]:
    """``RANK`` and ``WORLD_SIZE`` as torchrun sets them; (0, 1) without torchrun."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def shard(items: SequenceABC[T], rank: int | None = None, world_size: int | None = None) -> list[T]:
    """This rank's share of ``items``: ``items[rank::world_size]``, by default from
    :func:`rank_and_world_size`."""
    env_rank, env_world = rank_and_world_size()
    rank = env_rank if rank is None else rank
    world_size = env_world if world_size is None else world_size
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not within a world of size {world_size}: check RANK and WORLD_SIZE")
    return list(items[rank::world_size])


def work_pairs(dataset: Iterable[Sequence], trackers: Iterable[Tracker]) -> list[tuple[Sequence, Tracker]]:
    """Every (sequence, tracker) pair, sequence by sequence."""
    trackers = list(trackers)
    return [(seq, tracker) for seq in dataset for tracker in trackers]


def _prepare_process(threads: int | None, log_level: int | None = None) -> None:
    """Thread counts (and, in spawned workers, logging) of a process that runs pairs."""
    if log_level is not None:  # spawned workers start without the parent's logging set-up
        from admin.logging_setup import setup_logging

        setup_logging(None, level=log_level)
    if threads is not None:
        import cv2
        import torch

        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)


def _use_local_gpu() -> None:
    """Under torchrun on a machine with several GPUs, each rank tracks on its own."""
    if "LOCAL_RANK" not in os.environ:
        return
    import torch

    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]) % torch.cuda.device_count())


class _Progress:
    def __init__(self, total: int):
        self.total, self.finished, self.started = total, 0, time.monotonic()

    def update(self, result: PairResult) -> None:
        self.finished += 1
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.finished * (self.total - self.finished)
        if result.status == "failed":
            # The message names the problem and the failure record; the traceback is in that
            # record, and on the console only with --debug.
            logger.error("%s (%s) failed: %s", result.sequence, result.tracker, result.message)
            if result.traceback:
                logger.debug("%s (%s):\n%s", result.sequence, result.tracker, result.traceback)
        logger.info("%d/%d %s %s (%s): %s; %.0f s elapsed, ETA %.0f s", self.finished, self.total, result.status,
                    result.sequence, result.tracker, result.message, elapsed, eta)


def run_dataset(dataset: Iterable[Sequence], trackers: Tracker | Iterable[Tracker], *, workers: int = 1,
                threads: int | None = None, debug: int | None = None, rerun: bool = False) -> RunReport:
    """Run every tracker on every sequence of ``dataset`` and write the results.

    Under torchrun each rank takes every ``WORLD_SIZE``-th pair from its ``RANK``; ``workers``
    > 1 runs pairs in that many spawned processes; ``threads`` sets torch's and OpenCV's thread
    count in each. Pairs with complete results are skipped unless ``rerun``. Failures are
    logged and recorded (see the module's docstring) and the run goes on."""
    trackers = [trackers] if isinstance(trackers, Tracker) else list(trackers)
    rank, world_size = rank_and_world_size()
    everything = work_pairs(dataset, trackers)
    if not everything:
        # Checked before sharding: a rank may rightly get no share of a small dataset.
        what = "no trackers" if not trackers else "no sequences"
        raise EmptyRunError(f"nothing to run: {what} given; check the dataset and the sequence selection")
    pairs = shard(everything, rank, world_size)
    report = RunReport(rank=rank, world_size=world_size)
    check_results_folders(dict.fromkeys(tracker for _, tracker in pairs))
    todo = []
    for seq, tracker in pairs:
        if not rerun and is_complete(tracker, seq):
            report.add(PairResult(seq.name, tracker.label, "skipped", f"complete results in {tracker.results_dir}"))
        else:
            todo.append((seq, tracker))
    logger.info("%d of %d (sequence, tracker) pairs to run, %d already complete, %d worker(s)", len(todo),
                len(pairs), len(report.skipped), max(1, workers))
    _use_local_gpu()
    progress = _Progress(len(todo))
    if workers <= 1 or len(todo) <= 1:
        _prepare_process(threads)
        try:
            for seq, tracker in todo:
                result = run_pair(seq, tracker, debug)
                report.add(result)
                progress.update(result)
        except KeyboardInterrupt:
            raise RunInterrupted(report, trackers) from None
        return report
    level = logging.getLogger().getEffectiveLevel()
    pool = worker_pool(min(workers, len(todo)), initializer=_prepare_process, initargs=(threads, level))
    try:
        futures = {pool.submit(run_pair, seq, tracker, debug): (seq, tracker) for seq, tracker in todo}
        for future in concurrent.futures.as_completed(futures):
            seq, tracker = futures[future]
            try:
                result = future.result()
            except (concurrent.futures.process.BrokenProcessPool, WorkerStopped) as error:
                # A worker died (killed, out of memory, a crash in native code) or was stopped
                # by someone else's SIGTERM: no traceback.
                message = f"the worker process died ({error}); run this sequence alone to see why"
                _record_failure(results_paths(tracker, seq)[2], seq, tracker, message + "\n")
                result = PairResult(seq.name, tracker.label, "failed", message, frames=len(seq))
            report.add(result)
            progress.update(result)
    except KeyboardInterrupt:
        # The workers ignore SIGINT; the running pairs unwind (no result file is half written).
        pool.stop()
        raise RunInterrupted(_ordered(report, pairs), trackers) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return _ordered(report, pairs)


def _ordered(report: RunReport, pairs: list[tuple[Sequence, Tracker]]) -> RunReport:
    # Reported in dataset order, whatever order the workers finished in.
    order = {(seq.name, tracker.label): i for i, (seq, tracker) in enumerate(pairs)}
    for results in (report.done, report.failed):
        results.sort(key=lambda r: order[(r.sequence, r.tracker)])
    return report


# What reading the environment (admin/local.py, TRACKING_* variables) and opening the log can
# raise for a user's mistake: a path not set or unusable, a misspelt field, a value of the wrong
# type, a syntax error in the file; each names the file or field.
ENVIRONMENT_ERRORS = (OSError, ValueError, TypeError, SyntaxError)


def entry_environment(script: str, debug: int | None = None) -> EnvSettings:
    """The environment of an entry script, with logging to ``<workspace_dir>/logs/<script>``;
    a problem with either ends the script with one line (SystemExit). SIGTERM (a batch
    system's stop) is handled as Ctrl-C from here on."""
    try:
        settings = env_settings()
        setup_logging(Path(settings.workspace_dir) / "logs", name=script,
                      level=logging.DEBUG if debug else logging.INFO)
    except ENVIRONMENT_ERRORS as error:
        raise SystemExit(f"{script}: cannot set up the environment: {error}") from None
    signal.signal(signal.SIGTERM, _interrupt)
    return settings


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of :func:`run_dataset`, shared by the entry scripts."""
    parser.add_argument("--threads", type=int, default=None, help="torch and OpenCV threads per process")
    parser.add_argument("--workers", type=int, default=1, help="processes running sequences (default 1)")
    parser.add_argument("--debug", type=int, default=None, help="debug level given to the trackers")
    parser.add_argument("--rerun", action="store_true", help="run sequences whose results are complete again")


def run_from_arguments(dataset: Iterable[Sequence], trackers: Tracker | Iterable[Tracker],
                       args: argparse.Namespace) -> RunReport:
    return run_dataset(dataset, trackers, workers=args.workers, threads=args.threads, debug=args.debug,
                       rerun=args.rerun)
