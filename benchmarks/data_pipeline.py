"""Samples per second of the atom_default training pipeline on a generated GOT-10k-layout dataset
of 1280x720 frames, five ways side by side (interleaved, median of --repeats runs), in one
process and through LTRLoader with --workers workers, with the share of time spent reading
frames:

- straightforward: frames decoded whole; each crop cut out with its padding copied in, then
  resized; proposals drawn one at a time, up to 100 tries each; colour jitter and normalisation
  as separate tensor passes (how the original pipeline works);
- full_size: this toolkit's pipeline (one warp per crop into a recycled array, proposals drawn all
  at once) with frames decoded whole, transforms unfused;
- reduced: the same with frames decoded at 1/2, 1/4 or 1/8 of their size, only the region the
  crop reads, when the crop shrinks them that much anyway;
- ours: reduced, with colour jitter and normalisation fused into one table look-up per crop
  (identical output, into a recycled array) and no copy to stack one frame;
- prepared: ours reading the frames from a prepared copy (ltr/run_prepare.py, levels 1 2 4 8:
  the decoder's output, read through memory maps) instead of decoding them.

    python benchmarks/data_pipeline.py [--samples 300] [--repeats 3] [--workers 2] [--data DIR]
    python benchmarks/data_pipeline.py --quick

The dataset (24 sequences of 60 frames) is generated once into DIR (default
<workspace_dir>/benchmark_data/synthetic_1280x720) and reused, with its prepared copy in
DIR/prepared (5.3 GB). --quick: 2 sequences of 20 frames (the sampler's minimum) at 640x360 in a
temporary folder, 8 samples, one repeat, every variant and the workers column.

JSON fields (JSON_FIELDS): quick; frame_size ("WxH"); samples (per measurement); repeats;
workers; for each variant V: V_one_process_samples_per_s, V_workers_samples_per_s (through
LTRLoader with `workers` workers), V_read_share (share of the one-process time spent reading
frames: decoding, or the prepared copy); ratios X_over_straightforward_one_process and
X_over_straightforward_workers for X in full_size, reduced, ours, prepared; same_frame_share
(share of samples whose train and test frames are the same frame, so that decoding once per
pair could save a decode); prepare_s (seconds to prepare the copy in this run, 0 when it was
there already); torch_threads (torch's intra-op threads in the one-process runs: on a busy
machine, several threads contending for the cores slow the unfused tensor passes most).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import torch

from admin.environment import env_settings
from ltr.data import transforms as tfm
from ltr.data.boxes import box_iou, centre_from_corner, corner_from_centre, cxcywh_to_xywh, xywh_to_xyxy
from ltr.data.image_loader import imread
from ltr.data.loader import LTRLoader
from ltr.data.prepared import PreparedFrames, prepare_frames
from ltr.data.processing import ATOMProcessing
from ltr.data.sampler import ATOMSampler
from ltr.dataset import Got10k
from ltr.dataset.synthetic import SceneConfig, generate_dataset

class TimedLoader:
    """A frame loader that adds up the time it spends (this process only)."""

    supports_reduction = True

    def __init__(self, inner=imread):
        self.inner = inner
        self.seconds = 0.0

    def __call__(self, path, reduction: int = 1):
        start = time.perf_counter()
        try:
            return self.inner(path, reduction)
        finally:
            self.seconds += time.perf_counter() - start

    def region(self, path, reduction: int, region):
        start = time.perf_counter()
        try:
            return self.inner.region(path, reduction, region)
        finally:
            self.seconds += time.perf_counter() - start


class StraightforwardProcessing(ATOMProcessing):
    """ATOM processing as the original pipeline does it, for comparison."""

    draws = random.Random(0)

    def crop(self, frame, box, jittered):
        x, y, w, h = jittered.tolist()
        side = math.ceil(math.sqrt(w * h) * self.search_area_factor)
        x0 = round(corner_from_centre(centre_from_corner(x, w), side))
        y0 = round(corner_from_centre(centre_from_corner(y, h), side))
        x0, y0, x1, y1 = xywh_to_xyxy(torch.tensor([x0, y0, side, side])).tolist()
        height, width = frame.shape[:2]
        left, top = max(0, -x0), max(0, -y0)
        right, bottom = max(x1 - width + 1, 0), max(y1 - height + 1, 0)
        inside = frame[y0 + top:y1 - bottom, x0 + left:x1 - right]
        padded = cv2.copyMakeBorder(inside, top, bottom, left, right, cv2.BORDER_REPLICATE)
        crop = cv2.resize(padded, (self.output_sz, self.output_sz))
        factor = self.output_sz / side
        return crop, (box - torch.tensor([x0, y0, 0.0, 0.0])) * factor

    def proposals(self, box):
        params = self.proposal_params
        proposals, ious = [], []
        x, y, w, h = box.tolist()
        for _ in range(params["boxes_per_frame"]):
            sigma = math.sqrt(w * h) * self.draws.choice(params["sigma_factor"])
            for _ in range(100):
                cw, ch = self.draws.gauss(w, sigma), self.draws.gauss(h, sigma)
                cw = cw if cw > 1 else w * self.draws.uniform(0.15, 0.5)
                ch = ch if ch > 1 else h * self.draws.uniform(0.15, 0.5)
                cx, cy = self.draws.gauss(centre_from_corner(x, w), sigma), self.draws.gauss(centre_from_corner(y, h), sigma)
                proposal = cxcywh_to_xywh(torch.tensor([cx, cy, cw, ch], dtype=torch.float64)).float()
                iou = box_iou(box, proposal)
                if iou > params["min_iou"]:
                    break
                sigma *= 0.9
            proposals.append(proposal)
            ious.append(iou)
        return torch.stack(proposals), 2 * torch.stack(ious) - 1


# variant: (processing class, reduced decoding, fused transforms, prepared copy)
VARIANTS = {"straightforward": (StraightforwardProcessing, False, False, False),
            "full_size": (ATOMProcessing, False, False, False),
            "reduced": (ATOMProcessing, True, False, False),
            "ours": (ATOMProcessing, True, True, False),
            "prepared": (ATOMProcessing, True, True, True)}
SETTINGS = ("one_process", "workers")
JSON_FIELDS: tuple[str, ...] = (
    "quick", "frame_size", "samples", "repeats", "workers",
    *(f"{variant}_{field}" for variant in VARIANTS
      for field in ("one_process_samples_per_s", "workers_samples_per_s", "read_share")),
    *(f"{variant}_over_straightforward_{setting}" for variant in list(VARIANTS)[1:] for setting in SETTINGS),
    "same_frame_share", "prepare_s", "torch_threads")


def frame_loader(variant: str, prepared: Path):
    return PreparedFrames(prepared) if VARIANTS[variant][3] else imread


def atom_pipeline(root: Path, samples: int, variant: str, loader) -> ATOMSampler:
    """The data part of atom_default: search area 5, 288x288 crops, jitter, 16 proposals."""
    processing_class, reduced, fused, _ = VARIANTS[variant]
    processing = processing_class(
        search_area_factor=5.0, output_sz=288,
        center_jitter_factor={"train": 0, "test": 4.5}, scale_jitter_factor={"train": 0, "test": 0.5},
        proposal_params={"min_iou": 0.1, "boxes_per_frame": 16, "sigma_factor": [0.01, 0.05, 0.1, 0.2, 0.3]},
        mode="sequence", reduced_decoding=reduced,
        transform=tfm.Transform(tfm.ToTensorAndJitter(0.2), tfm.Normalize(), fuse=fused),
        joint_transform=tfm.ToGrayscale(probability=0.05))
    dataset = Got10k(str(root / "train"), image_loader=loader)
    return ATOMSampler([dataset], [1], samples_per_epoch=samples, max_gap=50, processing=processing,
                       lazy_frames=reduced, seed=0)


def in_process(root: Path, samples: int, variant: str, prepared: Path) -> tuple[float, float, float]:
    """(samples per second, share of the time spent reading frames, share of samples whose
    train and test frame are the same file) in this process."""
    loader = TimedLoader(frame_loader(variant, prepared))
    sampler = atom_pipeline(root, samples, variant, loader)
    same = []
    processing = sampler.processing

    def counting(data):
        first, second = data["train_images"][0], data["test_images"][0]
        same.append(getattr(first, "path", id(first)) == getattr(second, "path", id(second)))
        return processing(data)

    sampler.processing = counting
    sampler[0]  # warm-up: imports, caches
    loader.seconds = 0.0
    same.clear()
    start = time.perf_counter()
    for index in range(samples):
        sampler[index]
    elapsed = time.perf_counter() - start
    return samples / elapsed, loader.seconds / elapsed, sum(same) / len(same)


def with_workers(root: Path, samples: int, variant: str, workers: int, batch: int, prepared: Path) -> float:
    sampler = atom_pipeline(root, samples, variant, frame_loader(variant, prepared))
    loader = LTRLoader("train", sampler, batch_size=batch, num_workers=workers, stack_dim=1, seed=0,
                       persistent_workers=False)
    iterator = iter(loader)
    next(iterator)  # workers started and warm
    start = time.perf_counter()
    count = 0
    for batch_data in iterator:
        count += batch_data["train_images"].shape[1]
    elapsed = time.perf_counter() - start
    return count / max(elapsed, 1e-9)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", default=None)
    parser.add_argument("--quick", action="store_true", help="a tiny dataset in a temporary folder, few samples")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="data_pipeline_") as scratch:
        if args.quick:
            root, config, sequences = Path(scratch) / "data", SceneConfig(width=640, height=360, frames=20), 2
            samples, repeats, batch = 8, 1, 4
        else:
            root = Path(args.data or Path(env_settings().workspace_dir) / "benchmark_data" / "synthetic_1280x720")
            config, sequences = SceneConfig(width=1280, height=720, frames=60), 24
            samples, repeats, batch = args.samples, args.repeats, 16
        generate_dataset(root, seed=0, train=sequences, val=0, config=config, workers=1 if args.quick else None)
        prepared = root / "prepared"
        start = time.perf_counter()
        counts = prepare_frames(root / "train", prepared)
        prepare_s = time.perf_counter() - start if counts["prepared"] else 0.0
        figures = measure(root, prepared, samples, repeats, args.workers, batch)
    figures.update(quick=args.quick, frame_size=f"{config.width}x{config.height}", samples=samples,
                   repeats=repeats, workers=args.workers, prepare_s=round(prepare_s, 1),
                   torch_threads=torch.get_num_threads())
    figures = {key: figures[key] for key in JSON_FIELDS}

    print(f"atom_default data pipeline, GOT-10k layout, {figures['frame_size']} frames, {samples} samples, "
          f"median of {repeats}")
    print(f"{'':<16}{'1 process':>14}{f'{args.workers} workers':>14}{'reading share':>16}")
    for variant in VARIANTS:
        print(f"{variant:<16}{figures[f'{variant}_one_process_samples_per_s']:>11.1f} /s"
              f"{figures[f'{variant}_workers_samples_per_s']:>11.1f} /s"
              f"{figures[f'{variant}_read_share']:>15.0%}")
    for variant in list(VARIANTS)[1:]:
        print(f"{variant}: {figures[f'{variant}_over_straightforward_one_process']}x the straightforward pipeline "
              f"in one process, {figures[f'{variant}_over_straightforward_workers']}x with {args.workers} workers")
    print(f"train and test frame the same in {figures['same_frame_share']:.1%} of samples")
    print(json.dumps(figures))
    return figures


def measure(root: Path, prepared: Path, samples: int, repeats: int, workers: int, batch: int) -> dict:
    """Every variant, interleaved, ``repeats`` times; medians."""
    runs: dict[str, list] = {f"{variant}_{field}": [] for variant in VARIANTS
                             for field in ("one_process_samples_per_s", "read_share", "workers_samples_per_s")}
    same_share = []
    for _ in range(repeats):
        for variant in VARIANTS:
            rate, read_share, same = in_process(root, samples, variant, prepared)
            runs[f"{variant}_one_process_samples_per_s"].append(rate)
            runs[f"{variant}_read_share"].append(read_share)
            same_share.append(same)
        for variant in VARIANTS:
            runs[f"{variant}_workers_samples_per_s"].append(with_workers(root, samples, variant, workers, batch, prepared))
    figures = {key: round(statistics.median(values), 3 if key.endswith("share") else 1) for key, values in runs.items()}
    for variant in list(VARIANTS)[1:]:
        for setting in SETTINGS:
            key = f"{setting}_samples_per_s"
            figures[f"{variant}_over_straightforward_{setting}"] = round(
                figures[f"{variant}_{key}"] / figures[f"straightforward_{key}"], 2)
    figures["same_frame_share"] = round(statistics.median(same_share), 3)
    return figures


if __name__ == "__main__":
    main()
