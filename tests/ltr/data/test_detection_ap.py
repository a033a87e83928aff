"""bbox AP as COCO evaluates it (ltr.evaluation.detection_ap) on cases computed by hand."""

import numpy as np
import pytest

from ltr.dataset.mot.cocovid import EvaluationGroundTruth
from ltr.evaluation.detection_ap import IOU_THRESHOLDS, ImageDetections, coco_bbox_ap, coco_iou


def gt(*boxes, crowd=None):
    boxes = np.array(boxes, np.float64).reshape(-1, 4)
    crowd = np.zeros(len(boxes), bool) if crowd is None else np.array(crowd, bool)
    return EvaluationGroundTruth(0, boxes, boxes[:, 2] * boxes[:, 3], crowd)


def det(*rows):
    rows = np.array(rows, np.float64).reshape(-1, 5)
    return ImageDetections(rows[:, :4], rows[:, 4])


def test_one_perfect_detection_has_ap_one():
    # Precision is tp / (tp + fp + eps) as in COCO: 1 / (1 + 2.2e-16), which COCO prints as 1.000.
    result = coco_bbox_ap([gt([10, 10, 20, 40])], [det([10, 10, 20, 40, 0.9])])
    assert result == pytest.approx({"AP": 1.0, "AP50": 1.0, "AP75": 1.0}, abs=1e-12)


def test_a_detection_just_under_iou_0_6_matches_two_of_ten_thresholds():
    # IoU 59 / 100 = 0.59: matched at 0.5 and 0.55 only.
    result = coco_bbox_ap([gt([0, 0, 10, 10])], [det([0, 0, 10, 5.9, 0.5])])
    assert result["AP"] == pytest.approx(2 / 10) and result["AP50"] == pytest.approx(1.0) and result["AP75"] == 0.0
    # At exactly 60 / 100 the threshold 0.6 (linspace's third value is 0.6 itself) matches too: IoU >= t.
    assert coco_iou(np.array([[0, 0, 10, 6]]), np.array([[0, 0, 10, 10]]), np.array([False]))[0, 0] == 0.6
    assert IOU_THRESHOLDS[2] == 0.6
    assert coco_bbox_ap([gt([0, 0, 10, 10])], [det([0, 0, 10, 6, 0.5])])["AP"] == pytest.approx(3 / 10)


def test_a_false_positive_ranked_above_a_true_positive():
    # One ground truth; FP (0.9) then TP (0.8): precision [0, 1/2] -> envelope [1/2, 1/2]; every
    # recall threshold reads 1/2.
    result = coco_bbox_ap([gt([0, 0, 10, 10])], [det([50, 50, 10, 10, 0.9], [0, 0, 10, 10, 0.8])])
    assert result["AP"] == pytest.approx(0.5)
    # Two ground truths; TP (0.9), FP (0.8), TP (0.7): recall [.5, .5, 1], precision [1, 1/2, 2/3]
    # -> envelope [1, 2/3, 2/3]; thresholds 0.00..0.50 (51 of them) read 1, 0.51..1.00 (50) read 2/3.
    result = coco_bbox_ap([gt([0, 0, 10, 10], [30, 0, 10, 10])],
                          [det([0, 0, 10, 10, 0.9], [60, 60, 10, 10, 0.8], [30, 0, 10, 10, 0.7])])
    assert result["AP"] == pytest.approx((51 * 1 + 50 * 2 / 3) / 101)


def test_detections_are_ranked_across_images():
    # Image 1: a FP at 0.95; image 2: a TP at 0.9 -> the same as FP above TP in one image.
    result = coco_bbox_ap([gt(), gt([0, 0, 10, 10])], [det([0, 0, 5, 5, 0.95]), det([0, 0, 10, 10, 0.9])])
    assert result["AP"] == pytest.approx(0.5)


def test_a_detection_on_a_crowd_region_is_ignored_not_false():
    # The crowd region's IoU is intersection / detection area: a small box inside it has IoU 1.
    assert coco_iou(np.array([[60, 60, 5, 5]]), np.array([[50, 50, 100, 100]]), np.array([True]))[0, 0] == 1.0
    image = gt([0, 0, 10, 10], [50, 50, 100, 100], crowd=[False, True])
    detections = det([60, 60, 5, 5, 0.9], [0, 0, 10, 10, 0.8], [70, 70, 5, 5, 0.85])
    assert coco_bbox_ap([image], [detections])["AP"] == pytest.approx(1.0)
    # Without the crowd flag both inner boxes are false positives above the true one: 1/3 precision.
    plain = gt([0, 0, 10, 10], [50, 50, 100, 100])
    assert coco_bbox_ap([plain], [detections])["AP"] == pytest.approx((1 / 3 * 51 + 0 * 50) / 101)


