"""Loading FairMOT's released weights into this toolkit's FairMOT networks. Nothing is
downloaded; files are read with ``torch.load(weights_only=True)``.

Published layouts:

- FairMOT's model files (``fairmot_dla34.pth``, ``ctdet_coco_dla_2x.pth``, ``crowdhuman_dla34.pth``,
  ... as ``save_model`` in ``src/lib/models/model.py`` writes them): ``{'epoch': int,
  'state_dict': {...}}``, sometimes with ``'optimizer'``; the keys are the network's
  (``base.*``, ``dla_up.*``, ``ida_up.*``, ``hm.0.weight``, ...), prefixed ``module.`` when
  saved from DataParallel (``load_model`` strips it from keys starting with ``module`` but not
  ``module_list``; so does :func:`load_fairmot_weights`). Files of DLA networks trained from
  ImageNet carry the base's unused ImageNet classifier ``base.fc.weight``/``base.fc.bias``
  (FairMOT creates it to load the ImageNet file): those two are accepted and reported unused.
- DLA-34's ImageNet file (``dla34-ba72cf86.pth`` from dl.yf.io, which FairMOT's DLA-34 loads
  into its base when built): the base's keys without the ``base.`` prefix (``base_layer.0.weight``,
  ``level0.0.weight``, ..., ``level5.root.bn.running_var``) plus the classifier ``fc.weight``
  (1000 x 512 x 1 x 1) and ``fc.bias``.

Where FairMOT's ``load_model`` skips (with a printed message) keys whose shape differs and
leaves missing ones at their initial values, these loaders are strict: every tensor of the
network must come from the file with its shape, or the load stops with one line naming the
file, the keys and the option that most likely differs (``--arch``, ``--reid_dim``,
``--num_classes``, ``--ltrb``, ``--head_conv``). Only BatchNorm's ``num_batches_tracked``
counters may be absent (files from PyTorch before 0.4.1 have none): they are kept and reported.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from ltr.models.backbone.resnet import PretrainedWeightsMissing, find_pretrained_weights

logger = logging.getLogger(__name__)

UNUSED_CLASSIFIER = ("base.fc.weight", "base.fc.bias")
DLA34_IMAGENET_STEM = "dla34"  # dla34-ba72cf86.pth


class FairMOTWeightsError(ValueError):
    """A weights file that cannot be read or does not fit the FairMOT network (a user's mistake:
    the entry scripts report it in one line)."""


@dataclass
class FairMOTWeightsReport:
    """What a load did: the ``source`` read, the network tensors ``loaded``, the file's tensors
    left ``unused`` (only the ImageNet classifier), the counters ``kept`` because the file has
    none, the file's ``epoch`` when it records one, and ``arch``: FairMOT's ``--arch`` that the
    file's keys point to (``None`` when they point to none)."""

    source: str
    loaded: int
    unused: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    epoch: int | None = None
    arch: str | None = None


def guess_arch(state: Mapping[str, Any]) -> str | None:
    """FairMOT's ``--arch`` whose networks have the keys of ``state`` (``dla_34``,
    ``dlaconv_34``, ``resdcn_34``, ``resdcn_50`` or deeper ResNets, ``resdcn_18``, and the
    toolkit's ``tiny``, told from DLA-34 by its first layer's width), from marker keys;
    ``None`` when none fits."""
    keys = set(state)
    if "base.base_layer.0.weight" in keys and "dla_up.ida_0.proj_1.conv.weight" in keys:
        deformable = "dla_up.ida_0.proj_1.conv.conv_offset_mask.weight" in keys
        first = state["base.base_layer.0.weight"]
        if getattr(first, "shape", (16,))[0] != 16:  # DLA-34's 16 channels; fairmot_tiny has the same keys
            return "tiny"
        base = "dla_34" if "base.level5.tree1.conv1.weight" in keys else "dla"
        return base if deformable else base.replace("dla", "dlaconv")
    if "conv1.weight" in keys and "deconv_layers.0.weight" in keys:
        if "layer1.0.conv3.weight" in keys:
            blocks = sum(1 for key in keys if key.startswith("layer3.") and key.endswith(".conv3.weight"))
            return {6: "resdcn_50", 23: "resdcn_101", 36: "resdcn_152"}.get(blocks, "resdcn_50")
        blocks = sum(1 for key in keys if key.startswith("layer3.") and key.endswith(".conv2.weight"))
        return {2: "resdcn_18", 6: "resdcn_34"}.get(blocks)
    return None


