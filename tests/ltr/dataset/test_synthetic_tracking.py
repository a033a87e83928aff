from pathlib import Path

import numpy as np
import pytest
import torch

from ltr.data.image_loader import LazyFrame
from ltr.dataset import Got10k, SyntheticTracking
from ltr.dataset.synthetic import SceneConfig, generate_dataset

SMALL = SceneConfig(width=96, height=72, frames=8)
# Long enough for the target to be hidden by an occluder for a while.
EVENTFUL = SceneConfig(width=96, height=72, frames=30, p_occlusion=1.0, p_full_occlusion=1.0, p_exit=0.5)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, seed=1, train=2, val=1, config=SMALL, workers=1)
    return root


@pytest.fixture(scope="module")
def eventful(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("eventful")
    generate_dataset(root, seed=1, train=1, val=0, config=EVENTFUL, workers=1)
    return root


def labels(folder: Path) -> dict[str, np.ndarray]:
    boxes = np.array([[float(v) for v in line.split(",")] for line in (folder / "groundtruth.txt").read_text().split()])
    absence = np.array((folder / "absence.label").read_text().split(), int)
    cover = np.array((folder / "cover.label").read_text().split(), int)
    return {"boxes": boxes, "absence": absence, "cover": cover}


def test_reads_the_generated_splits(small):
    train = SyntheticTracking(str(small))
    val = SyntheticTracking(str(small), split="val")
    assert train.get_name() == "synthetic" and isinstance(train, Got10k)
    assert train.sequence_list == ["GOT-10k_Train_000001", "GOT-10k_Train_000002"]
    assert val.sequence_list == ["GOT-10k_Val_000001"]
    assert train.root == str(small / "train")


def test_labels_and_frames_match_the_files(small):
    dataset = SyntheticTracking(str(small))
    for seq in range(len(dataset)):
        expected = labels(small / "train" / dataset.sequence_list[seq])
        info = dataset.get_sequence_info(seq)
        assert info["bbox"].shape == (SMALL.frames, 4)
        assert np.allclose(info["bbox"].numpy(), expected["boxes"], atol=1e-4)
        assert info["visible"].tolist() == ((expected["absence"] == 0) & (expected["cover"] > 0)).tolist()
        assert torch.allclose(info["visible_ratio"], torch.from_numpy(expected["cover"] / 8).float())
    images, anno, meta = dataset.get_frames(0, [0, 7])
    assert [image.shape for image in images] == [(72, 96, 3)] * 2
    assert all(image.dtype == np.uint8 for image in images)
    assert meta["object_class_name"] is not None and meta["motion_class"] is not None
    lazy, _, _ = dataset.get_frames(0, [7], lazy=True)
    assert isinstance(lazy[0], LazyFrame) and (lazy[0].load()[0] == images[1]).all()
    assert dataset.get_class_list() and all(dataset.get_sequences_in_class(c) for c in dataset.get_class_list())


def test_absent_and_partly_hidden_frames(eventful):
    dataset = SyntheticTracking(str(eventful))
    info = dataset.get_sequence_info(0)
    expected = labels(eventful / "train" / dataset.sequence_list[0])
    absent = expected["absence"] == 1
    assert absent.any() and ((expected["cover"] > 0) & (expected["cover"] < 8)).any()
    assert not info["visible"][torch.from_numpy(absent)].any()
    assert info["visible"].tolist() == ((~absent) & (expected["cover"] > 0) & info["valid"].numpy()).tolist()
    assert info["visible_ratio"][torch.from_numpy(absent)].eq(0).all()


def test_root_from_the_environment(small, clean_env, monkeypatch):
    monkeypatch.setenv("TRACKING_SYNTHETIC_DIR", str(small))
    assert len(SyntheticTracking(split="val")) == 1


def test_missing_dataset_says_how_to_generate_it(tmp_path, clean_env):
    with pytest.raises(FileNotFoundError, match=r"generate it with `python -m ltr.dataset.synthetic --out "):
        SyntheticTracking(str(tmp_path))
    # The default root is the workspace's synthetic folder, created on demand and empty.
    with pytest.raises(FileNotFoundError, match=str(clean_env / "synthetic")):
        SyntheticTracking()
    with pytest.raises(ValueError, match="unknown synthetic split"):
        SyntheticTracking(str(tmp_path), split="test")
