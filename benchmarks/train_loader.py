"""Does the training data loader keep the device busy? atom_default's training as the trainer
runs it (its processing, sampler, loader, network, actor and Adam) on generated sequences, the
loader's throughput and the device's beside each other.

    python benchmarks/train_loader.py [--device cpu|cuda] [--batch N] [--workers N] [--steps N]
                                      [--amp none|bfloat16|float16] [--pin-memory] [--frame-size WxH]
                                      [--threads N] [--quick]

Defaults: on CUDA batch 64 (the recipe's), 8 workers, float16 autocast as the AMP column, pinned
memory; on a CPU batch 8, 2 workers and no AMP column (bfloat16 is emulated, and slow, on CPUs
without AMX or AVX512-BF16: ask for it with ``--amp bfloat16``). The sequences are generated into
a temporary folder (``--sequences`` of ``--frames`` JPEG frames of ``--frame-size``, 1280x720 by
default, as the trackers' training sets' frames are) and removed afterwards. The network has
random weights (nothing is downloaded); the time a step takes does not depend on them.

Columns (each after ``--warmup`` batches that are not counted: worker start-up, allocator):

- ``loader_alone``: batches drawn from the loader with nothing else running: its ceiling.
- ``compute_alone_fp32``: the training step on one batch, reused: the device's ceiling.
- ``train_fp32``: the loader feeding the step, as ``LTRTrainer`` runs it. Before each batch is
  asked for, the device has finished the previous step (``torch.cuda.synchronize``), so the time
  spent waiting for the batch is time the device was idle: ``train_fp32_idle_share``.
- ``compute_alone_amp`` and ``train_amp``: the same under ``torch.autocast`` (``--amp``), with
  the trainer's gradient scaler for float16. Null in the JSON line without ``--amp``.

JSON_FIELDS (the last stdout line):

- ``quick``: whether ``--quick`` ran (2 sequences of 20 160x120 frames, batch 2, 1 worker, 64-pixel crops,
  atom_resnet_tiny width 8, bfloat16 AMP column: every path, in seconds; not a measurement).
- ``device``, ``threads``, ``batch``, ``workers``, ``steps``, ``pin_memory``, ``amp``,
  ``frame_size``: the run.
- ``loader_alone_samples_per_s``: image pairs per second from the loader alone.
- ``compute_alone_fp32_samples_per_s``, ``train_fp32_samples_per_s``: pairs per second of the
  step alone and fed by the loader, float32.
- ``train_fp32_idle_share``: the share of ``train_fp32``'s time the device waited for data.
- ``train_over_compute_fp32``: ``train_fp32`` over ``compute_alone_fp32`` (1: the loader keeps up).
- ``compute_alone_amp_samples_per_s``, ``train_amp_samples_per_s``, ``train_amp_idle_share``,
  ``train_over_compute_amp``: the same under AMP (null without ``--amp``).
- ``generate_s``: the time the sequences took to generate.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from typing import Callable, Iterator

import torch

from ltr.actors import AtomActor
from ltr.data.loader import LTRLoader
from ltr.data.sampler import ATOMSampler
from ltr.data.tensordict import TensorDict
from ltr.dataset import SyntheticTracking
from ltr.dataset.synthetic import SceneConfig, generate_dataset
from ltr.models.registry import build_network
from ltr.settings import TrainSettings
from ltr.train_settings.bbreg import atom_default

JSON_FIELDS: tuple[str, ...] = (
    "quick", "device", "threads", "batch", "workers", "steps", "pin_memory", "amp", "frame_size",
    "loader_alone_samples_per_s", "compute_alone_fp32_samples_per_s", "train_fp32_samples_per_s",
    "train_fp32_idle_share", "train_over_compute_fp32", "compute_alone_amp_samples_per_s",
    "train_amp_samples_per_s", "train_amp_idle_share", "train_over_compute_amp", "generate_s",
)
AMP_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
QUICK_NETWORK = ("atom_resnet_tiny", {"width": 8, "iou_input_dim": (32, 32), "iou_inter_dim": (32, 32)})


class Step:
    """One training step of atom_default's network, actor and optimiser, as the trainer takes it."""

    def __init__(self, settings: TrainSettings, device: torch.device, amp: str | None,
                 network: tuple[str, dict] | None):
        torch.manual_seed(0)
        name, kwargs = network if network is not None else (settings.network, dict(settings.network_kwargs))
        kwargs = {**kwargs, "backbone_pretrained": False}
        self.net = build_network(name, **kwargs).to(device)
        self.actor = AtomActor(net=self.net, objective=torch.nn.MSELoss())
        self.actor.train()
        self.optimizer = torch.optim.Adam(self.net.bb_regressor.parameters(), lr=settings.learning_rate)
        self.device = device
        self.autocast = ((lambda: torch.autocast(device.type, dtype=AMP_DTYPES[amp])) if amp is not None
                         else contextlib.nullcontext)
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp == "float16")

    def __call__(self, data: TensorDict) -> None:
        with self.autocast():
            loss, _ = self.actor(data)
        if not torch.isfinite(loss):
            raise RuntimeError(f"the loss is {loss.item()}: the benchmark's step diverged")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()


