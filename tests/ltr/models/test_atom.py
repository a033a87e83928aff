"""ATOM's network: the published state-dict layout, shapes of the forward pass, the tracker's
path through the IoU predictor, gradients with respect to the proposals, the frozen backbone, and
the constructor registry."""

import pytest
import torch

from ltr.models.bbreg.atom_iou_net import AtomIoUNet
from ltr.models.layers.blocks import LinearBlock, conv_block
from ltr.models.registry import NETWORK_CONSTRUCTORS, UnknownNetworkError, build_network
from ltr.models.tracking.atom import atom_resnet18, atom_resnet50, atom_resnet_tiny

# The state dict of pytracking's published atom_resnet18 (e.g. atom_default.pth): name and shape
# ("-" for the scalar num_batches_tracked). The backbone is pytracking's ResNet-18, which keeps
# torchvision's ImageNet classifier fc: 120 + 2 entries. The IoU predictor: nine conv blocks of
# 7 entries, two linear blocks of 7, and iou_predictor's weight and bias: 79. In all 201.
PUBLISHED_ATOM_RESNET18 = """
feature_extractor.conv1.weight 64x3x7x7
feature_extractor.bn1.weight 64
feature_extractor.bn1.bias 64
feature_extractor.bn1.running_mean 64
feature_extractor.bn1.running_var 64
feature_extractor.bn1.num_batches_tracked -
feature_extractor.layer1.0.conv1.weight 64x64x3x3
feature_extractor.layer1.0.bn1.weight 64
feature_extractor.layer1.0.bn1.bias 64
feature_extractor.layer1.0.bn1.running_mean 64
feature_extractor.layer1.0.bn1.running_var 64
feature_extractor.layer1.0.bn1.num_batches_tracked -
feature_extractor.layer1.0.conv2.weight 64x64x3x3
feature_extractor.layer1.0.bn2.weight 64
feature_extractor.layer1.0.bn2.bias 64
feature_extractor.layer1.0.bn2.running_mean 64
feature_extractor.layer1.0.bn2.running_var 64
feature_extractor.layer1.0.bn2.num_batches_tracked -
feature_extractor.layer1.1.conv1.weight 64x64x3x3
feature_extractor.layer1.1.bn1.weight 64
feature_extractor.layer1.1.bn1.bias 64
feature_extractor.layer1.1.bn1.running_mean 64
feature_extractor.layer1.1.bn1.running_var 64
feature_extractor.layer1.1.bn1.num_batches_tracked -
feature_extractor.layer1.1.conv2.weight 64x64x3x3
feature_extractor.layer1.1.bn2.weight 64
feature_extractor.layer1.1.bn2.bias 64
feature_extractor.layer1.1.bn2.running_mean 64
feature_extractor.layer1.1.bn2.running_var 64
feature_extractor.layer1.1.bn2.num_batches_tracked -
feature_extractor.layer2.0.conv1.weight 128x64x3x3
feature_extractor.layer2.0.bn1.weight 128
feature_extractor.layer2.0.bn1.bias 128
feature_extractor.layer2.0.bn1.running_mean 128
feature_extractor.layer2.0.bn1.running_var 128
feature_extractor.layer2.0.bn1.num_batches_tracked -
feature_extractor.layer2.0.conv2.weight 128x128x3x3
feature_extractor.layer2.0.bn2.weight 128
feature_extractor.layer2.0.bn2.bias 128
feature_extractor.layer2.0.bn2.running_mean 128
feature_extractor.layer2.0.bn2.running_var 128
feature_extractor.layer2.0.bn2.num_batches_tracked -
feature_extractor.layer2.0.downsample.0.weight 128x64x1x1
feature_extractor.layer2.0.downsample.1.weight 128
feature_extractor.layer2.0.downsample.1.bias 128
feature_extractor.layer2.0.downsample.1.running_mean 128
feature_extractor.layer2.0.downsample.1.running_var 128
feature_extractor.layer2.0.downsample.1.num_batches_tracked -
feature_extractor.layer2.1.conv1.weight 128x128x3x3
feature_extractor.layer2.1.bn1.weight 128
feature_extractor.layer2.1.bn1.bias 128
feature_extractor.layer2.1.bn1.running_mean 128
feature_extractor.layer2.1.bn1.running_var 128
feature_extractor.layer2.1.bn1.num_batches_tracked -
feature_extractor.layer2.1.conv2.weight 128x128x3x3
feature_extractor.layer2.1.bn2.weight 128
feature_extractor.layer2.1.bn2.bias 128
feature_extractor.layer2.1.bn2.running_mean 128
feature_extractor.layer2.1.bn2.running_var 128
feature_extractor.layer2.1.bn2.num_batches_tracked -
feature_extractor.layer3.0.conv1.weight 256x128x3x3
feature_extractor.layer3.0.bn1.weight 256
feature_extractor.layer3.0.bn1.bias 256
feature_extractor.layer3.0.bn1.running_mean 256
feature_extractor.layer3.0.bn1.running_var 256
feature_extractor.layer3.0.bn1.num_batches_tracked -
feature_extractor.layer3.0.conv2.weight 256x256x3x3
feature_extractor.layer3.0.bn2.weight 256
feature_extractor.layer3.0.bn2.bias 256
feature_extractor.layer3.0.bn2.running_mean 256
feature_extractor.layer3.0.bn2.running_var 256
feature_extractor.layer3.0.bn2.num_batches_tracked -
feature_extractor.layer3.0.downsample.0.weight 256x128x1x1
feature_extractor.layer3.0.downsample.1.weight 256
feature_extractor.layer3.0.downsample.1.bias 256
feature_extractor.layer3.0.downsample.1.running_mean 256
feature_extractor.layer3.0.downsample.1.running_var 256
feature_extractor.layer3.0.downsample.1.num_batches_tracked -
feature_extractor.layer3.1.conv1.weight 256x256x3x3
feature_extractor.layer3.1.bn1.weight 256
feature_extractor.layer3.1.bn1.bias 256
feature_extractor.layer3.1.bn1.running_mean 256
feature_extractor.layer3.1.bn1.running_var 256
feature_extractor.layer3.1.bn1.num_batches_tracked -
feature_extractor.layer3.1.conv2.weight 256x256x3x3
feature_extractor.layer3.1.bn2.weight 256
feature_extractor.layer3.1.bn2.bias 256
feature_extractor.layer3.1.bn2.running_mean 256
feature_extractor.layer3.1.bn2.running_var 256
feature_extractor.layer3.1.bn2.num_batches_tracked -
feature_extractor.layer4.0.conv1.weight 512x256x3x3
feature_extractor.layer4.0.bn1.weight 512
feature_extractor.layer4.0.bn1.bias 512
feature_extractor.layer4.0.bn1.running_mean 512
feature_extractor.layer4.0.bn1.running_var 512
feature_extractor.layer4.0.bn1.num_batches_tracked -
feature_extractor.layer4.0.conv2.weight 512x512x3x3
feature_extractor.layer4.0.bn2.weight 512
feature_extractor.layer4.0.bn2.bias 512
feature_extractor.layer4.0.bn2.running_mean 512
feature_extractor.layer4.0.bn2.running_var 512
feature_extractor.layer4.0.bn2.num_batches_tracked -
feature_extractor.layer4.0.downsample.0.weight 512x256x1x1
feature_extractor.layer4.0.downsample.1.weight 512
feature_extractor.layer4.0.downsample.1.bias 512
feature_extractor.layer4.0.downsample.1.running_mean 512
feature_extractor.layer4.0.downsample.1.running_var 512
feature_extractor.layer4.0.downsample.1.num_batches_tracked -
feature_extractor.layer4.1.conv1.weight 512x512x3x3
feature_extractor.layer4.1.bn1.weight 512
feature_extractor.layer4.1.bn1.bias 512
feature_extractor.layer4.1.bn1.running_mean 512
feature_extractor.layer4.1.bn1.running_var 512
feature_extractor.layer4.1.bn1.num_batches_tracked -
feature_extractor.layer4.1.conv2.weight 512x512x3x3
feature_extractor.layer4.1.bn2.weight 512
feature_extractor.layer4.1.bn2.bias 512
feature_extractor.layer4.1.bn2.running_mean 512
feature_extractor.layer4.1.bn2.running_var 512
feature_extractor.layer4.1.bn2.num_batches_tracked -
feature_extractor.fc.weight 1000x512
feature_extractor.fc.bias 1000
bb_regressor.conv3_1r.0.weight 128x128x3x3
bb_regressor.conv3_1r.0.bias 128
bb_regressor.conv3_1r.1.weight 128
bb_regressor.conv3_1r.1.bias 128
bb_regressor.conv3_1r.1.running_mean 128
bb_regressor.conv3_1r.1.running_var 128
bb_regressor.conv3_1r.1.num_batches_tracked -
bb_regressor.conv3_1t.0.weight 256x128x3x3
bb_regressor.conv3_1t.0.bias 256
bb_regressor.conv3_1t.1.weight 256
bb_regressor.conv3_1t.1.bias 256
bb_regressor.conv3_1t.1.running_mean 256
bb_regressor.conv3_1t.1.running_var 256
bb_regressor.conv3_1t.1.num_batches_tracked -
bb_regressor.conv3_2t.0.weight 256x256x3x3
bb_regressor.conv3_2t.0.bias 256
bb_regressor.conv3_2t.1.weight 256
bb_regressor.conv3_2t.1.bias 256
bb_regressor.conv3_2t.1.running_mean 256
bb_regressor.conv3_2t.1.running_var 256
bb_regressor.conv3_2t.1.num_batches_tracked -
bb_regressor.fc3_1r.0.weight 256x128x3x3
bb_regressor.fc3_1r.0.bias 256
bb_regressor.fc3_1r.1.weight 256
bb_regressor.fc3_1r.1.bias 256
bb_regressor.fc3_1r.1.running_mean 256
bb_regressor.fc3_1r.1.running_var 256
bb_regressor.fc3_1r.1.num_batches_tracked -
bb_regressor.conv4_1r.0.weight 256x256x3x3
bb_regressor.conv4_1r.0.bias 256
bb_regressor.conv4_1r.1.weight 256
bb_regressor.conv4_1r.1.bias 256
bb_regressor.conv4_1r.1.running_mean 256
bb_regressor.conv4_1r.1.running_var 256
bb_regressor.conv4_1r.1.num_batches_tracked -
bb_regressor.conv4_1t.0.weight 256x256x3x3
bb_regressor.conv4_1t.0.bias 256
bb_regressor.conv4_1t.1.weight 256
bb_regressor.conv4_1t.1.bias 256
bb_regressor.conv4_1t.1.running_mean 256
bb_regressor.conv4_1t.1.running_var 256
bb_regressor.conv4_1t.1.num_batches_tracked -
bb_regressor.conv4_2t.0.weight 256x256x3x3
bb_regressor.conv4_2t.0.bias 256
bb_regressor.conv4_2t.1.weight 256
bb_regressor.conv4_2t.1.bias 256
bb_regressor.conv4_2t.1.running_mean 256
bb_regressor.conv4_2t.1.running_var 256
bb_regressor.conv4_2t.1.num_batches_tracked -
bb_regressor.fc34_3r.0.weight 256x512x1x1
bb_regressor.fc34_3r.0.bias 256
bb_regressor.fc34_3r.1.weight 256
bb_regressor.fc34_3r.1.bias 256
bb_regressor.fc34_3r.1.running_mean 256
bb_regressor.fc34_3r.1.running_var 256
bb_regressor.fc34_3r.1.num_batches_tracked -
bb_regressor.fc34_4r.0.weight 256x512x1x1
bb_regressor.fc34_4r.0.bias 256
bb_regressor.fc34_4r.1.weight 256
bb_regressor.fc34_4r.1.bias 256
bb_regressor.fc34_4r.1.running_mean 256
bb_regressor.fc34_4r.1.running_var 256
bb_regressor.fc34_4r.1.num_batches_tracked -
bb_regressor.fc3_rt.linear.weight 256x6400
bb_regressor.fc3_rt.linear.bias 256
bb_regressor.fc3_rt.bn.weight 256
bb_regressor.fc3_rt.bn.bias 256
bb_regressor.fc3_rt.bn.running_mean 256
bb_regressor.fc3_rt.bn.running_var 256
bb_regressor.fc3_rt.bn.num_batches_tracked -
bb_regressor.fc4_rt.linear.weight 256x2304
bb_regressor.fc4_rt.linear.bias 256
bb_regressor.fc4_rt.bn.weight 256
bb_regressor.fc4_rt.bn.bias 256
bb_regressor.fc4_rt.bn.running_mean 256
bb_regressor.fc4_rt.bn.running_var 256
bb_regressor.fc4_rt.bn.num_batches_tracked -
bb_regressor.iou_predictor.weight 1x512
bb_regressor.iou_predictor.bias 1
"""


