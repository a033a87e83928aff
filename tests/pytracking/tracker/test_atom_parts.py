"""ATOM's parts: the classifier learning a pattern, IoU-driven box refinement, and whole-tracker
runs with a tiny network (the published rules: ``test_atom_published.py``)."""

import numpy as np
import pytest
import torch

from ltr.data.boxes import box_iou
from ltr.models.tracking.atom import atom_resnet_tiny
from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.parameter.atom.improved import parameters as improved_parameters
from pytracking.tracker.atom.atom import ATOM
from pytracking.tracker.atom.box_refinement import RefinementParams, optimize_boxes, refine
from pytracking.tracker.atom.classifier import OnlineClassifier
from pytracking.tracker.atom.network import AtomNetWrapper

from .conftest import moving_square


def test_classifier_learns_to_find_a_pattern():
    torch.manual_seed(0)
    classifier = OnlineClassifier(feature_sz=18, compressed_dim=16, generator=torch.Generator().manual_seed(0))
    pattern = torch.randn(64)
    features, labels = torch.randn(12, 64, 18, 18) * 0.3, []
    for n in range(12):
        dx, dy = (n % 5) - 2, (n // 5) - 1
        # Centred on feature cell 8.5 + d: d cells from the sample's centre; the label peaks
        # half a cell further (score cell 9 + d).
        features[n, :, 8 + dy:10 + dy, 8 + dx:10 + dx] += pattern.view(-1, 1, 1)
        labels.append(classifier.label(torch.tensor([dx + 0.5, dy + 0.5]), sigma=0.5))
    classifier.initialize(features, torch.cat(labels), num_gn_iter=3, num_cg_iter=10)
    test = torch.randn(1, 64, 18, 18) * 0.3
    test[0, :, 3:5, 12:14] += pattern.view(-1, 1, 1)  # centred on feature cells x 12.5, y 3.5
    scores = classifier.scores(classifier.project(test))[0]
    assert scores.shape == (18, 18)
    assert divmod(int(scores.argmax()), scores.shape[1]) == (4, 13) and scores.max() > 0.5


def test_refinement_climbs_the_predicted_iou():
    target = torch.tensor([40.0, 50.0, 30.0, 20.0])

    def predict(boxes):  # the true IoU: refinement should move towards the target
        return box_iou(boxes.view(-1, 4), target.expand(boxes.shape[1], 4)).view(1, -1)

    start = torch.tensor([44.0, 47.0, 26.0, 24.0])
    params = RefinementParams(iterations=40, step_length=0.05)
    box, iou = refine(predict, start, params, torch.Generator().manual_seed(0))
    assert box_iou(box, target) > box_iou(start, target) + 0.05 and iou > 0.85
    assert refine(predict, start, RefinementParams(maximal_aspect_ratio=1.01, box_jitter_sz=0.0)) is None


def test_refinement_takes_one_prediction_per_step_and_reports_the_last():
    target = torch.tensor([40.0, 50.0, 30.0, 20.0])
    seen = []

    def predict(boxes):
        seen.append(boxes.detach().clone())
        return box_iou(boxes.view(-1, 4), target.expand(boxes.shape[1], 4)).view(1, -1)

    start = torch.tensor([[44.0, 47.0, 26.0, 24.0], [38.0, 52.0, 34.0, 18.0]])
    boxes, iou = optimize_boxes(predict, start, RefinementParams(iterations=3, step_length=0.05))
    assert len(seen) == 3  # no extra forward pass after the last step
    # The IoU is that of the boxes the last step started from, as published.
    torch.testing.assert_close(iou, box_iou(seen[-1].view(-1, 4), target.expand(2, 4)))
    assert not torch.equal(boxes, seen[-1].view(-1, 4))
    seen.clear()
    boxes, iou = optimize_boxes(predict, start, RefinementParams(iterations=0))
    assert len(seen) == 1 and torch.equal(boxes, start)


@pytest.mark.parametrize("use_iou_net, layer, improved", [(True, "layer3", False), (False, "layer3", False),
                                                           (False, "layer2", False), (True, "layer3", True)])
def test_tracker_runs_and_follows_a_distinct_target(use_iou_net, layer, improved):
    torch.manual_seed(0)
    network = AtomNetWrapper.from_network(atom_resnet_tiny(), device="cpu")
    params = improved_parameters() if improved else default_parameters()
    params.image_sample_size, params.compressed_dim, params.use_iou_net = 10 * 16, 16, use_iou_net
    # layer2 has stride 8 (20x20 maps at 160 pixels).
    params.classifier_layer = layer
    params.init_CG_iter, params.init_GN_iter = 20, 2
    tracker = ATOM(params, network=network)
    images, boxes = moving_square()
    assert tracker.initialize(images[0], {"init_bbox": boxes[0].tolist()}) == {}
    centres = []
    for image in images[1:]:
        out = tracker.track(image)
        assert len(out["target_bbox"]) == 4 and np.isfinite(out["target_bbox"]).all()
        centres.append(np.array(out["target_bbox"][:2]) + np.array(out["target_bbox"][2:]) / 2)
    truth = boxes[1:, :2] + 12
    error = np.median(np.linalg.norm(np.array(centres) - truth, axis=1))
    # Random features still separate a textured square from a flat background; an untrained
    # IoU predictor moves the box at random, but the classifier keeps it on the target.
    assert error < (8 if not use_iou_net else 24)


def test_synthetic_parameters():
    from pytracking.parameter.atom.synthetic import parameters as synthetic
    from pytracking.parameter.atom.synthetic_improved import parameters as synthetic_improved
    from pytracking.parameter.atom.synthetic_no_iounet import parameters as synthetic_no_iounet
    base, variant, improved = synthetic(), synthetic_no_iounet(), synthetic_improved()
    assert base.use_iou_net and base.classifier_layer == "layer2"
    # The synthetic network's settings on the published rules, and with the improvements.
    published, better = default_parameters(), improved_parameters()
    differs = {k for k, v in base.as_dict().items() if published.as_dict()[k] != v}
    assert differs == {"net_path", "image_sample_size", "classifier_layer", "compressed_dim"}
    assert {k: v for k, v in improved.as_dict().items() if k not in differs} == \
        {k: v for k, v in better.as_dict().items() if k not in differs}
    # The tracker's samples are the size of the crops the network was trained on.
    from types import SimpleNamespace
    from ltr.train_settings.bbreg import atom_synthetic
    trained = SimpleNamespace()
    atom_synthetic.configure(trained)
    assert base.image_sample_size == trained.output_sz
    assert base.search_area_scale == trained.search_area_factor
    assert not variant.use_iou_net and len(variant.scale_factors) == 5
    assert variant.classifier_layer == base.classifier_layer
    # The published values stay in default.py.
    assert default_parameters().classifier_layer == "layer3"
