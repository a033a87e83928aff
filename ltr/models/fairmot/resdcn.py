"""FairMOT's ``resdcn`` networks (``src/lib/models/networks/resnet_dcn.py``: CenterNet's
PoseResNet with deformable upsampling), written for this toolkit.

Published structure (names are FairMOT's):

- ``conv1`` (7x7, stride 2), ``bn1``, ReLU, ``maxpool`` (3x3, stride 2, padding 1),
  ``layer1`` .. ``layer4``: torchvision's ResNet stages (BasicBlock for 18/34, Bottleneck with
  expansion 4 for 50+; stride in the 3x3 convolution; ``downsample`` a 1x1 conv + BN), stride 32;
- ``deconv_layers``: three times [DCN 3x3 (in -> planes, with bias), BN, ReLU,
  ConvTranspose2d (planes -> planes, kernel 4, stride 2, padding 1, no bias, not depthwise)
  initialised bilinear (``fill_up_weights``: only ``w[c, 0]``), BN, ReLU] with planes 256,
  128, 64: stride 4, 64 channels (Sequential indices 0-17: DCN at 0, 6, 12; ConvTranspose at
  3, 9, 15);
- heads on the 64 channels with ``resnet_dcn.py``'s ``fill_fc_weights`` (normal(0, 0.001)).
"""

from __future__ import annotations

import torch
from torch import nn

from ltr.models.backbone.resnet import BasicBlock, Bottleneck
from ltr.models.fairmot.dcn import DCN
from ltr.models.fairmot.dla import BN_MOMENTUM, fill_up_weights
from ltr.models.fairmot.heads import check_input, make_head
from ltr.models.layers.pooling import SeparableMaxPool2d

RESNET_SPEC: dict[int, tuple[type[nn.Module], list[int]]] = {
    18: (BasicBlock, [2, 2, 2, 2]), 34: (BasicBlock, [3, 4, 6, 3]), 50: (Bottleneck, [3, 4, 6, 3]),
    101: (Bottleneck, [3, 4, 23, 3]), 152: (Bottleneck, [3, 8, 36, 3])}


class PoseResNet(nn.Module):
    """FairMOT's ``PoseResNet`` (module docstring). ``forward(images)`` -> ``{name: (B,
    channels, H/4, W/4)}`` for each of ``heads`` (name -> channels, FairMOT's order)."""

    def __init__(self, num_layers: int, *, heads: dict[str, int], head_conv: int):
        super().__init__()
        if num_layers not in RESNET_SPEC:
            raise ValueError(f"resdcn has no ResNet-{num_layers}; pick one of {sorted(RESNET_SPEC)}")
        block, layers = RESNET_SPEC[num_layers]
        self.inplanes = 64
        self.down_ratio = 4
        self.heads = dict(heads)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = SeparableMaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.deconv_layers = self._make_deconv_layers((256, 128, 64))
        for name, classes in self.heads.items():
            setattr(self, name, make_head(name, 64, classes, head_conv=head_conv, fill="resnet"))

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion, momentum=BN_MOMENTUM))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _make_deconv_layers(self, filters: tuple[int, ...]) -> nn.Sequential:
        layers: list[nn.Module] = []
        for planes in filters:
            dcn = DCN(self.inplanes, planes, kernel_size=(3, 3), stride=1, padding=1, dilation=1, deformable_groups=1)
            up = nn.ConvTranspose2d(planes, planes, 4, stride=2, padding=1, output_padding=0, bias=False)
            fill_up_weights(up)
            layers += [dcn, nn.BatchNorm2d(planes, momentum=BN_MOMENTUM), nn.ReLU(inplace=True),
                       up, nn.BatchNorm2d(planes, momentum=BN_MOMENTUM), nn.ReLU(inplace=True)]
            self.inplanes = planes
        return nn.Sequential(*layers)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, 3, H, W)`` -> the stride-4 map ``(B, 64, H/4, W/4)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.deconv_layers(x)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        check_input(x, 32)
        features = self.features(x)
        return {name: getattr(self, name)(features) for name in self.heads}
