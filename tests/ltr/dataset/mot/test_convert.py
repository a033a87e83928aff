import json

import numpy as np

from ltr.data.box_files import read_jde_labels
from ltr.data.boxes import cxcywh_to_xywh
from ltr.dataset.mot.convert import crowdhuman_to_labels, main, mot_to_coco, mot_to_labels
from ltr.dataset.mot.crowdhuman import CrowdHuman
from ltr.dataset.mot.motchallenge import MotChallenge
from pytracking.evaluation.datasets import get_dataset


def test_coco_files_follow_mmtracking(tmp_path, trees):
    root = trees.make_benchmark(tmp_path, "MOT16", lengths=(5, 6))
    files = mot_to_coco(root, tmp_path / "out")
    train = json.loads(files["train"].read_text())
    assert len(train["videos"]) == 2 and len(train["images"]) == 11 and train["num_instances"] == 8
    half_val = json.loads(files["half-val"].read_text())
    first = half_val["images"][0]
    assert first["mot_frame_id"] == 4 and first["frame_id"] == 0 and first["file_name"] == "MOT16-02/img1/000004.jpg"
    assert half_val["videos"][0]["id"] == 5  # ids run on across subsets
    ann = train["annotations"][0]
    assert ann["bbox"] == [3.0, 4.0, 10.0, 20.0] and ann["instance_id"] == 0 and ann["category_id"] == 1
    # Reading back gives the ground truth's boxes.
    rows = MotChallenge(root, "mot16").get_annotations(0)
    boxes = [a["bbox"] for a in train["annotations"] if a["image_id"] <= 5]
    assert sorted(map(tuple, boxes)) == sorted(map(tuple, rows.box.tolist()))


def test_mot_labels_follow_fairmot_and_read_back(tmp_path, trees):
    root = trees.make_benchmark(tmp_path, "MOT16", lengths=(5,))
    count = mot_to_labels(root / "train", tmp_path / "labels")
    assert count == 2  # ids 1 and 2: the car and the mark-0 person are dropped
    labels = read_jde_labels(tmp_path / "labels" / "MOT16-02" / "img1" / "000002.txt")
    assert labels[:, 1].tolist() == [1, 2]
    boxes = cxcywh_to_xywh(labels[:, 2:6] * np.array([64, 48, 64, 48]))
    np.testing.assert_allclose(boxes, [[4, 4, 10, 20], [6, 5, 10, 20]], atol=1e-4)


def test_crowdhuman_labels_and_reader(tmp_path, trees):
    base = trees.make_crowdhuman(tmp_path)
    assert main(["crowdhuman-labels", "--annotation", str(base / "annotation_train.odgt"), "--images",
                 str(base / "Images"), "--out", str(tmp_path / "labels")]) == 0
    labels = read_jde_labels(tmp_path / "labels" / "273271,1a0d6000b9e1f5b7.txt")
    assert labels[:, 1].tolist() == [0, 1]
    boxes = cxcywh_to_xywh(labels[:, 2:6] * np.array([80, 60, 80, 60]))
    np.testing.assert_allclose(boxes, [[-3, 4, 20, 30], [30, 5, 12, 25]], atol=1e-4)
    assert not (tmp_path / "labels" / "284193,faa9000f2678b5e.txt").exists()
    data = CrowdHuman(base, "val")
    assert data.get_annotation(0).shape == (2, 4) and data.verify_tree() == []


def test_evaluation_mot17(tmp_path, trees):
    root = trees.make_benchmark(tmp_path, "MOT17", lengths=(5,))
    seqs = get_dataset("mot17_half_val", root=root, detector="SDP")
    assert seqs.names() == ["MOT17-02-SDP"]
    seq = seqs[0]
    assert len(seq) == 2 and seq.first_frame == 4 and seq.frames[0].endswith("MOT17-02-SDP/img1/000004.jpg")
    assert seq.init_info()["detections"].shape == (1, 5)
    np.testing.assert_allclose(seq.frame_info(1)["detections"], [[210, 6, 11, 21, 0.6]])
    assert set(seq.ground_truth.frame.tolist()) == {4, 5}
