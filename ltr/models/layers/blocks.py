"""Convolution and linear blocks in the layout of pytracking's networks, so that their
state-dict keys (``<block>.0.weight``, ``<block>.1.running_mean``, ``<block>.linear.weight``,
``<block>.bn.weight``...) match the published checkpoints."""

from __future__ import annotations

import torch
from torch import nn


def conv_block(in_planes: int, out_planes: int, kernel_size: int = 3, stride: int = 1, padding: int = 1,
               dilation: int = 1, bias: bool = True, batch_norm: bool = True, relu: bool = True) -> nn.Sequential:
    """Conv2d, then BatchNorm2d (``batch_norm``), then ReLU (``relu``), as an ``nn.Sequential``:
    keys ``0.weight``, ``0.bias``, ``1.weight``, ``1.bias``, ``1.running_mean``, ...
    (B, in_planes, H, W) -> (B, out_planes, H', W')."""
    layers: list[nn.Module] = [nn.Conv2d(in_planes, out_planes, kernel_size=kernel_size, stride=stride,
                                         padding=padding, dilation=dilation, bias=bias)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_planes))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class LinearBlock(nn.Module):
    """A fully connected layer over a whole (B, in_planes, input_sz, input_sz) map, then
    BatchNorm and ReLU: (B, in_planes, s, s) -> (B, out_planes).

    The normalisation is a ``BatchNorm2d`` applied to the output viewed as (B, out_planes, 1, 1),
    as in pytracking, so that published weights (``bn.running_mean``...) load unchanged."""

    def __init__(self, in_planes: int, out_planes: int, input_sz: int, bias: bool = True,
                 batch_norm: bool = True, relu: bool = True):
        super().__init__()
        self.linear = nn.Linear(in_planes * input_sz * input_sz, out_planes, bias=bias)
        self.bn = nn.BatchNorm2d(out_planes) if batch_norm else None
        self.relu = nn.ReLU(inplace=True) if relu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x.reshape(x.shape[0], -1))
        if self.bn is not None:
            x = self.bn(x.reshape(x.shape[0], x.shape[1], 1, 1))
        if self.relu is not None:
            x = self.relu(x)
        return x.reshape(x.shape[0], -1)
