"""FairMOT's registered networks: shapes, recorded constructors, state_dict round trips,
FairMOT's initialisation rules (heads, bilinear upsampling) and input errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ltr.models.fairmot.dla import fill_up_weights
from ltr.models.fairmot.network import ARCH_CONSTRUCTORS, build_fairmot
from ltr.models.registry import build_network, known_networks

CASES = [  # constructor, kwargs, (H, W)
    ("fairmot_tiny", {}, (64, 64)),
    ("fairmot_tiny", {"deformable": True, "reid_dim": 16, "ltrb": False, "num_classes": 2}, (32, 96)),
    ("fairmot_dla_34", {"head_conv": 32}, (64, 32)),
    ("fairmot_dlaconv_34", {"head_conv": 32, "reid_dim": 64}, (32, 64)),
    ("fairmot_resdcn_34", {"head_conv": 32}, (32, 32)),
    ("fairmot_resdcn_50", {"head_conv": 32}, (32, 32)),
]


@pytest.mark.parametrize("name,kwargs,size", CASES)
def test_constructor_builds_heads_and_round_trips(name, kwargs, size):
    assert name in known_networks()
    torch.manual_seed(0)
    net = build_network(name, kwargs).eval()
    recorded = net.constructor
    assert recorded["name"] == name and all(recorded["kwargs"][key] == value for key, value in kwargs.items())
    assert net.down_ratio == 4
    images = torch.rand(2, 3, *size)
    with torch.no_grad():
        outputs = net(images)
    args = recorded["kwargs"]
    h, w = size[0] // 4, size[1] // 4
    assert {key: tuple(value.shape) for key, value in outputs.items()} == {
        "hm": (2, args["num_classes"], h, w), "wh": (2, 4 if args["ltrb"] else 2, h, w),
        "id": (2, args["reid_dim"], h, w), "reg": (2, 2, h, w)}
    torch.manual_seed(1)
    copy = build_network(recorded["name"], recorded["kwargs"]).eval()
    copy.load_state_dict(net.state_dict(), strict=True)
    with torch.no_grad():
        again = copy(images)
    for key in outputs:
        torch.testing.assert_close(again[key], outputs[key])


def test_tiny_is_small():
    net = build_network("fairmot_tiny")
    assert sum(p.numel() for p in net.parameters()) < 1_000_000
    assert not any(isinstance(m, torch.nn.Module) and type(m).__name__ == "DCN" for m in net.modules())
    assert any(type(m).__name__ == "DCN" for m in build_network("fairmot_tiny", deformable=True).modules())


def test_build_fairmot_maps_fairmots_arch_strings():
    assert set(ARCH_CONSTRUCTORS) == {"dla_34", "dlaconv_34", "resdcn_34", "resdcn_50", "tiny"}
    net = build_fairmot("tiny", reid_dim=8, head_conv=-1)  # FairMOT's -1: 256
    assert net.constructor == {"name": "fairmot_tiny", "kwargs": {"num_classes": 1, "reid_dim": 8, "head_conv": 256,
                                                                  "ltrb": True, "deformable": False}}
    with pytest.raises(ValueError, match="unknown FairMOT --arch 'dla_60'; pick one of dla_34"):
        build_fairmot("dla_60")


def test_heads_follow_fairmots_initialisation():
    """hm's last bias -2.19; DLA: other heads' biases 0, weights PyTorch's default; ResNet-DCN:
    other heads' weights normal(0, 0.001)."""
    torch.manual_seed(0)
    dla = build_network("fairmot_tiny", head_conv=64)
    assert torch.all(dla.hm[2].bias == -2.19)
    for head in ("wh", "id", "reg"):
        module = getattr(dla, head)
        assert torch.all(module[0].bias == 0) and torch.all(module[2].bias == 0)
        assert module[0].weight.std() > 0.01  # PyTorch's default, not FairMOT-resnet's 0.001
    torch.manual_seed(0)
    resnet = build_network("fairmot_resdcn_34", head_conv=64)
    assert torch.all(resnet.hm[2].bias == -2.19)
    assert 0.0008 < float(resnet.id[0].weight.detach().std()) < 0.0012 and torch.all(resnet.id[2].bias == 0)
    assert resnet.deconv_layers[3].groups == 1 and dla.ida_up.up_1.groups == dla.ida_up.up_1.out_channels


def test_fill_up_weights_hand_values():
    """Kernel 4 (f = 2, c = 0.75): rows 0.25, 0.75, 0.75, 0.25; kernel 8 (f = 4, c = 0.875):
    1 - |i/4 - 0.875| = 0.125, 0.375, ..., 0.875, 0.875, ..., 0.125."""
    up = nn.ConvTranspose2d(3, 3, 4, stride=2, padding=1, groups=3, bias=False)
    fill_up_weights(up)
    profile = torch.tensor([0.25, 0.75, 0.75, 0.25])
    for channel in range(3):
        torch.testing.assert_close(up.weight[channel, 0], profile[:, None] * profile[None, :])
    up8 = nn.ConvTranspose2d(1, 1, 8, stride=4, padding=2, bias=False)
    fill_up_weights(up8)
    profile8 = torch.tensor([0.125, 0.375, 0.625, 0.875, 0.875, 0.625, 0.375, 0.125])
    torch.testing.assert_close(up8.weight[0, 0], profile8[:, None] * profile8[None, :])
    # a constant map stays constant inside after the bilinear 2x upsampling
    out = up(torch.ones(1, 3, 4, 4))
    torch.testing.assert_close(out[:, :, 1:-1, 1:-1], torch.ones(1, 3, 6, 6))


def test_bad_input_is_one_clear_error():
    net = build_network("fairmot_tiny")
    with pytest.raises(ValueError, match="multiples of 32, got 48x64"):
        net(torch.rand(1, 3, 48, 64))
    with pytest.raises(ValueError, match=r"images \(B, 3, H, W\), got shape \(1, 1, 64, 64\)"):
        net(torch.rand(1, 1, 64, 64))


def test_a_toolkit_checkpoint_rebuilds_fairmot_tiny(tmp_path):
    from ltr.models.loading import load_network, save_checkpoint

    torch.manual_seed(0)
    net = build_network("fairmot_tiny", reid_dim=16, deformable=True)
    path = save_checkpoint(tmp_path / "fairmot_tiny.pth.tar",
                           {"epoch": 1, "net": net.state_dict(), "constructor": net.constructor,
                            "net_type": "DLASeg", "actor_type": "FairMOTActor"})
    rebuilt = load_network(path).eval()
    assert rebuilt.constructor == net.constructor
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected, again = net.eval()(images), rebuilt(images)
    for key in expected:
        assert torch.equal(again[key], expected[key])
