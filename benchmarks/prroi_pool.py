"""Forward plus backward of Precise RoI Pooling at ATOM's shapes, for the compiled op, the
PyTorch reference and torchvision's roi_align (sampling ratio 2) on the same shapes, side by side.

    python benchmarks/prroi_pool.py [--device cpu|cuda] [--repeats N] [--quick] [--tracker-layouts-only]

Training: 64 image pairs x 16 proposals = 1024 rois on a (64, 128, 36, 36) map with 5x5 bins at
1/8 and on a (64, 256, 18, 18) map with 3x3 bins at 1/16. Tracking: 10 rois on one image.
PrRoIPool's backward yields gradients for the features and the boxes; roi_align's only for the
features (it has none for boxes). Target: compiled CPU training time at most 1.5x roi_align's.
``--quick`` times the same two levels with 2 image pairs in training, one warm-up and 2 timed
steps: seconds.

Tracker's layouts (compiled CPU op): ATOM's box refinement per frame, 5 steps x 2 levels, each a
forward and the box gradient alone (``prroi_pool2d_box_gradient``), on one image's maps
(1, 256, 36, 36) with 5x5 bins and (1, 256, 18, 18) with 3x3 bins and 10 rois of about 64 px
(8x8 and 4x4 cells): the same work on row-major and on channels-last features, whose kernels
run their loops across the channels and give the same values bit for bit.

Ends with one line holding a JSON object:

- ``quick``: whether ``--quick`` ran; ``device``; ``threads``: torch's CPU threads;
  ``compiled``: whether the compiled op is built for the device (when not, its two figures in
  each setting are null; with ``--tracker-layouts-only`` all of those are null);
- for ``setting`` in training, tracking and ``method`` in roi_align, torch (the PyTorch
  reference), compiled: ``{setting}_{method}_ms``, the median milliseconds of one forward and
  backward through both levels, and ``{setting}_{method}_over_roi_align``, its ratio to
  roi_align's;
- ``tracker_row_major_ms`` and ``tracker_channels_last_ms``: the median milliseconds of one
  frame's 10 forwards and 10 box gradients on row-major and on channels-last features (null
  where the compiled op is not built for the CPU or ``--device`` is cuda);
  ``tracker_channels_last_speedup``: row-major's time over channels-last's;
  ``tracker_bit_identical``: whether both layouts gave the same outputs and box gradients, bit
  for bit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torchvision.ops import roi_align

from external.PreciseRoIPooling import compiled_available, prroi_pool2d, prroi_pool2d_box_gradient
from ltr.data.boxes import xywh_to_xyxy

LEVELS = ((128, 36, 5, 1 / 8), (256, 18, 3, 1 / 16))  # channels, map size, bins, scale
IMAGE_SIZE = 288
METHODS = ("roi_align", "torch", "compiled")
SETTINGS = ("training", "tracking")
JSON_FIELDS: tuple[str, ...] = (
    "quick", "device", "threads", "compiled",
    *(f"{setting}_{method}_{unit}" for setting in SETTINGS for method in METHODS for unit in ("ms", "over_roi_align")),
    "tracker_row_major_ms", "tracker_channels_last_ms", "tracker_channels_last_speedup", "tracker_bit_identical")
TRACKER_STEPS = 5  # ATOM's box-refinement steps per frame
TRACKER_ROIS = 10


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


def tracker_frame(maps, rois, weights) -> list[torch.Tensor]:
    """One frame of ATOM's box refinement: per step and level a forward and its box gradient."""
    results = []
    for _ in range(TRACKER_STEPS):
        for features, level_weights, (_, _, bins, scale) in zip(maps, weights, LEVELS):
            output = prroi_pool2d(features, rois, bins, bins, scale, backend="compiled")
            gradient = prroi_pool2d_box_gradient(features, rois, output, level_weights, bins, bins, scale,
                                                 backend="compiled")
            results += [output, gradient]
    return results


def time_tracker_layouts(repeats: int, warmup: int, generator: torch.Generator) -> dict:
    """The tracker's case on row-major and on channels-last features (see the module docstring)."""
    # The tracker's 256 channels at both levels (the training case has 128 at the first).
    maps = [torch.randn(1, 256, size, size, generator=generator) for _, size, _, _ in LEVELS]
    sizes = torch.rand(TRACKER_ROIS, 2, generator=generator) * 16 + 56
    corners = torch.rand(TRACKER_ROIS, 2, generator=generator) * (IMAGE_SIZE - sizes)
    rois = torch.cat([torch.zeros(TRACKER_ROIS, 1), xywh_to_xyxy(torch.cat([corners, sizes], 1))], 1)
    weights = [torch.randn(TRACKER_ROIS, 256, bins, bins, generator=generator) for _, _, bins, _ in LEVELS]
    layouts = {"row_major": maps, "channels_last": [m.contiguous(memory_format=torch.channels_last) for m in maps]}
    results = {name: tracker_frame(layout_maps, rois, weights) for name, layout_maps in layouts.items()}
    for _ in range(warmup):
        for layout_maps in layouts.values():
            tracker_frame(layout_maps, rois, weights)
    # The layouts alternate, so that both meet the same load of a shared machine.
    times = {name: [] for name in layouts}
    for _ in range(repeats):
        for name, layout_maps in layouts.items():
            start = time.perf_counter()
            tracker_frame(layout_maps, rois, weights)
            times[name].append(time.perf_counter() - start)
    seconds = {name: statistics.median(values) for name, values in times.items()}
    identical = all(torch.equal(a, b) for a, b in zip(results["row_major"], results["channels_last"]))
    speedup = seconds["row_major"] / seconds["channels_last"]
    for name, value in seconds.items():
        print(f"tracker  {name:<13} {value * 1000:9.2f} ms per frame (10 forwards + 10 box gradients)")
    print(f"tracker  channels-last {speedup:.2f}x faster, bit-identical: {identical}")
    return {"tracker_row_major_ms": round(seconds["row_major"] * 1000, 3),
            "tracker_channels_last_ms": round(seconds["channels_last"] * 1000, 3),
            "tracker_channels_last_speedup": round(speedup, 3), "tracker_bit_identical": identical}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 image pairs in training, 2 timed steps: seconds")
    parser.add_argument("--tracker-layouts-only", action="store_true",
                        help="time the tracker's row-major against channels-last case alone (other figures null)")
    args = parser.parse_args(argv)
    generator = torch.Generator().manual_seed(0)
    compiled = compiled_available(args.device)
    methods = [m for m in METHODS if m != "compiled" or compiled]
    if not compiled:
        print(f"the compiled op is not built for {args.device}: timing the other two only")
    repeats, warmup, training_images = (2, 1, 2) if args.quick else (args.repeats, 2, 64)
    figures = {"quick": args.quick, "device": args.device, "threads": torch.get_num_threads(), "compiled": compiled}
    for setting, (images, per_image) in zip(SETTINGS, ((training_images, 16), (1, 10))):
        if args.tracker_layouts_only:
            figures.update({f"{setting}_{method}_{unit}": None for method in METHODS for unit in ("ms", "over_roi_align")})
            continue
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
    if compiled and args.device == "cpu":
        figures.update(time_tracker_layouts(max(repeats, 5) if args.quick else args.repeats * 4, warmup, generator))
    else:
        figures.update(dict.fromkeys(JSON_FIELDS[-4:]))
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
