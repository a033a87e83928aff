"""FairMOT's networks (github.com/ifzhang/FairMOT ``src/lib/models/model.py``), registered
for the toolkit's checkpoints.

Every network takes images ``(B, 3, H, W)``, float RGB in [0, 1] (FairMOT divides by 255 and
subtracts no mean), H and W multiples of 32, and returns a dict of head outputs at stride 4
(``net.down_ratio == 4``), in FairMOT's order:

- ``hm`` ``(B, num_classes, H/4, W/4)``: centre heatmap logits (before the sigmoid);
- ``wh`` ``(B, 4, H/4, W/4)`` with ``ltrb`` (distances to left, top, right, bottom), else
  ``(B, 2, ...)`` (width, height);
- ``id`` ``(B, reid_dim, H/4, W/4)``: identity embeddings, not normalised;
- ``reg`` ``(B, 2, H/4, W/4)``: the centre's sub-pixel offset.

The ``state_dict`` keys and shapes are FairMOT's for the same ``--arch`` (without the DLA
base's ImageNet classifier ``base.fc``, which FairMOT's files carry unused), so its released
files load by name through :func:`ltr.models.fairmot.convert.load_fairmot_weights`.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from ltr.models.fairmot.dla import DLA, DLASeg
from ltr.models.fairmot.heads import fairmot_heads
from ltr.models.fairmot.resdcn import PoseResNet
from ltr.models.registry import network_constructor

DLA34_LEVELS = (1, 1, 1, 2, 2, 1)
DLA34_CHANNELS = (16, 32, 64, 128, 256, 512)
# fairmot_tiny: DLA-34's structure with few channels (the heads at 12 channels keep it fast on a CPU).
TINY_LEVELS = (1, 1, 1, 2, 2, 1)
TINY_CHANNELS = (4, 8, 12, 24, 48, 96)


def _dla(levels, channels, *, num_classes: int, reid_dim: int, head_conv: int, ltrb: bool,
         deformable: bool) -> DLASeg:
    heads = fairmot_heads(num_classes=num_classes, reid_dim=reid_dim, ltrb=ltrb)
    return DLASeg(DLA(levels, channels), heads=heads, head_conv=head_conv, deformable=deformable)


@network_constructor
def fairmot_dla_34(*, num_classes: int = 1, reid_dim: int = 128, head_conv: int = 256, ltrb: bool = True) -> DLASeg:
    """FairMOT's default network (``--arch dla_34``): DLA-34 with DCNv2 in DLAUp/IDAUp."""
    return _dla(DLA34_LEVELS, DLA34_CHANNELS, num_classes=num_classes, reid_dim=reid_dim, head_conv=head_conv,
                ltrb=ltrb, deformable=True)


@network_constructor
def fairmot_dlaconv_34(*, num_classes: int = 1, reid_dim: int = 128, head_conv: int = 256,
                       ltrb: bool = True) -> DLASeg:
    """``--arch dlaconv_34`` (``pose_dla_conv.py``): DLA-34 with plain 3x3 convolutions (no
    bias) where ``dla_34`` has DCNs."""
    return _dla(DLA34_LEVELS, DLA34_CHANNELS, num_classes=num_classes, reid_dim=reid_dim, head_conv=head_conv,
                ltrb=ltrb, deformable=False)


@network_constructor
def fairmot_resdcn_34(*, num_classes: int = 1, reid_dim: int = 128, head_conv: int = 256,
                      ltrb: bool = True) -> PoseResNet:
    """``--arch resdcn_34``: ResNet-34 with three DCN + deconvolution upsamplings."""
    return PoseResNet(34, heads=fairmot_heads(num_classes=num_classes, reid_dim=reid_dim, ltrb=ltrb),
                      head_conv=head_conv)


@network_constructor
def fairmot_resdcn_50(*, num_classes: int = 1, reid_dim: int = 128, head_conv: int = 256,
                      ltrb: bool = True) -> PoseResNet:
    """``--arch resdcn_50``: ResNet-50 with three DCN + deconvolution upsamplings."""
    return PoseResNet(50, heads=fairmot_heads(num_classes=num_classes, reid_dim=reid_dim, ltrb=ltrb),
                      head_conv=head_conv)


@network_constructor
def fairmot_tiny(*, num_classes: int = 1, reid_dim: int = 64, head_conv: int = 64, ltrb: bool = True,
                 deformable: bool = False) -> DLASeg:
    """DLA-34's structure (levels 1, 1, 1, 2, 2, 1) with channels (4, 8, 12, 24, 48, 96), for
    the synthetic dataset and tests: 0.69 M parameters, about 60 ms at 384x384 on one CPU
    core. Plain 3x3 convolutions in DLAUp/IDAUp unless ``deformable`` (then DCNs as
    ``dla_34``)."""
    return _dla(TINY_LEVELS, TINY_CHANNELS, num_classes=num_classes, reid_dim=reid_dim, head_conv=head_conv,
                ltrb=ltrb, deformable=deformable)


ARCH_CONSTRUCTORS: dict[str, Callable[..., nn.Module]] = {
    "dla_34": fairmot_dla_34, "dlaconv_34": fairmot_dlaconv_34, "resdcn_34": fairmot_resdcn_34,
    "resdcn_50": fairmot_resdcn_50, "tiny": fairmot_tiny}


def build_fairmot(arch: str, *, num_classes: int = 1, reid_dim: int = 128, head_conv: int = 256,
                  ltrb: bool = True) -> nn.Module:
    """The network of FairMOT's ``--arch`` string (``dla_34``, ``dlaconv_34``, ``resdcn_34``,
    ``resdcn_50``, and the toolkit's ``tiny``) with FairMOT's options (for ``tiny`` too: pass
    its smaller ``reid_dim``/``head_conv`` explicitly, or call :func:`fairmot_tiny`).
    ``head_conv=-1`` is FairMOT's "default": 256."""
    try:
        constructor = ARCH_CONSTRUCTORS[arch]
    except KeyError:
        raise ValueError(f"unknown FairMOT --arch {arch!r}; pick one of {', '.join(ARCH_CONSTRUCTORS)}") from None
    if head_conv == -1:
        head_conv = 256
    return constructor(num_classes=num_classes, reid_dim=reid_dim, head_conv=head_conv, ltrb=ltrb)
