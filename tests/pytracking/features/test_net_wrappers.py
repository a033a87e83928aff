"""NetWrapper: lazy loading from network_path, normalisation inside (the checkpoint's, else
ImageNet's); AtomNetWrapper: the IoU predictor's features; extract_multiscale batches the
scales."""

import numpy as np
import pytest
import torch

from ltr.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from ltr.models.loading import save_checkpoint
from ltr.models.tracking.atom import atom_resnet_tiny
from pytracking.features.extractor import extract_multiscale
from pytracking.features.net_wrappers import NetWrapper
from pytracking.features.preprocessing import sample_patch
from pytracking.tracker.atom.network import AtomNetWrapper


@pytest.fixture(autouse=True)
def network_folder(clean_env, monkeypatch):
    """Networks under tmp_path/networks, in the isolated environment."""
    monkeypatch.setenv("TRACKING_NETWORK_PATH", str(clean_env / "networks"))
    return clean_env / "networks"


@pytest.fixture
def tiny(tmp_path):
    """A tiny ATOM network saved as networks/tiny.pth.tar, and the network itself (eval)."""
    torch.manual_seed(0)
    net = atom_resnet_tiny(width=4, iou_input_dim=(8, 8), iou_inter_dim=(8, 8))
    # Non-trivial BatchNorm statistics, so that eval mode matters.
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    save_checkpoint(tmp_path / "networks" / "tiny.pth.tar",
                    {"epoch": 1, "net": net.state_dict(), "constructor": net.constructor})
    return net.eval()


def reference_features(net, images):
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        return net.extract_backbone_features((images / 255 - mean) / std)


def test_loads_lazily_and_normalises_inside(tiny):
    wrapper = NetWrapper("tiny.pth.tar", device="cpu")
    assert wrapper._net is None
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 255
    features = wrapper.extract_backbone(images)
    assert list(features) == ["layer2", "layer3"]
    expected = reference_features(tiny, images)
    for layer in ("layer2", "layer3"):
        torch.testing.assert_close(features[layer], expected[layer], atol=1e-5, rtol=1e-5)
    assert features["layer3"].shape == (2, 16, 4, 4)
    assert not wrapper.net.training and not any(p.requires_grad for p in wrapper.net.parameters())
    assert list(wrapper.extract_backbone(images, ["layer3"])) == ["layer3"]


def test_without_speed_ups_the_features_are_the_published_computation_bit_for_bit(tiny):
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(2)) * 255
    expected = reference_features(tiny, images)
    exact = NetWrapper.from_network(tiny, device="cpu", fold_batch_norm=False, channels_last=False)
    assert not exact.channels_last and not exact.fold_batch_norm
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in exact.net.modules())
    for layer, value in exact.extract_backbone(images).items():
        assert torch.equal(value, expected[layer]), layer
    fast = NetWrapper.from_network(tiny, device="cpu")
    assert fast.channels_last and not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.net.modules())
    for layer, value in fast.extract_backbone(images).items():
        torch.testing.assert_close(value, expected[layer], atol=1e-4, rtol=1e-4)


def test_iou_branch(tiny):
    wrapper = AtomNetWrapper("tiny.pth.tar", device="cpu")
    images = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2)) * 255
    features = wrapper.extract_backbone(images)
    iou_feat = wrapper.iou_features(features)
    expected_feat = tiny.bb_regressor.get_iou_feat([features["layer2"], features["layer3"]])
    for got, want in zip(iou_feat, expected_feat):
        torch.testing.assert_close(got, want)
    box = torch.tensor([[20.0, 18.0, 24.0, 28.0]])
    modulation = wrapper.iou_modulation(features, box)
    proposals = torch.tensor([[[20.0, 18.0, 24.0, 28.0], [10.0, 12.0, 30.0, 20.0]]], requires_grad=True)
    iou = wrapper.predict_iou(modulation, iou_feat, proposals)
    assert iou.shape == (1, 2)
    with torch.no_grad():
        expected = tiny.bb_regressor.predict_iou(list(modulation), list(iou_feat), proposals)
    torch.testing.assert_close(iou.detach(), expected)
    # Refinement differentiates with respect to the boxes.
    iou.sum().backward()
    assert proposals.grad is not None and proposals.grad.abs().sum() > 0


