import pickle
from pathlib import Path

import pytest
import torch

from admin.environment import EnvironmentPathError
from ltr.data.image_loader import ImageReadError, LazyFrame
from ltr.dataset import Got10k
from ltr.dataset import got10k as got10k_module

NAMES = ["GOT-10k_Train_000001", "GOT-10k_Train_000002", "GOT-10k_Train_000003"]
# Per sequence: boxes, absence, cover, meta_info lines.
SEQUENCES = [
    ([[1, 2, 10, 8], [2.5, 3, 10, 8], [3, 4, 10, 8], [4, 5, 0, 8], [5, 6, 10, 8]],
     [0, 0, 1, 0, 0], [8, 4, 0, 0, 8],
     ["url: https://example.org/a", "begin: 00:00:01", "anno_fps: 10Hz", "object_class: dog",
      "motion_class: running", "major_class: canine", "root_class: animal", "motion_adverb: quickly",
      "resolution: (24, 16)"]),
    ([[0, 0, 4, 4], [1, 1, 4, 4], [2, 2, 4, 4]], [0, 0, 0], [8, 8, 3],
     ["object_class: cat", "root_class: animal"]),
    ([[7, 7, 3, 3], [7, 7, 3, 3]], [0, 0], [8, 8],
     ["object_class: dog", "motion_class: walking"]),
]


def write_sequence(folder: Path, index: int, frames, boxes, absence, cover, meta) -> None:
    frames.write_lines(folder / "groundtruth.txt", frames.box_lines(boxes))
    frames.write_lines(folder / "absence.label", [str(v) for v in absence])
    frames.write_lines(folder / "cover.label", [str(v) for v in cover])
    frames.write_lines(folder / "meta_info.ini", ["[METAINFO]"] + meta)
    for f in range(len(boxes)):
        frames.write_frame(folder / f"{f + 1:08d}.jpg", frames.colour(index, f))


@pytest.fixture
def root(tmp_path, frames) -> Path:
    root = tmp_path / "got10k" / "train"
    frames.write_lines(root / "list.txt", NAMES)
    for index, (name, sequence) in enumerate(zip(NAMES, SEQUENCES)):
        write_sequence(root / name, index, frames, *sequence)
    return root


def test_sequences_boxes_and_masks(root):
    dataset = Got10k(str(root))
    assert len(dataset) == dataset.get_num_sequences() == 3
    assert dataset.get_name() == "got10k" and dataset.is_video_sequence() and not dataset.is_synthetic_video_dataset()
    assert dataset.sequence_list == NAMES
    info = dataset.get_sequence_info(0)
    assert info["bbox"].dtype == torch.float32 and info["bbox"].shape == (5, 4)
    assert torch.equal(info["bbox"][1], torch.tensor([2.5, 3, 10, 8]))
    assert info["valid"].tolist() == [True, True, True, False, True]
    # frame 2 absent, frame 3 cover 0, frame 3 also has an empty box
    assert info["visible"].tolist() == [True, True, False, False, True]
    assert info["visible_ratio"].tolist() == [1.0, 0.5, 0.0, 0.0, 1.0]
    assert dataset.get_sequence_info(1)["visible"].tolist() == [True, True, True]


def test_sequence_info_is_a_copy(root):
    dataset = Got10k(str(root))
    dataset.get_sequence_info(0)["bbox"][:] = -1
    assert dataset.get_sequence_info(0)["bbox"][0, 0] == 1


def test_frames_follow_the_file_order(root, frames):
    dataset = Got10k(str(root))
    assert dataset.frame_path(0, 0) == str(root / NAMES[0] / "00000001.jpg")
    images, anno, meta = dataset.get_frames(0, [4, 0, 2])
    for image, f in zip(images, [4, 0, 2]):
        frames.assert_frame(image, frames.colour(0, f))
    assert set(anno) == {"bbox", "valid", "visible", "visible_ratio"}
    assert [b.tolist() for b in anno["bbox"]] == [[5, 6, 10, 8], [1, 2, 10, 8], [3, 4, 10, 8]]
    assert [v.item() for v in anno["visible"]] == [True, True, False]
    assert meta == {"object_class_name": "dog", "motion_class": "running", "major_class": "canine",
                    "root_class": "animal", "motion_adverb": "quickly"}


