"""FairMOT's output heads (``DLASeg`` and ``PoseResNet`` in ``src/lib/models/networks/``).

Published rules:

- the heads, in this order (``opts.update_dataset_info_and_set_heads``): ``hm``
  (``num_classes``), ``wh`` (4 with ``--ltrb``, the default, else 2), ``id`` (``--reid_dim``),
  ``reg`` (2, unless ``--not_reg_offset``);
- each head with ``head_conv > 0``: Conv2d 3x3 (in -> head_conv, padding 1, bias), ReLU, Conv2d
  1x1 (head_conv -> channels, bias): keys ``<head>.0.*`` and ``<head>.2.*``; with
  ``head_conv <= 0`` one Conv2d 1x1 (keys ``<head>.weight``, ``<head>.bias``);
- ``hm``'s last bias is -2.19 (a prior of sigmoid(-2.19) = 0.1 for a centre);
- the other heads' ``fill_fc_weights``: in ``pose_dla_dcn.py`` every Conv2d's bias zero
  (weights keep PyTorch's default); in ``resnet_dcn.py`` weights normal(0, 0.001) and biases
  zero. ``hm``'s weights and first bias keep PyTorch's defaults in both.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

HM_BIAS = -2.19


def fairmot_heads(*, num_classes: int, reid_dim: int, ltrb: bool, reg_offset: bool = True) -> dict[str, int]:
    """FairMOT's heads dictionary, in its order (module docstring)."""
    if num_classes < 1 or reid_dim < 1:
        raise ValueError(f"num_classes and reid_dim must be at least 1, got {num_classes} and {reid_dim}")
    heads = {"hm": num_classes, "wh": 4 if ltrb else 2, "id": reid_dim}
    if reg_offset:
        heads["reg"] = 2
    return heads


def make_head(name: str, in_channels: int, out_channels: int, *, head_conv: int,
              fill: Literal["dla", "resnet"]) -> nn.Module:
    """One head (module docstring); ``fill``: whose ``fill_fc_weights`` initialises the
    non-``hm`` heads."""
    if head_conv > 0:
        head: nn.Module = nn.Sequential(nn.Conv2d(in_channels, head_conv, 3, padding=1, bias=True),
                                        nn.ReLU(inplace=True),
                                        nn.Conv2d(head_conv, out_channels, 1, stride=1, padding=0, bias=True))
        last = head[-1]
    else:
        head = last = nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=0, bias=True)
    with torch.no_grad():
        if "hm" in name:
            last.bias.fill_(HM_BIAS)
        else:
            for module in head.modules():
                if isinstance(module, nn.Conv2d):
                    if fill == "resnet":
                        nn.init.normal_(module.weight, std=0.001)
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)
    return head


def check_input(images: torch.Tensor, multiple: int) -> None:
    """One clear error for images that are not ``(B, 3, H, W)`` with H and W multiples of
    ``multiple`` (the networks' merging of strides 4 to 32 needs it)."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"FairMOT's network takes images (B, 3, H, W), got shape {tuple(images.shape)}")
    height, width = images.shape[-2:]
    if height % multiple or width % multiple:
        raise ValueError(f"FairMOT's network takes H and W that are multiples of {multiple}, got {height}x{width}; "
                         f"pad or resize the input (FairMOT's letterbox does)")


def gather_at(feature: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """A head's output ``feature`` (B, C, H, W) at the flat cells ``ind`` (B, M) (``y * W + x``):
    (B, M, C), FairMOT's ``_tranpose_and_gather_feat``; reads only those cells (no channels-last
    copy of the whole map)."""
    batch, channels = feature.shape[:2]
    flat = feature.reshape(batch, channels, -1)
    return flat.gather(2, ind.long().unsqueeze(1).expand(-1, channels, -1)).transpose(1, 2)
