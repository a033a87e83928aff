"""The actor of ATOM's IoU-Net training."""

from __future__ import annotations

import torch

from ltr.actors.base_actor import BaseActor
from ltr.data.tensordict import TensorDict


class AtomActor(BaseActor):
    """Predicts the IoU of each test proposal and regresses it onto the target 2 * IoU - 1.

    The batch holds ``train_images`` (1, B, 3, H, W), ``train_anno`` (1, B, 4), ``test_images``,
    ``test_proposals`` (1, B, P, 4) and ``proposal_iou`` (1, B, P); the loss is the objective
    (mean squared error) between predicted and target values."""

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        iou_pred = self.net(data["train_images"], data["test_images"], data["train_anno"], data["test_proposals"])
        iou_pred = iou_pred.reshape(-1, iou_pred.shape[-1]).float()
        iou_gt = data["proposal_iou"].reshape(-1, data["proposal_iou"].shape[-1]).to(iou_pred.dtype)
        loss = self.objective(iou_pred, iou_gt)
        value = loss.item()
        return loss, {"Loss/total": value, "Loss/iou": value}
