"""ATOM's network as its tracker uses it: the generic :class:`NetWrapper` (loading, device,
normalisation, precision, BatchNorm folding, backbone features) and the calls of ATOM's IoU
predictor (modulation vectors, test-branch features, optionally computed in a window only or,
exactly, only in the cells the refined boxes read (:class:`LazyModulatedIouFeatures`), and
predicted IoUs of proposals)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as nn_functional

from external.PreciseRoIPooling import prroi_pool2d, prroi_pool2d_box_gradient
from ltr.data.boxes import xyxy_gradient_to_xywh
from ltr.models.bbreg.atom_iou_net import _rois
from ltr.models.layers.blocks import LinearBlock
from pytracking.features.net_wrappers import NetWrapper
from pytracking.tracker.atom.box_refinement import autograd_iou_and_gradient

# Cells of context each side that the IoU predictor's test branch (two 3x3 convolutions) reads.
IOU_BRANCH_CONTEXT = 2
# The test branch of ATOM's IoU head per feature level: its two convolutions and its pooling.
_TEST_BRANCH = (("conv3_1t", "conv3_2t", "prroi_pool3t"), ("conv4_1t", "conv4_2t", "prroi_pool4t"))

# PyTorch runs a batch-1 float32 3x3 convolution on the CPU through oneDNN only when its input
# has more than this many elements (ConvParams::use_mkldnn, "for some case, native is faster"),
# natively (im2col and GEMM, which rounds otherwise) below. oneDNN's direct convolution computes
# each output the same way whatever the map's extent and padding (tested down to single cells),
# so where the whole map goes through oneDNN its cells are computed by calling oneDNN directly on
# the cells and their context, unpadded.
ONEDNN_MIN_INPUT_ELEMENTS = 20480

Cells = tuple[int, int, int, int]  # (row0, row1, col0, col1), ends excluded


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


def pooling_footprint(rois: torch.Tensor | np.ndarray, spatial_scale: float, size: Sequence[int]) -> Cells | None:
    """The cells (row0, row1, col0, col1) of a (H, W) = ``size`` map that Precise RoI Pooling
    (forward and backward) may read for ``rois`` (K, 5) [batch_index, x0, y0, x1, y1], a
    superset: None when it reads none. The op scales a roi in double precision (x0 *
    spatial_scale, ...), skips a roi of zero area or with a non-finite coordinate, and along x
    reads, for each bin edge e (from x0 to about x1), the cells floor(e) .. ceil(e) of the
    bilinear kernel (0 outside the map); rounding of the edges x0 + p * bin can move the
    last edge past x1 by a few ulps, hence one cell of slack each side:
    cols floor(x0) - 1 .. ceil(x1) + 1, clamped to the map. ``rois`` may be a NumPy array (a
    caller with several maps converts them once)."""
    if isinstance(rois, torch.Tensor):
        rois = rois.detach().cpu().numpy()
    scale = float(spatial_scale)
    # Python floats: each product is the float64 product the op forms, and a loop over the few
    # rois of a refinement step costs less than NumPy's calls on them.
    left = top = math.inf
    right = bottom = -math.inf
    for _, x0, y0, x1, y1 in rois.tolist():
        x0, y0, x1, y1 = x0 * scale, y0 * scale, x1 * scale, y1 * scale
        if not (math.isfinite(x0) and math.isfinite(y0) and math.isfinite(x1) and math.isfinite(y1)
                and x1 > x0 and y1 > y0):
            continue
        left, top, right, bottom = min(left, x0), min(top, y0), max(right, x1), max(bottom, y1)
    if left == math.inf:
        return None
    height, width = int(size[0]), int(size[1])
    col0 = max(math.floor(left) - 1, 0)
    col1 = min(math.ceil(right) + 2, width)
    row0 = max(math.floor(top) - 1, 0)
    row1 = min(math.ceil(bottom) + 2, height)
    if col0 >= col1 or row0 >= row1:
        return None
    return row0, row1, col0, col1


def _pooling_layout(maps: torch.Tensor) -> torch.Tensor:
    """``maps`` in the memory layout Precise RoI Pooling reads fastest, a dozen times per frame:
    channels-last on the CPU (its kernels run across the channels), row-major on a GPU."""
    memory_format = torch.channels_last if maps.device.type == "cpu" else torch.contiguous_format
    return maps.contiguous(memory_format=memory_format)


def _contains(outer: Cells | None, inner: Cells) -> bool:
    return (outer is not None and outer[0] <= inner[0] and inner[1] <= outer[1] and outer[2] <= inner[2]
            and inner[3] <= outer[3])


# Modules a test-branch block may hold after its convolution: each computes a cell from that
# cell alone (BatchNorm in eval mode, ReLU; Identity where BatchNorm was folded).
_CELLWISE = (nn.BatchNorm2d, nn.ReLU, nn.Identity)


def _branch_convolutions(head, level: int) -> list[nn.Conv2d] | None:
    """The two convolutions of the test branch of ``level``, or None unless each block is a
    sequence of one 3x3 convolution of stride 1, padding 1, no dilation and one group (what
    :data:`IOU_BRANCH_CONTEXT` assumes), then cell-wise modules only (:data:`_CELLWISE`)."""
    convolutions = []
    for name in _TEST_BRANCH[level][:2]:
        block = getattr(head, name)
        if not isinstance(block, nn.Sequential) or len(block) == 0 or not isinstance(block[0], nn.Conv2d):
            return None
        c = block[0]
        if (tuple(c.kernel_size), tuple(c.stride), tuple(c.padding), tuple(c.dilation), c.groups) != (
                (3, 3), (1, 1), (1, 1), (1, 1), 1):
            return None
        if not all(isinstance(m, _CELLWISE) and not (isinstance(m, nn.BatchNorm2d) and m.training)
                   for m in list(block)[1:]):
            return None
        convolutions.append(c)
    return convolutions


def _with_zero_context(x: torch.Tensor, have: Cells, cells: Cells) -> torch.Tensor:
    """``x``, the cells ``have`` of a map (``cells`` grown by one each side, clamped to the
    map), with zeros where that context lies beyond the map: the convolution's padding."""
    top, bottom = 1 - (cells[0] - have[0]), 1 - (have[1] - cells[1])
    left, right = 1 - (cells[2] - have[2]), 1 - (have[3] - cells[3])
    if top or bottom or left or right:
        x = nn_functional.pad(x, (left, right, top, bottom))
    return x


