"""Backbones: output shapes, strides and channels, only the needed layers computed, torchvision
key compatibility and outputs, ImageNet weights read from the environment's folder."""

import os

import pytest
import torch
import torchvision

from ltr.models.backbone import BACKBONES, LAYERS, PretrainedWeightsMissing, resnet18, resnet_tiny

# family -> (constructor kwargs, channels per layer, torchvision constructor or None)
FAMILIES = {
    "resnet18": ({}, {"conv1": 64, "layer1": 64, "layer2": 128, "layer3": 256, "layer4": 512},
                 torchvision.models.resnet18),
    "resnet50": ({}, {"conv1": 64, "layer1": 256, "layer2": 512, "layer3": 1024, "layer4": 2048},
                 torchvision.models.resnet50),
    "resnet_tiny": ({"width": 16}, {"conv1": 16, "layer1": 16, "layer2": 32, "layer3": 64, "layer4": 128}, None),
}
STRIDES = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """An environment with its own pretrained_networks folder and no admin/local.py."""
    folder = tmp_path / "pretrained"
    folder.mkdir()
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_PRETRAINED_NETWORKS", str(folder))
    return folder


def test_every_family_is_tested():
    assert set(FAMILIES) == set(BACKBONES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_backbone_family(family, isolated_env):
    kwargs, channels, torchvision_constructor = FAMILIES[family]
    constructor = BACKBONES[family]
    torch.manual_seed(0)
    model = constructor(output_layers=LAYERS, pretrained=False, **kwargs).eval()
    image = torch.randn(1, 3, 64, 64)

    # Shapes, channels and strides of every layer.
    with torch.no_grad():
        outputs = model(image)
    assert list(outputs) == list(LAYERS)
    for layer, feature in outputs.items():
        assert model.out_channels(layer) == channels[layer]
        assert model.stride(layer) == STRIDES[layer]
        assert feature.shape == (1, channels[layer], 64 // STRIDES[layer], 64 // STRIDES[layer])

    # Only the layers up to the deepest requested one run.
    ran = []
    for name in LAYERS[1:]:
        getattr(model, name).register_forward_hook(lambda module, args, output, name=name: ran.append(name))
    with torch.no_grad():
        partial = model(image, ("layer2", "conv1"))
    assert list(partial) == ["conv1", "layer2"] and ran == ["layer1", "layer2"]
    assert torch.equal(partial["layer2"], outputs["layer2"])
    with pytest.raises(ValueError, match="layer9"):
        model(image, ("layer9",))

    # pretrained=True reads <pretrained_networks>/<name>*.pth: missing, then present.
    with pytest.raises(PretrainedWeightsMissing) as missing:
        constructor(pretrained=True, **kwargs)
    assert str(isolated_env) in str(missing.value) and "TRACKING_PRETRAINED_NETWORKS" in str(missing.value)
    stem = "resnet_tiny_w16" if family == "resnet_tiny" else family
    torch.save(model.state_dict(), isolated_env / f"{stem}.pth")
    loaded = constructor(output_layers=("layer3",), pretrained=True, **kwargs).eval()
    with torch.no_grad():
        assert torch.equal(loaded(image)["layer3"], outputs["layer3"])

    if torchvision_constructor is None:
        return
    # Torchvision's keys and shapes (classifier included, as pytracking's ResNet has it) ...
    reference = torchvision_constructor(weights=None).eval()
    expected = {key: value.shape for key, value in reference.state_dict().items()}
    assert {key: value.shape for key, value in model.state_dict().items()} == expected
    # ... its weights load, and every layer computes what torchvision computes.
    fresh = constructor(output_layers=LAYERS, **kwargs).eval()
    fresh.load_state_dict(reference.state_dict())
    with torch.no_grad():
        ours = fresh(image)
        x = reference.relu(reference.bn1(reference.conv1(image)))
        torch.testing.assert_close(ours["conv1"], x)
        x = reference.maxpool(x)
        for name in LAYERS[1:]:
            x = getattr(reference, name)(x)
            torch.testing.assert_close(ours[name], x)


def test_torchvision_file_name_is_accepted_and_missing_folder_explained(isolated_env, monkeypatch, tmp_path):
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), isolated_env / "resnet18-f37072fd.pth")
    resnet18(pretrained=True)
    # A model without the classifier takes the same file.
    assert resnet18(pretrained=True, num_classes=None).fc is None

    monkeypatch.setenv("TRACKING_PRETRAINED_NETWORKS", str(tmp_path / "absent"))
    with pytest.raises(PretrainedWeightsMissing) as missing:
        resnet18(pretrained=True)
    message = str(missing.value)
    for needed in ("absent", "resnet18.pth", "pretrained_networks", "TRACKING_PRETRAINED_NETWORKS",
                   "backbone_pretrained=False"):
        assert needed in message
    assert isinstance(missing.value, FileNotFoundError)


def test_wrong_weights_file_is_named(isolated_env):
    torch.save(resnet_tiny(width=8).state_dict(), isolated_env / "resnet18.pth")
    with pytest.raises(RuntimeError, match="resnet18.pth"):
        resnet18(pretrained=True)
