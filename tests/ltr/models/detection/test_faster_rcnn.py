"""Faster R-CNN: training losses and their gradients (tiny), detections and regress_boxes in eval,
class order (background last), RPN proposal selection per level, the R-CNN score threshold and
NMS, frozen stages and BatchNorm in eval mode (R50), the registry."""

import math

import numpy as np
import pytest
import torch

from ltr.models.detection import FasterRCNN, faster_rcnn_r50_fpn, faster_rcnn_tiny, prepare_images
from ltr.models.detection.bbox import AnchorGenerator
from ltr.models.detection.faster_rcnn import RegionProposalNetwork
from ltr.models.registry import build_network, known_networks

SIZES = [(288, 384), (288, 384)]


def targets():
    return [{"boxes": torch.tensor([[50.0, 40.0, 80.0, 130.0], [200.0, 100.0, 240.0, 200.0]]),
             "labels": torch.tensor([1, 1])},
            {"boxes": torch.tensor([[10.0, 20.0, 40.0, 100.0]]), "labels": torch.tensor([1])}]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return faster_rcnn_tiny()


def test_tiny_training_losses_are_finite_and_back_propagate(tiny):
    tiny.train()
    torch.manual_seed(1)
    batch = torch.randn(2, 3, 288, 384)
    losses = tiny(batch, SIZES, targets())
    assert set(losses) == {"loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox"}
    assert all(torch.isfinite(value) and value > 0 for value in losses.values())
    tiny.zero_grad()
    sum(losses.values()).backward()
    for name, parameter in tiny.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
    assert tiny.roi_heads.box_predictor.bbox_pred.weight.grad.abs().sum() > 0
    assert tiny.rpn.head.bbox_pred.weight.grad.abs().sum() > 0


def test_tiny_batchnorm_trains(tiny):
    tiny.train()
    bn = tiny.backbone.body.bn1
    before = bn.running_mean.clone()
    tiny(torch.randn(1, 3, 96, 128) * 3 + 1, [(96, 128)], targets()[1:])
    assert bn.training and not torch.equal(before, bn.running_mean)


def test_training_needs_pedestrian_labels(tiny):
    tiny.train()
    bad = [{"boxes": torch.tensor([[1.0, 1.0, 20.0, 40.0]]), "labels": torch.tensor([0])}]
    with pytest.raises(ValueError, match="labels must be 1"):
        tiny(torch.randn(1, 3, 96, 128), [(96, 128)], bad)
    with pytest.raises(ValueError, match="targets"):
        tiny(torch.randn(1, 3, 96, 128), [(96, 128)])


def test_eval_detections_lie_within_the_image_when_clipping():
    torch.manual_seed(0)
    net = faster_rcnn_tiny(clip_border=True).eval()
    with torch.no_grad():
        predictor = net.roi_heads.box_predictor
        predictor.cls_score.bias.copy_(torch.tensor([3.0, 0.0]))  # every RoI a pedestrian
        predictor.bbox_pred.bias.copy_(torch.tensor([0.0, 0.0, 1.0, 1.0]))  # grown boxes
        detections = net(torch.randn(2, 3, 288, 384), [(288, 384), (200, 300)])
    for (boxes, scores), (height, width) in zip(detections, [(288, 384), (200, 300)]):
        assert 0 < boxes.shape[0] <= 100 and scores.shape == (boxes.shape[0],)
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= width).all()
        assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= height).all()
        assert (scores[:-1] >= scores[1:]).all() and (scores > 0.05).all()


def test_regress_boxes_class_order_and_no_clipping(tiny):
    tiny.eval()
    with torch.no_grad():
        features = tiny.extract_features(torch.randn(1, 3, 288, 384))
        predictor = tiny.roi_heads.box_predictor
        saved = {key: value.clone() for key, value in predictor.state_dict().items()}
        for tensor in predictor.parameters():
            tensor.zero_()
        predictor.cls_score.bias.copy_(torch.tensor([2.0, 0.0]))  # row 0 pedestrian, row 1 background
        boxes = torch.tensor([[10.0, 20.0, 50.0, 120.0], [350.0, 200.0, 420.0, 330.0]])  # the second leaves
        ((regressed, scores),) = tiny.regress_boxes(features, [boxes], [(288, 384)])
        assert torch.equal(regressed, boxes)  # zero deltas, and clip_border=False keeps 420 > 384
        assert scores.tolist() == pytest.approx([math.exp(2) / (math.exp(2) + 1)] * 2)
        predictor.bbox_pred.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))  # dx = 1 * 0.1 of the width
        ((regressed, _),) = tiny.regress_boxes(features, [boxes], [(288, 384)])
        assert regressed[0].tolist() == pytest.approx([14.0, 20.0, 54.0, 120.0])
        ((empty, empty_scores),) = tiny.regress_boxes(features, [torch.zeros(0, 4)], [(288, 384)])
        assert empty.shape == (0, 4) and empty_scores.shape == (0,)
        predictor.load_state_dict(saved)