def _block_on_cells(block: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """A test-branch block (see :func:`_branch_convolutions`) on ``x``, cells with one cell of
    context each side: its convolution by oneDNN without padding (the cells inside the context,
    as the whole map's convolution computes them), then its cell-wise modules."""
    conv = block[0]
    x = torch.ops.aten.mkldnn_convolution(x.contiguous(), conv.weight, conv.bias, [0, 0], [1, 1], [1, 1], 1)
    for module in list(block)[1:]:
        x = module(x)
    return x


def _aligned(cells: Cells, grid: int, size: Sequence[int]) -> Cells:
    """``cells`` grown to the nearest multiples of ``grid`` (clamped to the map)."""
    row0, row1, col0, col1 = cells
    return (row0 - row0 % grid, min(-(-row1 // grid) * grid, int(size[0])), col0 - col0 % grid,
            min(-(-col1 // grid) * grid, int(size[1])))


def _missing_bands(have: Cells, want: Cells) -> list[Cells]:
    """The rectangle ``want`` (which contains ``have``) less ``have``, as up to four bands: the
    rows above and below across the whole width, the columns left and right beside ``have``."""
    bands = [(want[0], have[0], want[2], want[3]), (have[1], want[1], want[2], want[3]),
             (have[0], have[1], want[2], have[2]), (have[0], have[1], have[3], want[3])]
    return [b for b in bands if b[0] < b[1] and b[2] < b[3]]


class LazyModulatedIouFeatures:
    """The modulated test features of one frame (those of
    :meth:`AtomNetWrapper.modulated_iou_features`), computed only in the cells that the boxes
    pooled so far read: calling it with proposals (B, P, 4) [x, y, w, h] first computes the
    cells of their :func:`pooling_footprint` (plus ``margin`` cells each side, so that boxes
    moving a little need no new cells) that are not computed yet, then returns the maps (cells
    not computed are 0 and never read). The cells are computed by
    :meth:`AtomNetWrapper.iou_feature_cells`, which gives the whole map's values bit for bit
    where :meth:`AtomNetWrapper.iou_cells_exact` holds (float32 on the CPU, the published
    network's sizes); a level where it does not is computed whole at its first use. So pooling,
    and box refinement, give what they give on the whole map, at the cost of the cells the boxes
    reach. The cells computed are aligned to a grid of ``grid`` cells, so that the convolutions
    see a few shapes again and again (oneDNN builds a kernel for each new shape, which costs
    about as much as computing the cells). ``whole_map``: compute every cell at the first call
    (the published way)."""

    def __init__(self, network: "AtomNetWrapper", backbone_features: dict[str, torch.Tensor],
                 modulation: Sequence[torch.Tensor], *, margin: int = 1, grid: int = 2,
                 whole_map: bool = False):
        self._network = network
        self._grid = int(grid)
        self._features = backbone_features
        self._modulation = tuple(modulation)
        self._margin = int(margin)
        self._whole_map = whole_map
        self._maps: list[torch.Tensor | None] = [None] * len(self._modulation)
        self.computed: list[Cells | None] = [None] * len(self._modulation)

    @property
    def _inputs(self) -> list[torch.Tensor]:
        return [self._features[layer] for layer in self._network.iou_layers]

    def __call__(self, proposals: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The maps, with every cell that pooling ``proposals`` reads computed."""
        if self._whole_map:
            if self._maps[0] is None:
                self._maps = list(self._network.modulated_iou_features(
                    self._modulation, self._network.iou_features(self._features)))
                self.computed = [(0, m.shape[-2], 0, m.shape[-1]) for m in self._maps]
            return tuple(self._maps)
        rois = _rois(proposals).detach().cpu().numpy()
        head = self._network.net.bb_regressor
        inputs = self._inputs
        for level, features in enumerate(inputs):
            pool = getattr(head, _TEST_BRANCH[level][2])
            size = features.shape[-2:]
            need = pooling_footprint(rois, pool.spatial_scale, size)
            if need is None or _contains(self.computed[level], need):
                continue
            if self._network.iou_cells_exact(features, level):
                want = _aligned(_grow(need, self._margin, size), self._grid, size)
            else:
                want = (0, int(size[0]), 0, int(size[1]))
            have = self.computed[level]
            if have is not None:
                want = (min(want[0], have[0]), max(want[1], have[1]), min(want[2], have[2]), max(want[3], have[3]))
            for cells in ([want] if have is None else _missing_bands(have, want)):
                self._compute(level, inputs[level], cells)
            self.computed[level] = want
        return tuple(m if m is not None else self._empty(level) for level, m in enumerate(self._maps))

    def _empty(self, level: int) -> torch.Tensor:
        """A map of zeros for a level no box has read yet (the channels of its modulation), in
        :func:`_pooling_layout`."""
        features, modulation = self._features[self._network.iou_layers[level]], self._modulation[level]
        self._maps[level] = _pooling_layout(torch.zeros(features.shape[0], modulation.shape[1], *features.shape[-2:],
                                                        dtype=torch.float32, device=features.device))
        return self._maps[level]

    def _compute(self, level: int, features: torch.Tensor, cells: Cells) -> None:
        values = self._network.iou_feature_cells(features, level, cells)
        modulation = self._modulation[level]
        # The product of AtomIoUNet.modulate, cell by cell.
        values = values * modulation.reshape(values.shape[0], -1, 1, 1)
        target = self._maps[level] if self._maps[level] is not None else self._empty(level)
        row0, row1, col0, col1 = cells
        target[..., row0:row1, col0:col1] = values


def _is_identity(module) -> bool:
    return module is None or isinstance(module, nn.Identity)


def _written_out_backward_applies(head, modulated: Sequence[torch.Tensor], proposals: torch.Tensor) -> bool:
    """Whether :meth:`AtomNetWrapper.predict_iou_and_gradient` can write out the backward pass
    of ``head``: ATOM's IoU head with its published blocks (fully connected layer, BatchNorm in
    eval mode or folded into the layer, ReLU) on float32 or float64 inputs of the proposals' dtype."""
    blocks = [getattr(head, name, None) for name in ("fc3_rt", "fc4_rt")]
    if not all(isinstance(block, LinearBlock) for block in blocks) or not hasattr(head, "iou_predictor"):
        return False
    for block in blocks:
        bn = block.bn
        if block.relu is None or block.linear.bias is None:
            return False
        if _is_identity(bn):
            continue  # folded into the fully connected layer (fold_batch_norm)
        if (not isinstance(bn, nn.BatchNorm2d) or bn.training or not bn.track_running_stats or bn.weight is None
                or bn.running_var is None):
            return False
    dtypes = {proposals.dtype, *(m.dtype for m in modulated)}
    return len(dtypes) == 1 and proposals.dtype in (torch.float32, torch.float64) and proposals.dim() == 3


class AtomNetWrapper(NetWrapper):
    """:class:`NetWrapper` of an ATOM network (``ATOMnet``: ``feature_extractor``,
    ``bb_regressor`` and ``bb_regressor_layer``), with its IoU predictor's calls. ``amp`` also
    runs the predictor's feature convolutions in that precision."""

    @property
    def iou_layers(self) -> tuple[str, ...]:
        """The backbone layers the IoU predictor reads (e.g. layer2, layer3)."""
        return tuple(self.net.bb_regressor_layer)

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
            return tuple(_pooling_layout(f.float()) for f in computed)
        cells = [_window_cells(window, f.shape[-2:]) for f in features]
        # Each map is cut with IOU_BRANCH_CONTEXT more cells per side (where the map has them),
        # so that the convolutions see inside the window what they see on the whole map.
        cut = [_grow(c, IOU_BRANCH_CONTEXT, f.shape[-2:]) for c, f in zip(cells, features)]
        with torch.no_grad(), self._autocast():
            computed = self.net.bb_regressor.get_iou_feat(
                [f[..., y0:y1, x0:x1] for f, (y0, y1, x0, x1) in zip(features, cut)])
        result = []
        for full, part, (y0, y1, x0, x1), (cy0, cy1, cx0, cx1) in zip(features, computed, cells, cut):
            out = _pooling_layout(part.new_zeros(*part.shape[:2], *full.shape[-2:], dtype=torch.float32))
            out[..., y0:y1, x0:x1] = part[..., y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
            result.append(out)
        return tuple(result)

    def lazy_iou_features_apply(self) -> bool:
        """Whether :class:`LazyModulatedIouFeatures` can compute this network's test features
        cell by cell: ATOM's IoU head with its two test-branch convolutions and pools per level,
        run on the CPU in float32 on row-major tensors (where the cells are tested to equal the
        whole map's; GPU libraries choose their algorithm by the map's size)."""
        head = self.net.bb_regressor
        return (self.amp is None and self.device.type == "cpu" and not self.channels_last
                and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
                and len(self.iou_layers) == len(_TEST_BRANCH)
                and all(hasattr(head, name) for names in _TEST_BRANCH for name in names)
                and all(_branch_convolutions(head, level) is not None for level in range(len(_TEST_BRANCH))))

    def lazy_modulated_iou_features(self, modulation: Sequence[torch.Tensor],
                                    backbone_features: dict[str, torch.Tensor]) -> LazyModulatedIouFeatures:
        """:class:`LazyModulatedIouFeatures` of ``backbone_features``, or, where
        :meth:`lazy_iou_features_apply` does not hold, the same object computing the whole map."""
        return LazyModulatedIouFeatures(self, backbone_features, modulation,
                                        whole_map=not self.lazy_iou_features_apply())

    def iou_cells_exact(self, features: torch.Tensor, level: int) -> bool:
        """Whether :meth:`iou_feature_cells` computes the cells of ``level`` of ``features`` as
        the whole map's convolutions do, bit for bit: float32 on the CPU, row-major, oneDNN
        enabled, blocks of :func:`_branch_convolutions`, and each of the whole map's two
        convolutions run by oneDNN (a batch of more than one, or an input of more than
        :data:`ONEDNN_MIN_INPUT_ELEMENTS` elements)."""
        convolutions = _branch_convolutions(self.net.bb_regressor, level)
        if (convolutions is None or self.amp is not None or self.channels_last or features.dtype != torch.float32
                or features.device.type != "cpu" or features.dim() != 4 or not features.is_contiguous()
                or not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled)):
            return False
        batch, cells = features.shape[0], features.shape[-2] * features.shape[-1]
        return all(batch > 1 or conv.in_channels * cells > ONEDNN_MIN_INPUT_ELEMENTS for conv in convolutions)

    def iou_feature_cells(self, features: torch.Tensor, level: int, cells: Cells) -> torch.Tensor:
        """The IoU predictor's test-branch features (B, C, rows, cols) of ``level`` (0 or 1) in
        ``cells`` (row0, row1, col0, col1) of the map, float32. Each of the two 3x3
        convolutions reads one cell around what it computes: where :meth:`iou_cells_exact`
        holds, the first runs on the cells and two around (zeros beyond the map, as its padding)
        and gives the cells and one around, which the second turns into the cells, both by
        oneDNN without padding: the whole map's values bit for bit. Elsewhere both run on the
        cells and :data:`IOU_BRANCH_CONTEXT` around as the network runs them, which gives the
        whole map's values up to rounding."""
        head = self.net.bb_regressor
        first, second, _ = _TEST_BRANCH[level]
        size = features.shape[-2:]
        row0, row1, col0, col1 = cells
        if not self.iou_cells_exact(features, level):
            cut = _grow(cells, IOU_BRANCH_CONTEXT, size)
            with torch.no_grad(), self._autocast():
                out = getattr(head, second)(getattr(head, first)(features[..., cut[0]:cut[1], cut[2]:cut[3]]))
            return out[..., row0 - cut[0]:row1 - cut[0], col0 - cut[2]:col1 - cut[2]].float()
        inner = _grow(cells, 1, size)  # what the second convolution reads
        outer = _grow(inner, 1, size)  # what the first reads
        with torch.no_grad():
            middle = _block_on_cells(getattr(head, first), _with_zero_context(
                features[..., outer[0]:outer[1], outer[2]:outer[3]], outer, inner))
            return _block_on_cells(getattr(head, second), _with_zero_context(middle, inner, cells))

    def modulated_iou_features(self, modulation: Sequence[torch.Tensor], iou_features: Sequence[torch.Tensor]
                               ) -> tuple[torch.Tensor, ...]:
        """The test features times the modulation vectors, for :meth:`predict_iou_modulated`:
        computed once per frame instead of once per refinement step."""
        with torch.no_grad():
            return tuple(self.net.bb_regressor.modulate(list(modulation), list(iou_features)))

    def predict_iou_modulated(self, modulated: Sequence[torch.Tensor], proposals: torch.Tensor) -> torch.Tensor:
        """:meth:`predict_iou` from :meth:`modulated_iou_features`."""
        return self.net.bb_regressor.predict_iou_modulated(list(modulated), proposals)

    def predict_iou_and_gradient(self, modulated: Sequence[torch.Tensor], proposals: torch.Tensor
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """The predicted IoU (B, P) of :meth:`predict_iou_modulated` and its gradient (B, P, 4)
        with respect to ``proposals`` (B, P, 4), computed as autograd computes them (the same
        operations, in the same order, on the same values) but without building a graph: the
        backward pass of the IoU head is written out (predictor -> ReLU -> BatchNorm -> fully
        connected layer -> Precise RoI Pooling's box gradient -> [x, y, w, h]). Box refinement
        calls this five times per frame. Heads of another structure take autograd's path."""
        if not _written_out_backward_applies(self.net.bb_regressor, modulated, proposals):
            return autograd_iou_and_gradient(lambda boxes: self.predict_iou_modulated(modulated, boxes))(proposals)
        iou, saved = self.iou_head_forward(modulated, proposals)
        return iou, self.iou_head_backward(saved)

    def iou_head_forward(self, modulated: Sequence[torch.Tensor], proposals: torch.Tensor
                         ) -> tuple[torch.Tensor, dict]:
        """The forward half of :meth:`predict_iou_and_gradient`: the IoU (B, P) by the
        operations of ``AtomIoUNet.predict_iou_modulated`` and ``LinearBlock.forward``, and what
        :meth:`iou_head_backward` needs."""
        head = self.net.bb_regressor
        with torch.no_grad():
            batch, count = proposals.shape[:2]
            rois = _rois(proposals)
            pools = (head.prroi_pool3t, head.prroi_pool4t)
            blocks = (head.fc3_rt, head.fc4_rt)
            pooled = [prroi_pool2d(features, rois, pool.pooled_height, pool.pooled_width, pool.spatial_scale,
                                   backend=pool.backend) for features, pool in zip(modulated, pools)]
            linear, activated = [], []
            for x, block in zip(pooled, blocks):
                y = nn_functional.linear(x.reshape(x.shape[0], -1), block.linear.weight, block.linear.bias)
                y = y.reshape(y.shape[0], y.shape[1], 1, 1)
                z = y if _is_identity(block.bn) else block.bn(y)
                linear.append(y)
                activated.append(torch.relu(z).reshape(z.shape[0], -1))
            iou = head.iou_predictor(torch.cat(activated, dim=1)).reshape(batch, count)
        saved = {"shape": (batch, count), "rois": rois, "modulated": modulated, "pooled": pooled,
                 "linear": linear, "activated": activated, "dtype": iou.dtype}
        return iou, saved

    def iou_head_backward(self, saved: dict) -> torch.Tensor:
        """The backward half of :meth:`predict_iou_and_gradient`: the gradient (B, P, 4) of the
        summed IoU with respect to the proposals, from :meth:`iou_head_forward`'s ``saved``."""
        head = self.net.bb_regressor
        batch, count = saved["shape"]
        rois = saved["rois"]
        with torch.no_grad():
            # Backward of iou.sum(): the predictor's weight row for every proposal, split per block.
            grad = torch.ones(batch * count, 1, dtype=saved["dtype"], device=rois.device).mm(head.iou_predictor.weight)
            grad_rois = None
            offset = 0
            empty = rois.new_empty(0)  # eval-mode BatchNorm saves no batch statistics
            for x, y, relu_output, block, pool, features in zip(
                    saved["pooled"], saved["linear"], saved["activated"], (head.fc3_rt, head.fc4_rt),
                    (head.prroi_pool3t, head.prroi_pool4t), saved["modulated"]):
                width = y.shape[1]
                g = grad[:, offset:offset + width].reshape(y.shape)
                offset += width
                g = torch.ops.aten.threshold_backward(g, relu_output.reshape(y.shape), 0)
                if not _is_identity(block.bn):
                    g = torch.ops.aten.native_batch_norm_backward(
                        g, y, block.bn.weight, block.bn.running_mean, block.bn.running_var, empty, empty, False,
                        block.bn.eps, [True, False, False])[0]
                g = g.reshape(g.shape[0], -1).mm(block.linear.weight).reshape(x.shape)
                part = prroi_pool2d_box_gradient(features, rois, x, g, pool.pooled_height, pool.pooled_width,
                                                 pool.spatial_scale, backend=pool.backend)
                grad_rois = part if grad_rois is None else grad_rois + part
            return xyxy_gradient_to_xywh(grad_rois[:, 1:].reshape(batch, count, 4))

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
