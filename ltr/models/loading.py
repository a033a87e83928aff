"""Checkpoints: saving and loading the toolkit's own, and rebuilding networks from them and from
checkpoints of the original pytracking release.

The toolkit's checkpoints are dicts of plain data that load with ``torch.load(weights_only=True)``::

    {"format": "tracking-toolkit-checkpoint", "version": 1, "epoch": int,
     "net": state_dict, "constructor": {"name": "atom_resnet18", "kwargs": {...}},
     "net_type": "ATOMnet", "actor_type": "AtomActor", "optimizer": state_dict,
     "lr_scheduler": state_dict or None, "rng_state": {...}, "stats": {...}, "settings": {...},
     "input_normalization": {"mean": [r, g, b], "std": [r, g, b]} or None}

``input_normalization`` is what the network was trained on: images scaled to 0..1, then
``(x - mean) / std`` per channel. Checkpoints written before it existed, and those of the
original release, record none: their networks were trained with ImageNet's.

Checkpoints of the original pytracking release pickle objects of its own classes
(``ltr.admin.model_constructor.NetConstructor``, ``ltr.admin.settings.Settings``, ...). They load
through torch's restricted ``weights_only`` unpickler, extended with plain stand-in classes
registered under those qualified names: a stand-in only receives the attributes of the object,
so no code named in a checkpoint ever runs, and any other class is refused with
:class:`UnsafeCheckpointError`.
"""

from __future__ import annotations

import errno
import inspect
import logging
import os
import pickle
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ltr.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from ltr.fileio import atomic_output
from ltr.models.registry import build_network, constructor_parameters, get_constructor, known_networks

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "tracking-toolkit-checkpoint"
CHECKPOINT_VERSION = 1

# Errors torch.load raises for files that are truncated, corrupt or no checkpoint at all.
_READ_ERRORS = (RuntimeError, EOFError, pickle.UnpicklingError, OSError, ValueError, KeyError, IndexError,
                zipfile.BadZipFile)
# Messages of torch's restricted unpickler that mean "a class or function it does not allow".
_REFUSALS = ("was not an allowed global", "whose module", "Trying to call reduce", "Can only build",
             "Can only create new object")


