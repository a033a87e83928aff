"""One atom_default training step, the original way and ours, side by side; and, with
``--loss-check``, whether bfloat16 autocast trains the IoU-Net to the same loss as float32.

    python benchmarks/train_step.py [--batch 8] [--proposals 16] [--size 288] [--repeats 5]
                                    [--device cpu|cuda] [--threads N] [--quick] [--loss-check [STEPS]]

A step: a batch of image pairs (``--batch``, 288x288) with 16 proposals each through the frozen
ResNet-18 (ImageNet layout, random weights), the IoU-Net forward and backward (Precise RoI Pooling,
compiled op), and Adam on the IoU-Net. Columns, measured interleaved (median of ``--repeats``):

- ``original``: as pytracking runs it: float32, contiguous tensors, the backbone frozen only by
  ``requires_grad_(False)`` and called without ``torch.no_grad()``, its BatchNorm layers in train
  mode (as published), the library's max pooling (``nn.MaxPool2d``), Adam's per-operation
  update, ``zero_grad()``.
- ``ours``: the atom_fast recipe's network and optimiser (atom_default with its speed options): the backbone under ``torch.no_grad()`` in the
  channels-last memory format (BatchNorm in train mode too), Adam's fused kernel,
  ``zero_grad(set_to_none=True)``; float32.
- ``ours_bf16``: ``ours`` under ``torch.autocast(dtype=bfloat16)``, as ``--amp bfloat16`` runs it;
  ``ours_fp16`` the same with float16 (CUDA only; absent, and null in the JSON, on a CPU).
  On CPUs without AMX or AVX512-BF16, bfloat16 convolutions are several times slower than
  float32 ones: this column is slower there, and that is what it reports.

Each step's time is split into the backbone (forward hooks around the ResNet), the RoI pooling
(forward and backward, timed by wrapping the compiled op module's functions; the module attribute
is restored afterwards) and the rest (the IoU-Net's other layers, forward and backward, the loss,
Adam, and in ``ours`` the images' and features' conversions to and from channels-last).

``--loss-check [STEPS]`` (50 when given without a number) trains atom_synthetic's network
(``atom_resnet_tiny``, width 24, trained backbone and template loss, 192-pixel crops, batch 16,
Adam lr 5e-4, weight decay 1e-4) for STEPS steps on a small generated synthetic dataset (12
training sequences of 40 frames at 320x240, in a temporary folder), once in float32 and once under
bfloat16 autocast, from the same initial weights (seed 0) on the same batches, and reports the
mean IoU loss of the last 10 steps of each and their relative difference (target: within 2%).
A third run, the float32 control, is float32 again with Adam's other kernel (fused instead of
per-operation): parameters that differ in the last bit after the first step. Its difference from
float32 is how far two runs apart only by rounding drift in this measurement, the floor against
which bfloat16's difference is read. The small network keeps it to minutes on a CPU where
bfloat16 is slow.

JSON_FIELDS (the last stdout line; times in milliseconds, per step):

- ``quick``: whether ``--quick`` ran (batch 2, 64x64 images, 2 repeats, one thread,
  ``atom_resnet_tiny`` width 8 with a 32-wide IoU-Net instead of ResNet-18: the same code paths,
  small).
- ``device``, ``threads``: where it ran and torch's CPU threads.
- ``batch``, ``proposals``, ``image_size``, ``repeats``: the step's shape and the repeats.
- ``original_step_ms``, ``ours_step_ms``, ``ours_bf16_step_ms``, ``ours_fp16_step_ms`` (null
  without CUDA): the median step of each column.
- ``original_samples_per_s``, ``ours_samples_per_s``: image pairs per second.
- ``ours_over_original``, ``ours_bf16_over_original``, ``ours_fp16_over_original``: step time
  ratios (below 1: faster than the original).
- ``original_over_ours``: the speed-up of ``ours`` (float32).
- ``parts_ms``: for each column, ``{"backbone": ms, "roi_pool": ms, "rest": ms}``.
- ``loss_check_steps``: the steps of ``--loss-check`` (null when not asked for).
- ``loss_fp32_last10``, ``loss_bf16_last10``: the mean IoU loss of the last 10 steps (null
  without ``--loss-check``).
- ``loss_bf16_over_fp32_minus_1``: their relative difference (target: magnitude at most 0.02).
- ``loss_fp32_control_last10``, ``loss_control_over_fp32_minus_1``: the float32 control's loss
  and its relative difference from float32 (rounding drift alone).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import tempfile
import time
from collections import OrderedDict
from typing import Callable

import torch

from external.PreciseRoIPooling import function as prroi_function
from ltr.actors import AtomActor
from ltr.data.tensordict import TensorDict
from ltr.models.registry import build_network
from ltr.models.tracking.atom import ATOMnet

JSON_FIELDS: tuple[str, ...] = (
    "quick", "device", "threads", "batch", "proposals", "image_size", "repeats",
    "original_step_ms", "ours_step_ms", "ours_bf16_step_ms", "ours_fp16_step_ms",
    "original_samples_per_s", "ours_samples_per_s",
    "ours_over_original", "ours_bf16_over_original", "ours_fp16_over_original", "original_over_ours",
    "parts_ms", "loss_check_steps", "loss_fp32_last10", "loss_bf16_last10", "loss_bf16_over_fp32_minus_1",
    "loss_fp32_control_last10", "loss_control_over_fp32_minus_1",
)
PARTS = ("backbone", "roi_pool", "rest")
NETWORK = ("atom_resnet18", {})
# --quick: the same code paths (frozen ResNet, IoU-Net, PrRoIPool, Adam) on a small network.
QUICK_NETWORK = ("atom_resnet_tiny", {"width": 8, "iou_input_dim": (32, 32), "iou_inter_dim": (32, 32)})


class TimedOp:
    """Stands in for the compiled PrRoIPool module: every function call (any arguments) is
    passed through and its time added to ``seconds``; other attributes are the module's."""

    def __init__(self, compiled, synchronise: Callable[[], None]):
        self._compiled, self._synchronise, self.seconds = compiled, synchronise, 0.0

    def __getattr__(self, name):
        attribute = getattr(self._compiled, name)
        if not callable(attribute) or name not in ("forward", "backward"):
            return attribute

        def timed(*args, **kwargs):
            self._synchronise()
            start = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._synchronise()
                self.seconds += time.perf_counter() - start

        return timed


