"""Released-weight layouts load with strict=True and mean what they meant: torchvision's Faster
R-CNN (the original Tracktor's 2 classes, old and new key names; COCO's 91 classes), mmdetection
2.x's and mmtracking's whole-model files (reid tensors passed on), our own; unused tensors are
reported; bad files give one clear error."""

import os

import numpy as np
import pytest
import torch
from torchvision.models.detection import FasterRCNN as TorchvisionFasterRCNN
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.ops import FrozenBatchNorm2d

from ltr.models.detection import faster_rcnn_r50_fpn, faster_rcnn_tiny
from ltr.models.detection.convert import DetectorWeightsError, detect_layout, load_detector_weights


@pytest.fixture(autouse=True)
def no_pretrained_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_PRETRAINED_NETWORKS", str(tmp_path / "pretrained"))


@pytest.fixture(scope="module")
def torchvision_tracktor():
    """torchvision's Faster R-CNN built as the original Tracktor's FRCNN_FPN builds it
    (resnet_fpn_backbone('resnet50') with frozen BatchNorm, 2 classes), random weights."""
    torch.manual_seed(0)
    backbone = resnet_fpn_backbone(backbone_name="resnet50", weights=None, norm_layer=FrozenBatchNorm2d)
    model = TorchvisionFasterRCNN(backbone, num_classes=2).eval()
    with torch.no_grad():  # non-trivial frozen BatchNorm statistics
        for module in model.modules():
            if isinstance(module, FrozenBatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 2.0)
    return model


@pytest.fixture(scope="module")
def r50():
    return faster_rcnn_r50_fpn()


def old_torchvision_names(state):
    """torchvision < 0.13 names (the original Tracktor's model_epoch_27.model)."""
    renamed = {}
    for key, value in state.items():
        key = key.replace("rpn.head.conv.0.0.", "rpn.head.conv.")
        for block in ("inner_blocks", "layer_blocks"):
            for index in range(4):
                key = key.replace(f"backbone.fpn.{block}.{index}.0.", f"backbone.fpn.{block}.{index}.")
        renamed[key] = value
    return renamed


def test_torchvision_tracktor_weights(torchvision_tracktor, r50):
    state = torchvision_tracktor.state_dict()
    assert detect_layout(state) == "torchvision"
    report = load_detector_weights(r50, state)
    assert report.layout == "torchvision"
    assert report.unused == ["roi_heads.box_predictor.bbox_pred.weight rows 0..3 (background and classes not kept)",
                             "roi_heads.box_predictor.bbox_pred.bias rows 0..3 (background and classes not kept)"]
    assert len(report.filled) == 53 and all(key.endswith("num_batches_tracked") for key in report.filled)
    ours = r50.roi_heads.box_predictor
    theirs = torchvision_tracktor.roi_heads.box_predictor
    assert torch.equal(ours.cls_score.weight[0], theirs.cls_score.weight[1])  # pedestrian first
    assert torch.equal(ours.cls_score.weight[1], theirs.cls_score.weight[0])  # background last
    assert torch.equal(ours.bbox_pred.weight, theirs.bbox_pred.weight[4:8])
    r50.eval()
    x = torch.randn(1, 3, 128, 160)
    with torch.no_grad():
        ours_features = r50.extract_features(x)
        theirs_features = torchvision_tracktor.backbone(x)
    assert list(theirs_features) == list(ours_features)
    for key in ours_features:
        assert torch.allclose(ours_features[key], theirs_features[key], atol=1e-4, rtol=1e-4), key


def test_old_torchvision_names_load_the_same(torchvision_tracktor, r50):
    load_detector_weights(r50, torchvision_tracktor.state_dict())
    expected = {key: value.clone() for key, value in r50.state_dict().items()}
    other = faster_rcnn_r50_fpn()
    report = load_detector_weights(other, old_torchvision_names(torchvision_tracktor.state_dict()))
    assert report.layout == "torchvision"
    for key, value in other.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_pedestrian_logit_of_the_file_gives_a_pedestrian_score(torchvision_tracktor, r50):
    state = dict(torchvision_tracktor.state_dict())
    state["roi_heads.box_predictor.cls_score.weight"] = torch.zeros(2, 1024)
    for bias, expected in (([0.0, 8.0], 1.0), ([8.0, 0.0], 0.0)):  # rows: background, pedestrian
        state["roi_heads.box_predictor.cls_score.bias"] = torch.tensor(bias)
        load_detector_weights(r50, state)
        r50.eval()
        with torch.no_grad():
            features = r50.extract_features(torch.randn(1, 3, 128, 160))
            ((_, scores),) = r50.regress_boxes(features, [torch.tensor([[20.0, 20.0, 60.0, 100.0]])], [(128, 160)])
        assert scores.item() == pytest.approx(expected, abs=1e-3)


def test_coco_weights_keep_background_and_person(torchvision_tracktor, r50, tmp_path, monkeypatch):
    state = dict(torchvision_tracktor.state_dict())
    torch.manual_seed(3)
    cls_weight, cls_bias = torch.randn(91, 1024), torch.randn(91)
    reg_weight, reg_bias = torch.randn(364, 1024), torch.randn(364)
    state.update({"roi_heads.box_predictor.cls_score.weight": cls_weight,
                  "roi_heads.box_predictor.cls_score.bias": cls_bias,
                  "roi_heads.box_predictor.bbox_pred.weight": reg_weight,
                  "roi_heads.box_predictor.bbox_pred.bias": reg_bias})
    folder = tmp_path / "pretrained"
    folder.mkdir()
    torch.save(old_torchvision_names(state), folder / "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth")
    monkeypatch.setenv("TRACKING_PRETRAINED_NETWORKS", str(folder))
    report = load_detector_weights(r50, "fasterrcnn_resnet50_fpn_coco")
    assert report.source.endswith("fasterrcnn_resnet50_fpn_coco-258fb6c6.pth")
    predictor = r50.roi_heads.box_predictor
    assert torch.equal(predictor.cls_score.weight, cls_weight[[1, 0]])
    assert torch.equal(predictor.bbox_pred.bias, reg_bias[4:8])
    assert "roi_heads.box_predictor.cls_score.weight rows 2..90 (classes not kept)" in report.unused
    assert "roi_heads.box_predictor.bbox_pred.bias rows 0..3, 8..363 (background and classes not kept)" in report.unused
    assert len(report.unused) == 4