class CheckpointError(RuntimeError):
    """A file that is not a usable checkpoint; ``path`` names it."""

    def __init__(self, message: str, *, path: str | os.PathLike):
        super().__init__(message)
        self.path = Path(path)


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that names a class or function outside the allowed ones; ``name`` is it.
    Nothing of it was run."""

    def __init__(self, message: str, *, path: str | os.PathLike, name: str | None):
        super().__init__(message, path=path)
        self.name = name


class CheckpointNotFoundError(FileNotFoundError):
    """The checkpoint file does not exist."""


# The normalisation of every checkpoint that records none (ImageNet's, with which the published
# networks and the toolkit's older checkpoints were trained).
IMAGENET_NORMALIZATION = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}


def input_normalization(mean: Any, std: Any, *, where: str = "input_normalization") -> dict[str, list[float]]:
    """``{"mean": [r, g, b], "std": [r, g, b]}`` as plain floats, for a checkpoint; a ValueError
    naming ``where`` unless both are three finite numbers and every std is positive."""
    values = {}
    for key, given in (("mean", mean), ("std", std)):
        try:
            numbers = [float(v) for v in given]
        except (TypeError, ValueError):
            numbers = []
        if len(numbers) != 3 or not all(np.isfinite(numbers)) or (key == "std" and min(numbers) <= 0):
            raise ValueError(f"{where}: {key} must be three finite numbers (one per RGB channel, images scaled "
                             f"to 0..1){', all positive' if key == 'std' else ''}; got {given!r}")
        values[key] = numbers
    return values


# Saving ------------------------------------------------------------------------------------------

def save_checkpoint(path: str | os.PathLike, checkpoint: dict[str, Any]) -> Path:
    """Write ``checkpoint`` (``format`` and ``version`` are filled in when absent) to ``path``
    atomically: into a temporary file in the same folder, then renamed over ``path``, so that
    ``path`` is either the old file or the complete new one, with the permissions of any other
    output (the umask's). Refuses (leaving ``path`` as it was) a checkpoint holding objects that
    ``torch.load(weights_only=True)`` would not load. A failed write (a full disk, a folder that
    cannot be written) raises :class:`CheckpointWriteError` naming the file and the free space."""
    path = Path(path)
    if not isinstance(checkpoint, dict):
        raise TypeError(f"a checkpoint is a dict, got {type(checkpoint).__name__} (writing {path})")
    checkpoint = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **checkpoint}
    if checkpoint["format"] != CHECKPOINT_FORMAT:
        raise ValueError(f"writing {path}: format must be {CHECKPOINT_FORMAT!r}, got {checkpoint['format']!r}")

    def refuse_unsafe(temporary: Path) -> None:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(temporary)
        if unsafe:
            raise CheckpointError(
                f"not writing {path}: the checkpoint holds objects of {', '.join(sorted(unsafe))}, which "
                f"torch.load(weights_only=True) refuses; store plain values (numbers, strings, lists, dicts, "
                f"tensors) instead, e.g. numpy arrays as lists or tensors", path=path)

    try:
        with atomic_output(path, sync=True, before_rename=refuse_unsafe) as file:
            torch.save(checkpoint, file)
    except CheckpointError:
        raise
    except (OSError, RuntimeError) as error:
        # torch reports a failed write as "[enforce fail at inline_container.cc] ... file write
        # failed", naming no file and no cause: name both here.
        raise CheckpointWriteError(path, error) from error
    return path


def _free_space(folder: Path) -> str:
    """The free space of the file system holding ``folder`` (or its nearest existing parent)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError as error:
        return f"free space unknown ({error.strerror})"
    return f"{free / 2**20:.1f} MiB free"


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written; nothing of it was left behind."""

    def __init__(self, path: Path, error: BaseException):
        text = str(error)
        cause = error.strerror if isinstance(error, OSError) and error.strerror else text.splitlines()[0]
        if (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "write failed" in text \
                or "unexpected pos" in text:
            advice = ("the disk is probably full: free space there, or set workspace_dir (admin/local.py) "
                      "to another disk")
        elif isinstance(error, PermissionError):
            advice = "make the folder writable, or set workspace_dir (admin/local.py) to a writable folder"
        else:
            advice = "check the disk, or set workspace_dir (admin/local.py) to another folder"
        super().__init__(f"could not write checkpoint {path} ({cause}; {_free_space(path.parent)} in "
                         f"{path.parent}): {advice}; no partial file was left", path=path)


# Loading -----------------------------------------------------------------------------------------

def _torch_load(path: Path, map_location: Any) -> Any:
    """``torch.load(weights_only=True)`` with errors that name the file."""
    if not path.is_file():
        raise CheckpointNotFoundError(f"checkpoint {path} does not exist"
                                      + (" (it is a folder)" if path.is_dir() else ""))
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        text = str(error)
        match = re.search(r"GLOBAL (\S+) (?:was not an allowed global|whose module)", text)
        if match or any(refusal in text for refusal in _REFUSALS):
            name = match.group(1) if match else None
            what = f"the class or function {name}" if name else "an object"
            detail = "" if match else f" ({text.split('WeightsUnpickler error:')[-1].strip().splitlines()[0]})"
            if name and name.startswith(("ltr.admin.", "dlframework.")):
                advice = ("It is a checkpoint of the original pytracking release: rebuild its network with "
                          "ltr.models.loading.load_network (training cannot resume from it).")
            else:
                advice = ("Nothing of it was run. Use only checkpoints written by this toolkit or by the original "
                          "pytracking release.")
            raise UnsafeCheckpointError(
                f"refusing to load {path}: it names {what}{detail}, which is not among the plain data, torch "
                f"types and pytracking classes that checkpoints may hold. {advice}",
                path=path, name=name) from error
        raise CheckpointError(f"{path} is truncated or not a checkpoint ({error}); write it again or "
                              f"use another checkpoint", path=path) from error
    except _READ_ERRORS as error:
        raise CheckpointError(f"{path} is truncated or not a checkpoint ({type(error).__name__}: {error}); "
                              f"write it again or use another checkpoint", path=path) from error


def load_checkpoint(path: str | os.PathLike, *, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint of this toolkit with ``torch.load(weights_only=True)``; tensors go to
    ``map_location``. Raises :class:`CheckpointNotFoundError`, or :class:`CheckpointError` naming
    the file when it is truncated, corrupt, of another format or of a newer version."""
    path = Path(path)
    checkpoint = _torch_load(path, map_location)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        hint = ("; for a network of the original pytracking release use ltr.models.loading.load_network"
                if isinstance(checkpoint, dict) and "net" in checkpoint else "")
        raise CheckpointError(f"{path} is not a {CHECKPOINT_FORMAT} file{hint}", path=path)
    check_version(path, checkpoint)
    return checkpoint


def check_version(path: Path, checkpoint: dict[str, Any]) -> None:
    """Refuse a checkpoint of this toolkit's format written by a newer toolkit (or with no
    version): the one check for training's resume and for :func:`load_network`."""
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        return  # the original release's checkpoints have no version
    version = checkpoint.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {version!r}; this toolkit reads versions up to "
                              f"{CHECKPOINT_VERSION}: update the toolkit, or use a checkpoint this version wrote",
                              path=path)


