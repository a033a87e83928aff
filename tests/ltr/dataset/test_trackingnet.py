from pathlib import Path

import pytest

from admin.environment import EnvironmentPathError
from ltr.data.image_loader import ImageReadError, LazyFrame
from ltr.dataset import TrackingNet

# (set, name): boxes. The first two names are in ltr/data_specs/trackingnet_classmap.txt.
SEQUENCES = {
    (0, "Nf1aqv5Fg5o_0"): [[1, 1, 6, 4], [2, 1, 6, 4], [3, 1, 6, 4]],
    (0, "AAB6lO-XiKE_0"): [[0, 0, 5, 5], [0, 0, 5, 0], [float("nan"), 0, 5, 5], [1, 1, 5, 5]],
    (2, "AACM71csS-Q_0"): [[4, 4, 2, 3], [4, 5, 2, 3]],
    (2, "zz_not_in_the_class_map_0"): [[4, 4, 2, 3]],
}


@pytest.fixture
def root(tmp_path, frames) -> Path:
    root = tmp_path / "trackingnet"
    for index, ((set_id, name), boxes) in enumerate(SEQUENCES.items()):
        frames.write_lines(root / f"TRAIN_{set_id}" / "anno" / f"{name}.txt", frames.box_lines(boxes))
        for f in range(len(boxes)):
            frames.write_frame(root / f"TRAIN_{set_id}" / "frames" / name / f"{f}.jpg", frames.colour(index, f))
    (root / "TRAIN_0" / "anno" / "notes.md").write_text("not an annotation")
    return root


def test_sets_present_are_the_default(root):
    dataset = TrackingNet(str(root))
    assert dataset.get_name() == "trackingnet"
    assert dataset.set_ids == [0, 2]
    assert dataset.sequence_list == [(0, "AAB6lO-XiKE_0"), (0, "Nf1aqv5Fg5o_0"),
                                     (2, "AACM71csS-Q_0"), (2, "zz_not_in_the_class_map_0")]
    assert TrackingNet(str(root), set_ids=[2]).sequence_list == [(2, "AACM71csS-Q_0"), (2, "zz_not_in_the_class_map_0")]


def test_boxes_valid_and_visible(root):
    dataset = TrackingNet(str(root))
    info = dataset.get_sequence_info(0)
    assert info["bbox"].shape == (4, 4) and info["bbox"][3].tolist() == [1, 1, 5, 5]
    assert info["valid"].tolist() == [True, False, False, True]
    assert info["visible"].tolist() == info["valid"].tolist()


def test_frames_are_zero_based(root, frames):
    dataset = TrackingNet(str(root))
    seq = dataset.sequence_list.index((0, "Nf1aqv5Fg5o_0"))
    assert dataset.frame_path(seq, 0) == str(root / "TRAIN_0" / "frames" / "Nf1aqv5Fg5o_0" / "0.jpg")
    images, anno, meta = dataset.get_frames(seq, [2, 1])
    frames.assert_frame(images[0], frames.colour(0, 2))
    frames.assert_frame(images[1], frames.colour(0, 1))
    assert [b.tolist() for b in anno["bbox"]] == [[3, 1, 6, 4], [2, 1, 6, 4]]
    assert meta["object_class_name"] == "airplane"
    lazy, _, _ = dataset.get_frames(seq, [2], lazy=True)
    assert isinstance(lazy[0], LazyFrame) and (lazy[0].load()[0] == images[0]).all()


def test_classes_from_the_class_map(root):
    dataset = TrackingNet(str(root))
    assert dataset.has_class_info() and not dataset.has_occlusion_info()
    assert dataset.get_class_list() == ["airplane", "person"]
    assert dataset.get_sequences_in_class("person") == [0, 2]
    assert dataset.get_meta_info(3)["object_class_name"] is None


def test_data_fraction_is_reproducible(root):
    first = TrackingNet(str(root), data_fraction=0.5).sequence_list
    assert len(first) == 2 and first == TrackingNet(str(root), data_fraction=0.5).sequence_list


def test_errors(root, frames, clean_env, tmp_path):
    with pytest.raises(FileNotFoundError, match="TRAIN_1"):
        TrackingNet(str(root), set_ids=[0, 1])
    with pytest.raises(FileNotFoundError, match="none of TRAIN_0"):
        TrackingNet(str(tmp_path))
    with pytest.raises(EnvironmentPathError, match="trackingnet_dir.*TRACKING_TRACKINGNET_DIR"):
        TrackingNet()
    anno = root / "TRAIN_2" / "anno" / "AACM71csS-Q_0.txt"
    frames.write_lines(anno, ["4,4,2,3", "", "4,5,2,3"])
    dataset = TrackingNet(str(root), set_ids=[2])
    with pytest.raises(ValueError, match=rf"{anno}, line 2"):
        dataset.get_sequence_info(0)
    missing = root / "TRAIN_2" / "frames" / "zz_not_in_the_class_map_0" / "0.jpg"
    missing.unlink()
    with pytest.raises(ImageReadError, match=str(missing)):
        dataset.get_frames(1, [0])