def test_a_regular_match_comes_before_a_crowd_region_and_each_truth_matches_once():
    # Two detections on one regular box: the second is a false positive, not a second match.
    result = coco_bbox_ap([gt([0, 0, 10, 10])], [det([0, 0, 10, 10, 0.9], [0, 0, 10, 10, 0.8])])
    assert result["AP"] == pytest.approx(1.0)  # the FP comes after full recall
    # A box overlapping a regular truth (IoU 0.6) and lying inside a crowd region (IoU 1) matches the regular one.
    image = gt([0, 0, 10, 10], [0, 0, 100, 100], crowd=[False, True])
    assert coco_bbox_ap([image], [det([0, 0, 10, 6, 0.9])])["AP50"] == pytest.approx(1.0)


def test_max_dets_cuts_each_image_by_score():
    # The true detection is the lowest of three: with max_dets 2 it is cut and recall stays 0.
    detections = det([50, 50, 5, 5, 0.9], [60, 60, 5, 5, 0.8], [0, 0, 10, 10, 0.1])
    assert coco_bbox_ap([gt([0, 0, 10, 10])], [detections], max_dets=2)["AP"] == 0.0
    assert coco_bbox_ap([gt([0, 0, 10, 10])], [detections], max_dets=3)["AP"] == pytest.approx(1 / 3)


def test_no_ground_truth_gives_coco_minus_one():
    assert coco_bbox_ap([gt()], [det([0, 0, 1, 1, 0.5])])["AP"] == -1.0
    with pytest.raises(ValueError, match="2 images"):
        coco_bbox_ap([gt(), gt()], [det()])


def test_agrees_with_pycocotools_on_random_scenes():
    """The vectorised rules against COCOeval itself (bbox, one category, area 'all'), crowd
    regions and ties included, at COCO's 100 detections per image and a cut at 5."""
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    from pycocotools.coco import COCO

    rng = np.random.default_rng(7)
    images, annotations, results, truths, detections = [], [], [], [], []
    for image_id in range(1, 13):
        n = int(rng.integers(0, 6))
        boxes = np.column_stack([rng.uniform(0, 80, (n, 2)), rng.uniform(5, 30, (n, 2))])
        crowd = rng.random(n) < 0.2
        images.append({"id": image_id, "width": 120, "height": 120})
        for box, is_crowd in zip(boxes, crowd):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": box.tolist(), "area": float(box[2] * box[3]), "iscrowd": int(is_crowd)})
        truths.append(EvaluationGroundTruth(image_id, boxes, boxes[:, 2] * boxes[:, 3], crowd))
        jitter = boxes[rng.integers(0, max(n, 1), 8) % max(n, 1)] if n else np.zeros((0, 4))
        d = np.concatenate([jitter + rng.normal(0, 3, jitter.shape) * [1, 1, 0.5, 0.5],
                            np.column_stack([rng.uniform(0, 80, (3, 2)), rng.uniform(5, 30, (3, 2))])])
        d[:, 2:] = np.abs(d[:, 2:]) + 1
        scores = np.round(rng.random(len(d)), 1)  # ties
        detections.append(ImageDetections(d, scores))
        results += [{"image_id": image_id, "category_id": 1, "bbox": b.tolist(), "score": float(s)}
                    for b, s in zip(d, scores)]
    ground = COCO()
    ground.dataset = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "pedestrian"}]}
    ground.createIndex()
    for max_dets in (100, 5):
        evaluation = cocoeval.COCOeval(ground, ground.loadRes(results), "bbox")
        evaluation.params.maxDets = [1, 2, max_dets]  # COCOeval sorts them: the last must be the largest
        evaluation.evaluate()
        evaluation.accumulate()
        precision = evaluation.eval["precision"][:, :, 0, 0, -1]  # (T, R) at area 'all', the last maxDets
        expected = {"AP": precision.mean(), "AP50": precision[0].mean(), "AP75": precision[5].mean()}
        assert coco_bbox_ap(truths, detections, max_dets=max_dets) == pytest.approx(expected, abs=1e-12)
