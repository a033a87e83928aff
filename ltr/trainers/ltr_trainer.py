"""The trainer: epochs over loaders, optimiser steps, checkpoints, resume, statistics.

It knows nothing of networks: the actor turns a batch into ``(loss, stats)``. Each epoch runs
every loader whose ``epoch_interval`` divides the epoch number, with a sample stream fixed by
(seed, rank, epoch), so that a run resumed from a checkpoint continues exactly as an
uninterrupted one. Only rank 0 writes logs, TensorBoard files and checkpoints.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections import OrderedDict, defaultdict
from pathlib import Path

import numpy as np
import torch

from ltr.actors.base_actor import BaseActor
from ltr.data.loader import LTRLoader
from ltr.models.loading import input_normalization, load_checkpoint, save_checkpoint
from ltr.settings import TrainSettings

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "tracking-toolkit-checkpoint"
AMP_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite: training stops rather than corrupt the network."""


class AverageMeter:
    """Running average of a statistic, weighted by batch size."""

    def __init__(self):
        self.total, self.count = 0.0, 0

    def update(self, value: float, weight: int = 1) -> None:
        self.total += value * weight
        self.count += weight

    @property
    def average(self) -> float:
        return self.total / self.count if self.count else float("nan")


def _unwrap(net: torch.nn.Module) -> torch.nn.Module:
    return net.module if isinstance(net, torch.nn.parallel.DistributedDataParallel) else net


