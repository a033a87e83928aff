import numpy as np
import pytest

from ltr.data.box_files import BoxFileError
from ltr.dataset.check import DatasetCheckError
from ltr.dataset.mot.motchallenge import MotChallenge, half_frame_range, read_seqinfo


@pytest.mark.parametrize("length, convention, train, val", [
    (600, "mmtracking", (1, 301), (302, 600)),
    (837, "mmtracking", (1, 419), (420, 837)),   # the middle frame 419 is in half-train
    (600, "fairmot", (1, 300), (301, 600)),
    (837, "fairmot", (1, 418), (419, 837)),      # the middle frame 419 is in half-val
])
def test_half_ranges(length, convention, train, val):
    assert half_frame_range(length, "half-train", convention) == train
    assert half_frame_range(length, "half-val", convention) == val


def test_mot17_lists_each_sequence_once_with_the_chosen_detector(tmp_path, trees):
    root = trees.make_benchmark(tmp_path)
    data = MotChallenge(root, "mot17", "train", detector="SDP")
    assert data.get_num_sequences() == 2
    assert [data.get_sequence_name(i) for i in range(2)] == ["MOT17-02", "MOT17-04"]
    det = data.get_detections(0)
    assert det.box[0, 0] == 5 + 200 + 1  # the SDP copy's detections
    frame = data.get_frame_annotation(0, 2)
    assert frame.ids.tolist() == [1, 2, 3, 4] and frame.classes.tolist() == [1, 1, 3, 1]
    np.testing.assert_allclose(frame.visibility, [1, 0.25, 1, 0.5])
    np.testing.assert_allclose(frame.mark, [1, 1, 0, 0])
    np.testing.assert_allclose(frame.boxes[0], [4, 4, 10, 20])
    images, annotations = data.get_frames(0, [1, 3])
    assert images[0].shape == (48, 64, 3) and len(annotations) == 2
    assert data.verify_tree() == []


def test_filters_and_halves(tmp_path, trees):
    root = trees.make_benchmark(tmp_path, "MOT16")
    data = MotChallenge(root, "mot16", "half-val", pedestrians_only=True, min_visibility=0.3, consider_only=True)
    rows = data.get_annotations(0)  # 5 frames: mmtracking half-val is frames 4..5
    assert sorted(set(rows.frame.tolist())) == [4, 5] and set(rows.id.tolist()) == {1}
    fair = MotChallenge(root, "mot16", "half-val", half_split="fairmot")
    assert fair.get_sequence(0).first == 3
    with pytest.raises(IndexError):
        data.get_frame_path(0, 1)


def test_mot15_has_pedestrian_class_and_full_visibility(tmp_path, trees):
    root = trees.make_benchmark(tmp_path, "MOT15")
    rows = MotChallenge(root, "mot15", "train").get_annotations(0)
    assert set(rows.classes.tolist()) == {1} and set(rows.visibility.tolist()) == {1.0}


def test_test_split_has_no_ground_truth(tmp_path, trees):
    root = trees.make_benchmark(tmp_path, "MOT20")
    data = MotChallenge(root, "mot20", "test")
    assert len(data.get_annotations(0)) == 0 and len(data.get_detections(0)) == 4
    assert data.verify_tree() == []


@pytest.mark.parametrize("line, words", [
    ("1,1,a,2,3,4,1,1,1", "not all numbers"),
    ("1,1,nan,2,3,4,1,1,1", "NaN"),
    ("1,1,1,2,0,4,1,1,1", "zero width or height"),
    ("1,1,1,2,-3,4,1,1,1", "negative size"),
    ("9,1,1,2,3,4,1,1,1", "beyond the sequence's 5 frames"),
    ("1,1,1,2,3", "expected at least seven numbers"),
])
def test_bad_ground_truth_names_file_and_line(tmp_path, trees, line, words):
    root = trees.make_benchmark(tmp_path, "MOT16", lengths=(5,))
    gt = root / "train" / "MOT16-02" / "gt" / "gt.txt"
    gt.write_text("1,1,1,2,3,4,1,1,1\n" + line + "\n")
    with pytest.raises(BoxFileError) as error:
        MotChallenge(root, "mot16", "train").get_annotations(0)
    message = str(error.value)
    assert str(gt) in message and "line 2" in message and words in message and ("fix" in message or "run" in message)


def test_missing_seqinfo_and_frames_are_reported(tmp_path, trees):
    root = trees.make_benchmark(tmp_path, "MOT16")
    (root / "train" / "MOT16-02" / "seqinfo.ini").unlink()
    (root / "train" / "MOT16-04" / "img1" / "000003.jpg").unlink()
    data = MotChallenge(root, "mot16", "train")
    problems = data.verify_tree()
    assert any("seqinfo.ini is missing" in p and "download" in p for p in problems)
    assert any("1 of 6 frames are missing" in p and "000003.jpg" in p for p in problems)
    with pytest.raises(DatasetCheckError):
        data.check()
    with pytest.raises(FileNotFoundError, match="seqinfo.ini is missing"):
        data.get_annotations(0)
    with pytest.raises(FileNotFoundError, match="000003.jpg is missing"):
        data.get_frames(1, [3])


def test_bad_seqinfo(tmp_path, trees):
    root = trees.make_benchmark(tmp_path, "MOT16")
    path = root / "train" / "MOT16-02" / "seqinfo.ini"
    path.write_text(path.read_text().replace("seqLength=5", "seqLength=five"))
    with pytest.raises(BoxFileError, match="seqLength='five' is not a int"):
        read_seqinfo(path.parent)


def test_root_from_environment(tmp_path, trees, monkeypatch, clean_env):
    root = trees.make_benchmark(tmp_path, "MOT20")
    monkeypatch.setenv("TRACKING_MOT20_DIR", str(root))
    assert MotChallenge(None, "mot20").root == root
