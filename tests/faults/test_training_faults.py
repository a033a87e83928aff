"""Faults thrown at ``ltr/run_training.py`` on a tiny generated experiment
(tests/ltr/trainers/tiny_experiment.py): kill -9 and Ctrl-C of real processes, a kill while a
checkpoint is written, a full disk through a patched write, an unwritable folder, a corrupt
checkpoint, a network of another size, a second run over an earlier one, bad overrides. Each
case is one test; each ends with one line for the user (no traceback) and nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests/ltr/trainers/tiny_experiment.py"

# Runs ltr/run_training.py as __main__ with the tiny experiment registered as
# ltr.train_settings.tests.tiny. FAULT_HANG_AT_EPOCH makes the write of that epoch's
# checkpoint stop half way (and touch FAULT_MARKER), for a kill during the write.
LAUNCHER = textwrap.dedent("""
    import importlib.util, os, pathlib, runpy, sys, time
    spec = importlib.util.spec_from_file_location("ltr.train_settings.tests.tiny", sys.argv.pop(1))
    module = importlib.util.module_from_spec(spec)
    sys.modules["ltr.train_settings.tests"] = importlib.util.module_from_spec(
        importlib.util.spec_from_loader("ltr.train_settings.tests", loader=None))
    sys.modules["ltr.train_settings.tests.tiny"] = module
    spec.loader.exec_module(module)
    hang = os.environ.get("FAULT_HANG_AT_EPOCH")
    if hang:
        import torch
        real_save = torch.save
        def hanging_save(obj, file, *args, **kwargs):
            if isinstance(obj, dict) and obj.get("epoch") == int(hang):
                file.write(b"half a checkpoint")
                file.flush()
                pathlib.Path(os.environ["FAULT_MARKER"]).write_text("writing")
                time.sleep(300)
            return real_save(obj, file, *args, **kwargs)
        torch.save = hanging_save
    sys.argv = ["ltr/run_training.py", *sys.argv[1:]]
    runpy.run_path("ltr/run_training.py", run_name="__main__")
    """)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TRACKING_")}
    environment.update(TRACKING_LOCAL_FILE=os.devnull,
                       TRACKING_WORKSPACE_DIR=str(tmp_path / "workspace"),
                       PYTHONPATH=str(REPO), FAULT_MARKER=str(tmp_path / "marker"))
    return environment


def checkpoint_dir(env: dict[str, str], run: str = "tiny") -> Path:
    return Path(env["TRACKING_WORKSPACE_DIR"]) / "checkpoints/ltr/tests" / run


def start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LAUNCHER, str(TINY), "tests", "tiny", "--device", "cpu",
                             "--seed", "3", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def wait_for(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the run ended first:\n{process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("timed out waiting for the run")
        time.sleep(0.05)


def assert_one_line(err: str, *fragments: str) -> str:
    """The user's message: the last line of stderr, no traceback anywhere."""
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last
    return last


