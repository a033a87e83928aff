"""The trainer: epochs over loaders, optimiser steps, checkpoints, resume, statistics.

It knows nothing of networks: the actor turns a batch into ``(loss, stats)``. Each epoch runs
every loader whose ``epoch_interval`` divides the epoch number, with a sample stream fixed by
(seed, rank, epoch), so that a run resumed from a checkpoint continues exactly as an
uninterrupted one. Only rank 0 writes logs, TensorBoard files and checkpoints.

Checkpoints are ``<Net>_ep<epoch>.pth.tar`` in the run's folder. A new run refuses a folder that
already holds some (continue with ``resume``, or start a run of another ``run_name``); a resumed
run takes the newest readable one (or ``resume_checkpoint``), and rotation keeps the newest by
epoch. Ctrl-C ends training with :class:`TrainingInterrupted`, naming what was kept.

An objective with parameters (``BaseActor.objective`` a module that learns, e.g. FairMOT's
identity classifier and loss weights) is moved to the device, wrapped in DistributedDataParallel
across ranks like the network, saved under ``"objective"`` and restored on resume; a checkpoint
without it (written before) still resumes, the objective keeping its initial values.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import re
import sys
import time
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from ltr.actors.base_actor import BaseActor, objective_with_parameters
from ltr.trainers.schedules import EpochHook, LinearWarmup
from ltr.data.loader import LTRLoader
from ltr.fileio import atomic_write_bytes, stale_temporaries
from ltr.models.loading import (CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, input_normalization, load_checkpoint,
                                save_checkpoint, state_differences)
from ltr.settings import TrainSettings

logger = logging.getLogger(__name__)

AMP_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}
# Settings that describe the run, not the network or the recipe: a checkpoint's differing
# values of these say nothing about why its weights do not fit.
RUN_SETTINGS = {"module_name", "script_name", "project_path", "run_name", "seed", "device", "amp", "resume",
                "resume_checkpoint", "rank", "world_size", "local_rank", "env", "print_interval", "num_workers",
                "keep_checkpoints", "epochs"}


class TrainingError(RuntimeError):
    """A training run that cannot go on as asked; the message says what to do (one line)."""


class NonFiniteLossError(TrainingError):
    """The loss became NaN or infinite: training stops rather than corrupt the network."""


class CheckpointsExistError(TrainingError):
    """A new run was started in a folder holding an earlier run's checkpoints."""


class CheckpointMismatchError(TrainingError):
    """A checkpoint to resume from does not fit the network or optimiser being trained."""