class StateDifferences:
    """How a state dict differs from a network's: ``shapes`` maps each weight of another shape
    to (checkpoint's, network's); ``missing`` and ``unexpected`` are the keys only the network,
    or only the checkpoint, has."""

    def __init__(self, shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]], missing: list[str],
                 unexpected: list[str]):
        self.shapes, self.missing, self.unexpected = shapes, missing, unexpected

    def __bool__(self) -> bool:
        return bool(self.shapes or self.missing or self.unexpected)

    def describe(self, limit: int = 3) -> str:
        """One line: the counts and the first few of each kind."""
        def first(items: list[str]) -> str:
            return ", ".join(items[:limit]) + (", ..." if len(items) > limit else "")

        parts = []
        if self.shapes:
            shown = [f"{key} {list(a)} in the checkpoint, {list(b)} in the network"
                     for key, (a, b) in self.shapes.items()]
            parts.append(f"{len(self.shapes)} weight(s) of another shape ({first(shown)})")
        if self.missing:
            parts.append(f"{len(self.missing)} weight(s) missing from the checkpoint ({first(self.missing)})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} weight(s) the network does not have ({first(self.unexpected)})")
        return "; ".join(parts)


def state_differences(net: nn.Module, state: dict[str, Any]) -> StateDifferences:
    """Compare ``state`` with ``net.state_dict()`` by key and shape, before loading: torch's
    own message is one line per weight and names no file."""
    own = net.state_dict()
    shapes = {key: (tuple(value.shape), tuple(own[key].shape)) for key, value in state.items()
              if key in own and isinstance(value, torch.Tensor) and tuple(value.shape) != tuple(own[key].shape)}
    missing = [key for key in own if key not in state]
    unexpected = [key for key in state if key not in own]
    return StateDifferences(shapes, missing, unexpected)


# Checkpoints of the original pytracking release ---------------------------------------------------

class LegacyObject:
    """A plain stand-in for an object of a pytracking class: it holds the object's attributes
    and nothing else (no methods of the original run)."""

    legacy_names: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in sorted(vars(self).items()))
        return f"{type(self).__name__}({fields})"

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class LegacyNetConstructor(LegacyObject):
    """``ltr.admin.model_constructor.NetConstructor``: ``fun_name``, ``fun_module``, ``args``, ``kwds``."""

    legacy_names = ("ltr.admin.model_constructor.NetConstructor",
                    "dlframework.common.utils.model_constructor.NetConstructor")


class LegacySettings(LegacyObject):
    """``ltr.admin.settings.Settings``: the training settings."""

    legacy_names = ("ltr.admin.settings.Settings", "dlframework.common.utils.settings.Settings")


class LegacyEnvironmentSettings(LegacyObject):
    """``EnvironmentSettings`` of pytracking's ``ltr/admin/local.py``: the machine's paths."""

    legacy_names = ("ltr.admin.environment.EnvironmentSettings", "ltr.admin.local.EnvironmentSettings",
                    "dlframework.common.utils.local.EnvironmentSettings")


class LegacyAverageMeter(LegacyObject):
    """``ltr.admin.stats.AverageMeter``."""

    legacy_names = ("ltr.admin.stats.AverageMeter", "dlframework.common.utils.stats.AverageMeter")


class LegacyStatValue(LegacyObject):
    """``ltr.admin.stats.StatValue``."""

    legacy_names = ("ltr.admin.stats.StatValue", "dlframework.common.utils.stats.StatValue")


LEGACY_CLASSES = (LegacyNetConstructor, LegacySettings, LegacyEnvironmentSettings, LegacyAverageMeter,
                  LegacyStatValue)


def _numpy_globals() -> list[tuple[Any, str]]:
    """numpy arrays, scalars and dtypes, which settings and statistics may hold."""
    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    entries = []
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        entries += [(multiarray._reconstruct, f"{module}._reconstruct"), (multiarray.scalar, f"{module}.scalar")]
    entries += [(np.ndarray, "numpy.ndarray"), (np.dtype, "numpy.dtype")]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        entries += [(value, f"numpy.dtypes.{name}") for name, value in vars(dtypes).items()
                    if isinstance(value, type) and issubclass(value, np.dtype)]
    return entries


def legacy_safe_globals() -> list[tuple[Any, str]]:
    """What the restricted unpickler accepts beyond torch's own safe types: the stand-ins under
    the qualified names of pytracking's classes, and numpy arrays, scalars and dtypes."""
    return [(cls, name) for cls in LEGACY_CLASSES for name in cls.legacy_names] + _numpy_globals()


