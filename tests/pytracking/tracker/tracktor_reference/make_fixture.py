"""Writes ``published_tracks.json``: a hand-made seeded scene and the tracks that mmtracking's
published ``TracktorTracker`` gives for it, which ``test_tracktor_conformance.py`` compares ours
with. Not run by the tests (they import the scene's rules from here); rerun it only to change
the scene.

The scene (all boxes ``[x0, y0, x1, y1]``): six people moving in straight lines in an 800 x 480
image (one enters at frame 10, one leaves at 35, one is occluded for frames 20-26, one gone for
frames 30-42, two cross), seen through a network input scaled by (0.5, 0.25). Per frame:

- detections: each person's box with noise and a score (now and then low), and false positives;
- the box head (``regress``): a box handed in (network pixels) moves 60 % of the way to the
  person it overlaps most (IoU above 0.1) and scores ``visibility * (0.5 + 0.5 * IoU)``; a box
  overlapping nobody stays and scores 0.1;
- embeddings (``embed``): the person's vector plus a small box-dependent ripple when the box
  overlaps a person by more than 0.3 IoU, otherwise a vector made from the box alone.

How it was produced (mmtracking is Apache-2.0; its code stays in /tmp, never in the toolkit):

    /work/main/.venv/bin/python -m venv --system-site-packages /tmp/refenv16
    # open-mmlab/mmtracking e79491ec (master):
    git show HEAD:mmtrack/models/trackers/tracktor_tracker.py > /tmp/ref16/mmtrack/models/trackers/tracktor_tracker.py
    git show HEAD:mmtrack/models/trackers/base_tracker.py > /tmp/ref16/mmtrack/models/trackers/base_tracker.py
    # torch, torchvision, numpy, scipy from the toolkit's environment, seen through PYTHONPATH:
    PYTHONPATH=/tmp/ref16:<repo>:/work/main/.venv/lib/python3.11/site-packages \
        /tmp/refenv16/bin/python tests/pytracking/tracker/tracktor_reference/make_fixture.py

The two files run as published. What they import is stubbed (``stub_imports``): ``mmcv.runner``
(``BaseModule`` as ``torch.nn.Module`` taking ``init_cfg``; ``force_fp32`` as a no-op decorator),
``mmtrack.models.TRACKERS`` (a registry whose ``register_module()`` returns the class),
``mmtrack.core.imrenormalize`` (unused: ``img_norm_cfg`` is None), ``addict.Dict`` (a dict with
attribute access), and ``mmdet.core``: ``bbox_overlaps`` (mmdet 2.x's rule: no +1, union clamped
to 1e-6) and ``multiclass_nms`` (mmdet 2.x for a one-class head: scores above ``score_thr``, then
mmcv's NMS, here torchvision's with the threshold rounded to float32 as mmcv's kernel takes it,
returning ``(dets (K, 5), labels, inds)`` in score order). The model around the tracker is a
namespace without camera motion, whose ``roi_head.simple_test_bboxes`` applies ``regress`` and
divides by the scale factor (``rescale=True``) and whose ``reid.simple_test`` applies ``embed``;
the tracker's ``crop_imgs`` is replaced by one returning the boxes scaled to the network input as
the published one scales them (the crop itself belongs to the ReID network's ``embed_boxes``).
Camera motion is off; the tracker settings are the MOT17 config's.
"""

from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import torch

SEED = 16
FRAMES = 50
SCALE = (0.5, 0.25)  # (w, h): exact in binary, so boxes scale back and forth without rounding
IMAGE_SIZE = (480, 800)  # (h, w)
DIM = 16
OUT = Path(__file__).with_name("published_tracks.json")


