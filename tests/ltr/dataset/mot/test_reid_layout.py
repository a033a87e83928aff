"""mmtracking's ReID layout: the converter (python -m ltr.dataset.mot.convert reid) and its reader,
on a generated MOTChallenge tree; the lists hold MotReID's subsets."""

import numpy as np
import pytest

from ltr.dataset.mot.convert import main
from ltr.dataset.mot.motchallenge import MotChallenge
from ltr.dataset.mot.reid import MotReID, ReIDImageList, mot_to_reid


def test_converter_writes_mmtrackings_layout(tmp_path, trees):
    root = trees.make_benchmark(tmp_path / "data")
    out = tmp_path / "reid"
    assert main(["reid", "--root", str(root), "--out", str(out)]) == 0
    # every crop of the four identities, indices in row order, whatever the list filter
    assert sorted(p.name for p in (out / "imgs").iterdir()) == [
        "MOT17-02-FRCNN_000001", "MOT17-02-FRCNN_000004", "MOT17-04-FRCNN_000001", "MOT17-04-FRCNN_000004"]
    assert sorted(p.name for p in (out / "imgs" / "MOT17-04-FRCNN_000001").iterdir()) == [
        f"{i:06d}.jpg" for i in range(6)]
    # no identity has 8 crops: the lists are empty
    assert sorted(p.name for p in (out / "meta").iterdir()) == ["train.txt", "train_80.txt", "val_20.txt"]
    assert (out / "meta" / "train_80.txt").read_text() == ""
    with pytest.raises(FileExistsError, match="not an empty folder"):
        mot_to_reid(root, out)


def test_reader_matches_the_crops_read_from_frames(tmp_path, trees):
    root = trees.make_benchmark(tmp_path / "data")
    out = tmp_path / "reid"
    mot_to_reid(root, out, min_per_person=6, max_per_person=5)
    assert (out / "meta" / "val_20.txt").read_text().splitlines()[0].endswith(" 0")
    listed = ReIDImageList(out, "train.txt")
    direct = MotReID(MotChallenge(root, "mot17", "train"), subset="all", min_per_person=6, max_per_person=5)
    assert listed.labels.tolist() == direct.labels.tolist() == [0] * 5 + [1] * 5
    assert listed.num_classes == 2 and listed.identities == direct.identities
    for index in (0, 7):
        from_file, from_frame = listed.get_crop(index), direct.get_crop(index)
        assert from_file.shape == from_frame.shape  # the same crop, JPEG-compressed once more
        assert np.abs(from_file.astype(int) - from_frame.astype(int)).mean() < 3


def test_reader_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"meta/train_80.txt is missing"):
        ReIDImageList(tmp_path)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "train_80.txt").write_text("a/000000.jpg 0\na/000001.jpg x\n")
    with pytest.raises(ValueError, match=r"train_80.txt, line 2"):
        ReIDImageList(tmp_path)
