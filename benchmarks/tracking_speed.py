"""Speed of ATOM (ResNet-18, 288x288 samples) on a generated 640x480 sequence, with the published
settings (``default``) and with this toolkit's improvements (``improved``) side by side: the
initialisation time, the steady-state frames per second, and the backbone's forward pass alone
at the same sample size, measured in the same run, with the ratio of tracker time per frame to
backbone time. Frames are decoded before timing; the weights are random (speed does not depend
on them). Random weights make ATOM see distractors everywhere, so localisation is set to accept
every peak (no not-found, hard-negative or uncertain frames): every frame then takes the path of
a trained network that finds its target (IoU-Net refinement, a sample added to the memory, 5
conjugate-gradient steps every 10th frame), without the extra updates after hard negatives.

Each parameter file is measured in float32 and in bfloat16 autocast (``params.amp``; much faster
on CPUs with AMX and on GPUs). The network runs with the parameter file's ``fold_batch_norm``
and ``channels_last`` (off in ``default``, whose arithmetic is the published tracker's).

    python benchmarks/tracking_speed.py [--frames 100] [--device cpu|cuda] [--param default improved]
                                        [--amp bfloat16 ...]
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
from pytracking.tracker.atom.network import AtomNetWrapper


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


def parameters(name: str):
    return importlib.import_module(f"pytracking.parameter.atom.{name}").parameters()


def measure(frames, sequence, param: str, device: torch.device, amp: str | None) -> dict:
    """Initialisation, steady-state speed and backbone time of one ATOM run of parameter file
    ``param`` in precision ``amp``."""
    torch.manual_seed(0)
    params = parameters(param)
    network = AtomNetWrapper.from_network(atom_resnet18(backbone_pretrained=False), device=device, amp=amp,
                                          fold_batch_norm=params.fold_batch_norm, channels_last=params.channels_last)
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
    return {"init_s": round(init_seconds, 3), "frames_per_second": round(1.0 / per_frame, 1),
            "ms_per_frame": round(1000 * per_frame, 2), "backbone_ms": round(1000 * backbone, 2),
            "frame_over_backbone": round(per_frame / backbone, 2), "flags": flags}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--param", nargs="+", default=["default", "improved"],
                        help="parameter files of pytracking/parameter/atom (default: default improved)")
    parser.add_argument("--amp", nargs="*", default=["bfloat16"], choices=["bfloat16", "float16"],
                        help="reduced precisions to measure besides float32 (default: bfloat16)")
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else default_device()

    with tempfile.TemporaryDirectory() as folder:
        generate_dataset(Path(folder), seed=0, train=0, val=1, config=SceneConfig(width=640, height=480,
                                                                                   frames=args.frames))
        sequence = get_dataset("synthetic", root=folder)[0]
        frames = [imread(path) for path in sequence.frames]

    sample_size = int(parameters(args.param[0]).image_sample_size)
    figures = {"device": str(device), "threads": torch.get_num_threads(), "sample_size": sample_size,
               "frames": len(frames)}
    precisions = ["float32", *args.amp]
    for param in args.param:
        figures[param] = {precision: measure(frames, sequence, param, device,
                                             None if precision == "float32" else precision)
                          for precision in precisions}
    print(f"ATOM on a generated 640x480 sequence ({len(frames)} frames), {device}, {torch.get_num_threads()} "
          f"threads; targets: 25 frames/s on 2 CPU cores (100 on an H100), a frame at most 1.5x the backbone")
    print(f"{'param':<12}{'precision':<10}{'init (s)':>10}{'frames/s':>10}{'ms/frame':>10}{'backbone ms':>13}"
          f"{'frame/backbone':>16}")
    for param in args.param:
        for precision in precisions:
            row = figures[param][precision]
            print(f"{param:<12}{precision:<10}{row['init_s']:>10.3f}{row['frames_per_second']:>10.1f}"
                  f"{row['ms_per_frame']:>10.2f}{row['backbone_ms']:>13.2f}{row['frame_over_backbone']:>16.2f}")
    base = figures[args.param[0]]["float32"]["frames_per_second"]
    for param in args.param:
        for precision in precisions:
            if (param, precision) == (args.param[0], "float32"):
                continue
            ratio = round(figures[param][precision]["frames_per_second"] / base, 2)
            figures[param][f"{precision}_over_{args.param[0]}_float32"] = ratio
            print(f"{param} {precision} tracks {ratio}x as fast as {args.param[0]} float32")
    print(f"localisation flags ({args.param[0]}, float32): {figures[args.param[0]]['float32']['flags']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
