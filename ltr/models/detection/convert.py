"""Loading released Faster R-CNN weights into :class:`~ltr.models.detection.faster_rcnn.FasterRCNN`.
Nothing is downloaded; files are read with ``torch.load(weights_only=True)``.

Layouts (``layout="auto"`` tells them apart by their key names and shapes):

- ``"ours"``: this toolkit's own ``state_dict`` (also inside a trainer checkpoint's ``net``).
- ``"torchvision"``: torchvision's ``fasterrcnn_resnet50_fpn`` state dict: the original
  Tracktor's ``model_epoch_27.model`` (github.com/phil-bergmann/tracking_wo_bnw, 2 classes) and
  torchvision's COCO ``fasterrcnn_resnet50_fpn_coco-258fb6c6.pth`` (91 classes, ``person`` = 1).
  Keys ``backbone.body.*``, ``backbone.fpn.inner_blocks.i[.0].*`` and ``layer_blocks`` (torchvision
  before 0.13 saved the convolutions without the ``.0``), ``rpn.head.conv[.0.0].*``,
  ``rpn.head.cls_logits``/``bbox_pred``, ``roi_heads.box_head.fc6``/``fc7``,
  ``roi_heads.box_predictor.cls_score`` (K + 1 rows, background FIRST) and ``bbox_pred``
  (4 (K + 1) rows, background deltas included). Its BatchNorm layers are frozen ones without
  ``num_batches_tracked``: those buffers are filled with 0 and reported.
- ``"mmdet"``: mmdetection 2.x's ``FasterRCNN`` (mmtracking's released detector checkpoints,
  ``{"state_dict": ..., "meta": ...}``): ``backbone.*`` (ResNet, torchvision names),
  ``neck.lateral_convs.i.conv.*`` and ``neck.fpn_convs.i.conv.*`` (FPN of ConvModules),
  ``rpn_head.rpn_conv``/``rpn_cls``/``rpn_reg``, ``roi_head.bbox_head.shared_fcs.0``/``.1``,
  ``fc_cls`` (C + 1 rows, background LAST, as ours) and ``fc_reg`` (4 C rows). mmtracking's
  whole-model files prefix these with ``detector.``; their other parts (``reid.*``, ...) are
  returned untouched in :attr:`LoadReport.passed_on` for their own loaders.

Class rows: ``classes`` names, for each of the network's classes, its row in the file (default
``1 .. C`` for torchvision, where 0 is the background, and ``0 .. C-1`` for mmdet); the other
rows are reported as unused, never dropped silently.
"""

from __future__ import annotations

import logging
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ltr.models.backbone.resnet import PretrainedWeightsMissing, find_pretrained_weights

logger = logging.getLogger(__name__)

LAYOUTS = ("auto", "ours", "torchvision", "mmdet")
_WHOLE_MODEL_PREFIX = "detector."


class DetectorWeightsError(RuntimeError):
    """A weights file that cannot be read or does not fit the detector."""


@dataclass
class LoadReport:
    """What :func:`load_detector_weights` did: the ``source`` read, its ``layout``, the number of
    network tensors ``loaded`` from it, the file tensors (or rows of them) left ``unused`` with
    the reason, the network buffers ``filled`` because the file has none, and the tensors of other
    models in the file (``reid.*`` of mmtracking's whole-model files) ``passed_on`` untouched."""

    source: str
    layout: str
    loaded: int
    unused: list[str] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)
    passed_on: dict[str, torch.Tensor] = field(default_factory=dict)


def _numpy_safe_globals() -> list[Any]:
    """numpy scalar reconstruction, which mmcv checkpoint metadata may hold."""
    names = []
    for module_name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(module_name, fromlist=["scalar"])
            names.append(module.scalar)
            break
        except (ImportError, AttributeError):
            continue
    names += [np.dtype, type(np.dtype(np.float64)), type(np.dtype(np.float32)), type(np.dtype(np.int64))]
    return names


