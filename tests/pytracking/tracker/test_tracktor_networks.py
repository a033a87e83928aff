"""Tracktor's network loading: a checkpoint, or a registered network with released weights
through the converters (imported only when used), errors naming the parameters."""

from __future__ import annotations

import os
import sys
import types

import pytest
import torch
from torch import nn

from pytracking.features import net_wrappers
from pytracking.tracker.tracktor import networks


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.setattr(net_wrappers, "_KEPT", {})


def test_a_checkpoint_is_resolved_loaded_frozen_in_eval_mode_and_kept(tmp_path, monkeypatch):
    path = tmp_path / "det.pth.tar"
    path.write_bytes(b"x")
    loaded = []

    def fake_load(p):
        loaded.append(p)
        return nn.Sequential(nn.Linear(2, 2), nn.Dropout())

    monkeypatch.setattr(networks, "load_network", fake_load)
    kwargs = dict(checkpoint=str(path), network=None, network_kwargs={}, weights=None, device=torch.device("cpu"))
    net = networks.load_tracktor_network("detector", **kwargs)
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    assert networks.load_tracktor_network("detector", **kwargs) is net and loaded == [path]
    # The file written again (a network trained again in this process): loaded again.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert networks.load_tracktor_network("detector", **kwargs) is not net and loaded == [path, path]


def test_released_weights_go_through_the_converter_of_their_kind(tmp_path, monkeypatch):
    weights = tmp_path / "reid.pth"
    weights.write_bytes(b"x")
    calls = []
    converter = types.ModuleType("ltr.models.reid.convert")
    converter.load_reid_weights = lambda net, p: calls.append((type(net).__name__, p))
    monkeypatch.setitem(sys.modules, "ltr.models.reid.convert", converter)
    monkeypatch.setattr(networks, "build_network", lambda name, kwargs: nn.Linear(kwargs["n"], 1))
    net = networks.load_tracktor_network("reid", checkpoint=None, network="reid_tiny", network_kwargs={"n": 3},
                                         weights=str(weights), device=torch.device("cpu"))
    assert calls == [("Linear", weights)] and net.in_features == 3


@pytest.mark.parametrize("settings, message", [
    (dict(checkpoint=None, network=None, weights=None), "set either detector_checkpoint"),
    (dict(checkpoint="a.pth", network="faster_rcnn_tiny", weights=None), "not both"),
    (dict(checkpoint=None, network="faster_rcnn_tiny", weights=None), "needs detector_weights"),
])
def test_missing_or_conflicting_settings_name_the_parameters(settings, message):
    with pytest.raises(ValueError, match=message):
        networks.load_tracktor_network("detector", network_kwargs={}, device=torch.device("cpu"), **settings)


def test_a_missing_checkpoint_names_the_file_and_network_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_NETWORK_PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="tracktor_synthetic_detector.pth.tar"):
        networks.load_tracktor_network("detector", checkpoint="tracktor_synthetic_detector.pth.tar", network=None,
                                       network_kwargs={}, weights=None, device=torch.device("cpu"))
