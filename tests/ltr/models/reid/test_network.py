"""The ReID networks: mmtracking's structure, parameter names and shapes, eval/training outputs,
the head's initialisation and embed_boxes."""

import math

import pytest
import torch

from ltr.models.registry import build_network
from ltr.models.reid import crop_network_input, reid_r50, reid_tiny


@pytest.fixture(scope="module")
def r50():
    torch.manual_seed(0)
    return reid_r50()


def test_r50_has_mmtrackings_names_and_shapes(r50):
    shapes = {key: tuple(value.shape) for key, value in r50.state_dict().items()}
    assert shapes["backbone.conv1.weight"] == (64, 3, 7, 7)
    assert shapes["backbone.bn1.running_mean"] == (64,)
    assert shapes["backbone.layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert shapes["backbone.layer1.0.downsample.1.weight"] == (256,)
    assert shapes["backbone.layer4.2.conv3.weight"] == (2048, 512, 1, 1)
    assert shapes["backbone.layer2.0.conv2.weight"] == (128, 128, 3, 3)  # the stride is in the 3x3 ('pytorch')
    assert r50.backbone.layer2[0].conv2.stride == (2, 2)
    assert shapes["head.fcs.0.fc.weight"] == (1024, 2048) and shapes["head.fcs.0.bn.running_var"] == (1024,)
    assert shapes["head.fc_out.weight"] == (128, 1024) and shapes["head.bn.weight"] == (128,)
    assert shapes["head.classifier.weight"] == (380, 128)
    assert not any(key.startswith("backbone.fc") for key in shapes)
    assert r50.crop_size == (256, 128)


def test_r50_outputs(r50):
    crops = torch.randn(2, 3, 256, 128)
    r50.eval()
    with torch.no_grad():
        embeddings = r50(crops)
        assert embeddings.shape == (2, 128)
        r50.train()
        trained_embeddings, logits = r50(crops)
    assert trained_embeddings.shape == (2, 128) and logits.shape == (2, 380)
    r50.eval()


def test_the_embedding_is_taken_before_the_heads_batchnorm():
    torch.manual_seed(1)
    net = reid_tiny(num_classes=5).eval()
    crops = torch.randn(3, 3, 64, 32)
    with torch.no_grad():
        before = net(crops)
        net.head.bn.weight.fill_(7.0)
        net.head.bn.running_mean.fill_(3.0)
        assert torch.equal(net(crops), before)  # the tracker's embedding does not pass head.bn
        embeddings, logits = net(crops, with_logits=True)
        expected = net.head.classifier(net.head.bn(embeddings))  # the classifier scores do
    assert torch.equal(embeddings, before) and torch.allclose(logits, expected)


def test_head_initialisation_follows_mmcv():
    torch.manual_seed(2)
    head = reid_r50(num_classes=200).head
    assert head.fcs[0].fc.weight.std().item() == pytest.approx(math.sqrt(2 / 1024), rel=0.02)  # Kaiming fan_out
    assert head.fc_out.weight.std().item() == pytest.approx(0.01, rel=0.02)
    assert head.classifier.weight.std().item() == pytest.approx(0.01, rel=0.05)
    for layer in (head.fcs[0].fc, head.fc_out, head.classifier):
        assert not layer.bias.any()


def test_tiny_is_registered_small_and_embeds_boxes():
    torch.manual_seed(3)
    net = build_network("reid_tiny", num_classes=7).eval()
    assert net.constructor["name"] == "reid_tiny" and net.crop_size == (64, 32)
    assert sum(p.numel() for p in net.parameters()) < 1_000_000
    batch = torch.randn(1, 3, 96, 128)
    boxes = torch.tensor([[10.0, 5.0, 40.0, 80.0], [100.3, 20.0, 127.9, 95.0]])
    embeddings = net.embed_boxes(batch, boxes, image_size=(90, 120))
    expected = net(crop_network_input(batch, boxes, (64, 32), image_size=(90, 120)))
    assert embeddings.shape == (2, 128) and torch.allclose(embeddings, expected)
    assert net.embed_boxes(batch, torch.zeros((0, 4))).shape == (0, 128)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="num_classes"):
        reid_tiny(num_classes=0)
    with pytest.raises(ValueError, match="crop_size"):
        reid_tiny(crop_size=(64,))