def make_scene(seed: int = SEED, frames: int = FRAMES) -> dict:
    """The truth (per frame, per person: box or None, visibility), detections ``[x0, y0, x1, y1,
    score]`` and the people's embeddings, as plain lists of float32 values."""
    rng = np.random.default_rng(seed)
    # start, end (exclusive), x, y, vx, vy, w, h
    people = [(0, 50, 60.0, 100.0, 4.0, 0.5, 40.0, 100.0),
              (0, 50, 300.0, 110.0, -4.0, 0.3, 42.0, 105.0),  # crosses the first around frame 30
              (0, 50, 200.0, 300.0, 1.0, -1.5, 30.0, 80.0),  # gone for frames 30-42
              (0, 50, 600.0, 250.0, -1.0, 0.0, 50.0, 120.0),  # occluded for frames 20-26
              (0, 35, 700.0, 50.0, 0.0, 2.0, 45.0, 110.0),  # leaves at 35
              (10, 50, 20.0, 360.0, 3.0, -0.5, 35.0, 90.0)]  # enters at 10
    truth, visibility, detections = [], [], []
    for frame in range(frames):
        boxes, seen, dets = [], [], []
        for k, (start, end, x, y, vx, vy, w, h) in enumerate(people):
            present = start <= frame < end and not (k == 2 and 30 <= frame <= 42)
            if not present:
                boxes.append(None)
                seen.append(0.0)
                continue
            t = frame - start
            box = [x + vx * t, y + vy * t, x + vx * t + w, y + vy * t + h]
            boxes.append([float(np.float32(v)) for v in box])
            occluded = k == 3 and 20 <= frame <= 26
            seen.append(0.2 if occluded else 1.0)
            if occluded:
                continue
            noisy = np.array(box) + rng.normal(0.0, 1.5, 4)
            score = rng.uniform(0.6, 0.98) if rng.uniform() > 0.1 else rng.uniform(0.2, 0.55)
            dets.append([*noisy.tolist(), score])
        for _ in range(rng.poisson(0.8)):  # false positives
            x0, y0 = rng.uniform(0, 740), rng.uniform(0, 380)
            dets.append([x0, y0, x0 + rng.uniform(20, 60), y0 + rng.uniform(40, 100), rng.uniform(0.3, 0.9)])
        order = rng.permutation(len(dets))
        detections.append([[float(np.float32(v)) for v in dets[i]] for i in order])
        truth.append(boxes)
        visibility.append(seen)
    embeddings = rng.normal(0.0, 1.5, (len(people), DIM)).astype(np.float32)
    return {"truth": truth, "visibility": visibility, "detections": detections, "embeddings": embeddings.tolist()}


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, 4), (M, 4) -> (N, M), no +1."""
    low = torch.maximum(a[:, None, :2], b[None, :, :2])
    high = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (high - low).clamp(min=0).prod(-1)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-6)


def _scale() -> torch.Tensor:
    return torch.tensor([SCALE[0], SCALE[1], SCALE[0], SCALE[1]], dtype=torch.float32)


def _people(scene: dict, frame: int) -> tuple[list[int], torch.Tensor]:
    """The people present in ``frame`` and their boxes in network pixels."""
    present = [k for k, box in enumerate(scene["truth"][frame]) if box is not None]
    boxes = torch.tensor([scene["truth"][frame][k] for k in present], dtype=torch.float32).reshape(-1, 4)
    return present, boxes * _scale()


def regress(scene: dict, frame: int, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The scripted box head: (N, 4) network-pixel boxes -> regressed boxes and scores."""
    present, people = _people(scene, frame)
    out, scores = boxes.clone(), torch.full((len(boxes),), 0.1)
    if len(present) and len(boxes):
        overlaps = _iou(boxes, people)
        best, which = overlaps.max(dim=1)
        for i in range(len(boxes)):
            if best[i] > 0.1:
                target = people[which[i]]
                out[i] = boxes[i] + 0.6 * (target - boxes[i])
                seen = scene["visibility"][frame][present[int(which[i])]]
                scores[i] = seen * (0.5 + 0.5 * best[i])
    return out, scores


def embed(scene: dict, frame: int, boxes: torch.Tensor) -> torch.Tensor:
    """The scripted ReID: (N, 4) network-pixel boxes -> (N, DIM) embeddings."""
    present, people = _people(scene, frame)
    vectors = torch.tensor(scene["embeddings"], dtype=torch.float32)
    steps = torch.arange(1, DIM + 1, dtype=torch.float32)
    out = []
    for box in boxes:
        code = float(box[0] + 2 * box[1] + 3 * box[2] + 5 * box[3])
        ripple = torch.sin(steps * (code * 0.37 % (2 * math.pi)))
        overlaps = _iou(box[None], people)[0] if len(present) else torch.zeros(0)
        if len(overlaps) and overlaps.max() > 0.3:
            out.append(vectors[present[int(overlaps.argmax())]] + 0.1 * ripple)
        else:
            out.append(3.0 * torch.sin(steps * (code * 0.11 % (2 * math.pi)) + 1.0))
    return torch.stack(out) if out else torch.zeros((0, DIM))


# The published code, on stubs --------------------------------------------------------------

