"""The FairMOT tracker on real networks: FairMOT's released-weights layout through ``arch`` and
``load_model``, and a checkpoint of this toolkit, each loaded once per file and run on frames."""

import os

import numpy as np
import pytest
import torch

from ltr.models.fairmot.network import build_fairmot
from ltr.models.loading import save_checkpoint
from pytracking.parameter.fairmot.default import parameters as default_parameters
from pytracking.features import net_wrappers
from pytracking.tracker.fairmot.tracker import FairMOTTracker


@pytest.fixture
def network_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path))
    monkeypatch.setattr(net_wrappers, "_KEPT", {})
    path = tmp_path / "networks"
    path.mkdir()
    return path


def small_params(**values):
    params = default_parameters()
    params.input_size = (96, 64)
    params.reid_dim, params.head_conv = 64, 64
    params.use_gpu = False
    for name, value in values.items():
        setattr(params, name, value)
    return params


def run_frames(params, frames: int = 3) -> list[np.ndarray]:
    tracker = FairMOTTracker(params)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(frames)]
    outputs = [tracker.initialize(images[0], {})["tracks"]] + [tracker.track(image)["tracks"] for image in images[1:]]
    assert isinstance(tracker.network, torch.nn.Module) and not tracker.network.training
    return outputs


def test_released_weights_load_through_arch_and_load_model(network_path):
    torch.manual_seed(0)
    net = build_fairmot("tiny", reid_dim=64, head_conv=64)
    with torch.no_grad():
        net.hm[-1].bias.fill_(3.0)  # every peak scores above conf_thres: tracks everywhere
        net.wh[-1].bias.fill_(4.0)  # boxes 8 output cells wide and high
    # FairMOT's released layout: {'epoch', 'state_dict'} with DataParallel's 'module.' prefixes.
    torch.save({"epoch": 30, "state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}},
               network_path / "fairmot_tiny.pth")
    outputs = run_frames(small_params(arch="tiny", load_model="fairmot_tiny.pth", conf_thres=0.4))
    assert all(out.ndim == 2 and out.shape[1] == 6 for out in outputs)
    assert len(outputs[0]) > 0  # the first frame's detections are confirmed at once
    loaded = next(iter(net_wrappers._KEPT.values()))
    for name, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name


def test_a_wrong_reid_dim_names_the_flag(network_path):
    torch.save(build_fairmot("tiny", reid_dim=32, head_conv=64).state_dict(), network_path / "other.pth")
    with pytest.raises(Exception, match="reid_dim"):
        run_frames(small_params(arch="tiny", load_model="other.pth"), frames=1)


def test_a_toolkit_checkpoint_loads_and_is_kept_for_the_process(network_path):
    net = build_fairmot("tiny", reid_dim=64, head_conv=64)
    save_checkpoint(network_path / "mine.pth.tar", {"net": net.state_dict(), "constructor": net.constructor,
                                                     "net_type": type(net).__name__, "epoch": 1})
    run_frames(small_params(checkpoint="mine.pth.tar", arch=None, load_model=None), frames=2)
    run_frames(small_params(checkpoint="mine.pth.tar", arch=None, load_model=None), frames=1)
    assert len(net_wrappers._KEPT) == 1  # the second tracker (the runner's next sequence) reused it


class ZeroHeightNetwork(torch.nn.Module):
    """Two peaks; the size head gives the second no height (an untrained network does)."""

    def forward(self, images):
        h, w = images.shape[-2] // 4, images.shape[-1] // 4
        hm = torch.full((1, 1, h, w), -9.0)
        hm[0, 0, 5, 5] = hm[0, 0, 10, 15] = 3.0
        wh = torch.full((1, 4, h, w), 2.0)
        wh[0, 1, 10, 15] = wh[0, 3, 10, 15] = 0.0  # top and bottom distances 0
        return {"hm": hm, "wh": wh, "id": torch.ones((1, 8, h, w)), "reg": torch.zeros((1, 2, h, w))}


def test_detections_without_area_are_dropped_counted_and_said_once(caplog):
    tracker = FairMOTTracker(small_params(), network=ZeroHeightNetwork(), device="cpu")
    image = np.zeros((64, 96, 3), dtype=np.uint8)
    with caplog.at_level("WARNING"):
        first = tracker.initialize(image, {})["tracks"]
        tracker.track(image)
    assert len(first) == 1 and tracker.dropped_boxes == 2
    assert sum("without area" in record.getMessage() for record in caplog.records) == 1
