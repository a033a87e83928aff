"""ResNet backbones that return intermediate feature maps.

Parameter names are torchvision's (``conv1.weight``, ``bn1.*``, ``layer1.0.conv1.weight``, ...,
``fc.weight``), which are also pytracking's, so torchvision ImageNet weights and pytracking
checkpoints load unchanged. Like pytracking's ResNet, ``resnet18`` and ``resnet50`` keep the
ImageNet classifier ``fc`` (unused unless ``'fc'`` is requested): the published ATOM checkpoints
hold ``feature_extractor.fc.weight`` and ``feature_extractor.fc.bias``. ``num_classes=None``
leaves it out.

Every family has the same small interface: a constructor ``f(output_layers, pretrained, ...)``,
``forward(x, output_layers=None) -> OrderedDict`` computing only up to the deepest requested
layer, and ``out_channels(layer)`` and ``stride(layer)``.

| layer  | stride | resnet18 | resnet50 | resnet_tiny(width) |
|--------|--------|----------|----------|--------------------|
| conv1  | 2      | 64       | 64       | width              |
| layer1 | 4      | 64       | 256      | width              |
| layer2 | 8      | 128      | 512      | 2 * width          |
| layer3 | 16     | 256      | 1024     | 4 * width          |
| layer4 | 32     | 512      | 2048     | 8 * width          |

``conv1`` is the output of conv1, bn1 and ReLU, before the max pooling.

ImageNet weights are read from the ``pretrained_networks`` folder of the environment
(``admin/local.py`` or ``TRACKING_PRETRAINED_NETWORKS``); nothing is ever downloaded.
"""

from __future__ import annotations

import logging
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import nn

from admin.environment import EnvironmentPathError, env_settings
from ltr.models.layers.pooling import SeparableMaxPool2d

logger = logging.getLogger(__name__)

LAYERS = ("conv1", "layer1", "layer2", "layer3", "layer4")
_STRIDES = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}


class PretrainedWeightsMissing(FileNotFoundError):
    """The ImageNet weights of a backbone are not in the ``pretrained_networks`` folder."""


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand, with a residual connection
    (ResNet-50/101, torchvision's "v1.5" layout)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _check_layers(layers: Iterable[str], allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    if not layers:
        raise ValueError(f"output_layers is empty: name at least one of {', '.join(allowed)}")
    unknown = [name for name in layers if name not in allowed]
    if unknown:
        raise ValueError(f"unknown output layer(s) {unknown}: a ResNet backbone returns {', '.join(allowed)}")
    return layers


class ResNet(nn.Module):
    """A ResNet returning the feature maps named in ``output_layers`` (see the module table).

    ``block`` (BasicBlock or Bottleneck), ``layers``: blocks per stage, ``inplanes``: channels of
    the stem (stage widths are inplanes, 2x, 4x, 8x, times the block expansion),
    ``num_classes``: size of the ImageNet classifier ``fc``, or None for none."""

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int],
                 output_layers: Iterable[str] = ("layer2", "layer3"), num_classes: int | None = 1000,
                 inplanes: int = 64):
        super().__init__()
        self.block_expansion = block.expansion
        self.inplanes = inplanes
        self.base_width = inplanes
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(3, inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = SeparableMaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, inplanes, layers[0])
        self.layer2 = self._make_layer(block, inplanes * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, inplanes * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, inplanes * 8, layers[3], stride=2)
        if num_classes is not None:
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(inplanes * 8 * block.expansion, num_classes)
        else:
            self.avgpool = None
            self.fc = None
        self.output_layers = _check_layers(output_layers, self._allowed_layers())

        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(_conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        modules = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        modules += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*modules)

    def _allowed_layers(self) -> tuple[str, ...]:
        return LAYERS + (("fc",) if self.fc is not None else ())

    def out_channels(self, layer: str) -> int:
        """Channels of the feature map ``layer`` (classes for ``'fc'``)."""
        _check_layers((layer,), self._allowed_layers())
        if layer == "fc":
            return self.num_classes
        if layer == "conv1":
            return self.base_width
        return self.base_width * 2 ** (LAYERS.index(layer) - 1) * self.block_expansion

    def stride(self, layer: str) -> int:
        """Stride of the feature map ``layer`` with respect to the input image."""
        _check_layers((layer,), LAYERS)
        return _STRIDES[layer]

    def forward(self, x: torch.Tensor, output_layers: Iterable[str] | None = None) -> OrderedDict[str, torch.Tensor]:
        """(B, 3, H, W) -> OrderedDict layer name -> (B, C, H / stride, W / stride), in network
        order, for ``output_layers`` (default: those given at construction). Layers deeper than
        the deepest requested one are not computed."""
        layers = self.output_layers if output_layers is None else _check_layers(output_layers, self._allowed_layers())
        wanted = set(layers)
        order = self._allowed_layers()
        deepest = max(order.index(name) for name in wanted)
        outputs: OrderedDict[str, torch.Tensor] = OrderedDict()
        x = self.relu(self.bn1(self.conv1(x)))
        if "conv1" in wanted:
            outputs["conv1"] = x
        if deepest == 0:
            return outputs
        x = self.maxpool(x)
        for index, name in enumerate(LAYERS[1:], 1):
            x = getattr(self, name)(x)
            if name in wanted:
                outputs[name] = x
            if index == deepest:
                return outputs
        x = torch.flatten(self.avgpool(x), 1)
        outputs["fc"] = self.fc(x)
        return outputs