def test_given_anno_and_lazy_frames(root, frames):
    dataset = Got10k(str(root))
    anno = {"bbox": dataset.get_sequence_info(1)["bbox"]}
    lazy, lazy_anno, _ = dataset.get_frames(1, [2, 1], anno, lazy=True)
    assert all(isinstance(frame, LazyFrame) for frame in lazy)
    assert list(lazy_anno) == ["bbox"]
    image, reduction = lazy[0].load()
    assert reduction == 1
    frames.assert_frame(image, frames.colour(1, 2))
    eager, _, _ = dataset.get_frames(1, [2, 1], anno)
    assert (lazy[1].load()[0] == eager[1]).all()


def test_meta_info_tolerates_missing_keys_and_files(root):
    dataset = Got10k(str(root))
    assert dataset.get_meta_info(1) == {"object_class_name": "cat", "motion_class": None, "major_class": None,
                                        "root_class": "animal", "motion_adverb": None}
    (root / NAMES[2] / "meta_info.ini").unlink()
    assert Got10k(str(root)).get_meta_info(2) == dict.fromkeys(
        ["object_class_name", "motion_class", "major_class", "root_class", "motion_adverb"])


def test_classes(root):
    dataset = Got10k(str(root))
    assert dataset.has_class_info() and dataset.has_occlusion_info()
    assert dataset.get_class_list() == ["cat", "dog"]
    assert dataset.get_num_classes() == 2
    assert dataset.get_sequences_in_class("dog") == [0, 2]
    assert dataset.get_sequences_in_class("cat") == [1]
    with pytest.raises(KeyError, match="horse"):
        dataset.get_sequences_in_class("horse")


def test_seq_ids_and_data_fraction(root):
    dataset = Got10k(str(root), seq_ids=[2, 0])
    assert dataset.sequence_list == [NAMES[2], NAMES[0]]
    assert dataset.get_sequence_info(1)["bbox"].shape == (5, 4)
    first = Got10k(str(root), data_fraction=0.67).sequence_list
    assert len(first) == 2 and set(first) <= set(NAMES)
    assert Got10k(str(root), data_fraction=0.67).sequence_list == first
    with pytest.raises(ValueError, match="data_fraction"):
        Got10k(str(root), data_fraction=0)
    with pytest.raises(ValueError, match="split or seq_ids"):
        Got10k(str(root), split="train", seq_ids=[0])
    with pytest.raises(ValueError, match="refers to sequence 7 but .*list.txt has 3"):
        Got10k(str(root), seq_ids=[0, 7])


def test_published_splits_index_list_txt(tmp_path, frames):
    root = tmp_path / "train"
    names = [f"GOT-10k_Train_{i + 1:06d}" for i in range(9335)]
    frames.write_lines(root / "list.txt", names)
    first_train = got10k_module.read_split_indices("train")[0]
    write_sequence(root / names[first_train], 0, frames, *SEQUENCES[1])
    lengths = {}
    for split, file in got10k_module.SPLIT_FILES.items():
        dataset = Got10k(str(root), split=split)
        indices = [int(line) for line in (got10k_module.DATA_SPECS_DIR / file).read_text().split()]
        assert dataset.sequence_list == [names[i] for i in indices]
        lengths[split] = len(dataset)
    assert lengths == {"train": 7934, "val": 1401, "vottrain": 7086, "votval": 1249}
    dataset = Got10k(str(root), split="train")
    assert dataset.sequence_list[0] == names[first_train]
    assert dataset.get_sequence_info(0)["bbox"].shape == (3, 4)
    # Sequences are read on demand: one whose folder is missing fails when it is read, naming it.
    with pytest.raises(FileNotFoundError, match=dataset.sequence_list[1]):
        dataset.get_sequence_info(1)
    with pytest.raises(ValueError, match="unknown GOT-10k split 'test'"):
        Got10k(str(root), split="test")


def test_split_beyond_a_small_list_says_so(root):
    with pytest.raises(ValueError, match=r"split 'train'.*refers to sequence \d+ but .*list.txt has 3 sequences"):
        Got10k(str(root), split="train")


def test_unset_root_names_the_field(clean_env):
    with pytest.raises(EnvironmentPathError, match="got10k_dir.*TRACKING_GOT10K_DIR") as error:
        Got10k()
    assert error.value.field == "got10k_dir"