@contextlib.contextmanager
def timed_prroi_pool(synchronise: Callable[[], None]):
    """Replaces ``external.PreciseRoIPooling.function._C`` by a :class:`TimedOp` for the block
    and puts the module back afterwards, whatever happens."""
    original = prroi_function._C
    timed = TimedOp(original, synchronise)
    prroi_function._C = timed
    try:
        yield timed
    finally:
        prroi_function._C = original


class ModuleTimer:
    """Adds up the time of a module's forward calls (pre-hook to hook)."""

    def __init__(self, module: torch.nn.Module, synchronise: Callable[[], None]):
        self.seconds, self._start, self._synchronise = 0.0, 0.0, synchronise
        self._handles = [module.register_forward_pre_hook(self._before), module.register_forward_hook(self._after)]

    def _before(self, module, inputs):
        self._synchronise()
        self._start = time.perf_counter()

    def _after(self, module, inputs, output):
        self._synchronise()
        self.seconds += time.perf_counter() - self._start

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


class OriginalStyleATOMnet(ATOMnet):
    """ATOMnet as pytracking runs it: the frozen backbone called without ``torch.no_grad()``
    (no parameter requires gradients, so autograd records nothing for it either)."""

    def extract_features(self, im, layers):
        layers = (layers,) if isinstance(layers, str) else tuple(layers)
        return self.feature_extractor(im, layers)


def make_batch(batch: int, proposals: int, size: int, device: str, generator: torch.Generator) -> TensorDict:
    """Image pairs (1, batch, 3, size, size), target boxes inside the image and proposals
    jittered around them (1, batch, proposals, 4), IoU targets in [-1, 1]."""
    scale = size / 288
    boxes = torch.cat([(torch.rand(1, batch, 2, generator=generator) * 100 + 80) * scale,
                       (torch.rand(1, batch, 2, generator=generator) * 40 + 40) * scale], -1)
    jittered = boxes[:, :, None, :] + torch.randn(1, batch, proposals, 4, generator=generator) * 5 * scale
    jittered[..., 2:] = jittered[..., 2:].clamp(min=5 * scale)
    return TensorDict(train_images=torch.randn(1, batch, 3, size, size, generator=generator),
                      test_images=torch.randn(1, batch, 3, size, size, generator=generator),
                      train_anno=boxes, test_anno=boxes.clone(), test_proposals=jittered,
                      proposal_iou=torch.rand(1, batch, proposals, generator=generator) * 2 - 1).to(device)


