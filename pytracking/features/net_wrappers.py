"""A trained network as the trackers use it: loaded on first use, on its device, in eval mode,
its weights frozen, with the input normalisation of training done inside. This part serves any
tracker; a tracker's head calls live in a subclass of its own (ATOM's IoU predictor:
:class:`pytracking.tracker.atom.network.AtomNetWrapper`).

Images go in as float tensors (B, 3, H, W) with values 0..255 (what
:func:`pytracking.features.preprocessing.sample_patch` returns); they are divided by 255 and
normalised with the mean and standard deviation the network was trained with, which its
checkpoint records (``net.input_normalization`` from :func:`ltr.models.loading.load_network`);
ImageNet's for a checkpoint or network that records none.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn

from admin.environment import FIELDS_BY_NAME, env_settings
from ltr.models.loading import IMAGENET_NORMALIZATION, load_network
from pytracking.features.batch_norm_folding import fold_batch_norms

logger = logging.getLogger(__name__)


def resolve_network_path(net_path: str | os.PathLike) -> Path:
    """An absolute path as it is; a relative one under ``env_settings().network_path``, or, when
    it is not there but exists from the current folder (a checkpoint of one's own training), as
    it is. Raises FileNotFoundError naming the path and the field that sets the folder when it
    is missing."""
    path = Path(net_path).expanduser()
    if path.is_absolute():
        if not path.is_file():
            raise FileNotFoundError(f"network file {path} does not exist: check the path given as the network "
                                    f"(--network, or net_path of the parameter file)")
        return path
    settings = env_settings()
    folder = settings.value("network_path")
    resolved = Path(folder) / path
    if resolved.is_file():
        return resolved
    if path.is_file():
        return path.resolve()
    variable = FIELDS_BY_NAME["network_path"].variable
    raise FileNotFoundError(
        f"network file {resolved} does not exist (nor {path.resolve()}): put {path} in the network_path folder "
        f"{folder} (from {settings.source('network_path')}), or set network_path in {settings.local_file} or the "
        f"environment variable {variable}, or give the checkpoint's path")


# Networks kept for the process by kept_network: key -> network.
_KEPT: dict[tuple, nn.Module] = {}


def kept_network(path: Path, key: tuple, build: Callable[[], nn.Module], device: torch.device, *,
                 what: str = "network") -> nn.Module:
    """``build()``'s network (read from the file ``path``) in eval mode on ``device`` with its
    weights frozen, kept for the process under ``key`` and the file's modification time: the
    evaluation runner builds one tracker per sequence and the network holds no state between
    frames, while a file trained again in this process is read again."""
    full_key = (str(path), path.stat().st_mtime_ns, *key, str(device))
    net = _KEPT.get(full_key)
    if net is None:
        net = build().to(device).eval()
        for parameter in net.parameters():
            parameter.requires_grad_(False)
        logger.info("%s from %s on %s", what, path, device)
        _KEPT[full_key] = net
    return net


AMP_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


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
    runs the backbone (and a subclass's head calls under :meth:`_autocast`) in that precision
    under autocast (features are returned in float32); None keeps float32 throughout.

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
        self._mean: torch.Tensor | None = None
        self._std: torch.Tensor | None = None
        self._normalization: dict[str, list[float]] | None = None

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
        # What the network was trained with (load_network sets it); ImageNet's when it records none.
        normalization = getattr(net, "input_normalization", None) or IMAGENET_NORMALIZATION
        self._normalization = {key: list(normalization[key]) for key in ("mean", "std")}
        self._mean = torch.tensor(normalization["mean"], dtype=torch.float32).view(1, 3, 1, 1).to(self.device)
        self._std = torch.tensor(normalization["std"], dtype=torch.float32).view(1, 3, 1, 1).to(self.device)

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
    def input_normalization(self) -> dict[str, list[float]]:
        """``{"mean": [r, g, b], "std": [r, g, b]}`` that :meth:`normalize` applies to 0..1 images."""
        return self.initialize()._normalization

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) values 0..255 -> normalised as in training, on the network's device."""
        self.initialize()
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W) with values 0..255, got shape {tuple(image.shape)}")
        # In the published trackers' order (divide, subtract, divide), which rounds as they do.
        image = (image.to(self.device, torch.float32) / 255 - self._mean) / self._std
        return image.contiguous(memory_format=torch.channels_last) if self.channels_last else image

    def extract_backbone(self, image: torch.Tensor, layers: Iterable[str] | None = None
                         ) -> OrderedDict[str, torch.Tensor]:
        """Backbone features (the network's ``feature_extractor``) of images (B, 3, H, W), values
        0..255: OrderedDict layer -> (B, C, H / stride, W / stride), for ``layers`` (default:
        those the backbone was built to return)."""
        image = self.normalize(image)
        with torch.no_grad(), self._autocast():
            backbone = self.net.feature_extractor
            features = backbone(image) if layers is None else backbone(image, tuple(layers))
        if self.amp is not None:
            features = OrderedDict((name, value.float()) for name, value in features.items())
        return features

    def _autocast(self):
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=AMP_DTYPES[self.amp])
