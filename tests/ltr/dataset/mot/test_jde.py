"""The FairMOT/JDE list reader on a generated tree: data config JSON, list files, labels_with_ids
beside images/, and identity offsets when datasets are mixed (FairMOT's JointDataset: each
dataset counts largest id + 1 identities, offset by the counts of those before it in config order)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ltr.data.box_files import BoxFileError
from ltr.dataset.mot.jde import JdeDataset, label_path_for

# Per dataset: {listed image: label rows (class, id, cx, cy, w, h) or None for no label file}.
DATASETS = {
    "mot": {"mot/images/train/A/img1/000001.jpg": [(0, 0, 0.5, 0.5, 0.25, 0.5), (0, 3, 0.25, 0.25, 0.125, 0.25)],
            "mot/images/train/A/img1/000002.jpg": [(0, -1, 0.5, 0.5, 0.25, 0.5)]},
    "eth": {"eth/images/seq/0001.png": [(0, 1, 0.5, 0.5, 0.25, 0.5), (0, 0, 0.75, 0.5, 0.25, 0.5)],
            "eth/images/seq/0002.png": None},
    "cuhk": {"cuhk/images/x.jpg": [(0, -1, 0.5, 0.5, 0.5, 0.5)]},
}
# Hand-derived: mot's largest id 3 -> 4 identities from 0; eth's 1 -> 2 from 4; cuhk none -> 0 from 6.
COUNTS = {"mot": 4, "eth": 2, "cuhk": 0}
OFFSETS = {"mot": 0, "eth": 4, "cuhk": 6}


@pytest.fixture
def jde(tmp_path, trees) -> tuple[Path, Path]:
    """The data root with images and labels, and a config (in another folder) whose list files
    are given relative to the config's folder."""
    root, configs = tmp_path / "data", tmp_path / "cfg"
    (configs / "lists").mkdir(parents=True)
    for name, images in DATASETS.items():
        for image, labels in images.items():
            trees.write_image(root / image)
            if labels is not None:
                label = root / label_path_for(image)
                label.parent.mkdir(parents=True, exist_ok=True)
                label.write_text("".join(f"{c} {i} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n" for c, i, x, y, w, h in labels))
        (configs / "lists" / f"{name}.train").write_text("\n".join(images) + "\n\n")
    (configs / "lists" / "eth.test").write_text("eth/images/seq/0001.png\n")
    config = configs / "data.json"
    config.write_text(json.dumps({"root": str(root), "train": {n: f"lists/{n}.train" for n in DATASETS},
                                  "test_emb": {}, "test": {"eth": "lists/eth.test"}}))
    return root, config


def test_label_path_replaces_images_folder_and_extension():
    assert label_path_for("mot/images/train/A/img1/000001.jpg") == "mot/labels_with_ids/train/A/img1/000001.txt"
    assert label_path_for("eth/images/seq/0001.png") == "eth/labels_with_ids/seq/0001.txt"


def test_identity_counts_and_offsets_in_config_order(jde):
    data = JdeDataset(jde[1])
    assert data.root == jde[0] and data.get_num_images() == 5
    assert data.identity_counts == COUNTS and data.identity_offsets == OFFSETS and data.num_identities == 6


def test_labels_get_their_dataset_offset_and_unknown_stays(jde):
    data = JdeDataset(jde[1])
    ids = [data.get_labels(i)[:, 1].tolist() for i in range(data.get_num_images())]
    # mot: 0, 3 and -1 unchanged (offset 0); eth: 1, 0 -> 5, 4; eth's second image has no label
    # file (no objects); cuhk: -1 stays -1.
    assert ids == [[0, 3], [-1], [5, 4], [], [-1]]


def test_boxes_in_pixels(jde, trees):
    data = JdeDataset(jde[1])
    image, boxes, ids = data.get_image(0)
    assert image.shape == (trees.HEIGHT, trees.WIDTH, 3)  # 64 x 48
    # cx .5 cy .5 w .25 h .5 -> x = 32 - 8, y = 24 - 12, w 16, h 24; the second: cx 16, cy 12, w 8, h 12.
    np.testing.assert_allclose(boxes, [[24, 12, 16, 24], [12, 6, 8, 12]])
    assert ids.tolist() == [0, 3] and ids.dtype == np.int64


def test_other_sections_and_root_override(jde, tmp_path):
    test = JdeDataset(jde[1], section="test")
    assert test.get_num_images() == 1 and test.identity_offsets == {"eth": 0} and test.num_identities == 2
    assert JdeDataset(jde[1], section="test_emb").get_num_images() == 0
    with pytest.raises(ValueError, match="unknown section 'val'"):
        JdeDataset(jde[1], section="val")
    moved = tmp_path / "moved"
    jde[0].rename(moved)
    assert JdeDataset(jde[1], root=moved).root == moved


def test_missing_images_and_bad_files_are_named(jde):
    root, config = jde
    (root / "eth" / "images" / "seq" / "0001.png").unlink()
    data = JdeDataset(config)
    assert len(data.verify_tree()) == 1 and "1 images of eth" in data.verify_tree()[0]
    with pytest.raises(FileNotFoundError, match="0001.png"):
        data.get_image(2)
    (root / "mot" / "labels_with_ids" / "train" / "A" / "img1" / "000002.txt").write_text("0 1 0.5 0.5 nan 0.5\n")
    with pytest.raises(BoxFileError, match=r"000002.txt, line 1"):
        JdeDataset(config)
    config.write_text('{"root": "x",\n "train": }')
    with pytest.raises(BoxFileError, match=r"data.json, line 2"):
        JdeDataset(config)