class Column:
    """One way of running the step: network, actor, optimiser, precision; times its parts."""

    def __init__(self, name: str, *, original: bool, amp: torch.dtype | None, device: str,
                 synchronise: Callable[[], None], network: tuple[str, dict]):
        torch.manual_seed(0)  # the same initial weights in every column
        net = build_network(network[0], network[1], backbone_pretrained=False, extractor_grad=False,
                            frozen_batch_norm="train", channels_last=not original)
        if original:
            net = OriginalStyleATOMnet(net.feature_extractor, net.bb_regressor, net.bb_regressor_layer,
                                       extractor_grad=False, frozen_batch_norm="train")
            # The library's max pooling, as the original's ResNet runs it.
            net.feature_extractor.maxpool = torch.nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.name, self.original, self.amp, self.device = name, original, amp, device
        self.net = net.to(device)
        self.actor = AtomActor(self.net, torch.nn.MSELoss())
        self.actor.train()
        fused = None if original else True
        self.optimizer = torch.optim.Adam(self.net.bb_regressor.parameters(), lr=1e-3, fused=fused)
        self.synchronise = synchronise
        self.steps: list[float] = []
        self.parts: dict[str, list[float]] = {part: [] for part in PARTS}

    def step(self, data: TensorDict, timed_op: TimedOp, record: bool = True) -> float:
        autocast = (torch.autocast(torch.device(self.device).type, dtype=self.amp) if self.amp is not None
                    else contextlib.nullcontext())
        backbone = ModuleTimer(self.net.feature_extractor, self.synchronise)
        timed_op.seconds = 0.0
        try:
            self.synchronise()
            start = time.perf_counter()
            with autocast:
                loss, _ = self.actor(data)
            if self.original:
                self.optimizer.zero_grad()
            else:
                self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.synchronise()
            seconds = time.perf_counter() - start
        finally:
            backbone.remove()
        if record:
            self.steps.append(seconds)
            self.parts["backbone"].append(backbone.seconds)
            self.parts["roi_pool"].append(timed_op.seconds)
            self.parts["rest"].append(seconds - backbone.seconds - timed_op.seconds)
        return loss.item()

    def median_ms(self) -> float:
        return statistics.median(self.steps) * 1000

    def parts_ms(self) -> dict[str, float]:
        return {part: round(statistics.median(values) * 1000, 1) for part, values in self.parts.items()}


def measure_steps(args, device: str, synchronise: Callable[[], None]) -> dict:
    network = QUICK_NETWORK if args.quick else NETWORK
    kinds = [("original", True, None), ("ours", False, None), ("ours_bf16", False, torch.bfloat16)]
    if device.startswith("cuda"):
        kinds.append(("ours_fp16", False, torch.float16))
    columns = [Column(name, original=original, amp=amp, device=device, synchronise=synchronise, network=network)
               for name, original, amp in kinds]
    data = make_batch(args.batch, args.proposals, args.size, device, torch.Generator().manual_seed(0))
    with timed_prroi_pool(synchronise) as timed_op:
        for column in columns:  # warm-up: oneDNN primitives, allocator, optimiser state
            column.step(data, timed_op, record=False)
        for _ in range(args.repeats):
            for column in columns:
                column.step(data, timed_op)
    return {column.name: column for column in columns}


def loss_check(steps: int, device: str, workdir: str) -> tuple[float, float, float]:
    """Mean IoU loss of the last 10 of ``steps`` atom_synthetic steps: float32, bfloat16, and the
    float32 control (Adam's other kernel)."""
    from ltr.data.loader import LTRLoader
    from ltr.data.sampler import ATOMSampler
    from ltr.dataset import SyntheticTracking
    from ltr.dataset.synthetic import SceneConfig, generate_dataset
    from ltr.settings import TrainSettings
    from ltr.train_settings.bbreg import atom_default, atom_synthetic

    generate_dataset(workdir, seed=0, train=12, val=1, config=SceneConfig(width=320, height=240, frames=40),
                     workers=1)
    settings = TrainSettings(module_name="bbreg", script_name="atom_synthetic", seed=0, device=device)
    atom_synthetic.configure(settings)
    sampler = ATOMSampler([SyntheticTracking(workdir, split="train")], [1],
                          samples_per_epoch=steps * settings.batch_size, max_gap=settings.max_gap,
                          processing=atom_default.processing(settings, training=True))
    loader = LTRLoader("train", sampler, training=True, batch_size=settings.batch_size, num_workers=0,
                       shuffle=True, drop_last=True, stack_dim=1, seed=settings.seed)
    loader.set_epoch(1)
    batches = [batch.to(device) for batch in loader]
    means = []
    runs = ((None, settings.adam_fused), (torch.bfloat16, settings.adam_fused), (None, not settings.adam_fused))
    for amp, fused in runs:
        torch.manual_seed(settings.seed)
        net = build_network(settings.network, **settings.network_kwargs).to(device)
        actor = AtomActor(net=net, objective=torch.nn.MSELoss(), **atom_default.template_loss(settings))
        actor.train()
        parameters = net.parameters() if settings.train_backbone else net.bb_regressor.parameters()
        optimizer = torch.optim.Adam(parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay,
                                     fused=True if fused else None)
        losses = []
        for data in batches:
            autocast = (torch.autocast(torch.device(device).type, dtype=amp) if amp is not None
                        else contextlib.nullcontext())
            with autocast:
                loss, stats = actor(data)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(stats["Loss/iou"])
        means.append(statistics.fmean(losses[-10:]))
    return means[0], means[1], means[2]


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a / b, 3)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8, help="image pairs per step (default 8)")
    parser.add_argument("--proposals", type=int, default=16, help="proposals per pair (default 16)")
    parser.add_argument("--size", type=int, default=288, help="image size in pixels (default 288)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per column (default 5)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch's CPU threads for the run (default: torch's own choice)")
    parser.add_argument("--quick", action="store_true",
                        help="batch 2, 64x64 images, 2 repeats, atom_resnet_tiny (width 8): seconds")
    parser.add_argument("--loss-check", type=int, nargs="?", const=50, default=None, metavar="STEPS",
                        help="also train atom_synthetic's network STEPS steps (default 50) in float32 and "
                             "bfloat16 and compare the losses")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.size, args.repeats = 2, 64, 2
        # One thread: a check of the code paths, not a measurement, and two threads on shared
        # cores stall on each other (spin-waits) far more than they gain.
        args.threads = 1 if args.threads is None else args.threads
    if args.loss_check is not None and args.loss_check < 10:
        parser.error(f"--loss-check needs at least 10 steps (it averages the last 10), not {args.loss_check}")
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    if not prroi_function.compiled_available(device):
        parser.error("the compiled PrRoIPool op is not built: run ./install.sh")

    def synchronise():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    threads = torch.get_num_threads()
    try:
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        return _run(args, device, synchronise)
    finally:
        torch.set_num_threads(threads)


