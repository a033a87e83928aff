"""Worker processes that die with the process that started them.

A spawned ``ProcessPoolExecutor`` worker waits on its call queue for good when its parent is
killed (kill -9, the out-of-memory killer): it never learns that no more work will come, and
keeps its memory (hundreds of MB with torch loaded). :func:`worker_pool` makes every worker end
as soon as its parent is gone: on Linux the kernel kills it (``PR_SET_PDEATHSIG``), even while
it is blocked in native code; everywhere a watchdog thread ends it when its parent pid changes
(how both Linux and macOS report a dead parent). Workers also leave Ctrl-C to the
parent: a terminal's SIGINT reaches the whole process group, and the parent, not each worker,
decides what is kept. :func:`stop_workers` then ends the workers of a pool that is being
abandoned, letting a worker in the middle of a task unwind (temporary files of atomic writes
are removed by their ``finally``) rather than vanish.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # how soon an orphaned worker notices; a getppid() call costs microseconds
STOP_GRACE_SECONDS = 5.0
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>  # how long a stopped worker may take to unwind before it is killed


class WorkerStopped(BaseException):
    """Raised inside a worker's task when the parent stops the pool (SIGTERM from
    :func:`stop_workers`). A BaseException, so that handlers recording a task's ordinary
    failures (``except Exception``) let it through."""


_busy = False  # whether this worker is inside a task (only meaningful in a worker)


def _watch_parent(parent_pid: int) -> None:
    # Leave SIGTERM and SIGINT to the main thread: delivered here they would not interrupt a
    # system call the main thread is blocked in. (Threads of native libraries may still take
    # them; a worker that does not stop is killed after STOP_GRACE_SECONDS.)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    # The parent is gone: no result can be delivered, nothing is left to clean but ourselves.
    os._exit(1)


def _on_terminate(signum: int, frame: Any) -> None:
    if _busy:
        raise WorkerStopped(f"stopped by the parent process (signal {signum})")
    os._exit(0)  # idle between tasks: nothing to unwind


def kill_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent dies. The signal follows the
    parent *thread* that started the process; pool workers are started by the thread that
    submits tasks, which outlives the pool. Also the ``preexec_fn`` of a command a process
    starts and waits for (``subprocess.Popen``)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        logger.warning("prctl(PR_SET_PDEATHSIG) failed (%s); the watchdog thread alone ends this worker "
                       "with its parent", os.strerror(error))


def _init_worker(parent_pid: int, initializer: Callable[..., None] | None, initargs: tuple) -> None:
    kill_with_parent()
    if os.getppid() != parent_pid:  # the parent died while this worker was starting
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_terminate)
    if initializer is not None:
        initializer(*initargs)


def _call(function: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    global _busy
    _busy = True
    try:
        return function(*args, **kwargs)
    finally:
        _busy = False


class WorkerPool(concurrent.futures.ProcessPoolExecutor):
    """A spawn ``ProcessPoolExecutor`` whose workers end with their parent, ignore SIGINT and
    unwind their task on SIGTERM (see the module's docstring)."""

    def __init__(self, max_workers: int, *, initializer: Callable[..., None] | None = None,
                 initargs: Iterable[Any] = ()):
        self._children_before = set(multiprocessing.active_children())
        super().__init__(max_workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                         initargs=(os.getpid(), initializer, tuple(initargs)))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        return super().submit(_call, fn, args, kwargs)

    def workers(self) -> list[multiprocessing.process.BaseProcess]:
        """This pool's live worker processes."""
        return [child for child in multiprocessing.active_children() if child not in self._children_before]

    def stop(self) -> None:
        """Cancel the tasks not started, stop the running ones (their workers unwind, then exit;
        killed after ``STOP_GRACE_SECONDS``) and shut the pool down."""
        workers = self.workers()
        self.shutdown(wait=False, cancel_futures=True)
        stop_workers(workers)


def stop_workers(workers: Iterable[multiprocessing.process.BaseProcess],
                 grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM each worker, wait up to ``grace`` seconds for all of them, then kill the rest."""
    workers = list(workers)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    deadline = time.monotonic() + grace
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            logger.warning("worker process %d did not stop within %.0f s; killing it", worker.pid, grace)
            worker.kill()
            worker.join()


def worker_pool(max_workers: int, *, initializer: Callable[..., None] | None = None,
                initargs: Iterable[Any] = ()) -> WorkerPool:
    """A :class:`WorkerPool` of ``max_workers`` spawned processes."""
    return WorkerPool(max_workers, initializer=initializer, initargs=initargs)
