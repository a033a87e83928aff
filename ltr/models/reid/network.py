"""The re-identification network of mmtracking's Tracktor (``mmtrack/models/reid/``,
``configs/reid/resnet50_b32x8_MOT17.py``), built on the toolkit's ResNet.

Published structure (``BaseReID``: backbone, neck, ``LinearReIDHead``):

- backbone: ResNet-50 (mmcls, ``style='pytorch'``: the stride in the 3x3 convolution, as
  torchvision's) up to its last stage (``out_indices=(3,)``: layer4, 2048 channels, stride 32);
- neck: global average pooling (the config's ``AvgPool2d((8, 4), stride=1)`` is global for the
  256x128 crops it is trained on; here adaptive, global at any crop size);
- head: ``fcs``: one fully connected module ``fc`` 2048 -> 1024, BatchNorm1d ``bn``, ReLU;
  ``fc_out`` 1024 -> 128: the embedding. For training only, ``bn`` (BatchNorm1d over the 128-d
  embedding) then ``classifier`` 128 -> identities. The cross-entropy is computed on the
  classifier's scores (after that BatchNorm), the triplet loss on the embedding *before* it;
  the tracker uses the embedding before it.
- initialisation: every Linear of the head normal(0, 0.01), bias 0, except the ``fcs`` modules'
  Linear layers: Kaiming normal (fan_out, ReLU), bias 0 (mmcv's ``init_cfg``: the FcModule's
  own overrides the head's); the backbone from ImageNet weights.

Parameter names are mmtracking's without the ``reid.`` prefix (``backbone.layer1.0.conv1.weight``,
``head.fcs.0.fc.weight``, ``head.fcs.0.bn.running_mean``, ``head.fc_out.weight``, ``head.bn.weight``,
``head.classifier.weight``), so its checkpoints load by name (:mod:`ltr.models.reid.convert`).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ltr.models.backbone import resnet as backbones
from ltr.models.registry import network_constructor
from ltr.models.reid.crops import crop_network_input


class FcModule(nn.Module):
    """mmtracking's FcModule: Linear, BatchNorm1d (``bn``), ReLU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.fc = nn.Linear(in_channels, out_channels)
        self.bn = nn.BatchNorm1d(out_channels)
        self.activate = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activate(self.bn(self.fc(x)))


