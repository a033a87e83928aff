"""Detector training end to end with a stand-in detector (the detector interface: losses in
training, ``extract_features`` / ``detect`` for evaluation) through the Tracktor recipe's
``train``: COCO file, pipeline, loader, actor, SGD with warm-up and steps, bbox AP hook,
checkpoints; the command hook's success, failure and timeout; the synthetic recipe's wiring."""

import json
import logging
import sys
import types
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from ltr.models.registry import network_constructor
from ltr.settings import TrainSettings
from ltr.train_settings.tracktor import faster_rcnn_r50_fpn_4e_mot17_half as half
from ltr.train_settings.tracktor import tracktor_synthetic
from ltr.trainers.hooks import CommandHook
from ltr.trainers.ltr_trainer import LTRTrainer

from ltr.dataset.mot.cocovid import CocoDetectionSet


class StandInDetector(nn.Module):
    """One box per image regressed from pooled features (relative to the image size), scored 1."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2))
        self.head = nn.Linear(32, 4)
        self.test_scale = (64, 64)
        self.normalize_mean = (123.675, 116.28, 103.53)
        self.normalize_std = (58.395, 57.12, 57.375)

    def extract_features(self, batch):
        return OrderedDict(p0=self.features(batch))

    def _boxes(self, features, image_sizes):
        relative = torch.sigmoid(self.head(features["p0"].flatten(1)))
        scale = torch.tensor([[w, h, w, h] for h, w in image_sizes], dtype=relative.dtype)
        return relative * scale

    def detect(self, features, image_sizes):
        boxes = self._boxes(features, image_sizes)
        return [(b[None], torch.ones(1)) for b in boxes]

    def forward(self, batch, image_sizes, targets=None):
        features = self.extract_features(batch)
        if not self.training:
            return self.detect(features, image_sizes)
        boxes = self._boxes(features, image_sizes)
        first = torch.stack([t["boxes"][0] for t in targets])
        assert all(int(t["labels"][0]) == 1 for t in targets)
        return {"loss_bbox": (boxes - first).abs().mean() / 10, "loss_cls": boxes.sum() * 0}


@network_constructor
def detection_stand_in() -> StandInDetector:
    return StandInDetector()


def write_set(folder: Path, count: int, seed: int) -> Path:
    """``count`` 64x48 images with one bright box each, and their COCO file."""
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for index in range(count):
        x, y = int(rng.integers(2, 30)), int(rng.integers(2, 14))
        picture = np.full((48, 64, 3), 30, np.uint8)
        picture[y:y + 30, x:x + 16] = 220
        cv2.imwrite(str(folder / f"{index}.png"), picture)
        images.append({"id": index + 1, "file_name": f"{index}.png", "width": 64, "height": 48})
        annotations.append({"id": index + 1, "image_id": index + 1, "category_id": 1, "bbox": [x, y, 16, 30],
                            "area": 480.0, "iscrowd": False})
    path = folder / f"set{seed}.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "pedestrian"}]}))
    return path


def tiny_settings(isolated_workspace, epochs=3):
    settings = TrainSettings(module_name="tracktor", script_name="faster_rcnn_r50_fpn_4e_mot17_half", seed=0,
                             device="cpu")
    half.configure(settings)
    settings.network = "detection_stand_in"
    settings.network_kwargs = {}
    settings.detector_weights = None
    settings.num_workers = 0
    settings.batch_size = 4
    settings.epochs = epochs
    settings.print_interval = 2
    settings.learning_rate = 0.05
    settings.warmup_iterations = 4
    settings.lr_milestones = [2]
    settings.img_scale = [64, 64]
    settings.crop_size = [64, 64]
    settings.track_eval = None
    return settings


def test_training_through_the_recipe_with_warmup_steps_and_ap_hook(isolated_workspace, tmp_path):
    train_file, val_file = write_set(tmp_path, 16, 0), write_set(tmp_path, 6, 1)
    settings = tiny_settings(isolated_workspace)
    learning_rates = []
    original = torch.optim.SGD.step

    def recording_step(self, *args, **kwargs):
        learning_rates.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    def datasets(settings):
        return CocoDetectionSet(train_file, tmp_path), CocoDetectionSet(val_file, tmp_path, test_mode=True)

    torch.optim.SGD.step = recording_step
    try:
        trainer = half.train(settings, datasets)
    finally:
        torch.optim.SGD.step = original
    losses = trainer.stats["train"]["Loss/total"]
    assert len(losses) == 3 and all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert set(trainer.stats["train"]) >= {"Loss/bbox", "Loss/cls"}
    # Warm-up over 4 iterations from 0.01 of the rate (mmcv: lr * (1 - (1 - i / 4) * 0.99)), then
    # 0.05 until epoch 2 ends, 0.005 in epoch 3 (4 iterations an epoch).
    np.testing.assert_allclose(learning_rates[:4], [0.05 * (1 - (1 - i / 4) * 0.99) for i in range(4)])
    np.testing.assert_allclose(learning_rates[4:8], 0.05)
    np.testing.assert_allclose(learning_rates[8:], 0.005)
    ap = trainer.stats["val_bbox"]
    assert len(ap["AP"]) == 3 and all(-1 <= v <= 1 for v in ap["AP"]) and len(ap["AP50"]) == 3
    assert ap["AP50"][-1] > 0  # the regressed box finds the bright one at IoU 0.5 somewhere
    checkpoint = torch.load(trainer.latest_checkpoint(), weights_only=True)
    assert checkpoint["epoch"] == 3 and checkpoint["constructor"]["name"] == "detection_stand_in"
    assert checkpoint["input_normalization"]["mean"] == pytest.approx([0.485, 0.456, 0.406])
    assert trainer.latest_checkpoint().name == "StandInDetector_ep0003.pth.tar"


class FakeTrainer:
    def __init__(self, folder):
        self.checkpoint_dir = folder
        self.epoch = 2
        self.actor = types.SimpleNamespace(net=detection_stand_in())
        self.input_normalization = None
        self.settings = types.SimpleNamespace(is_main_process=True)


WRITE_JSON = "import json, sys; json.dump({'figures': {'MOTA': 0.5, 'IDF1': 0.25, 'IDs': 3}}, open(sys.argv[1], 'w'))"


def test_command_hook_reads_the_figures_and_exports_the_network(tmp_path):
    script = ("import json, sys, torch; c = torch.load(sys.argv[2], weights_only=True); "
              "json.dump({'figures': {'MOTA': 0.5, 'epoch': c['epoch'], 'name': 'x'}}, open(sys.argv[1], 'w'))")
    hook = CommandHook([sys.executable, "-c", script, "{json}", "{network}"], name="track")
    figures = hook.after_epoch(FakeTrainer(tmp_path))
    assert figures == {"MOTA": 0.5, "epoch": 2.0}  # numbers only
    assert not (tmp_path / "track" / "StandInDetector_ep0002.pth.tar").exists()  # read by the command, then removed
    assert (tmp_path / "track" / "ep0002.json").is_file()


def test_command_hook_failure_or_timeout_is_one_line_and_no_figures(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    failing = CommandHook([sys.executable, "-c", "import sys; sys.stderr.write('no tracker\\n'); sys.exit(3)"])
    assert failing.after_epoch(FakeTrainer(tmp_path)) is None
    assert "exit status 3: no tracker" in caplog.text
    silent = CommandHook([sys.executable, "-c", "pass"])
    assert silent.after_epoch(FakeTrainer(tmp_path)) is None and "no readable" in caplog.text
    slow = CommandHook([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5)
    assert slow.after_epoch(FakeTrainer(tmp_path)) is None and "stopped after 0.5 s" in caplog.text


def test_command_hooks_in_a_training_run(isolated_workspace, tmp_path):
    """Through the trainer: the succeeding hook's figures are kept per epoch, the failing one's
    are absent, and training goes on."""
    train_file = write_set(tmp_path, 8, 0)
    settings = tiny_settings(isolated_workspace, epochs=2)
    hooks = [CommandHook([sys.executable, "-c", WRITE_JSON, "{json}"], name="track"),
             CommandHook([sys.executable, "-c", "raise SystemExit(1)"], name="broken")]
    original = half.hooks
    half.hooks = lambda settings, val_set: hooks
    try:
        trainer = half.train(settings, lambda s: (CocoDetectionSet(train_file, tmp_path), None))
    finally:
        half.hooks = original
    assert trainer.stats["track"]["MOTA"] == [0.5, 0.5] and trainer.stats["track"]["IDs"] == [3.0, 3.0]
    assert "broken" not in trainer.stats and trainer.epoch == 2


def test_published_settings_and_track_command(isolated_workspace):
    from admin.environment import EnvironmentPathError

    settings = TrainSettings(module_name="tracktor", script_name="faster_rcnn_r50_fpn_4e_mot17_half", device="cpu")
    half.configure(settings)
    assert (settings.learning_rate, settings.momentum, settings.weight_decay) == (0.02, 0.9, 1e-4)
    assert (settings.warmup_iterations, settings.warmup_ratio, settings.lr_milestones, settings.epochs) == (100, 0.01, [3], 4)
    assert settings.batch_size == 2 and settings.grad_clip_norm is None
    command = half.track_command(settings)
    assert command[1:] == ["-m", "pytracking.evaluation.checkpoint_eval", "--tracker", "tracktor", "--parameters",
                           "default", "--dataset", "mot17_half_val", "--detector", "{network}", "--json", "{json}"]
    with pytest.raises(EnvironmentPathError, match="mot17_dir"):
        half.datasets(settings)


def test_synthetic_recipe_trains_detector_then_reid_and_publishes_both(isolated_workspace, monkeypatch, tmp_path):
    calls = []

    class Trained:
        def __init__(self, name):
            self.epoch = 3
            self.path = tmp_path / f"{name}_ep0003.pth.tar"
            self.path.write_bytes(name.encode())

        def checkpoint_path(self, epoch):
            assert epoch == 3
            return self.path

        publish = LTRTrainer.publish  # the trainer's own copy into network_path

    def detector_train(settings, datasets):
        calls.append(("detector", settings.network, datasets))
        return Trained("detector")

    reid = types.ModuleType("ltr.train_settings.tracktor.reid_synthetic")
    reid.configure = lambda settings: calls.append(("reid configure",))
    reid.datasets = object()
    reid.train = lambda settings, datasets: calls.append(("reid", datasets)) or Trained("reid")
    monkeypatch.setitem(sys.modules, "ltr.train_settings.tracktor.reid_synthetic", reid)
    import ltr.train_settings.tracktor as package
    monkeypatch.setattr(package, "reid_synthetic", reid, raising=False)
    monkeypatch.setattr(half, "train", detector_train)
    settings = TrainSettings(module_name="tracktor", script_name="tracktor_synthetic", device="cpu")
    tracktor_synthetic.run(settings)
    assert calls == [("detector", "faster_rcnn_tiny", tracktor_synthetic.datasets), ("reid configure",),
                     ("reid", reid.datasets)]
    network_path = Path(settings.env.network_path)
    assert (network_path / "tracktor_synthetic_detector.pth.tar").read_bytes() == b"detector"
    assert (network_path / "tracktor_synthetic_reid.pth.tar").read_bytes() == b"reid"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's")
def test_command_hook_command_dies_with_a_killed_trainer(tmp_path):
    import os
    import signal
    import subprocess
    import time

    pid_file = tmp_path / "command.pid"
    # A parent that runs a hook whose command records its pid and sleeps; the parent is then killed -9.
    command = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    parent_script = tmp_path / "parent.py"
    parent_script.write_text(
        "import sys, types\n"
        "from ltr.trainers.hooks import CommandHook\n"
        f"hook = CommandHook([sys.executable, '-c', {command!r}], export=False)\n"
        f"trainer = types.SimpleNamespace(checkpoint_dir={str(tmp_path)!r}, epoch=1, "
        "actor=types.SimpleNamespace(net=None), settings=types.SimpleNamespace(is_main_process=True))\n"
        "hook.after_epoch(trainer)\n")
    parent = str(parent_script)
    process = subprocess.Popen([sys.executable, parent], env={**os.environ, "TRACKING_LOCAL_FILE": os.devnull},
                               cwd=Path(__file__).resolve().parents[2])
    deadline = time.monotonic() + 60
    while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    command_pid = int(pid_file.read_text())
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(command_pid, 0)
        except ProcessLookupError:
            break
        # A killed child stays a zombie until reaped by init: dead all the same.
        if Path(f"/proc/{command_pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(command_pid, signal.SIGKILL)
        pytest.fail("the hook's command outlived its killed trainer")