def test_iou_features_in_a_window_match_the_whole_map(tiny):
    wrapper = AtomNetWrapper("tiny.pth.tar", device="cpu")
    images = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(3)) * 255
    features = wrapper.extract_backbone(images)
    full = wrapper.iou_features(features)
    window = (40 / 128, 32 / 128, 96 / 128, 88 / 128)  # pixels 40..96 x 32..88
    part = wrapper.iou_features(features, window)
    # layer2 (16x16, stride 8): cells 5..11 x 4..10 computed exactly, the rest 0.
    assert part[0].shape == full[0].shape
    torch.testing.assert_close(part[0][..., 4:11, 5:12], full[0][..., 4:11, 5:12], atol=1e-5, rtol=1e-5)
    assert part[0][..., :4, :].abs().sum() == 0 and part[0][..., :, 12:].abs().sum() == 0
    # layer3 (8x8, stride 16): cells 2..5 x 2..5.
    torch.testing.assert_close(part[1][..., 2:6, 2:6], full[1][..., 2:6, 2:6], atol=1e-5, rtol=1e-5)
    assert part[1][..., 6:, :].abs().sum() == 0
    # Boxes well inside the window get the predictions (and gradients) of the whole map.
    modulation = wrapper.iou_modulation(features, torch.tensor([[56.0, 48.0, 24.0, 24.0]]))
    boxes = torch.tensor([[[56.0, 48.0, 24.0, 24.0], [58.0, 50.0, 18.0, 22.0]]])
    expected_boxes = boxes.clone().requires_grad_(True)
    expected = wrapper.predict_iou(modulation, full, expected_boxes)
    expected.sum().backward()
    got_boxes = boxes.clone().requires_grad_(True)
    got = wrapper.predict_iou_modulated(wrapper.modulated_iou_features(modulation, part), got_boxes)
    got.sum().backward()
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_boxes.grad, expected_boxes.grad, atol=1e-5, rtol=1e-4)
    # A window at the map's edge is cut to it and still exact there.
    edge = wrapper.iou_features(features, (-0.2, -0.2, 0.3, 0.3))
    torch.testing.assert_close(edge[0][..., :5, :5], full[0][..., :5, :5], atol=1e-5, rtol=1e-5)


def test_bfloat16_autocast_gives_float32_features_close_to_float32(tiny):
    exact = AtomNetWrapper("tiny.pth.tar", device="cpu")
    fast = AtomNetWrapper("tiny.pth.tar", device="cpu", amp="bfloat16")
    images = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(4)) * 255
    want, got = exact.extract_backbone(images), fast.extract_backbone(images)
    for layer in want:
        assert got[layer].dtype == torch.float32
        error = (got[layer] - want[layer]).norm() / want[layer].norm()
        assert 0 < error < 0.05  # bfloat16 keeps 8 bits of mantissa: close, not equal
    for window in (None, (0.2, 0.2, 0.8, 0.8)):
        for got_map, want_map in zip(fast.iou_features(got, window), exact.iou_features(want, window)):
            # Channels-last on the CPU: the layout Precise RoI Pooling's kernels read fastest.
            assert got_map.dtype == torch.float32 and got_map.is_contiguous(memory_format=torch.channels_last)
            assert (got_map - want_map).norm() / want_map.norm() < 0.05
    with pytest.raises(ValueError, match="amp"):
        NetWrapper("tiny.pth.tar", device="cpu", amp="int8")


