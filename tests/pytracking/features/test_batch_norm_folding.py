"""Folding BatchNorm into the layer before it leaves every network's outputs unchanged."""

import copy

import pytest
import torch
from torch import nn

from ltr.models.tracking.atom import atom_resnet18, atom_resnet_tiny
from pytracking.features.batch_norm_folding import fold_batch_norms


def randomise_statistics(net: nn.Module, generator: torch.Generator) -> None:
    """BatchNorm statistics and affine parameters far from the identity, so folding is tested."""
    for module in net.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            count = module.num_features
            module.running_mean.copy_(torch.randn(count, generator=generator))
            module.running_var.copy_(torch.rand(count, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(count, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(count, generator=generator))


def test_conv_and_linear_pairs_by_hand():
    generator = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Flatten(), nn.Linear(4 * 4 * 4, 5), nn.BatchNorm1d(5))
    randomise_statistics(net, generator)
    net.eval()
    x = torch.randn(2, 3, 6, 6, generator=generator)
    expected = net(x)
    assert fold_batch_norms(net) == 2
    assert isinstance(net[1], nn.Identity) and isinstance(net[5], nn.Identity)
    assert net[0].bias is not None  # created for the convolution that had none
    torch.testing.assert_close(net(x), expected, atol=1e-5, rtol=1e-5)


def test_refuses_training_mode_and_skips_unpaired_norms():
    with pytest.raises(ValueError, match="eval"):
        fold_batch_norms(nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2)))
    # A BatchNorm after a ReLU, or of another width, is not folded.
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU(), nn.BatchNorm2d(2)).eval()
    assert fold_batch_norms(net) == 0


@pytest.mark.parametrize("build", [lambda: atom_resnet_tiny(width=8),
                                   lambda: atom_resnet18(backbone_pretrained=False)], ids=["tiny", "resnet18"])
def test_atom_networks_give_the_same_features_and_ious(build):
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    net = build()
    randomise_statistics(net, generator)
    net.eval()
    folded = copy.deepcopy(net)
    assert fold_batch_norms(folded) > 0
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in folded.modules())
    images = torch.randn(1, 3, 96, 96, generator=generator)
    box = torch.tensor([[30.0, 28.0, 32.0, 36.0]])
    proposals = torch.tensor([[[30.0, 28.0, 32.0, 36.0], [26.0, 30.0, 40.0, 30.0]]])
    with torch.no_grad():
        outputs = []
        for model in (net, folded):
            features = model.extract_backbone_features(images)
            regressor = model.bb_regressor
            modulation = regressor.get_modulation(list(features.values()), box)
            iou = regressor.predict_iou(modulation, regressor.get_iou_feat(list(features.values())), proposals)
            outputs.append((features, iou))
    for layer in outputs[0][0]:
        torch.testing.assert_close(outputs[1][0][layer], outputs[0][0][layer], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(outputs[1][1], outputs[0][1], atol=1e-4, rtol=1e-4)
