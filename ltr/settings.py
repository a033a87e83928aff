"""The settings object that ``ltr/run_training.py`` hands to an experiment's ``run(settings)``.

It starts with the run's identity and options (module and script name, seed, device, mixed
precision, resume, distributed rank) and the environment's paths; the experiment adds its own
fields (batch size, search area factor, ...). Checkpoints keep its plain values."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from admin.environment import EnvSettings, env_settings

PLAIN = (str, int, float, bool, type(None))


def _plain(value):
    """``value`` as plain data (numbers, strings, lists, dicts), or None when it has none."""
    if isinstance(value, PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return items if all(v is not None or o is None for v, o in zip(items, value)) else None
    if isinstance(value, dict):
        items = {str(k): _plain(v) for k, v in value.items()}
        return items if all(v is not None or value[k] is None for k, v in zip(value, items.values())) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return None


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (network initialisation draws from
    torch's), so that a run started again with the same seed repeats."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class TrainSettings:
    """Attributes set by the run and by the experiment; see the module's docstring."""

    def __init__(self, *, module_name: str, script_name: str, seed: int = 0, device: str | None = None,
                 amp: str | None = None, resume: bool = False, rank: int = 0, world_size: int = 1,
                 local_rank: int = 0, env: EnvSettings | None = None):
        self.module_name = module_name
        self.script_name = script_name
        self.project_path = f"ltr/{module_name}/{script_name}"
        self.seed = seed
        self.device = device
        self.amp = amp
        self.resume = resume
        self.rank = rank
        self.world_size = world_size
        self.local_rank = local_rank
        self.env = env if env is not None else env_settings()

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main_process(self) -> bool:
        """Only rank 0 writes logs, TensorBoard files and checkpoints."""
        return self.rank == 0

    @property
    def run_dir(self) -> Path:
        """<workspace_dir>/<module>/<name>: checkpoints and the run's log."""
        return Path(self.env.workspace_dir) / self.module_name / self.script_name

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.env.workspace_dir) / "checkpoints" / self.project_path

    @property
    def tensorboard_dir(self) -> Path:
        return Path(self.env.tensorboard_dir) / self.project_path

    def as_plain_dict(self) -> dict:
        """The settings' plain values (what a checkpoint keeps); objects are left out."""
        values = {name: _plain(value) for name, value in vars(self).items() if name != "env"}
        values = {name: value for name, value in values.items()
                  if value is not None or getattr(self, name) is None}
        values["env"] = {row[0]: row[1] for row in self.env.describe()}
        return values