def _rng_state() -> dict:
    """Every random generator a training step may use, as plain data and tensors."""
    numpy_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(numpy_state[1].astype(np.int64)), "pos": int(numpy_state[2]),
                  "has_gauss": int(numpy_state[3]), "cached_gaussian": float(numpy_state[4])},
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(("MT19937", numpy_state["keys"].numpy().astype(np.uint32), numpy_state["pos"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class LTRTrainer:
    """Trains ``actor`` with ``optimizer`` over ``loaders`` (see the module's docstring).

    From ``settings``: ``device`` (default CUDA when available, else CPU), ``amp`` (None,
    'bfloat16' or 'float16': mixed precision), ``grad_clip_norm`` (None: no clipping),
    ``keep_checkpoints`` (the last N are kept, default 3), ``print_interval`` (iterations
    between progress lines, default 10), ``seed``, ``rank`` / ``world_size``, the folders
    ``checkpoint_dir`` and ``tensorboard_dir``, and ``normalize_mean`` / ``normalize_std`` (the
    input normalisation of the training transforms), which checkpoints record for the trackers."""

    def __init__(self, actor: BaseActor, loaders: list[LTRLoader], optimizer: torch.optim.Optimizer,
                 settings: TrainSettings, lr_scheduler=None):
        self.actor = actor
        self.loaders = loaders
        self.optimizer = optimizer
        self.settings = settings
        self.lr_scheduler = lr_scheduler
        self.epoch = 0
        self.stats: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        device = getattr(settings, "device", None) or ("cuda" if torch.cuda.is_available() else "cpu")
        if device == "cuda" and settings.distributed:
            device = f"cuda:{settings.local_rank}"
        self.device = torch.device(device)
        self.amp = getattr(settings, "amp", None)
        if self.amp is not None and self.amp not in AMP_DTYPES:
            raise ValueError(f"amp must be None, 'bfloat16' or 'float16', got {self.amp!r}")
        if self.amp == "float16" and self.device.type != "cuda":
            raise ValueError("float16 mixed precision needs CUDA; use amp='bfloat16' on the CPU")
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == "float16")
        self.grad_clip_norm = getattr(settings, "grad_clip_norm", None)
        self.keep_checkpoints = int(getattr(settings, "keep_checkpoints", 3))
        self.print_interval = int(getattr(settings, "print_interval", 10))
        self.checkpoint_dir = Path(settings.checkpoint_dir)
        mean, std = getattr(settings, "normalize_mean", None), getattr(settings, "normalize_std", None)
        where = f"training settings {getattr(settings, 'project_path', '')}".rstrip()
        if (mean is None) != (std is None):
            raise ValueError(f"{where}: set both normalize_mean and normalize_std (the trackers normalise with what "
                             f"the checkpoint records), or neither")
        self.input_normalization = None if mean is None else input_normalization(
            mean, std, where=f"{where}: normalize_mean / normalize_std")
        self.writers = {}
        if settings.is_main_process:
            from torch.utils.tensorboard import SummaryWriter

            for loader in loaders:
                self.writers[loader.name] = SummaryWriter(str(Path(settings.tensorboard_dir) / loader.name))
        self.actor.to(self.device)
        if settings.distributed and not isinstance(actor.net, torch.nn.parallel.DistributedDataParallel):
            # Gradients are averaged over the ranks; each rank draws its own samples.
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            actor.net = torch.nn.parallel.DistributedDataParallel(actor.net, device_ids=device_ids)

    # Training ------------------------------------------------------------------------------

    def train(self, max_epochs: int, load_latest: bool = False) -> None:
        """Train up to epoch ``max_epochs``, first resuming from the latest checkpoint when
        ``load_latest`` (or the settings' ``resume``) is set and one exists."""
        if load_latest or getattr(self.settings, "resume", False):
            self.load_checkpoint()
        for epoch in range(self.epoch + 1, max_epochs + 1):
            self.epoch = epoch
            self.train_epoch()
            if self.lr_scheduler is not None:
                self.lr_scheduler.step()
            if self.settings.is_main_process:
                self.save_checkpoint()
        for writer in self.writers.values():
            writer.close()
        # Release DistributedDataParallel (its reducer holds on to the process group) while the
        # group still exists; the actor keeps the trained network.
        self.actor.net = _unwrap(self.actor.net)

    def train_epoch(self) -> None:
        for loader in self.loaders:
            if self.epoch % loader.epoch_interval == 0:
                if loader.seed is not None:
                    # Training draws a stream of its own per rank and epoch, the same after a
                    # resume; validation draws the same samples every time, so that its
                    # numbers compare across epochs.
                    stream = self.epoch if loader.training else 0
                    loader.set_epoch(stream * max(1, self.settings.world_size) + self.settings.rank)
                self.cycle_dataset(loader)

    def cycle_dataset(self, loader: LTRLoader) -> None:
        self.actor.train(loader.training)
        meters: dict[str, AverageMeter] = OrderedDict()
        started = time.perf_counter()
        samples = 0
        batches = len(loader)
        autocast = (torch.autocast(self.device.type, dtype=AMP_DTYPES[self.amp]) if self.amp
                    else contextlib.nullcontext())
        with torch.set_grad_enabled(loader.training):
            for iteration, data in enumerate(loader, 1):
                data = data.to(self.device)
                with autocast:
                    loss, stats = self.actor(data)
                if not torch.isfinite(loss):
                    raise NonFiniteLossError(
                        f"the {loader.name} loss is {loss.item()} at epoch {self.epoch}, iteration {iteration}: "
                        f"training stopped; lower the learning rate or check the data "
                        f"(checkpoints up to epoch {self.epoch - 1} are in {self.checkpoint_dir})")
                if loader.training:
                    self.step(loss)
                batch_size = data["train_images"].shape[loader.stack_dim]
                samples += batch_size
                for name, value in stats.items():
                    meters.setdefault(name, AverageMeter()).update(value, batch_size)
                if iteration % self.print_interval == 0 or iteration == batches:
                    self._log_progress(loader, iteration, batches, samples, started, meters)
        for name, meter in meters.items():
            average = meter.average
            if self.settings.distributed:
                average = self._mean_over_ranks(meter)
            self.stats[loader.name][name].append(average)
            if loader.name in self.writers:
                self.writers[loader.name].add_scalar(name, average, self.epoch)
        if loader.name in self.writers and loader.training:
            for index, group in enumerate(self.optimizer.param_groups):
                self.writers[loader.name].add_scalar(f"LearningRate/group{index}", group["lr"], self.epoch)

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.grad_clip_norm is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(_unwrap(self.actor.net).parameters(), self.grad_clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def _mean_over_ranks(self, meter: AverageMeter) -> float:
        totals = torch.tensor([meter.total, float(meter.count)], dtype=torch.float64,
                              device=self.device if self.device.type == "cuda" else "cpu")
        torch.distributed.all_reduce(totals)
        return (totals[0] / totals[1]).item()

    def _log_progress(self, loader, iteration, batches, samples, started, meters) -> None:
        if not self.settings.is_main_process:
            return
        elapsed = time.perf_counter() - started
        rate = samples / elapsed if elapsed > 0 else float("nan")
        eta = elapsed / iteration * (batches - iteration)
        values = ", ".join(f"{name}: {meter.average:.5f}" for name, meter in meters.items())
        logger.info("[%s epoch %d] %d/%d, %.1f samples/s, ETA %ds: %s", loader.name, self.epoch, iteration,
                    batches, rate * max(1, self.settings.world_size), math.ceil(eta), values)

    # Checkpoints ---------------------------------------------------------------------------

    def _net_type(self) -> str:
        return type(_unwrap(self.actor.net)).__name__

    def checkpoint_path(self, epoch: int) -> Path:
        return self.checkpoint_dir / f"{self._net_type()}_ep{epoch:04d}.pth.tar"

    def save_checkpoint(self) -> Path:
        net = _unwrap(self.actor.net)
        checkpoint = {
            "format": CHECKPOINT_FORMAT,
            "version": 1,
            "epoch": self.epoch,
            "net_type": self._net_type(),
            "actor_type": type(self.actor).__name__,
            "net": net.state_dict(),
            "constructor": getattr(net, "constructor", None),
            "optimizer": self.optimizer.state_dict(),
            "lr_scheduler": self.lr_scheduler.state_dict() if self.lr_scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            "rng_state": _rng_state(),
            "stats": {loader: dict(values) for loader, values in self.stats.items()},
            "settings": self.settings.as_plain_dict(),
            "input_normalization": self.input_normalization,
        }
        path = self.checkpoint_path(self.epoch)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(path, checkpoint)
        logger.info("saved %s", path)
        for old in sorted(self.checkpoint_dir.glob(f"{self._net_type()}_ep*.pth.tar"))[:-self.keep_checkpoints]:
            old.unlink()
        return path

    def latest_checkpoint(self) -> Path | None:
        paths = sorted(self.checkpoint_dir.glob(f"{self._net_type()}_ep*.pth.tar"))
        return paths[-1] if paths else None

    def load_checkpoint(self, path: str | Path | None = None) -> bool:
        """Restore network, optimiser, scheduler, scaler, random state, epoch and statistics
        from ``path`` (default: the latest checkpoint). Returns False when there is none."""
        path = Path(path) if path is not None else self.latest_checkpoint()
        if path is None:
            logger.info("no checkpoint in %s: starting from epoch 1", self.checkpoint_dir)
            return False
        checkpoint = load_checkpoint(path)
        if checkpoint.get("net_type") != self._net_type():
            raise ValueError(f"{path} holds a {checkpoint.get('net_type')}, not a {self._net_type()}")
        _unwrap(self.actor.net).load_state_dict(checkpoint["net"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        if self.lr_scheduler is not None and checkpoint.get("lr_scheduler") is not None:
            self.lr_scheduler.load_state_dict(checkpoint["lr_scheduler"])
        if checkpoint.get("scaler"):
            self.scaler.load_state_dict(checkpoint["scaler"])
        _set_rng_state(checkpoint["rng_state"])
        self.epoch = int(checkpoint["epoch"])
        self.stats = defaultdict(lambda: defaultdict(list))
        for loader, values in checkpoint.get("stats", {}).items():
            for name, series in values.items():
                self.stats[loader][name] = list(series)
        logger.info("resumed from %s (epoch %d)", path, self.epoch)
        return True
