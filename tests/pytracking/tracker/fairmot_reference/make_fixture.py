"""Writes ``published_tracks.json``: a hand-made seeded scene as FairMOT's network heads would see
it, and the tracks that FairMOT's published ``JDETracker`` gives for it, which
``test_fairmot_conformance.py`` compares ours with. Not run by the tests (they import the scene
from here); rerun it only to change the scene.

The scene: six people in a 480 x 320 frame (one enters at frame 8, one leaves at 30, one is
occluded for frames 14-19, one gone for frames 22-33, two cross), seen through a 320 x 192
network input (output map 80 x 48). Per frame (:func:`head_outputs`) the heads are what a network
would give: ``hm`` logits of a grey background with noise and, for each visible person, a peak at
the cell of its centre (its score now and then near the threshold) with lower neighbours; ``reg``
the centre's offset in its cell, ``wh`` the distances to the box's sides (``ltrb``), with noise;
``id`` the person's embedding plus noise (a background of noise elsewhere); now and then a false
peak.

How it was produced (FairMOT is MIT-licensed; its code stays in /tmp, never in the toolkit):

    /work/main/.venv/bin/python -m venv --system-site-packages /tmp/refenv_fm
    /tmp/refenv_fm/bin/pip install lap                    # lap 0.5.13
    # ifzhang/FairMOT 4aa6297, into /tmp/ref_fm/:
    for f in tracker/multitracker.py tracker/matching.py tracker/basetrack.py models/decode.py \\
             models/utils.py utils/image.py utils/post_process.py tracking_utils/kalman_filter.py; do
        mkdir -p /tmp/ref_fm/$(dirname $f)
        git --git-dir=<FairMOT>/.git show HEAD:src/lib/$f > /tmp/ref_fm/$f
    done
    PYTHONPATH=/tmp/ref_fm:<repo>:/work/main/.venv/lib/python3.11/site-packages \\
        /tmp/refenv_fm/bin/python tests/pytracking/tracker/fairmot_reference/make_fixture.py

The files run as published. What they import besides is stubbed (``stub_imports``): ``models``
and ``models.model`` (``create_model`` returns the scripted heads, ``load_model`` returns it),
``tracking_utils.log`` (a logger), ``tracking_utils.utils`` (empty), ``cython_bbox.bbox_overlaps``
(a small reimplementation of its +1 pixel rule); ``np.float`` (removed from numpy) is ``float``.
The published ``track.py`` output filter (area above 100, width / height not above 1.6) is
applied to the tracks, and the score kept is each track's ``score``.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import torch

SEED = 21
FRAMES = 45
FRAME_SIZE = (480, 320)  # (w, h)
INPUT_SIZE = (320, 192)  # (w, h)
DIM = 32
CONF_THRES = 0.4
TRACK_BUFFER = 10  # person 2, gone 12 frames, is forgotten; person 3, occluded 6, found again
OUT = Path(__file__).with_name("published_tracks.json")

# start, end (exclusive), x, y, vx, vy, w, h (frame pixels)
PEOPLE = [(0, 45, 40.0, 60.0, 4.0, 0.5, 36.0, 90.0),
          (0, 45, 300.0, 70.0, -4.0, 0.3, 38.0, 95.0),  # crosses the first around frame 32
          (0, 45, 150.0, 190.0, 1.0, -1.0, 30.0, 80.0),  # gone for frames 22-33
          (0, 45, 380.0, 150.0, -1.0, 0.0, 44.0, 110.0),  # occluded for frames 14-19
          (0, 30, 430.0, 20.0, 0.0, 2.0, 40.0, 100.0),  # leaves at 30
          (8, 45, 10.0, 220.0, 3.0, -0.5, 32.0, 85.0)]  # enters at 8


def _to_output_cells(points: np.ndarray) -> np.ndarray:
    """Frame pixels -> output-map cells (the forward letterbox: centre, scale)."""
    w, h = FRAME_SIZE
    in_w, in_h = INPUT_SIZE
    out_w, out_h = in_w // 4, in_h // 4
    s = max(in_w / in_h * h, w)
    return (points - np.array([w / 2, h / 2])) * (out_w / s) + np.array([out_w / 2, out_h / 2])


def head_outputs(seed: int = SEED, frames: int = FRAMES) -> list[dict[str, torch.Tensor]]:
    """The heads' outputs per frame (batch of one), float32."""
    rng = np.random.default_rng(seed)
    out_w, out_h = INPUT_SIZE[0] // 4, INPUT_SIZE[1] // 4
    identities = rng.normal(size=(len(PEOPLE), DIM))
    result = []
    for frame in range(frames):
        hm = -6.0 + 0.3 * rng.normal(size=(out_h, out_w))
        wh = np.abs(rng.normal(2.0, 0.5, size=(4, out_h, out_w)))
        reg = rng.uniform(0, 1, size=(2, out_h, out_w))
        ids = 0.5 * rng.normal(size=(DIM, out_h, out_w))
        peaks = []
        for k, (start, end, x, y, vx, vy, w, h) in enumerate(PEOPLE):
            if not start <= frame < end or (k == 2 and 22 <= frame <= 33) or (k == 3 and 14 <= frame <= 19):
                continue
            t = frame - start
            box = np.array([x + vx * t, y + vy * t, x + vx * t + w, y + vy * t + h]) + rng.normal(0, 1.5, 4)
            score = rng.choice([rng.uniform(0.6, 0.95), rng.uniform(0.38, 0.5)], p=[0.85, 0.15])
            peaks.append((box, score, identities[k] + 0.15 * rng.normal(size=DIM)))
        if rng.uniform() < 0.2:  # a false detection
            x0, y0 = rng.uniform(0, 400), rng.uniform(0, 220)
            peaks.append((np.array([x0, y0, x0 + 30, y0 + 70]), rng.uniform(0.35, 0.55), rng.normal(size=DIM)))
        for box, score, embedding in peaks:
            corners = _to_output_cells(box.reshape(2, 2))
            centre = corners.mean(0)
            cx, cy = int(np.clip(centre[0], 0, out_w - 1)), int(np.clip(centre[1], 0, out_h - 1))
            logit = np.log(score / (1 - score))
            y0, y1, x0, x1 = max(cy - 1, 0), min(cy + 2, out_h), max(cx - 1, 0), min(cx + 2, out_w)
            hm[y0:y1, x0:x1] = np.maximum(hm[y0:y1, x0:x1], logit - 1.0)
            hm[cy, cx] = max(hm[cy, cx], logit)
            reg[:, cy, cx] = centre - np.array([cx, cy])
            wh[:, cy, cx] = [centre[0] - corners[0, 0], centre[1] - corners[0, 1],
                             corners[1, 0] - centre[0], corners[1, 1] - centre[1]]
            ids[:, cy, cx] = embedding
        result.append({name: torch.from_numpy(np.asarray(value, dtype=np.float32))[None]
                       for name, value in (("hm", hm[None]), ("wh", wh), ("reg", reg), ("id", ids))})
    return result