def batches(loader: LTRLoader, device: torch.device, pin_memory: bool) -> Iterator[TensorDict]:
    for data in loader:
        yield data.to(device, non_blocking=pin_memory)


def time_loader(make_loader: Callable[[], LTRLoader], args) -> float:
    """Samples per second the loader gives with nothing else running."""
    stream = iter(make_loader())
    for _ in range(args.warmup):
        next(stream)
    started = time.perf_counter()
    for _ in range(args.steps):
        next(stream)
    return args.batch * args.steps / (time.perf_counter() - started)


def time_compute(step: Step, data: TensorDict, args, synchronise: Callable[[], None]) -> float:
    """Samples per second of the step on one batch, reused."""
    for _ in range(args.warmup):
        step(data)
    synchronise()
    started = time.perf_counter()
    for _ in range(args.steps):
        step(data)
    synchronise()
    return args.batch * args.steps / (time.perf_counter() - started)


def time_training(step: Step, make_loader: Callable[[], LTRLoader], args, device: torch.device,
                  synchronise: Callable[[], None]) -> tuple[float, float]:
    """(samples per second, idle share) of the step fed by the loader."""
    stream = batches(make_loader(), device, args.pin_memory)
    waited = total = 0.0
    for index in range(args.warmup + args.steps):
        synchronise()  # the device is idle from here until the batch arrives
        asked = time.perf_counter()
        data = next(stream)
        arrived = time.perf_counter()
        step(data)
        synchronise()
        if index >= args.warmup:
            waited += arrived - asked
            total += time.perf_counter() - asked
    return args.batch * args.steps / total, waited / total


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, not {text!r}") from None
    return width, height


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=None, help="image pairs per step (64 on CUDA, 8 on a CPU)")
    parser.add_argument("--workers", type=int, default=None, help="loader workers (8 on CUDA, 2 on a CPU)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per column (30 on CUDA, 5 on a CPU)")
    parser.add_argument("--warmup", type=int, default=2, help="steps before timing (default 2)")
    parser.add_argument("--amp", choices=["none", *AMP_DTYPES], default=None,
                        help="the AMP column's precision (float16 on CUDA, none on a CPU)")
    parser.add_argument("--pin-memory", action=argparse.BooleanOptionalAction, default=None,
                        help="pinned host memory and asynchronous copies (default: on CUDA)")
    parser.add_argument("--frame-size", type=_size, default=(1280, 720), help="generated frames (default 1280x720)")
    parser.add_argument("--sequences", type=int, default=8, help="generated sequences (default 8)")
    parser.add_argument("--frames", type=int, default=40, help="frames per sequence (default 40)")
    parser.add_argument("--threads", type=int, default=None, help="torch's CPU threads in the main process")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, every column: seconds")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    on_cuda = device.type == "cuda"
    if args.quick:
        args.batch, args.workers, args.steps, args.warmup = 2, 1, 2, 1
        args.frame_size, args.sequences, args.frames = (160, 120), 2, 20
        args.amp = "bfloat16" if args.amp is None else args.amp
        args.threads = 1 if args.threads is None else args.threads
    args.batch = args.batch or (64 if on_cuda else 8)
    args.workers = args.workers if args.workers is not None else (8 if on_cuda else 2)
    args.steps = args.steps or (30 if on_cuda else 5)
    amp = args.amp if args.amp is not None else ("float16" if on_cuda else "none")
    amp = None if amp == "none" else amp
    if amp == "float16" and not on_cuda:
        parser.error("--amp float16 needs CUDA; use --amp bfloat16 on a CPU")
    args.pin_memory = on_cuda if args.pin_memory is None else args.pin_memory

    threads = torch.get_num_threads()
    try:
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        with tempfile.TemporaryDirectory(prefix="train_loader_") as workdir:
            return _run(args, device, amp, workdir)
    finally:
        torch.set_num_threads(threads)