def test_root_from_the_environment(clean_env, root, monkeypatch):
    monkeypatch.setenv("TRACKING_GOT10K_DIR", str(root))
    assert Got10k().root == str(root)
    monkeypatch.setenv("TRACKING_GOT10K_DIR", str(root / "nowhere"))
    with pytest.raises(EnvironmentPathError, match="nowhere.*does not exist"):
        Got10k()


def test_missing_root_and_list(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing-root.*does not exist.*got10k_dir.*TRACKING_GOT10K_DIR"):
        Got10k(str(tmp_path / "missing-root"))
    # An empty root is named as such; a root holding something else lacks its list.
    with pytest.raises(EnvironmentPathError, match="is an empty folder.*got10k_dir") as error:
        Got10k(str(tmp_path))
    assert error.value.state == "empty"
    (tmp_path / "other.txt").write_text("")
    with pytest.raises(FileNotFoundError, match="list.txt is missing"):
        Got10k(str(tmp_path))


def test_malformed_groundtruth_names_file_and_line(root, frames):
    path = root / NAMES[1] / "groundtruth.txt"
    frames.write_lines(path, ["0,0,4,4", "1,1,four,4", "2,2,4,4"])
    dataset = Got10k(str(root))
    with pytest.raises(ValueError, match=rf"{path}, line 2"):
        dataset.get_sequence_info(1)
    frames.write_lines(path, ["0,0,4,4", "1,1,4", "2,2,4,4"])
    with pytest.raises(ValueError, match=rf"{path}, line 2"):
        Got10k(str(root)).get_sequence_info(1)


def test_bad_labels_name_the_file(root, frames):
    frames.write_lines(root / NAMES[1] / "cover.label", ["8", "9", "8"])
    with pytest.raises(ValueError, match=r"cover.label, line 2: label '9'"):
        Got10k(str(root)).get_sequence_info(1)
    frames.write_lines(root / NAMES[1] / "cover.label", ["8", "8"])
    with pytest.raises(ValueError, match=r"cover.label is short by 1 line \(2 labels where groundtruth.txt and "
                                         r"absence.label have 3\)"):
        Got10k(str(root)).get_sequence_info(1)


def test_short_groundtruth_is_named_not_the_labels(root, frames):
    frames.write_lines(root / NAMES[0] / "groundtruth.txt", frames.box_lines(SEQUENCES[0][0][:3]))
    with pytest.raises(ValueError) as error:
        Got10k(str(root)).get_sequence_info(0)
    message = str(error.value)
    assert f"sequence {root / NAMES[0]}: groundtruth.txt is short by 2 lines" in message
    assert "3 boxes where absence.label and cover.label have 5" in message


def test_labels_disagreeing_with_each_other_list_every_length(root, frames):
    frames.write_lines(root / NAMES[1] / "absence.label", ["0", "0"])
    frames.write_lines(root / NAMES[1] / "cover.label", ["8"])
    with pytest.raises(ValueError, match=r"disagree on the number of frames \(groundtruth.txt has 3 boxes, "
                                         r"absence.label has 2 labels, cover.label has 1 labels\)"):
        Got10k(str(root)).get_sequence_info(1)


def test_missing_frame_names_the_file(root):
    missing = root / NAMES[0] / "00000003.jpg"
    missing.unlink()
    dataset = Got10k(str(root))
    with pytest.raises(ImageReadError, match=str(missing)):
        dataset.get_frames(0, [0, 2])


def test_frame_ids_outside_the_sequence(root):
    dataset = Got10k(str(root))
    with pytest.raises(IndexError, match=f"{NAMES[2]}, which has 2 frames"):
        dataset.get_frames(2, [0, 2])
    with pytest.raises(IndexError):
        dataset.get_frames(2, [-1])
    with pytest.raises(IndexError, match="sequence id 3"):
        dataset.get_sequence_info(3)


def test_pickles_for_loader_workers(root, frames):
    dataset = Got10k(str(root))
    dataset.get_sequence_info(0)  # something in the cache
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy.sequence_list == dataset.sequence_list
    assert torch.equal(copy.get_sequence_info(0)["visible"], dataset.get_sequence_info(0)["visible"])
    frames.assert_frame(copy.get_frames(1, [0])[0][0], frames.colour(1, 0))
