"""A trained network as the trackers use it: loaded on first use, on its device, in eval mode,
its weights frozen, with the input normalisation of training done inside.

Images go in as float tensors (B, 3, H, W) with values 0..255 (what
:func:`pytracking.features.preprocessing.sample_patch` returns); they are divided by 255 and
normalised with the ImageNet mean and standard deviation, as the training transforms do.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import nn

from admin.environment import FIELDS_BY_NAME, env_settings
from ltr.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from ltr.models.loading import load_network
from pytracking.features.batch_norm_folding import fold_batch_norms

logger = logging.getLogger(__name__)


def resolve_network_path(net_path: str | os.PathLike) -> Path:
    """An absolute path as it is; a relative one under ``env_settings().network_path``. Raises
    FileNotFoundError naming the path and the field that sets the folder when it is missing."""
    path = Path(net_path).expanduser()
    if path.is_absolute():
        if not path.is_file():
            raise FileNotFoundError(f"network file {path} does not exist")
        return path
    settings = env_settings()
    folder = settings.value("network_path")
    resolved = Path(folder) / path
    if not resolved.is_file():
        variable = FIELDS_BY_NAME["network_path"].variable
        raise FileNotFoundError(
            f"network file {resolved} does not exist: put {path} in the network_path folder {folder} (from "
            f"{settings.source('network_path')}), or set network_path in {settings.local_file} or the "
            f"environment variable {variable}, or give an absolute path")
    return resolved


AMP_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}

# Cells of context each side that the IoU predictor's test branch (two 3x3 convolutions) reads.
IOU_BRANCH_CONTEXT = 2


def _window_cells(window: Sequence[float], size: Sequence[int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) fractions -> (row0, row1, col0, col1) cells of a (H, W) map covering
    them, clamped to the map and never empty."""
    x0, y0, x1, y1 = (float(v) for v in window)
    height, width = int(size[0]), int(size[1])
    col0 = min(max(math.floor(x0 * width), 0), width - 1)
    row0 = min(max(math.floor(y0 * height), 0), height - 1)
    col1 = max(min(math.ceil(x1 * width), width), col0 + 1)
    row1 = max(min(math.ceil(y1 * height), height), row0 + 1)
    return row0, row1, col0, col1


def _grow(cells: tuple[int, int, int, int], margin: int, size: Sequence[int]) -> tuple[int, int, int, int]:
    row0, row1, col0, col1 = cells
    return (max(row0 - margin, 0), min(row1 + margin, int(size[0])), max(col0 - margin, 0),
            min(col1 + margin, int(size[1])))


def default_device(use_gpu: bool | None = None) -> torch.device:
    """CUDA when available (or required by ``use_gpu=True``), else the CPU."""
    if use_gpu is None:
        use_gpu = torch.cuda.is_available()
    if use_gpu and not torch.cuda.is_available():
        raise RuntimeError("use_gpu=True but torch sees no CUDA device; run with use_gpu=False")
    return torch.device("cuda" if use_gpu else "cpu")


