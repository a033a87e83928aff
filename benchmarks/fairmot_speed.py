"""Speed of FairMOT at the published input size (1088x608) on 1920x1080 frames, measured side by
side in one run:

- the network's forward pass alone (the frame already letterboxed: what the network costs),
- decoding and JDE association per frame, each timed alone, on head outputs that hold
  ``--objects`` people (100 by default) moving through the scene with their own embeddings and
  their own scores, so that every frame decodes that many detections and the association keeps
  that many tracks; the scripted sequence is replayed ``--repeats`` times (a fresh association
  each time) and the medians taken, as the forward pass shares the cores with whatever else runs;
- decoding the same heads with every person's score equal (ties: the published ranking of the
  whole map decides their order, the slow path),
- the full tracker per frame (letterbox, forward, decoding, association, output), and its ratio
  to the network alone.

The weights are random (speed does not depend on them); the tracker's network runs its real
forward pass and then hands the tracker the scripted head outputs of that frame, so that the
tracker's load is that of a trained network following ``--objects`` people. Frames are made
before timing. A sequence's first frame (no tracks yet, caches cold) is left out of the medians.

    python benchmarks/fairmot_speed.py [--arch dla_34|dlaconv_34|resdcn_34|...] [--frames 12]
                                       [--objects 100] [--repeats 5] [--device cpu|cuda] [--quick]

``--quick`` runs the small network on a few small frames in seconds. Ends with one line holding
a JSON object with the keys of ``JSON_FIELDS``:

- ``device``, ``quick``, ``arch``, ``frames``, ``repeats``, ``frame_size`` ([w, h]),
  ``input_size`` ([w, h]), ``objects``: what was run;
- ``detections_per_frame``, ``tracks_per_frame``: mean detections decoded and tracks output;
- ``network_ms``: median forward pass; ``network_fps`` its inverse;
- ``decode_ms``: median decoding of one frame's heads (sigmoid, peaks, top-K, boxes in the
  frame's pixels, embeddings); ``decode_tied_ms``: the same with all scores equal;
- ``association_ms``: median JDE association of one frame (detections made, three assignments,
  track bookkeeping);
- ``association_kalman_ms``: median time per frame spent in the association's Kalman filter
  (prediction, projection, corrections, new states, the gate's Mahalanobis distances), measured
  in ``--repeats`` more replays whose filter methods are timed (the timing wrappers cost a little, so it
  is not a share of ``association_ms`` taken in the same pass); the rest of the association is
  the embeddings, the gate's candidate search, the assignments and the track lists;
- ``decode_association_ms``: median of the two together per frame;
- ``tracker_ms``: median full tracker per frame; ``tracker_fps`` its inverse;
  ``tracker_over_network``: ``tracker_ms / network_ms``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from ltr.models.fairmot.network import build_fairmot
from ltr.models.registry import build_network
from pytracking.features.net_wrappers import default_device
from pytracking.parameter.fairmot.default import parameters as default_parameters
from pytracking.tracker.fairmot.association import JDEAssociation
from pytracking.tracker.fairmot.decode import decode_detections, prepare_input
from pytracking.tracker.fairmot.tracker import FairMOTTracker


JSON_FIELDS: tuple[str, ...] = (
    "device", "quick", "arch", "frames", "repeats", "frame_size", "input_size", "objects", "detections_per_frame",
    "tracks_per_frame", "network_ms", "decode_ms", "decode_tied_ms", "association_ms", "association_kalman_ms",
    "decode_association_ms",
    "tracker_ms", "tracker_over_network", "network_fps", "tracker_fps")


def median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000, 3)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class ScriptedScene:
    """``objects`` people on the output grid (``(h_out, w_out)`` cells), each moving at its own
    constant velocity and bouncing off the borders, with its own unit embedding; ``heads(t)`` is
    the head dict a network following them would give at frame ``t``."""

    def __init__(self, objects: int, grid: tuple[int, int], reid_dim: int, rng: np.random.Generator):
        h_out, w_out = grid
        self.grid = grid
        self.half_w = rng.uniform(2.0, 5.0, objects)  # cells: 16 to 40 input pixels wide
        self.half_h = self.half_w * rng.uniform(2.0, 2.6, objects)
        self.start = np.stack([rng.uniform(self.half_w, w_out - self.half_w),
                               rng.uniform(self.half_h, h_out - self.half_h)], axis=1)
        self.velocity = rng.uniform(-0.4, 0.4, (objects, 2))
        # Each person's own peak logit (a trained network's scores differ), or one for all.
        self.logits = rng.uniform(1.0, 6.0, objects)
        embeddings = rng.normal(size=(objects, reid_dim))
        self.embeddings = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
        self.reid_dim = reid_dim

    def centres(self, t: int) -> np.ndarray:
        """(objects, 2) centres in cells at frame ``t``, reflected at the borders."""
        low = np.stack([self.half_w, self.half_h], axis=1)
        high = np.array([self.grid[1], self.grid[0]], dtype=np.float64) - low
        span = high - low
        travelled = np.mod(self.start - low + self.velocity * t, 2 * span)
        return low + np.where(travelled > span, 2 * span - travelled, travelled)

    def heads(self, t: int, *, tied: bool = False) -> dict[str, torch.Tensor]:
        """The heads at frame ``t``; ``tied``: every person's peak logit 4 (equal scores)."""
        h_out, w_out = self.grid
        hm = torch.full((1, 1, h_out, w_out), -8.0)
        wh = torch.zeros((1, 4, h_out, w_out))
        reg = torch.zeros((1, 2, h_out, w_out))
        ids = torch.zeros((1, self.reid_dim, h_out, w_out))
        centres = self.centres(t)
        cells = np.floor(centres).astype(np.int64)
        xs, ys = torch.from_numpy(cells[:, 0]), torch.from_numpy(cells[:, 1])
        hm[0, 0, ys, xs] = 4.0 if tied else torch.from_numpy(self.logits).float()
        sizes = np.stack([self.half_w, self.half_h, self.half_w, self.half_h], axis=1)
        wh[0, :, ys, xs] = torch.from_numpy(sizes.T).float()
        reg[0, :, ys, xs] = torch.from_numpy((centres - cells).T).float()
        ids[0, :, ys, xs] = torch.from_numpy(self.embeddings.T).float()
        return {"hm": hm, "wh": wh, "id": ids, "reg": reg}


