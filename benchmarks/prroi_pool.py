"""Forward plus backward of Precise RoI Pooling at ATOM's shapes, for the compiled op, the
PyTorch reference and torchvision's roi_align (sampling ratio 2) on the same shapes, side by side.

    python benchmarks/prroi_pool.py [--device cpu|cuda] [--repeats N] [--quick]

Training: 64 image pairs x 16 proposals = 1024 rois on a (64, 128, 36, 36) map with 5x5 bins at
1/8 and on a (64, 256, 18, 18) map with 3x3 bins at 1/16. Tracking: 10 rois on one image.
PrRoIPool's backward yields gradients for the features and the boxes; roi_align's only for the
features (it has none for boxes). Target: compiled CPU training time at most 1.5x roi_align's.
``--quick`` times the same two levels with 2 image pairs in training, one warm-up and 2 timed
steps: seconds.

Ends with one line holding a JSON object:

- ``quick``: whether ``--quick`` ran; ``device``; ``threads``: torch's CPU threads;
  ``compiled``: whether the compiled op is built for the device (when not, its two figures in
  each setting are null);
- for ``setting`` in training, tracking and ``method`` in roi_align, torch (the PyTorch
  reference), compiled: ``{setting}_{method}_ms``, the median milliseconds of one forward and
  backward through both levels, and ``{setting}_{method}_over_roi_align``, its ratio to
  roi_align's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torchvision.ops import roi_align

from external.PreciseRoIPooling import compiled_available, prroi_pool2d
from ltr.data.boxes import xywh_to_xyxy

LEVELS = ((128, 36, 5, 1 / 8), (256, 18, 3, 1 / 16))  # channels, map size, bins, scale
IMAGE_SIZE = 288
METHODS = ("roi_align", "torch", "compiled")
SETTINGS = ("training", "tracking")
JSON_FIELDS: tuple[str, ...] = (
    "quick", "device", "threads", "compiled",
    *(f"{setting}_{method}_{unit}" for setting in SETTINGS for method in METHODS for unit in ("ms", "over_roi_align")))


def make_inputs(images: int, rois_per_image: int, device: str, generator: torch.Generator):
    """Feature maps of both levels and rois of 20..200 px boxes inside a 288 px image."""
    maps = [torch.randn(images, channels, size, size, generator=generator).to(device)
            for channels, size, _, _ in LEVELS]
    count = images * rois_per_image
    sizes = torch.rand(count, 2, generator=generator) * 180 + 20
    corners = torch.rand(count, 2, generator=generator) * (IMAGE_SIZE - sizes)
    index = torch.arange(images).repeat_interleave(rois_per_image).float()[:, None]
    rois = torch.cat([index, xywh_to_xyxy(torch.cat([corners, sizes], 1))], 1).to(device)
    return maps, rois


def step(method: str, maps, rois) -> None:
    """One forward and backward through both levels."""
    maps = [m.detach().requires_grad_(True) for m in maps]
    rois = rois.detach().requires_grad_(method != "roi_align")
    total = 0
    for features, (_, _, bins, scale) in zip(maps, LEVELS):
        if method == "roi_align":
            out = roi_align(features, rois, (bins, bins), spatial_scale=scale, sampling_ratio=2, aligned=False)
        else:
            out = prroi_pool2d(features, rois, bins, bins, scale, backend=method)
        total = total + out.sum()
    total.backward()


def time_method(method: str, maps, rois, repeats: int, device: str, warmup: int = 2) -> float:
    def synchronise():
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        step(method, maps, rois)
    synchronise()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(method, maps, rois)
        synchronise()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 image pairs in training, 2 timed steps: seconds")
    args = parser.parse_args(argv)
    generator = torch.Generator().manual_seed(0)
    compiled = compiled_available(args.device)
    methods = [m for m in METHODS if m != "compiled" or compiled]
    if not compiled:
        print(f"the compiled op is not built for {args.device}: timing the other two only")
    repeats, warmup, training_images = (2, 1, 2) if args.quick else (args.repeats, 2, 64)
    figures = {"quick": args.quick, "device": args.device, "threads": torch.get_num_threads(), "compiled": compiled}
    for setting, (images, per_image) in zip(SETTINGS, ((training_images, 16), (1, 10))):
        maps, rois = make_inputs(images, per_image, args.device, generator)
        seconds = {m: time_method(m, maps, rois, repeats, args.device, warmup) for m in methods}
        for method in METHODS:
            if method not in seconds:
                figures[f"{setting}_{method}_ms"] = figures[f"{setting}_{method}_over_roi_align"] = None
                continue
            value = seconds[method]
            ratio = value / seconds["roi_align"]
            figures[f"{setting}_{method}_ms"] = round(value * 1000, 3)
            figures[f"{setting}_{method}_over_roi_align"] = round(ratio, 3)
            print(f"{setting:<8} {method:<9} {value * 1000:9.2f} ms  {ratio:6.2f}x roi_align")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
