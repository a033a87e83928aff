"""FairMOT's DLA-34 segmentation network (``src/lib/models/networks/pose_dla_dcn.py``, and
``pose_dla_conv.py`` for the plain-convolution variant ``dlaconv``), written for this toolkit.

Published structure (module and parameter names are FairMOT's, so its files load by name):

- ``base``: DLA (Yu et al., "Deep Layer Aggregation"): ``base_layer`` (7x7 conv, stride 1,
  BN, ReLU), ``level0`` and ``level1`` (3x3 conv-BN-ReLU stacks, level1 at stride 2), then
  ``level2`` .. ``level5``: :class:`Tree` s of :class:`BasicBlock` s, each halving the
  resolution (max pooling before the tree), levels 3-5 with ``level_root`` (the pooled input
  joins the root). DLA-34: levels (1, 1, 1, 2, 2, 1), channels (16, 32, 64, 128, 256, 512).
  Outputs of all six levels, strides 1, 2, 4, 8, 16, 32. (The ImageNet classifier ``fc`` is
  not part of the network here: FairMOT creates it only to load the ImageNet file and never
  uses it.)
- ``dla_up``: :class:`DLAUp` over levels 2..5: ``ida_0`` .. ``ida_2``, each an
  :class:`IDAUp` that projects, upsamples and merges the deeper levels into the shallower one.
- ``ida_up``: one more :class:`IDAUp` over the three outputs of ``dla_up`` at strides 4, 8, 16
  (``last_level = 5``), merging them into stride 4 with ``channels[2]`` channels (64).
- every projection and node of the IDAUps: :class:`DeformConv`: ``conv`` (DCNv2's ``DCN``,
  3x3, or for ``dlaconv`` a 3x3 Conv2d without bias) then ``actf`` (BatchNorm, ReLU); the
  upsampling ``up_i``: a depthwise ConvTranspose2d (kernel ``2f``, stride ``f``, padding
  ``f // 2``, no bias) initialised bilinear (:func:`fill_up_weights`).
- heads (:mod:`ltr.models.fairmot.heads`) on the stride-4 map.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ltr.models.fairmot.dcn import DCN
from ltr.models.fairmot.heads import check_input, make_head
from ltr.models.layers.pooling import SeparableMaxPool2d

BN_MOMENTUM = 0.1  # FairMOT's, PyTorch's default


def fill_up_weights(up: nn.ConvTranspose2d) -> None:
    """FairMOT's bilinear initialisation of an upsampling ConvTranspose2d: with ``f =
    ceil(k / 2)`` and ``c = (2f - 1 - f % 2) / (2f)``, ``w[0, 0, i, j] = (1 - |i / f - c|) *
    (1 - |j / f - c|)``, copied to every ``w[c, 0]`` (only the first input channel of each
    output channel; the rest keep their default initialisation)."""
    with torch.no_grad():
        weight = up.weight
        k_h, k_w = weight.shape[2], weight.shape[3]
        f = math.ceil(k_h / 2)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        rows = torch.tensor([1 - abs(i / f - c) for i in range(k_h)], dtype=weight.dtype)
        cols = torch.tensor([1 - abs(j / f - c) for j in range(k_w)], dtype=weight.dtype)
        weight[:, 0] = (rows[:, None] * cols[None, :]).to(weight.device)


class BasicBlock(nn.Module):
    """DLA's residual block: 3x3 conv (stride) - BN - ReLU - 3x3 conv - BN, plus the residual
    handed in (default: the input), ReLU."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.stride = stride

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        residual = x if residual is None else residual
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Root(nn.Module):
    """A tree's aggregation node: 1x1 conv over the concatenated children, BN, (plus the first
    child when ``residual``), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, residual: bool):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=(kernel_size - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, *children: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(torch.cat(children, 1)))
        if self.residual:
            x = x + children[0]
        return self.relu(x)


class Tree(nn.Module):
    """DLA's hierarchical aggregation tree of depth ``levels`` (FairMOT's ``Tree``): a depth-1
    tree is two blocks and a :class:`Root` over (second block, first block, carried children);
    a deeper tree is two subtrees, the second carrying the first's output (and with
    ``level_root`` the pooled input) down to its root. With ``stride > 1`` the input is max
    pooled first; with a channel change the pooled input is projected (1x1 conv, BN) to serve
    as the first block's residual."""

    def __init__(self, levels: int, block: type[BasicBlock], in_channels: int, out_channels: int, stride: int = 1,
                 level_root: bool = False, root_dim: int = 0, root_kernel_size: int = 1, dilation: int = 1,
                 root_residual: bool = False):
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        if levels == 1:
            self.tree1 = block(in_channels, out_channels, stride, dilation=dilation)
            self.tree2 = block(out_channels, out_channels, 1, dilation=dilation)
            self.root = Root(root_dim, out_channels, root_kernel_size, root_residual)
        else:
            self.tree1 = Tree(levels - 1, block, in_channels, out_channels, stride, root_dim=0,
                              root_kernel_size=root_kernel_size, dilation=dilation, root_residual=root_residual)
            self.tree2 = Tree(levels - 1, block, out_channels, out_channels, root_dim=root_dim + out_channels,
                              root_kernel_size=root_kernel_size, dilation=dilation, root_residual=root_residual)
        self.level_root = level_root
        self.root_dim = root_dim
        self.levels = levels
        self.downsample = SeparableMaxPool2d(stride, stride=stride) if stride > 1 else None
        self.project = None
        if in_channels != out_channels:
            self.project = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=1, bias=False),
                                         nn.BatchNorm2d(out_channels, momentum=BN_MOMENTUM))

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None,
                children: list[torch.Tensor] | None = None) -> torch.Tensor:
        children = [] if children is None else children
        bottom = self.downsample(x) if self.downsample is not None else x
        residual = self.project(bottom) if self.project is not None else bottom
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, residual)
        if self.levels == 1:
            x2 = self.tree2(x1)
            return self.root(x2, x1, *children)
        children.append(x1)
        return self.tree2(x1, children=children)


