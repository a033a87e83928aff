"""ATOM's parts: localisation flags, the sample memory's weights, the classifier learning a
pattern, IoU-driven box refinement, and whole-tracker runs with a tiny network."""

import numpy as np
import pytest
import torch

from ltr.data.boxes import box_iou
from ltr.models.tracking.atom import atom_resnet_tiny
from pytracking.features.net_wrappers import NetWrapper
from pytracking.parameter.atom.default import parameters as default_parameters
from pytracking.tracker.atom.box_refinement import RefinementParams, optimize_boxes, refine
from pytracking.tracker.atom.classifier import OnlineClassifier, SampleMemory
from pytracking.tracker.atom.localization import (HARD_NEGATIVE, NORMAL, NOT_FOUND, UNCERTAIN, LocalizationParams,
                                                  localize)


def peaks(*spots, size=19):
    scores = torch.zeros(1, size, size)
    for (x, y), value in spots:
        scores[0, y, x] = value
    return scores


CENTRE = torch.tensor([[9.0, 9.0]])
SIZE = torch.tensor([[2.0, 2.0]])


def test_localisation_flags():
    assert localize(peaks(((9, 9), 0.2)), CENTRE, SIZE).flag == NOT_FOUND
    found = localize(peaks(((11, 8), 0.9)), CENTRE, SIZE)
    assert found.flag == NORMAL and found.cell.tolist() == [11.0, 8.0] and found.scale_index == 0
    # A second peak above half the first, outside the neighbourhood: a hard negative.
    assert localize(peaks(((9, 9), 0.9), ((16, 16), 0.6)), CENTRE, SIZE).flag == HARD_NEGATIVE
    # Two near-equal peaks, the stronger far from the last position: the near one is taken.
    far = localize(peaks(((17, 17), 0.9), ((10, 9), 0.85)), CENTRE, SIZE)
    assert far.flag == HARD_NEGATIVE and far.cell.tolist() == [10.0, 9.0]
    # Both close to the last position: no way to tell them apart.
    assert localize(peaks(((9, 9), 0.9), ((13, 9), 0.85)), CENTRE, SIZE).flag == UNCERTAIN
    assert localize(peaks(((9, 9), 0.2)), CENTRE, SIZE, LocalizationParams(advanced=False)).flag == NORMAL


def test_sample_memory_keeps_the_initial_share_and_replaces_the_lightest():
    init = torch.zeros(4, 1, 2, 2)
    memory = SampleMemory(6, init, torch.zeros(4, 1, 3, 3), torch.ones(4), init_min_weight=0.5)
    for step in range(5):
        memory.add(torch.full((1, 1, 2, 2), step + 1.0), torch.zeros(1, 1, 3, 3), learning_rate=0.3)
        samples, _, weights = memory.active()
        assert weights.sum().item() == pytest.approx(1.0)
        assert weights[:4].sum().item() >= 0.5 - 1e-6
    # Full after two additions; later ones replaced the lightest non-initial sample each time.
    assert memory.size == 6 and set(memory.samples[4:, 0, 0, 0].tolist()) == {4.0, 5.0}


def test_classifier_learns_to_find_a_pattern():
    torch.manual_seed(0)
    classifier = OnlineClassifier(feature_sz=18, stride=16, compressed_dim=16, generator=torch.Generator().manual_seed(0))
    pattern = torch.randn(64)
    features, labels = torch.randn(12, 64, 18, 18) * 0.3, []
    for n in range(12):
        dx, dy = (n % 5) - 2, (n // 5) - 1
        features[n, :, 8 + dy:10 + dy, 8 + dx:10 + dx] += pattern.view(-1, 1, 1)
        labels.append(classifier.label(torch.tensor([144.0 + 16 * dx, 144.0 + 16 * dy]), torch.tensor([32.0, 32.0])))
    classifier.initialize(features, torch.cat(labels), num_gn_iter=3, num_cg_iter=10)
    test = torch.randn(1, 64, 18, 18) * 0.3
    test[0, :, 3:5, 12:14] += pattern.view(-1, 1, 1)  # centred on feature cells x 12.5, y 3.5
    scores = classifier.scores(classifier.project(test))[0]
    row, column = divmod(int(scores.argmax()), scores.shape[1])
    pixel = classifier.cell_to_pixel(torch.tensor([float(column), float(row)]))
    assert pixel.tolist() == [16 * 13.0, 16 * 4.0] and scores.max() > 0.5


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


def moving_square(frames=12, size=(160, 200)):
    rng = np.random.default_rng(3)
    background = rng.integers(90, 110, (*size, 3), dtype=np.uint8)
    square = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
    images, boxes = [], []
    for index in range(frames):
        x, y = 60 + 3 * index, 60 + 2 * index
        image = background.copy()
        image[y:y + 24, x:x + 24] = square
        images.append(image)
        boxes.append([x, y, 24.0, 24.0])
    return images, np.array(boxes, dtype=np.float64)


@pytest.mark.parametrize("use_iou_net, layer, upsample", [(True, "layer3", 1), (False, "layer3", 1),
                                                           (False, "layer2", 2)])
def test_tracker_runs_and_follows_a_distinct_target(use_iou_net, layer, upsample):
    torch.manual_seed(0)
    network = NetWrapper.from_network(atom_resnet_tiny(), device="cpu")
    params = default_parameters()
    params.image_sample_size, params.compressed_dim, params.use_iou_net = 9 * 16, 16, use_iou_net
    # layer2 has stride 8 (18x18 maps at 144 pixels): the tracker infers it from the map size.
    params.classifier_layer, params.score_upsample_factor = layer, upsample
    params.init_CG_iter, params.init_GN_iter = 20, 2
    from pytracking.tracker.atom.atom import ATOM
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
    from pytracking.parameter.atom.synthetic_no_iounet import parameters as synthetic_no_iounet
    base, variant = synthetic(), synthetic_no_iounet()
    assert base.use_iou_net and base.classifier_layer == "layer2"
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
