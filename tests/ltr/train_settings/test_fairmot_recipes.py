"""FairMOT's recipes: each configures the values of its experiments/*.sh over opts.py's defaults;
fairmot_synthetic trains end to end on a tiny generated dataset, checkpoints its loss's
parameters, resumes, and publishes its network."""

import importlib
import os

import pytest
import torch

from ltr.models.loading import load_checkpoint, load_network
from ltr.run_training import run_training
from ltr.settings import TrainSettings

DEFAULTS = {"batch_size": 12, "epochs": 30, "learning_rate": 1e-4, "lr_milestones": [20], "lr_gamma": 0.1,
            "input_size": [1088, 608], "network": "fairmot_dla_34", "max_objs": 500, "hsv_fraction": 0.5,
            "flip_probability": 0.5, "clip_boxes": False, "load_model": "ctdet_coco_dla_2x.pth",
            "network_kwargs": {"num_classes": 1, "reid_dim": 128, "head_conv": 256, "ltrb": True},
            "affine": {"degrees": [-5, 5], "translate": [0.1, 0.1], "scale": [0.5, 1.2], "shear": [-2, 2]},
            "objective_kwargs": {"hm_weight": 1.0, "wh_weight": 0.1, "off_weight": 1.0, "s_det": -1.85,
                                 "s_id": -1.05}}
# experiments/<name>.sh and the cfg/*.json it names.
RECIPES = {
    "base": {"data_config": "data.json"},
    "crowdhuman_dla34": {"data_config": "crowdhuman.json", "epochs": 60, "lr_milestones": [50], "batch_size": 8},
    "mix_ft_ch_dla34": {"data_config": "data.json", "load_model": "crowdhuman_dla34.pth"},
    "mix_dla34": {"data_config": "data.json"},
    "mot17_dla34": {"data_config": "mot17.json"},
    "mot20_ft_mix_dla34": {"data_config": "mot20.json", "load_model": "fairmot_dla34.pth", "epochs": 20,
                           "lr_milestones": [15], "clip_boxes": True},
    "mix_mot17_half_dla34": {"data_config": "data_half.json"},
    "fairmot_synthetic": {"network": "fairmot_tiny", "load_model": None, "input_size": [320, 256],
                          "num_workers": 1, "data_config": None,
                          "network_kwargs": {"num_classes": 1, "reid_dim": 64, "head_conv": 64, "ltrb": True},
                          # milder than FairMOT's: the synthetic camera is fixed
                          "affine": {"degrees": [-2, 2], "translate": [0.05, 0.05], "scale": [0.9, 1.5],
                                     "shear": [-1, 1]}},
}