def stub_imports(outputs: list[dict[str, torch.Tensor]]) -> None:
    def module(name: str, **attributes) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.__dict__.update(attributes)
        sys.modules[name] = mod
        return mod

    class Heads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.frame = 0

        def forward(self, blob):
            assert tuple(blob.shape) == (1, 3, INPUT_SIZE[1], INPUT_SIZE[0])
            self.frame += 1
            return [outputs[self.frame - 1]]

    def bbox_overlaps(boxes, query_boxes):
        """cython_bbox: [x0, y0, x1, y1] boxes taken as (x1 - x0 + 1) x (y1 - y0 + 1) pixels."""
        overlaps = np.zeros((len(boxes), len(query_boxes)), dtype=np.float64)
        for k, q in enumerate(query_boxes):
            q_area = (q[2] - q[0] + 1) * (q[3] - q[1] + 1)
            for n, b in enumerate(boxes):
                iw = min(b[2], q[2]) - max(b[0], q[0]) + 1
                if iw > 0:
                    ih = min(b[3], q[3]) - max(b[1], q[1]) + 1
                    if ih > 0:
                        union = (b[2] - b[0] + 1) * (b[3] - b[1] + 1) + q_area - iw * ih
                        overlaps[n, k] = iw * ih / union
        return overlaps

    import logging

    np.float = float  # type: ignore[attr-defined]
    # The package of the published models/decode.py and models/utils.py, without its __init__.
    module("models", __path__=[str(Path(p) / "models") for p in sys.path if (Path(p) / "models" / "decode.py").is_file()])
    module("models.model", create_model=lambda arch, heads, head_conv: Heads(), load_model=lambda model, path: model)
    module("tracking_utils.log", logger=logging.getLogger("fairmot_reference"))
    module("tracking_utils.utils")
    module("cython_bbox", bbox_overlaps=bbox_overlaps)


def run_published(outputs: list[dict[str, torch.Tensor]]) -> list[list[list[float]]]:
    stub_imports(outputs)
    from tracker.basetrack import BaseTrack  # noqa: E402  (the published modules, after the stubs)
    from tracker.multitracker import JDETracker

    BaseTrack._count = 0
    opt = types.SimpleNamespace(gpus=[-1], arch="dla_34", heads={}, head_conv=256, load_model="", conf_thres=CONF_THRES,
                                track_buffer=TRACK_BUFFER, K=500, mean=[0, 0, 0], std=[1, 1, 1], down_ratio=4, reg_offset=True,
                                ltrb=True, num_classes=1, min_box_area=100)
    tracker = JDETracker(opt, frame_rate=30)
    blob = torch.zeros(1, 3, INPUT_SIZE[1], INPUT_SIZE[0])
    img0 = np.zeros((FRAME_SIZE[1], FRAME_SIZE[0], 3), dtype=np.uint8)
    frames = []
    for _ in outputs:
        rows = []
        for t in tracker.update(blob, img0):
            tlwh = t.tlwh
            if tlwh[2] * tlwh[3] > opt.min_box_area and not tlwh[2] / tlwh[3] > 1.6:
                rows.append([int(t.track_id), *[float(v) for v in tlwh], float(t.score)])
        frames.append(sorted(rows))
    return frames


def main() -> None:
    frames = run_published(head_outputs())
    result = {"seed": SEED, "frames": FRAMES, "conf_thres": CONF_THRES, "track_buffer": TRACK_BUFFER,
              "tracks": [[[round(v, 6) for v in row] for row in rows] for rows in frames]}
    OUT.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    identities = {row[0] for rows in frames for row in rows}
    print(f"wrote {OUT}: {sum(map(len, frames))} boxes, {len(identities)} identities")


if __name__ == "__main__":
    main()