def _run(args, device: torch.device, amp: str | None, workdir: str) -> dict:
    def synchronise():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    width, height = args.frame_size
    started = time.perf_counter()
    generate_dataset(workdir, seed=0, train=args.sequences, val=1,
                     config=SceneConfig(width=width, height=height, frames=args.frames), workers=max(1, args.workers))
    generate_s = time.perf_counter() - started

    settings = TrainSettings(module_name="bbreg", script_name="atom_default", seed=0, device=str(device))
    atom_default.configure(settings)
    network = None
    if args.quick:
        settings.feature_sz = 4
        settings.output_sz = 64
        network = QUICK_NETWORK
    per_loader = (args.warmup + args.steps) * args.batch
    sampler = ATOMSampler([SyntheticTracking(workdir, split="train")], [1], samples_per_epoch=per_loader,
                          max_gap=settings.max_gap, processing=atom_default.processing(settings, training=True))

    def make_loader() -> LTRLoader:
        loader = LTRLoader("train", sampler, training=True, batch_size=args.batch, num_workers=args.workers,
                           shuffle=True, drop_last=True, stack_dim=1, seed=0, pin_memory=args.pin_memory)
        loader.set_epoch(1)
        return loader

    figures: dict = dict(quick=args.quick, device=str(device), threads=torch.get_num_threads(), batch=args.batch,
                         workers=args.workers, steps=args.steps, pin_memory=args.pin_memory, amp=amp,
                         frame_size=f"{width}x{height}")
    figures["loader_alone_samples_per_s"] = round(time_loader(make_loader, args), 2)
    fixed = next(batches(make_loader(), device, args.pin_memory))
    for name, precision in (("fp32", None), ("amp", amp)):
        keys = (f"compute_alone_{name}_samples_per_s", f"train_{name}_samples_per_s", f"train_{name}_idle_share",
                f"train_over_compute_{name}")
        if name == "amp" and precision is None:
            figures.update(dict.fromkeys(keys))
            continue
        step = Step(settings, device, precision, network)
        compute = time_compute(step, fixed, args, synchronise)
        rate, idle = time_training(step, make_loader, args, device, synchronise)
        figures.update(zip(keys, (round(compute, 2), round(rate, 2), round(idle, 3), round(rate / compute, 3))))
    figures["generate_s"] = round(generate_s, 2)

    print(f"atom_default training fed by its loader: batch {args.batch}, {args.workers} workers, {width}x{height} "
          f"frames, {args.steps} steps per column after {args.warmup}, on {device} "
          f"({torch.get_num_threads()} threads), pinned memory {'on' if args.pin_memory else 'off'}")
    print(f"  loader alone                 {figures['loader_alone_samples_per_s']:10.2f} samples/s")
    for name, label in (("fp32", "float32"), ("amp", amp or "AMP (not run)")):
        if figures[f"train_{name}_samples_per_s"] is None:
            print(f"  {label}: not run (--amp)")
            continue
        print(f"  {label:<9} step alone          {figures[f'compute_alone_{name}_samples_per_s']:10.2f} samples/s")
        print(f"  {label:<9} fed by the loader   {figures[f'train_{name}_samples_per_s']:10.2f} samples/s "
              f"({figures[f'train_over_compute_{name}']:.2f} of the step alone), device idle "
              f"{figures[f'train_{name}_idle_share']:.1%} of the time")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
