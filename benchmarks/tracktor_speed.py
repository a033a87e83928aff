"""Speed of Tracktor with the published networks (Faster R-CNN R50-FPN, ReID ResNet-50) at the
published input size on a generated 1088x608 sequence, measured side by side in one run:

- the detector's forward pass alone (backbone + FPN + RPN + box head with the test settings:
  what a detector-only method pays per frame),
- the full tracker per frame, and the ratio of the two, as published and with ``fast_reid``
  (the ReID network with BatchNorm folded and channels-last convolutions),
- the tracker's time split: the detector's features, box regression of the tracks (and of the
  public detections), ReID embeddings, camera-motion compensation (ECC), and the rest.

The weights are random (speed does not depend on them), with the box head set to keep every
box as it is and score it as a pedestrian, so that tracks live as long as their people: the
tracker runs on the sequence's public detections (``det/det.txt``, 10 to 30 people a frame)
and its load is that of a trained detector following them, every frame (regression, ReID of
every box, ECC). Frames are decoded before timing.

    python benchmarks/tracktor_speed.py [--frames 30] [--device cpu|cuda] [--quick]

``--quick`` runs the small synthetic networks on 4 small frames (256x160, 4 to 6 people, input
scale 192) in seconds. The sequence is generated into a temporary folder. Ends with one line
holding a JSON object:

- ``quick``: whether ``--quick`` ran; ``device``; ``frames``: frames run; ``size``: their
  [width, height]; ``input_size``: the detector's test scale; ``tracks_per_frame``: the tracker's
  mean output;
- ``detector_ms``: the detector alone, median milliseconds a frame (the first frame left out);
- ``tracker_ms``, ``tracker_frames_per_s``, ``tracker_over_detector``: the tracker as published,
  median milliseconds a frame, frames a second, and its ratio to the detector alone;
  ``shares``: its time split (``features``, ``regression``, ``reid``, ``cmc``, ``rest``: shares
  of the tracker's total time, summing to 1);
- ``fast_reid_tracker_ms``, ``fast_reid_tracker_frames_per_s``,
  ``fast_reid_tracker_over_detector``, ``fast_reid_shares``: the same with ``fast_reid``.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from ltr.data.image_loader import imread
from ltr.dataset.synthetic.mot import MotConfig
from ltr.dataset.synthetic.mot_generate import generate_mot_dataset
from ltr.models.registry import build_network
from pytracking.evaluation.motdatasets import synthetic_mot
from pytracking.features.net_wrappers import default_device
from pytracking.parameter.tracktor.public import parameters as public_parameters
from pytracking.tracker.tracktor.networks import default_prepare_images, fast_inference_copy
from pytracking.tracker.tracktor.tracker import TracktorTracker

JSON_FIELDS: tuple[str, ...] = (
    "device", "quick", "frames", "size", "input_size", "tracks_per_frame", "detector_ms", "tracker_ms",
    "tracker_over_detector", "tracker_frames_per_s", "shares", "fast_reid_tracker_ms",
    "fast_reid_tracker_over_detector", "fast_reid_tracker_frames_per_s", "fast_reid_shares")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def keep_every_box(detector: torch.nn.Module) -> None:
    """Box head: zero regression deltas and a pedestrian logit far above the background's."""
    predictor = detector.roi_heads.box_predictor
    with torch.no_grad():
        for layer in (predictor.cls_score, predictor.bbox_pred):
            layer.weight.zero_()
            layer.bias.zero_()
        predictor.cls_score.bias[0] = 10.0  # class 0: pedestrian (background is last)


class Timed:
    """Wraps a callable, adding its wall time (device synchronised) to ``totals[name]``."""

    def __init__(self, function, name: str, totals: dict, device: torch.device):
        self.function, self.name, self.totals, self.device = function, name, totals, device

    def __call__(self, *args, **kwargs):
        synchronize(self.device)
        start = time.perf_counter()
        out = self.function(*args, **kwargs)
        synchronize(self.device)
        self.totals[self.name] += time.perf_counter() - start
        return out