def published_layout() -> dict[str, tuple[int, ...]]:
    layout = {}
    for line in PUBLISHED_ATOM_RESNET18.strip().splitlines():
        name, shape = line.split()
        layout[name] = () if shape == "-" else tuple(int(n) for n in shape.split("x"))
    return layout


def test_state_dict_is_the_published_one():
    layout = published_layout()
    assert len(layout) == 201
    assert sum(name.startswith("feature_extractor.") for name in layout) == 122
    assert sum(name.startswith("bb_regressor.") for name in layout) == 79
    state = atom_resnet18(backbone_pretrained=False).state_dict()
    assert {name: tuple(value.shape) for name, value in state.items()} == layout
    assert list(state) == list(layout)


def test_resnet50_version_takes_its_feature_widths():
    state = atom_resnet50(backbone_pretrained=False).state_dict()
    assert state["bb_regressor.conv3_1r.0.weight"].shape == (128, 512, 3, 3)
    assert state["bb_regressor.conv3_1t.0.weight"].shape == (256, 512, 3, 3)
    assert state["bb_regressor.conv4_1r.0.weight"].shape == (256, 1024, 3, 3)
    assert state["bb_regressor.conv4_1t.0.weight"].shape == (256, 1024, 3, 3)
    assert len([name for name in state if name.startswith("bb_regressor.")]) == 79


