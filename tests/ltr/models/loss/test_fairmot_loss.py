"""FairMOT's loss (MotLoss, losses.py) checked against values worked out by hand."""

import math

import pytest
import torch

from ltr.actors import FairMOTActor
from ltr.data.tensordict import TensorDict
from ltr.models.loss.fairmot import (FairMOTLoss, clamped_sigmoid, fairmot_num_ids, focal_loss, gather_at,
                                     reg_l1_loss)


def test_focal_loss_on_a_two_by_two_map():
    gt = torch.tensor([[[[1.0, 0.5], [0.0, 0.0]]]])
    pred = torch.tensor([[[[0.8, 0.5], [0.1, 0.2]]]])
    # one positive (0.8): log(0.8) (1 - 0.8)^2; negatives log(1 - p) p^2 (1 - gt)^4; divided by 1 positive
    expected = -(math.log(0.8) * 0.2 ** 2 + math.log(0.5) * 0.5 ** 2 * 0.5 ** 4 + math.log(0.9) * 0.1 ** 2
                 + math.log(0.8) * 0.2 ** 2)
    assert focal_loss(pred, gt).item() == pytest.approx(expected, rel=1e-6)
    # two positives: the sum over both divided by 2
    gt2 = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    expected2 = -(math.log(0.8) * 0.2 ** 2 + math.log(0.5) * 0.5 ** 2 + math.log(0.9) * 0.1 ** 2
                  + math.log(0.8) * 0.2 ** 2) / 2
    assert focal_loss(pred, gt2).item() == pytest.approx(expected2, rel=1e-6)
    # no positive: the negative sum alone
    zeros = torch.zeros(1, 1, 2, 2)
    expected0 = -(math.log(0.2) * 0.8 ** 2 + math.log(0.5) * 0.5 ** 2 + math.log(0.9) * 0.1 ** 2
                  + math.log(0.8) * 0.2 ** 2)
    assert focal_loss(pred, zeros).item() == pytest.approx(expected0, rel=1e-6)


def test_sigmoid_is_clamped_and_the_logits_are_left_alone():
    logits = torch.tensor([-20.0, 0.0, 20.0])
    probabilities = clamped_sigmoid(logits)
    assert probabilities.tolist() == pytest.approx([1e-4, 0.5, 1 - 1e-4])
    assert logits.tolist() == [-20.0, 0.0, 20.0]  # FairMOT's sigmoid_ changes its input; this does not


def test_reg_l1_with_a_mask():
    output = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]])  # (1, 2, 2, 2)
    ind = torch.tensor([[3, 1, 0]])
    mask = torch.tensor([[1, 1, 0]], dtype=torch.uint8)
    target = torch.tensor([[[4.0, 8.0], [0.0, 0.0], [100.0, 100.0]]])
    assert gather_at(output, ind).tolist() == [[[4.0, 8.0], [2.0, 6.0], [1.0, 5.0]]]
    # |4-4| + |8-8| + |2-0| + |6-0| = 8 over 2 objects x 2 channels (+1e-4); the third is masked
    assert reg_l1_loss(output, mask, ind, target).item() == pytest.approx(8 / (4 + 1e-4), rel=1e-6)


def test_total_from_known_parts_with_the_published_constants():
    loss = FairMOTLoss(num_ids=10, reid_dim=4)
    assert loss.s_det.item() == pytest.approx(-1.85) and loss.s_id.item() == pytest.approx(-1.05)
    assert (loss.hm_weight, loss.wh_weight, loss.off_weight) == (1.0, 0.1, 1.0)
    total, det = loss.combine(torch.tensor(1.0), torch.tensor(2.0), torch.tensor(0.5), torch.tensor(3.0))
    assert det.item() == pytest.approx(1 + 0.1 * 2 + 0.5)
    expected = 0.5 * (math.exp(1.85) * 1.7 + math.exp(1.05) * 3 + (-1.85 - 1.05))
    assert total.item() == pytest.approx(expected, rel=1e-6)
    assert total.dim() == 0