def generate(folder: Path, frames: int, width: int, height: int, **people: int) -> tuple[list[np.ndarray], list[dict]]:
    """One sequence's decoded frames and frame infos (``people``: MotConfig's min_objects and
    max_objects, where not its defaults)."""
    config = MotConfig(width=width, height=height, frames=frames, p_camera_motion=1.0, **people)
    generate_mot_dataset(folder, seed=3, train=0, val=1, config=config, workers=1)
    sequence = synthetic_mot(folder, split="val")[0]
    images = [imread(path) for path in sequence.frames]
    infos = [sequence.init_info()] + [sequence.frame_info(i) for i in range(1, len(sequence.frames))]
    return images, infos


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--quick", action="store_true", help="small networks and frames: seconds")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else default_device()
    torch.manual_seed(0)
    if args.quick:
        frames, width, height, people = 4, 256, 160, {"min_objects": 4, "max_objects": 6}
        detector = build_network("faster_rcnn_tiny", test_scale=(192, 192))
        reid = build_network("reid_tiny")
    else:
        frames, width, height, people = args.frames, 1088, 608, {}
        detector = build_network("faster_rcnn_r50_fpn", num_classes=1)
        reid = build_network("reid_r50")
    keep_every_box(detector)
    detector = detector.to(device).eval()
    reid = reid.to(device).eval()
    with tempfile.TemporaryDirectory() as folder:
        images, infos = generate(Path(folder), frames, width, height, **people)
    prepare_images = default_prepare_images()

    # The detector alone, on the same frames.
    detector_times = []
    with torch.inference_mode():
        for image in images:
            synchronize(device)
            start = time.perf_counter()
            inputs = prepare_images([image], scale=tuple(detector.test_scale), mean=tuple(detector.normalize_mean),
                                    std=tuple(detector.normalize_std), device=device)
            detector.detect(detector.extract_features(inputs.batch), inputs.image_sizes)
            synchronize(device)
            detector_times.append(time.perf_counter() - start)

    def track(reid_net: torch.nn.Module) -> tuple[float, dict[str, float], float]:
        """The tracker over the frames, its parts timed through wrappers on the instances it
        calls: (median seconds per frame, share of each part, tracks per frame)."""
        totals: dict[str, float] = defaultdict(float)
        detector_copy = copy.copy(detector)  # wrappers go on a shallow copy: the detector stays clean
        tracker = TracktorTracker(public_parameters(), detector=detector_copy, reid=reid_net,
                                  prepare_images=prepare_images, device=device)
        detector_copy.extract_features = Timed(detector.extract_features, "features", totals, device)
        detector_copy.regress_boxes = Timed(detector.regress_boxes, "regression", totals, device)
        reid_copy = copy.copy(reid_net)
        reid_copy.embed_boxes = Timed(reid_net.embed_boxes, "reid", totals, device)
        tracker.reid = reid_copy
        tracker.cmc.warp_matrix = Timed(tracker.cmc.warp_matrix, "cmc", totals, device)
        times, boxes_out = [], 0
        for index, (image, info) in enumerate(zip(images, infos)):
            synchronize(device)
            start = time.perf_counter()
            out = tracker.initialize(image, info) if index == 0 else tracker.track(image, info)
            synchronize(device)
            times.append(time.perf_counter() - start)
            boxes_out += len(out["tracks"])
        shares = {name: totals[name] / sum(times) for name in ("features", "regression", "reid", "cmc")}
        shares["rest"] = 1.0 - sum(shares.values())
        return statistics.median(times[skip:]), shares, boxes_out / len(images)

    # The first frames warm up caches and allocators: medians of the rest.
    skip = 1 if len(images) > 2 else 0
    detector_s = statistics.median(detector_times[skip:])
    tracker_s, shares, tracks_per_frame = track(reid)
    fast_s, fast_shares, _ = track(fast_inference_copy(reid))
    figures = {
        "device": str(device), "quick": args.quick, "frames": len(images), "size": [width, height],
        "input_size": list(detector.test_scale), "tracks_per_frame": tracks_per_frame,
        "detector_ms": round(detector_s * 1000, 2), "tracker_ms": round(tracker_s * 1000, 2),
        "tracker_over_detector": round(tracker_s / detector_s, 3), "tracker_frames_per_s": round(1.0 / tracker_s, 3),
        "shares": {name: round(value, 4) for name, value in shares.items()},
        "fast_reid_tracker_ms": round(fast_s * 1000, 2),
        "fast_reid_tracker_over_detector": round(fast_s / detector_s, 3),
        "fast_reid_tracker_frames_per_s": round(1.0 / fast_s, 3),
        "fast_reid_shares": {name: round(value, 4) for name, value in fast_shares.items()},
    }
    print(f"{len(images)} frames of {width}x{height}, {tracks_per_frame:.1f} tracks a frame, on {device}")
    print(f"detector alone (features + RPN + box head):  {figures['detector_ms']:8.1f} ms/frame")
    print(f"Tracktor (public detections, ReID, ECC):     {figures['tracker_ms']:8.1f} ms/frame "
          f"({figures['tracker_frames_per_s']:.2f} fps), {figures['tracker_over_detector']:.2f}x the detector")
    print("  time: " + ", ".join(f"{name} {100 * value:.1f}%" for name, value in shares.items()))
    print(f"Tracktor with fast_reid (BatchNorm folded, channels-last): {figures['fast_reid_tracker_ms']:8.1f} ms/frame "
          f"({figures['fast_reid_tracker_frames_per_s']:.2f} fps), "
          f"{figures['fast_reid_tracker_over_detector']:.2f}x the detector")
    print("  time: " + ", ".join(f"{name} {100 * value:.1f}%" for name, value in fast_shares.items()))
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