def test_blocks():
    block = LinearBlock(8, 5, 3)
    assert sorted(block.state_dict()) == sorted(["linear.weight", "linear.bias", "bn.weight", "bn.bias",
                                                 "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"])
    assert block.linear.weight.shape == (5, 72)
    assert block(torch.randn(4, 8, 3, 3)).shape == (4, 5)
    conv = conv_block(3, 6)
    assert sorted(conv.state_dict())[:2] == ["0.bias", "0.weight"]
    assert conv(torch.randn(2, 3, 7, 7)).shape == (2, 6, 7, 7)


def test_iou_net_initialisation():
    net = AtomIoUNet()
    assert torch.all(net.fc3_1r[1].weight == 1) and torch.all(net.fc3_1r[1].bias == 0)
    assert torch.all(net.iou_predictor.bias == 0) and torch.all(net.conv3_1r[0].bias == 0)
    # Kaiming normal, fan_in: std sqrt(2 / fan_in).
    std = net.fc3_rt.linear.weight.std().item()
    assert abs(std - (2 / 6400) ** 0.5) < 0.1 * (2 / 6400) ** 0.5


def make_inputs(num_train=1, num_test=2, sequences=3, proposals=5, size=96, seed=0):
    generator = torch.Generator().manual_seed(seed)
    train = torch.randn(num_train, sequences, 3, size, size, generator=generator)
    test = torch.randn(num_test, sequences, 3, size, size, generator=generator)
    bb = torch.cat([20 + 10 * torch.rand(num_train, sequences, 2, generator=generator),
                    30 + 20 * torch.rand(num_train, sequences, 2, generator=generator)], -1)
    props = torch.cat([10 + 30 * torch.rand(num_test, sequences, proposals, 2, generator=generator),
                       20 + 30 * torch.rand(num_test, sequences, proposals, 2, generator=generator)], -1)
    return train, test, bb, props


