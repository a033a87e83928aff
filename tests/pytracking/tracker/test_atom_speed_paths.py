"""The speed-ups of ATOM's frame that keep the published arithmetic: the IoU head's backward
pass written out (no autograd graph) gives autograd's IoU and box gradient bit for bit, and a
tracker run with it gives the same boxes as one with autograd."""

import numpy as np
import pytest
import torch

from external.PreciseRoIPooling import compiled_available, prroi_pool2d, prroi_pool2d_box_gradient
from ltr.data.boxes import xywh_to_xyxy, xyxy_gradient_to_xywh
from ltr.models.tracking.atom import atom_resnet_tiny
from pytracking.tracker.atom.box_refinement import RefinementParams, autograd_iou_and_gradient, optimize_boxes
from pytracking.tracker.atom.network import AtomNetWrapper

from .conftest import moving_square, randomise_iou_batch_norm, track_with_atom


def _network(fold_batch_norm: bool) -> AtomNetWrapper:
    torch.manual_seed(0)
    # Batch statistics and affine parameters away from 0 and 1, so that BatchNorm's backward matters.
    net = randomise_iou_batch_norm(atom_resnet_tiny())
    return AtomNetWrapper.from_network(net, device="cpu", fold_batch_norm=fold_batch_norm)


def _inputs(dtype=torch.float32):
    generator = torch.Generator().manual_seed(1)
    modulated = (torch.randn(1, 64, 20, 20, generator=generator, dtype=dtype),
                 torch.randn(1, 64, 10, 10, generator=generator, dtype=dtype))
    boxes = (torch.tensor([50.0, 60.0, 40.0, 30.0], dtype=dtype)
             + 6 * torch.randn(7, 4, generator=generator, dtype=dtype)).view(1, 7, 4)
    return modulated, boxes


@pytest.mark.parametrize("fold_batch_norm", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_written_out_backward_equals_autograd_bit_for_bit(fold_batch_norm, dtype, monkeypatch):
    network = _network(fold_batch_norm)
    if dtype == torch.float64:
        network.net.double()
    modulated, boxes = _inputs(dtype)
    calls = []
    import pytracking.tracker.atom.network as network_module
    box_gradient = network_module.prroi_pool2d_box_gradient
    monkeypatch.setattr(network_module, "prroi_pool2d_box_gradient",
                        lambda *a, **k: calls.append(1) or box_gradient(*a, **k))
    iou, gradient = network.predict_iou_and_gradient(modulated, boxes)
    assert calls, "the written-out path was not taken"
    expected_iou, expected_gradient = autograd_iou_and_gradient(
        lambda b: network.predict_iou_modulated(modulated, b))(boxes)
    assert iou.shape == (1, 7) and gradient.shape == (1, 7, 4)
    assert torch.equal(iou, expected_iou)
    assert torch.equal(gradient, expected_gradient)
    assert gradient.abs().max() > 0


def test_other_heads_take_autograd(monkeypatch):
    network = _network(False)
    network.net.bb_regressor.fc3_rt.relu = None  # not the published block: no written-out backward
    modulated, boxes = _inputs()
    import pytracking.tracker.atom.network as network_module
    monkeypatch.setattr(network_module, "prroi_pool2d_box_gradient", None)  # would fail if called
    iou, gradient = network.predict_iou_and_gradient(modulated, boxes)
    expected_iou, expected_gradient = autograd_iou_and_gradient(
        lambda b: network.predict_iou_modulated(modulated, b))(boxes)
    assert torch.equal(iou, expected_iou) and torch.equal(gradient, expected_gradient)


def test_optimize_boxes_steps_the_same_with_either_gradient():
    network = _network(False)
    modulated, boxes = _inputs()
    params = RefinementParams(iterations=4, step_length=(1.0, 0.5), step_length_decay=0.5)

    def predict(b):
        return network.predict_iou_modulated(modulated, b)

    expected = optimize_boxes(predict, boxes.view(-1, 4), params)
    got = optimize_boxes(predict, boxes.view(-1, 4), params,
                         iou_and_gradient=lambda b: network.predict_iou_and_gradient(modulated, b))
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


@pytest.mark.parametrize("backend", ["compiled", "torch"])
def test_box_gradient_alone_equals_autograd(backend):
    if backend == "compiled" and not compiled_available("cpu"):
        pytest.skip("the compiled op is not built")
    generator = torch.Generator().manual_seed(2)
    features = torch.randn(2, 3, 9, 11, generator=generator, dtype=torch.float64)
    rois = torch.tensor([[0, 1.2, 0.7, 6.1, 7.3], [1, 3.0, 2.5, 9.5, 5.0], [0, 4.0, 4.0, 3.0, 6.0]],
                        dtype=torch.float64, requires_grad=True)
    pooled = prroi_pool2d(features, rois, 2, 3, 0.8, backend=backend)
    weight = torch.randn(pooled.shape, generator=generator, dtype=torch.float64)
    (expected,) = torch.autograd.grad((pooled * weight).sum(), rois)
    got = prroi_pool2d_box_gradient(features, rois.detach(), pooled.detach(), weight, 2, 3, 0.8, backend=backend)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    assert got[:, 0].abs().max() == 0 and got[:2, 1:].abs().max() > 0
    empty = prroi_pool2d_box_gradient(features, rois.detach()[:0], pooled.detach()[:0], weight[:0], 2, 3, 0.8)
    assert empty.shape == (0, 5)


def test_tracker_boxes_are_those_of_autograd_refinement(monkeypatch):
    images, boxes = moving_square(frames=7)

    def run():
        torch.manual_seed(0)
        network = AtomNetWrapper.from_network(atom_resnet_tiny(), device="cpu", fold_batch_norm=False)
        return track_with_atom(network, images, boxes, sample_cells=6)

    fast = run()
    # The autograd path: the written-out backward replaced by autograd's.
    monkeypatch.setattr(AtomNetWrapper, "predict_iou_and_gradient",
                        lambda self, modulated, proposals: autograd_iou_and_gradient(
                            lambda b: self.predict_iou_modulated(modulated, b))(proposals))
    slow = run()
    assert np.isfinite(fast).all()
    np.testing.assert_array_equal(fast, slow)


def test_corner_gradient_carried_back_to_corner_and_size():
    boxes = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], requires_grad=True)
    weight = torch.tensor([[1.0, 10.0, 100.0, 1000.0], [2.0, 3.0, 5.0, 7.0]])
    (expected,) = torch.autograd.grad((xywh_to_xyxy(boxes) * weight).sum(), boxes)
    # By hand: d/dx = w_x0 + w_x1, d/dy = w_y0 + w_y1, d/dw = w_x1, d/dh = w_y1.
    assert expected.tolist() == [[101.0, 1010.0, 100.0, 1000.0], [7.0, 10.0, 5.0, 7.0]]
    assert torch.equal(xyxy_gradient_to_xywh(weight), expected)
