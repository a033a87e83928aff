import importlib.util
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ltr.models.loading import load_checkpoint
from ltr.settings import OverrideError, TrainSettings, UnknownSettingError, parse_overrides
from ltr.trainers import CheckpointMismatchError, CheckpointsExistError, NonFiniteLossError

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


def train(epochs: int, *, resume: bool = False, run_name: str | None = None, resume_checkpoint: str | None = None,
          **extra) -> TrainSettings:
    settings = TrainSettings(module_name="tests", script_name="tiny", seed=3, device="cpu", resume=resume,
                             run_name=run_name, resume_checkpoint=resume_checkpoint)
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
objective = settings._trainer.actor.objective
if isinstance(objective, torch.nn.Module) and list(objective.parameters()):
    assert not isinstance(objective, torch.nn.parallel.DistributedDataParallel)
    print("OBJECTIVE", ",".join(f"{v:.6f}" for p in objective.parameters() for v in p.flatten().tolist()))
"""


def two_process_run(extra_env: dict[str, str] | None = None) -> list[str]:
    """The tiny experiment on two gloo ranks; their standard outputs."""
    port = free_port()
    processes = []
    for rank in range(2):
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), **(extra_env or {})}
        processes.append(subprocess.Popen([sys.executable, "-c", RANK_SCRIPT, str(HERE / "tiny_experiment.py")],
                                          env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=240) for p in processes]
    for rank, (process, (out, err)) in enumerate(zip(processes, outputs)):
        assert process.returncode == 0, f"rank {rank}: {err}\n{out}"
    return [out for out, _ in outputs]


def _line(out: str, tag: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(tag))


def test_two_process_gloo_run(workspace):
    outputs = two_process_run()
    params = [_line(out, "PARAMS") for out in outputs]
    assert not any(line.startswith("OBJECTIVE") for out in outputs for line in out.splitlines())
    assert params[0] == params[1]  # gradients averaged: the ranks hold the same network
    checkpoints = list(workspace.glob("checkpoints/**/*.pth.tar"))
    assert len(checkpoints) == 3  # rank 0 only: epochs 2, 3, 4 kept
    logs = list(workspace.glob("tests/tiny/train.log"))
    assert len(logs) == 1 and "2 process(es)" in logs[0].read_text()


def test_two_process_gloo_run_averages_a_learnt_objective(workspace):
    outputs = two_process_run({"TINY_LEARNT_OBJECTIVE": "1"})
    objectives = [_line(out, "OBJECTIVE") for out in outputs]
    assert objectives[0] == objectives[1]  # the ranks saw other samples: equal only if averaged
    assert objectives[0] != "OBJECTIVE 0.000000"  # and it learnt
    assert _line(outputs[0], "PARAMS") == _line(outputs[1], "PARAMS")
    checkpoint = load_checkpoint(sorted(workspace.glob("checkpoints/**/*.pth.tar"))[-1])
    assert set(checkpoint["objective"]) == {"log_weight"}


# Checkpoints of one run, resuming, overrides, progress ------------------------------------------

def checkpoint_names(settings: TrainSettings) -> list[str]:
    return sorted(p.name for p in settings.checkpoint_dir.iterdir())


def test_a_new_run_refuses_a_folder_holding_checkpoints_and_deletes_nothing(workspace):
    first = train(5)
    before = {p.name: p.read_bytes() for p in first.checkpoint_dir.iterdir()}
    assert sorted(before) == ["Linear_ep0003.pth.tar", "Linear_ep0004.pth.tar", "Linear_ep0005.pth.tar"]
    with pytest.raises(CheckpointsExistError, match=r"already holds 3 Linear checkpoint\(s\).*--resume.*--run-name NAME"):
        train(2)
    assert {p.name: p.read_bytes() for p in first.checkpoint_dir.iterdir()} == before
    # A named run starts afresh in folders of its own; the first run's files stay.
    named = train(2, run_name="again")
    assert named.checkpoint_dir.name == "tiny-again" and checkpoint_names(named) == [
        "Linear_ep0001.pth.tar", "Linear_ep0002.pth.tar"]
    assert {p.name: p.read_bytes() for p in first.checkpoint_dir.iterdir()} == before


def test_rotation_keeps_the_newest_by_epoch_not_by_name(workspace):
    settings = train(1)
    trainer = settings._trainer
    # ep10000 sorts before ep9999 by name; by epoch it is the newest.
    for epoch in (9998, 9999):
        trainer.epoch = epoch
        trainer.save_checkpoint()
    trainer.epoch = 10000
    trainer.save_checkpoint()
    assert checkpoint_names(settings) == ["Linear_ep10000.pth.tar", "Linear_ep9998.pth.tar", "Linear_ep9999.pth.tar"]
    assert trainer.latest_checkpoint().name == "Linear_ep10000.pth.tar"


def test_resume_skips_a_corrupt_latest_checkpoint_with_a_warning(workspace, caplog):
    settings = train(3)
    latest = settings.checkpoint_dir / "Linear_ep0003.pth.tar"
    latest.write_bytes(latest.read_bytes()[:200])
    with caplog.at_level(logging.WARNING):
        resumed = train(4, resume=True)
    assert "Linear_ep0003.pth.tar" in caplog.text and "resuming from" in caplog.text
    assert resumed._trainer.stats["train"]["Loss/total"][:2] == settings._trainer.stats["train"]["Loss/total"][:2]
    assert torch.load(settings.checkpoint_dir / "Linear_ep0004.pth.tar", weights_only=True)["epoch"] == 4


def test_resume_from_a_chosen_checkpoint(workspace):
    settings = train(3)
    chosen = settings.checkpoint_dir / "Linear_ep0001.pth.tar"
    resumed = train(2, resume=True, resume_checkpoint=str(chosen))
    assert resumed._trainer.epoch == 2 and len(resumed._trainer.stats["train"]["Loss/total"]) == 2
    # The later epoch 3 of the first run is left for this run to overwrite, not rotated away.
    assert (settings.checkpoint_dir / "Linear_ep0003.pth.tar").exists()


def test_resuming_a_network_of_another_size_is_one_line_naming_the_file(workspace):
    train(1, network_kwargs={"in_features": 8})
    with pytest.raises(CheckpointMismatchError) as error:
        train(2, resume=True, network_kwargs={"in_features": 4})
    message = str(error.value)
    assert "\n" not in message and "Linear_ep0001.pth.tar" in message
    assert "weight [1, 8] in the checkpoint, [1, 4] in the network" in message
    assert "network_kwargs={'in_features': 8} there, {'in_features': 4} now" in message


def test_stale_temporaries_are_removed_at_start_with_a_log_line(workspace, caplog):
    settings = train(1)
    stale = settings.checkpoint_dir / ".Linear_ep0002.pth.tar.k1ll3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    with caplog.at_level(logging.INFO):
        train(2, resume=True)
    assert not stale.exists() and "removed 1 temporary file(s)" in caplog.text


def test_overrides_win_over_the_experiment_and_are_typed(workspace):
    settings = TrainSettings(module_name="tests", script_name="tiny", seed=3, device="cpu",
                             overrides=parse_overrides(["epochs=2", "train_samples_per_epoch=16", "keep_checkpoints=1"]))
    settings.epochs = 4  # what the experiment says: the override wins
    assert settings.epochs == 2
    experiment().run(settings)
    assert len(settings._trainer.stats["train"]["Loss/total"]) == 2 and checkpoint_names(settings) == [
        "Linear_ep0002.pth.tar"]
    checkpoint = torch.load(settings.checkpoint_dir / "Linear_ep0002.pth.tar", weights_only=True)
    assert checkpoint["settings"]["train_samples_per_epoch"] == 16

    typed = TrainSettings(module_name="tests", script_name="tiny", device="cpu",
                          overrides=parse_overrides(["learning_rate=1", "network=atom_resnet_tiny", "batch_size=x"]))
    typed.learning_rate = 1e-3
    typed.network = "atom_resnet18"
    assert typed.learning_rate == 1.0 and isinstance(typed.learning_rate, float)
    assert typed.network == "atom_resnet_tiny"
    with pytest.raises(OverrideError, match=r"--set batch_size=x: .* sets batch_size to a int \(64\); give a int"):
        typed.batch_size = 64
    with pytest.raises(UnknownSettingError, match=r"the command line \(--set\) sets setting 'epoch'.*'epochs'"):
        TrainSettings(module_name="tests", script_name="tiny", device="cpu", overrides=parse_overrides(["epoch=1"]))
    with pytest.raises(OverrideError, match="use --seed"):
        TrainSettings(module_name="tests", script_name="tiny", device="cpu", overrides={"seed": 1})
    with pytest.raises(OverrideError, match="NAME=VALUE"):
        parse_overrides(["epochs"])


def test_progress_names_the_epoch_of_all_and_a_total_eta(workspace, caplog):
    with caplog.at_level(logging.INFO):
        train(2)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[train")]
    assert lines[0].startswith("[train, epoch 1 of 2] 8/8") and "total ETA" in lines[0]
    assert any(r.getMessage().startswith("settings: ") and "epochs=2" in r.getMessage() for r in caplog.records)


def test_a_terminal_gets_progress_bars_and_the_log_keeps_its_lines(workspace, caplog, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with caplog.at_level(logging.INFO):
        train(1)
    assert "train epoch 1/1" in capsys.readouterr().err  # the bar's description
    assert any(r.getMessage().startswith("[train, epoch 1 of 1] 8/8") for r in caplog.records)


def test_linear_warmup_follows_mmcv_rule_by_hand():
    from ltr.trainers import LinearWarmup

    warmup = LinearWarmup(iterations=4, ratio=0.01)
    # lr(i) = regular * (1 - (1 - i/4) * 0.99): 0.01, 0.2575, 0.505, 0.7525, then 1
    assert [warmup.factor(i) for i in range(6)] == pytest.approx([0.01, 0.2575, 0.505, 0.7525, 1.0, 1.0])
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.02)
    seen = []
    for iteration in range(6):
        warmup.before_iteration(optimizer, iteration)
        seen.append(optimizer.param_groups[0]["lr"])
    assert seen == pytest.approx([0.0002, 0.00515, 0.0101, 0.01505, 0.02, 0.02])
    assert "warmup_regular_lr" not in optimizer.param_groups[0]
    with pytest.raises(ValueError, match="ratio"):
        LinearWarmup(iterations=3, ratio=0)


def test_warmup_and_epoch_hooks_run_in_training(workspace, caplog):
    caplog.set_level(logging.INFO)
    settings = train(2, _warmup_iterations=5, _hook=True)
    trainer = settings._trainer
    # 64 samples of 8: 8 iterations per epoch; after 16 the warm-up has ended at the regular rate.
    assert trainer.warmup_seen[:5] == pytest.approx([0.05 * (1 - (1 - i / 5) * 0.9) for i in range(5)])
    assert trainer.warmup_seen[5:8] == pytest.approx([0.05] * 3)
    assert trainer.stats["eval"]["weight_error"][0] > trainer.stats["eval"]["weight_error"][1]
    assert any("[eval, epoch 2 of 2] weight_error:" in record.getMessage() for record in caplog.records)
    assert list((settings.tensorboard_dir / "eval").glob("events.out.tfevents.*"))


class _Clock:
    """A perf_counter that moves only when the test says: the data waits and steps take known times."""

    def __init__(self):
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now


def test_the_share_of_the_epoch_spent_waiting_for_data_is_measured_and_logged(workspace, caplog, monkeypatch):
    from types import SimpleNamespace

    from ltr.data.loader import LTRLoader
    from ltr.trainers import LTRTrainer
    from ltr.trainers import ltr_trainer

    clock = _Clock()
    monkeypatch.setattr(ltr_trainer, "time", SimpleNamespace(perf_counter=clock.perf_counter))
    tiny = experiment()

    class SlowSamples(tiny.RegressionSamples):
        def __getitem__(self, index):
            clock.now += 1.0  # one second of loading per sample: 8 per batch of 8
            return super().__getitem__(index)

    class SlowActor(tiny.RegressionActor):
        def __call__(self, data):
            clock.now += 24.0  # the step: 24 seconds a batch
            return super().__call__(data)

    settings = TrainSettings(module_name="tests", script_name="tiny", seed=3, device="cpu")
    net = torch.nn.Linear(8, 1)
    loaders = [LTRLoader("train", SlowSamples(32), batch_size=8, seed=3),
               LTRLoader("val", SlowSamples(16), training=False, batch_size=8, seed=4)]
    trainer = LTRTrainer(SlowActor(net, torch.nn.MSELoss()), loaders, torch.optim.SGD(net.parameters(), lr=0.01),
                         settings)
    with caplog.at_level(logging.INFO):
        trainer.train(1)
    # 8 s waiting for every 32 s: a quarter, for either loader.
    assert trainer.data_wait_share == pytest.approx({"train": 0.25, "val": 0.25})
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[train, epoch 1 of 1] 4/4")]
    assert lines and "waiting for data 25%" in lines[0]