def _run(args, device: str, synchronise: Callable[[], None]) -> dict:
    columns = measure_steps(args, device, synchronise)
    step_ms = {name: column.median_ms() for name, column in columns.items()}
    fp16_ms = step_ms.get("ours_fp16")
    figures = OrderedDict(
        quick=args.quick, device=device, threads=torch.get_num_threads(), batch=args.batch,
        proposals=args.proposals, image_size=args.size, repeats=args.repeats,
        original_step_ms=round(step_ms["original"], 1), ours_step_ms=round(step_ms["ours"], 1),
        ours_bf16_step_ms=round(step_ms["ours_bf16"], 1),
        ours_fp16_step_ms=None if fp16_ms is None else round(fp16_ms, 1),
        original_samples_per_s=round(args.batch / step_ms["original"] * 1000, 2),
        ours_samples_per_s=round(args.batch / step_ms["ours"] * 1000, 2),
        ours_over_original=_ratio(step_ms["ours"], step_ms["original"]),
        ours_bf16_over_original=_ratio(step_ms["ours_bf16"], step_ms["original"]),
        ours_fp16_over_original=_ratio(fp16_ms, step_ms["original"]),
        original_over_ours=_ratio(step_ms["original"], step_ms["ours"]),
        parts_ms={name: column.parts_ms() for name, column in columns.items()},
        loss_check_steps=args.loss_check, loss_fp32_last10=None, loss_bf16_last10=None,
        loss_bf16_over_fp32_minus_1=None, loss_fp32_control_last10=None, loss_control_over_fp32_minus_1=None)

    print(f"atom_default training step: {args.batch} pairs x {args.proposals} proposals, {args.size}x{args.size}, "
          f"on {device} ({torch.get_num_threads()} threads), median of {args.repeats}, interleaved")
    print(f"  {'column':<12}{'step ms':>10}{'/original':>11}{'backbone':>10}{'roi pool':>10}{'rest':>10}")
    for name, column in columns.items():
        parts = column.parts_ms()
        print(f"  {name:<12}{step_ms[name]:10.1f}{step_ms[name] / step_ms['original']:11.3f}"
              f"{parts['backbone']:10.1f}{parts['roi_pool']:10.1f}{parts['rest']:10.1f}")

    if args.loss_check is not None:
        with tempfile.TemporaryDirectory(prefix="train_step_loss_check_") as workdir:
            fp32, bf16, control = loss_check(args.loss_check, device, workdir)
        relative = bf16 / fp32 - 1 if fp32 else math.nan
        drift = control / fp32 - 1 if fp32 else math.nan
        figures.update(loss_fp32_last10=round(fp32, 5), loss_bf16_last10=round(bf16, 5),
                       loss_bf16_over_fp32_minus_1=round(relative, 4), loss_fp32_control_last10=round(control, 5),
                       loss_control_over_fp32_minus_1=round(drift, 4))
        print(f"  loss check, atom_synthetic network, {args.loss_check} steps: mean IoU loss of the last 10 "
              f"float32 {fp32:.5f}, bfloat16 {bf16:.5f}, relative difference {relative:+.2%} (target within 2%); "
              f"float32 control (Adam's other kernel) {control:.5f}, {drift:+.2%}")
    figures = dict(figures)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