def _net_arch(net: nn.Module) -> str:
    constructor = getattr(net, "constructor", None)
    name = constructor.get("name", "") if isinstance(constructor, dict) else ""
    return name.removeprefix("fairmot_") if name else type(net).__name__


def _read(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise FairMOTWeightsError(f"{path} cannot be read as a weights file with weights_only=True "
                                  f"({str(error).splitlines()[0] if str(error) else type(error).__name__}); "
                                  f"replace it with an intact copy of the released file") from error


def read_weights(source: str | Path | Mapping[str, Any]) -> tuple[Any, str]:
    """The content of a weights file (read with ``weights_only=True``), or a given mapping as it
    is, and the name to report it by."""
    if isinstance(source, Mapping):
        return source, "<state dict>"
    path = Path(source)
    if not path.is_file():
        raise FairMOTWeightsError(f"the FairMOT weights file {path} does not exist; give the path of a released "
                                  f"FairMOT model (e.g. fairmot_dla34.pth)")
    return _read(path), str(path)


def fairmot_state_dict(content: Any, source: str) -> tuple[dict[str, torch.Tensor], int | None]:
    """The state dict (``module.`` stripped as FairMOT's ``load_model``) and epoch of a file's
    content (bare, or ``{'epoch', 'state_dict'}``); ``source`` names it in errors."""
    epoch = None
    if isinstance(content, Mapping) and isinstance(content.get("state_dict"), Mapping):
        epoch = content.get("epoch")
        content = content["state_dict"]
    if not (isinstance(content, Mapping) and content
            and all(isinstance(value, torch.Tensor) for value in content.values())):
        found = type(content).__name__ + (f" with keys {sorted(map(str, content))[:6]}"
                                          if isinstance(content, Mapping) else "")
        raise FairMOTWeightsError(f"{source} holds no FairMOT state dict (names to tensors, possibly under "
                                  f"'state_dict' as FairMOT saves them); found a {found}")
    state = {}
    for key, value in content.items():
        if key.startswith("module") and not key.startswith("module_list"):
            key = key[len("module."):]
        state[key] = value
    return state, epoch if isinstance(epoch, int) else None


def _likely_flag(key: str) -> str:
    head = key.split(".", 1)[0]
    if head in ("hm", "wh", "id", "reg") and key.endswith((".0.weight", ".0.bias")) and "." in key:
        return "--head_conv"
    return {"id": "--reid_dim", "hm": "--num_classes", "wh": "--ltrb"}.get(head, "--arch")


def _load_strict(net: nn.Module, state: dict[str, torch.Tensor], source: str, *, allowed_unused: tuple[str, ...],
                 what: str, remedy: str = "build the network of the file's --arch (build_fairmot(arch))"
                 ) -> tuple[list[str], list[str]]:
    """Checks ``state`` against ``net`` (module docstring) and loads it; returns (unused, kept)."""
    own = net.state_dict()
    arch = _net_arch(net)
    guessed = guess_arch(state)
    pick = f" (its keys are those of --arch {guessed})" if guessed else ""
    missing = [key for key in own if key not in state and not key.endswith("num_batches_tracked")]
    if missing:
        raise FairMOTWeightsError(
            f"{source} lacks {len(missing)} of the {len(own)} tensors of the {arch} network{what}, e.g. "
            f"{', '.join(missing[:4])}{pick}; {remedy}")
    for key, value in state.items():
        if key in own and tuple(value.shape) != tuple(own[key].shape):
            raise FairMOTWeightsError(
                f"{source}: {key} has shape {tuple(value.shape)} in the file but {tuple(own[key].shape)} in the "
                f"{arch} network; build it with the file's {_likely_flag(key)}"
                + (f" (the file's keys are those of --arch {guessed})" if _likely_flag(key) == "--arch" and guessed
                   else ""))
    unexpected = [key for key in state if key not in own and key not in allowed_unused]
    if unexpected:
        raise FairMOTWeightsError(
            f"{source} has {len(unexpected)} tensors that the {arch} network{what} does not have, e.g. "
            f"{', '.join(unexpected[:4])}{pick}; {remedy}")
    unused = [key for key in state if key not in own]
    kept = [key for key in own if key not in state]
    merged = {key: state.get(key, own[key]) for key in own}
    net.load_state_dict(merged, strict=True)
    if unused:
        logger.info("%s: unused %s (the ImageNet classifier, which FairMOT never applies)", source, ", ".join(unused))
    if kept:
        logger.info("%s: the file has no %d BatchNorm counters (num_batches_tracked); kept the network's",
                    source, len(kept))
    return unused, kept


def load_fairmot_weights(net: nn.Module, source: str | Path | Mapping[str, Any]) -> FairMOTWeightsReport:
    """Load a FairMOT model file (path) or state dict (mapping; bare, ``{'epoch', 'state_dict'}``,
    ``module.``-prefixed) into ``net`` (built by :mod:`ltr.models.fairmot.network`), strictly
    (module docstring). Raises :class:`FairMOTWeightsError` with one line naming the file."""
    content, name = read_weights(source)
    state, epoch = fairmot_state_dict(content, name)
    unused, kept = _load_strict(net, state, name, allowed_unused=UNUSED_CLASSIFIER, what="")
    logger.info("loaded FairMOT weights from %s (%d tensors%s)", name, len(state) - len(unused),
                f", epoch {epoch}" if epoch is not None else "")
    return FairMOTWeightsReport(source=name, loaded=len(state) - len(unused), unused=unused, kept=kept, epoch=epoch,
                                arch=guess_arch(state))


def load_dla34_imagenet(net: nn.Module, source: str | Path | Mapping[str, Any] | None = None) -> FairMOTWeightsReport:
    """Load DLA-34's ImageNet weights (``dla34-ba72cf86.pth``'s layout: the base's keys and the
    classifier ``fc``) into ``net.base`` of a DLA-34 FairMOT network. ``source``: a path, a state
    dict, or ``None`` for ``<pretrained_networks>/dla34*.pth`` of the environment. The
    classifier is reported unused; every tensor of the base must be in the file."""
    if source is None:
        try:
            source = find_pretrained_weights(DLA34_IMAGENET_STEM,
                                             hint="copy dla34-ba72cf86.pth (dl.yf.io/dla/models/imagenet) there")
        except PretrainedWeightsMissing as error:
            raise FairMOTWeightsError(str(error)) from error
    base = getattr(net, "base", None)
    if base is None or not hasattr(base, "level5"):
        raise FairMOTWeightsError(f"DLA-34's ImageNet weights load into a DLA network's base; the {_net_arch(net)} "
                                  f"network has none (use fairmot_dla_34 or fairmot_dlaconv_34)")
    content, name = read_weights(source)
    state, _ = fairmot_state_dict(content, name)
    state = {key.removeprefix("base."): value for key, value in state.items()}
    unused, kept = _load_strict(base, state, name, allowed_unused=("fc.weight", "fc.bias"),
                                what=" base (DLA-34's ImageNet layout)",
                                remedy="give DLA-34's ImageNet file (dla34-ba72cf86.pth) and a DLA-34 network")
    logger.info("loaded DLA-34 ImageNet weights from %s", name)
    return FairMOTWeightsReport(source=name, loaded=len(state) - len(unused), unused=unused, kept=kept,
                                arch="dla_34")
