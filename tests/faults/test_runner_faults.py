"""Fault injection for the tracker runner and the dataset generator, on real subprocesses:

1. kill -9 of ``run_tracker.py --workers 2``: its workers end within seconds
2. kill -9 of ``python -m ltr.dataset.synthetic --workers 2``: its workers end within seconds
3. SIGINT (Ctrl-C) of ``run_tracker.py --workers 2``: one line on what was kept, no traceback,
   workers gone, no temporary or partial result file; running again resumes
4. SIGINT of ``run_tracker.py`` in one process: the same
5. results_path that cannot be created (its parent is a regular file): one line, nothing tracked
6. the run's results folder cannot be written (it is a regular file): one line, nothing tracked
7. the run's failed/ folder cannot be written (a regular file), with a sequence that fails: one
   line before tracking, instead of a crash inside the failure handler after the first sequence
8. a first ground-truth box of zero width: that sequence fails naming its annotation file, the
   others run
9. a dataset without sequences: exit status 1 naming the dataset
10. a broken admin/local.py (a misspelt field): one line, exit status 1
11. --network naming a checkpoint that does not exist: one line, exit status 1

Unwritable folders are made by putting a regular file where a folder must be (the tests run as
root, which chmod does not stop). A sequence is held mid-run by making one of its frames a named
pipe that nobody writes: the worker tracking it blocks on that frame, deterministically, while
the other sequences finish.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ltr.dataset.synthetic import SceneConfig, generate_dataset
from ltr.processes import STOP_GRACE_SECONDS

REPO = Path(__file__).resolve().parents[2]
FRAMES = 8
BLOCKED = "GOT-10k_Val_000002"  # the sequence held by a named pipe
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


# ---------------------------------------------------------------- helpers

def process_state(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) from /proc; None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    state = process_state(pid)
    return state is not None and state[0] not in ("Z", "X")  # a zombie has ended


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            state = process_state(int(entry.name))
            if state is not None and state[1] == pid and state[0] not in ("Z", "X"):
                found.append(int(entry.name))
    return found


def spawned_workers(pid: int) -> list[int]:
    """Children of ``pid`` that are multiprocessing's spawned workers."""
    workers = []
    for child in children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"multiprocessing.spawn" in command or b"spawn_main" in command:
            workers.append(child)
    return workers


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            output = process.communicate()
            pytest.fail(f"the command ended (status {process.returncode}) before {what}: {output}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def assert_all_gone(pids: list[int], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    left = [pid for pid in pids if alive(pid)]
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"worker processes {left} outlived their parent by {timeout} s"


def environment(tmp_path: Path, synthetic: Path, **fields: str) -> dict[str, str]:
    """The scripts' environment: an empty local file, the workspace under ``tmp_path``."""
    local = tmp_path / "local.py"
    if not local.exists():
        local.write_text("# no fields: the defaults and TRACKING_* variables\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKING_")}
    env.update({"TRACKING_LOCAL_FILE": str(local), "TRACKING_WORKSPACE_DIR": str(tmp_path / "ws"),
                "TRACKING_SYNTHETIC_DIR": str(synthetic), "PYTHONPATH": str(REPO)})
    env.update({f"TRACKING_{name.upper()}": value for name, value in fields.items()})
    return env


def run_tracker_command(*extra: str) -> list[str]:
    return [sys.executable, "pytracking/run_tracker.py", "opencv", "kcf", "--dataset_name", "synthetic", *extra]


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    """Four generated sequences of 8 frames, 96x72 pixels (GOT-10k layout, val split)."""
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, train=0, val=4, config=SceneConfig(width=96, height=72, frames=FRAMES), workers=1)
    return root


@pytest.fixture
def held_dataset(synthetic_root, tmp_path) -> tuple[Path, Path]:
    """A copy of the dataset whose second sequence's third frame is a named pipe (the
    sequence blocks there), and the original frame."""
    root = tmp_path / "held"
    shutil.copytree(synthetic_root, root)
    frame = root / "val" / BLOCKED / "00000003.jpg"
    frame.unlink()
    os.mkfifo(frame)
    return root, synthetic_root / "val" / BLOCKED / "00000003.jpg"


def results_folder(tmp_path: Path) -> Path:
    return tmp_path / "ws" / "tracking_results" / "opencv" / "kcf"


