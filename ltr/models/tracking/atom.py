"""ATOM's network: a backbone and the IoU predictor, and the constructors that build it,
registered in :mod:`ltr.models.registry` (through which checkpoints rebuild networks).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Literal, Sequence

import torch
from torch import nn

from ltr.models.backbone import resnet as backbones
from ltr.models.bbreg.atom_iou_net import AtomIoUNet
from ltr.models.registry import network_constructor


FROZEN_BATCH_NORM = ("train", "eval")


class ATOMnet(nn.Module):
    """ATOM: backbone features of ``bb_regressor_layer`` feed the IoU predictor.

    With ``extractor_grad=True`` the backbone trains with the rest. With
    ``extractor_grad=False`` it is frozen: its parameters do not require gradients and it runs
    under ``torch.no_grad()`` (no autograd graph is recorded for it: nothing of it is learned).
    ``frozen_batch_norm`` says what the frozen backbone's BatchNorm layers do while the network
    trains:

    - ``"train"`` (as published: pytracking's ATOMnet freezes the backbone only by
      ``requires_grad_(False)``, and ``BaseActor.train`` puts the whole network in train mode):
      they normalise with each batch's statistics and update their running statistics, which the
      checkpoints then hold and the tracker (in eval mode) uses. The train and the test images
      go through the backbone in two calls, so each call's batch has its own statistics.
    - ``"eval"``: :meth:`train` keeps the backbone in eval mode; it normalises with its running
      statistics, which stay those of its weights.

    In eval mode (the tracker) both are the same. ``channels_last`` runs the backbone's
    convolutions in the channels-last memory format (faster on CPUs with oneDNN; the features
    equal the contiguous ones up to float rounding) and returns the features contiguous."""

    def __init__(self, feature_extractor: nn.Module, bb_regressor: nn.Module,
                 bb_regressor_layer: Sequence[str] = ("layer2", "layer3"), extractor_grad: bool = False, *,
                 frozen_batch_norm: Literal["train", "eval"] = "train", channels_last: bool = False):
        super().__init__()
        if frozen_batch_norm not in FROZEN_BATCH_NORM:
            raise ValueError(f"frozen_batch_norm must be one of {FROZEN_BATCH_NORM}, not {frozen_batch_norm!r}")
        self.feature_extractor = feature_extractor
        self.bb_regressor = bb_regressor
        self.bb_regressor_layer = tuple(bb_regressor_layer)
        self.extractor_grad = bool(extractor_grad)
        self.frozen_batch_norm = frozen_batch_norm
        self.channels_last = bool(channels_last)
        if not self.extractor_grad:
            for parameter in self.feature_extractor.parameters():
                parameter.requires_grad_(False)
        if self.channels_last:
            self.feature_extractor.to(memory_format=torch.channels_last)
        self.train(self.training)

    def train(self, mode: bool = True) -> "ATOMnet":
        super().train(mode)
        if not self.extractor_grad and self.frozen_batch_norm == "eval":
            self.feature_extractor.eval()
        return self

    def forward(self, train_imgs: torch.Tensor, test_imgs: torch.Tensor, train_bb: torch.Tensor,
                test_proposals: torch.Tensor, *, return_features: Sequence[str] = ()
                ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """train_imgs (train_images, sequences, 3, H, W) or (sequences, 3, H, W); test_imgs the
        same with test_images; train_bb (train_images, sequences, 4) [x, y, w, h] in the train
        images; test_proposals (test_images, sequences, proposals, 4). Returns the predicted
        IoUs (test_images, sequences, proposals); with ``return_features``, also the backbone
        features of those layers for the train and the test images, (images * sequences, C,
        H', W') each, so that a training loss can use them (through ``forward``, as
        DistributedDataParallel requires)."""
        num_sequences = train_imgs.shape[-4]
        num_train_images = train_imgs.shape[0] if train_imgs.dim() == 5 else 1
        num_test_images = test_imgs.shape[0] if test_imgs.dim() == 5 else 1

        layers = tuple(dict.fromkeys((*self.bb_regressor_layer, *return_features)))
        train_feat = self.extract_features(train_imgs.reshape(-1, *train_imgs.shape[-3:]), layers)
        test_feat = self.extract_features(test_imgs.reshape(-1, *test_imgs.shape[-3:]), layers)
        train_feat_iou = [train_feat[layer] for layer in self.bb_regressor_layer]
        test_feat_iou = [test_feat[layer] for layer in self.bb_regressor_layer]

        iou = self.bb_regressor(train_feat_iou, test_feat_iou,
                                train_bb.reshape(num_train_images, num_sequences, 4),
                                test_proposals.reshape(num_test_images, num_sequences, -1, 4))
        if not return_features:
            return iou
        return (iou, {layer: train_feat[layer] for layer in return_features},
                {layer: test_feat[layer] for layer in return_features})

    def extract_backbone_features(self, im: torch.Tensor, layers: Iterable[str] | None = None
                                  ) -> OrderedDict[str, torch.Tensor]:
        """(B, 3, H, W) -> OrderedDict of ``layers`` (default: the IoU predictor's layers)."""
        return self.extract_features(im, self.bb_regressor_layer if layers is None else layers)

    def extract_features(self, im: torch.Tensor, layers: Iterable[str]) -> OrderedDict[str, torch.Tensor]:
        """(B, 3, H, W) -> OrderedDict layer name -> (B, C, H', W')."""
        layers = (layers,) if isinstance(layers, str) else tuple(layers)
        if self.channels_last:
            im = im.contiguous(memory_format=torch.channels_last)
        with torch.set_grad_enabled(self.extractor_grad and torch.is_grad_enabled()):
            features = self.feature_extractor(im, layers)
        if self.channels_last:
            features = OrderedDict((name, feat.contiguous()) for name, feat in features.items())
        return features


# Constructors ------------------------------------------------------------------------------------

@network_constructor
def atom_resnet18(*, iou_input_dim: Sequence[int] = (256, 256), iou_inter_dim: Sequence[int] = (256, 256),
                  backbone_pretrained: bool = True, extractor_grad: bool = False,
                  frozen_batch_norm: Literal["train", "eval"] = "train", channels_last: bool = False) -> ATOMnet:
    """ATOM with a ResNet-18 backbone (ImageNet weights from ``pretrained_networks`` when
    ``backbone_pretrained``), frozen unless ``extractor_grad``; ``frozen_batch_norm`` and
    ``channels_last`` as in :class:`ATOMnet`."""
    backbone = backbones.resnet18(output_layers=("layer2", "layer3"), pretrained=backbone_pretrained)
    iou_predictor = AtomIoUNet(input_dim=(128, 256), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return ATOMnet(backbone, iou_predictor, bb_regressor_layer=("layer2", "layer3"), extractor_grad=extractor_grad,
                   frozen_batch_norm=frozen_batch_norm, channels_last=channels_last)


@network_constructor
def atom_resnet50(*, iou_input_dim: Sequence[int] = (256, 256), iou_inter_dim: Sequence[int] = (256, 256),
                  backbone_pretrained: bool = True, extractor_grad: bool = False,
                  frozen_batch_norm: Literal["train", "eval"] = "train", channels_last: bool = False) -> ATOMnet:
    """ATOM with a ResNet-50 backbone (layer2 512 and layer3 1024 channels)."""
    backbone = backbones.resnet50(output_layers=("layer2", "layer3"), pretrained=backbone_pretrained)
    iou_predictor = AtomIoUNet(input_dim=(512, 1024), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return ATOMnet(backbone, iou_predictor, bb_regressor_layer=("layer2", "layer3"), extractor_grad=extractor_grad,
                   frozen_batch_norm=frozen_batch_norm, channels_last=channels_last)


@network_constructor
def atom_resnet_tiny(*, width: int = 16, iou_input_dim: Sequence[int] = (64, 64),
                     iou_inter_dim: Sequence[int] = (64, 64), backbone_pretrained: bool = False,
                     extractor_grad: bool = True, frozen_batch_norm: Literal["train", "eval"] = "train",
                     channels_last: bool = False) -> ATOMnet:
    """ATOM with :func:`~ltr.models.backbone.resnet.resnet_tiny` (layer2 2 * width and layer3
    4 * width channels), trained with the IoU predictor by default: the network of the CPU
    setting on the generated dataset. ``backbone_pretrained`` reads weights you saved yourself
    as ``<pretrained_networks>/resnet_tiny_w<width>.pth``."""
    backbone = backbones.resnet_tiny(output_layers=("layer2", "layer3"), pretrained=backbone_pretrained, width=width)
    iou_predictor = AtomIoUNet(input_dim=(backbone.out_channels("layer2"), backbone.out_channels("layer3")),
                               pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return ATOMnet(backbone, iou_predictor, bb_regressor_layer=("layer2", "layer3"), extractor_grad=extractor_grad,
                   frozen_batch_norm=frozen_batch_norm, channels_last=channels_last)
