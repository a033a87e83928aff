"""Speed of ATOM (ResNet-18, 288x288 samples) on a generated 640x480 sequence, with the published
settings (``default``) and with this toolkit's improvements (``improved``) side by side: the
initialisation time, the steady-state frames per second, the backbone's forward pass alone at
the same sample size, the ratio of tracker time per frame to backbone time, and where a frame's
time goes. Frames are decoded before timing; the weights are random (speed does not depend on
them). Random weights make ATOM see distractors everywhere, so localisation is set to accept
every peak (no not-found, hard-negative or uncertain frames): every frame then takes the path of
a trained network that finds its target (IoU-Net refinement, a sample added to the memory, 5
conjugate-gradient steps every 10th frame), without the extra updates after hard negatives.

Each parameter file is measured in float32 and in bfloat16 autocast (``params.amp``; much faster
on CPUs with AMX and on GPUs, much slower on CPUs without bfloat16 instructions). The network
runs with the parameter file's ``fold_batch_norm`` and ``channels_last`` (off in ``default``,
whose arithmetic is the published tracker's). The variants are measured interleaved: every
frame is tracked by each variant in turn, and the backbone's repeats alternate between them.

Targets (the issue's): 25 frames/s on 2 CPU cores (100 on an H100), and a frame at most 2x the
backbone's forward pass alone.

    python benchmarks/tracking_speed.py [--frames 100] [--device cpu|cuda] [--param default improved]
                                        [--amp bfloat16 ...] [--quick]

``--quick``: the tiny network (``atom_resnet_tiny``), 96x96 samples, a short first-frame
optimisation, conjugate gradient every 2nd frame and 6 frames of 160x120, every parameter file
and precision: seconds.

The last stdout line is a JSON object with the keys of :data:`JSON_FIELDS`:

- ``device``, ``threads`` (torch's CPU threads), ``quick`` (bool), ``network`` ("resnet18" or
  "tiny"), ``sample_size`` (pixels), ``frame_size`` ([width, height]), ``frames`` (in the
  sequence), ``params`` and ``precisions`` (the variants measured);
- ``runs``: ``{param: {precision: row}}``, each row with ``init_s``, ``frames_per_second``,
  ``ms_per_frame`` (mean over the steady frames, which include the conjugate-gradient frames),
  ``backbone_ms`` (median), ``frame_over_backbone``, ``frame_over_backbone_in_frame`` (the
  frame over the backbone's time within the frames, the ``backbone`` part of ``split_ms``: the
  same ratio with both measured under the same conditions; on a shared machine the backbone's
  separate repeats and the frames can meet different loads), ``flags`` (localisation flags counted),
  ``split_ms`` (ms per frame of each part of :data:`PARTS`), ``split_shares`` (the same as
  fractions of the frame), and ``over_base`` (frames per second relative to the first
  parameter file in float32);
- ``frames_per_second``, ``ms_per_frame``, ``backbone_ms``, ``frame_over_backbone``,
  ``frame_over_backbone_in_frame``, ``split_shares``: those of the first parameter file in float32 (the published tracker);
- ``targets``: ``{"frames_per_second": 25, "frame_over_backbone": 2.0}``.
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
from ltr.models.tracking.atom import atom_resnet18, atom_resnet_tiny
from pytracking.evaluation import get_dataset
from pytracking.features.net_wrappers import NetWrapper, default_device
from pytracking.tracker.atom import atom as atom_module
from pytracking.tracker.atom.atom import ATOM
from pytracking.tracker.atom.network import AtomNetWrapper

JSON_FIELDS: tuple[str, ...] = (
    "device", "threads", "quick", "network", "sample_size", "frame_size", "frames", "params", "precisions",
    "runs", "frames_per_second", "ms_per_frame", "backbone_ms", "frame_over_backbone", "frame_over_backbone_in_frame",
    "split_shares", "targets")

TARGETS = {"frames_per_second": 25, "frame_over_backbone": 2.0}

# The parts of a frame, and the calls each is timed on ("other": the rest of the frame: state
# updates, candidate boxes, labels, Python).
PARTS = ("crop", "backbone", "feature_projection", "classifier_scores", "localisation", "iou_features",
         "iou_forward", "iou_backward", "memory_update", "cg_optimisation", "other")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def parameters(name: str):
    return importlib.import_module(f"pytracking.parameter.atom.{name}").parameters()


class PartTimer:
    """Wall time per part of a frame, from wrappers set on the tracker's own objects (instance
    attributes) and, for the localisation functions, on the tracker module for the time of a
    frame only (:meth:`frame` restores them)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds = {part: 0.0 for part in PARTS}

    def _wrap(self, owner, name: str, part: str) -> None:
        function = getattr(owner, name)

        def timed(*args, **kwargs):
            synchronize(self.device)
            start = time.perf_counter()
            result = function(*args, **kwargs)
            synchronize(self.device)
            self.seconds[part] += time.perf_counter() - start
            return result

        setattr(owner, name, timed)

    def attach(self, tracker: ATOM) -> None:
        """Wrap the calls of ``tracker`` (after its initialisation: the classifier is built there)."""
        for owner, name, part in ((tracker, "_patches", "crop"), (tracker.net, "extract_backbone", "backbone"),
                                  (tracker.classifier, "project", "feature_projection"),
                                  (tracker.classifier, "scores", "classifier_scores"),
                                  (tracker.net, "iou_features", "iou_features"),
                                  (tracker.net, "modulated_iou_features", "iou_features"),
                                  (tracker.net, "iou_feature_cells", "iou_features"),
                                  (tracker.net, "iou_head_forward", "iou_forward"),
                                  (tracker.net, "iou_head_backward", "iou_backward"),
                                  (tracker.classifier, "update", "memory_update"),
                                  (tracker.classifier, "optimize", "cg_optimisation")):
            self._wrap(owner, name, part)

    def detach(self, tracker: ATOM) -> None:
        for owner in (tracker, tracker.net, tracker.classifier):
            for name in ("_patches", "extract_backbone", "project", "scores", "iou_features",
                         "modulated_iou_features", "iou_feature_cells", "iou_head_forward", "iou_head_backward", "update", "optimize"):
                owner.__dict__.pop(name, None)

    def frame(self, tracker: ATOM, image) -> dict:
        """``tracker.track(image)`` with the localisation functions timed too."""
        saved = {name: getattr(atom_module, name) for name in ("interpolate_scores", "localize")}
        try:
            for name in saved:
                self._wrap(atom_module, name, "localisation")
            return tracker.track(image)
        finally:
            for name, function in saved.items():
                setattr(atom_module, name, function)


