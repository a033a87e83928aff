"""Faster R-CNN with a feature pyramid, as mmtracking's Tracktor detector (mmdetection 2.x,
``configs/_base_/models/faster_rcnn_r50_fpn.py`` with the MOT17 overrides ``num_classes=1`` and
``clip_border=False`` for the RPN and the box coder), built from torchvision's parts where their
rule is mmdet's (``FeaturePyramidNetwork`` + ``LastLevelMaxPool``, ``RPNHead``, ``TwoMLPHead``)
and from :mod:`ltr.models.detection.bbox` where it is not (anchors, box coder, assigner, sampler,
RoI levels and RoIAlign flags, proposal selection, losses, class order).

Boxes are ``xyxy`` float tensors in pixels of the network input (the resized image that
:func:`ltr.models.detection.inputs.prepare_images` makes). Class indices inside the network are
mmdet's: foreground classes ``0 .. C-1`` (pedestrian = 0) and background LAST (``C``; torchvision
puts it first); targets given to :meth:`FasterRCNN.forward` use torchvision's labels (1 =
pedestrian) and are shifted by one.

Published rules of this module (each tested):

- backbone: ResNet-50 with the stem and ``layer1`` frozen (``frozen_stages=1``: no gradient, eval
  mode) and every BatchNorm kept in eval mode by :meth:`train` (``norm_eval=True``): running
  statistics never change; the affine parameters of ``layer2..4`` still train
  (``requires_grad=True`` in the config). The BatchNorm layers are ordinary ``BatchNorm2d`` so
  that mmdet checkpoints (which hold ``num_batches_tracked``) load unchanged.
- RPN: one 3x3 convolution + ReLU, sigmoid objectness (one logit per anchor), deltas with stds
  1. Proposals per image: per level the ``nms_pre`` best by score (sorted), all levels decoded
  together, boxes with ``w <= min_bbox_size`` or ``h <= min_bbox_size`` dropped, NMS (IoU 0.7)
  within each level (levels do not suppress each other), the best ``max_per_img`` overall.
  Test ``nms_pre=1000``; training ``nms_pre=2000``; both ``max_per_img=1000``.
- RPN loss: anchors assigned by IoU 0.7 / 0.3 (``min_pos_iou=0.3``, low-quality matches on),
  256 sampled with at most half positive; binary cross-entropy on the sampled anchors and smooth
  L1 with ``beta=1/9`` on the positive ones, both summed and divided by the number of sampled
  anchors of the batch.
- R-CNN: ground truth prepended to the proposals, IoU 0.5 / 0.5 (no low-quality matches), 512
  sampled with at most a quarter positive; softmax cross-entropy averaged over the sampled RoIs;
  smooth L1 (``beta=1``) on the positive RoIs' deltas of their class (stds 0.1, 0.1, 0.2, 0.2),
  summed and divided by the number of sampled RoIs (not of positives). The smooth L1 losses are
  mmtracking's config (``SmoothL1Loss``); mmdetection's own Faster R-CNN config uses L1.
- test: softmax scores, class-specific boxes decoded (clipped only with ``clip_border``); for
  detections, per class the scores ``> 0.05``, NMS 0.5 per class, the best 100 overall.
- ``regress_boxes`` is mmdet's ``simple_test_bboxes(..., rcnn_test_cfg=None, rescale=False)``
  as mmtracking's Tracktor calls it for its tracks: no score filter, no NMS, the given boxes
  decoded with the pedestrian deltas, the pedestrian's softmax score.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection.faster_rcnn import TwoMLPHead
from torchvision.models.detection.rpn import RPNHead
from torchvision.ops import FeaturePyramidNetwork, batched_nms
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from ltr.data.boxes import xyxy_to_xywh
from ltr.models.backbone import resnet as backbones
from ltr.models.detection.bbox import (AnchorGenerator, DeltaXYWHCoder, MultiLevelRoIAlign, assign_max_iou,
                                       sample_random)
from ltr.models.detection.inputs import MMDET_MEAN, MMDET_STD
from ltr.models.registry import network_constructor

Detections = list[tuple[torch.Tensor, torch.Tensor]]


class DetectionBackbone(nn.Module):
    """A ResNet ``body`` whose ``return_layers`` feed a feature pyramid ``fpn`` (torchvision's,
    with the max-pooled extra level when ``extra_pool``). ``frozen_stages`` (mmdet: 0 freezes
    the stem, 1 also ``layer1``, -1 nothing) get no gradient and stay in eval mode;
    ``norm_eval`` keeps every BatchNorm of the body in eval mode."""

    def __init__(self, *, body: backbones.ResNet, return_layers: Sequence[str], in_channels: Sequence[int],
                 out_channels: int, extra_pool: bool, frozen_stages: int = -1, norm_eval: bool = False):
        super().__init__()
        self.body = body
        self.return_layers = tuple(return_layers)
        self.fpn = FeaturePyramidNetwork(list(in_channels), out_channels,
                                         extra_blocks=LastLevelMaxPool() if extra_pool else None)
        for module in self.fpn.modules():
            if isinstance(module, nn.Conv2d):  # mmdet's FPN init: Xavier uniform, zero bias
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        self.frozen_stages = int(frozen_stages)
        self.norm_eval = bool(norm_eval)
        for module in self._frozen_modules():
            for parameter in module.parameters():
                parameter.requires_grad_(False)
        self.train()

    def _frozen_modules(self) -> list[nn.Module]:
        if self.frozen_stages < 0:
            return []
        modules: list[nn.Module] = [self.body.conv1, self.body.bn1]
        modules += [getattr(self.body, f"layer{index}") for index in range(1, self.frozen_stages + 1)]
        return modules

    def train(self, mode: bool = True) -> "DetectionBackbone":
        super().train(mode)
        if mode:
            for module in self._frozen_modules():
                module.eval()
            if self.norm_eval:
                for module in self.body.modules():
                    if isinstance(module, nn.modules.batchnorm._BatchNorm):
                        module.eval()
        return self

    def forward(self, batch: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """(B, 3, H, W) -> OrderedDict '0', '1', ... (and 'pool') of (B, C, H / s, W / s)."""
        layers = self.body(batch, self.return_layers)
        named = OrderedDict((str(index), layers[name]) for index, name in enumerate(self.return_layers))
        return self.fpn(named)


class BoxPredictor(nn.Module):
    """mmdet's ``fc_cls`` (``num_classes + 1`` logits, background last) and class-specific
    ``fc_reg`` (``4 * num_classes``: no background deltas), under torchvision's names."""

    def __init__(self, *, in_channels: int, num_classes: int):
        super().__init__()
        self.cls_score = nn.Linear(in_channels, num_classes + 1)
        self.bbox_pred = nn.Linear(in_channels, 4 * num_classes)
        nn.init.normal_(self.cls_score.weight, std=0.01)
        nn.init.normal_(self.bbox_pred.weight, std=0.001)
        nn.init.zeros_(self.cls_score.bias)
        nn.init.zeros_(self.bbox_pred.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cls_score(x), self.bbox_pred(x)


def _flatten_levels(maps: Sequence[torch.Tensor], image: int, columns: int) -> list[torch.Tensor]:
    """Per level (A * columns, H, W) of one image -> (H * W * A, columns), location-major."""
    return [level[image].permute(1, 2, 0).reshape(-1, columns) for level in maps]


class RegionProposalNetwork(nn.Module):
    """mmdet's ``RPNHead`` with its train and test settings (module docstring)."""

    def __init__(self, *, in_channels: int, anchor_generator: AnchorGenerator, clip_border: bool = False,
                 test_nms_pre: int = 1000, train_nms_pre: int = 2000, max_per_img: int = 1000,
                 nms_iou: float = 0.7, min_bbox_size: float = 0.0, pos_iou_thr: float = 0.7,
                 neg_iou_thr: float = 0.3, min_pos_iou: float = 0.3, num_samples: int = 256,
                 pos_fraction: float = 0.5, bbox_loss_beta: float = 1.0 / 9.0):
        super().__init__()
        self.anchor_generator = anchor_generator
        self.head = RPNHead(in_channels, anchor_generator.num_base_anchors)
        self.coder = DeltaXYWHCoder(clip_border=clip_border)
        self.test_nms_pre, self.train_nms_pre, self.max_per_img = test_nms_pre, train_nms_pre, max_per_img
        self.nms_iou, self.min_bbox_size = nms_iou, min_bbox_size
        self.pos_iou_thr, self.neg_iou_thr, self.min_pos_iou = pos_iou_thr, neg_iou_thr, min_pos_iou
        self.num_samples, self.pos_fraction, self.bbox_loss_beta = num_samples, pos_fraction, bbox_loss_beta

    def forward(self, features: Sequence[torch.Tensor], image_sizes: Sequence[tuple[int, int]],
                pad_sizes: Sequence[tuple[int, int]], gt_boxes: Sequence[torch.Tensor] | None = None
                ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
        """``features`` the pyramid levels of the anchor strides -> per image (P, 4) proposals
        (training or test settings by ``self.training``) and, with ``gt_boxes``, the losses."""
        objectness, deltas = self.head(list(features))
        feature_sizes = [tuple(level.shape[-2:]) for level in objectness]
        anchors = self.anchor_generator.grid_anchors(feature_sizes, dtype=features[0].dtype,
                                                     device=features[0].device)
        nms_pre = self.train_nms_pre if self.training else self.test_nms_pre
        proposals = [self.proposals([o.detach() for o in _flatten_levels(objectness, image, 1)],
                                    [d.detach() for d in _flatten_levels(deltas, image, 4)],
                                    anchors, image_sizes[image], nms_pre=nms_pre)[0]
                     for image in range(len(image_sizes))]
        losses: dict[str, torch.Tensor] = {}
        if gt_boxes is not None:
            losses = self.loss(objectness, deltas, anchors, feature_sizes, pad_sizes, gt_boxes)
        return proposals, losses

    def proposals(self, objectness: Sequence[torch.Tensor], deltas: Sequence[torch.Tensor],
                  anchors: Sequence[torch.Tensor], image_size: tuple[int, int], *, nms_pre: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """One image: per level (M_l, 1) logits, (M_l, 4) deltas, (M_l, 4) anchors -> (P, 4)
        proposals and (P,) scores by mmdet's ``_get_bboxes_single`` (module docstring)."""
        scores, kept_deltas, kept_anchors, levels = [], [], [], []
        for level, (logits, delta, anchor) in enumerate(zip(objectness, deltas, anchors)):
            score = logits.reshape(-1).sigmoid()
            if 0 < nms_pre < score.numel():
                score, order = score.sort(descending=True)
                score, order = score[:nms_pre], order[:nms_pre]
                delta, anchor = delta[order], anchor[order]
            scores.append(score)
            kept_deltas.append(delta)
            kept_anchors.append(anchor)
            levels.append(torch.full((score.numel(),), level, dtype=torch.long, device=score.device))
        score = torch.cat(scores)
        level_ids = torch.cat(levels)
        boxes = self.coder.decode(torch.cat(kept_anchors), torch.cat(kept_deltas), max_shape=image_size)
        if self.min_bbox_size >= 0:
            sizes = xyxy_to_xywh(boxes)[:, 2:]
            valid = (sizes[:, 0] > self.min_bbox_size) & (sizes[:, 1] > self.min_bbox_size)
            boxes, score, level_ids = boxes[valid], score[valid], level_ids[valid]
        keep = batched_nms(boxes, score, level_ids, self.nms_iou)[:self.max_per_img]
        return boxes[keep], score[keep]

    def loss(self, objectness: Sequence[torch.Tensor], deltas: Sequence[torch.Tensor],
             anchors: Sequence[torch.Tensor], feature_sizes: Sequence[tuple[int, int]],
             pad_sizes: Sequence[tuple[int, int]], gt_boxes: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """mmdet's ``AnchorHead.loss`` with the RPN settings (module docstring)."""
        all_anchors = torch.cat(list(anchors))
        logits, labels = [], []
        positive_predictions, positive_targets = [], []
        for image, gt in enumerate(gt_boxes):
            image_logits = torch.cat([level.reshape(-1) for level in _flatten_levels(objectness, image, 1)])
            image_deltas = torch.cat(_flatten_levels(deltas, image, 4))
            valid = torch.cat(self.anchor_generator.valid_flags(feature_sizes, pad_sizes[image],
                                                                device=all_anchors.device))
            valid_index = torch.nonzero(valid).flatten()
            assigned = assign_max_iou(all_anchors[valid_index], gt, pos_iou_thr=self.pos_iou_thr,
                                      neg_iou_thr=self.neg_iou_thr, min_pos_iou=self.min_pos_iou,
                                      match_low_quality=True)
            positives, negatives = sample_random(assigned, num=self.num_samples, pos_fraction=self.pos_fraction)
            sampled = valid_index[torch.cat([positives, negatives])]
            logits.append(image_logits[sampled])
            labels.append(torch.cat([image_logits.new_ones(positives.numel()),
                                     image_logits.new_zeros(negatives.numel())]))
            positive_index = valid_index[positives]
            positive_predictions.append(image_deltas[positive_index])
            positive_targets.append(self.coder.encode(all_anchors[positive_index], gt[assigned[positives] - 1])
                                    if positives.numel() else image_deltas.new_zeros(0, 4))
        num_samples = max(sum(item.numel() for item in labels), 1)
        loss_cls = F.binary_cross_entropy_with_logits(torch.cat(logits), torch.cat(labels),
                                                      reduction="sum") / num_samples
        loss_bbox = F.smooth_l1_loss(torch.cat(positive_predictions), torch.cat(positive_targets),
                                     beta=self.bbox_loss_beta, reduction="sum") / num_samples
        return {"loss_rpn_cls": loss_cls, "loss_rpn_bbox": loss_bbox}


def _rois(boxes: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per image (N_i, 4) -> (sum N_i, 5) ``[image_index, x0, y0, x1, y1]`` (mmdet's ``bbox2roi``)."""
    return torch.cat([torch.cat([b.new_full((b.shape[0], 1), float(index)), b[:, :4]], 1)
                      for index, b in enumerate(boxes)])


class RoIHeads(nn.Module):
    """mmdet's ``StandardRoIHead`` with ``Shared2FCBBoxHead`` and its train and test settings
    (module docstring); ``box_head`` is torchvision's ``TwoMLPHead`` (fc6, fc7 with ReLU, the
    rule of mmdet's two shared FCs), ``box_predictor`` a :class:`BoxPredictor`."""

    def __init__(self, *, in_channels: int, num_classes: int, strides: Sequence[int], fc_channels: int = 1024,
                 roi_size: int = 7, finest_scale: float = 56.0, clip_border: bool = False,
                 score_thr: float = 0.05, nms_iou: float = 0.5, max_per_img: int = 100, pos_iou_thr: float = 0.5,
                 neg_iou_thr: float = 0.5, min_pos_iou: float = 0.5, num_samples: int = 512,
                 pos_fraction: float = 0.25, bbox_loss_beta: float = 1.0,
                 stds: Sequence[float] = (0.1, 0.1, 0.2, 0.2)):
        super().__init__()
        self.num_classes = int(num_classes)
        self.roi_extractor = MultiLevelRoIAlign(strides=strides, output_size=roi_size, sampling_ratio=0,
                                                finest_scale=finest_scale)
        self.box_head = TwoMLPHead(in_channels * roi_size * roi_size, fc_channels)
        for layer in (self.box_head.fc6, self.box_head.fc7):  # mmdet's shared FC init: Xavier uniform
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.box_predictor = BoxPredictor(in_channels=fc_channels, num_classes=num_classes)
        self.coder = DeltaXYWHCoder(stds=stds, clip_border=clip_border)
        self.score_thr, self.nms_iou, self.max_per_img = score_thr, nms_iou, max_per_img
        self.pos_iou_thr, self.neg_iou_thr, self.min_pos_iou = pos_iou_thr, neg_iou_thr, min_pos_iou
        self.num_samples, self.pos_fraction, self.bbox_loss_beta = num_samples, pos_fraction, bbox_loss_beta

    def box_forward(self, features: Sequence[torch.Tensor], rois: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(K, 5) rois -> (K, C + 1) class logits, (K, 4 C) deltas."""
        pooled = self.roi_extractor(features, rois)
        return self.box_predictor(self.box_head(pooled))

    def decode(self, features: Sequence[torch.Tensor], boxes: Sequence[torch.Tensor],
               image_sizes: Sequence[tuple[int, int]]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """mmdet's ``simple_test_bboxes`` without test settings: per image (N, 4 C) decoded
        boxes and (N, C + 1) softmax scores for the given boxes as proposals."""
        rois = _rois(boxes)
        if rois.shape[0] == 0:
            return [(rois.new_zeros(0, 4 * self.num_classes), rois.new_zeros(0, self.num_classes + 1))
                    for _ in boxes]
        logits, deltas = self.box_forward(features, rois)
        scores = F.softmax(logits, dim=-1)
        results = []
        start = 0
        for image, proposals in enumerate(boxes):
            end = start + proposals.shape[0]
            decoded = self.coder.decode(proposals[:, :4], deltas[start:end], max_shape=image_sizes[image])
            results.append((decoded, scores[start:end]))
            start = end
        return results

    def detect(self, features: Sequence[torch.Tensor], proposals: Sequence[torch.Tensor],
               image_sizes: Sequence[tuple[int, int]], *, class_index: int = 0) -> Detections:
        """mmdet's ``multiclass_nms`` on :meth:`decode` (module docstring); the detections of
        ``class_index``: per image (D, 4) boxes and (D,) scores, best first."""
        detections = []
        for decoded, scores in self.decode(features, proposals, image_sizes):
            count = decoded.shape[0]
            boxes = decoded.reshape(count, self.num_classes, 4).reshape(-1, 4)
            class_scores = scores[:, :self.num_classes].reshape(-1)
            labels = torch.arange(self.num_classes, device=decoded.device).repeat(count)
            valid = class_scores > self.score_thr
            boxes, class_scores, labels = boxes[valid], class_scores[valid], labels[valid]
            keep = batched_nms(boxes, class_scores, labels, self.nms_iou)[:self.max_per_img]
            keep = keep[labels[keep] == class_index]
            detections.append((boxes[keep], class_scores[keep]))
        return detections

    def loss(self, features: Sequence[torch.Tensor], proposals: Sequence[torch.Tensor],
             gt_boxes: Sequence[torch.Tensor], gt_labels: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """mmdet's ``StandardRoIHead.forward_train`` + ``BBoxHead.loss`` (module docstring);
        ``gt_labels`` are class indices 0 .. C-1."""
        sampled_boxes, labels, positive_targets = [], [], []
        for proposal, gt, gt_label in zip(proposals, gt_boxes, gt_labels):
            proposal = proposal.detach()[:, :4]
            assigned = assign_max_iou(proposal, gt, pos_iou_thr=self.pos_iou_thr, neg_iou_thr=self.neg_iou_thr,
                                      min_pos_iou=self.min_pos_iou, match_low_quality=False)
            # add_gt_as_proposals: the ground truth comes first, each assigned to itself.
            candidates = torch.cat([gt.to(proposal.dtype), proposal])
            assigned = torch.cat([torch.arange(1, gt.shape[0] + 1, device=assigned.device), assigned])
            positives, negatives = sample_random(assigned, num=self.num_samples, pos_fraction=self.pos_fraction)
            matched = assigned[positives] - 1
            sampled_boxes.append(candidates[torch.cat([positives, negatives])])
            labels.append(torch.cat([gt_label[matched],
                                     gt_label.new_full((negatives.numel(),), self.num_classes)]))
            positive_targets.append(self.coder.encode(candidates[positives], gt[matched])
                                    if positives.numel() else candidates.new_zeros(0, 4))
        logits, deltas = self.box_forward(features, _rois(sampled_boxes))
        labels_all = torch.cat(labels)
        num_samples = max(labels_all.numel(), 1)
        loss_cls = F.cross_entropy(logits, labels_all, reduction="sum") / num_samples
        positive = labels_all < self.num_classes
        if positive.any():
            index = torch.nonzero(positive).flatten()
            predicted = deltas.reshape(deltas.shape[0], -1, 4)[index, labels_all[index]]
            loss_bbox = F.smooth_l1_loss(predicted, torch.cat(positive_targets), beta=self.bbox_loss_beta,
                                         reduction="sum") / num_samples
        else:
            loss_bbox = deltas[positive].sum()
        return {"loss_cls": loss_cls, "loss_bbox": loss_bbox}


class FasterRCNN(nn.Module):
    """The two-stage detector (module docstring). The first ``len(anchor_strides)`` pyramid
    levels feed the RPN (one per anchor stride); the first ``len(roi_strides)`` feed the RoI
    head. ``normalize_mean``, ``normalize_std``, ``test_scale`` and ``size_divisor`` are what
    :func:`~ltr.models.detection.inputs.prepare_images` must use for it."""

    def __init__(self, *, backbone: DetectionBackbone, num_classes: int, fpn_channels: int,
                 anchor_strides: Sequence[int], anchor_ratios: Sequence[float], anchor_scales: Sequence[float],
                 roi_strides: Sequence[int], finest_scale: float = 56.0, fc_channels: int = 1024,
                 clip_border: bool = False, test_scale: tuple[int, int] = (1088, 1088),
                 normalize_mean: Sequence[float] = MMDET_MEAN, normalize_std: Sequence[float] = MMDET_STD,
                 size_divisor: int = 32, rpn_options: dict | None = None, roi_options: dict | None = None):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, not {num_classes}")
        self.backbone = backbone
        self.rpn = RegionProposalNetwork(
            in_channels=fpn_channels, clip_border=clip_border,
            anchor_generator=AnchorGenerator(strides=anchor_strides, ratios=anchor_ratios, scales=anchor_scales),
            **(rpn_options or {}))
        self.roi_heads = RoIHeads(in_channels=fpn_channels, num_classes=num_classes, strides=roi_strides,
                                  fc_channels=fc_channels, finest_scale=finest_scale, clip_border=clip_border,
                                  **(roi_options or {}))
        self.num_classes = int(num_classes)
        self.pedestrian_class = 0
        self.test_scale = tuple(test_scale)
        self.normalize_mean = tuple(normalize_mean)
        self.normalize_std = tuple(normalize_std)
        self.size_divisor = int(size_divisor)
        self.clip_border = bool(clip_border)

    def extract_features(self, batch: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """(B, 3, H, W) prepared batch -> the pyramid levels, finest first."""
        return self.backbone(batch)

    def _levels(self, features: OrderedDict[str, torch.Tensor] | Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return list(features.values()) if isinstance(features, dict) else list(features)

    def _pad_sizes(self, image_sizes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        divisor = self.size_divisor
        return [(math.ceil(h / divisor) * divisor, math.ceil(w / divisor) * divisor) for h, w in image_sizes]

    def _rpn_levels(self, features) -> list[torch.Tensor]:
        return self._levels(features)[:len(self.rpn.anchor_generator.strides)]

    def detect(self, features: OrderedDict[str, torch.Tensor], image_sizes: Sequence[tuple[int, int]]) -> Detections:
        """Pedestrian detections with the test settings: per image (D, 4) xyxy boxes in
        network-input pixels and (D,) scores, best first."""
        sizes = [tuple(int(v) for v in size) for size in image_sizes]
        was_training = self.rpn.training
        self.rpn.train(False)  # test proposal settings
        try:
            proposals, _ = self.rpn(self._rpn_levels(features), sizes, self._pad_sizes(sizes))
        finally:
            self.rpn.train(was_training)
        return self.roi_heads.detect(self._levels(features), proposals, sizes, class_index=self.pedestrian_class)

    def regress_boxes(self, features: OrderedDict[str, torch.Tensor], boxes: Sequence[torch.Tensor],
                      image_sizes: Sequence[tuple[int, int]]) -> Detections:
        """The box head on given (N, 4) xyxy boxes per image as proposals: per image the (N, 4)
        boxes regressed with the pedestrian deltas and the (N,) pedestrian softmax scores; no
        NMS, no score filter, clipped only with ``clip_border`` (module docstring)."""
        if len(boxes) != len(image_sizes):
            raise ValueError(f"regress_boxes got boxes for {len(boxes)} images and {len(image_sizes)} image sizes")
        sizes = [tuple(int(v) for v in size) for size in image_sizes]
        boxes = [b.reshape(-1, 4).to(dtype=torch.float32) for b in boxes]
        column = 4 * self.pedestrian_class
        return [(decoded[:, column:column + 4], scores[:, self.pedestrian_class])
                for decoded, scores in self.roi_heads.decode(self._levels(features), boxes, sizes)]

    def forward(self, batch: torch.Tensor, image_sizes: Sequence[tuple[int, int]],
                targets: Sequence[dict[str, torch.Tensor]] | None = None
                ) -> dict[str, torch.Tensor] | Detections:
        """Training (``self.training``): the losses ``loss_rpn_cls``, ``loss_rpn_bbox``,
        ``loss_cls``, ``loss_bbox`` for ``targets`` (per image ``boxes`` (N, 4) xyxy and
        ``labels`` (N,) int64, 1 = pedestrian). Eval: :meth:`detect`."""
        sizes = [tuple(int(v) for v in size) for size in image_sizes]
        if len(sizes) != batch.shape[0]:
            raise ValueError(f"got {batch.shape[0]} images and {len(sizes)} image sizes")
        features = self.extract_features(batch)
        if not self.training:
            return self.detect(features, sizes)
        if targets is None or len(targets) != len(sizes):
            raise ValueError("training needs targets: one dict with 'boxes' (N, 4) xyxy and 'labels' (N,) per image")
        gt_boxes, gt_labels = [], []
        for index, target in enumerate(targets):
            boxes = target["boxes"].to(batch.device, torch.float32).reshape(-1, 4)
            labels = target["labels"].to(batch.device, torch.long).reshape(-1)
            if labels.numel() != boxes.shape[0]:
                raise ValueError(f"target {index}: {boxes.shape[0]} boxes but {labels.numel()} labels")
            if labels.numel() and (labels.min() < 1 or labels.max() > self.num_classes):
                raise ValueError(f"target {index}: labels must be 1 .. {self.num_classes} (1 = pedestrian, "
                                 f"0 is not a class), got {labels.unique().tolist()}")
            gt_boxes.append(boxes)
            gt_labels.append(labels - 1)
        proposals, losses = self.rpn(self._rpn_levels(features), sizes, self._pad_sizes(sizes), gt_boxes)
        losses.update(self.roi_heads.loss(self._levels(features), proposals, gt_boxes, gt_labels))
        return losses


# Constructors ----------------------------------------------------------------------------------

@network_constructor
def faster_rcnn_r50_fpn(*, num_classes: int = 1, backbone_pretrained: bool = False,
                        clip_border: bool = False) -> FasterRCNN:
    """mmtracking's Tracktor detector: ResNet-50 (stem and layer1 frozen, BatchNorm in eval
    mode), FPN 256 channels on layer1..4 plus a max-pooled level, anchors of scale 8 and ratios
    0.5 / 1 / 2 at strides 4..64, RoIAlign 7x7 on strides 4..32, two shared FCs of 1024, test
    scale (1088, 1088). ``backbone_pretrained`` reads torchvision's ImageNet ResNet-50 from the
    ``pretrained_networks`` folder; ``clip_border=False`` is the MOT17 configs' setting."""
    body = backbones.resnet50(output_layers=("layer1", "layer2", "layer3", "layer4"),
                              pretrained=backbone_pretrained, num_classes=None)
    backbone = DetectionBackbone(body=body, return_layers=("layer1", "layer2", "layer3", "layer4"),
                                 in_channels=(256, 512, 1024, 2048), out_channels=256, extra_pool=True,
                                 frozen_stages=1, norm_eval=True)
    return FasterRCNN(backbone=backbone, num_classes=num_classes, fpn_channels=256,
                      anchor_strides=(4, 8, 16, 32, 64), anchor_ratios=(0.5, 1.0, 2.0), anchor_scales=(8.0,),
                      roi_strides=(4, 8, 16, 32), finest_scale=56.0, fc_channels=1024, clip_border=clip_border,
                      test_scale=(1088, 1088))


@network_constructor
def faster_rcnn_tiny(*, num_classes: int = 1, width: int = 16, fpn_channels: int = 32, fc_channels: int = 128,
                     test_scale: tuple[int, int] = (384, 384), clip_border: bool = False,
                     rpn_train_nms_pre: int = 1000, rpn_max_proposals: int = 300,
                     roi_samples: int = 128) -> FasterRCNN:
    """A small Faster R-CNN of the same structure and interface for CPU training from scratch
    on the synthetic MOT frames (640x480, people 0.10-0.55 of the height, width/height
    0.33-0.45): ``resnet_tiny(width)`` (BatchNorm trains: nothing is pretrained) on layer2..4,
    FPN of ``fpn_channels`` on strides 8, 16, 32 (no extra level), anchors of scale 3 and
    ratios (h / w) 2 and 3 (sqrt-areas 24, 48, 96), RoIAlign 7x7 with ``finest_scale`` 28, two
    FCs of ``fc_channels``. At the default test scale 384 a 640x480 frame becomes 384x288
    (people 29-158 pixels tall). About 0.6 M parameters with the defaults.

    Fewer boxes than the published settings, as a frame holds 10 to 30 people and a CPU pays for
    every RoI (RoIAlign's backward and the RPN's NMS were most of a training step): the RPN keeps
    ``rpn_train_nms_pre`` boxes per level in training (published 2000) and ``rpn_max_proposals``
    proposals after its NMS (published 1000, train and test), and the box head samples
    ``roi_samples`` RoIs per image in training (published 512)."""
    body = backbones.resnet_tiny(output_layers=("layer2", "layer3", "layer4"), width=width)
    backbone = DetectionBackbone(body=body, return_layers=("layer2", "layer3", "layer4"),
                                 in_channels=(2 * width, 4 * width, 8 * width), out_channels=fpn_channels,
                                 extra_pool=False, frozen_stages=-1, norm_eval=False)
    return FasterRCNN(backbone=backbone, num_classes=num_classes, fpn_channels=fpn_channels,
                      anchor_strides=(8, 16, 32), anchor_ratios=(2.0, 3.0), anchor_scales=(3.0,),
                      roi_strides=(8, 16, 32), finest_scale=28.0, fc_channels=fc_channels, clip_border=clip_border,
                      test_scale=tuple(test_scale),
                      rpn_options={"train_nms_pre": rpn_train_nms_pre, "max_per_img": rpn_max_proposals},
                      roi_options={"num_samples": roi_samples})
