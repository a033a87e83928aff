"""The settings object that ``ltr/run_training.py`` hands to an experiment's ``run(settings)``.

It starts with the run's identity and options (module and script name, seed, device, mixed
precision, resume, distributed rank) and the environment's paths; the experiment adds its own
fields (batch size, search area factor, ...). Checkpoints keep its plain values.

Every setting that code reads is declared in :data:`SETTINGS`; setting any other name (a typo,
a leftover nothing reads) raises :class:`UnknownSettingError`, naming it, the file that set it
and the closest declared names. Names starting with '_' are an experiment's own scratch values,
never checked.

Overrides (``run_training.py ... --set epochs=1 batch_size=4``) are set first and win: the
experiment's own assignment of an overridden name is ignored, after checking that the override
has the type of the experiment's value (an int for an int, a number for a float, ...)."""

from __future__ import annotations

import ast
import logging
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from admin.environment import EnvSettings, env_settings
from ltr.declarations import UnknownNameError, caller_file, describe_unknown, unknown_names

logger = logging.getLogger(__name__)

PLAIN = (str, int, float, bool, type(None))

# Each setting code reads, and what reads it. A new setting is declared here with its reader;
# tests/ltr/test_settings.py fails for a name that no code reads.
SETTINGS: dict[str, str] = {
    # The run (TrainSettings' constructor, from ltr/run_training.py's options).
    "module_name": "run folder", "script_name": "run folder", "project_path": "checkpoint and TensorBoard folders",
    "run_name": "run folder (--run-name: a new run beside the experiment's default one)",
    "resume_checkpoint": "trainer (--checkpoint: the checkpoint to resume from)",
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
    "train_backbone": "optimiser", "adam_fused": "optimiser (Adam's fused kernel)", "learning_rate": "optimiser",
    "weight_decay": "optimiser",
    "lr_step": "scheduler", "lr_gamma": "scheduler", "template_loss_weight": "actor",
    "template_loss_layer": "actor", "template_loss_stride": "actor",
    # SGD, warm-up and step schedule (the Tracktor detector and ReID recipes).
    "momentum": "optimiser (SGD)", "warmup_iterations": "trainer (linear warm-up)",
    "warmup_ratio": "trainer (linear warm-up)", "lr_milestones": "scheduler (MultiStepLR epochs)",
    # The ReID recipes (ltr/train_settings/tracktor/reid_r50_mot17.py).
    "reid_ids_per_batch": "ReID sampler", "reid_crops_per_id": "ReID sampler", "reid_triplet_margin": "ReID actor",
    "reid_vis_threshold": "ReID data (mot2reid)", "reid_min_per_person": "ReID data (mot2reid)",
    "reid_max_per_person": "ReID data (mot2reid)", "reid_val_split": "ReID data (mot2reid)",
    "reid_val_max_crops": "ReID validation hook",
    # The Tracktor detector recipes (ltr/train_settings/tracktor/faster_rcnn_*.py, tracktor_synthetic.py).
    "detector_weights": "detector initialisation (COCO weights file in pretrained_networks)",
    "img_scale": "detection pipeline (Resize)", "ratio_range": "detection pipeline (Resize)",
    "crop_size": "detection pipeline (RandomCrop)", "photometric_distortion": "detection pipeline",
    "size_divisor": "detection pipeline (Pad)", "ap_max_dets": "bbox AP hook",
    "track_eval": "track-metrics hook (checkpoint_eval command)",
    # The FairMOT recipes (ltr/train_settings/fairmot/base.py).
    "data_config": "FairMOT training data (a data config JSON in jde_data_dir)",
    "load_model": "FairMOT network initialisation (a weights file in network_path or pretrained_networks)",
    "input_size": "FairMOT data pipeline (letterbox width, height)", "max_objs": "FairMOT targets (K)",
    "hsv_fraction": "FairMOT data pipeline (HSV augmentation)", "affine": "FairMOT data pipeline (random affine)",
    "clip_boxes": "FairMOT data pipeline (boxes clipped after the affine, MOT20)",
    "objective_kwargs": "FairMOT loss (weights and initial uncertainties)",
}


# Set by the run itself or by their own options of run_training.py, never by --set.
NOT_OVERRIDABLE = {"module_name": "the experiment's module", "script_name": "the experiment's name",
                   "project_path": "--run-name", "run_name": "--run-name", "env": "admin/local.py",
                   "rank": "torchrun", "world_size": "torchrun", "local_rank": "torchrun", "seed": "--seed",
                   "device": "--device", "amp": "--amp", "resume": "--resume", "resume_checkpoint": "--checkpoint"}
OVERRIDE_SOURCE = "the command line (--set)"


class UnknownSettingError(UnknownNameError):
    """A training setting that no code reads was set (a ValueError)."""