# ImageNet weights ----------------------------------------------------------------------------

def _weights_file(folder: Path, stem: str) -> Path | None:
    exact = folder / f"{stem}.pth"
    if exact.is_file():
        return exact
    candidates = sorted(path for path in folder.glob(f"{stem}*.pth") if path.is_file())
    return candidates[0] if candidates else None


def _missing(message: str, stem: str, hint: str) -> PretrainedWeightsMissing:
    settings = env_settings()
    return PretrainedWeightsMissing(
        f"{message}. Set the folder with pretrained_networks in {settings.local_file} or the environment "
        f"variable TRACKING_PRETRAINED_NETWORKS. Nothing is downloaded: {hint}, or use a setting that trains "
        f"without ImageNet weights (backbone_pretrained=False, e.g. 'python ltr/run_training.py bbreg "
        f"atom_synthetic')."
    )


def find_pretrained_weights(stem: str, *, hint: str | None = None) -> Path:
    """The weights file ``<pretrained_networks>/<stem>.pth``, or else the first ``<stem>*.pth``
    there (torchvision's names such as ``resnet18-f37072fd.pth``); raises
    :class:`PretrainedWeightsMissing` naming the folder, the file and how to proceed."""
    hint = hint or f"copy the weights there as {stem}.pth"
    settings = env_settings()
    try:
        folder = Path(settings.pretrained_networks)
    except EnvironmentPathError as error:
        raise _missing(f"the ImageNet weights {stem}.pth are not available: {error}", stem, hint) from error
    path = _weights_file(folder, stem)
    if path is None:
        raise _missing(f"the ImageNet weights {stem}.pth (or {stem}*.pth) are not in the pretrained_networks "
                       f"folder {folder} (from {settings.source('pretrained_networks')})", stem, hint)
    return path


