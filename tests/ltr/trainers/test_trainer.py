import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ltr.settings import TrainSettings
from ltr.trainers import NonFiniteLossError

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def experiment():
    spec = importlib.util.spec_from_file_location("tiny_experiment", HERE / "tiny_experiment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))
    return tmp_path / "workspace"


def train(epochs: int, *, resume: bool = False, **extra) -> TrainSettings:
    settings = TrainSettings(module_name="tests", script_name="tiny", seed=3, device="cpu", resume=resume)
    settings.epochs = epochs
    for key, value in extra.items():
        setattr(settings, key, value)
    experiment().run(settings)
    return settings


def test_training_lowers_the_loss_and_writes_checkpoints(workspace):
    settings = train(4)
    losses = settings._trainer.stats["train"]["Loss/total"]
    assert len(losses) == 4 and losses[-1] < 0.5 * losses[0]
    assert len(settings._trainer.stats["val"]["Loss/total"]) == 2  # epochs 2 and 4
    checkpoints = sorted(settings.checkpoint_dir.glob("*.pth.tar"))
    assert [p.name for p in checkpoints] == ["Linear_ep0002.pth.tar", "Linear_ep0003.pth.tar", "Linear_ep0004.pth.tar"]
    checkpoint = torch.load(checkpoints[-1], weights_only=True)
    assert checkpoint["epoch"] == 4 and checkpoint["settings"]["seed"] == 3
    assert checkpoint["input_normalization"] is None  # the tiny experiment normalises nothing
    assert checkpoint["stats"]["train"]["Loss/total"] == losses
    assert list((settings.tensorboard_dir / "train").glob("events.out.tfevents.*"))


def test_checkpoints_record_the_input_normalisation(workspace):
    settings = train(1, normalize_mean=(0.5, 0.25, 0.125), normalize_std=[0.5, 0.5, 2])
    checkpoint = torch.load(sorted(settings.checkpoint_dir.glob("*.pth.tar"))[-1], weights_only=True)
    assert checkpoint["input_normalization"] == {"mean": [0.5, 0.25, 0.125], "std": [0.5, 0.5, 2.0]}
    with pytest.raises(ValueError, match="normalize_std"):
        train(1, normalize_mean=(0.5, 0.25, 0.125))


def test_resumed_run_repeats_the_uninterrupted_one(workspace, tmp_path, monkeypatch):
    uninterrupted = train(4)._trainer
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "second"))
    train(2)
    resumed = train(4, resume=True)._trainer
    assert resumed.stats["train"]["Loss/total"] == uninterrupted.stats["train"]["Loss/total"]
    assert resumed.stats["val"]["Loss/total"] == uninterrupted.stats["val"]["Loss/total"]
    for a, b in zip(resumed.actor.net.parameters(), uninterrupted.actor.net.parameters()):
        assert torch.equal(a, b)
    assert resumed.optimizer.param_groups[0]["lr"] == uninterrupted.optimizer.param_groups[0]["lr"]


def test_resume_with_workers_repeats_too(workspace, tmp_path, monkeypatch):
    uninterrupted = train(3, num_workers=2)._trainer.stats["train"]["Loss/total"]
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "second"))
    train(1, num_workers=2)
    assert train(3, resume=True, num_workers=2)._trainer.stats["train"]["Loss/total"] == uninterrupted


def test_non_finite_loss_stops_with_the_epoch_and_iteration(workspace):
    # 8 train batches per epoch: the 11th call is the third iteration of epoch 2.
    with pytest.raises(NonFiniteLossError, match="epoch 2, iteration 3"):
        train(3, _poison_at=10)


def test_mixed_precision_options_are_checked(workspace):
    with pytest.raises(ValueError, match="float16 mixed precision needs CUDA"):
        train(1, amp="float16")
    settings = train(1, amp="bfloat16")
    assert settings._trainer.stats["train"]["Loss/total"][0] > 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RANK_SCRIPT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ltr.train_settings.tests.tiny", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["ltr.train_settings.tests"] = importlib.util.module_from_spec(
    importlib.util.spec_from_loader("ltr.train_settings.tests", loader=None))
sys.modules["ltr.train_settings.tests.tiny"] = module
spec.loader.exec_module(module)
import torch
from ltr.run_training import run_training
settings = run_training("tests", "tiny", seed=3, device="cpu")
net = settings._trainer.actor.net
assert not isinstance(net, torch.nn.parallel.DistributedDataParallel)
print("PARAMS", ",".join(f"{v:.6f}" for v in net.weight.flatten().tolist()))
"""


def test_two_process_gloo_run(workspace):
    port = free_port()
    processes = []
    for rank in range(2):
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        processes.append(subprocess.Popen([sys.executable, "-c", RANK_SCRIPT, str(HERE / "tiny_experiment.py")],
                                          env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=240) for p in processes]
    for rank, (process, (out, err)) in enumerate(zip(processes, outputs)):
        assert process.returncode == 0, f"rank {rank}: {err}\n{out}"
    params = [next(line for line in out.splitlines() if line.startswith("PARAMS")) for out, _ in outputs]
    assert params[0] == params[1]  # gradients averaged: the ranks hold the same network
    checkpoints = list(workspace.glob("checkpoints/**/*.pth.tar"))
    assert len(checkpoints) == 3  # rank 0 only: epochs 2, 3, 4 kept
    logs = list(workspace.glob("tests/tiny/train.log"))
    assert len(logs) == 1 and "2 process(es)" in logs[0].read_text()
