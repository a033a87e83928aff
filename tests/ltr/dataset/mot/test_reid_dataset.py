"""ReID crops and identities from generated MOTChallenge trees, by mot2reid's rules (hand-derived:
mot_trees.gt_rows has pedestrians 1 (visible) and 2 (visibility 0.25), car 3 and pedestrian 4
with mark 0 and visibility 0.5, in sequences of 5 and 6 frames)."""

import numpy as np
import pytest

from ltr.dataset.mot.motchallenge import MotChallenge
from ltr.dataset.mot.reid import MotReID, collect_identities, split_identities


def test_rows_kept_by_class_and_visibility_not_by_mark(tmp_path, trees):
    mot = MotChallenge(trees.make_benchmark(tmp_path), "mot17", "train")
    identities = collect_identities(mot)
    # id 2: visibility 0.25 < 0.3; id 3: class 3 (car); id 4 is kept though its mark is 0; FRCNN copies only
    assert list(identities) == ["MOT17-02-FRCNN_000001", "MOT17-02-FRCNN_000004",
                                "MOT17-04-FRCNN_000001", "MOT17-04-FRCNN_000004"]
    assert [len(crops) for crops in identities.values()] == [5, 5, 6, 6]
    assert identities["MOT17-04-FRCNN_000004"][2] == (1, 3, (11.0, 7.0, 10.0, 20.0))  # x = 2 * 4 + 3, y = 3 + 4
    assert len(collect_identities(mot, vis_threshold=0.25)) == 6  # id 2 passes at its own visibility


def test_2dmot15_rows_are_pedestrians_fully_visible(tmp_path, trees):
    mot = MotChallenge(trees.make_benchmark(tmp_path, "MOT15"), "mot15", "train")
    assert len(collect_identities(mot)) == 8  # all four ids of both sequences


def test_split_before_the_size_filter_and_labels_per_part(tmp_path, trees):
    mot = MotChallenge(trees.make_benchmark(tmp_path), "mot17", "train")
    # four identities: int(4 * 0.8) = 3 training names; then fewer than 6 crops are dropped
    train = MotReID(mot, subset="train", min_per_person=6)
    val = MotReID(mot, subset="val", min_per_person=6)
    both = MotReID(mot, subset="all", min_per_person=6)
    assert train.identities == ["MOT17-04-FRCNN_000001"] and train.num_classes == 1
    assert val.identities == ["MOT17-04-FRCNN_000004"] and val.labels.tolist() == [0] * 6
    assert both.identities == train.identities + val.identities and both.labels.tolist() == [0] * 6 + [1] * 6
    assert len(MotReID(mot, subset="train", min_per_person=5)) == 5 + 5 + 6


def test_too_many_crops_keep_a_seeded_sample():
    identities = {f"S_{i:06d}": [(0, frame, (0.0, 0.0, 1.0, 1.0)) for frame in range(1, 13)] for i in (1, 2)}
    parts = split_identities(identities, val_split=0.5, min_per_person=2, max_per_person=4)
    again = split_identities(identities, val_split=0.5, min_per_person=2, max_per_person=4)
    assert [len(crops) for _, crops, _ in parts["train"] + parts["val"]] == [4, 4]
    assert parts == again
    assert [label for _, _, label in parts["all"]] == [0, 1]
    with pytest.raises(ValueError, match="val_split"):
        split_identities(identities, val_split=1.0)


def test_crops_are_read_from_the_frames(tmp_path, trees):
    mot = MotChallenge(trees.make_benchmark(tmp_path), "mot17", "train")
    data = MotReID(mot, subset="all", min_per_person=5)
    index = next(i for i, crop in enumerate(data.crops) if crop.identity == "MOT17-02-FRCNN_000001" and crop.frame == 3)
    crop = data.get_crop(index)
    # box [5, 4, 10, 20] -> [5, 4, 15, 24], corners inclusive: 21 rows, 11 columns; frame 3 is grey 30
    assert crop.shape == (21, 11, 3) and crop.dtype == np.uint8
    assert abs(float(crop.mean()) - 30) < 3
    assert {int(k): v.tolist() for k, v in data.indices_by_label().items()}[0] == list(range(5))


def test_bad_subset_and_test_split(tmp_path, trees):
    root = trees.make_benchmark(tmp_path)
    with pytest.raises(ValueError, match="subset"):
        MotReID(MotChallenge(root, "mot17", "train"), subset="val_20")
    with pytest.raises(ValueError, match="no ground truth"):
        MotReID(MotChallenge(root, "mot17", "test"))