def complete_results(folder: Path) -> list[str]:
    """Sequences whose box file has one row per frame."""
    return sorted(p.stem for p in folder.glob("GOT-10k_Val_??????.txt")
                  if len(p.read_text().splitlines()) == FRAMES)


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ---------------------------------------------------------------- kill -9: orphans

def test_kill9_of_run_tracker_ends_its_workers(held_dataset, tmp_path):
    root, _ = held_dataset
    process = start(run_tracker_command("--workers", "2", "--threads", "1"), environment(tmp_path, root))
    try:
        # Three sequences done, the fourth held: both workers exist and one is mid-sequence.
        wait_for(lambda: len(complete_results(results_folder(tmp_path))) == 3, 60, "three sequences", process)
        workers = wait_for(lambda: spawned_workers(process.pid), 10, "the workers", process)
        assert len(workers) == 2
        process.kill()
        process.wait()
        assert_all_gone(workers)
    finally:
        process.kill()
        process.communicate()


def test_kill9_of_the_generator_ends_its_workers(tmp_path):
    out = tmp_path / "generated"
    command = [sys.executable, "-m", "ltr.dataset.synthetic", "--out", str(out), "--workers", "2", "--train", "40",
               "--val", "0", "--frames", "20", "--width", "160", "--height", "120"]
    process = start(command, environment(tmp_path, tmp_path / "unused"))
    try:
        workers = wait_for(lambda: len(spawned_workers(process.pid)) == 2 and spawned_workers(process.pid), 60,
                           "two workers", process)
        # A sequence folder (hidden while being written): the workers have started and run.
        wait_for(lambda: (out / "train").is_dir() and any((out / "train").iterdir()), 60, "a sequence being written",
                 process)
        process.kill()
        process.wait()
        assert_all_gone(workers)
    finally:
        process.kill()
        process.communicate()


# ---------------------------------------------------------------- Ctrl-C