class DLA(nn.Module):
    """The DLA backbone (module docstring): ``forward(x)`` -> the six level outputs, strides 1
    to 32, with ``channels[i]`` channels."""

    def __init__(self, levels: Sequence[int], channels: Sequence[int], *, block: type[BasicBlock] = BasicBlock,
                 residual_root: bool = False):
        super().__init__()
        if len(levels) != 6 or len(channels) != 6:
            raise ValueError(f"DLA takes six levels and six channel counts, got {list(levels)} and {list(channels)}")
        self.channels = list(channels)
        self.base_layer = nn.Sequential(nn.Conv2d(3, channels[0], 7, stride=1, padding=3, bias=False),
                                        nn.BatchNorm2d(channels[0], momentum=BN_MOMENTUM), nn.ReLU(inplace=True))
        self.level0 = self._conv_level(channels[0], channels[0], levels[0])
        self.level1 = self._conv_level(channels[0], channels[1], levels[1], stride=2)
        self.level2 = Tree(levels[2], block, channels[1], channels[2], 2, level_root=False, root_residual=residual_root)
        self.level3 = Tree(levels[3], block, channels[2], channels[3], 2, level_root=True, root_residual=residual_root)
        self.level4 = Tree(levels[4], block, channels[3], channels[4], 2, level_root=True, root_residual=residual_root)
        self.level5 = Tree(levels[5], block, channels[4], channels[5], 2, level_root=True, root_residual=residual_root)

    @staticmethod
    def _conv_level(inplanes: int, planes: int, convs: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        modules: list[nn.Module] = []
        for i in range(convs):
            modules += [nn.Conv2d(inplanes, planes, 3, stride=stride if i == 0 else 1, padding=dilation,
                                  dilation=dilation, bias=False),
                        nn.BatchNorm2d(planes, momentum=BN_MOMENTUM), nn.ReLU(inplace=True)]
            inplanes = planes
        return nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        x = self.base_layer(x)
        for level in (self.level0, self.level1, self.level2, self.level3, self.level4, self.level5):
            x = level(x)
            outputs.append(x)
        return outputs


class DeformConv(nn.Module):
    """FairMOT's ``DeformConv``: ``conv`` (3x3, stride 1, padding 1: DCNv2's DCN, or a Conv2d
    without bias when ``deformable=False`` as ``pose_dla_conv.py``) then ``actf`` (BatchNorm,
    ReLU). ``actf`` is registered first, as published, so the state dict lists it first."""

    def __init__(self, chi: int, cho: int, *, deformable: bool = True):
        super().__init__()
        self.actf = nn.Sequential(nn.BatchNorm2d(cho, momentum=BN_MOMENTUM), nn.ReLU(inplace=True))
        if deformable:
            self.conv: nn.Module = DCN(chi, cho, kernel_size=(3, 3), stride=1, padding=1, dilation=1,
                                       deformable_groups=1)
        else:
            self.conv = nn.Conv2d(chi, cho, 3, stride=1, padding=1, dilation=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.actf(self.conv(x))


class IDAUp(nn.Module):
    """Iterative deep aggregation (FairMOT's ``IDAUp(o, channels, up_f)``): for each input
    ``i >= 1`` (channels ``channels[i]``, ``up_f[i]`` times coarser than input 0) a projection
    ``proj_i`` to ``o`` channels, an upsampling ``up_i`` by ``up_f[i]`` and a node ``node_i``.
    ``forward(layers, startp, endp)`` rewrites ``layers[startp + 1:endp]`` in place:
    ``layers[i] = node(up(proj(layers[i])) + layers[i - 1])``, so each level is merged with the
    already merged shallower one."""

    def __init__(self, o: int, channels: Sequence[int], up_f: Sequence[int], *, deformable: bool = True):
        super().__init__()
        for i in range(1, len(channels)):
            f = int(up_f[i])
            proj = DeformConv(int(channels[i]), o, deformable=deformable)
            node = DeformConv(o, o, deformable=deformable)
            up = nn.ConvTranspose2d(o, o, f * 2, stride=f, padding=f // 2, output_padding=0, groups=o, bias=False)
            fill_up_weights(up)
            setattr(self, f"proj_{i}", proj)
            setattr(self, f"up_{i}", up)
            setattr(self, f"node_{i}", node)

    def forward(self, layers: list[torch.Tensor], startp: int, endp: int) -> None:
        for i in range(startp + 1, endp):
            k = i - startp
            upsampled = getattr(self, f"up_{k}")(getattr(self, f"proj_{k}")(layers[i]))
            layers[i] = getattr(self, f"node_{k}")(upsampled + layers[i - 1])


class DLAUp(nn.Module):
    """FairMOT's ``DLAUp(startp, channels, scales)``: over the levels ``channels`` (strides
    ``scales``, relative), ``ida_0`` merges the deepest level into the one above, ``ida_1`` the
    two deepest into the next, and so on; after each, the deeper levels count as having that
    level's channels and scale. ``forward(levels)`` (all base outputs) -> the merged maps of
    levels ``startp`` .. last, shallowest first."""

    def __init__(self, startp: int, channels: Sequence[int], scales: Sequence[int], *, deformable: bool = True):
        super().__init__()
        self.startp = startp
        channels = [int(c) for c in channels]
        in_channels = list(channels)
        scales = [int(s) for s in scales]
        for i in range(len(channels) - 1):
            j = len(channels) - 2 - i  # the level this IDAUp merges into
            up_f = [s // scales[j] for s in scales[j:]]
            setattr(self, f"ida_{i}", IDAUp(channels[j], in_channels[j:], up_f, deformable=deformable))
            for k in range(j + 1, len(channels)):
                scales[k] = scales[j]
                in_channels[k] = channels[j]

    def forward(self, layers: list[torch.Tensor]) -> list[torch.Tensor]:
        layers = list(layers)
        out = [layers[-1]]
        for i in range(len(layers) - self.startp - 1):
            getattr(self, f"ida_{i}")(layers, len(layers) - i - 2, len(layers))
            out.insert(0, layers[-1])
        return out


class DLASeg(nn.Module):
    """FairMOT's ``DLASeg`` at ``down_ratio = 4``, ``last_level = 5`` and ``final_kernel = 1``
    (module docstring): ``base`` -> ``dla_up`` -> ``ida_up`` -> the stride-4 map
    ``(B, channels[2], H/4, W/4)``, then one head per entry of ``heads`` (name -> output
    channels, in FairMOT's order hm, wh, id, reg: :func:`ltr.models.fairmot.heads.make_head`
    with DLA's initialisation). ``forward(images)`` -> ``{name: (B, channels, H/4, W/4)}``."""

    def __init__(self, base: DLA, *, heads: dict[str, int], head_conv: int, deformable: bool = True,
                 first_level: int = 2, last_level: int = 5):
        super().__init__()
        self.first_level = first_level
        self.last_level = last_level
        self.down_ratio = 2 ** first_level
        self.base = base
        channels = base.channels
        scales = [2 ** i for i in range(len(channels[first_level:]))]
        self.dla_up = DLAUp(first_level, channels[first_level:], scales, deformable=deformable)
        self.ida_up = IDAUp(channels[first_level], channels[first_level:last_level],
                            [2 ** i for i in range(last_level - first_level)], deformable=deformable)
        self.heads = dict(heads)
        for name, classes in self.heads.items():
            setattr(self, name, make_head(name, channels[first_level], classes, head_conv=head_conv,
                                          fill="dla"))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, 3, H, W)`` -> the merged stride-4 map ``(B, channels[2], H/4, W/4)``."""
        merged = self.dla_up(self.base(x))
        y = [merged[i].clone() for i in range(self.last_level - self.first_level)]
        self.ida_up(y, 0, len(y))
        return y[-1]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        check_input(x, self.down_ratio * 8)
        features = self.features(x)
        return {name: getattr(self, name)(features) for name in self.heads}