def uninterrupted_losses(monkeypatch, tmp_path, epochs: int) -> list[float]:
    import importlib.util

    from ltr.settings import TrainSettings
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "reference"))
    spec = importlib.util.spec_from_file_location("tiny_reference", TINY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    settings = TrainSettings(module_name="tests", script_name="tiny", seed=3, device="cpu")
    settings.epochs = epochs
    module.run(settings)
    return settings._trainer.stats["train"]["Loss/total"]


@pytest.mark.slow  # three runs, two of them processes of their own
def test_kill_9_during_training_then_resume_loses_nothing(env, monkeypatch, tmp_path):
    run = start(env, "--set", "epochs=4", "_step_delay=0.05")
    wait_for(lambda: (checkpoint_dir(env) / "Linear_ep0001.pth.tar").exists(), run)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    code, err = finish(start(env, "--resume", "--set", "epochs=4"))
    assert code == 0, err
    final = torch.load(checkpoint_dir(env) / "Linear_ep0004.pth.tar", weights_only=True)
    assert final["stats"]["train"]["Loss/total"] == uninterrupted_losses(monkeypatch, tmp_path, 4)


def test_kill_9_during_a_checkpoint_write_leaves_a_temporary_cleaned_at_the_next_start(env):
    run = start({**env, "FAULT_HANG_AT_EPOCH": "2"}, "--set", "epochs=3")
    wait_for(lambda: Path(env["FAULT_MARKER"]).exists(), run)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    stale = list(checkpoint_dir(env).glob(".Linear_ep0002.pth.tar.*.tmp"))
    assert len(stale) == 1 and not (checkpoint_dir(env) / "Linear_ep0002.pth.tar").exists()
    code, err = finish(start(env, "--resume", "--set", "epochs=3"))
    assert code == 0, err
    assert "removed 1 temporary file(s) of an interrupted checkpoint write" in err and stale[0].name in err
    assert "resumed from" in err and "Linear_ep0001.pth.tar (epoch 1)" in err
    assert sorted(p.name for p in checkpoint_dir(env).iterdir()) == [
        "Linear_ep0001.pth.tar", "Linear_ep0002.pth.tar", "Linear_ep0003.pth.tar"]


def test_ctrl_c_stops_in_one_line_naming_the_checkpoint_and_resume(env):
    run = start(env, "--set", "epochs=50", "_step_delay=0.05")
    wait_for(lambda: (checkpoint_dir(env) / "Linear_ep0001.pth.tar").exists(), run)
    run.send_signal(signal.SIGINT)
    code, err = finish(run, timeout=60)
    assert code == 130
    last = assert_one_line(err, "Stopped: interrupted during epoch", "of 50: kept", ".pth.tar (epoch",
                           "python ltr/run_training.py tests tiny --resume")
    kept = Path(last.split("kept ")[1].split(" (epoch")[0])
    assert kept.exists() and not list(checkpoint_dir(env).glob(".*.tmp"))


# In-process cases: main() as the script runs it, with its message checked as the user sees it.

@pytest.fixture
def tiny_main(env, monkeypatch):
    import importlib.util
    import types

    from ltr import run_training
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location("ltr.train_settings.tests.tiny", TINY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "ltr.train_settings.tests", types.ModuleType("ltr.train_settings.tests"))
    monkeypatch.setitem(sys.modules, "ltr.train_settings.tests.tiny", module)

    def main(*args: str) -> int | str:
        """main()'s return code, or the message it exits with."""
        try:
            return run_training.main(["tests", "tiny", "--device", "cpu", "--seed", "3", *args])
        except SystemExit as exit_:
            return exit_.code

    yield main
    from admin.logging_setup import setup_logging
    setup_logging(None, level=30)  # drop the handlers bound to this test's captured stderr


def assert_message(result, *fragments: str) -> str:
    assert isinstance(result, str) and "\n" not in result and result.startswith("Error: "), result
    for fragment in fragments:
        assert fragment in result, result
    return result


def test_second_run_over_an_earlier_ones_checkpoints_is_refused(tiny_main, env):
    assert tiny_main("--set", "epochs=5") == 0
    before = {p.name: p.read_bytes() for p in checkpoint_dir(env).iterdir()}
    assert_message(tiny_main("--set", "epochs=2"), "already holds 3 Linear checkpoint(s)", "--resume", "--run-name NAME",
                   "nothing was changed")
    assert {p.name: p.read_bytes() for p in checkpoint_dir(env).iterdir()} == before
    assert tiny_main("--set", "epochs=2", "--run-name", "second") == 0
    assert sorted(p.name for p in checkpoint_dir(env, "tiny-second").iterdir()) == [
        "Linear_ep0001.pth.tar", "Linear_ep0002.pth.tar"]


def test_disk_full_while_saving_names_the_file_and_free_space(tiny_main, env, monkeypatch):
    real_save = torch.save

    def full_disk(obj, file, *args, **kwargs):
        if obj.get("epoch") == 2:
            file.write(b"x" * 64)
            raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64 vs 0")
        return real_save(obj, file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    assert_message(tiny_main("--set", "epochs=3"), str(checkpoint_dir(env) / "Linear_ep0002.pth.tar"),
                   "MiB free", "the disk is probably full", "no partial file was left")
    assert sorted(p.name for p in checkpoint_dir(env).iterdir()) == ["Linear_ep0001.pth.tar"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_checkpoint_folder_fails_before_training(tiny_main, env):
    folder = checkpoint_dir(env)
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    try:
        assert_message(tiny_main("--set", "epochs=1"), f"cannot write checkpoints to {folder}", "workspace_dir")
    finally:
        folder.chmod(0o700)


def test_checkpoint_folder_that_cannot_be_created_fails_before_training(tiny_main, env):
    blocker = checkpoint_dir(env).parent
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the folder belongs")
    assert_message(tiny_main("--set", "epochs=1"), f"cannot create the checkpoint folder {checkpoint_dir(env)}",
                   "workspace_dir")


def test_corrupt_latest_checkpoint_falls_back_or_is_chosen_past(tiny_main, env, capsys):
    assert tiny_main("--set", "epochs=3") == 0
    latest = checkpoint_dir(env) / "Linear_ep0003.pth.tar"
    latest.write_bytes(b"\0" * 100)
    assert tiny_main("--resume", "--set", "epochs=3") == 0
    err = capsys.readouterr().err
    assert "cannot resume from" in err and "Linear_ep0003.pth.tar" in err and "resumed from" in err
    assert torch.load(latest, weights_only=True)["epoch"] == 3  # epoch 3 trained again and rewritten
    chosen = checkpoint_dir(env) / "Linear_ep0001.pth.tar"
    assert tiny_main("--checkpoint", str(chosen), "--set", "epochs=2") == 0
    assert f"resumed from {chosen} (epoch 1)" in capsys.readouterr().err


def test_explicit_corrupt_checkpoint_is_one_line(tiny_main, env, tmp_path):
    broken = tmp_path / "broken.pth.tar"
    broken.write_bytes(b"not a checkpoint")
    assert_message(tiny_main("--checkpoint", str(broken)), str(broken), "truncated or not a checkpoint")


def test_resume_with_another_network_size_is_one_line(tiny_main, env):
    assert tiny_main("--set", "epochs=1") == 0
    assert_message(tiny_main("--resume", "--set", "epochs=2", "network_kwargs={'in_features': 4}"),
                   "Linear_ep0001.pth.tar does not fit the network being trained",
                   "weight [1, 8] in the checkpoint, [1, 4] in the network", "--run-name NAME")


def test_newer_checkpoint_version_is_one_line(tiny_main, env):
    assert tiny_main("--set", "epochs=1") == 0
    path = checkpoint_dir(env) / "Linear_ep0001.pth.tar"
    checkpoint = torch.load(path, weights_only=True)
    torch.save({**checkpoint, "version": 7}, path)
    assert_message(tiny_main("--checkpoint", str(path)), str(path), "version 7", "update the toolkit")


@pytest.mark.parametrize("args, fragments", [
    (["--set", "epoch=1"], ["sets setting 'epoch'", "did you mean 'epochs'"]),
    (["--set", "epochs"], ["NAME=VALUE"]),
    (["--set", "seed=2"], ["use --seed"]),
    (["--set", "keep_checkpoints=1", "--run-name", "a/b"], ["plain folder name"]),
], ids=["unknown-setting", "no-value", "run-option", "bad-run-name"])
def test_bad_overrides_are_one_line(tiny_main, args, fragments):
    assert_message(tiny_main(*args), *fragments)


def test_override_of_the_wrong_type_is_one_line(tiny_main, env):
    # The tiny experiment sets print_interval to an int itself.
    assert_message(tiny_main("--set", "epochs=1", "print_interval=two"), "--set print_interval=two",
                   "tiny_experiment.py sets print_interval to a int (10); give a int")
