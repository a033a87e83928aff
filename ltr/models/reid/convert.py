"""Loading mmtracking's released re-identification weights into :class:`~ltr.models.reid.network.ReIDNet`.

Two kinds of files hold them, both ``{'state_dict': {...}, 'meta': ...}`` (or a bare state dict):

- the ReID checkpoint (``reid_r50_6e_mot17-*.pth``): keys ``backbone.*`` (mmcls's ResNet:
  ``backbone.conv1.weight``, ``backbone.bn1.*``, ``backbone.layer1.0.conv1.weight``,
  ``backbone.layer1.0.downsample.0.weight``, ``backbone.layer1.0.downsample.1.*``: torchvision's
  names) and ``head.*`` (``head.fcs.0.fc.*`` and ``head.fcs.0.bn.*`` from mmcv's FcModule,
  ``head.fc_out.*``, ``head.bn.*``, ``head.classifier.*``): the network's own names;
- a whole Tracktor model: the same keys under ``reid.``, beside ``detector.*`` (counted, reported
  and left: the detector loads elsewhere).

Loading is strict: every weight of the network must be in the file with its shape and nothing
else may be, except the identity classifier (``head.classifier.*``) of another number of
identities, which is reported and left as the network has it (the tracker never uses it).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from ltr.models.loading import CheckpointError, load_legacy_checkpoint, state_differences

logger = logging.getLogger(__name__)

CLASSIFIER_KEYS = ("head.classifier.weight", "head.classifier.bias")


class ReIDWeightsError(CheckpointError):
    """A weights file (or state dict) that does not fit the ReID network; the message names it."""


@dataclasses.dataclass
class ReIDWeightsReport:
    """What :func:`load_reid_weights` did: ``loaded`` weights, ``prefix`` stripped (``'reid.'`` or
    ``''``), ``ignored`` keys of other parts (the detector's) by part, ``classifier_left``: why
    the classifier was not loaded (None when it was)."""

    source: str
    loaded: int
    prefix: str
    ignored: dict[str, int]
    classifier_left: str | None = None

    def describe(self) -> str:
        text = f"{self.source}: loaded {self.loaded} ReID weights" + (f" (under '{self.prefix}')" if self.prefix else "")
        if self.ignored:
            text += "; ignored " + ", ".join(f"{count} {part}.* keys" for part, count in sorted(self.ignored.items()))
        if self.classifier_left:
            text += f"; {self.classifier_left}"
        return text


def _read(path_or_state: str | os.PathLike | Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if isinstance(path_or_state, Mapping):
        return "the given state dict", path_or_state
    path = Path(path_or_state)
    checkpoint = load_legacy_checkpoint(path)  # FileNotFoundError / CheckpointError naming the file
    return str(path), checkpoint


def load_reid_weights(net: nn.Module, path_or_state: str | os.PathLike | Mapping[str, Any]) -> ReIDWeightsReport:
    """Load mmtracking's ReID weights (a file, or its ``{'state_dict': ...}`` / state dict) into
    ``net`` (module docstring); returns the report, also logged. Raises
    :class:`ReIDWeightsError` naming the source and the offending keys, leaving ``net`` unchanged."""
    source, checkpoint = _read(path_or_state)
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, Mapping) or not all(isinstance(key, str) for key in state):
        raise ReIDWeightsError(f"{source} holds no state dict (a dict of named tensors, or one under 'state_dict'); "
                               f"use mmtracking's ReID or Tracktor checkpoint", path=source)
    prefix = "reid." if any(key.startswith("reid.") for key in state) else ""
    ignored: dict[str, int] = {}
    own: dict[str, Any] = {}
    for key, value in state.items():
        if prefix and not key.startswith(prefix):
            part = key.split(".", 1)[0]
            ignored[part] = ignored.get(part, 0) + 1
            continue
        own[key[len(prefix):]] = value
    if prefix and set(ignored) - {"detector"}:
        raise ReIDWeightsError(f"{source}: keys of unknown parts {sorted(set(ignored) - {'detector'})} beside reid.*: "
                               f"a Tracktor checkpoint holds reid.* and detector.* only", path=source)
    expected = net.state_dict()
    classifier_left = None
    differences = state_differences(net, own)
    classifier_shapes = {key: shapes for key, shapes in differences.shapes.items() if key in CLASSIFIER_KEYS}
    if classifier_shapes:
        rows = classifier_shapes.get("head.classifier.weight", classifier_shapes.get("head.classifier.bias"))[0][0]
        classifier_left = (f"the identity classifier (head.classifier) is for {rows} identities, the network's for "
                           f"{expected['head.classifier.weight'].shape[0]}: left as the network has it (tracking does "
                           f"not use it)")
        for key in CLASSIFIER_KEYS:
            differences.shapes.pop(key, None)
            own.pop(key, None)
    if differences:
        raise ReIDWeightsError(f"{source} does not fit the ReID network {type(net).__name__}: {differences.describe()}; "
                               f"use mmtracking's ReID checkpoint of this architecture", path=source)
    for key in CLASSIFIER_KEYS if classifier_left else ():
        own[key] = expected[key]
    net.load_state_dict(own, strict=True)
    report = ReIDWeightsReport(source=source, loaded=len(own) - (len(CLASSIFIER_KEYS) if classifier_left else 0),
                               prefix=prefix, ignored=ignored, classifier_left=classifier_left)
    logger.info("%s", report.describe())
    return report