class ScriptedNetwork(torch.nn.Module):
    """Runs ``net``'s real forward pass, then returns the scene's head outputs of the next frame."""

    def __init__(self, net: torch.nn.Module, outputs: list[dict[str, torch.Tensor]]):
        super().__init__()
        self.net = net
        self.outputs = outputs
        self.frame = 0

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.net(images)
        out = self.outputs[self.frame % len(self.outputs)]
        self.frame += 1
        return {name: value.to(images.device) for name, value in out.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="dla_34", help="FairMOT's --arch (dla_34, dlaconv_34, resdcn_34, resdcn_50)")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--objects", type=int, default=100, help="people in the scripted scene")
    parser.add_argument("--repeats", type=int, default=5,
                        help="replays of the scripted heads for decoding and association")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--quick", action="store_true", help="the small network on small frames: seconds")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else default_device()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    if args.quick:
        arch, frames, objects, frame_size, input_size = "tiny", 6, 40, (640, 360), (320, 192)
        args.repeats = 2
        net = build_network("fairmot_tiny")
    else:
        arch, frames, objects, frame_size, input_size = args.arch, args.frames, args.objects, (1920, 1080), (1088, 608)
        net = build_fairmot(arch)
    net = net.to(device).eval()
    reid_dim = int(net.constructor["kwargs"]["reid_dim"])
    grid = (input_size[1] // 4, input_size[0] // 4)
    scene = ScriptedScene(objects, grid, reid_dim, rng)
    outputs = [scene.heads(t) for t in range(frames)]
    images = [rng.integers(0, 256, (frame_size[1], frame_size[0], 3), dtype=np.uint8) for _ in range(frames)]
    skip = 1 if frames > 2 else 0  # the first frame warms up caches and allocators: medians of the rest

    # The network alone, on the letterboxed frames.
    network_times = []
    with torch.inference_mode():
        for image in images:
            inputs = prepare_input(image, input_size).to(device)
            synchronize(device)
            start = time.perf_counter()
            net(inputs)
            synchronize(device)
            network_times.append(time.perf_counter() - start)

    # Decoding and association alone, on the scripted heads, replayed; the tied heads decoded in a
    # pass of their own after each replay (interleaved by replay, so that both see the same load;
    # not frame by frame: the tied decoding's torch top-K leaves torch's threads spinning a while,
    # which would slow the association that follows on two cores).
    params = default_parameters()
    tied_outputs = [scene.heads(t, tied=True) for t in range(frames)]
    decode_times, tied_times, association_times, both_times = [], [], [], []
    detections_per_frame = []
    for _ in range(max(1, args.repeats)):
        association = JDEAssociation(det_thresh=params.conf_thres, track_buffer=params.track_buffer)
        for index, heads in enumerate(outputs):
            heads = {name: value.to(device) for name, value in heads.items()}
            synchronize(device)
            start = time.perf_counter()
            found = decode_detections(heads, frame_size, input_size, conf_thres=params.conf_thres, k=params.K)
            decoded = time.perf_counter()
            association.update(association.detections_from(found.boxes, found.scores, found.embeddings))
            end = time.perf_counter()
            detections_per_frame.append(len(found))
            if index >= skip:
                decode_times.append(decoded - start)
                association_times.append(end - decoded)
                both_times.append(end - start)
        for index, tied in enumerate(tied_outputs):
            tied = {name: value.to(device) for name, value in tied.items()}
            synchronize(device)
            start = time.perf_counter()
            decode_detections(tied, frame_size, input_size, conf_thres=params.conf_thres, k=params.K)
            if index >= skip:
                tied_times.append(time.perf_counter() - start)

    # The association's Kalman filter, in one more replay: the methods of this association's own
    # filter object wrapped (nothing global is replaced).
    found_frames = [decode_detections({name: value.to(device) for name, value in heads.items()}, frame_size,
                                      input_size, conf_thres=params.conf_thres, k=params.K) for heads in outputs]
    kalman_seconds = [0.0]

    def timed(method):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                kalman_seconds[0] += time.perf_counter() - start
        return run

    kalman_times = []
    for _ in range(max(1, args.repeats)):
        association = JDEAssociation(det_thresh=params.conf_thres, track_buffer=params.track_buffer)
        for name in ("initiate", "predict", "project", "update_projected", "gating_distance_of_pairs"):
            setattr(association.kalman, name, timed(getattr(association.kalman, name)))
        for index, found in enumerate(found_frames):
            kalman_seconds[0] = 0.0
            association.update(association.detections_from(found.boxes, found.scores, found.embeddings))
            if index >= skip:
                kalman_times.append(kalman_seconds[0])

    # The whole tracker.
    params.input_size = input_size
    tracker = FairMOTTracker(params, network=ScriptedNetwork(net, outputs), device=device)
    tracker_times, output_tracks = [], []
    with torch.inference_mode():
        for index, image in enumerate(images):
            synchronize(device)
            start = time.perf_counter()
            out = tracker.initialize(image, {}) if index == 0 else tracker.track(image, {})
            synchronize(device)
            tracker_times.append(time.perf_counter() - start)
            output_tracks.append(len(out["tracks"]))

    network_s = statistics.median(network_times[skip:])
    tracker_s = statistics.median(tracker_times[skip:])
    figures = {
        "device": str(device), "quick": args.quick, "arch": arch, "frames": frames, "repeats": max(1, args.repeats),
        "frame_size": list(frame_size), "input_size": list(input_size), "objects": objects,
        "detections_per_frame": round(float(np.mean(detections_per_frame)), 2),
        "tracks_per_frame": round(float(np.mean(output_tracks[skip:])), 2),
        "network_ms": round(network_s * 1000, 2), "decode_ms": median_ms(decode_times),
        "decode_tied_ms": median_ms(tied_times), "association_ms": median_ms(association_times),
        "association_kalman_ms": median_ms(kalman_times),
        "decode_association_ms": median_ms(both_times),
        "tracker_ms": round(tracker_s * 1000, 2), "tracker_over_network": round(tracker_s / network_s, 3),
        "network_fps": round(1.0 / network_s, 2), "tracker_fps": round(1.0 / tracker_s, 2),
    }
    print(f"{frames} frames of {frame_size[0]}x{frame_size[1]}, input {input_size[0]}x{input_size[1]}, {arch}, "
          f"{figures['detections_per_frame']:.0f} detections and {figures['tracks_per_frame']:.0f} tracks a frame, "
          f"on {device}")
    print(f"network alone:             {figures['network_ms']:9.2f} ms/frame ({figures['network_fps']:.2f} fps)")
    print(f"decoding:                  {figures['decode_ms']:9.3f} ms/frame "
          f"({figures['decode_tied_ms']:.3f} with all scores tied)")
    print(f"association:               {figures['association_ms']:9.3f} ms/frame "
          f"(of which the Kalman filter about {figures['association_kalman_ms']:.3f})")
    print(f"decoding + association:    {figures['decode_association_ms']:9.3f} ms/frame")
    print(f"FairMOT (whole tracker):   {figures['tracker_ms']:9.2f} ms/frame ({figures['tracker_fps']:.2f} fps), "
          f"{figures['tracker_over_network']:.3f}x the network")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