def test_embedding_scale_and_identity_count():
    assert fairmot_num_ids(14454) == 14455  # JointDataset.nID = identities + 1
    assert FairMOTLoss(num_ids=14455).emb_scale == pytest.approx(math.sqrt(2) * math.log(14454))
    assert FairMOTLoss(num_ids=14455).classifier.weight.shape == (14455, 128)
    with pytest.raises(ValueError, match="nID"):
        FairMOTLoss(num_ids=2)


def test_identity_loss_by_hand():
    loss = FairMOTLoss(num_ids=3, reid_dim=2)
    with torch.no_grad():
        loss.classifier.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
        loss.classifier.bias.zero_()
    embeddings = torch.tensor([[[[3.0, 1.0]], [[4.0, 0.0]]]])  # (1, 2, 1, 2): position 0 is (3, 4), 1 is (1, 0)
    targets = {"ind": torch.tensor([[0, 1, 0]]), "reg_mask": torch.tensor([[1, 1, 0]], dtype=torch.uint8),
               "ids": torch.tensor([[1, -1, 2]])}
    scale = math.sqrt(2) * math.log(2)
    # (3, 4) normalised is (0.6, 0.8): logits (0.6 s, 0.8 s, 0), target 1; the -1 is ignored, the third masked
    expected = -(0.8 * scale - math.log(math.exp(0.6 * scale) + math.exp(0.8 * scale) + 1))
    assert loss.identity_loss(embeddings, targets).item() == pytest.approx(expected, rel=1e-6)
    unknown = dict(targets, ids=torch.tensor([[-1, -1, 0]]))
    value = loss.identity_loss(embeddings, unknown)
    assert value.item() == 0.0
    value.backward()  # connected to the classifier even so
    assert loss.classifier.weight.grad is not None


def scripted_outputs(batch=2, h=4, w=6, dim=8):
    torch.manual_seed(0)
    return {"hm": torch.randn(batch, 1, h, w, requires_grad=True), "wh": torch.randn(batch, 4, h, w),
            "reg": torch.randn(batch, 2, h, w), "id": torch.randn(batch, dim, h, w, requires_grad=True)}


class ScriptedNet(torch.nn.Module):
    def __init__(self, outputs):
        super().__init__()
        self.outputs = outputs
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, images):
        return {name: value * self.scale for name, value in self.outputs.items()}


def test_actor_returns_the_loss_and_its_stats():
    outputs = scripted_outputs()
    hm = torch.zeros(2, 1, 4, 6)
    hm[0, 0, 1, 2] = 1
    hm[1, 0, 3, 5] = 1
    data = TensorDict(images=torch.zeros(2, 3, 16, 24), hm=hm, wh=torch.ones(2, 5, 4), reg=torch.zeros(2, 5, 2),
                      ind=torch.tensor([[8, 0, 0, 0, 0], [23, 1, 0, 0, 0]]),
                      reg_mask=torch.tensor([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0]], dtype=torch.uint8),
                      ids=torch.tensor([[0, 0, 0, 0, 0], [4, -1, 0, 0, 0]]))
    objective = FairMOTLoss(num_ids=5, reid_dim=8)
    actor = FairMOTActor(ScriptedNet(outputs), objective)
    loss, stats = actor(data)
    assert set(stats) == {"Loss/total", "Loss/hm", "Loss/wh", "Loss/off", "Loss/id"}
    total, _ = objective.combine(*(torch.tensor(stats[f"Loss/{name}"]) for name in ("hm", "wh", "off", "id")))
    assert stats["Loss/total"] == pytest.approx(total.item(), rel=1e-5)
    assert actor.batch_size(data, 0) == 2
    loss.backward()
    assert objective.s_det.grad is not None and objective.classifier.weight.grad is not None