def interrupt_and_resume(held_dataset, tmp_path, workers: str) -> None:
    root, frame = held_dataset
    env = environment(tmp_path, root)
    command = run_tracker_command("--workers", workers, "--threads", "1")
    process = start(command, env)
    folder = results_folder(tmp_path)
    try:
        if workers == "1":  # one process: the sequence before the held one is done
            wait_for(lambda: len(complete_results(folder)) == 1, 60, "the first sequence", process)
            kept = 1
        else:
            wait_for(lambda: len(complete_results(folder)) == 3, 60, "three sequences", process)
            kept = 3
        workers_seen = spawned_workers(process.pid)
        time.sleep(0.3)  # the held sequence is now blocked on its frame
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
        # A worker unwinds at once, or (this one, blocked in a system call on the pipe) is
        # killed after the grace period.
        assert time.monotonic() - interrupted < STOP_GRACE_SECONDS + 10, stderr
    finally:
        process.kill()
    assert process.returncode == 130, (stdout, stderr)
    line = one_line(_without_log_lines(stderr))
    assert f"interrupted: {kept} sequences have complete results" in line and str(folder) in line
    assert "run the same command again to resume" in line
    assert_all_gone(workers_seen, timeout=1.0)
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")], "temporary files left"
    assert not (folder / f"{BLOCKED}.txt").exists() and not (folder / "failed" / f"{BLOCKED}.txt").exists()
    assert complete_results(folder) == sorted(p.stem for p in folder.glob("GOT-10k_Val_??????.txt"))

    # Repaired, the same command resumes: the kept sequences are skipped (one process is enough).
    held = root / "val" / BLOCKED / frame.name
    held.unlink()
    shutil.copy(frame, held)
    result = subprocess.run(run_tracker_command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{4 - kept} sequences run" in result.stdout and f"{kept} skipped" in result.stdout
    assert len(complete_results(folder)) == 4


def _without_log_lines(stderr: str) -> str:
    """stderr less the log's records (they start with a time stamp, HH:MM:SS)."""
    return "\n".join(line for line in stderr.splitlines()
                     if not (len(line) >= 8 and line[2] == ":" and line[5] == ":" and line[:2].isdigit()))


def test_sigint_of_run_tracker_with_workers_stops_cleanly_and_resumes(held_dataset, tmp_path):
    interrupt_and_resume(held_dataset, tmp_path, "2")


def test_sigint_of_run_tracker_in_one_process_stops_cleanly_and_resumes(held_dataset, tmp_path):
    interrupt_and_resume(held_dataset, tmp_path, "1")


# ---------------------------------------------------------------- unwritable results

def test_results_path_that_cannot_be_created(synthetic_root, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    env = environment(tmp_path, synthetic_root, results_path=str(blocker / "results"))
    result = subprocess.run(run_tracker_command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    line = one_line(_without_log_lines(result.stderr))
    assert "results_path" in line and str(blocker / "results") in line and "TRACKING_RESULTS_PATH" in line


def test_results_folder_that_cannot_be_written(synthetic_root, tmp_path):
    results = tmp_path / "results"
    (results / "opencv").mkdir(parents=True)
    (results / "opencv" / "kcf").write_text("a file where the run's folder goes\n")
    env = environment(tmp_path, synthetic_root, results_path=str(results))
    result = subprocess.run(run_tracker_command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    line = one_line(_without_log_lines(result.stderr))
    assert f"cannot write results to {results / 'opencv' / 'kcf'}" in line and "TRACKING_RESULTS_PATH" in line
    assert "sequences run" not in result.stdout


def test_failed_folder_that_cannot_be_written(synthetic_root, tmp_path):
    root = tmp_path / "corrupt"
    shutil.copytree(synthetic_root, root)
    (root / "val" / BLOCKED / "00000003.jpg").write_bytes(b"not a jpeg")  # this sequence would fail
    results = tmp_path / "results"
    (results / "opencv" / "kcf").mkdir(parents=True)
    (results / "opencv" / "kcf" / "failed").write_text("a file where failure records go\n")
    env = environment(tmp_path, root, results_path=str(results))
    result = subprocess.run(run_tracker_command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    line = one_line(_without_log_lines(result.stderr))
    assert f"cannot write results to {results / 'opencv' / 'kcf' / 'failed'}" in line
    assert not list((results / "opencv" / "kcf").glob("*.txt"))  # refused before tracking


# ---------------------------------------------------------------- bad input

def test_zero_width_first_box_fails_that_sequence_only(synthetic_root, tmp_path):
    root = tmp_path / "zero"
    shutil.copytree(synthetic_root, root)
    annotation = root / "val" / BLOCKED / "groundtruth.txt"
    rows = annotation.read_text().splitlines()
    x, y, _, h = rows[0].split(",")
    annotation.write_text("\n".join([f"{x},{y},0,{h}"] + rows[1:]) + "\n")
    env = environment(tmp_path, root)
    result = subprocess.run(run_tracker_command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "3 sequences run" in result.stdout and f"failed sequences: {BLOCKED}" in result.stdout
    failed = [line for line in result.stdout.splitlines() if line.strip().startswith("FAILED")]
    assert len(failed) == 1 and str(annotation) in failed[0] and "positive width and height" in failed[0]
    assert "Traceback" not in result.stderr and "cv2.error" not in result.stdout + result.stderr


def test_dataset_without_sequences_is_an_error(tmp_path):
    root = tmp_path / "empty"
    generate_dataset(root, train=0, val=0, config=SceneConfig(width=96, height=72, frames=FRAMES), workers=1)
    env = environment(tmp_path, root)
    result = subprocess.run(run_tracker_command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, (result.stdout, result.stderr)
    line = one_line(_without_log_lines(result.stderr))
    assert "synthetic" in line and ("no sequences" in line or "empty" in line)
    assert "0 sequences run" not in result.stdout


def test_broken_local_file_is_one_line(synthetic_root, tmp_path):
    env = environment(tmp_path, synthetic_root)
    Path(env["TRACKING_LOCAL_FILE"]).write_text("results_pth = '/tmp'\n")
    result = subprocess.run(run_tracker_command(), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert env["TRACKING_LOCAL_FILE"] in line and "results_pth" in line


def test_missing_network_file_is_one_line(synthetic_root, tmp_path):
    env = environment(tmp_path, synthetic_root)
    missing = tmp_path / "checkpoints" / "ATOMnet_ep0005.pth.tar"
    command = [sys.executable, "pytracking/run_tracker.py", "atom", "synthetic", "--dataset_name", "synthetic",
               "--network", str(missing)]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    line = one_line(_without_log_lines(result.stderr))
    assert str(missing) in line and "does not exist" in line
