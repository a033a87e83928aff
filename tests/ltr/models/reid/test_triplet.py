"""mmtracking's batch-hard triplet loss on hand-computed batches."""

import pytest
import torch

from ltr.models.loss import TripletLoss
from ltr.models.loss.triplet import pairwise_distances


def line(*xs):
    """Embeddings on the x axis of a plane."""
    return torch.tensor([[x, 0.0] for x in xs], dtype=torch.float64)


def test_hardest_positive_and_negative_per_anchor():
    # distances: d01 = 2, d02 = 2.5, d03 = 4, d12 = 0.5, d13 = 2, d23 = 1.5
    # anchor 0: 2 - 2.5 + 0.3 < 0; anchor 1: 2 - 0.5 + 0.3 = 1.8; anchor 2: 1.5 - 0.5 + 0.3 = 1.3;
    # anchor 3: 1.5 - 2 + 0.3 < 0; mean 3.1 / 4
    loss = TripletLoss(margin=0.3)(line(0, 2, 2.5, 4), torch.tensor([0, 0, 1, 1]))
    assert loss.item() == pytest.approx(0.775, abs=1e-6)


def test_a_single_crop_is_its_own_hardest_positive_at_distance_1e6():
    # anchor 0 (alone): 1e-6 - 1 + 2; anchor 1: 4 - 1 + 2 = 5; anchor 2: 4 - 5 + 2 = 1
    loss = TripletLoss(margin=2.0)(line(0, 1, 5), torch.tensor([0, 1, 1]))
    assert loss.item() == pytest.approx((1.000001 + 5 + 1) / 3, abs=3e-7)
    assert pairwise_distances(line(3.0))[0, 0].item() == pytest.approx(1e-6)


def test_weight_gradients_and_one_identity():
    embeddings = line(0, 2, 2.5, 4).requires_grad_()
    loss = TripletLoss(margin=0.3, loss_weight=2.0)(embeddings, torch.tensor([0, 0, 1, 1]))
    assert loss.item() == pytest.approx(1.55, abs=1e-6)
    loss.backward()
    assert torch.isfinite(embeddings.grad).all() and embeddings.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="two identities"):
        TripletLoss()(line(0, 1), torch.tensor([3, 3]))
