"""Our FairMOT (decoding and JDE association) gives the tracks that FairMOT's published
``JDETracker`` gives on the same head outputs (``fairmot_reference/make_fixture.py``): the same
identities, boxes to 1e-4 pixels, the same scores."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch

from pytracking.tracker.base import TrackerParams
from pytracking.tracker.fairmot.tracker import FairMOTTracker

HERE = Path(__file__).parent / "fairmot_reference"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"fairmot_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


reference = _load("make_fixture")
FIXTURE = json.loads((HERE / "published_tracks.json").read_text())


class ScriptedHeads(torch.nn.Module):
    """Returns the recorded head outputs frame by frame, checking the input's shape."""

    def __init__(self, outputs: list[dict[str, torch.Tensor]], input_size: tuple[int, int]):
        super().__init__()
        self.outputs, self.input_size, self.calls = outputs, input_size, 0

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        assert tuple(images.shape) == (1, 3, self.input_size[1], self.input_size[0])
        assert images.dtype == torch.float32 and 0 <= images.min() and images.max() <= 1
        self.calls += 1
        return self.outputs[self.calls - 1]


def test_the_fixture_is_this_scene():
    assert FIXTURE["seed"] == reference.SEED and FIXTURE["frames"] == reference.FRAMES
    assert FIXTURE["conf_thres"] == reference.CONF_THRES and FIXTURE["track_buffer"] == reference.TRACK_BUFFER


def test_our_tracks_are_the_published_tracks():
    outputs = reference.head_outputs()
    params = TrackerParams(input_size=reference.INPUT_SIZE, conf_thres=reference.CONF_THRES,
                           track_buffer=reference.TRACK_BUFFER, K=500, min_box_area=100.0, aspect_ratio_thresh=1.6)
    tracker = FairMOTTracker(params, network=ScriptedHeads(outputs, reference.INPUT_SIZE), device="cpu")
    image = np.zeros((reference.FRAME_SIZE[1], reference.FRAME_SIZE[0], 3), dtype=np.uint8)
    identities = set()
    for frame, published in enumerate(FIXTURE["tracks"]):
        out = tracker.initialize(image, {}) if frame == 0 else tracker.track(image, {})
        ours = out["tracks"]
        published = np.array(published, dtype=np.float64).reshape(-1, 6)
        assert ours[:, 0].tolist() == published[:, 0].tolist(), f"frame {frame}: identities"
        np.testing.assert_allclose(ours[:, 1:5], published[:, 1:5], atol=1e-4, rtol=0, err_msg=f"frame {frame}")
        np.testing.assert_allclose(ours[:, 5], published[:, 5], atol=1e-6, rtol=0, err_msg=f"frame {frame}")
        identities.update(ours[:, 0].astype(int).tolist())
    # The scene exercises what it is meant to: a person found again, one forgotten and renumbered.
    assert len(identities) >= 7