MMDET_NAMES = [("backbone.body.", "backbone."), ("backbone.fpn.inner_blocks.", "neck.lateral_convs."),
               ("backbone.fpn.layer_blocks.", "neck.fpn_convs."), ("rpn.head.conv.0.0.", "rpn_head.rpn_conv."),
               ("rpn.head.cls_logits.", "rpn_head.rpn_cls."), ("rpn.head.bbox_pred.", "rpn_head.rpn_reg."),
               ("roi_heads.box_head.fc6.", "roi_head.bbox_head.shared_fcs.0."),
               ("roi_heads.box_head.fc7.", "roi_head.bbox_head.shared_fcs.1."),
               ("roi_heads.box_predictor.cls_score.", "roi_head.bbox_head.fc_cls."),
               ("roi_heads.box_predictor.bbox_pred.", "roi_head.bbox_head.fc_reg.")]


def mmdet_state(net):
    """The names of mmdet 2.x's ResNet, FPN (ConvModule: ``.conv.``), RPNHead and
    Shared2FCBBoxHead for our tensors (same class order: background last)."""
    state = {}
    for key, value in net.state_dict().items():
        for ours, theirs in MMDET_NAMES:
            if key.startswith(ours):
                rest = key[len(ours):]
                if theirs.startswith("neck."):
                    index, _, name = rest.split(".")
                    rest = f"{index}.conv.{name}"
                state[theirs + rest] = value.clone()
                break
        else:
            raise AssertionError(key)
    return state


def test_mmdet_detector_file(tmp_path):
    torch.manual_seed(0)
    source = faster_rcnn_tiny()
    state = mmdet_state(source)
    assert "neck.lateral_convs.0.conv.weight" in state and "roi_head.bbox_head.fc_reg.weight" in state
    state["roi_head.mask_head.conv.weight"] = torch.zeros(1)
    path = tmp_path / "faster-rcnn_r50_fpn_4e_mot17-half-64ee2ed4.pth"
    torch.save({"meta": {"epoch": 4, "CLASSES": ("pedestrian",), "best": np.float64(0.5)}, "state_dict": state}, path)
    torch.manual_seed(1)
    target = faster_rcnn_tiny()
    report = load_detector_weights(target, path)
    assert report.layout == "mmdet" and report.filled == [] and report.passed_on == {}
    assert report.unused == ["roi_head.mask_head.conv.weight (no part of the detector)"]
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


def test_mmtracking_whole_model_passes_reid_on(tmp_path):
    torch.manual_seed(0)
    source = faster_rcnn_tiny()
    reid = {"reid.backbone.conv1.weight": torch.randn(4, 3, 7, 7), "reid.head.fc_out.bias": torch.randn(128)}
    state = {f"detector.{key}": value for key, value in mmdet_state(source).items()} | reid
    path = tmp_path / "tracktor.pth"
    torch.save({"meta": {"mmtrack_version": "0.14.0"}, "state_dict": state}, path)
    target = faster_rcnn_tiny()
    report = load_detector_weights(target, path)
    assert report.layout == "mmdet" and report.unused == []
    assert set(report.passed_on) == set(reid)
    assert all(torch.equal(report.passed_on[key], value) for key, value in reid.items())
    assert torch.equal(target.rpn.head.cls_logits.weight, source.rpn.head.cls_logits.weight)


def test_our_own_state_dict_round_trips():
    torch.manual_seed(0)
    source = faster_rcnn_tiny()
    assert detect_layout(source.state_dict()) == "ours"
    target = faster_rcnn_tiny()
    report = load_detector_weights(target, {"net": source.state_dict(), "epoch": 3})
    assert report.layout == "ours" and report.unused == [] and report.filled == []
    assert all(torch.equal(target.state_dict()[key], value) for key, value in source.state_dict().items())


def test_errors_name_the_file(tmp_path, r50):
    net = faster_rcnn_tiny()
    missing = tmp_path / "nowhere" / "model_epoch_27.model"
    with pytest.raises(DetectorWeightsError, match="model_epoch_27.model does not exist"):
        load_detector_weights(net, missing)
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorWeightsError, match="corrupt.pth"):
        load_detector_weights(net, corrupt)
    unknown = tmp_path / "unknown.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, unknown)
    with pytest.raises(DetectorWeightsError, match="unknown.pth: unknown layout"):
        load_detector_weights(net, unknown)
    larger = tmp_path / "r50.pth"
    torch.save(r50.state_dict(), larger)
    with pytest.raises(DetectorWeightsError, match="r50.pth .*other shapes"):
        load_detector_weights(net, larger)
    with pytest.raises(DetectorWeightsError, match="not in the pretrained_networks|neither a file"):
        load_detector_weights(net, "fasterrcnn_resnet50_fpn_coco")
    with pytest.raises(ValueError, match="layout must be"):
        load_detector_weights(net, {}, layout="detectron")