def test_forward_matches_the_trackers_path():
    torch.manual_seed(0)
    net = atom_resnet_tiny().eval()
    train, test, bb, props = make_inputs()
    with torch.no_grad():
        iou = net(train, test, bb, props)
    assert iou.shape == (2, 3, 5)
    regressor = net.bb_regressor
    with torch.no_grad():
        for s in range(3):
            modulation = regressor.get_modulation(list(net.extract_backbone_features(train[0, s:s + 1]).values()),
                                                  bb[0, s:s + 1])
            assert [m.shape for m in modulation] == [(1, 64, 1, 1), (1, 64, 1, 1)]
            for t in range(2):
                feat = regressor.get_iou_feat(list(net.extract_backbone_features(test[t, s:s + 1]).values()))
                expected = regressor.predict_iou(modulation, feat, props[t, s:s + 1])
                torch.testing.assert_close(iou[t, s], expected[0], rtol=1e-4, atol=1e-5)


def test_single_frame_inputs():
    net = atom_resnet_tiny().eval()
    train, test, bb, props = make_inputs(num_test=1)
    with torch.no_grad():
        five = net(train, test, bb, props)
        four = net(train[0], test[0], bb[0], props[0])
    assert four.shape == (1, 3, 5)
    torch.testing.assert_close(four, five)


