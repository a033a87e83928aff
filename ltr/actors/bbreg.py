"""The actor of ATOM's IoU-Net training."""

from __future__ import annotations

import torch

from ltr.actors.base_actor import BaseActor
from ltr.data.tensordict import TensorDict
from ltr.models.loss import TemplateMatchingLoss


class AtomActor(BaseActor):
    """Predicts the IoU of each test proposal and regresses it onto the target 2 * IoU - 1.

    The batch holds ``train_images`` (1, B, 3, H, W), ``train_anno`` (1, B, 4), ``test_images``,
    ``test_anno``, ``test_proposals`` (1, B, P, 4) and ``proposal_iou`` (1, B, P); the loss is
    the objective (mean squared error) between predicted and target values. With a
    ``template_loss``, ``template_weight`` times that loss on the backbone features of
    ``template_layer`` is added (``Loss/template``), the test images matched against the first
    train image."""

    def __init__(self, net: torch.nn.Module, objective: torch.nn.Module, *,
                 template_loss: TemplateMatchingLoss | None = None, template_layer: str = "layer2",
                 template_weight: float = 0.0):
        super().__init__(net, objective)
        if template_loss is not None and template_weight <= 0:
            raise ValueError(f"template_weight must be positive with a template loss, not {template_weight}")
        self.template_loss = template_loss
        self.template_layer = template_layer
        self.template_weight = float(template_weight)

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        inputs = (data["train_images"], data["test_images"], data["train_anno"], data["test_proposals"])
        if self.template_loss is None:
            iou_pred = self.net(*inputs)
        else:
            iou_pred, train_feat, test_feat = self.net(*inputs, return_features=(self.template_layer,))
        iou_pred = iou_pred.reshape(-1, iou_pred.shape[-1]).float()
        iou_gt = data["proposal_iou"].reshape(-1, data["proposal_iou"].shape[-1]).to(iou_pred.dtype)
        iou_loss = self.objective(iou_pred, iou_gt)
        stats = {"Loss/iou": iou_loss.item()}
        loss = iou_loss
        if self.template_loss is not None:
            template_loss = self._template_loss(data, train_feat[self.template_layer], test_feat[self.template_layer])
            loss = iou_loss + self.template_weight * template_loss
            stats["Loss/template"] = template_loss.item()
        return loss, {"Loss/total": loss.item(), **stats}

    def _template_loss(self, data: TensorDict, train_feat: torch.Tensor, test_feat: torch.Tensor) -> torch.Tensor:
        sequences = data["train_anno"].shape[-2]
        test_images = test_feat.shape[0] // sequences
        # Features are (images * sequences, ...) image-major: the first train image is the first block.
        train_feat = train_feat[:sequences].repeat(test_images, 1, 1, 1)
        train_boxes = data["train_anno"].reshape(-1, sequences, 4)[0].repeat(test_images, 1)
        test_boxes = data["test_anno"].reshape(-1, 4)
        return self.template_loss(train_feat, train_boxes, test_feat, test_boxes)
