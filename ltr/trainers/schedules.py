"""What the trainer runs besides epochs of loaders: a learning-rate warm-up over the first
iterations, and hooks after each epoch (evaluations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import torch

if TYPE_CHECKING:
    from ltr.trainers.ltr_trainer import LTRTrainer


class LinearWarmup:
    """mmcv's linear warm-up: over the first ``iterations`` training iterations (counted over
    the whole run) the learning rate of every parameter group rises linearly from ``ratio``
    times its regular value to the regular value::

        lr(i) = regular * (1 - (1 - i / iterations) * (1 - ratio)),  i = 0 .. iterations - 1

    and is the regular value from iteration ``iterations`` on. The regular value is the one the
    group has when the warm-up first touches it (kept in the group as ``warmup_regular_lr``, so
    that a run resumed during the warm-up continues it); the epoch scheduler should not change
    it before the warm-up ends."""

    def __init__(self, *, iterations: int, ratio: float):
        if iterations < 0:
            raise ValueError(f"warm-up iterations must be >= 0, not {iterations}")
        if not 0 < ratio <= 1:
            raise ValueError(f"warm-up ratio must be in (0, 1], not {ratio}")
        self.iterations = int(iterations)
        self.ratio = float(ratio)

    def factor(self, iteration: int) -> float:
        if iteration >= self.iterations:
            return 1.0
        return 1.0 - (1.0 - iteration / self.iterations) * (1.0 - self.ratio)

    def before_iteration(self, optimizer: torch.optim.Optimizer, iteration: int) -> None:
        """Set the learning rates for training iteration ``iteration`` (0-based, whole run)."""
        for group in optimizer.param_groups:
            if iteration < self.iterations:
                regular = group.setdefault("warmup_regular_lr", group["lr"])
                group["lr"] = regular * self.factor(iteration)
            elif "warmup_regular_lr" in group:
                group["lr"] = group.pop("warmup_regular_lr")


class EpochHook(Protocol):
    """Runs after training epochs whose number ``epoch_interval`` divides; returns figures
    (name -> number) that the trainer logs and stores under ``name`` (None or {}: nothing)."""

    name: str
    epoch_interval: int

    def after_epoch(self, trainer: "LTRTrainer") -> dict[str, float] | None: ...
