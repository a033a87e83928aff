"""ATOM's IoU predictor (Danelljan et al., "ATOM: Accurate Tracking by Overlap Maximization",
CVPR 2019), in the published architecture and state-dict layout.

The reference branch turns the backbone features of the first training image and its target box
into two modulation vectors; the test branch computes features of the test image, which are
multiplied channel-wise by the modulation vectors and pooled over each box proposal (Precise RoI
Pooling) to predict the proposal's IoU with the target. The prediction is differentiable in the
proposals, which the tracker uses to refine boxes by gradient ascent.

Feature inputs are lists ``[block3, block4]`` (ResNet layer2 at stride 8 and layer3 at stride
16); boxes are [x, y, w, h] in image pixels.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from external.PreciseRoIPooling import PrRoIPool2D
from ltr.data.boxes import xywh_to_xyxy
from ltr.models.layers.blocks import LinearBlock, conv_block


def conv(in_planes: int, out_planes: int, kernel_size: int = 3, stride: int = 1, padding: int = 1,
         dilation: int = 1) -> nn.Sequential:
    """3x3 (by default) convolution with bias, BatchNorm2d and ReLU, as ``nn.Sequential``."""
    return conv_block(in_planes, out_planes, kernel_size=kernel_size, stride=stride, padding=padding,
                      dilation=dilation, bias=True)


def _rois(boxes: torch.Tensor) -> torch.Tensor:
    """(B, P, 4) [x, y, w, h] -> (B * P, 5) [batch_index, x0, y0, x1, y1], differentiable in boxes."""
    batch, proposals = boxes.shape[:2]
    index = torch.arange(batch, dtype=boxes.dtype, device=boxes.device).reshape(batch, 1, 1)
    return torch.cat((index.expand(batch, proposals, 1), xywh_to_xyxy(boxes)), dim=2).reshape(-1, 5)


def _pool(pool: PrRoIPool2D, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
    """Pools in the wider of the two dtypes (half-precision features under autocast are pooled
    in the precision of the boxes)."""
    dtype = torch.promote_types(features.dtype, rois.dtype)
    return pool(features.to(dtype), rois.to(dtype))


class AtomIoUNet(nn.Module):
    """The IoU predictor of ATOM.

    ``input_dim``: channels of the two backbone feature maps (128, 256 for ResNet-18 layer2 and
    layer3; 512, 1024 for ResNet-50); ``pred_input_dim``: channels of the modulated test features;
    ``pred_inter_dim``: widths of the fully connected layers before the IoU output."""

    def __init__(self, input_dim: Sequence[int] = (128, 256), pred_input_dim: Sequence[int] = (256, 256),
                 pred_inter_dim: Sequence[int] = (256, 256)):
        super().__init__()
        # _r: reference (train) branch, _t: test branch.
        self.conv3_1r = conv(input_dim[0], 128, kernel_size=3, stride=1)
        self.conv3_1t = conv(input_dim[0], 256, kernel_size=3, stride=1)
        self.conv3_2t = conv(256, pred_input_dim[0], kernel_size=3, stride=1)
        self.prroi_pool3r = PrRoIPool2D(3, 3, 1 / 8)
        self.prroi_pool3t = PrRoIPool2D(5, 5, 1 / 8)
        self.fc3_1r = conv(128, 256, kernel_size=3, stride=1, padding=0)

        self.conv4_1r = conv(input_dim[1], 256, kernel_size=3, stride=1)
        self.conv4_1t = conv(input_dim[1], 256, kernel_size=3, stride=1)
        self.conv4_2t = conv(256, pred_input_dim[1], kernel_size=3, stride=1)
        self.prroi_pool4r = PrRoIPool2D(1, 1, 1 / 16)
        self.prroi_pool4t = PrRoIPool2D(3, 3, 1 / 16)

        self.fc34_3r = conv(256 + 256, pred_input_dim[0], kernel_size=1, stride=1, padding=0)
        self.fc34_4r = conv(256 + 256, pred_input_dim[1], kernel_size=1, stride=1, padding=0)

        self.fc3_rt = LinearBlock(pred_input_dim[0], pred_inter_dim[0], 5)
        self.fc4_rt = LinearBlock(pred_input_dim[1], pred_inter_dim[1], 3)

        self.iou_predictor = nn.Linear(pred_inter_dim[0] + pred_inter_dim[1], 1, bias=True)

        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, mode="fan_in")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, feat1: Sequence[torch.Tensor], feat2: Sequence[torch.Tensor], bb1: torch.Tensor,
                proposals2: torch.Tensor) -> torch.Tensor:
        """IoU of the test proposals.

        feat1: [block3, block4] of the train images, each (train_images * sequences, C, H, W) or
        (train_images, sequences, C, H, W); only the first train image is used. feat2: the same
        for the test images. bb1 (train_images, sequences, 4): the target boxes in the train
        images. proposals2 (test_images, sequences, proposals, 4). Returns (test_images,
        sequences, proposals)."""
        if bb1.dim() != 3:
            raise ValueError(f"bb1 must be (train_images, sequences, 4), got {tuple(bb1.shape)}")
        if proposals2.dim() != 4:
            raise ValueError(f"proposals2 must be (test_images, sequences, proposals, 4), "
                             f"got {tuple(proposals2.shape)}")
        num_images, num_sequences = proposals2.shape[:2]

        feat1 = [f[0] if f.dim() == 5 else f.reshape(-1, num_sequences, *f.shape[-3:])[0] for f in feat1]
        modulation = self.get_modulation(feat1, bb1[0])
        iou_feat = self.get_iou_feat(feat2)
        # The test features are ordered (image, sequence): repeat each sequence's vector per image.
        modulation = [m.reshape(1, num_sequences, -1).expand(num_images, -1, -1).reshape(num_images * num_sequences, -1)
                      for m in modulation]
        proposals2 = proposals2.reshape(num_images * num_sequences, -1, 4)
        pred_iou = self.predict_iou(modulation, iou_feat, proposals2)
        return pred_iou.reshape(num_images, num_sequences, -1)

    def predict_iou(self, modulation: Sequence[torch.Tensor], feat: Sequence[torch.Tensor],
                    proposals: torch.Tensor) -> torch.Tensor:
        """modulation: the two vectors of :meth:`get_modulation`, each (B, C) or (B, C, 1, 1);
        feat: the two maps of :meth:`get_iou_feat`, each (B, C, H, W); proposals (B, P, 4)
        [x, y, w, h]. Returns (B, P), differentiable in the proposals."""
        return self.predict_iou_modulated(self.modulate(modulation, feat), proposals)

    @staticmethod
    def modulate(modulation: Sequence[torch.Tensor], feat: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The test features multiplied channel-wise by the modulation vectors (the first part
        of :meth:`predict_iou`; a tracker refining boxes on one frame computes it once)."""
        fc34_3_r, fc34_4_r = modulation
        c3_t, c4_t = feat
        batch_size = c3_t.shape[0]
        return c3_t * fc34_3_r.reshape(batch_size, -1, 1, 1), c4_t * fc34_4_r.reshape(batch_size, -1, 1, 1)

    def predict_iou_modulated(self, modulated: Sequence[torch.Tensor], proposals: torch.Tensor) -> torch.Tensor:
        """The rest of :meth:`predict_iou`, from the maps of :meth:`modulate`: (B, P)."""
        c3_t_att, c4_t_att = modulated
        batch_size = c3_t_att.shape[0]
        num_proposals = proposals.shape[1]
        rois = _rois(proposals)
        roi3t = _pool(self.prroi_pool3t, c3_t_att, rois)
        roi4t = _pool(self.prroi_pool4t, c4_t_att, rois)

        fc3_rt = self.fc3_rt(roi3t)
        fc4_rt = self.fc4_rt(roi4t)
        fc34_rt_cat = torch.cat((fc3_rt, fc4_rt), dim=1)
        return self.iou_predictor(fc34_rt_cat).reshape(batch_size, num_proposals)

    def get_modulation(self, feat: Sequence[torch.Tensor], bb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The modulation vectors of the reference image. feat: [block3, block4], each
        (B, C, H, W); bb (B, 4) [x, y, w, h]. Returns two tensors (B, pred_input_dim[i], 1, 1)."""
        feat3_r, feat4_r = feat
        rois = _rois(bb.reshape(-1, 1, 4))

        c3_r = self.conv3_1r(feat3_r)
        roi3r = _pool(self.prroi_pool3r, c3_r, rois)
        c4_r = self.conv4_1r(feat4_r)
        roi4r = _pool(self.prroi_pool4r, c4_r, rois)

        fc3_r = self.fc3_1r(roi3r)
        fc34_r = torch.cat((fc3_r.to(roi4r.dtype), roi4r), dim=1)
        return self.fc34_3r(fc34_r), self.fc34_4r(fc34_r)

    def get_iou_feat(self, feat2: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The test-branch features. feat2: [block3, block4], each (B, C, H, W) or
        (images, sequences, C, H, W). Returns two maps (B, pred_input_dim[i], H, W)."""
        feat2 = [f.reshape(-1, *f.shape[-3:]) if f.dim() == 5 else f for f in feat2]
        feat3_t, feat4_t = feat2
        c3_t = self.conv3_2t(self.conv3_1t(feat3_t))
        c4_t = self.conv4_2t(self.conv4_1t(feat4_t))
        return c3_t, c4_t
