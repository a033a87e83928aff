"""Samples per second of the atom_default training pipeline on a generated GOT-10k-layout dataset
of 1280x720 frames, three ways side by side, in one process and through LTRLoader with 2
workers, with the share of time spent decoding:

- straightforward: frames decoded whole; each crop cut out with its padding copied in, then
  resized; proposals drawn one at a time, up to 100 tries each (how the original pipeline works);
- full_size: this toolkit's pipeline (one warp per crop, proposals drawn all at once) with frames
  decoded whole;
- reduced: the same with frames decoded at 1/2, 1/4 or 1/8 of their size when the crop shrinks
  them that much anyway.

    python benchmarks/data_pipeline.py [--samples 300] [--data DIR]

The dataset (24 sequences of 60 frames) is generated once into DIR (default
<workspace_dir>/benchmark_data/synthetic_1280x720) and reused.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import cv2
import torch

from admin.environment import env_settings
from ltr.data import transforms as tfm
from ltr.data.boxes import box_iou, centre_from_corner, corner_from_centre, cxcywh_to_xywh, xywh_to_xyxy
from ltr.data.image_loader import imread
from ltr.data.loader import LTRLoader
from ltr.data.processing import ATOMProcessing
from ltr.data.sampler import ATOMSampler
from ltr.dataset import Got10k
from ltr.dataset.synthetic import SceneConfig, generate_dataset


class TimedLoader:
    """imread that adds up the time it spends (this process only)."""

    supports_reduction = True

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, path, reduction: int = 1):
        start = time.perf_counter()
        try:
            return imread(path, reduction)
        finally:
            self.seconds += time.perf_counter() - start

    def region(self, path, reduction: int, region):
        start = time.perf_counter()
        try:
            return imread.region(path, reduction, region)
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


VARIANTS = {"straightforward": (StraightforwardProcessing, False), "full_size": (ATOMProcessing, False),
            "reduced": (ATOMProcessing, True)}


def atom_pipeline(root: Path, samples: int, variant: str, loader) -> ATOMSampler:
    """The data part of atom_default: search area 5, 288x288 crops, jitter, 16 proposals."""
    processing_class, reduced = VARIANTS[variant]
    processing = processing_class(
        search_area_factor=5.0, output_sz=288,
        center_jitter_factor={"train": 0, "test": 4.5}, scale_jitter_factor={"train": 0, "test": 0.5},
        proposal_params={"min_iou": 0.1, "boxes_per_frame": 16, "sigma_factor": [0.01, 0.05, 0.1, 0.2, 0.3]},
        mode="sequence", reduced_decoding=reduced,
        transform=tfm.Transform(tfm.ToTensorAndJitter(0.2), tfm.Normalize()),
        joint_transform=tfm.ToGrayscale(probability=0.05))
    dataset = Got10k(str(root / "train"), image_loader=loader)
    return ATOMSampler([dataset], [1], samples_per_epoch=samples, max_gap=50, processing=processing,
                       lazy_frames=reduced, seed=0)


def in_process(root: Path, samples: int, variant: str) -> tuple[float, float]:
    """(samples per second, share of the time spent decoding) in this process."""
    loader = TimedLoader()
    sampler = atom_pipeline(root, samples, variant, loader)
    sampler[0]  # warm-up: imports, caches
    loader.seconds = 0.0
    start = time.perf_counter()
    for index in range(samples):
        sampler[index]
    elapsed = time.perf_counter() - start
    return samples / elapsed, loader.seconds / elapsed


def with_workers(root: Path, samples: int, variant: str, workers: int) -> float:
    sampler = atom_pipeline(root, samples, variant, imread)
    loader = LTRLoader("train", sampler, batch_size=16, num_workers=workers, stack_dim=1, seed=0,
                       persistent_workers=False)
    iterator = iter(loader)
    next(iterator)  # workers started and warm
    start = time.perf_counter()
    count = 16
    for batch in iterator:
        count += batch["train_images"].shape[1]
    elapsed = time.perf_counter() - start
    return (count - 16) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    root = Path(args.data or Path(env_settings().workspace_dir) / "benchmark_data" / "synthetic_1280x720")
    generate_dataset(root, seed=0, train=24, val=0, config=SceneConfig(width=1280, height=720, frames=60))

    figures = {"frame_size": "1280x720", "samples": args.samples, "workers": args.workers}
    for variant in VARIANTS:
        rate, decode_share = in_process(root, args.samples, variant)
        figures[f"{variant}_one_process_samples_per_s"] = round(rate, 1)
        figures[f"{variant}_decode_share"] = round(decode_share, 3)
        figures[f"{variant}_{args.workers}_workers_samples_per_s"] = round(
            with_workers(root, args.samples, variant, args.workers), 1)
    for setting in ("one_process", f"{args.workers}_workers"):
        reduced = figures[f"reduced_{setting}_samples_per_s"]
        figures[f"reduced_vs_straightforward_{setting}"] = round(
            reduced / figures[f"straightforward_{setting}_samples_per_s"], 2)
        figures[f"reduced_vs_full_size_{setting}"] = round(reduced / figures[f"full_size_{setting}_samples_per_s"], 2)

    print(f"atom_default data pipeline, GOT-10k layout, 1280x720 frames, {args.samples} samples")
    print(f"{'':<16}{'1 process':>14}{f'{args.workers} workers':>14}{'decoding share':>17}")
    for variant in VARIANTS:
        print(f"{variant:<16}{figures[f'{variant}_one_process_samples_per_s']:>11.1f} /s"
              f"{figures[f'{variant}_{args.workers}_workers_samples_per_s']:>11.1f} /s"
              f"{figures[f'{variant}_decode_share']:>16.0%}")
    for setting, label in (("one_process", "one process"), (f"{args.workers}_workers", f"{args.workers} workers")):
        print(f"{label}: reduced is {figures[f'reduced_vs_straightforward_{setting}']}x the straightforward "
              f"pipeline (target 2x) and {figures[f'reduced_vs_full_size_{setting}']}x full-size decoding")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
