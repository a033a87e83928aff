"""Tracktor reproduces mmtracking's published ``TracktorTracker`` on a hand-made scene:
``tracktor_reference/published_tracks.json`` holds the scene (detections, truth, embeddings) and
the published tracker's tracks (made by ``tracktor_reference/make_fixture.py``, whose scripted
box head and ReID both sides use). The same identities (ours count from 1) in every frame, boxes
and scores within 1e-5."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ltr.data.boxes import xyxy_to_xywh
from pytracking.evaluation.tracker import Tracker
from pytracking.tracker.tracktor.tracker import TracktorTracker

HERE = Path(__file__).parent / "tracktor_reference"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"tracktor_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


scripted = _load("scripted")
reference = _load("make_fixture")
FIXTURE = json.loads((HERE / "published_tracks.json").read_text())


def run_ours(scene: dict) -> list[np.ndarray]:
    runner = Tracker("tracktor", "no_cmc")
    scale = torch.tensor([*reference.SCALE, *reference.SCALE], dtype=torch.float32)
    detections = []
    for frame in scene["detections"]:
        rows = torch.tensor(frame, dtype=torch.float32).reshape(-1, 5)
        detections.append(((rows[:, :4] * scale).numpy(), rows[:, 4].numpy()))
    detector = scripted.ScriptedDetector(detections, lambda f, boxes: reference.regress(scene, f, boxes))
    reid = scripted.ScriptedReID(detector, lambda f, boxes: reference.embed(scene, f, boxes))
    tracker = TracktorTracker(runner.get_parameters(), detector=detector, reid=reid, device="cpu",
                              prepare_images=scripted.scripted_prepare(*reference.SCALE))
    image = np.zeros((*reference.IMAGE_SIZE, 3), dtype=np.uint8)
    return [(tracker.initialize(image, {}) if index == 0 else tracker.track(image, {}))["tracks"]
            for index in range(len(scene["detections"]))]


def test_the_scene_exercises_the_rules():
    published = FIXTURE["tracktor"]
    ids = [[int(row[0]) for row in frame] for frame in published]
    everywhere = set().union(*map(set, ids))
    # New tracks all along, tracks ended, and one track coming back after a gap (ReID).
    assert len(everywhere) > 20
    came_back = [i for i in everywhere
                 if any(i in ids[f] and i not in ids[f - 1] and any(i in ids[g] for g in range(f - 1))
                        for f in range(1, len(ids)))]
    assert came_back


def test_tracktor_reproduces_the_published_tracker():
    ours = run_ours(FIXTURE)
    assert len(ours) == len(FIXTURE["tracktor"])
    for frame, (mine, theirs) in enumerate(zip(ours, FIXTURE["tracktor"])):
        theirs = np.array(theirs, dtype=np.float64).reshape(-1, 6)
        assert mine[:, 0].tolist() == (theirs[:, 0] + 1).tolist(), f"frame {frame}: identities differ"
        boxes = xyxy_to_xywh(torch.tensor(theirs[:, 1:5], dtype=torch.float32)).double().numpy()
        np.testing.assert_allclose(mine[:, 1:5], boxes, atol=1e-5, rtol=0, err_msg=f"frame {frame}")
        np.testing.assert_allclose(mine[:, 5], theirs[:, 5], atol=1e-5, rtol=0, err_msg=f"frame {frame}")


@pytest.mark.parametrize("change", ["ids", "boxes"])
def test_the_comparison_fails_for_a_changed_rule(change, monkeypatch):
    """The fixture tells rules apart: a looser ReID or a box head fed unscaled boxes changes the tracks."""
    if change == "ids":
        monkeypatch.setattr(TracktorTracker, "_reidentify", lambda self, *args: None)
    else:
        original = TracktorTracker._regress
        monkeypatch.setattr(TracktorTracker, "_regress",
                            lambda self, features, sizes, scale: original(self, features, sizes, torch.ones(4)))
    ours = run_ours(FIXTURE)
    same = all(np.array_equal(mine[:, 0], np.array([r[0] + 1 for r in theirs]))
               and np.allclose(mine[:, 1:5], xyxy_to_xywh(np.array([r[1:5] for r in theirs]).reshape(-1, 4)),
                               atol=1e-5)
               for mine, theirs in zip(ours, FIXTURE["tracktor"]))
    assert not same