class LinearReIDHead(nn.Module):
    """``num_fcs`` FcModules, ``fc_out`` (the embedding), and for training ``bn`` + ``classifier``
    (module docstring)."""

    def __init__(self, *, in_channels: int, fc_channels: int, out_channels: int, num_classes: int,
                 num_fcs: int = 1):
        super().__init__()
        self.fcs = nn.ModuleList(FcModule(in_channels if i == 0 else fc_channels, fc_channels) for i in range(num_fcs))
        self.fc_out = nn.Linear(fc_channels if num_fcs else in_channels, out_channels)
        self.bn = nn.BatchNorm1d(out_channels)
        self.classifier = nn.Linear(out_channels, num_classes)
        self.out_channels = out_channels
        self.num_classes = num_classes
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)
        for fc_module in self.fcs:
            nn.init.kaiming_normal_(fc_module.fc.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(fc_module.fc.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, in_channels)`` -> (embeddings ``(N, out_channels)``, identity scores ``(N, num_classes)``)."""
        for fc_module in self.fcs:
            x = fc_module(x)
        embeddings = self.fc_out(x)
        return embeddings, self.classifier(self.bn(embeddings))


class ReIDNet(nn.Module):
    """Backbone, global average pooling, :class:`LinearReIDHead`.

    ``forward(crops)`` with crops ``(N, 3, *crop_size)`` normalised as the training data
    (``input_normalization``, mean/std of RGB in 0..1): in eval mode the embeddings
    ``(N, out_channels)``; in training mode (or with ``with_logits=True``) the pair
    (embeddings, identity scores ``(N, num_classes)``). :meth:`embed_boxes` crops boxes from a
    network input (the tracker's rule, :func:`ltr.models.reid.crops.crop_network_input`) and
    embeds them."""

    def __init__(self, *, backbone: backbones.ResNet, feature_layer: str, in_channels: int, fc_channels: int,
                 out_channels: int, num_classes: int, crop_size: Sequence[int]):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1 (the training identities), got {num_classes}")
        self.backbone = backbone
        self.feature_layer = feature_layer
        self.head = LinearReIDHead(in_channels=in_channels, fc_channels=fc_channels, out_channels=out_channels,
                                   num_classes=num_classes)
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.out_channels = out_channels
        self.num_classes = num_classes

    def features(self, crops: torch.Tensor) -> torch.Tensor:
        """The pooled backbone features ``(N, in_channels)``."""
        feature_map = self.backbone(crops, output_layers=(self.feature_layer,))[self.feature_layer]
        return feature_map.mean(dim=(2, 3))

    def forward(self, crops: torch.Tensor, *, with_logits: bool | None = None):
        """Embeddings ``(N, out_channels)``, or (embeddings, scores ``(N, num_classes)``) when
        ``with_logits`` (default: in training mode)."""
        with_logits = self.training if with_logits is None else with_logits
        if crops.shape[0] == 0:  # as published: no crops, no embeddings (BatchNorm1d refuses empty batches)
            embeddings, logits = crops.new_zeros((0, self.out_channels)), crops.new_zeros((0, self.num_classes))
        else:
            embeddings, logits = self.head(self.features(crops))
        return (embeddings, logits) if with_logits else embeddings

    @torch.no_grad()
    def embed_boxes(self, batch: torch.Tensor, boxes: torch.Tensor, *,
                    image_size: Sequence[int] | None = None) -> torch.Tensor:
        """Embeddings ``(N, out_channels)`` of ``boxes`` ``(N, 4)`` (xyxy in the pixels of the
        network input ``batch`` ``(1, 3, H, W)``, normalised); ``image_size`` ``(h, w)``: the image
        inside the padding (default: all of ``batch``). Uses the network in its current mode
        (call ``.eval()`` to track)."""
        crops = crop_network_input(batch, boxes, self.crop_size, image_size=image_size)
        return self(crops, with_logits=False)


def _check_crop_size(crop_size: Sequence[int]) -> tuple[int, int]:
    values = tuple(int(v) for v in crop_size)
    if len(values) != 2 or min(values) < 1:
        raise ValueError(f"crop_size must be (height, width) in pixels, got {crop_size!r}")
    return values


@network_constructor
def reid_r50(*, num_classes: int = 380, backbone_pretrained: bool = False, out_channels: int = 128,
             fc_channels: int = 1024, crop_size: Sequence[int] = (256, 128)) -> ReIDNet:
    """mmtracking's ReID network for Tracktor: ResNet-50 (ImageNet weights from
    ``pretrained_networks`` with ``backbone_pretrained``), 2048 -> 1024 -> 128, crops 256x128.
    ``num_classes``: the training identities (380 for MOT17's train_80 split)."""
    backbone = backbones.resnet50(output_layers=("layer4",), pretrained=backbone_pretrained, num_classes=None)
    return ReIDNet(backbone=backbone, feature_layer="layer4", in_channels=backbone.out_channels("layer4"),
                   fc_channels=fc_channels, out_channels=out_channels, num_classes=num_classes,
                   crop_size=_check_crop_size(crop_size))


@network_constructor
def reid_tiny(*, num_classes: int = 16, backbone_pretrained: bool = False, width: int = 16, fc_channels: int = 128,
              out_channels: int = 128, crop_size: Sequence[int] = (64, 32)) -> ReIDNet:
    """The same network, small for CPUs and tests: a ResNet-tiny backbone (BasicBlocks, one per
    stage, layer4 of 8 * ``width`` channels), ``fc_channels`` and ``out_channels`` wide, crops
    ``crop_size`` (64x32). ``backbone_pretrained`` reads weights saved by you (resnet_tiny)."""
    backbone = backbones.resnet_tiny(output_layers=("layer4",), pretrained=backbone_pretrained, width=width)
    return ReIDNet(backbone=backbone, feature_layer="layer4", in_channels=backbone.out_channels("layer4"),
                   fc_channels=fc_channels, out_channels=out_channels, num_classes=num_classes,
                   crop_size=_check_crop_size(crop_size))