def stub_imports() -> None:
    def module(name: str, **attributes) -> None:
        mod = types.ModuleType(name)
        mod.__dict__.update(attributes)
        sys.modules[name] = mod

    class BaseModule(torch.nn.Module):
        def __init__(self, init_cfg=None):
            super().__init__()

    def force_fp32(**_):
        return lambda function: function

    class Registry:
        def register_module(self, *args, **kwargs):
            return lambda cls: cls

    class Dict(dict):
        def __getattr__(self, name):
            try:
                return self[name]
            except KeyError:
                raise AttributeError(name) from None

        def __setattr__(self, name, value):
            self[name] = value

    def bbox_overlaps(a, b):
        if len(a) == 0 or len(b) == 0:
            return a.new_zeros((len(a), len(b)))
        return _iou(a, b)

    def multiclass_nms(multi_bboxes, multi_scores, score_thr, nms_cfg, max_num=-1, return_inds=False):
        from torchvision.ops import nms

        scores = multi_scores[:, 0]  # one class; the last column is the background
        inds = torch.nonzero(scores > score_thr).flatten()
        bboxes, scores = multi_bboxes[inds], scores[inds]
        labels = torch.zeros(len(inds), dtype=torch.long)
        if len(inds) == 0:
            dets = torch.cat([bboxes, scores[:, None]], -1)
            return (dets, labels, inds) if return_inds else (dets, labels)
        keep = nms(bboxes, scores, float(np.float32(nms_cfg["iou_threshold"])))
        if max_num > 0:
            keep = keep[:max_num]
        dets = torch.cat([bboxes[keep], scores[keep][:, None]], -1)
        return (dets, labels[keep], inds[keep]) if return_inds else (dets, labels[keep])

    module("mmcv")
    module("mmcv.runner", BaseModule=BaseModule, force_fp32=force_fp32)
    module("addict", Dict=Dict)
    module("mmdet")
    module("mmdet.core", bbox_overlaps=bbox_overlaps, multiclass_nms=multiclass_nms)
    module("mmtrack")
    module("mmtrack.core", imrenormalize=lambda *a, **k: None)
    module("mmtrack.models", TRACKERS=Registry())


def run_published(scene: dict) -> list[list[list[float]]]:
    """Per frame, rows ``[id, x0, y0, x1, y1, score]`` (published ids, from 0)."""
    stub_imports()
    import importlib.util

    folder = next(Path(p) for p in sys.path if (Path(p) / "mmtrack/models/trackers/tracktor_tracker.py").is_file())
    package = types.ModuleType("mmtrack.models.trackers")
    package.__path__ = [str(folder / "mmtrack/models/trackers")]
    sys.modules["mmtrack.models.trackers"] = package
    for name in ("base_tracker", "tracktor_tracker"):
        spec = importlib.util.spec_from_file_location(f"mmtrack.models.trackers.{name}",
                                                      folder / f"mmtrack/models/trackers/{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    TracktorTracker = sys.modules["mmtrack.models.trackers.tracktor_tracker"].TracktorTracker

    tracker = TracktorTracker(obj_score_thr=0.5,
                              regression=dict(obj_score_thr=0.5, nms=dict(type="nms", iou_threshold=0.6),
                                              match_iou_thr=0.3),
                              reid=dict(num_samples=10, img_scale=(256, 128), img_norm_cfg=None,
                                        match_score_thr=2.0, match_iou_thr=0.2),
                              momentums=None, num_frames_retain=10)
    state = {"frame": 0}
    scale_factor = np.array([SCALE[0], SCALE[1], SCALE[0], SCALE[1]], dtype=np.float32)

    def crop_imgs(img, img_metas, bboxes, rescale=False):
        if rescale:
            bboxes[:, :4] *= torch.tensor(img_metas[0]["scale_factor"]).to(bboxes.device)
        return bboxes[:, :4]

    def simple_test_bboxes(x, img_metas, proposals, rcnn_test_cfg, rescale=False):
        boxes, scores = regress(scene, state["frame"], proposals[0])
        if rescale:
            boxes = (boxes.view(boxes.size(0), -1, 4) / boxes.new_tensor(img_metas[0]["scale_factor"])).view(
                boxes.size(0), -1)
        return [boxes], [torch.stack([scores, 1 - scores], 1)]

    def simple_test(crops):
        return embed(scene, state["frame"], crops) if crops.numel() else torch.zeros((0, DIM))

    tracker.crop_imgs = crop_imgs
    model = types.SimpleNamespace(with_cmc=False, with_linear_motion=False,
                                  detector=types.SimpleNamespace(roi_head=types.SimpleNamespace(
                                      simple_test_bboxes=simple_test_bboxes)),
                                  reid=types.SimpleNamespace(simple_test=simple_test))
    height, width = IMAGE_SIZE
    img_metas = [{"img_shape": (int(height * SCALE[1]), int(width * SCALE[0]), 3), "scale_factor": scale_factor}]
    img = torch.zeros((1, 3, int(height * SCALE[1]), int(width * SCALE[0])))
    tracker.reset()
    frames = []
    for frame, dets in enumerate(scene["detections"]):
        state["frame"] = frame
        bboxes = torch.tensor(dets, dtype=torch.float32).reshape(-1, 5)
        labels = torch.zeros(len(bboxes), dtype=torch.long)
        boxes, _, ids = tracker.track(img=img, img_metas=img_metas, model=model, feats=None, bboxes=bboxes,
                                      labels=labels, frame_id=frame, rescale=True)
        rows = [[float(i), *map(float, b[:5])] for i, b in zip(ids.tolist(), boxes)]
        frames.append(sorted(rows))
    return frames


def main() -> None:
    scene = make_scene()
    result = {"note": "made by make_fixture.py from open-mmlab/mmtracking e79491ec (TracktorTracker, BaseTracker)",
              **scene, "tracktor": run_published(scene)}
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
