"""Checkpoints: round trip with weights_only, atomic saving, clear errors, rebuilding networks
from this toolkit's checkpoints and from checkpoints of the original pytracking release through
the restricted unpickler, which refuses every other class without running it."""

import os
import stat
import subprocess
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from ltr import fileio
from ltr.models.loading import (CHECKPOINT_FORMAT, IMAGENET_NORMALIZATION, CheckpointError, CheckpointNotFoundError,
                                CheckpointWriteError, LegacyAverageMeter, LegacyEnvironmentSettings,
                                LegacyNetConstructor, LegacySettings, UnsafeCheckpointError, load_checkpoint,
                                load_legacy_checkpoint, load_network, save_checkpoint)
from ltr.models.tracking.atom import atom_resnet18, atom_resnet_tiny


@pytest.fixture(autouse=True)
def no_pretrained_weights(tmp_path, monkeypatch):
    """Rebuilding a network must not need ImageNet weights: point the folder nowhere."""
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_PRETRAINED_NETWORKS", str(tmp_path / "no-pretrained-networks"))


def trained_tiny():
    torch.manual_seed(0)
    net = atom_resnet_tiny(width=8, iou_input_dim=(16, 16), iou_inter_dim=(16, 16))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
    images = torch.randn(1, 2, 3, 64, 64)
    boxes = torch.tensor([[[16.0, 16.0, 24.0, 20.0], [20.0, 12.0, 20.0, 28.0]]])
    proposals = boxes.unsqueeze(2) + torch.randn(1, 2, 4, 4)
    net(images, images, boxes, proposals).sum().backward()
    optimizer.step()
    scheduler.step()
    checkpoint = {"epoch": 3, "net": net.state_dict(), "constructor": net.constructor, "net_type": "ATOMnet",
                  "actor_type": "AtomActor", "optimizer": optimizer.state_dict(),
                  "lr_scheduler": scheduler.state_dict(), "rng_state": {"torch": torch.get_rng_state()},
                  "stats": {"train": {"Loss/total": [0.5, 0.25]}}, "settings": {"batch_size": 2, "lr": 1e-3}}
    return net, checkpoint, (images, images, boxes, proposals)


def assert_same(a, b):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


def test_round_trip_with_weights_only(tmp_path):
    _, checkpoint, _ = trained_tiny()
    path = save_checkpoint(tmp_path / "ATOMnet_ep0003.pth.tar", checkpoint)
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == CHECKPOINT_FORMAT and raw["version"] == 1
    loaded = load_checkpoint(path)
    assert_same({key: loaded[key] for key in checkpoint}, checkpoint)
    assert sorted(os.listdir(tmp_path)) == ["ATOMnet_ep0003.pth.tar"]


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "net.pth.tar"
    save_checkpoint(path, {"epoch": 1, "net": {"w": torch.zeros(3)}})
    old = path.read_bytes()
    real_save = torch.save

    def failing_save(obj, file, *args, **kwargs):
        file.write(b"partial data")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(CheckpointWriteError, match="net.pth.tar.*disk full.*MiB free"):
        save_checkpoint(path, {"epoch": 2, "net": {"w": torch.ones(3)}})
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == old and sorted(os.listdir(tmp_path)) == ["net.pth.tar"]

    # Objects that weights_only loading refuses are refused when saving, the old file kept.
    with pytest.raises(CheckpointError, match="numpy"):
        save_checkpoint(path, {"epoch": 2, "rng_state": {"numpy": np.random.get_state()}})
    assert path.read_bytes() == old and sorted(os.listdir(tmp_path)) == ["net.pth.tar"]
    assert load_checkpoint(path)["epoch"] == 1


