"""The settings object that ``ltr/run_training.py`` hands to an experiment's ``run(settings)``.

It starts with the run's identity and options (module and script name, seed, device, mixed
precision, resume, distributed rank) and the environment's paths; the experiment adds its own
fields (batch size, search area factor, ...). Checkpoints keep its plain values.

Every setting that code reads is declared in :data:`SETTINGS`; setting any other name (a typo,
a leftover nothing reads) raises :class:`UnknownSettingError`, naming it, the file that set it
and the closest declared names. Names starting with '_' are an experiment's own scratch values,
never checked."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from admin.environment import EnvSettings, env_settings
from ltr.declarations import UnknownNameError, caller_file, describe_unknown, unknown_names

PLAIN = (str, int, float, bool, type(None))

# Each setting code reads, and what reads it. A new setting is declared here with its reader;
# tests/ltr/test_settings.py fails for a name that no code reads.
SETTINGS: dict[str, str] = {
    # The run (TrainSettings' constructor, from ltr/run_training.py's options).
    "module_name": "run folder", "script_name": "run folder", "project_path": "checkpoint and TensorBoard folders",
    "seed": "loaders, network initialisation", "device": "trainer", "amp": "trainer (mixed precision)",
    "resume": "trainer", "rank": "trainer", "world_size": "trainer", "local_rank": "trainer",
    "env": "datasets (admin/local.py paths)",
    # LTRTrainer.
    "print_interval": "trainer: iterations between progress lines",
    "keep_checkpoints": "trainer: checkpoints kept",
    "grad_clip_norm": "trainer: gradient clipping",
    "normalize_mean": "trainer (checkpoint's input normalisation), transforms",
    "normalize_std": "trainer (checkpoint's input normalisation), transforms",
    # The ATOM IoU-Net recipe (ltr/train_settings/bbreg/atom_default.py train()).
    "batch_size": "loaders (per rank)", "num_workers": "loaders", "epochs": "trainer.train",
    "search_area_factor": "processing", "feature_sz": "output_sz in the recipe", "output_sz": "processing",
    "center_jitter_factor": "processing", "scale_jitter_factor": "processing", "proposal_params": "processing",
    "grayscale_probability": "transforms", "flip_probability": "transforms", "brightness_jitter": "transforms",
    "max_gap": "sampler", "train_samples_per_epoch": "sampler", "val_samples_per_epoch": "sampler",
    "val_epoch_interval": "validation loader", "network": "network registry", "network_kwargs": "network registry",
    "train_backbone": "optimiser", "learning_rate": "optimiser", "weight_decay": "optimiser",
    "lr_step": "scheduler", "lr_gamma": "scheduler", "template_loss_weight": "actor",
    "template_loss_layer": "actor", "template_loss_stride": "actor",
}


class UnknownSettingError(UnknownNameError):
    """A training setting that no code reads was set (a ValueError)."""


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

    def __setattr__(self, name: str, value) -> None:
        if unknown_names([name], SETTINGS):
            # Named by the file that set it: the experiment (or a base it calls), not this one.
            files = {name: caller_file(1)}
            experiment = f"ltr/train_settings/{self.__dict__.get('module_name')}/{self.__dict__.get('script_name')}.py"
            raise UnknownSettingError(f"training settings of {experiment}: "
                                      + describe_unknown("setting", files, SETTINGS, "no code reads",
                                                         "SETTINGS in ltr/settings.py"), files)
        super().__setattr__(name, value)

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
