"""Loading FairMOT's released layouts: bare, ``{'epoch', 'state_dict'}``, ``module.``-prefixed,
with the base's unused ImageNet classifier; strict errors naming file, keys and flag."""

from __future__ import annotations

import logging

import pytest
import torch

from ltr.models.fairmot.convert import (FairMOTWeightsError, guess_arch, load_dla34_imagenet,
                                        load_fairmot_weights)
from ltr.models.fairmot.network import fairmot_tiny


def _released(net: torch.nn.Module, seed: int = 1) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {key: (torch.randn(value.shape, generator=generator) if value.is_floating_point() else value.clone())
            for key, value in net.state_dict().items()}


def _assert_loaded(net, state):
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, state[key])


@pytest.mark.parametrize("layout", ["bare", "checkpoint", "module", "checkpoint_module_fc"])
def test_released_layouts_load(layout, tmp_path, caplog):
    source_net = fairmot_tiny(deformable=True)
    state = _released(source_net)
    content: dict = dict(state)
    if layout in ("module", "checkpoint_module_fc"):
        content = {f"module.{key}": value for key, value in content.items()}
    if layout == "checkpoint_module_fc":
        content["module.base.fc.weight"] = torch.zeros(1000, 96, 1, 1)
        content["module.base.fc.bias"] = torch.zeros(1000)
    if layout.startswith("checkpoint"):
        content = {"epoch": 30, "state_dict": content, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4}]}}
    path = tmp_path / "fairmot_tiny.pth"
    torch.save(content, path)
    net = fairmot_tiny(deformable=True)
    with caplog.at_level(logging.INFO, logger="ltr.models.fairmot.convert"):
        report = load_fairmot_weights(net, path)
    _assert_loaded(net, state)
    assert report.source == str(path) and report.loaded == len(state)
    assert report.epoch == (30 if layout.startswith("checkpoint") else None)
    if layout == "checkpoint_module_fc":
        assert report.unused == ["base.fc.weight", "base.fc.bias"]
        assert "base.fc.weight" in caplog.text
    else:
        assert report.unused == []
    # from a dict too
    assert load_fairmot_weights(fairmot_tiny(deformable=True), content).source == "<state dict>"


def test_missing_keys_name_the_arch_to_pick():
    state = _released(fairmot_tiny(deformable=False))  # dlaconv layout: no offsets, no DCN bias
    with pytest.raises(FairMOTWeightsError, match=r"<state dict> lacks \d+ of the \d+ tensors of the tiny network.*"
                                                  r"conv_offset_mask.*--arch tiny"):
        load_fairmot_weights(fairmot_tiny(deformable=True), state)


def test_unexpected_keys_are_errors():
    state = _released(fairmot_tiny(deformable=True))
    with pytest.raises(FairMOTWeightsError, match=r"<state dict> has \d+ tensors that the tiny network does not "
                                                  r"have.*conv_offset_mask.*--arch tiny"):
        load_fairmot_weights(fairmot_tiny(deformable=False), state)
    state = _released(fairmot_tiny())
    state["extra.weight"] = torch.zeros(3)
    with pytest.raises(FairMOTWeightsError, match="extra.weight"):
        load_fairmot_weights(fairmot_tiny(), state)


@pytest.mark.parametrize("kwargs,key,flag", [({"reid_dim": 32}, "id.2.weight", "--reid_dim"),
                                             ({"num_classes": 2}, "hm.2.weight", "--num_classes"),
                                             ({"ltrb": False}, "wh.2.weight", "--ltrb"),
                                             ({"head_conv": 32}, "hm.0.weight", "--head_conv")])
def test_shape_mismatch_names_key_shapes_and_flag(kwargs, key, flag, tmp_path):
    path = tmp_path / "model.pth"
    torch.save({"epoch": 1, "state_dict": _released(fairmot_tiny(**kwargs))}, path)
    with pytest.raises(FairMOTWeightsError) as error:
        load_fairmot_weights(fairmot_tiny(), path)
    message = str(error.value)
    assert str(path) in message and key in message and flag in message and "\n" not in message


def test_missing_num_batches_tracked_is_kept_and_reported():
    state = {key: value for key, value in _released(fairmot_tiny()).items() if "num_batches_tracked" not in key}
    report = load_fairmot_weights(fairmot_tiny(), state)
    assert report.kept and all(key.endswith("num_batches_tracked") for key in report.kept)


def test_unreadable_and_absent_files(tmp_path):
    with pytest.raises(FairMOTWeightsError, match="nothere.pth does not exist"):
        load_fairmot_weights(fairmot_tiny(), tmp_path / "nothere.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(FairMOTWeightsError, match="bad.pth cannot be read"):
        load_fairmot_weights(fairmot_tiny(), bad)
    torch.save({"epoch": 3}, tmp_path / "nostate.pth")
    with pytest.raises(FairMOTWeightsError, match="nostate.pth holds no FairMOT state dict"):
        load_fairmot_weights(fairmot_tiny(), tmp_path / "nostate.pth")


def test_guess_arch_from_fixture_keys():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "fairmot_make_fixture", Path(__file__).parents[1] / "fairmot_reference" / "make_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for arch, rows in module.read_keys().items():
        assert guess_arch(dict.fromkeys(key for key, _ in rows)) == arch
    assert guess_arch({"foo": 1}) is None
    assert guess_arch(fairmot_tiny().state_dict()) == "tiny"


def test_dla34_imagenet_layout_loads_into_the_base(tmp_path, caplog):
    net = fairmot_tiny()
    base_state = _released(net.base, seed=4)
    file_state = dict(base_state)
    file_state["fc.weight"] = torch.zeros(1000, 96, 1, 1)
    file_state["fc.bias"] = torch.zeros(1000)
    path = tmp_path / "dla34-ba72cf86.pth"
    torch.save(file_state, path)
    heads_before = {key: value.clone() for key, value in net.state_dict().items() if not key.startswith("base.")}
    with caplog.at_level(logging.INFO, logger="ltr.models.fairmot.convert"):
        report = load_dla34_imagenet(net, path)
    assert report.unused == ["fc.weight", "fc.bias"] and "fc.weight" in caplog.text
    _assert_loaded(net.base, base_state)
    for key, value in heads_before.items():
        torch.testing.assert_close(net.state_dict()[key], value)
    del file_state["level5.root.bn.weight"]
    torch.save(file_state, path)
    with pytest.raises(FairMOTWeightsError, match=r"dla34-ba72cf86.pth lacks 1 .*level5.root.bn.weight"):
        load_dla34_imagenet(fairmot_tiny(), path)


def test_dla34_imagenet_from_the_environment(isolated_workspace, monkeypatch, tmp_path):
    folder = tmp_path / "pretrained"
    folder.mkdir()
    monkeypatch.setenv("TRACKING_PRETRAINED_NETWORKS", str(folder))
    with pytest.raises(FairMOTWeightsError, match="dla34"):
        load_dla34_imagenet(fairmot_tiny())
    net = fairmot_tiny()
    torch.save({**_released(net.base), "fc.weight": torch.zeros(10, 96, 1, 1), "fc.bias": torch.zeros(10)},
               folder / "dla34-ba72cf86.pth")
    assert load_dla34_imagenet(net).source == str(folder / "dla34-ba72cf86.pth")