class OverrideError(ValueError):
    """A --set override that is malformed or of the wrong type for its setting."""


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["epochs=1", "proposal_params={'min_iou': 0.2}"]`` as ``{name: value}``: each value a
    Python literal (number, bool, None, list, dict, quoted string) or, when it is none, the
    text itself."""
    values: dict[str, Any] = {}
    for item in items:
        name, separator, text = item.partition("=")
        name = name.strip()
        if not separator or not name.isidentifier():
            raise OverrideError(f"--set {item!r}: write NAME=VALUE, e.g. --set epochs=1 train_samples_per_epoch=32")
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            value = text  # an unquoted word: a string setting (network=atom_resnet18)
        values[name] = _Override(value, text)
    return values


class _Override:
    """An override's value and the text it was given as (kept for string settings: --set
    name=123 on a string setting means the text '123')."""

    def __init__(self, value: Any, text: str | None = None):
        self.value, self.text = value, text


def _fit_type(name: str, override: _Override, default: Any, file: str) -> Any:
    """The override as the type of the experiment's ``default`` value, or OverrideError."""
    value = override.value
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = True
        value = value if isinstance(value, str) else (override.text if override.text is not None else str(value))
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple))
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    else:
        ok = True  # an object: the experiment decides what it accepts
    if not ok:
        given = override.text if override.text is not None else repr(override.value)
        raise OverrideError(f"--set {name}={given}: {file} sets {name} to a {type(default).__name__} "
                            f"({default!r}); give a {type(default).__name__}")
    return value


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
                 local_rank: int = 0, env: EnvSettings | None = None, run_name: str | None = None,
                 resume_checkpoint: str | os.PathLike | None = None, overrides: Mapping[str, Any] | None = None):
        super().__setattr__("_overrides", {})
        self.module_name = module_name
        self.script_name = script_name
        if run_name is not None and (not run_name or "/" in run_name or run_name.startswith(".")):
            raise OverrideError(f"--run-name {run_name!r}: give a plain folder name (no '/', not starting with '.')")
        self.run_name = run_name
        # A named run lives beside the experiment's default one: ltr/bbreg/atom_default-NAME.
        self.project_path = f"ltr/{module_name}/{script_name}" + (f"-{run_name}" if run_name else "")
        self.resume_checkpoint = resume_checkpoint
        self.seed = seed
        self.device = device
        self.amp = amp
        self.resume = resume
        self.rank = rank
        self.world_size = world_size
        self.local_rank = local_rank
        self.env = env if env is not None else env_settings()
        if overrides:
            self.apply_overrides(overrides)

    def apply_overrides(self, overrides: Mapping[str, Any]) -> None:
        """Set ``overrides`` ({name: value}, values typed, or parsed by :func:`parse_overrides`)
        so that they win over what the experiment sets later. Unknown names raise
        :class:`UnknownSettingError`, the run's own fields :class:`OverrideError`."""
        unknown = unknown_names(overrides, SETTINGS)
        if unknown:
            files = {name: OVERRIDE_SOURCE for name in unknown}
            raise UnknownSettingError(describe_unknown("setting", files, SETTINGS, "no code reads",
                                                       "SETTINGS in ltr/settings.py"), files)
        for name, override in overrides.items():
            if name in NOT_OVERRIDABLE:
                raise OverrideError(f"--set {name}: {name} is not set by --set; use {NOT_OVERRIDABLE[name]}")
            override = override if isinstance(override, _Override) else _Override(override)
            super().__setattr__(name, override.value)
            self._overrides[name] = override

    @property
    def overridden(self) -> list[str]:
        """The names set by overrides."""
        return list(self._overrides)

    def __setattr__(self, name: str, value) -> None:
        override = self.__dict__.get("_overrides", {}).get(name)
        if override is not None:
            # The experiment's value is its default: the override wins, converted to its type.
            file = caller_file(1)
            fitted = _fit_type(name, override, value, file)
            super().__setattr__(name, fitted)
            logger.debug("%s: %s=%r from --set instead of %r (%s)", self.project_path, name, fitted, value, file)
            return
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
        """<workspace_dir>/<module>/<name>[-<run name>]: the run's log."""
        return Path(self.env.workspace_dir) / Path(self.project_path).relative_to("ltr")

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.env.workspace_dir) / "checkpoints" / self.project_path

    @property
    def tensorboard_dir(self) -> Path:
        return Path(self.env.tensorboard_dir) / self.project_path

    def as_plain_dict(self) -> dict:
        """The settings' plain values (what a checkpoint keeps); objects are left out."""
        values = {name: _plain(value) for name, value in vars(self).items()
                  if name not in ("env", "_overrides")}
        values = {name: value for name, value in values.items()
                  if value is not None or getattr(self, name) is None}
        values["env"] = {row[0]: row[1] for row in self.env.describe()}
        return values
