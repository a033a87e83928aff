"""The actor of the re-identification network's training (mmtracking's ``BaseReID.forward_train``
and ``LinearReIDHead.loss``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ltr.actors.base_actor import BaseActor
from ltr.data.tensordict import TensorDict
from ltr.models.loss import TripletLoss


class ReIDActor(BaseActor):
    """Cross-entropy over identities on the classifier's scores plus the batch-hard triplet loss
    on the embeddings (before the head's BatchNorm), each weighted (published: 1 and 1, margin 0.3).

    The batch holds ``images`` ``(B, P*K, 3, H, W)`` (B groups of P identities x K crops; the
    groups are flattened into one batch, as ``BaseReID.forward_train`` views ``N x S`` images as
    ``N*S``) and ``labels`` ``(B, P*K)`` int64. Stats: ``Loss/total``, ``Loss/ce``,
    ``Loss/triplet`` and ``Acc/top1`` (percent of crops whose highest score is their identity,
    as mmcls's Accuracy)."""

    def __init__(self, net: torch.nn.Module, *, triplet_margin: float = 0.3, ce_weight: float = 1.0,
                 triplet_weight: float = 1.0):
        super().__init__(net, TripletLoss(margin=triplet_margin))
        self.ce_weight = float(ce_weight)
        self.triplet_weight = float(triplet_weight)

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        images = data["images"].reshape(-1, *data["images"].shape[-3:])
        labels = data["labels"].reshape(-1)
        embeddings, logits = self.net(images, with_logits=True)
        ce_loss = F.cross_entropy(logits.float(), labels)
        triplet_loss = self.objective(embeddings.float(), labels)
        loss = self.ce_weight * ce_loss + self.triplet_weight * triplet_loss
        accuracy = 100.0 * (logits.argmax(dim=1) == labels).float().mean()
        return loss, {"Loss/total": loss.item(), "Loss/ce": ce_loss.item(), "Loss/triplet": triplet_loss.item(),
                      "Acc/top1": accuracy.item()}

    def batch_size(self, data: TensorDict, stack_dim: int) -> int:
        return int(data["labels"].numel())
