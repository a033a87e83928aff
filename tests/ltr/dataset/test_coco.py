import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ltr.dataset

from admin.environment import EnvironmentPathError
from ltr.data.image_loader import ImageReadError, LazyFrame
from ltr.dataset import MSCOCO, MSCOCOSeq

REPO = Path(__file__).resolve().parents[3]
IMAGES = [(1, "COCO_train2014_000000000001.jpg"), (2, "COCO_train2014_000000000002.jpg")]
CATEGORIES = [{"id": 1, "name": "person", "supercategory": "person"},
              {"id": 18, "name": "dog", "supercategory": "animal"},
              {"id": 90, "name": "toothbrush", "supercategory": "indoor"}]
ANNOTATIONS = [
    {"id": 10, "image_id": 1, "category_id": 18, "bbox": [1.5, 2.0, 6.0, 4.0], "iscrowd": 0},
    {"id": 11, "image_id": 1, "category_id": 1, "bbox": [0.0, 0.0, 20.0, 10.0], "iscrowd": 1},
    {"id": 12, "image_id": 2, "category_id": 1, "bbox": [3.0, 1.0, 5.0, 7.0], "iscrowd": 0},
    {"id": 13, "image_id": 2, "category_id": 18, "bbox": [9.0, 9.0, 0.0, 2.0], "iscrowd": 0},
]


def write_coco(root: Path, name: str, image_dir: Path, frames) -> None:
    images = [{"id": i, "file_name": f, "width": 24, "height": 16} for i, f in IMAGES]
    for index, (_, file_name) in enumerate(IMAGES):
        frames.write_frame(image_dir / file_name, frames.colour(index, 0))
    path = root / "annotations" / f"instances_{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": ANNOTATIONS, "categories": CATEGORIES}))


@pytest.fixture
def root(tmp_path, frames) -> Path:
    root = tmp_path / "coco"
    write_coco(root, "train2014", root / "train2014", frames)  # as COCO unzips
    write_coco(root, "val2017", root / "images" / "val2017", frames)  # pytracking's layout
    return root


def test_instances_are_one_frame_sequences(root):
    dataset = MSCOCOSeq(str(root))
    assert dataset.get_name() == "coco" and not dataset.is_video_sequence()
    assert dataset.sequence_list == [10, 12, 13]  # the crowd annotation is left out
    info = dataset.get_sequence_info(0)
    assert info["bbox"].shape == (1, 4) and info["bbox"].dtype == torch.float32
    assert info["bbox"][0].tolist() == [1.5, 2.0, 6.0, 4.0]
    assert info["valid"].tolist() == [True] and info["visible"].tolist() == [True]
    assert dataset.get_sequence_info(2)["valid"].tolist() == [False]
    assert dataset.get_sequence_info(2)["visible"].tolist() == [False]


def test_frames_and_meta(root, frames):
    dataset = MSCOCOSeq(str(root))
    assert dataset.frame_path(1, 0) == str(root / "train2014" / IMAGES[1][1])
    images, anno, meta = dataset.get_frames(1, [1, 1, 1])
    assert len(images) == 3
    for image in images:
        frames.assert_frame(image, frames.colour(1, 0))
    assert [b.tolist() for b in anno["bbox"]] == [[3.0, 1.0, 5.0, 7.0]] * 3
    assert meta == {"object_class_name": "person", "motion_class": None, "major_class": "person",
                    "root_class": None, "motion_adverb": None}
    lazy, _, _ = dataset.get_frames(0, [0], lazy=True)
    assert isinstance(lazy[0], LazyFrame)
    frames.assert_frame(lazy[0].load()[0], frames.colour(0, 0))


def test_classes(root):
    dataset = MSCOCOSeq(str(root))
    assert dataset.has_class_info() and not dataset.has_occlusion_info()
    assert dataset.get_class_list() == ["dog", "person"]  # classes with instances
    assert dataset.get_sequences_in_class("dog") == [0, 2]
    assert dataset.get_sequences_in_class("person") == [1]
    with pytest.raises(KeyError):
        dataset.get_sequences_in_class("toothbrush")


def test_2017_and_the_images_folder(root, frames):
    dataset = MSCOCOSeq(str(root), split="val", version="2017")
    assert len(dataset) == 3
    assert dataset.frame_path(0, 0) == str(root / "images" / "val2017" / IMAGES[0][1])
    frames.assert_frame(dataset.get_frames(0, [0])[0][0], frames.colour(0, 0))


def test_data_fraction_is_reproducible(root):
    first = MSCOCOSeq(str(root), data_fraction=0.5).sequence_list
    assert len(first) == 1 and first == MSCOCOSeq(str(root), data_fraction=0.5).sequence_list


def test_image_dataset(root, frames):
    dataset = MSCOCO(str(root))
    assert dataset.get_num_images() == len(dataset) == 3
    info = dataset.get_image_info(0)
    assert info["bbox"].tolist() == [1.5, 2.0, 6.0, 4.0] and info["valid"].item() and info["visible"].item()
    assert not dataset.get_image_info(2)["valid"].item()
    image, anno, meta = dataset.get_image(1)
    frames.assert_frame(image, frames.colour(1, 0))
    assert anno["bbox"].tolist() == [3.0, 1.0, 5.0, 7.0] and meta["object_class_name"] == "person"
    lazy, _, _ = dataset.get_image(1, lazy=True)
    assert isinstance(lazy, LazyFrame) and lazy.path == dataset.image_path(1)
    assert dataset.get_images_in_class("dog") == [0, 2]


def test_errors(root, tmp_path, clean_env):
    with pytest.raises(EnvironmentPathError, match="coco_dir.*TRACKING_COCO_DIR"):
        MSCOCOSeq()
    with pytest.raises(FileNotFoundError, match="instances_train2017.json is missing"):
        MSCOCOSeq(str(root), version="2017")
    with pytest.raises(ValueError, match="version '2015'"):
        MSCOCOSeq(str(root), version="2015")
    (root / "annotations" / "instances_val2014.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="val2014"):
        MSCOCOSeq(str(root), split="val")
    (root / "val2014").mkdir()
    (root / "annotations" / "instances_val2014.json").write_text("{not json")
    with pytest.raises(ValueError, match="instances_val2014.json is not valid JSON"):
        MSCOCOSeq(str(root), split="val")
    (root / "train2014" / IMAGES[0][1]).unlink()
    with pytest.raises(ImageReadError, match=IMAGES[0][1]):
        MSCOCOSeq(str(root)).get_frames(0, [0])


def test_importing_the_package_is_cheap():
    code = "import sys, ltr.dataset; assert not {'pycocotools', 'torch'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
    assert ltr.dataset.MSCOCOSeq.__module__ == "ltr.dataset.coco_seq"
    # Only the COCO module imports pycocotools, and only inside a function.
    imports = re.compile(r"^\s*(from|import)\s+pycocotools", re.MULTILINE)
    users = sorted(p.name for p in (REPO / "ltr" / "dataset").glob("*.py") if imports.search(p.read_text()))
    assert users == ["coco_seq.py"]
    assert not re.search(r"^(from|import)\s+pycocotools", (REPO / "ltr" / "dataset" / "coco_seq.py").read_text(),
                         re.MULTILINE)


def test_pickles_without_the_pycocotools_object(root):
    dataset = MSCOCOSeq(str(root))
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy.get_sequence_info(1)["bbox"].tolist() == [[3.0, 1.0, 5.0, 7.0]]
    assert not any(type(v).__module__.startswith("pycocotools") for v in vars(dataset._instances).values())
