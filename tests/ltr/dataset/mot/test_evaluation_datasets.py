"""The MOT evaluation datasets mot15, mot16, mot20 (train, _test, _half_val) and synthetic_mot /
synthetic_mot_train on generated trees in the MOTChallenge layout (``mot_trees``): sequence
names, frames, the split's frame range, ground truth in the MOT16/17/20 columns, and the public
detections each frame hands the tracker. Expected values are derived from ``mot_trees``' rows:
detection of frame n is ``[5 + n, 6, 11, 21]`` with score ``0.(n % 9 + 1)``; ground truth has ids
1-4 on every frame (id 2 visibility 0.25, id 3 class 3)."""

from __future__ import annotations

import numpy as np
import pytest

from admin.environment import EnvironmentPathError
from pytracking.evaluation import get_dataset


def detection(n: int) -> list[float]:
    return [5.0 + n, 6.0, 11.0, 21.0, (n % 9 + 1) / 10]


@pytest.mark.parametrize("benchmark, name", [("MOT15", "mot15"), ("MOT16", "mot16"), ("MOT20", "mot20")])
def test_train_split_is_every_frame(tmp_path, trees, benchmark, name):
    root = trees.make_benchmark(tmp_path, benchmark)  # train: -02 (5 frames), -04 (6 frames)
    seqs = get_dataset(name, root=root)
    assert seqs.names() == [f"{benchmark}-02", f"{benchmark}-04"]
    seq = seqs[f"{benchmark}-04"]
    assert len(seq) == 6 and seq.first_frame == 1 and seq.dataset == f"{name}_train"
    assert seq.frames == [str(root / "train" / f"{benchmark}-04" / "img1" / f"{n:06d}.jpg") for n in range(1, 7)]
    gt = seq.ground_truth
    assert len(gt) == 4 * 6 and sorted(set(gt.id.tolist())) == [1, 2, 3, 4]
    np.testing.assert_allclose(seq.init_info()["detections"], [detection(1)])
    assert seq.init_info()["sequence_name"] == f"{benchmark}-04" and "sequence_name" not in seq.frame_info(1)
    np.testing.assert_allclose(seq.frame_info(5)["detections"], [detection(6)])


def test_mot15_ground_truth_gets_the_pedestrian_columns(tmp_path, trees):
    # 2DMOT15 has world coordinates (-1) after the mark: read as class 1, visibility 1.
    gt = get_dataset("mot15", root=trees.make_benchmark(tmp_path, "MOT15"))[0].ground_truth
    assert np.all(gt.classes == 1) and np.all(gt.visibility == 1.0)


@pytest.mark.parametrize("benchmark, name", [("MOT16", "mot16"), ("MOT20", "mot20")])
def test_ground_truth_keeps_classes_visibility_and_marks(tmp_path, trees, benchmark, name):
    gt = get_dataset(name, root=trees.make_benchmark(tmp_path, benchmark))[0].ground_truth
    by_id = {identity: gt.select(gt.id == identity) for identity in (1, 2, 3, 4)}
    assert np.all(by_id[2].visibility == 0.25) and np.all(by_id[3].classes == 3)
    assert np.all(by_id[3].score == 0) and np.all(by_id[1].score == 1)


@pytest.mark.parametrize("benchmark, name", [("MOT15", "mot15"), ("MOT16", "mot16"), ("MOT20", "mot20")])
def test_half_val_is_the_second_half(tmp_path, trees, benchmark, name):
    root = trees.make_benchmark(tmp_path, benchmark)
    seqs = get_dataset(f"{name}_half_val", root=root)
    # mmtracking cuts after N // 2 + 1: 5 frames -> 4..5, 6 frames -> 5..6.
    five, six = seqs[f"{benchmark}-02"], seqs[f"{benchmark}-04"]
    assert (len(five), five.first_frame, len(six), six.first_frame) == (2, 4, 2, 5)
    assert [f[-10:] for f in five.frames] == ["000004.jpg", "000005.jpg"]
    assert sorted(set(five.ground_truth.frame.tolist())) == [4, 5] and len(five.ground_truth) == 8
    np.testing.assert_allclose(five.init_info()["detections"], [detection(4)])
    np.testing.assert_allclose(six.frame_info(1)["detections"], [detection(6)])
    # FairMOT cuts after N // 2: 5 frames -> 3..5.
    fair = get_dataset(f"{name}_half_val", root=root, half_split="fairmot")[f"{benchmark}-02"]
    assert (len(fair), fair.first_frame) == (3, 3)
    np.testing.assert_allclose(fair.init_info()["detections"], [detection(3)])


@pytest.mark.parametrize("benchmark, name", [("MOT15", "mot15"), ("MOT16", "mot16"), ("MOT20", "mot20")])
def test_test_split_has_detections_and_no_ground_truth(tmp_path, trees, benchmark, name):
    seqs = get_dataset(f"{name}_test", root=trees.make_benchmark(tmp_path, benchmark))
    assert seqs.names() == [f"{benchmark}-01"]
    seq = seqs[0]
    assert len(seq) == 4 and len(seq.ground_truth) == 0
    np.testing.assert_allclose(seq.frame_info(3)["detections"], [detection(4)])


def test_sequences_option_and_root_from_the_environment(tmp_path, trees, monkeypatch):
    root = trees.make_benchmark(tmp_path, "MOT20")
    monkeypatch.setenv("TRACKING_MOT20_DIR", str(root))
    assert get_dataset("mot20", sequences=["MOT20-04"]).names() == ["MOT20-04"]


def test_unset_root_names_the_field(monkeypatch):
    monkeypatch.delenv("TRACKING_MOT16_DIR", raising=False)
    with pytest.raises(EnvironmentPathError, match="mot16_dir"):
        get_dataset("mot16")


def test_synthetic_mot_val_and_train(tmp_path, trees, monkeypatch):
    # The generator's layout: train/ and val/ with ground truth (no test/).
    root = tmp_path / "synthetic_mot"
    trees.write_sequence(root / "train" / "SYN-01", "SYN-01", 5, trees.gt_rows(5), trees.det_rows(5))
    trees.write_sequence(root / "train" / "SYN-02", "SYN-02", 4, trees.gt_rows(4), trees.det_rows(4))
    trees.write_sequence(root / "val" / "SYN-03", "SYN-03", 3, trees.gt_rows(3), trees.det_rows(3, 0.5))
    monkeypatch.setenv("TRACKING_SYNTHETIC_MOT_DIR", str(root))
    train = get_dataset("synthetic_mot_train")
    assert train.names() == ["SYN-01", "SYN-02"] and [len(s) for s in train] == [5, 4]
    val = get_dataset("synthetic_mot")
    assert val.names() == ["SYN-03"] and val[0].dataset == "synthetic_mot"
    assert len(val[0].ground_truth) == 4 * 3
    np.testing.assert_allclose(val[0].init_info()["detections"], [[6.5, 6.0, 11.0, 21.0, 0.2]])
