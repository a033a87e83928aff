"""Folding BatchNorm into the convolution or linear layer before it, for frozen networks.

In eval mode a BatchNorm is a per-channel affine map, so ``bn(conv(x))`` equals one convolution
with scaled weights and a shifted bias: one pass over the activations less per layer, and
fewer operations to differentiate through when a tracker refines boxes by gradient ascent.

Pairs are found by registration order: a BatchNorm registered right after a Conv2d or Linear
in the same parent module, with as many features as that layer has outputs, is taken to
normalise that layer's output. That holds for every network in ``ltr.models`` (their tests
check the folded networks against the originals); the folded BatchNorm becomes ``Identity``.
"""

from __future__ import annotations

import torch
from torch import nn

FOLDABLE = (nn.Conv2d, nn.Linear)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


@torch.no_grad()
def fold_batch_norms(module: nn.Module) -> int:
    """Fold every (Conv2d | Linear, BatchNorm) pair of ``module`` in place; returns how many
    were folded. The module must be in eval mode (training BatchNorm is not an affine map)."""
    if module.training:
        raise ValueError("fold_batch_norms needs a module in eval mode: call .eval() first")
    folded = 0
    for parent in module.modules():
        children = list(parent.named_children())
        for (_, layer), (bn_name, bn) in zip(children, children[1:]):
            if not (isinstance(layer, FOLDABLE) and isinstance(bn, BATCH_NORMS)):
                continue
            if bn.running_mean is None or bn.num_features != layer.weight.shape[0]:
                continue
            _fold(layer, bn)
            setattr(parent, bn_name, nn.Identity())
            folded += 1
    return folded


def _fold(layer: nn.Module, bn: nn.Module) -> None:
    scale = bn.running_var.add(bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    weight = layer.weight
    layer.weight.copy_(weight * scale.reshape(-1, *([1] * (weight.dim() - 1))).to(weight))
    bias = shift if layer.bias is None else layer.bias * scale + shift
    if layer.bias is None:
        layer.bias = nn.Parameter(bias.to(weight), requires_grad=weight.requires_grad)
    else:
        layer.bias.copy_(bias)
