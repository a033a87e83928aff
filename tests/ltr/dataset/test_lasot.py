from pathlib import Path

import pytest

from admin.environment import EnvironmentPathError
from ltr.data.image_loader import ImageReadError, LazyFrame
from ltr.dataset import Lasot

# name: boxes, full occlusion, out of view
SEQUENCES = {
    "airplane-1": ([[1, 1, 5, 5], [2, 2, 5, 5], [3, 3, 5, 5], [4, 4, 5, 5]], [0, 1, 0, 0], [0, 0, 1, 0]),
    "airplane-2": ([[0, 0, 3, 3], [0, 0, -1, 3]], [0, 0], [0, 0]),
    "bird-1": ([[5, 5, 2, 2], [6, 6, 2, 2], [7, 7, 2, 2]], [0, 0, 0], [1, 1, 0]),
    "bird-3": ([[5, 5, 2, 2]], [0], [0]),
}


@pytest.fixture
def root(tmp_path, frames) -> Path:
    root = tmp_path / "lasot"
    for index, (name, (boxes, occlusion, out_of_view)) in enumerate(SEQUENCES.items()):
        folder = root / name.split("-")[0] / name
        frames.write_lines(folder / "groundtruth.txt", frames.box_lines(boxes))
        frames.write_lines(folder / "full_occlusion.txt", [",".join(map(str, occlusion))])
        frames.write_lines(folder / "out_of_view.txt", [",".join(map(str, out_of_view))])
        for f in range(len(boxes)):
            frames.write_frame(folder / "img" / f"{f + 1:08d}.jpg", frames.colour(index, f))
    (root / "README.txt").write_text("not a class folder")
    return root


def test_vid_ids_select_sequences_of_every_class(root):
    dataset = Lasot(str(root), vid_ids=[1])
    assert dataset.get_name() == "lasot"
    assert dataset.sequence_list == ["airplane-1", "bird-1"]
    assert Lasot(str(root), vid_ids=[2, 1]).sequence_list == ["airplane-2", "airplane-1", "bird-2", "bird-1"]


def test_boxes_and_visibility(root):
    dataset = Lasot(str(root), vid_ids=[1, 2])
    info = dataset.get_sequence_info(0)
    assert info["bbox"].shape == (4, 4) and info["bbox"][2].tolist() == [3, 3, 5, 5]
    assert info["valid"].all()
    assert info["visible"].tolist() == [True, False, False, True]
    assert "visible_ratio" not in info
    second = dataset.get_sequence_info(1)
    assert second["valid"].tolist() == [True, False]
    assert second["visible"].tolist() == [True, False]


def test_frames_classes_and_meta(root, frames):
    dataset = Lasot(str(root), vid_ids=[1, 3])
    assert dataset.sequence_list == ["airplane-1", "airplane-3", "bird-1", "bird-3"]
    seq = dataset.sequence_list.index("bird-1")
    assert dataset.frame_path(seq, 2) == str(root / "bird" / "bird-1" / "img" / "00000003.jpg")
    images, anno, meta = dataset.get_frames(seq, [2, 0])
    frames.assert_frame(images[0], frames.colour(2, 2))
    frames.assert_frame(images[1], frames.colour(2, 0))
    assert [v.item() for v in anno["visible"]] == [True, False]
    assert meta["object_class_name"] == "bird" and meta["motion_class"] is None
    lazy, _, _ = dataset.get_frames(seq, [2], lazy=True)
    assert isinstance(lazy[0], LazyFrame) and (lazy[0].load()[0] == images[0]).all()
    assert dataset.has_class_info() and dataset.has_occlusion_info()
    assert dataset.get_class_list() == ["airplane", "bird"]
    assert dataset.get_sequences_in_class("bird") == [2, 3]


def test_listed_sequence_without_folder(root):
    dataset = Lasot(str(root), vid_ids=[2])
    assert dataset.sequence_list == ["airplane-2", "bird-2"]
    with pytest.raises(FileNotFoundError, match="bird-2"):
        dataset.get_sequence_info(1)


def test_train_split(root):
    dataset = Lasot(str(root), split="train")
    assert len(dataset) == 1120
    assert dataset.sequence_list[0] == "airplane-10"
    assert dataset.get_num_classes() == 70
    assert len(dataset.get_sequences_in_class("airplane")) == 16
    with pytest.raises(ValueError, match="either split or vid_ids"):
        Lasot(str(root), split="train", vid_ids=[1])
    with pytest.raises(ValueError, match="unknown LaSOT split"):
        Lasot(str(root), split="test")
    with pytest.raises(ValueError, match="split='train' or vid_ids"):
        Lasot(str(root))


def test_data_fraction_is_reproducible(root):
    first = Lasot(str(root), split="train", data_fraction=0.1).sequence_list
    assert len(first) == 112
    assert first == Lasot(str(root), split="train", data_fraction=0.1).sequence_list
    assert first != Lasot(str(root), split="train").sequence_list[:112]


def test_errors(root, frames, clean_env, tmp_path):
    with pytest.raises(EnvironmentPathError, match="lasot_dir.*TRACKING_LASOT_DIR"):
        Lasot(vid_ids=[1])
    with pytest.raises(EnvironmentPathError, match=f"{tmp_path / 'nowhere'}.*TRACKING_LASOT_DIR"):
        Lasot(str(tmp_path / "nowhere"), vid_ids=[1])
    groundtruth = root / "airplane" / "airplane-1" / "groundtruth.txt"
    frames.write_lines(groundtruth, ["1,1,5,5", "2,2,5,5", "3,3,5,5,9", "4,4,5,5"])
    with pytest.raises(ValueError, match=rf"{groundtruth}, line 3"):
        Lasot(str(root), vid_ids=[1]).get_sequence_info(0)
    occlusion = root / "bird" / "bird-1" / "full_occlusion.txt"
    frames.write_lines(occlusion, ["0,x,0"])
    with pytest.raises(ValueError, match=rf"{occlusion}, line 1: label 'x'"):
        Lasot(str(root), vid_ids=[1]).get_sequence_info(1)
    missing = root / "bird" / "bird-3" / "img" / "00000001.jpg"
    missing.unlink()
    with pytest.raises(ImageReadError, match=str(missing)):
        Lasot(str(root), vid_ids=[3]).get_frames(1, [0])