def test_regress_boxes_on_a_trained_free_network_gives_boxes_and_probabilities(tiny):
    tiny.eval()
    with torch.no_grad():
        features = tiny.extract_features(torch.randn(2, 3, 288, 384))
        out = tiny.regress_boxes(features, [torch.tensor([[30.0, 30.0, 60.0, 110.0]]), torch.zeros(0, 4)], SIZES)
    (boxes, scores), (none, _) = out
    assert boxes.shape == (1, 4) and none.shape == (0, 4)
    assert 0 <= scores.item() <= 1


def test_rcnn_score_threshold_and_nms():
    torch.manual_seed(0)
    net = faster_rcnn_tiny().eval()
    heads = net.roi_heads
    with torch.no_grad():
        features = list(net.extract_features(torch.randn(1, 3, 288, 384)).values())
        for tensor in heads.box_predictor.parameters():
            tensor.zero_()
        proposals = [torch.tensor([[10.0, 10.0, 50.0, 100.0], [10.0, 10.0, 50.0, 101.0], [200.0, 50.0, 240.0, 150.0]])]
        heads.box_predictor.cls_score.bias.copy_(torch.tensor([0.0, -1.0]))  # score 0.731 everywhere
        ((boxes, scores),) = heads.detect(features, proposals, [(288, 384)])
        assert boxes.shape == (2, 4)  # the near-duplicate (IoU 0.99 > 0.5) is suppressed
        assert scores.tolist() == pytest.approx([1 / (1 + math.exp(-1))] * 2)
        heads.box_predictor.cls_score.bias.copy_(torch.tensor([-3.0, 0.0]))  # 0.047 <= 0.05
        ((boxes, _),) = heads.detect(features, proposals, [(288, 384)])
        assert boxes.shape == (0, 4)


def test_rpn_proposals_select_per_level_and_nms_within_levels():
    rpn = RegionProposalNetwork(in_channels=4, anchor_generator=AnchorGenerator(strides=(8, 16), ratios=(1.0,),
                                                                                scales=(1.0,)),
                                max_per_img=10, min_bbox_size=0.0)
    box = [0.0, 0.0, 10.0, 10.0]
    anchors = [torch.tensor([box, [100.0, 0.0, 110.0, 10.0], [200.0, 0.0, 210.0, 10.0]]),
               torch.tensor([box, [300.0, 0.0, 300.0, 10.0]])]  # level 1: a duplicate, a zero-width box
    logits = [torch.tensor([[2.0], [1.0], [0.0]]), torch.tensor([[0.5], [3.0]])]
    deltas = [torch.zeros(3, 4), torch.zeros(2, 4)]
    boxes, scores = rpn.proposals(logits, deltas, anchors, (100, 400), nms_pre=2)
    # level 0 keeps its 2 best (logits 2, 1); level 1's copy of box 0 survives (NMS per level);
    # the zero-width box is dropped (w > 0 is required)
    sigmoid = torch.sigmoid(torch.tensor([2.0, 1.0, 0.5])).tolist()
    assert scores.tolist() == pytest.approx(sigmoid)
    assert boxes.tolist() == [box, [100.0, 0.0, 110.0, 10.0], box]
    rpn.max_per_img = 2
    boxes, _ = rpn.proposals(logits, deltas, anchors, (100, 400), nms_pre=2)
    assert boxes.shape == (2, 4)
    same_level = [torch.tensor([box, [0.0, 0.0, 10.0, 9.0]])]
    boxes, _ = rpn.proposals([torch.tensor([[1.0], [0.0]])], [torch.zeros(2, 4)], same_level, (100, 400), nms_pre=5)
    assert boxes.tolist() == [box]  # IoU 0.9 > 0.7 within one level


@pytest.fixture(scope="module")
def r50():
    torch.manual_seed(0)
    return faster_rcnn_r50_fpn()


def test_r50_structure_and_attributes(r50):
    assert r50.test_scale == (1088, 1088) and r50.num_classes == 1 and not r50.clip_border
    assert r50.roi_heads.box_predictor.cls_score.out_features == 2
    assert r50.roi_heads.box_predictor.bbox_pred.out_features == 4
    assert r50.rpn.anchor_generator.strides == (4, 8, 16, 32, 64)
    with torch.no_grad():
        features = r50.eval().extract_features(torch.zeros(1, 3, 128, 160))
    assert [tuple(f.shape) for f in features.values()] == [(1, 256, 32, 40), (1, 256, 16, 20), (1, 256, 8, 10),
                                                             (1, 256, 4, 5), (1, 256, 2, 3)]


