"""Writes ``published_tracks.json``: a hand-made seeded stream of detections and the tracks the
published SORT and ByteTrack code give for it, which ``test_mot_conformance.py`` compares ours
with. Not run by the tests; rerun it only to change the stream.

How it was produced (the published code is GPL and is never copied into the toolkit):

    python -m venv --system-site-packages /tmp/refenv15
    /tmp/refenv15/bin/pip install filterpy lap cython_bbox    # filterpy 1.4.5, lap 0.5.13
    git show HEAD:sort.py > /tmp/ref15/sort/sort.py            # abewley/sort 2236dff5
    git show HEAD:yolox/tracker/<f>.py > /tmp/ref15/bytetrack/yolox/tracker/<f>.py
        # ifzhang/ByteTrack d1bf0191, f in byte_tracker kalman_filter matching basetrack,
        # with empty yolox/__init__.py and yolox/tracker/__init__.py
    PYTHONPATH=/tmp/ref15/sort:/tmp/ref15/bytetrack \
        /tmp/refenv15/bin/python tests/pytracking/tracker/mot_reference/make_fixture.py

Only what the published modules import for plotting or not at all (matplotlib, skimage, torch,
cv2) is stubbed; ``np.float`` (removed from numpy) is aliased to ``float``.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import numpy as np

SEED = 15
FRAMES = 60
OUT = Path(__file__).with_name("published_tracks.json")


def make_stream(seed: int = SEED, frames: int = FRAMES) -> list[list[list[float]]]:
    """Per frame, detections ``[x, y, w, h, score]``: six people walking (two crossing paths, one
    entering late, one leaving for frames 20-27 and one occluded for frames 34-39 with low
    scores), box noise, now and then a low score, and false positives of any score."""
    rng = np.random.default_rng(seed)
    # start frame, end frame (exclusive), x, y, vx, vy, w, h
    objects = [
        (0, 60, 50.0, 100.0, 4.0, 0.5, 40.0, 100.0),
        (0, 60, 400.0, 110.0, -4.0, 0.3, 42.0, 105.0),   # crosses the first around frame 22
        (0, 60, 200.0, 300.0, 1.0, -1.5, 30.0, 80.0),
        (0, 45, 600.0, 250.0, -2.0, 0.0, 50.0, 120.0),    # leaves at 45
        (10, 60, 20.0, 400.0, 3.0, -0.5, 35.0, 90.0),     # enters at 10
        (0, 60, 700.0, 50.0, 0.0, 2.0, 45.0, 110.0),
    ]
    stream: list[list[list[float]]] = []
    for frame in range(frames):
        detections = []
        if frame == 30:  # a frame without any detection
            stream.append([])
            continue
        for k, (start, end, x, y, vx, vy, w, h) in enumerate(objects):
            if not start <= frame < end:
                continue
            if k == 2 and 20 <= frame < 28:  # gone for eight frames
                continue
            t = frame - start
            box = np.array([x + vx * t, y + vy * t, w * (1 + 0.002 * t), h * (1 + 0.002 * t)])
            box += rng.normal(0.0, [1.5, 1.5, 1.0, 2.0])
            score = rng.uniform(0.62, 0.98)
            if k == 5 and 34 <= frame < 40:  # occluded: only low-score detections
                score = rng.uniform(0.15, 0.45)
            elif rng.uniform() < 0.12:
                score = rng.uniform(0.15, 0.55)
            detections.append([*box.tolist(), float(score)])
        if 5 <= frame < 10:  # a false positive that persists for five frames
            detections.append([*(np.array([300.0, 20.0, 30.0, 60.0]) + rng.normal(0.0, 1.0, 4)).tolist(),
                               float(rng.uniform(0.7, 0.9))])
        for _ in range(rng.poisson(1.0)):  # false positives
            w, h = rng.uniform(20, 60), rng.uniform(40, 120)
            detections.append([float(rng.uniform(0, 760)), float(rng.uniform(0, 440)), float(w), float(h),
                               float(rng.uniform(0.05, 0.9))])
        order = rng.permutation(len(detections))
        stream.append([detections[i] for i in order])
    return stream


def _stub(name: str, **attributes) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


def _xyxy(frame: list[list[float]]) -> np.ndarray:
    dets = np.array(frame, dtype=np.float64).reshape(-1, 5)
    dets[:, 2:4] += dets[:, 0:2]
    return dets


def run_sort(stream) -> list[list[list[float]]]:
    saved_lap = sys.modules.pop("lap", None)
    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.patches", "skimage", "skimage.io"):
        _stub(name, use=lambda *a, **k: None)
    # sort.py assigns with lap.lapjv when lap imports and with scipy's linear_sum_assignment
    # otherwise; the two break ties between zero-IoU pairs differently, which changes the order
    # in which new tracks are numbered. Ours uses scipy, so the published scipy path is run.
    sys.modules["lap"] = None
    import sort

    sort.KalmanBoxTracker.count = 0
    tracker = sort.Sort(max_age=1, min_hits=3, iou_threshold=0.3)
    frames = []
    for frame in stream:
        out = tracker.update(_xyxy(frame))
        rows = [[float(r[4]), float(r[0]), float(r[1]), float(r[2] - r[0]), float(r[3] - r[1])] for r in out]
        frames.append(sorted(rows))
    if saved_lap is not None:
        sys.modules["lap"] = saved_lap
    else:
        del sys.modules["lap"]
    return frames


def run_bytetrack(stream, mot20: bool) -> list[list[list[float]]]:
    np.float = float  # removed from numpy; the published code still names it
    _stub("torch")
    _stub("torch.nn")
    _stub("torch.nn.functional")
    _stub("cv2")
    from yolox.tracker import basetrack, byte_tracker

    basetrack.BaseTrack._count = 0
    args = types.SimpleNamespace(track_thresh=0.5, track_buffer=30, match_thresh=0.8, mot20=mot20)
    tracker = byte_tracker.BYTETracker(args, frame_rate=30)
    frames = []
    for frame in stream:
        tracks = tracker.update(_xyxy(frame), (480, 800), (480, 800))
        frames.append(sorted([[float(t.track_id), *map(float, t.tlwh), float(t.score)] for t in tracks]))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()  # the published modules come from PYTHONPATH (see above)
    stream = make_stream()
    result = {
        "note": "made by make_fixture.py from abewley/sort 2236dff5 and ifzhang/ByteTrack d1bf0191",
        "detections": stream,
        "sort": run_sort(stream),  # rows [id, x, y, w, h]
        "bytetrack": run_bytetrack(stream, mot20=False),  # rows [id, x, y, w, h, score]
        "bytetrack_mot20": run_bytetrack(stream, mot20=True),
    }
    OUT.write_text(json.dumps(result, indent=None, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
