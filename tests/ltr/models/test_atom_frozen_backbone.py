"""ATOM's frozen backbone in training: its BatchNorm layers in train mode as published (batch
statistics, running statistics updated, weights untouched) or kept in eval mode, channels-last
features equal to contiguous ones, and old constructor arguments (checkpoints) still building."""

import copy

import pytest
import torch

from ltr.models.registry import build_network
from ltr.models.tracking.atom import ATOMnet, atom_resnet_tiny


def make_inputs(sequences=2, proposals=4, size=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    train = 2 + 3 * torch.randn(1, sequences, 3, size, size, generator=generator)
    test = 2 + 3 * torch.randn(1, sequences, 3, size, size, generator=generator)
    bb = torch.tensor([[[10.0, 12.0, 30.0, 26.0]] * sequences])
    props = bb[:, :, None, :] + torch.randn(1, sequences, proposals, 4, generator=generator)
    return train, test, bb, props


def frozen_net(frozen_batch_norm, channels_last=False):
    torch.manual_seed(0)
    net = atom_resnet_tiny(width=8, extractor_grad=False, frozen_batch_norm=frozen_batch_norm,
                           channels_last=channels_last)
    bn1 = net.feature_extractor.bn1
    with torch.no_grad():  # a BatchNorm whose normalisation shows: scale 2, shift 0.5
        bn1.weight.fill_(2.0)
        bn1.bias.fill_(0.5)
    return net


def bn1_outputs(net, inputs):
    """bn1's outputs of each backbone call of one training forward, backward and Adam step."""
    outputs = []
    handle = net.feature_extractor.bn1.register_forward_hook(lambda m, i, o: outputs.append((i[0].clone(), o.clone())))
    optimizer = torch.optim.Adam(net.bb_regressor.parameters(), lr=1e-2)
    try:
        net.train()
        net(*inputs).square().mean().backward()
        optimizer.step()
    finally:
        handle.remove()
    return outputs


def test_train_mode_batch_norm_uses_batch_statistics_and_updates_running_ones():
    net = frozen_net("train")
    backbone = net.feature_extractor
    weights = {name: value.clone() for name, value in backbone.state_dict().items()
               if not name.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    mean0, var0 = backbone.bn1.running_mean.clone(), backbone.bn1.running_var.clone()
    outputs = bn1_outputs(net, make_inputs())
    assert net.feature_extractor.training
    assert len(outputs) == 2  # train images, then test images: one call each
    for bn_in, bn_out in outputs:
        # Normalised by the batch's own statistics: per channel mean = shift 0.5, std = scale 2.
        torch.testing.assert_close(bn_out.mean(dim=(0, 2, 3)), torch.full((8,), 0.5), atol=1e-4, rtol=0)
        torch.testing.assert_close(bn_out.var(dim=(0, 2, 3), unbiased=False), torch.full((8,), 4.0),
                                   atol=1e-3, rtol=1e-3)
    # Running statistics: two momentum-0.1 updates, with the unbiased batch variance.
    mean, var = mean0, var0
    for bn_in, _ in outputs:
        mean = 0.9 * mean + 0.1 * bn_in.mean(dim=(0, 2, 3))
        var = 0.9 * var + 0.1 * bn_in.var(dim=(0, 2, 3), unbiased=True)
    torch.testing.assert_close(backbone.bn1.running_mean, mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(backbone.bn1.running_var, var, atol=1e-5, rtol=1e-5)
    assert backbone.bn1.num_batches_tracked.item() == 2
    assert all(torch.equal(backbone.state_dict()[name], value) for name, value in weights.items())
    assert all(p.grad is None for p in backbone.parameters())


def test_eval_mode_batch_norm_uses_running_statistics_and_keeps_them():
    net = frozen_net("eval")
    backbone = net.feature_extractor
    state = copy.deepcopy(backbone.state_dict())
    outputs = bn1_outputs(net, make_inputs())
    assert net.training and not backbone.training
    bn1 = backbone.bn1
    for bn_in, bn_out in outputs:
        expected = ((bn_in - bn1.running_mean[:, None, None]) / torch.sqrt(bn1.running_var[:, None, None] + bn1.eps)
                    * 2.0 + 0.5)
        torch.testing.assert_close(bn_out, expected)
    assert all(torch.equal(backbone.state_dict()[name], value) for name, value in state.items())


def test_both_choices_are_the_same_network_in_eval_mode():
    inputs = make_inputs()
    with torch.no_grad():
        trained = frozen_net("train").eval()(*inputs)
        kept = frozen_net("eval").eval()(*inputs)
    torch.testing.assert_close(trained, kept, rtol=0, atol=0)


def test_trainable_backbone_is_unaffected():
    for choice in ("train", "eval"):
        net = atom_resnet_tiny(width=8, extractor_grad=True, frozen_batch_norm=choice).train()
        assert net.feature_extractor.training
        assert all(p.requires_grad for p in net.feature_extractor.parameters())


def test_unknown_choice_is_one_clear_error():
    with pytest.raises(ValueError, match="frozen_batch_norm.*'frozen'"):
        atom_resnet_tiny(width=8, frozen_batch_norm="frozen")


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_channels_last_features_equal_contiguous_ones(mode):
    contiguous, channels_last = frozen_net("train"), frozen_net("train", channels_last=True)
    channels_last.load_state_dict(contiguous.state_dict())
    assert channels_last.feature_extractor.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert contiguous.state_dict().keys() == channels_last.state_dict().keys()
    images = make_inputs()[0][0]
    contiguous.train(mode == "train")
    channels_last.train(mode == "train")
    expected = contiguous.extract_backbone_features(images)
    features = channels_last.extract_backbone_features(images)
    for layer in ("layer2", "layer3"):
        assert features[layer].is_contiguous()
        torch.testing.assert_close(features[layer], expected[layer], rtol=1e-4, atol=1e-4)
    for name, value in contiguous.state_dict().items():  # the same running statistics, where they moved
        torch.testing.assert_close(channels_last.state_dict()[name], value, rtol=1e-5, atol=1e-5)


def test_constructor_arguments_without_the_new_choices_still_build():
    """Checkpoints written before ``frozen_batch_norm`` and ``channels_last`` existed name only
    the older arguments: they rebuild with the published behaviour and load their weights."""
    old = build_network("atom_resnet_tiny", {"width": 8, "iou_input_dim": (64, 64), "iou_inter_dim": (64, 64),
                                             "backbone_pretrained": False, "extractor_grad": False})
    assert isinstance(old, ATOMnet) and old.frozen_batch_norm == "train" and not old.channels_last
    rebuilt = build_network("atom_resnet_tiny", width=8, extractor_grad=False, channels_last=True)
    rebuilt.load_state_dict(old.state_dict())
    assert all(torch.equal(rebuilt.state_dict()[name], value) for name, value in old.state_dict().items())