def _read(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass
    except (RuntimeError, EOFError, ValueError, OSError) as error:
        raise DetectorWeightsError(f"{path} cannot be read as a weights file ({error}); replace it with an "
                                   f"intact copy of the released file") from error
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise DetectorWeightsError(f"{path} cannot be read with weights_only=True ({error}); it holds more than "
                                   f"tensors and plain metadata. Re-save its state dict alone "
                                   f"(torch.save(checkpoint['state_dict'], ...)) and load that") from error


def _resolve(path_or_state: str | Path | Mapping[str, Any]) -> tuple[Any, str]:
    if isinstance(path_or_state, Mapping):
        return path_or_state, "<state dict>"
    path = Path(path_or_state)
    if not path.exists() and len(path.parts) == 1:
        stem = path.name[:-4] if path.name.endswith(".pth") else path.name
        try:
            path = find_pretrained_weights(stem, hint=f"copy the weights file there as {stem}.pth")
        except PretrainedWeightsMissing as error:
            raise DetectorWeightsError(f"detector weights {path_or_state!r} are neither a file nor in the "
                                       f"pretrained_networks folder: {error}") from error
    if not path.is_file():
        raise DetectorWeightsError(f"the detector weights file {path} does not exist; give the path of a "
                                   f"released Faster R-CNN file (or its name in the pretrained_networks folder)")
    return _read(path), str(path)


def _unwrap(content: Any, source: str) -> dict[str, Any]:
    """The state dict inside a file: plain, or under 'state_dict' (mmcv), 'model' (torchvision's
    reference scripts) or 'net' (this toolkit's trainer)."""
    if isinstance(content, Mapping):
        for key in ("state_dict", "model", "net"):
            if isinstance(content.get(key), Mapping):
                return dict(content[key])
        if content and all(isinstance(value, torch.Tensor) for value in content.values()):
            return dict(content)
    raise DetectorWeightsError(f"{source} holds no state dict (a mapping of names to tensors, possibly under "
                               f"'state_dict', 'model' or 'net'); found a {type(content).__name__}"
                               + (f" with keys {sorted(content)[:6]}" if isinstance(content, Mapping) else ""))


def detect_layout(state: Mapping[str, Any]) -> str:
    """``"mmdet"``, ``"torchvision"``, ``"ours"`` or ``"unknown"`` from the key names and, between
    torchvision and ours (same names), the rows of the box regressor: 4 (K + 1) in torchvision's,
    4 C with C + 1 class rows in ours."""
    keys = list(state)
    if any(key.startswith(_WHOLE_MODEL_PREFIX) for key in keys):
        return "mmdet"
    if any(key.startswith(("rpn_head.", "roi_head.", "neck.")) for key in keys):
        return "mmdet"
    cls = state.get("roi_heads.box_predictor.cls_score.weight")
    reg = state.get("roi_heads.box_predictor.bbox_pred.weight")
    if isinstance(cls, torch.Tensor) and isinstance(reg, torch.Tensor):
        if reg.shape[0] == 4 * cls.shape[0]:
            return "torchvision"
        if reg.shape[0] == 4 * (cls.shape[0] - 1):
            return "ours"
    return "unknown"


_TORCHVISION_RENAMES = [
    (re.compile(r"^backbone\.fpn\.(inner_blocks|layer_blocks)\.(\d+)\.(weight|bias)$"), r"backbone.fpn.\1.\2.0.\3"),
    (re.compile(r"^rpn\.head\.conv\.(weight|bias)$"), r"rpn.head.conv.0.0.\1"),
]

_MMDET_RENAMES = [
    (re.compile(r"^backbone\.(.*)$"), r"backbone.body.\1"),
    (re.compile(r"^neck\.lateral_convs\.(\d+)\.conv\.(weight|bias)$"), r"backbone.fpn.inner_blocks.\1.0.\2"),
    (re.compile(r"^neck\.fpn_convs\.(\d+)\.conv\.(weight|bias)$"), r"backbone.fpn.layer_blocks.\1.0.\2"),
    (re.compile(r"^rpn_head\.rpn_conv\.(weight|bias)$"), r"rpn.head.conv.0.0.\1"),
    (re.compile(r"^rpn_head\.rpn_cls\.(weight|bias)$"), r"rpn.head.cls_logits.\1"),
    (re.compile(r"^rpn_head\.rpn_reg\.(weight|bias)$"), r"rpn.head.bbox_pred.\1"),
    (re.compile(r"^roi_head\.bbox_head\.shared_fcs\.0\.(weight|bias)$"), r"roi_heads.box_head.fc6.\1"),
    (re.compile(r"^roi_head\.bbox_head\.shared_fcs\.1\.(weight|bias)$"), r"roi_heads.box_head.fc7.\1"),
    (re.compile(r"^roi_head\.bbox_head\.fc_cls\.(weight|bias)$"), r"roi_heads.box_predictor.cls_score.\1"),
    (re.compile(r"^roi_head\.bbox_head\.fc_reg\.(weight|bias)$"), r"roi_heads.box_predictor.bbox_pred.\1"),
]

_CLS = "roi_heads.box_predictor.cls_score."
_REG = "roi_heads.box_predictor.bbox_pred."


def _rename(key: str, rules) -> str | None:
    for pattern, replacement in rules:
        if pattern.match(key):
            return pattern.sub(replacement, key)
    return None


def _describe_rows(name: str, rows: Sequence[int], what: str) -> str:
    rows = sorted(rows)
    spans, start = [], rows[0]
    for previous, current in zip(rows, rows[1:] + [None]):
        if current != previous + 1:
            spans.append(f"{start}" if start == previous else f"{start}..{previous}")
            start = current
    return f"{name} rows {', '.join(spans)} ({what})"


def _select_classes(converted: dict[str, torch.Tensor], names: dict[str, str], *, layout: str,
                    classes: Sequence[int], unused: list[str], source: str) -> None:
    """Reorder the class rows of the box predictor into ours (classes, then background)."""
    for suffix in ("weight", "bias"):
        cls_key, reg_key = _CLS + suffix, _REG + suffix
        if cls_key not in converted or reg_key not in converted:
            continue
        cls, reg = converted[cls_key], converted[reg_key]
        file_classes = cls.shape[0] - 1  # foreground classes in the file
        background = 0 if layout == "torchvision" else file_classes
        foreground = range(1, file_classes + 1) if layout == "torchvision" else range(file_classes)
        bad = [index for index in classes if index not in foreground]
        if bad:
            raise DetectorWeightsError(f"{source}: class rows {bad} are not foreground classes of the file "
                                       f"({file_classes} classes, background row {background} in the {layout} layout)")
        converted[cls_key] = cls[list(classes) + [background]].clone()
        rows = [4 * index + k for index in classes for k in range(4)]
        converted[reg_key] = reg[rows].clone()
        left_cls = [index for index in range(cls.shape[0]) if index not in set(classes) | {background}]
        if left_cls:
            unused.append(_describe_rows(names[cls_key], left_cls, "classes not kept"))
        left_reg = [row for row in range(reg.shape[0]) if row not in set(rows)]
        if left_reg:
            what = "background and classes not kept" if layout == "torchvision" else "classes not kept"
            unused.append(_describe_rows(names[reg_key], left_reg, what))


def convert_state_dict(state: Mapping[str, torch.Tensor], *, layout: str, num_classes: int,
                       classes: Sequence[int] | None = None, source: str = "<state dict>"
                       ) -> tuple[dict[str, torch.Tensor], list[str], dict[str, torch.Tensor], dict[str, str]]:
    """A state dict of ``layout`` -> (our keys -> tensors, unused file tensors described,
    tensors of other models passed on untouched, our key -> its name in the file). See the
    module docstring."""
    passed_on: dict[str, torch.Tensor] = {}
    if layout == "mmdet" and any(key.startswith(_WHOLE_MODEL_PREFIX) for key in state):
        passed_on = {key: value for key, value in state.items() if not key.startswith(_WHOLE_MODEL_PREFIX)}
        state = {key[len(_WHOLE_MODEL_PREFIX):]: value for key, value in state.items()
                 if key.startswith(_WHOLE_MODEL_PREFIX)}
    if classes is None:
        classes = list(range(1, num_classes + 1)) if layout == "torchvision" else list(range(num_classes))
    classes = [int(index) for index in classes]
    if len(classes) != num_classes:
        raise DetectorWeightsError(f"{source}: the network has {num_classes} class(es) but classes={classes} "
                                   f"names {len(classes)} rows of the file")
    converted: dict[str, torch.Tensor] = {}
    names: dict[str, str] = {}
    unused: list[str] = []
    for key, value in state.items():
        if layout == "ours":
            target = key
        elif layout == "torchvision":
            target = _rename(key, _TORCHVISION_RENAMES) or key
        else:
            target = _rename(key, _MMDET_RENAMES)
        if target is None:
            unused.append(f"{key} (no part of the detector)")
            continue
        converted[target] = value
        names[target] = key
    if layout != "ours":
        _select_classes(converted, names, layout=layout, classes=classes, unused=unused, source=source)
    return converted, unused, passed_on, names


def load_detector_weights(net: nn.Module, path_or_state: str | Path | Mapping[str, Any], *,
                          layout: str = "auto", classes: Sequence[int] | None = None) -> LoadReport:
    """Load released Faster R-CNN weights (a file, a name in the ``pretrained_networks`` folder, or
    a state dict) into ``net`` with ``strict=True`` after converting their layout (module
    docstring). Every file tensor not used is listed in the report (and logged); a file that
    cannot be read, an unknown layout or a shape that does not fit raises
    :class:`DetectorWeightsError` naming the file."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    content, source = _resolve(path_or_state)
    state = _unwrap(content, source)
    found = detect_layout(state)
    if layout == "auto":
        if found == "unknown":
            raise DetectorWeightsError(
                f"{source}: unknown layout of detector weights (first keys {list(state)[:5]}); expected "
                f"torchvision's fasterrcnn_resnet50_fpn, mmdetection 2.x's FasterRCNN (or mmtracking's "
                f"whole model with 'detector.' keys) or this toolkit's own; pass layout= if it is one of those")
        layout = found
    num_classes = int(getattr(net, "num_classes", 1))
    converted, unused, passed_on, names = convert_state_dict(state, layout=layout, num_classes=num_classes,
                                                      classes=classes, source=source)
    own = net.state_dict()
    filled = []
    for key, value in own.items():
        if key not in converted and key.endswith("num_batches_tracked"):
            converted[key] = torch.zeros_like(value)
            filled.append(key)
    missing = [key for key in own if key not in converted]
    unexpected = [key for key in converted if key not in own]
    if missing:
        raise DetectorWeightsError(f"{source} ({layout} layout) lacks {len(missing)} tensor(s) of this detector, "
                                   f"e.g. {missing[:4]}; it is not a {type(net).__name__} of this structure "
                                   f"(check the layout and the constructor)")
    for key in unexpected:
        unused.append(f"{names.get(key, key)} (no tensor of this detector)")
        del converted[key]
    resized = [f"{key} {tuple(converted[key].shape)} (expected {tuple(value.shape)})" for key, value in own.items()
               if tuple(converted[key].shape) != tuple(value.shape)]
    if resized:
        raise DetectorWeightsError(f"{source} ({layout} layout) has tensors of other shapes: {resized[:3]}; it "
                                   f"belongs to another network size (check the constructor and its arguments)")
    net.load_state_dict(converted, strict=True)
    report = LoadReport(source=source, layout=layout, loaded=len(own) - len(filled), unused=unused, filled=filled,
                        passed_on=passed_on)
    logger.info("loaded detector weights from %s (%s layout): %d tensors, %d unused, %d buffers filled, "
                "%d passed on", source, layout, report.loaded, len(unused), len(filled), len(passed_on))
    for entry in unused:
        logger.info("unused: %s", entry)
    return report