class TrainingInterrupted(TrainingError):
    """Training was stopped by Ctrl-C (SIGINT); the message names the checkpoint kept."""


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
    input normalisation of the training transforms), which checkpoints record for the trackers.

    ``lr_scheduler`` steps once per epoch; ``warmup`` (:class:`LinearWarmup`) scales the
    learning rate over the first training iterations; each of ``hooks`` runs after every
    training epoch (an evaluation), its figures logged and kept beside the loaders' statistics."""

    def __init__(self, actor: BaseActor, loaders: list[LTRLoader], optimizer: torch.optim.Optimizer,
                 settings: TrainSettings, lr_scheduler=None, *, warmup: LinearWarmup | None = None,
                 hooks: Sequence[EpochHook] = ()):
        self.actor = actor
        self.warmup = warmup
        self.hooks = list(hooks)
        self.loaders = loaders
        self.optimizer = optimizer
        self.settings = settings
        self.lr_scheduler = lr_scheduler
        self.epoch = 0
        self.stats: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        # Per loader, the share of its last epoch spent waiting for batches (see cycle_dataset).
        self.data_wait_share: dict[str, float] = {}
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
        self.max_epochs = 0  # set by train()
        self._run_started = time.perf_counter()
        self._batches_done = 0  # in this process, for the run's ETA
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
        objective = objective_with_parameters(actor.objective)
        if (settings.distributed and objective is not None
                and not isinstance(actor.objective, torch.nn.parallel.DistributedDataParallel)):
            # An objective that learns (FairMOT's identity classifier) averages its gradients too.
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            actor.objective = torch.nn.parallel.DistributedDataParallel(objective, device_ids=device_ids)

    # Training ------------------------------------------------------------------------------

    def train(self, max_epochs: int, load_latest: bool = False) -> None:
        """Train up to epoch ``max_epochs``. Resumes from ``settings.resume_checkpoint`` when set,
        else from the newest readable checkpoint when ``load_latest`` (or the settings' ``resume``)
        is set; a new run refuses a folder that holds checkpoints (:class:`CheckpointsExistError`).
        Ctrl-C raises :class:`TrainingInterrupted`."""
        self.max_epochs = max_epochs
        if self.settings.is_main_process:
            self._check_checkpoint_folder()
            self._remove_stale_temporaries()
            self._log_settings()
        explicit = getattr(self.settings, "resume_checkpoint", None)
        if explicit is not None:
            self.load_checkpoint(explicit)
        elif load_latest or getattr(self.settings, "resume", False):
            self.load_latest_readable()
        else:
            self._refuse_existing_checkpoints()
        self._run_started = time.perf_counter()
        self._batches_done = 0
        try:
            for epoch in range(self.epoch + 1, max_epochs + 1):
                self.epoch = epoch
                self.train_epoch()
                self._run_hooks()
                if self.lr_scheduler is not None:
                    self.lr_scheduler.step()
                if self.settings.is_main_process:
                    self.save_checkpoint()
        except KeyboardInterrupt:
            raise TrainingInterrupted(self._interrupted_message()) from None
        finally:
            for writer in self.writers.values():
                writer.close()
        # Release DistributedDataParallel (its reducer holds on to the process group) while the
        # group still exists; the actor keeps the trained network.
        self.actor.net = _unwrap(self.actor.net)
        if isinstance(self.actor.objective, torch.nn.Module):
            self.actor.objective = _unwrap(self.actor.objective)

    def _resume_command(self) -> str:
        settings = self.settings
        run_name = getattr(settings, "run_name", None)
        return (f"python ltr/run_training.py {settings.module_name} {settings.script_name}"
                + (f" --run-name {run_name}" if run_name else "") + " --resume")

    def _interrupted_message(self) -> str:
        kept = self.checkpoints()
        if kept:
            epoch, path = kept[-1]
            return (f"interrupted during epoch {self.epoch} of {self.max_epochs}: kept {path} (epoch {epoch}); "
                    f"continue with: {self._resume_command()}")
        return (f"interrupted during epoch {self.epoch} of {self.max_epochs}, before the first checkpoint: "
                f"nothing was kept in {self.checkpoint_dir}; start the run again")

    def _log_settings(self) -> None:
        overridden = set(getattr(self.settings, "overridden", ()))
        values = self.settings.as_plain_dict()
        values.pop("env", None)
        text = ", ".join(f"{name}={value!r}" + (" (--set)" if name in overridden else "")
                         for name, value in sorted(values.items()))
        logger.info("settings: %s", text)

    def _check_checkpoint_folder(self) -> None:
        """Fail before the first epoch, not after it, when checkpoints cannot be written."""
        try:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TrainingError(f"cannot create the checkpoint folder {self.checkpoint_dir} ({error.strerror}): "
                                f"make its parent writable, or set workspace_dir (admin/local.py) to a writable "
                                f"folder") from error
        if not os.access(self.checkpoint_dir, os.W_OK | os.X_OK):
            raise TrainingError(f"cannot write checkpoints to {self.checkpoint_dir} (permission denied): make it "
                                f"writable, or set workspace_dir (admin/local.py) to a writable folder")

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of a checkpoint write that a killed run left behind."""
        stale = stale_temporaries(self.checkpoint_dir, "*.pth.tar")
        for path in stale:
            path.unlink()
        if stale:
            logger.info("removed %d temporary file(s) of an interrupted checkpoint write in %s: %s", len(stale),
                        self.checkpoint_dir, ", ".join(p.name for p in stale))

    def _refuse_existing_checkpoints(self) -> None:
        # This network's checkpoints only: a recipe that trains two networks in one folder
        # (a detector, then a ReID network) starts the second beside the first's.
        existing = [path for _, path in self.checkpoints()]
        if existing:
            settings = self.settings
            raise CheckpointsExistError(
                f"{self.checkpoint_dir} already holds {len(existing)} {self._net_type()} checkpoint(s) of an earlier run "
                f"({existing[-1].name}, ...): continue it with --resume, or start a new run beside it with "
                f"--run-name NAME (python ltr/run_training.py {settings.module_name} {settings.script_name} "
                f"--run-name NAME); nothing was changed")

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
        with contextlib.ExitStack() as stack:
            bar = None
            if self._progress_bars():
                # Log lines go through tqdm.write, so that they do not break the bar.
                stack.enter_context(logging_redirect_tqdm())
                bar = stack.enter_context(tqdm(total=batches, leave=False, dynamic_ncols=True,
                                               desc=f"{loader.name} epoch {self.epoch}/{self._max_epochs()}"))
            stack.enter_context(torch.set_grad_enabled(loader.training))
            # Time spent waiting for the loader's next batch. The loss check below waits for the
            # device every iteration, so this share of the epoch bounds the device's idle share
            # from above: well above 0, more loader workers would pay.
            waited = 0.0
            asked = time.perf_counter()
            for iteration, data in enumerate(loader, 1):
                waited += time.perf_counter() - asked
                data = data.to(self.device)
                with autocast:
                    loss, stats = self.actor(data)
                if not torch.isfinite(loss):
                    raise NonFiniteLossError(
                        f"the {loader.name} loss is {loss.item()} at epoch {self.epoch}, iteration {iteration}: "
                        f"training stopped; lower the learning rate or check the data "
                        f"(checkpoints up to epoch {self.epoch - 1} are in {self.checkpoint_dir})")
                if loader.training:
                    if self.warmup is not None:
                        self.warmup.before_iteration(self.optimizer, (self.epoch - 1) * batches + iteration - 1)
                    self.step(loss)
                batch_size = self.actor.batch_size(data, loader.stack_dim)
                samples += batch_size
                self._batches_done += 1
                for name, value in stats.items():
                    meters.setdefault(name, AverageMeter()).update(value, batch_size)
                if bar is not None:
                    bar.update()
                    bar.set_postfix({name: f"{meter.average:.4g}" for name, meter in meters.items()}, refresh=False)
                if iteration % self.print_interval == 0 or iteration == batches:
                    self._log_progress(loader, iteration, batches, samples, started, meters, waited)
                asked = time.perf_counter()
        self.data_wait_share[loader.name] = waited / max(time.perf_counter() - started, 1e-9)
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

    def _run_hooks(self) -> None:
        for hook in self.hooks:
            if self.epoch % hook.epoch_interval != 0:
                continue
            figures = hook.after_epoch(self)
            if not self.settings.is_main_process or not figures:
                continue
            for name, value in figures.items():
                self.stats[hook.name][name].append(float(value))
            writer = self.writers.get(hook.name)
            if writer is None and self.settings.is_main_process:
                from torch.utils.tensorboard import SummaryWriter

                writer = self.writers[hook.name] = SummaryWriter(str(Path(self.settings.tensorboard_dir) / hook.name))
            for name, value in figures.items():
                writer.add_scalar(name, float(value), self.epoch)
            logger.info("[%s, epoch %d of %d] %s", hook.name, self.epoch, self._max_epochs(),
                        ", ".join(f"{name}: {float(value):.5g}" for name, value in figures.items()))

    def _progress_bars(self) -> bool:
        """Bars for a person watching (stderr is a terminal); logs and pipes keep the lines only."""
        return self.settings.is_main_process and sys.stderr.isatty()

    def _max_epochs(self) -> int:
        return max(self.max_epochs, self.epoch)

    def _batches_left(self, loader: LTRLoader, iteration: int, batches: int) -> int:
        """Batches left in the run after ``iteration`` of ``loader`` in this epoch."""
        index = self.loaders.index(loader) if loader in self.loaders else len(self.loaders)
        left = batches - iteration
        left += sum(len(later) for later in self.loaders[index + 1:] if self.epoch % later.epoch_interval == 0)
        for epoch in range(self.epoch + 1, self._max_epochs() + 1):
            left += sum(len(each) for each in self.loaders if epoch % each.epoch_interval == 0)
        return left

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

    def _log_progress(self, loader, iteration, batches, samples, started, meters, waited: float) -> None:
        if not self.settings.is_main_process:
            return
        now = time.perf_counter()
        elapsed = now - started
        rate = samples / elapsed if elapsed > 0 else float("nan")
        wait_share = waited / elapsed if elapsed > 0 else float("nan")
        eta = elapsed / iteration * (batches - iteration)
        # The whole run's ETA from this run's pace so far (batches of every loader alike).
        run_elapsed = now - self._run_started
        done = max(1, self._batches_done)
        total_eta = run_elapsed / done * self._batches_left(loader, iteration, batches)
        values = ", ".join(f"{name}: {meter.average:.5f}" for name, meter in meters.items())
        logger.info("[%s, epoch %d of %d] %d/%d, %.1f samples/s, waiting for data %.0f%%, ETA %s (total ETA %s): %s",
                    loader.name, self.epoch, self._max_epochs(), iteration, batches,
                    rate * max(1, self.settings.world_size), 100 * wait_share, _duration(eta), _duration(total_eta),
                    values)

    # Checkpoints ---------------------------------------------------------------------------

    def _net_type(self) -> str:
        return type(_unwrap(self.actor.net)).__name__

    def checkpoint_path(self, epoch: int) -> Path:
        return self.checkpoint_dir / f"{self._net_type()}_ep{epoch:04d}.pth.tar"

    def publish(self, target: str | os.PathLike) -> Path:
        """Copy the checkpoint of the last epoch trained to ``target`` (written atomically), where
        trackers load it from (``network_path``); returns ``target``."""
        source = self.checkpoint_path(self.epoch)
        target = Path(target)
        atomic_write_bytes(target, source.read_bytes())
        logger.info("%s (epoch %d) copied to %s", source.name, self.epoch, target)
        return target

    def checkpoints(self) -> list[tuple[int, Path]]:
        """This network's checkpoints in the run's folder as (epoch, path), oldest epoch first
        (by number: ep10000 comes after ep9999)."""
        if not self.checkpoint_dir.is_dir():
            return []
        pattern = re.compile(rf"{re.escape(self._net_type())}_ep(\d+)\.pth\.tar")
        found = []
        for path in self.checkpoint_dir.iterdir():
            match = pattern.fullmatch(path.name)
            if match and path.is_file():
                found.append((int(match.group(1)), path))
        return sorted(found)

    def save_checkpoint(self) -> Path:
        net = _unwrap(self.actor.net)
        checkpoint = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
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
        objective = objective_with_parameters(self.actor.objective)
        if objective is not None:
            checkpoint["objective"] = objective.state_dict()
        path = self.checkpoint_path(self.epoch)
        save_checkpoint(path, checkpoint)
        logger.info("saved %s", path)
        # Keep the newest by epoch, this one included; later epochs (a run resumed from an
        # earlier checkpoint on purpose) are left alone: this run overwrites them as it goes.
        earlier = [old for epoch, old in self.checkpoints() if epoch < self.epoch]
        for old in earlier[:max(0, len(earlier) - (self.keep_checkpoints - 1))]:
            old.unlink()
        return path

    def latest_checkpoint(self) -> Path | None:
        found = self.checkpoints()
        return found[-1][1] if found else None

    def load_latest_readable(self) -> bool:
        """Resume from the newest checkpoint that reads; each newer unreadable one is named in a
        warning. Returns False when there is none (training starts at epoch 1)."""
        found = self.checkpoints()
        if not found:
            logger.info("no checkpoint in %s: starting from epoch 1", self.checkpoint_dir)
            return False
        failures = []
        for _, path in reversed(found):
            try:
                checkpoint = load_checkpoint(path)
            except CheckpointError as error:
                failures.append(path)
                logger.warning("cannot resume from %s (%s): trying the previous checkpoint", path,
                               str(error).splitlines()[0])
                continue
            if failures:
                logger.warning("resuming from %s, the newest readable checkpoint; unreadable: %s", path,
                               ", ".join(p.name for p in failures))
            self._restore(path, checkpoint)
            return True
        raise TrainingError(f"no checkpoint in {self.checkpoint_dir} can be read ({', '.join(p.name for p in failures)}): "
                            f"pick one with --checkpoint PATH, or start a new run with --run-name NAME")

    def load_checkpoint(self, path: str | Path | None = None) -> bool:
        """Restore network, optimiser, scheduler, scaler, random state, epoch and statistics
        from ``path`` (default: the newest readable checkpoint). Returns False when there is
        none."""
        if path is None:
            return self.load_latest_readable()
        path = Path(path)
        self._restore(path, load_checkpoint(path))
        return True

    def _restore(self, path: Path, checkpoint: dict) -> None:
        if checkpoint.get("net_type") != self._net_type():
            raise CheckpointMismatchError(f"{path} holds a {checkpoint.get('net_type')}, not the {self._net_type()} "
                                          f"this experiment trains: {self._mismatch_advice(checkpoint)}")
        net = _unwrap(self.actor.net)
        differences = state_differences(net, checkpoint["net"])
        if differences:
            raise CheckpointMismatchError(f"{path} does not fit the network being trained: {differences.describe()}; "
                                          f"{self._mismatch_advice(checkpoint)}")
        objective = objective_with_parameters(self.actor.objective)
        if objective is not None:
            if checkpoint.get("objective") is None:
                # A checkpoint of a trainer without objective support: the objective starts afresh.
                logger.warning("%s holds no state of the objective (%s): its parameters start from their initial "
                               "values", path, type(objective).__name__)
            else:
                differences = state_differences(objective, checkpoint["objective"])
                if differences:
                    raise CheckpointMismatchError(
                        f"{path}: its objective ({type(objective).__name__}) does not fit this run's: "
                        f"{differences.describe()}; {self._mismatch_advice(checkpoint)}")
        net.load_state_dict(checkpoint["net"])
        if objective is not None and checkpoint.get("objective") is not None:
            objective.load_state_dict(checkpoint["objective"])
        try:
            self.optimizer.load_state_dict(checkpoint["optimizer"])
        except (ValueError, KeyError) as error:  # other parameter groups: another recipe
            raise CheckpointMismatchError(f"{path}: its optimiser state does not fit this run's ({error}); "
                                          f"{self._mismatch_advice(checkpoint)}") from error
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

    def _mismatch_advice(self, checkpoint: dict) -> str:
        """The recipe settings that differ between the checkpoint and this run, and what to do."""
        recorded = checkpoint.get("settings") or {}
        current = self.settings.as_plain_dict()
        differing = [f"{name}={recorded[name]!r} there, {current.get(name)!r} now" for name in sorted(recorded)
                     if name not in RUN_SETTINGS and name in current and recorded[name] != current[name]]
        which = f"it was trained with {'; '.join(differing[:4])}" if differing else "it was trained by another recipe"
        return f"{which}: resume with its settings (--set NAME=VALUE), or start a new run with --run-name NAME"


def _duration(seconds: float) -> str:
    """``95`` as ``1m35s``; ``3725`` as ``1h02m``."""
    if not math.isfinite(seconds):
        return "?"
    seconds = math.ceil(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