def load_legacy_checkpoint(path: str | os.PathLike, *, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint of the original pytracking release (or of this toolkit) through the
    restricted unpickler; pytracking's objects come back as :class:`LegacyObject` stand-ins."""
    path = Path(path)
    with torch.serialization.safe_globals(legacy_safe_globals()):
        checkpoint = _torch_load(path, map_location)
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} holds a {type(checkpoint).__name__}, not a checkpoint dict", path=path)
    check_version(path, checkpoint)
    return checkpoint


def _constructor_call(path: Path, checkpoint: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The constructor name and keyword arguments recorded in a checkpoint of either format."""
    constructor = checkpoint.get("constructor")
    if checkpoint.get("format") == CHECKPOINT_FORMAT:
        if not (isinstance(constructor, dict) and isinstance(constructor.get("name"), str)):
            raise CheckpointError(f"{path} records no network constructor ('constructor' is {constructor!r}); "
                                  f"it cannot be rebuilt without its training settings", path=path)
        return constructor["name"], dict(constructor.get("kwargs") or {})
    if isinstance(constructor, LegacyNetConstructor):
        name = getattr(constructor, "fun_name", None)
        module = getattr(constructor, "fun_module", None)
        args = tuple(getattr(constructor, "args", ()) or ())
        kwargs = dict(getattr(constructor, "kwds", {}) or {})
        if name not in known_networks():
            raise CheckpointError(f"{path} was built by {module}.{name}, which this toolkit does not have; the "
                                  f"known networks are {', '.join(known_networks())}", path=path)
        if args:
            names = constructor_parameters(name)
            if len(args) > len(names):
                raise CheckpointError(f"{path}: {name} was called with {len(args)} positional arguments, more than "
                                      f"its {len(names)} ({', '.join(names)})", path=path)
            kwargs = {**dict(zip(names, args)), **kwargs}
        logger.info("%s: a pytracking checkpoint of %s.%s", path, module, name)
        return name, kwargs
    raise CheckpointError(f"{path} records no network constructor: neither a {CHECKPOINT_FORMAT} file nor a "
                          f"checkpoint of the pytracking release", path=path)


def load_network(path: str | os.PathLike, **constructor_kwarg_overrides: Any) -> nn.Module:
    """Rebuild the network of a checkpoint (this toolkit's, or the original pytracking
    release's) from its recorded constructor and load its weights, without its training settings
    or dataset paths. The backbone's ImageNet weights are not read (``backbone_pretrained`` is
    False: the checkpoint holds them); ``constructor_kwarg_overrides`` replace recorded
    arguments. The network is returned on the CPU in training mode; call ``.eval()`` to track.
    ``net.input_normalization`` is the normalisation it was trained with (see the module's
    docstring): the recorded one, else ImageNet's."""
    path = Path(path)
    checkpoint = load_legacy_checkpoint(path)
    name, kwargs = _constructor_call(path, checkpoint)
    try:
        constructor = get_constructor(name)
    except ValueError as error:  # UnknownNetworkError
        raise CheckpointError(f"{path}: {error}", path=path) from error
    if "backbone_pretrained" in inspect.signature(constructor).parameters:
        kwargs["backbone_pretrained"] = False
    kwargs.update(constructor_kwarg_overrides)
    try:
        net = build_network(name, kwargs)
    except TypeError as error:
        raise CheckpointError(f"{path}: cannot rebuild its network: {error}", path=path) from error
    state = checkpoint.get("net")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds no network weights ('net')", path=path)
    differences = state_differences(net, state)
    if differences.shapes:
        raise CheckpointError(f"{path}: its weights do not fit {name}({kwargs}): {differences.describe()}", path=path)
    missing, unexpected = net.load_state_dict(state, strict=False)
    # Only the unused ImageNet classifier may be absent (backbones saved without it).
    missing = [key for key in missing if not key.startswith("feature_extractor.fc.")]
    if missing or unexpected:
        raise CheckpointError(f"{path}: its weights do not fit {name}({kwargs}): missing {missing[:8]}, "
                              f"unexpected {unexpected[:8]}", path=path)
    recorded = checkpoint.get("input_normalization")
    if recorded is None:
        logger.debug("%s records no input normalisation: ImageNet's, as its networks were trained with", path)
        recorded = IMAGENET_NORMALIZATION
    elif not isinstance(recorded, dict):
        raise CheckpointError(f"{path}: input_normalization is {recorded!r}, not a dict with mean and std; "
                              f"write the checkpoint again", path=path)
    try:
        net.input_normalization = input_normalization(recorded.get("mean"), recorded.get("std"),
                                                      where=f"{path}: input_normalization")
    except ValueError as error:
        raise CheckpointError(f"{error}; write the checkpoint again", path=path) from error
    logger.info("loaded %s (epoch %s) from %s", name, checkpoint.get("epoch"), path)
    return net
