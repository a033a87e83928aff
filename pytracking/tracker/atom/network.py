"""ATOM's network as its tracker uses it: the generic :class:`NetWrapper` (loading, device,
normalisation, precision, BatchNorm folding, backbone features) and the calls of ATOM's IoU
predictor (modulation vectors, test-branch features, optionally computed in a window only, and
predicted IoUs of proposals)."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as nn_functional

from external.PreciseRoIPooling import prroi_pool2d, prroi_pool2d_box_gradient
from ltr.data.boxes import xyxy_gradient_to_xywh
from ltr.models.bbreg.atom_iou_net import _rois
from ltr.models.layers.blocks import LinearBlock
from pytracking.features.net_wrappers import NetWrapper

# Cells of context each side that the IoU predictor's test branch (two 3x3 convolutions) reads.
IOU_BRANCH_CONTEXT = 2


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
            # Row-major float32 for the RoI pooling, which reads them a dozen times per frame.
            return tuple(f.float().contiguous() for f in computed)
        cells = [_window_cells(window, f.shape[-2:]) for f in features]
        # Each map is cut with IOU_BRANCH_CONTEXT more cells per side (where the map has them),
        # so that the convolutions see inside the window what they see on the whole map.
        cut = [_grow(c, IOU_BRANCH_CONTEXT, f.shape[-2:]) for c, f in zip(cells, features)]
        with torch.no_grad(), self._autocast():
            computed = self.net.bb_regressor.get_iou_feat(
                [f[..., y0:y1, x0:x1] for f, (y0, y1, x0, x1) in zip(features, cut)])
        result = []
        for full, part, (y0, y1, x0, x1), (cy0, cy1, cx0, cx1) in zip(features, computed, cells, cut):
            out = part.new_zeros(*part.shape[:2], *full.shape[-2:], dtype=torch.float32)
            out[..., y0:y1, x0:x1] = part[..., y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
            result.append(out)
        return tuple(result)

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
            with torch.enable_grad():
                leaf = proposals.detach().requires_grad_(True)
                iou = self.predict_iou_modulated(modulated, leaf)
                (gradient,) = torch.autograd.grad(iou.sum(), leaf)
            return iou.detach(), gradient
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