class NetWrapper:
    """A network checkpoint (``load_network``: this toolkit's or the original release's),
    loaded lazily. ``net_path``: absolute, or relative to ``network_path``. ``device`` wins
    over ``use_gpu``; without either, CUDA when available. ``amp`` ("bfloat16" or "float16")
    runs the backbone and the IoU predictor's feature convolutions in that precision under
    autocast (features are returned in float32); None keeps float32 throughout.

    Two speed-ups change only the rounding: ``fold_batch_norm`` folds BatchNorm into the
    convolutions before it, ``channels_last`` (default: on the CPU) runs convolutions on
    channels-last tensors, about 1.4x faster with oneDNN. Without both, features are those of
    the network run as published, bit for bit."""

    def __init__(self, net_path: str | os.PathLike, *, device: str | torch.device | None = None,
                 use_gpu: bool | None = None, amp: str | None = None, fold_batch_norm: bool = True,
                 channels_last: bool | None = None):
        self.net_path = net_path
        self.device = torch.device(device) if device is not None else default_device(use_gpu)
        if amp is not None and amp not in AMP_DTYPES:
            raise ValueError(f"amp must be None or one of {', '.join(AMP_DTYPES)}, not {amp!r}")
        self.amp = amp
        self.fold_batch_norm = fold_batch_norm
        # oneDNN's CPU convolutions run about 1.4x faster on channels-last (NHWC) tensors.
        self.channels_last = self.device.type == "cpu" if channels_last is None else bool(channels_last)
        self._net: nn.Module | None = None
        self._mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    @classmethod
    def from_network(cls, net: nn.Module, *, device: str | torch.device | None = None, amp: str | None = None,
                     fold_batch_norm: bool = True, channels_last: bool | None = None) -> "NetWrapper":
        """Wrap a network already built (tests, networks trained in this process); the wrapper
        works on a copy, which it freezes and folds, so ``net`` is left as it is."""
        wrapper = cls("<in memory>", device=device, amp=amp, fold_batch_norm=fold_batch_norm,
                      channels_last=channels_last)
        wrapper._prepare(copy.deepcopy(net))
        return wrapper

    def _prepare(self, net: nn.Module) -> None:
        net = net.to(self.device).eval()
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        # Trackers differentiate through the network only with respect to inputs (boxes).
        for parameter in net.parameters():
            parameter.requires_grad_(False)
        if self.fold_batch_norm:
            folded = fold_batch_norms(net)
            logger.debug("folded %d BatchNorm layers into the layers before them", folded)
        self._net = net
        self._mean, self._std = self._mean.to(self.device), self._std.to(self.device)

    def initialize(self) -> "NetWrapper":
        """Load the network now (it is otherwise loaded on first use)."""
        if self._net is None:
            path = resolve_network_path(self.net_path)
            self._prepare(load_network(path))
            logger.info("network %s on %s", path, self.device)
        return self

    @property
    def net(self) -> nn.Module:
        return self.initialize()._net

    @property
    def iou_layers(self) -> tuple[str, ...]:
        """The backbone layers the IoU predictor reads (e.g. layer2, layer3)."""
        return tuple(self.net.bb_regressor_layer)

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) values 0..255 -> ImageNet-normalised, on the network's device."""
        self.initialize()
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W) with values 0..255, got shape {tuple(image.shape)}")
        # In the published trackers' order (divide, subtract, divide), which rounds as they do.
        image = (image.to(self.device, torch.float32) / 255 - self._mean) / self._std
        return image.contiguous(memory_format=torch.channels_last) if self.channels_last else image

    def extract_backbone(self, image: torch.Tensor, layers: Iterable[str] | None = None
                         ) -> OrderedDict[str, torch.Tensor]:
        """Backbone features of images (B, 3, H, W), values 0..255: OrderedDict layer -> (B, C,
        H / stride, W / stride), for ``layers`` (default: the classifier's and the IoU
        predictor's, i.e. those the backbone was built to return)."""
        image = self.normalize(image)
        with torch.no_grad(), self._autocast():
            backbone = self.net.feature_extractor
            features = backbone(image) if layers is None else backbone(image, tuple(layers))
        if self.amp is not None:
            features = OrderedDict((name, value.float()) for name, value in features.items())
        return features

    def iou_features(self, backbone_features: dict[str, torch.Tensor],
                     window: Sequence[float] | None = None) -> tuple[torch.Tensor, ...]:
        """The IoU predictor's test-branch features of ``backbone_features`` (the layers of
        :attr:`iou_layers`). With ``window`` = (x0, y0, x1, y1) as fractions of the image's
        width and height, only the cells covering the window are computed and the others are 0:
        a box whose pooling reads only cells inside the window (the box and one cell around it)
        gets the prediction it would get from the whole map, for a fraction of the cost."""
        features = [backbone_features[l] for l in self.iou_layers]
        if window is None:
            with torch.no_grad(), self._autocast():
                computed = self.net.bb_regressor.get_iou_feat(features)
            # Row-major float32 for the RoI pooling, which reads them a dozen times per frame.
            return tuple(f.float().contiguous() for f in computed)
        cells = [_window_cells(window, f.shape[-2:]) for f in features]
        # Each map is cut with IOU_BRANCH_CONTEXT more cells per side (where the map has them),
        # so that the convolutions see inside the window what they see on the whole map.
        cut = [_grow(c, IOU_BRANCH_CONTEXT, f.shape[-2:]) for c, f in zip(cells, features)]
        with torch.no_grad(), self._autocast():
            computed = self.net.bb_regressor.get_iou_feat(
                [f[..., y0:y1, x0:x1] for f, (y0, y1, x0, x1) in zip(features, cut)])
        result = []
        for full, part, (y0, y1, x0, x1), (cy0, cy1, cx0, cx1) in zip(features, computed, cells, cut):
            out = part.new_zeros(*part.shape[:2], *full.shape[-2:], dtype=torch.float32)
            out[..., y0:y1, x0:x1] = part[..., y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
            result.append(out)
        return tuple(result)

    def _autocast(self):
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=AMP_DTYPES[self.amp])

    def modulated_iou_features(self, modulation: Sequence[torch.Tensor], iou_features: Sequence[torch.Tensor]
                               ) -> tuple[torch.Tensor, ...]:
        """The test features times the modulation vectors, for :meth:`predict_iou_modulated`:
        computed once per frame instead of once per refinement step."""
        with torch.no_grad():
            return tuple(self.net.bb_regressor.modulate(list(modulation), list(iou_features)))

    def predict_iou_modulated(self, modulated: Sequence[torch.Tensor], proposals: torch.Tensor) -> torch.Tensor:
        """:meth:`predict_iou` from :meth:`modulated_iou_features`."""
        return self.net.bb_regressor.predict_iou_modulated(list(modulated), proposals)

    def iou_modulation(self, backbone_features: dict[str, torch.Tensor], boxes: torch.Tensor
                       ) -> tuple[torch.Tensor, ...]:
        """The IoU predictor's modulation vectors for target ``boxes`` (B, 4) [x, y, w, h] in
        patch pixels of the images the features came from."""
        with torch.no_grad():
            return tuple(self.net.bb_regressor.get_modulation([backbone_features[l] for l in self.iou_layers],
                                                              boxes.to(self.device)))

    def predict_iou(self, modulation: Sequence[torch.Tensor], iou_features: Sequence[torch.Tensor],
                    proposals: torch.Tensor) -> torch.Tensor:
        """Predicted IoU (B, P) of ``proposals`` (B, P, 4) [x, y, w, h]; differentiable in the
        proposals (the weights are frozen), for refinement by gradient ascent."""
        return self.net.bb_regressor.predict_iou(list(modulation), list(iou_features), proposals)