def test_load_errors_name_the_file(tmp_path):
    missing = tmp_path / "absent.pth.tar"
    with pytest.raises(CheckpointNotFoundError, match="absent.pth.tar"):
        load_checkpoint(missing)
    with pytest.raises(FileNotFoundError):
        load_network(missing)

    path = save_checkpoint(tmp_path / "whole.pth.tar", {"epoch": 1, "net": {"w": torch.randn(64, 64)}})
    data = path.read_bytes()
    for name, blob in [("empty", b""), ("head", data[:100]), ("half", data[: len(data) // 2]),
                       ("text", b"not a checkpoint\n" * 20)]:
        broken = tmp_path / f"{name}.pth.tar"
        broken.write_bytes(blob)
        with pytest.raises(CheckpointError, match=f"{name}.pth.tar") as error:
            load_checkpoint(broken)
        assert not isinstance(error.value, UnsafeCheckpointError)

    plain = tmp_path / "plain.pth"
    torch.save({"net": {"w": torch.zeros(1)}}, plain)
    with pytest.raises(CheckpointError, match="plain.pth.*not a tracking-toolkit-checkpoint"):
        load_checkpoint(plain)
    newer = tmp_path / "newer.pth"
    torch.save({"format": CHECKPOINT_FORMAT, "version": 99}, newer)
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(newer)


def test_checkpoints_get_the_mode_of_every_other_output(tmp_path):
    path = save_checkpoint(tmp_path / "net.pth.tar", {"epoch": 1, "net": {"w": torch.zeros(3)}})
    assert stat.S_IMODE(path.stat().st_mode) == fileio.output_file_mode()  # not mkstemp's 0600


def test_load_network_checks_the_version_as_resuming_does(tmp_path):
    _, checkpoint, _ = trained_tiny()
    newer = save_checkpoint(tmp_path / "newer.pth.tar", {**checkpoint, "version": 2})
    for load in (load_network, load_checkpoint):
        with pytest.raises(CheckpointError, match=r"newer.pth.tar has checkpoint version 2; .*update the toolkit"):
            load(newer)


def test_load_network_names_the_weights_of_another_shape_in_one_line(tmp_path):
    _, checkpoint, _ = trained_tiny()
    path = save_checkpoint(tmp_path / "tiny.pth.tar", checkpoint)
    with pytest.raises(CheckpointError) as error:
        load_network(path, width=16)
    message = str(error.value)
    assert "\n" not in message and "tiny.pth.tar" in message and "weight(s) of another shape" in message
    assert "[8, 3, 7, 7] in the checkpoint, [16, 3, 7, 7] in the network" in message or "in the network" in message


def test_load_network_reproduces_outputs(tmp_path):
    net, checkpoint, inputs = trained_tiny()
    path = save_checkpoint(tmp_path / "tiny.pth.tar", checkpoint)
    rebuilt = load_network(path)
    assert rebuilt.constructor["kwargs"]["width"] == 8
    net.eval()
    rebuilt.eval()
    with torch.no_grad():
        assert torch.equal(rebuilt(*inputs), net(*inputs))
    with pytest.raises(CheckpointError, match="tiny.pth.tar"):
        load_network(path, iou_input_dim=(32, 32))
    with pytest.raises(CheckpointError, match="no argument"):
        load_network(path, widht=8)


def test_load_network_exposes_the_recorded_normalisation(tmp_path):
    net = atom_resnet_tiny(width=4)
    plain = {"net": net.state_dict(), "constructor": net.constructor}
    other = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    path = save_checkpoint(tmp_path / "other.pth.tar", {**plain, "input_normalization": other})
    assert load_network(path).input_normalization == other
    # Checkpoints from before it was recorded: ImageNet's, with which they were trained.
    older = save_checkpoint(tmp_path / "older.pth.tar", plain)
    assert load_network(older).input_normalization == IMAGENET_NORMALIZATION
    bad = save_checkpoint(tmp_path / "bad.pth.tar", {**plain, "input_normalization": {"mean": [0.5], "std": [1, 1, 1]}})
    with pytest.raises(CheckpointError, match=r"bad.pth.tar.*mean must be three"):
        load_network(bad)


def test_the_registry_finds_every_family_in_a_fresh_process():
    """Loading a checkpoint must not depend on who imported the model modules first."""
    code = ("import sys; from ltr.models.registry import known_networks, build_network; "
            "assert 'ltr.models.tracking.atom' not in sys.modules; "
            "assert 'atom_resnet18' in known_networks(); build_network('atom_resnet_tiny', width=4)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])


def test_recorded_pretrained_backbone_is_not_read(tmp_path):
    net = atom_resnet_tiny(width=4)
    constructor = {"name": "atom_resnet_tiny", "kwargs": {**net.constructor["kwargs"], "backbone_pretrained": True}}
    path = save_checkpoint(tmp_path / "tiny.pth.tar", {"net": net.state_dict(), "constructor": constructor})
    load_network(path)  # the pretrained_networks folder does not exist


@pytest.fixture
def fake_modules(monkeypatch):
    """Registers fake modules in sys.modules for the test; removed afterwards."""
    def register(name):
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if prefix in sys.modules:  # the real ltr package, or registered before
                continue
            monkeypatch.setitem(sys.modules, prefix, types.ModuleType(prefix))
        return sys.modules[name]
    return register


@pytest.fixture(scope="module")
def published_state():
    torch.manual_seed(3)
    return atom_resnet18(backbone_pretrained=False).state_dict()


@pytest.mark.parametrize("zipfile_format", [True, False], ids=["zip", "legacy-format"])
def test_pytracking_release_checkpoint(tmp_path, fake_modules, published_state, zipfile_format):
    ran = []

    def legacy_class(module_name, class_name):
        module = fake_modules(module_name)

        def __setstate__(self, state):  # would show that the original class ran
            ran.append(class_name)
            self.__dict__.update(state)

        cls = type(class_name, (), {"__module__": module_name, "__setstate__": __setstate__})
        setattr(module, class_name, cls)
        return cls

    NetConstructor = legacy_class("ltr.admin.model_constructor", "NetConstructor")
    Settings = legacy_class("ltr.admin.settings", "Settings")
    EnvironmentSettings = legacy_class("ltr.admin.local", "EnvironmentSettings")
    AverageMeter = legacy_class("ltr.admin.stats", "AverageMeter")
    StatValue = legacy_class("ltr.admin.stats", "StatValue")

    constructor = NetConstructor()
    constructor.__dict__.update(fun_name="atom_resnet18", fun_module="ltr.models.bbreg.atom", args=(),
                                kwds={"backbone_pretrained": True})
    env = EnvironmentSettings()
    env.__dict__.update(workspace_dir="/home/someone/workspace", lasot_dir="/data/lasot")
    settings = Settings()
    settings.__dict__.update(env=env, batch_size=64, normalize_mean=[0.485, 0.456, 0.406],
                             proposal_params={"min_iou": 0.1, "sigma_factor": [0.01, 0.05]},
                             device=torch.device("cpu"), scales=np.array([1.0, 2.0]), factor=np.float64(5.0))
    meter = AverageMeter()
    meter.__dict__.update(val=0.2, avg=0.3, sum=3.0, count=10, history=[0.4, 0.3])
    value = StatValue()
    value.__dict__.update(val=0.001, history=[0.001])
    net = atom_resnet18(backbone_pretrained=False)
    optimizer = torch.optim.Adam(net.bb_regressor.parameters(), lr=1e-3)
    checkpoint = {"epoch": 50, "actor_type": "AtomActor", "net_type": "ATOMnet", "net": published_state,
                  "net_info": None, "constructor": constructor, "optimizer": optimizer.state_dict(),
                  "stats": OrderedDict(train=OrderedDict({"Loss/total": meter, "LearningRate/group0": value})),
                  "settings": settings}
    path = tmp_path / "atom_default.pth"
    torch.save(checkpoint, path, _use_new_zipfile_serialization=zipfile_format)

    # Plain weights_only loading refuses pytracking's classes ...
    with pytest.raises(UnsafeCheckpointError, match="ltr.admin.*load_network"):
        load_checkpoint(path)
    # ... the restricted unpickler gives stand-ins, never the classes themselves (still importable here).
    loaded = load_legacy_checkpoint(path)
    assert isinstance(loaded["constructor"], LegacyNetConstructor) and loaded["constructor"].fun_name == "atom_resnet18"
    assert isinstance(loaded["settings"], LegacySettings) and loaded["settings"].batch_size == 64
    assert isinstance(loaded["settings"].env, LegacyEnvironmentSettings)
    assert loaded["settings"].env.lasot_dir == "/data/lasot"
    assert np.array_equal(loaded["settings"].scales, [1.0, 2.0]) and loaded["settings"].factor == 5.0
    assert isinstance(loaded["stats"]["train"]["Loss/total"], LegacyAverageMeter)
    assert loaded["stats"]["train"]["Loss/total"].history == [0.4, 0.3]
    assert ran == []

    network = load_network(path)
    assert ran == []
    assert_same(network.state_dict(), published_state)
    assert network.constructor["kwargs"]["backbone_pretrained"] is False


def test_release_checkpoint_of_unknown_network(tmp_path, fake_modules):
    module = fake_modules("ltr.admin.model_constructor")
    NetConstructor = type("NetConstructor", (), {"__module__": "ltr.admin.model_constructor"})
    module.NetConstructor = NetConstructor
    constructor = NetConstructor()
    constructor.__dict__.update(fun_name="dimpnet50", fun_module="ltr.models.tracking.dimpnet", args=(), kwds={})
    path = tmp_path / "dimp50.pth"
    torch.save({"net": {}, "constructor": constructor}, path)
    with pytest.raises(CheckpointError, match=r"dimpnet50.*atom_resnet18, atom_resnet50, atom_resnet_tiny"):
        load_network(path)


def test_unknown_classes_are_refused_unrun(tmp_path, fake_modules):
    calls = []
    module = fake_modules("some.module")

    def record_call(*args):
        calls.append(args)
        return args

    record_call.__module__, record_call.__qualname__ = "some.module", "record_call"
    module.record_call = record_call
    Evil = type("Evil", (), {"__module__": "some.module", "__reduce__": lambda self: (record_call, ("pwned",))})
    module.Evil = Evil
    evil_path = tmp_path / "evil.pth"
    torch.save({"net": {}, "payload": Evil()}, evil_path)

    marker = tmp_path / "pwned"
    Gadget = type("Gadget", (), {"__module__": "some.module",
                                 "__reduce__": lambda self: (os.system, (f"touch {marker}",))})
    module.Gadget = Gadget
    gadget_path = tmp_path / "gadget.pth"
    torch.save({"net": {}, "payload": Gadget()}, gadget_path)

    for load in (load_network, load_checkpoint, load_legacy_checkpoint):
        with pytest.raises(UnsafeCheckpointError, match="evil.pth.*some.module.record_call") as error:
            load(evil_path)
        assert error.value.name == "some.module.record_call"
        with pytest.raises(UnsafeCheckpointError, match=r"gadget.pth.*(posix|os)\.system"):
            load(gadget_path)
    assert calls == [] and not marker.exists()
