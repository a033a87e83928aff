"""A template-matching loss on backbone features, for backbones trained from scratch.

The published ATOM freezes an ImageNet backbone, whose features already tell one object from
another; the tracker's online classifier relies on that. A backbone trained only through the IoU
predictor learns features for box regression, which need not separate the target from similar
objects around it. This loss asks for that directly: a template of the train image's features at
the target centre is correlated (cosine similarity) with every position of the test image's
features, and the softmax of the similarities over positions is pushed towards a Gaussian at the
test target's centre. It has no parameters, so networks and checkpoints stay as they are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from external.PreciseRoIPooling import prroi_pool2d
from ltr.data.boxes import cxcywh_to_xyxy, xywh_to_cxcywh


class TemplateMatchingLoss(nn.Module):
    """``stride``: image pixels per feature cell; ``template_size``: the template's side in
    cells (odd, so that a response position is the template's centre); ``temperature``: divides
    the cosine similarities before the softmax; the label's standard deviation is
    ``sigma_factor * sqrt(w * h)`` of the test box in cells, at least ``min_sigma`` cells."""

    def __init__(self, *, stride: float, template_size: int = 5, temperature: float = 0.1,
                 sigma_factor: float = 0.25, min_sigma: float = 0.5):
        super().__init__()
        if template_size < 1 or template_size % 2 == 0:
            raise ValueError(f"template_size must be a positive odd number, not {template_size}")
        if stride <= 0 or temperature <= 0 or sigma_factor <= 0 or min_sigma <= 0:
            raise ValueError("stride, temperature, sigma_factor and min_sigma must be positive")
        self.stride = float(stride)
        self.template_size = int(template_size)
        self.temperature = float(temperature)
        self.sigma_factor = float(sigma_factor)
        self.min_sigma = float(min_sigma)

    def templates(self, features: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) features and (B, 4) [x, y, w, h] boxes in image pixels -> (B, C, k, k):
        the features of the k x k cells centred on each box's centre (bilinearly sampled, so
        the centre need not fall on a cell)."""
        square = boxes.new_full((len(boxes), 2), self.template_size * self.stride)
        corners = cxcywh_to_xyxy(torch.cat([xywh_to_cxcywh(boxes)[:, :2], square], 1))
        index = torch.arange(len(boxes), dtype=boxes.dtype, device=boxes.device)[:, None]
        rois = torch.cat((index, corners), dim=1)
        # Cell j covers [j, j + 1) in feature coordinates, whose centre j + 0.5 is image pixel
        # (j + 0.5) * stride: PrRoIPool samples at integer feature coordinates, hence the shift.
        rois[:, 1:] -= self.stride / 2
        return prroi_pool2d(features, rois.detach(), self.template_size, self.template_size, 1 / self.stride)

    def responses(self, train_features: torch.Tensor, train_boxes: torch.Tensor,
                  test_features: torch.Tensor) -> torch.Tensor:
        """Cosine similarities of each train template with every test position: (B, H, W),
        position (i, j) centred on image pixel ((j + 0.5) * stride, (i + 0.5) * stride)."""
        batch, channels, height, width = test_features.shape
        # In float32 whatever autocast computed the features in: the pooling's compiled CPU
        # kernel takes float32 and float64, and the softmax sharpens small errors.
        with torch.autocast(test_features.device.type, enabled=False):
            template = F.normalize(self.templates(train_features.float(), train_boxes.float()), dim=1)
            test = F.normalize(test_features.float(), dim=1)
            k = self.template_size
            response = F.conv2d(test.reshape(1, batch * channels, height, width), template, padding=k // 2,
                                groups=batch)
        return response.reshape(batch, height, width) / (k * k)

    def labels(self, boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """(B, 4) test boxes -> (B, H, W) Gaussians at their centres, each summing to 1."""
        centre = xywh_to_cxcywh(boxes)[:, :2] / self.stride - 0.5  # in cell indices
        sigma = (self.sigma_factor * boxes[:, 2:].prod(dim=1).clamp(min=0).sqrt() / self.stride).clamp(min=self.min_sigma)
        rows = torch.arange(height, dtype=boxes.dtype, device=boxes.device)
        cols = torch.arange(width, dtype=boxes.dtype, device=boxes.device)
        dy = (rows[None, :] - centre[:, 1:2]) / sigma[:, None]
        dx = (cols[None, :] - centre[:, 0:1]) / sigma[:, None]
        label = torch.exp(-0.5 * (dy[:, :, None] ** 2 + dx[:, None, :] ** 2))
        return label / label.sum(dim=(1, 2), keepdim=True).clamp(min=torch.finfo(label.dtype).tiny)

    def forward(self, train_features: torch.Tensor, train_boxes: torch.Tensor, test_features: torch.Tensor,
                test_boxes: torch.Tensor) -> torch.Tensor:
        """Features (B, C, H, W) of the train and test images, their target boxes (B, 4):
        the mean over the batch of the cross-entropy between label and softmax response."""
        response = self.responses(train_features, train_boxes, test_features)
        batch, height, width = response.shape
        label = self.labels(test_boxes.float(), height, width)
        log_probability = F.log_softmax(response.reshape(batch, -1) / self.temperature, dim=1)
        return -(label.reshape(batch, -1) * log_probability).sum(dim=1).mean()