class Run:
    """One variant (parameter file, precision): its tracker, network and timings."""

    def __init__(self, param: str, precision: str, device: torch.device, quick: bool, sequence):
        self.param, self.precision, self.device = param, precision, device
        torch.manual_seed(0)
        params = parameters(param)
        amp = None if precision == "float32" else precision
        net = atom_resnet_tiny() if quick else atom_resnet18(backbone_pretrained=False)
        self.network = AtomNetWrapper.from_network(net, device=device, amp=amp,
                                                   fold_batch_norm=params.fold_batch_norm,
                                                   channels_last=params.channels_last)
        params.device = str(device)
        params.advanced_localization = False
        params.target_not_found_threshold = float("-inf")
        if quick:
            params.image_sample_size, params.compressed_dim = 6 * 16, 16
            params.init_CG_iter, params.init_GN_iter = 4, 1
            params.train_skipping = 2  # the conjugate-gradient frames within a few frames
        self.params = params
        self.sequence = sequence
        self.tracker = ATOM(params, network=self.network)
        self.timer = PartTimer(device)
        self.frame_seconds: list[float] = []
        self.backbone_seconds: list[float] = []
        self.flags: dict[str, int] = {}
        self.init_seconds = 0.0

    def initialize(self, frame) -> None:
        synchronize(self.device)
        start = time.perf_counter()
        self.tracker.initialize(frame, self.sequence.init_info())
        synchronize(self.device)
        self.init_seconds = time.perf_counter() - start

    def track(self, frame, measured: bool) -> None:
        if measured:
            self.timer.attach(self.tracker)
        try:
            synchronize(self.device)
            start = time.perf_counter()
            out = self.timer.frame(self.tracker, frame) if measured else self.tracker.track(frame)
            synchronize(self.device)
            seconds = time.perf_counter() - start
        finally:
            if measured:
                self.timer.detach(self.tracker)
        if measured:
            self.frame_seconds.append(seconds)
            self.flags[out["flag"]] = self.flags.get(out["flag"], 0) + 1

    def backbone(self, patch: torch.Tensor) -> None:
        synchronize(self.device)
        start = time.perf_counter()
        self.network.extract_backbone(patch, self.tracker.layers)
        synchronize(self.device)
        self.backbone_seconds.append(time.perf_counter() - start)

    def row(self) -> dict:
        frames = len(self.frame_seconds)
        per_frame = sum(self.frame_seconds) / frames
        backbone = statistics.median(self.backbone_seconds)
        split = {part: seconds / frames for part, seconds in self.timer.seconds.items()}
        split["other"] = max(per_frame - sum(v for k, v in split.items() if k != "other"), 0.0)
        return {"init_s": round(self.init_seconds, 3), "frames_per_second": round(1.0 / per_frame, 2),
                "ms_per_frame": round(1000 * per_frame, 2), "backbone_ms": round(1000 * backbone, 2),
                "frame_over_backbone": round(per_frame / backbone, 2),
                "frame_over_backbone_in_frame": round(per_frame / split["backbone"], 2) if split.get("backbone") else None,
                "flags": dict(self.flags),
                "split_ms": {part: round(1000 * seconds, 2) for part, seconds in split.items()},
                "split_shares": {part: round(seconds / per_frame, 3) for part, seconds in split.items()}}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--param", nargs="+", default=["default", "improved"],
                        help="parameter files of pytracking/parameter/atom (default: default improved)")
    parser.add_argument("--amp", nargs="*", default=["bfloat16"], choices=["bfloat16", "float16"],
                        help="reduced precisions to measure besides float32 (default: bfloat16)")
    parser.add_argument("--backbone-repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true",
                        help="the tiny network, 96x96 samples, a few 160x120 frames: seconds")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else default_device()
    if args.quick:
        frame_count, (width, height), repeats, warm_up = 6, (160, 120), 3, 1
    else:
        frame_count, (width, height), repeats, warm_up = args.frames, (640, 480), args.backbone_repeats, 10
    if frame_count < warm_up + 3:
        parser.error(f"--frames must be at least {warm_up + 3}")

    with tempfile.TemporaryDirectory() as folder:
        generate_dataset(Path(folder), seed=0, train=0, val=1,
                         config=SceneConfig(width=width, height=height, frames=frame_count))
        sequence = get_dataset("synthetic", root=folder)[0]
        frames = [imread(path) for path in sequence.frames]

    precisions = ["float32", *args.amp]
    runs = [Run(param, precision, device, args.quick, sequence) for param in args.param for precision in precisions]
    sample_size = int(runs[0].params.image_sample_size)
    # Interleaved: a warm-up pass (allocations, kernel selection; not with --quick), then the
    # measured pass, each frame tracked by every variant in turn; the first frames of the measured
    # pass are not counted.
    for run in runs:
        run.initialize(frames[0])
    if not args.quick:
        for frame in frames[1:1 + warm_up]:
            for run in runs:
                run.track(frame, measured=False)
        for run in runs:
            run.initialize(frames[0])
    for index, frame in enumerate(frames[1:]):
        for run in runs:
            run.track(frame, measured=index >= warm_up)
    patches = {}
    for run in runs:
        size = int(run.params.image_sample_size)
        patches[size] = patches.get(size, torch.rand(1, 3, size, size, device=device) * 255)
        for _ in range(2):
            run.network.extract_backbone(patches[size], run.tracker.layers)
    for _ in range(repeats):
        for run in runs:
            run.backbone(patches[int(run.params.image_sample_size)])

    table = {param: {} for param in args.param}
    for run in runs:
        table[run.param][run.precision] = run.row()
    base = table[args.param[0]]["float32"]
    for run in runs:
        row = table[run.param][run.precision]
        row["over_base"] = round(row["frames_per_second"] / base["frames_per_second"], 2)

    figures = {"device": str(device), "threads": torch.get_num_threads(), "quick": args.quick,
               "network": "tiny" if args.quick else "resnet18", "sample_size": sample_size,
               "frame_size": [width, height], "frames": len(frames), "params": list(args.param),
               "precisions": precisions, "runs": table,
               **{key: base[key] for key in ("frames_per_second", "ms_per_frame", "backbone_ms",
                                             "frame_over_backbone", "frame_over_backbone_in_frame",
                                             "split_shares")},
               "targets": dict(TARGETS)}

    print(f"ATOM ({figures['network']}) on a generated {width}x{height} sequence ({len(frames)} frames), {device}, "
          f"{torch.get_num_threads()} threads; targets: {TARGETS['frames_per_second']} frames/s on 2 CPU cores "
          f"(100 on an H100), a frame at most {TARGETS['frame_over_backbone']:g}x the backbone")
    print(f"{'param':<12}{'precision':<10}{'init (s)':>10}{'frames/s':>10}{'ms/frame':>10}{'backbone ms':>13}"
          f"{'frame/backbone':>16}{'(in frame)':>11}{'vs base':>9}")
    for param in args.param:
        for precision in precisions:
            row = table[param][precision]
            print(f"{param:<12}{precision:<10}{row['init_s']:>10.3f}{row['frames_per_second']:>10.2f}"
                  f"{row['ms_per_frame']:>10.2f}{row['backbone_ms']:>13.2f}{row['frame_over_backbone']:>16.2f}"
                  f"{row['frame_over_backbone_in_frame'] or float('nan'):>11.2f}{row['over_base']:>9.2f}")
    print("time per frame by part (ms, share):")
    print(f"{'part':<20}" + "".join(f"{param + ' ' + precision:>24}" for param in args.param for precision in precisions))
    for part in PARTS:
        print(f"{part:<20}" + "".join(
            f"{table[p][q]['split_ms'][part]:>14.2f} ({100 * table[p][q]['split_shares'][part]:4.1f}%)"
            for p in args.param for q in precisions))
    print(f"localisation flags ({args.param[0]}, float32): {base['flags']}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
