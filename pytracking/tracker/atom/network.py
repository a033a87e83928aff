"""ATOM's network as its tracker uses it: the generic :class:`NetWrapper` (loading, device,
normalisation, precision, BatchNorm folding, backbone features) and the calls of ATOM's IoU
predictor (modulation vectors, test-branch features, optionally computed in a window only, and
predicted IoUs of proposals)."""

from __future__ import annotations

import math
from typing import Sequence

import torch

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
