"""The template-matching loss that trains from-scratch backbones to tell the target apart, and the
actor and network paths that feed it."""

import math

import pytest
import torch

from ltr.actors import AtomActor
from ltr.data.tensordict import TensorDict
from ltr.models.loss import TemplateMatchingLoss
from ltr.models.tracking.atom import atom_resnet_tiny

STRIDE = 8


def marker_features(cell: tuple[int, int], size: int = 12, channels: int = 4) -> torch.Tensor:
    """(1, C, size, size): one background vector everywhere, another at ``cell`` (row, col)."""
    features = torch.zeros(1, channels, size, size, dtype=torch.float64)
    features[0, 0] = 1.0
    features[0, :, cell[0], cell[1]] = torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    return features


def box_at_cell(row: int, col: int, side: float = 16.0) -> torch.Tensor:
    """A box of ``side`` pixels centred on the centre of cell (row, col)."""
    cx, cy = (col + 0.5) * STRIDE, (row + 0.5) * STRIDE
    return torch.tensor([[cx - side / 2, cy - side / 2, side, side]], dtype=torch.float64)


def test_labels_are_normalised_gaussians_at_the_box_centre():
    loss = TemplateMatchingLoss(stride=STRIDE, sigma_factor=0.25)
    label = loss.labels(box_at_cell(3, 7, side=32.0), 12, 12)
    assert label.shape == (1, 12, 12)
    assert label.sum().item() == pytest.approx(1.0)
    assert divmod(label.argmax().item(), 12) == (3, 7)
    # sigma = 0.25 * 32 / 8 = 1 cell: one cell away the label falls by exp(-1/2).
    assert (label[0, 3, 8] / label[0, 3, 7]).item() == pytest.approx(math.exp(-0.5))
    # A tiny box gets min_sigma instead of a spike.
    tiny = loss.labels(box_at_cell(3, 7, side=1.0), 12, 12)
    assert (tiny[0, 3, 8] / tiny[0, 3, 7]).item() == pytest.approx(math.exp(-0.5 / 0.5 ** 2))


def test_template_of_a_cell_centred_box_samples_that_cell():
    # Constant features: every bin of the template is that constant.
    loss = TemplateMatchingLoss(stride=STRIDE, template_size=3)
    features = torch.arange(4, dtype=torch.float64).reshape(1, 4, 1, 1).expand(1, 4, 12, 12).contiguous()
    template = loss.templates(features, box_at_cell(5, 5))
    assert template.shape == (1, 4, 3, 3)
    torch.testing.assert_close(template, torch.arange(4, dtype=torch.float64).reshape(1, 4, 1, 1).expand(1, 4, 3, 3))
    # A marker at the centre cell: the template's centre bin sees the most of it, its corners
    # nothing beyond a cell away (PrRoIPool averages the bilinear interpolation over each bin:
    # 3/4 of the centre cell per axis).
    template = loss.templates(marker_features((5, 5)), box_at_cell(5, 5, side=40.0))
    assert template[0, 1, 1, 1].item() == pytest.approx(0.75 * 0.75)
    assert template[0, 1, 0, 0].item() == pytest.approx(0.125 * 0.125)


def test_response_peaks_where_the_template_came_from():
    loss = TemplateMatchingLoss(stride=STRIDE, template_size=3)
    train = marker_features((4, 4))
    test = marker_features((8, 2))
    response = loss.responses(train, box_at_cell(4, 4), test)
    assert response.shape == (1, 12, 12)
    assert divmod(response.argmax().item(), 12) == (8, 2)
    assert response.max().item() <= 1.0 + 1e-9


def test_loss_is_lower_for_the_right_position_and_gives_gradients():
    torch.manual_seed(0)
    loss = TemplateMatchingLoss(stride=STRIDE)
    features = torch.randn(2, 8, 12, 12, dtype=torch.float64, requires_grad=True)
    boxes = torch.cat([box_at_cell(4, 4, 24.0), box_at_cell(7, 6, 24.0)])
    right = loss(features, boxes, features, boxes)
    wrong = loss(features, boxes, features, boxes.flip(0))
    assert right.item() < wrong.item()
    right.backward()
    assert features.grad is not None and features.grad.abs().sum().item() > 0


def test_loss_under_bfloat16_autocast_is_computed_in_float32():
    torch.manual_seed(0)
    loss = TemplateMatchingLoss(stride=STRIDE)
    features = torch.randn(2, 8, 12, 12)
    boxes = torch.cat([box_at_cell(4, 4, 24.0), box_at_cell(7, 6, 24.0)]).float()
    exact = loss(features, boxes, features, boxes)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = loss(features.bfloat16(), boxes, features.bfloat16(), boxes)
    assert mixed.dtype == torch.float32
    assert mixed.item() == pytest.approx(exact.item(), rel=0.02)  # only the input rounding differs


@pytest.mark.parametrize("kwargs", [{"template_size": 4}, {"template_size": 0}, {"temperature": 0.0}])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        TemplateMatchingLoss(stride=STRIDE, **kwargs)


def test_network_returns_the_requested_features():
    torch.manual_seed(0)
    net = atom_resnet_tiny(width=8).eval()
    train, test = torch.randn(1, 2, 3, 64, 64), torch.randn(3, 2, 3, 64, 64)
    bb = torch.tensor([[[16.0, 16.0, 24.0, 24.0], [20.0, 12.0, 20.0, 30.0]]])
    proposals = bb.unsqueeze(2).expand(3, 2, 4, 4)
    with torch.no_grad():
        plain = net(train, test, bb, proposals)
        iou, train_feat, test_feat = net(train, test, bb, proposals, return_features=("layer2",))
    torch.testing.assert_close(iou, plain)
    assert list(train_feat) == ["layer2"] and train_feat["layer2"].shape == (2, 16, 8, 8)
    assert test_feat["layer2"].shape == (6, 16, 8, 8)


def test_actor_adds_the_weighted_template_loss():
    torch.manual_seed(0)
    net = atom_resnet_tiny(width=8)
    data = TensorDict({"train_images": torch.randn(1, 2, 3, 64, 64), "test_images": torch.randn(1, 2, 3, 64, 64),
                       "train_anno": torch.tensor([[[16.0, 16.0, 24.0, 24.0], [20.0, 12.0, 20.0, 30.0]]]),
                       "test_anno": torch.tensor([[[10.0, 20.0, 24.0, 24.0], [30.0, 22.0, 20.0, 30.0]]])})
    data["test_proposals"] = data["test_anno"].unsqueeze(2).repeat(1, 1, 3, 1)
    data["proposal_iou"] = torch.ones(1, 2, 3)
    plain = AtomActor(net, torch.nn.MSELoss())
    matching = AtomActor(net, torch.nn.MSELoss(), template_loss=TemplateMatchingLoss(stride=8), template_weight=0.5)
    net.eval()
    loss, stats = matching(data)
    _, plain_stats = plain(data)
    assert set(stats) == {"Loss/total", "Loss/iou", "Loss/template"} and set(plain_stats) == {"Loss/total", "Loss/iou"}
    assert stats["Loss/iou"] == pytest.approx(plain_stats["Loss/iou"])
    assert stats["Loss/total"] == pytest.approx(stats["Loss/iou"] + 0.5 * stats["Loss/template"])
    loss.backward()
    assert net.feature_extractor.conv1.weight.grad.abs().sum().item() > 0
    with pytest.raises(ValueError, match="template_weight"):
        AtomActor(net, torch.nn.MSELoss(), template_loss=TemplateMatchingLoss(stride=8))
