"""Actors run a network on a batch and compute the training loss; trainers know nothing of
networks beyond what an actor offers."""

from __future__ import annotations

import torch

from ltr.data.tensordict import TensorDict


def objective_with_parameters(objective) -> torch.nn.Module | None:
    """``objective`` (unwrapped from DistributedDataParallel) when it is a module with parameters
    that training learns (FairMOT's identity classifier and loss weights), else None."""
    if isinstance(objective, torch.nn.parallel.DistributedDataParallel):
        objective = objective.module
    if isinstance(objective, torch.nn.Module) and any(True for _ in objective.parameters()):
        return objective
    return None


class BaseActor:
    """Holds the network and the objective; ``__call__`` returns ``(loss, stats)``, stats being
    a dict of floats with namespaced keys ('Loss/iou') that become TensorBoard tags.

    An objective that is a module goes to the device and follows train/eval with the network;
    one with parameters is trained too (the trainer checkpoints it and, across ranks, averages
    its gradients; the recipe puts its parameters in the optimiser)."""

    def __init__(self, net: torch.nn.Module, objective):
        self.net = net
        self.objective = objective

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def batch_size(self, data: TensorDict, stack_dim: int) -> int:
        """The number of samples in ``data`` (for statistics and progress): the size of its
        ``train_images`` along the loader's stacking dimension; actors of other batches say."""
        return int(data["train_images"].shape[stack_dim])

    def to(self, device: torch.device | str) -> "BaseActor":
        self.net.to(device)
        if isinstance(self.objective, torch.nn.Module):
            self.objective.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        self.net.train(mode)
        if isinstance(self.objective, torch.nn.Module):
            self.objective.train(mode)

    def eval(self) -> None:
        self.train(False)