def test_the_checkpoints_normalisation_is_used(tiny, tmp_path):
    """A network trained with another normalisation is fed images normalised with it."""
    mean, std = [0.25, 0.5, 0.75], [0.5, 0.125, 0.25]
    save_checkpoint(tmp_path / "networks" / "other.pth.tar",
                    {"epoch": 1, "net": tiny.state_dict(), "constructor": tiny.constructor,
                     "input_normalization": {"mean": mean, "std": std}})
    wrapper = NetWrapper("other.pth.tar", device="cpu", fold_batch_norm=False, channels_last=False)
    assert wrapper.input_normalization == {"mean": mean, "std": std}
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(5)) * 255
    with torch.no_grad():
        expected = tiny.extract_backbone_features(
            (images / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1))
    for layer, value in wrapper.extract_backbone(images).items():
        assert torch.equal(value, expected[layer]), layer
    # A checkpoint that records none (written before it was recorded): ImageNet's.
    legacy = NetWrapper("tiny.pth.tar", device="cpu")
    assert legacy.input_normalization == {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    # The generic wrapper has no head calls of ATOM's.
    assert not hasattr(legacy, "iou_features") and hasattr(AtomNetWrapper, "iou_features")


def test_paths(tiny, tmp_path):
    absolute = NetWrapper(tmp_path / "networks" / "tiny.pth.tar", device="cpu")
    assert absolute.initialize().net is absolute.net
    with pytest.raises(FileNotFoundError) as error:
        NetWrapper("missing.pth", device="cpu").initialize()
    message = str(error.value)
    assert str(tmp_path / "networks" / "missing.pth") in message
    assert "network_path" in message and "TRACKING_NETWORK_PATH" in message
    with pytest.raises(FileNotFoundError, match="elsewhere.pth"):
        NetWrapper(tmp_path / "elsewhere.pth", device="cpu").net


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_use_gpu_without_cuda_is_refused():
    with pytest.raises(RuntimeError, match="use_gpu=False"):
        NetWrapper("tiny.pth.tar", use_gpu=True)
    assert NetWrapper("tiny.pth.tar").device == torch.device("cpu")


def test_extract_multiscale(tiny):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    wrapper = NetWrapper.from_network(tiny, device="cpu")
    features, windows = extract_multiscale(image, (80.0, 60.0), [0.9, 1.0, 1.1], 70.0, 64, wrapper)
    assert features["layer3"].shape == (3, 16, 4, 4) and features["layer2"].shape == (3, 8, 8, 8)
    assert [w.side for w in windows] == pytest.approx([63.0, 70.0, 77.0])
    patch, _ = sample_patch(image, (80.0, 60.0), 70.0, 64)
    single = wrapper.extract_backbone(patch)
    torch.testing.assert_close(features["layer3"][1:2], single["layer3"], atol=1e-5, rtol=1e-5)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(tiny):
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(3)) * 255
    cpu = AtomNetWrapper("tiny.pth.tar", device="cpu")
    gpu = AtomNetWrapper("tiny.pth.tar", use_gpu=True)
    assert gpu.device.type == "cuda"
    features_cpu, features_gpu = cpu.extract_backbone(images), gpu.extract_backbone(images)
    assert features_gpu["layer3"].device.type == "cuda"
    torch.testing.assert_close(features_gpu["layer3"].cpu(), features_cpu["layer3"], atol=1e-3, rtol=1e-3)
    box = torch.tensor([[20.0, 18.0, 24.0, 28.0]])
    proposals = box.unsqueeze(0)
    iou_cpu = cpu.predict_iou(cpu.iou_modulation(features_cpu, box), cpu.iou_features(features_cpu), proposals)
    iou_gpu = gpu.predict_iou(gpu.iou_modulation(features_gpu, box), gpu.iou_features(features_gpu),
                              proposals.cuda())
    torch.testing.assert_close(iou_gpu.cpu(), iou_cpu, atol=1e-3, rtol=1e-3)