def test_gradients_flow_to_proposals():
    torch.manual_seed(1)
    net = atom_resnet_tiny().eval()
    train, test, bb, props = make_inputs(num_test=1, sequences=1)
    regressor = net.bb_regressor
    modulation = regressor.get_modulation(list(net.extract_backbone_features(train[0]).values()), bb[0])
    feat = regressor.get_iou_feat(list(net.extract_backbone_features(test[0]).values()))
    boxes = props[0].clone().requires_grad_(True)
    regressor.predict_iou(modulation, feat, boxes).sum().backward()
    assert boxes.grad is not None and torch.isfinite(boxes.grad).all() and boxes.grad.abs().sum() > 0


@pytest.mark.parametrize("frozen_batch_norm", ["train", "eval"])
def test_frozen_backbone_stays_frozen(frozen_batch_norm):
    net = atom_resnet18(backbone_pretrained=False, frozen_batch_norm=frozen_batch_norm)
    assert not any(p.requires_grad for p in net.feature_extractor.parameters())
    assert all(p.requires_grad for p in net.bb_regressor.parameters())
    net.train()
    # As published ("train"), the frozen backbone's BatchNorm layers train; "eval" keeps them in eval mode.
    assert net.training and net.bb_regressor.training
    assert net.feature_extractor.training == (frozen_batch_norm == "train")
    before = net.feature_extractor.bn1.running_mean.clone()
    train, test, bb, props = make_inputs(num_test=1, sequences=2, size=64)
    iou = net(train, test, bb * 0.6, props * 0.6)
    iou.sum().backward()
    assert torch.equal(net.feature_extractor.bn1.running_mean, before) == (frozen_batch_norm == "eval")
    assert all(p.grad is None for p in net.feature_extractor.parameters())
    assert net.bb_regressor.iou_predictor.weight.grad is not None
    assert net.bb_regressor.fc34_3r[1].num_batches_tracked.item() == 1


def test_trainable_backbone_learns():
    net = atom_resnet_tiny(extractor_grad=True).train()
    assert net.feature_extractor.training
    train, test, bb, props = make_inputs(num_test=1, sequences=2)
    net(train, test, bb, props).sum().backward()
    assert net.feature_extractor.conv1.weight.grad is not None
    assert net.feature_extractor.conv1.weight.grad.abs().sum() > 0


def test_registry():
    assert {"atom_resnet18", "atom_resnet50", "atom_resnet_tiny"} <= set(NETWORK_CONSTRUCTORS)
    net = build_network("atom_resnet_tiny", {"width": 8}, iou_input_dim=(32, 32))
    assert net.constructor == {"name": "atom_resnet_tiny",
                               "kwargs": {"width": 8, "iou_input_dim": (32, 32), "iou_inter_dim": (64, 64),
                                          "backbone_pretrained": False, "extractor_grad": True,
                                          "frozen_batch_norm": "train", "channels_last": False}}
    rebuilt = build_network(net.constructor["name"], net.constructor["kwargs"])
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in net.state_dict().items()}
    with pytest.raises(UnknownNetworkError, match="atom_resnet18"):
        build_network("dimpnet50")
    with pytest.raises(TypeError, match="widht"):
        build_network("atom_resnet_tiny", widht=8)
