"""FairMOT's training objective: CenterNet's detection losses and the identity classification,
balanced by learnt uncertainty weights.

The published rules (FairMOT ``src/lib/trains/mot.py`` ``MotLoss`` with the defaults of
``src/lib/opts.py``; ``src/lib/models/losses.py``; ``src/lib/models/utils.py``):

- heatmap: the logits through ``clamp(sigmoid(x), 1e-4, 1 - 1e-4)``, then CenterNet's focal loss
  (``_neg_loss``): positives where the target is exactly 1, ``log(p) (1 - p)^2``; elsewhere
  ``log(1 - p) p^2 (1 - gt)^4``; the negated sum over positives and negatives divided by the
  number of positives (by 1 when there is none: the negative sum alone);
- ``RegL1Loss`` for ``wh`` (ltrb, weight ``wh_weight`` 0.1) and ``reg`` (the centre offset,
  weight ``off_weight`` 1): the head's values gathered at ``ind``, masked by ``reg_mask``,
  ``sum |pred - target|`` over the masked entries divided by ``(number of masked entries times
  the channels) + 1e-4``;
- identity: the ``id`` head gathered at ``ind`` where ``reg_mask``, L2-normalised, times
  ``emb_scale = sqrt(2) * ln(nID - 1)``, a linear classifier ``reid_dim -> nID`` (torch's default
  initialisation), cross-entropy ignoring identity -1 (the mean over the known ones);
- ``det_loss = hm_weight * hm + wh_weight * wh + off_weight * off`` (1, 0.1, 1);
- uncertainty weighting (``multi_loss='uncertainty'``): ``loss = 0.5 * (exp(-s_det) det_loss +
  exp(-s_id) id_loss + s_det + s_id)``, ``s_det`` and ``s_id`` learnt, starting at -1.85 and
  -1.05.

``nID`` is FairMOT's ``JointDataset.nID``: the identities of all datasets plus one
(:func:`fairmot_num_ids`). Where FairMOT gives NaN (a batch with no object, or no known identity:
a cross-entropy over nothing), the identity loss here is 0, still connected to the classifier so
that every parameter takes part in each step (DistributedDataParallel needs that).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ltr.models.fairmot.heads import gather_at

HM_WEIGHT, WH_WEIGHT, OFF_WEIGHT = 1.0, 0.1, 1.0
S_DET_INIT, S_ID_INIT = -1.85, -1.05


def fairmot_num_ids(num_identities: int) -> int:
    """FairMOT's ``nID`` for data with ``num_identities`` identities (its ``last_index + 1``)."""
    return int(num_identities) + 1


def clamped_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """``clamp(sigmoid(x), 1e-4, 1 - 1e-4)`` (FairMOT's ``_sigmoid``, without changing ``logits``)."""
    return torch.clamp(logits.sigmoid(), min=1e-4, max=1 - 1e-4)


def focal_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """CenterNet's focal loss of probabilities ``pred`` against the Gaussian heatmap ``gt``
    (both (B, C, H, W)); module docstring."""
    positive = gt.eq(1).float()
    negative = gt.lt(1).float()
    negative_weights = torch.pow(1 - gt, 4)
    positive_loss = (torch.log(pred) * torch.pow(1 - pred, 2) * positive).sum()
    negative_loss = (torch.log(1 - pred) * torch.pow(pred, 2) * negative_weights * negative).sum()
    count = positive.sum()
    if count == 0:
        return -negative_loss
    return -(positive_loss + negative_loss) / count


def reg_l1_loss(output: torch.Tensor, mask: torch.Tensor, ind: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """FairMOT's ``RegL1Loss``: ``output`` (B, C, H, W) gathered at ``ind`` (B, M), against
    ``target`` (B, M, C) where ``mask`` (B, M); module docstring."""
    pred = gather_at(output, ind)
    weights = mask.unsqueeze(2).expand_as(pred).float()
    loss = F.l1_loss(pred * weights, target * weights, reduction="sum")
    return loss / (weights.sum() + 1e-4)


class FairMOTLoss(nn.Module):
    """FairMOT's ``MotLoss`` (module docstring): owns the identity classifier and the uncertainty
    weights ``s_det`` / ``s_id``, which the recipe adds to the optimiser.

    ``forward(outputs, targets)``: ``outputs`` the network's dict (``hm`` logits, ``wh``, ``reg``,
    ``id``), ``targets`` with ``hm``, ``wh``, ``reg``, ``ind``, ``reg_mask``, ``ids``; returns the
    loss and its parts ``{"hm", "wh", "off", "id", "det"}`` (tensors)."""

    def __init__(self, *, num_ids: int, reid_dim: int = 128, hm_weight: float = HM_WEIGHT,
                 wh_weight: float = WH_WEIGHT, off_weight: float = OFF_WEIGHT, s_det: float = S_DET_INIT,
                 s_id: float = S_ID_INIT):
        super().__init__()
        if num_ids < 3:
            raise ValueError(f"num_ids={num_ids}: FairMOT's embedding scale sqrt(2) ln(nID - 1) needs nID >= 3 "
                             f"(nID is the number of training identities + 1); the data holds too few identities")
        self.num_ids = int(num_ids)
        self.reid_dim = int(reid_dim)
        self.hm_weight, self.wh_weight, self.off_weight = hm_weight, wh_weight, off_weight
        self.emb_scale = math.sqrt(2) * math.log(self.num_ids - 1)
        self.classifier = nn.Linear(self.reid_dim, self.num_ids)
        self.s_det = nn.Parameter(s_det * torch.ones(1))
        self.s_id = nn.Parameter(s_id * torch.ones(1))

    def identity_loss(self, embeddings: torch.Tensor, targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
        mask = targets["reg_mask"] > 0
        features = gather_at(embeddings, targets["ind"])[mask]
        ids = targets["ids"][mask].long()
        logits = self.classifier(self.emb_scale * F.normalize(features.float(), dim=1))
        known = ids >= 0
        if not bool(known.any()):
            return logits.sum() * 0.0  # FairMOT: NaN; 0 here, still through the classifier
        return F.cross_entropy(logits[known], ids[known])

    def combine(self, hm: torch.Tensor, wh: torch.Tensor, off: torch.Tensor, identity: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, det_loss) from the four parts, with the uncertainty weights."""
        det = self.hm_weight * hm + self.wh_weight * wh + self.off_weight * off
        loss = torch.exp(-self.s_det) * det + torch.exp(-self.s_id) * identity + (self.s_det + self.s_id)
        return 0.5 * loss.squeeze(0), det

    def forward(self, outputs: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        hm = focal_loss(clamped_sigmoid(outputs["hm"].float()), targets["hm"])
        wh = reg_l1_loss(outputs["wh"].float(), targets["reg_mask"], targets["ind"], targets["wh"])
        off = reg_l1_loss(outputs["reg"].float(), targets["reg_mask"], targets["ind"], targets["reg"])
        identity = self.identity_loss(outputs["id"], targets)
        loss, det = self.combine(hm, wh, off, identity)
        return loss, {"hm": hm, "wh": wh, "off": off, "id": identity, "det": det}
