"""COCO(-video) detection sets (ltr.dataset.mot.cocovid): mmdetection's CocoDataset rules, on the
converter's files of a generated MOT17 tree and on hand-written files; errors name the file."""

import json

import numpy as np
import pytest

from ltr.dataset.mot.cocovid import CocoAnnotationError, CocoDetectionSet
from ltr.dataset.mot.convert import mot_to_coco


def test_reads_the_converters_half_train_file(trees, tmp_path):
    root = trees.make_benchmark(tmp_path)  # MOT17-02 (5 frames), MOT17-04 (6), three detector copies each
    files = mot_to_coco(root, root / "annotations")
    train = CocoDetectionSet(files["half-train"], root / "train")
    # half-train: frames 1..N//2+1 -> 3 + 4 frames, in 3 copies.
    assert len(train) == 21
    first = train[0]
    assert first.path == root / "train" / "MOT17-02-DPM" / "img1" / "000001.jpg" and first.frame_id == 0
    # Class-1 rows whatever their mark (ids 1, 2 and the zero-marked 4); the car (class 3) is not a pedestrian.
    # Row of id k in frame n: x = 2k + n, y = 3 + k, 10 x 20.
    np.testing.assert_allclose(first.boxes, [[3, 4, 13, 24], [5, 5, 15, 25], [9, 7, 19, 27]])
    assert first.labels.tolist() == [1, 1, 1] and first.ignore_boxes.shape == (0, 4)
    assert train.read_image(0).shape == (48, 64, 3)
    val = CocoDetectionSet(files["half-val"], root / "train", test_mode=True)
    assert len(val) == 3 * (2 + 2)  # frames 4..5 and 5..6
    truth = val.evaluation_ground_truth()[0]
    assert truth.boxes.shape == (3, 4) and not truth.crowd.any()
    assert val.take_every(2).evaluation_ground_truth()[1].image_id == val[2].id


def write(path, images, annotations, categories=({"id": 1, "name": "pedestrian"}, {"id": 2, "name": "car"})):
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": list(categories)}))
    return path


def image(image_id, width=100, height=80):
    return {"id": image_id, "file_name": f"{image_id}.jpg", "width": width, "height": height}


def ann(image_id, bbox, **extra):
    return {"image_id": image_id, "category_id": 1, "bbox": bbox, "area": bbox[2] * bbox[3], **extra}


def test_mmdetection_rules_per_annotation(tmp_path):
    annotations = [
        ann(1, [10, 10, 20, 30]),  # kept
        ann(1, [10, 10, 20, 30], ignore=True),  # 'ignore': skipped entirely
        ann(1, [100, 10, 20, 30]),  # starts at the right border: no overlap with the image
        ann(1, [-30, 10, 20, 30]),  # left of the image
        ann(1, [10, 10, 0.5, 30]),  # w < 1
        {**ann(1, [10, 10, 20, 30]), "area": 0},  # area <= 0
        {**ann(1, [1, 2, 3, 4]), "category_id": 2},  # another class
        ann(1, [40, 5, 30, 40], iscrowd=1),  # a crowd region: an ignore box
        ann(1, [90, 70, 20, 20]),  # over the border: kept unclipped
    ]
    source = CocoDetectionSet(write(tmp_path / "a.json", [image(1)], annotations), tmp_path)
    np.testing.assert_allclose(source[0].boxes, [[10, 10, 30, 40], [90, 70, 110, 90]])
    np.testing.assert_allclose(source[0].ignore_boxes, [[40, 5, 70, 45]])
    # COCO evaluation sees every pedestrian annotation, the crowd flag marking the region.
    truth = source.evaluation_ground_truth()[0]
    assert len(truth.boxes) == 8 and truth.crowd.tolist() == [False] * 6 + [True, False]


def test_training_leaves_out_images_without_pedestrians_or_too_small(tmp_path):
    images = [image(1), image(2), image(3, width=31), image(4)]
    annotations = [ann(1, [1, 1, 5, 5]), {**ann(2, [1, 1, 5, 5]), "category_id": 2}, ann(3, [1, 1, 5, 5]),
                   ann(4, [200, 200, 5, 5])]  # image 4's only box lies outside it: kept, with no box
    path = write(tmp_path / "a.json", images, annotations)
    assert [i.id for i in CocoDetectionSet(path, tmp_path)] == [1, 4]
    assert [i.id for i in CocoDetectionSet(path, tmp_path, test_mode=True)] == [1, 2, 3, 4]


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json.*convert coco"):
        CocoDetectionSet(tmp_path / "missing.json", tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CocoAnnotationError, match="bad.json is not valid JSON"):
        CocoDetectionSet(tmp_path / "bad.json", tmp_path)
    with pytest.raises(CocoAnnotationError, match="refers to image id 7"):
        CocoDetectionSet(write(tmp_path / "a.json", [image(1)], [ann(7, [1, 1, 5, 5])]), tmp_path)
    with pytest.raises(CocoAnnotationError, match="b.json has no category named 'pedestrian'"):
        CocoDetectionSet(write(tmp_path / "b.json", [image(1)], [], categories=[{"id": 1, "name": "person"}]), tmp_path)
    with pytest.raises(CocoAnnotationError, match="c.json is not a COCO annotation file"):
        CocoDetectionSet(write(tmp_path / "c.json", [{"id": 1}], []), tmp_path)
    source = CocoDetectionSet(write(tmp_path / "d.json", [image(1)], [ann(1, [1, 1, 5, 5])]), tmp_path)
    with pytest.raises(FileNotFoundError, match=r"1\.jpg \(image id 1 of .*d.json\) is missing"):
        source.read_image(0)
    with pytest.raises(FileNotFoundError, match="1 image"):
        source.check_images()
