"""Speed of ATOM ``default`` (ResNet-18, 288x288 samples) on a generated 640x480 sequence: the
initialisation time, the steady-state frames per second, and the backbone's forward pass alone
at the same sample size, measured in the same run, with the ratio of tracker time per frame to
backbone time. Frames are decoded before timing; the weights are random (speed does not depend
on them). Random weights make ATOM see distractors everywhere, so localisation is set to accept
every peak (no not-found, hard-negative or uncertain frames): every frame then takes the path of
a trained network that finds its target (IoU-Net refinement, a sample added to the memory, 5
conjugate-gradient steps every 10th frame), without the extra updates after hard negatives.

    python benchmarks/tracking_speed.py [--frames 100] [--device cpu|cuda] [--param default]
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from ltr.data.image_loader import imread
from ltr.dataset.synthetic import SceneConfig, generate_dataset
from ltr.models.tracking.atom import atom_resnet18
from pytracking.evaluation import get_dataset
from pytracking.features.net_wrappers import NetWrapper, default_device
from pytracking.tracker.atom.atom import ATOM


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def backbone_seconds(network: NetWrapper, layers, size: int, device: torch.device, repeats: int = 30) -> float:
    patch = torch.rand(1, 3, size, size, device=device) * 255
    for _ in range(5):
        network.extract_backbone(patch, layers)
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        network.extract_backbone(patch, layers)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--param", default="default", help="parameter file of pytracking/parameter/atom")
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else default_device()

    with tempfile.TemporaryDirectory() as folder:
        generate_dataset(Path(folder), seed=0, train=0, val=1, config=SceneConfig(width=640, height=480,
                                                                                   frames=args.frames))
        sequence = get_dataset("synthetic", root=folder)[0]
        frames = [imread(path) for path in sequence.frames]

    torch.manual_seed(0)
    network = NetWrapper.from_network(atom_resnet18(backbone_pretrained=False), device=device)
    params = importlib.import_module(f"pytracking.parameter.atom.{args.param}").parameters()
    params.device = str(device)
    params.advanced_localization = False
    params.target_not_found_threshold = float("-inf")
    tracker = ATOM(params, network=network)

    # Warm-up on a first run (allocations, kernel selection), then the measured run.
    tracker.initialize(frames[0], sequence.init_info())
    for frame in frames[1:6]:
        tracker.track(frame)
    synchronize(device)
    start = time.perf_counter()
    tracker.initialize(frames[0], sequence.init_info())
    synchronize(device)
    init_seconds = time.perf_counter() - start
    times, flags = [], {}
    for frame in frames[1:]:
        start = time.perf_counter()
        flag = tracker.track(frame)["flag"]
        synchronize(device)
        times.append(time.perf_counter() - start)
        flags[flag] = flags.get(flag, 0) + 1
    steady = times[10:] if len(times) > 20 else times
    per_frame = sum(steady) / len(steady)
    backbone = backbone_seconds(network, tracker.layers, int(params.image_sample_size), device)

    figures = {
        "device": str(device), "threads": torch.get_num_threads(), "param": args.param,
        "sample_size": int(params.image_sample_size), "frames": len(frames),
        "init_s": round(init_seconds, 3), "frames_per_second": round(1.0 / per_frame, 1),
        "ms_per_frame": round(1000 * per_frame, 2), "backbone_ms": round(1000 * backbone, 2),
        "frame_over_backbone": round(per_frame / backbone, 2), "flags": flags,
    }
    print(f"ATOM {args.param} on a generated 640x480 sequence ({len(frames)} frames), {device}, "
          f"{torch.get_num_threads()} threads")
    print(f"initialisation          {figures['init_s']:8.3f} s")
    print(f"tracking                {figures['frames_per_second']:8.1f} frames/s ({figures['ms_per_frame']} ms per frame;"
          f" target 25 frames/s on 2 CPU cores, 100 on an H100)")
    print(f"backbone alone          {figures['backbone_ms']:8.2f} ms at {params.image_sample_size}x"
          f"{params.image_sample_size}")
    print(f"localisation flags      {flags}")
    print(f"frame / backbone        {figures['frame_over_backbone']:8.2f} (target at most 1.5)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