def test_r50_frozen_stages_and_batchnorm_in_eval(r50):
    r50.train()
    body = r50.backbone.body
    assert all(not m.training for m in body.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not any(p.requires_grad for m in (body.conv1, body.bn1, body.layer1) for p in m.parameters())
    assert body.layer2[0].bn1.weight.requires_grad  # norm_cfg requires_grad=True: affine trains
    running = body.layer3[0].bn1.running_mean.clone()
    r50.zero_grad()
    losses = r50(torch.randn(1, 3, 128, 160), [(128, 160)],
                 [{"boxes": torch.tensor([[10.0, 10.0, 60.0, 110.0]]), "labels": torch.tensor([1])}])
    assert all(torch.isfinite(value) for value in losses.values())
    sum(losses.values()).backward()
    assert body.conv1.weight.grad is None and body.layer1[0].conv1.weight.grad is None
    assert body.layer2[0].conv1.weight.grad is not None and body.layer2[0].bn1.weight.grad is not None
    assert torch.equal(running, body.layer3[0].bn1.running_mean)


def test_registry_builds_both_detectors():
    assert {"faster_rcnn_r50_fpn", "faster_rcnn_tiny"} <= set(known_networks())
    net = build_network("faster_rcnn_tiny", width=8)
    assert isinstance(net, FasterRCNN)
    assert net.constructor == {"name": "faster_rcnn_tiny", "kwargs": {
        "num_classes": 1, "width": 8, "fpn_channels": 32, "fc_channels": 128, "test_scale": (384, 384),
        "clip_border": False, "rpn_train_nms_pre": 1000, "rpn_max_proposals": 300, "roi_samples": 128}}
    assert (net.rpn.train_nms_pre, net.rpn.max_per_img, net.roi_heads.num_samples) == (1000, 300, 128)
    assert 200_000 < sum(p.numel() for p in faster_rcnn_tiny().parameters()) < 1_000_000


def test_prepare_images_with_the_detector_attributes(tiny):
    frame = np.zeros((480, 640, 3), np.uint8)
    inputs = prepare_images([frame], scale=tiny.test_scale, mean=tiny.normalize_mean, std=tiny.normalize_std)
    assert inputs.image_sizes == [(288, 384)] and inputs.batch.shape == (1, 3, 288, 384)
    tiny.eval()
    with torch.no_grad():
        ((boxes, scores),) = tiny(inputs.batch, inputs.image_sizes)
    assert boxes.shape[1] == 4 and scores.shape == (boxes.shape[0],)


def test_rcnn_losses_are_averaged_over_all_sampled_rois(tiny):
    tiny.train()
    heads = tiny.roi_heads
    with torch.no_grad():
        features = list(tiny.extract_features(torch.randn(1, 3, 288, 384)).values())
        saved = {key: value.clone() for key, value in heads.box_predictor.state_dict().items()}
        for tensor in heads.box_predictor.parameters():
            tensor.zero_()
        gt = torch.tensor([[0.0, 0.0, 40.0, 80.0]])
        # P1 IoU 36 / 44 = 0.82 (positive, dx = (20 - 24) / 40 / 0.1 = -1), P2 and P3 negatives
        proposals = [torch.tensor([[4.0, 0.0, 44.0, 80.0], [200.0, 200.0, 240.0, 280.0], [300.0, 0.0, 340.0, 80.0]])]
        losses = heads.loss(features, proposals, [gt], [torch.tensor([0])])
        heads.box_predictor.load_state_dict(saved)
    # 4 sampled RoIs (the ground truth prepended, P1, P2, P3); zero logits: cross-entropy log 2
    assert losses["loss_cls"].item() == pytest.approx(math.log(2))
    # smooth L1 (beta 1) of P1's dx: 1 - 0.5; the ground truth's own deltas are 0; divided by 4, not by 2
    assert losses["loss_bbox"].item() == pytest.approx(0.5 / 4)


def test_rpn_loss_uses_sampled_anchors_and_sigmoid_cross_entropy(tiny):
    tiny.train()
    head = tiny.rpn.head
    saved = {key: value.clone() for key, value in head.state_dict().items()}
    with torch.no_grad():
        head.cls_logits.weight.zero_()
        head.cls_logits.bias.zero_()
        head.bbox_pred.weight.zero_()
        head.bbox_pred.bias.zero_()
        features = list(tiny.extract_features(torch.randn(1, 3, 288, 384)).values())
        gt = torch.tensor([[96.0, 48.0, 130.0, 120.0]])
        _, losses = tiny.rpn(features, [(288, 384)], [(288, 384)], [gt])
        head.load_state_dict(saved)
    # logit 0 on every sampled anchor: binary cross-entropy log 2 whatever its label
    assert losses["loss_rpn_cls"].item() == pytest.approx(math.log(2))
    assert 0 < losses["loss_rpn_bbox"].item() < 1