@pytest.fixture
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))
    for name in ("TRACKING_JDE_DATA_DIR", "TRACKING_JDE_ROOT", "TRACKING_SYNTHETIC_MOT_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_configures_its_published_values(name, environment):
    module = importlib.import_module(f"ltr.train_settings.fairmot.{name}")
    settings = TrainSettings(module_name="fairmot", script_name=name, device="cpu")
    module.configure(settings)
    expected = DEFAULTS | RECIPES[name] if name != "fairmot_synthetic" else {
        key: value for key, value in (DEFAULTS | RECIPES[name]).items()
        if key in RECIPES[name] or key in ("affine", "hsv_fraction", "flip_probability", "max_objs", "objective_kwargs")}
    for key, value in expected.items():
        assert getattr(settings, key) == value, key
    assert callable(module.run)


def test_a_missing_data_config_names_the_file_and_the_field(environment, monkeypatch):
    from ltr.train_settings.fairmot import base

    monkeypatch.setenv("TRACKING_JDE_DATA_DIR", str(environment))
    settings = TrainSettings(module_name="fairmot", script_name="mot17_dla34", device="cpu")
    base.configure(settings)
    settings.data_config = "mot17.json"
    with pytest.raises(FileNotFoundError, match=r"mot17\.json is missing.*src/lib/cfg/mot17\.json"):
        base.training_data(settings)


def test_missing_starting_weights_name_both_folders(environment):
    from ltr.train_settings.fairmot import base

    settings = TrainSettings(module_name="fairmot", script_name="mix_ft_ch_dla34", device="cpu")
    with pytest.raises(base.WeightsNotFoundError, match=r"crowdhuman_dla34\.pth.*networks nor .*pretrained_networks"):
        base.weights_path(settings, "crowdhuman_dla34.pth")
    found = environment / "workspace" / "pretrained_networks" / "crowdhuman_dla34.pth"
    found.parent.mkdir(parents=True)
    found.write_bytes(b"x")
    assert base.weights_path(settings, "crowdhuman_dla34.pth") == found


@pytest.fixture(scope="module")
def tiny_synthetic(tmp_path_factory):
    from ltr.dataset.synthetic.mot import MotConfig
    from ltr.dataset.synthetic.mot_generate import generate_mot_dataset

    out = tmp_path_factory.mktemp("synthetic_mot")
    generate_mot_dataset(out, seed=1, train=1, val=1, workers=1,
                         config=MotConfig(width=128, height=96, frames=9, min_objects=3, max_objects=5))
    return out


def test_fairmot_synthetic_trains_checkpoints_the_loss_resumes_and_publishes(environment, tiny_synthetic, monkeypatch):
    monkeypatch.setenv("TRACKING_SYNTHETIC_MOT_DIR", str(tiny_synthetic))
    overrides = {"input_size": [128, 96], "batch_size": 2, "num_workers": 0, "epochs": 1}
    settings = run_training("fairmot", "fairmot_synthetic", device="cpu", settings_overrides=overrides)
    checkpoint = load_checkpoint(settings.checkpoint_dir / "DLASeg_ep0001.pth.tar")
    assert set(checkpoint["objective"]) == {"classifier.weight", "classifier.bias", "s_det", "s_id"}
    assert checkpoint["objective"]["s_det"].item() != pytest.approx(-1.85, abs=1e-7)  # learnt
    losses = checkpoint["stats"]["train"]
    assert all(torch.isfinite(torch.tensor(losses[f"Loss/{n}"])).all() for n in ("total", "hm", "wh", "off", "id"))
    data = environment / "workspace" / "fairmot_synthetic_data"
    assert (data / "synthetic.train").read_text().splitlines()[0] == "images/train/SYN-T001/img1/000001.jpg"
    assert len((data / "synthetic.train").read_text().splitlines()) == 5  # 9 frames, every 2nd
    published = environment / "workspace" / "networks" / "fairmot_synthetic.pth.tar"
    net = load_network(published)
    assert type(net).__name__ == "DLASeg" and net.heads["id"] == 64

    resumed = run_training("fairmot", "fairmot_synthetic", device="cpu", resume=True,
                           settings_overrides=overrides | {"epochs": 2})
    second = load_checkpoint(resumed.checkpoint_dir / "DLASeg_ep0002.pth.tar")
    assert second["epoch"] == 2 and len(second["stats"]["train"]["Loss/total"]) == 2
    assert not torch.equal(second["objective"]["classifier.weight"], checkpoint["objective"]["classifier.weight"])


def test_starting_weights_load_as_fairmots_load_model(tmp_path):
    from ltr.models.registry import build_network
    from ltr.train_settings.fairmot import base

    source = build_network("fairmot_tiny", {"num_classes": 1})
    state = {f"module.{k}": v + 1 for k, v in source.state_dict().items()}
    state["module.hm.2.weight"] = torch.zeros(80, *source.state_dict()["hm.2.weight"].shape[1:])  # CenterNet's 80
    state["module.extra.weight"] = torch.zeros(1)
    del state["module.id.2.bias"]
    path = tmp_path / "ctdet.pth"
    torch.save({"epoch": 140, "state_dict": state}, path)
    net = build_network("fairmot_tiny", {"num_classes": 1})
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    report = base.load_initial_weights(net, path)
    assert report == {"skipped": ["hm.2.weight"], "dropped": ["extra.weight"], "missing": ["id.2.bias"]}
    loaded = net.state_dict()
    assert torch.equal(loaded["hm.2.weight"], initial["hm.2.weight"]) and torch.equal(loaded["id.2.bias"], initial["id.2.bias"])
    assert torch.equal(loaded["wh.2.weight"], source.state_dict()["wh.2.weight"] + 1)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="bad.pth"):
        base.load_initial_weights(net, bad)