def load_pretrained_weights(model: ResNet, stem: str, *, hint: str | None = None) -> Path:
    """Load ``<pretrained_networks>/<stem>*.pth`` (a state dict, torchvision's or pytracking's
    key names) into ``model``; the classifier ``fc`` is skipped when ``model`` has none or one
    of another size. Returns the file read."""
    path = find_pretrained_weights(stem, hint=hint)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError) as error:
        raise RuntimeError(f"{path} cannot be read as a weights file ({error}); replace it with the "
                           f"state dict of torchvision's {stem}") from error
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise RuntimeError(f"{path} does not hold a state dict but a {type(state).__name__}; replace it with "
                           f"the state dict of torchvision's {stem}")
    own = model.state_dict()
    state = {key: value for key, value in state.items()
             if not (key.startswith("fc.") and (key not in own or own[key].shape != value.shape))}
    missing = [key for key in own if key not in state and not key.startswith("fc.")]
    unexpected = [key for key in state if key not in own]
    resized = [f"{key} {tuple(value.shape)} (expected {tuple(own[key].shape)})" for key, value in state.items()
               if key in own and getattr(value, "shape", None) != own[key].shape]
    if missing or unexpected or resized:
        raise RuntimeError(f"{path} does not hold {stem} weights: missing keys {missing[:5]}, unexpected keys "
                           f"{unexpected[:5]}, other shapes {resized[:3]}; replace it with the state dict of "
                           f"torchvision's {stem}")
    model.load_state_dict(state, strict=False)
    logger.info("loaded ImageNet weights from %s", path)
    return path


# Constructors ----------------------------------------------------------------------------------

def resnet18(output_layers: Iterable[str] = ("layer2", "layer3"), pretrained: bool = False,
             num_classes: int | None = 1000) -> ResNet:
    """ResNet-18; ``pretrained`` reads ``<pretrained_networks>/resnet18.pth`` (or
    ``resnet18-f37072fd.pth``, torchvision's file)."""
    model = ResNet(BasicBlock, [2, 2, 2, 2], output_layers, num_classes=num_classes)
    if pretrained:
        load_pretrained_weights(model, "resnet18", hint=(
            "copy torchvision's ImageNet ResNet-18 weights there (resnet18-f37072fd.pth, found in "
            "~/.cache/torch/hub/checkpoints/ after torchvision.models.resnet18(weights='IMAGENET1K_V1') "
            "on a machine with internet access) as resnet18.pth"))
    return model


def resnet50(output_layers: Iterable[str] = ("layer2", "layer3"), pretrained: bool = False,
             num_classes: int | None = 1000) -> ResNet:
    """ResNet-50; ``pretrained`` reads ``<pretrained_networks>/resnet50.pth`` (or torchvision's
    ``resnet50-0676ba61.pth`` / ``resnet50-11ad3fa6.pth``)."""
    model = ResNet(Bottleneck, [3, 4, 6, 3], output_layers, num_classes=num_classes)
    if pretrained:
        load_pretrained_weights(model, "resnet50", hint=(
            "copy torchvision's ImageNet ResNet-50 weights there (resnet50-0676ba61.pth, found in "
            "~/.cache/torch/hub/checkpoints/ after torchvision.models.resnet50(weights='IMAGENET1K_V1') "
            "on a machine with internet access) as resnet50.pth"))
    return model


def resnet_tiny(output_layers: Iterable[str] = ("layer2", "layer3"), pretrained: bool = False, *,
                width: int = 16, blocks: Sequence[int] = (1, 1, 1, 1), num_classes: int | None = None) -> ResNet:
    """A small ResNet for tests and CPU training: BasicBlocks, ``blocks`` per stage, stage widths
    (width, 2 * width, 4 * width, 8 * width); with width 16 the channels are conv1 16, layer1 16,
    layer2 32, layer3 64, layer4 128, at the strides of ResNet-18. No classifier by default.
    There are no ImageNet weights for it: ``pretrained`` reads
    ``<pretrained_networks>/resnet_tiny_w<width>.pth``, weights you saved yourself."""
    if width < 1 or len(blocks) != 4 or min(blocks) < 1:
        raise ValueError(f"resnet_tiny needs width >= 1 and four stages of >= 1 block, got width={width}, "
                         f"blocks={tuple(blocks)}")
    model = ResNet(BasicBlock, list(blocks), output_layers, num_classes=num_classes, inplanes=width)
    if pretrained:
        load_pretrained_weights(model, f"resnet_tiny_w{width}", hint=(
            f"save the state dict of a trained resnet_tiny(width={width}) there as resnet_tiny_w{width}.pth"))
    return model
