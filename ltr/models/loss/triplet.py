"""mmtracking's triplet loss with hard mining in the batch (``mmtrack/models/losses/triplet_loss.py``,
after Hermans et al., "In Defense of the Triplet Loss for Person Re-Identification").

Published rule, for embeddings ``(N, D)`` and identity labels ``(N,)``:

- distances ``d_ij = sqrt(max(|e_i|^2 + |e_j|^2 - 2 e_i . e_j, 1e-12))`` (so an embedding's
  distance to itself is 1e-6, not 0);
- for each anchor i the hardest positive ``max_j d_ij`` over j of its identity, i included, and
  the hardest negative ``min_j d_ij`` over j of other identities;
- the loss is ``mean_i max(0, d_ap(i) - d_an(i) + margin)`` (``MarginRankingLoss`` with y = 1),
  times ``loss_weight``.

A batch of one identity has no negatives: published, ``min`` of an empty tensor fails; here a
ValueError says what the batch needs.
"""

from __future__ import annotations

import torch
from torch import nn


def pairwise_distances(embeddings: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` Euclidean distances of ``(N, D)`` embeddings, mmtracking's formula (module docstring)."""
    squared = embeddings.pow(2).sum(dim=1, keepdim=True)
    distances = squared + squared.t() - 2.0 * embeddings @ embeddings.t()
    return distances.clamp(min=1e-12).sqrt()


class TripletLoss(nn.Module):
    """Batch-hard triplet loss (module docstring); ``forward(embeddings (N, D), labels (N,)) -> ()``."""

    def __init__(self, *, margin: float = 0.3, loss_weight: float = 1.0):
        super().__init__()
        self.margin = float(margin)
        self.loss_weight = float(loss_weight)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if embeddings.dim() != 2 or labels.shape != embeddings.shape[:1]:
            raise ValueError(f"the triplet loss takes embeddings (N, D) and labels (N,), got {tuple(embeddings.shape)} "
                             f"and {tuple(labels.shape)}")
        distances = pairwise_distances(embeddings.float())
        same = labels[:, None] == labels[None, :]
        if bool(same.all()):
            raise ValueError("the triplet loss needs at least two identities in the batch (hard negatives); "
                             "sample several identities per batch (P x K)")
        hardest_positive = distances.masked_fill(~same, float("-inf")).max(dim=1).values
        hardest_negative = distances.masked_fill(same, float("inf")).min(dim=1).values
        losses = (hardest_positive - hardest_negative + self.margin).clamp(min=0)
        return self.loss_weight * losses.mean()
