"""A tiny experiment in the shape of a train_settings module: linear regression from random
samples, through the real sampler-style dataset protocol, LTRLoader and LTRTrainer."""

import os
import time

import numpy as np
import torch

from ltr.actors import BaseActor
from ltr.data.loader import LTRLoader
from ltr.data.tensordict import TensorDict
from ltr.trainers import LinearWarmup, LTRTrainer

TRUE_WEIGHTS = torch.linspace(-1, 1, 8)


class RegressionSamples(torch.utils.data.Dataset):
    def __init__(self, count: int, features: int = 8):
        self.count = count
        self.features = features
        self.weights = torch.linspace(-1, 1, features)
        self.rng = np.random.default_rng(0)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        x = torch.from_numpy(self.rng.standard_normal(self.features).astype(np.float32))
        return TensorDict(train_images=x, target=(x * self.weights).sum(0, keepdim=True))


class RegressionActor(BaseActor):
    def __call__(self, data):
        prediction = self.net(data["train_images"])
        if getattr(self, "poison_at", None) == getattr(self, "calls", 0):
            prediction = prediction * float("nan")
        self.calls = getattr(self, "calls", 0) + 1
        if getattr(self, "step_delay", 0):
            time.sleep(self.step_delay)  # paces a run that a fault test interrupts
        loss = self.objective(prediction, data["target"])
        return loss, {"Loss/total": loss.item()}


class LearntWeighting(torch.nn.Module):
    """The squared error with a learnt log-weight, as FairMOT's uncertainty weights: an objective
    whose parameters train (TINY_LEARNT_OBJECTIVE=1 in the environment)."""

    def __init__(self):
        super().__init__()
        self.log_weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, prediction, target):
        return torch.exp(-self.log_weight) * torch.nn.functional.mse_loss(prediction, target) + self.log_weight


class RecordingWarmup(LinearWarmup):
    def before_iteration(self, optimizer, iteration):
        super().before_iteration(optimizer, iteration)
        self.seen.append(optimizer.param_groups[0]["lr"])


class WeightErrorHook:
    """An evaluation after each epoch: the distance of the learnt weights to the true ones."""
    name = "eval"
    epoch_interval = 1

    def after_epoch(self, trainer):
        return {"weight_error": float((trainer.actor.net.weight.detach()[0] - TRUE_WEIGHTS[:trainer.actor.net.in_features])
                                      .norm())}


def run(settings):
    settings.print_interval = 10  # the recipe's own value, which a --set of another type must not replace
    torch.manual_seed(settings.seed)
    # network_kwargs={"in_features": n} trains a network of another size (resume mismatch tests).
    features = (getattr(settings, "network_kwargs", None) or {}).get("in_features", 8)
    net = torch.nn.Linear(features, 1)
    learnt = os.environ.get("TINY_LEARNT_OBJECTIVE") == "1"
    actor = RegressionActor(net, LearntWeighting() if learnt else torch.nn.MSELoss())
    actor.poison_at = getattr(settings, "_poison_at", None)
    actor.step_delay = float(getattr(settings, "_step_delay", 0))
    loaders = [LTRLoader("train", RegressionSamples(getattr(settings, "train_samples_per_epoch", 64), features),
                         batch_size=8, seed=settings.seed, num_workers=getattr(settings, "num_workers", 0)),
               LTRLoader("val", RegressionSamples(32, features), training=False, batch_size=8, seed=settings.seed + 1,
                         epoch_interval=2)]
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.5)
    if learnt:
        optimizer.add_param_group({"params": actor.objective.parameters()})
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    warmup = None
    if getattr(settings, "_warmup_iterations", None):
        warmup = RecordingWarmup(iterations=settings._warmup_iterations, ratio=0.1)
        warmup.seen = []
    hooks = [WeightErrorHook()] if getattr(settings, "_hook", False) else []
    trainer = LTRTrainer(actor, loaders, optimizer, settings, scheduler, warmup=warmup, hooks=hooks)
    trainer.warmup_seen = warmup.seen if warmup is not None else None
    trainer.train(getattr(settings, "epochs", 4), load_latest=settings.resume)
    settings._trainer = trainer  # for the tests; '_': not a setting
