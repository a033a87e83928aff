"""Checking dataset trees before training: every dataset's verify_tree() on generated trees in
its real layout, build_datasets() collecting every problem into one error, and the published
recipe on partial datasets."""

import json
import os
from pathlib import Path

import pytest

from admin.environment import EnvironmentPathError
from ltr.dataset import (DatasetCheckError, Got10k, ImagenetVID, Lasot, MSCOCOSeq, SyntheticTracking, TrackingNet,
                         build_datasets, check_datasets)
from ltr.dataset.check import format_problems
from ltr.settings import TrainSettings
from ltr.train_settings.bbreg import atom_default, atom_synthetic

BOXES = [[1, 1, 5, 5], [2, 2, 5, 5], [3, 3, 5, 5]]


def no_decoding(path: str):
    raise AssertionError(f"the tree check decoded {path}")


def write_got10k(root: Path, names: list[str], frames) -> None:
    frames.write_lines(root / "list.txt", names)
    for name in names:
        frames.write_lines(root / name / "groundtruth.txt", frames.box_lines(BOXES))
        frames.write_lines(root / name / "absence.label", ["0"] * 3)
        frames.write_lines(root / name / "cover.label", ["8"] * 3)
        for f in range(3):
            (root / name / f"{f + 1:08d}.jpg").write_bytes(b"not decoded")


def write_lasot(root: Path, names: list[str], frames) -> None:
    for name in names:
        folder = root / name.rsplit("-", 1)[0] / name
        frames.write_lines(folder / "groundtruth.txt", frames.box_lines(BOXES))
        frames.write_lines(folder / "full_occlusion.txt", ["0,0,0"])
        frames.write_lines(folder / "out_of_view.txt", ["0,0,0"])
        (folder / "img").mkdir()
        for f in range(3):
            (folder / "img" / f"{f + 1:08d}.jpg").write_bytes(b"not decoded")


def write_trackingnet(root: Path, sequences: dict[int, list[str]], frames) -> None:
    for set_id, names in sequences.items():
        for name in names:
            frames.write_lines(root / f"TRAIN_{set_id}" / "anno" / f"{name}.txt", frames.box_lines(BOXES))
            folder = root / f"TRAIN_{set_id}" / "frames" / name
            folder.mkdir(parents=True)
            for f in range(3):
                (folder / f"{f}.jpg").write_bytes(b"not decoded")


def write_coco(root: Path, files: list[str], present: list[str]) -> None:
    images = [{"id": i, "file_name": f, "width": 24, "height": 16} for i, f in enumerate(files, 1)]
    annotations = [{"id": 10 + i, "image_id": i, "category_id": 1, "bbox": [1, 1, 4, 4], "iscrowd": 0}
                   for i in range(1, len(files) + 1)]
    path = root / "annotations" / "instances_train2014.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "dog", "supercategory": "animal"}]}))
    (root / "train2014").mkdir()
    for name in present:
        (root / "train2014" / name).write_bytes(b"not decoded")


def write_imagenetvid(root: Path, videos: list[str], with_frames: list[str]) -> None:
    for video in videos:
        folder = root / "Annotations" / "VID" / "train" / video
        folder.mkdir(parents=True)
        for f in range(2):
            (folder / f"{f:06d}.xml").write_text(
                "<annotation><size><width>24</width><height>16</height></size><object><trackid>0</trackid>"
                "<name>n01</name><bndbox><xmin>1</xmin><xmax>5</xmax><ymin>1</ymin><ymax>5</ymax></bndbox>"
                "<occluded>0</occluded></object></annotation>")
    for video in with_frames:
        folder = root / "Data" / "VID" / "train" / video
        folder.mkdir(parents=True)
        (folder / "000000.JPEG").write_bytes(b"not decoded")


def test_complete_trees_have_no_problems(tmp_path, frames, clean_env):
    write_got10k(tmp_path / "got10k", ["GOT-10k_Train_000001", "GOT-10k_Train_000002"], frames)
    write_lasot(tmp_path / "lasot", ["kite-1", "kite-7", "bird-1", "bird-7"], frames)
    write_trackingnet(tmp_path / "trackingnet", {0: ["a_0", "b_0"], 3: ["c_0"]}, frames)
    write_coco(tmp_path / "coco", ["x.jpg", "y.jpg"], ["x.jpg", "y.jpg"])
    write_imagenetvid(tmp_path / "vid", ["set_0/v1", "set_0/v2"], ["set_0/v1", "set_0/v2"])
    datasets = [Got10k(str(tmp_path / "got10k"), image_loader=no_decoding),
                Lasot(str(tmp_path / "lasot"), vid_ids=[1, 7], image_loader=no_decoding),
                TrackingNet(str(tmp_path / "trackingnet"), image_loader=no_decoding),
                MSCOCOSeq(str(tmp_path / "coco"), image_loader=no_decoding),
                ImagenetVID(str(tmp_path / "vid"), image_loader=no_decoding)]
    for dataset in datasets:
        assert dataset.verify_tree() == [], dataset.name
        dataset.check()
    check_datasets(datasets)


def test_lasot_sequence_without_folder_and_files(tmp_path, frames):
    root = tmp_path / "lasot"
    write_lasot(root, ["kite-1", "bird-1", "bird-7"], frames)
    (root / "bird" / "bird-1" / "out_of_view.txt").unlink()
    dataset = Lasot(str(root), vid_ids=[1, 7])
    assert dataset.verify_tree() == [
        f"lasot: sequence bird-1: {root / 'bird' / 'bird-1' / 'out_of_view.txt'} is missing",
        f"lasot: sequence kite-7 has no folder {root / 'kite' / 'kite-7'} (the dataset is incomplete, or the "
        f"sequence is not part of it)"]
    with pytest.raises(DatasetCheckError, match="2 problems") as error:
        dataset.check()
    assert error.value.fields == ["lasot_dir"]


def test_got10k_listed_sequence_without_folder_or_annotation(tmp_path, frames):
    root = tmp_path / "got10k"
    write_got10k(root, ["GOT-10k_Train_000001", "GOT-10k_Train_000002"], frames)
    frames.write_lines(root / "list.txt", ["GOT-10k_Train_000001", "GOT-10k_Train_000002", "GOT-10k_Train_000003"])
    (root / "GOT-10k_Train_000001" / "cover.label").unlink()
    (root / "GOT-10k_Train_000002" / "00000001.jpg").unlink()
    problems = Got10k(str(root)).verify_tree()
    assert problems == [
        f"got10k: sequence GOT-10k_Train_000001: {root / 'GOT-10k_Train_000001' / 'cover.label'} is missing",
        f"got10k: sequence GOT-10k_Train_000002: {root / 'GOT-10k_Train_000002' / '00000001.jpg'} is missing",
        f"got10k: sequence GOT-10k_Train_000003 is listed in {root / 'list.txt'} but has no folder "
        f"{root / 'GOT-10k_Train_000003'}"]


def test_empty_got10k_list_is_an_error_naming_the_file(tmp_path, frames):
    root = tmp_path / "got10k"
    write_got10k(root, ["GOT-10k_Train_000001"], frames)
    (root / "list.txt").write_text("\n\n")
    with pytest.raises(EnvironmentPathError) as error:
        Got10k(str(root))
    assert str(error.value).startswith(f"{root / 'list.txt'} lists no sequences")
    assert error.value.field == "got10k_dir" and error.value.state == "empty"


def test_empty_synthetic_list_names_the_synthetic_field(tmp_path, frames):
    write_got10k(tmp_path / "synthetic" / "train", ["GOT-10k_Train_000001"], frames)
    (tmp_path / "synthetic" / "train" / "list.txt").write_text("")
    with pytest.raises(EnvironmentPathError, match="lists no sequences.*synthetic_dir"):
        SyntheticTracking(str(tmp_path / "synthetic"))


def test_trackingnet_sequence_without_frames(tmp_path, frames):
    root = tmp_path / "trackingnet"
    write_trackingnet(root, {0: ["a_0", "b_0"]}, frames)
    (root / "TRAIN_0" / "frames" / "b_0" / "0.jpg").unlink()
    (root / "TRAIN_0" / "frames" / "a_0" / "0.jpg").unlink()
    (root / "TRAIN_0" / "frames" / "a_0" / "1.jpg").unlink()
    (root / "TRAIN_0" / "frames" / "a_0" / "2.jpg").unlink()
    (root / "TRAIN_0" / "frames" / "a_0").rmdir()
    assert TrackingNet(str(root)).verify_tree() == [
        f"trackingnet: sequence TRAIN_0/a_0 has no frames folder {root / 'TRAIN_0' / 'frames' / 'a_0'} "
        f"(extract TRAIN_0's frames)",
        f"trackingnet: sequence TRAIN_0/b_0: {root / 'TRAIN_0' / 'frames' / 'b_0' / '0.jpg'} is missing"]


def test_coco_missing_images_are_listed_once(tmp_path):
    root = tmp_path / "coco"
    write_coco(root, ["x.jpg", "y.jpg", "z.jpg"], ["y.jpg"])
    assert MSCOCOSeq(str(root)).verify_tree() == [f"coco: image {root / 'train2014' / 'x.jpg'} is missing",
                                                  f"coco: image {root / 'train2014' / 'z.jpg'} is missing"]


def test_imagenetvid_video_without_frames(tmp_path):
    root = tmp_path / "vid"
    write_imagenetvid(root, ["set_0/v1", "set_0/v2"], ["set_0/v1"])
    folder = root / "Data" / "VID" / "train" / "set_0" / "v2"
    assert ImagenetVID(str(root)).verify_tree() == [f"imagenetvid: video set_0/v2 has no frame folder {folder}"]


def test_build_datasets_reports_every_problem_at_once(tmp_path, frames, clean_env):
    write_lasot(tmp_path / "lasot", ["kite-1"], frames)
    write_coco(tmp_path / "coco", ["x.jpg"], [])
    (tmp_path / "a_file").write_text("")
    with pytest.raises(DatasetCheckError) as error:
        build_datasets({
            "lasot": lambda: Lasot(str(tmp_path / "lasot"), vid_ids=[1, 7]),
            "got10k": lambda: Got10k(),  # field not set
            "trackingnet": lambda: TrackingNet(str(tmp_path / "a_file")),
            "coco": lambda: MSCOCOSeq(str(tmp_path / "coco")),
            "got10k again": lambda: Got10k(),  # the same problem is listed once
        })
    problems = error.value.problems
    assert len(problems) == 4, problems
    assert problems[0].startswith("got10k_dir (") and "not set" in problems[0] and "TRACKING_GOT10K_DIR" in problems[0]
    assert f"{tmp_path / 'a_file'} is a file, not a folder" in problems[1]
    assert problems[2].startswith("lasot: sequence kite-7 has no folder")
    assert problems[3] == f"coco: image {tmp_path / 'coco' / 'train2014' / 'x.jpg'} is missing"
    message = str(error.value)
    assert message.splitlines()[0].startswith("4 problems with the training datasets")
    assert message.splitlines()[1:] == [f"  - {p}" for p in problems]
    assert set(error.value.fields) == {"got10k_dir", "trackingnet_dir", "lasot_dir", "coco_dir"}


def test_build_datasets_returns_checked_datasets(tmp_path, frames):
    write_got10k(tmp_path / "got10k", ["GOT-10k_Train_000001"], frames)
    built = build_datasets({"got10k": lambda: Got10k(str(tmp_path / "got10k"))})
    assert built["got10k"].get_num_sequences() == 1


def test_a_bug_in_a_constructor_is_not_hidden():
    def broken():
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        build_datasets({"broken": broken})


def test_problem_list_is_capped_with_a_count():
    message = format_problems([f"problem {i}" for i in range(30)], max_lines=20)
    lines = message.splitlines()
    assert len(lines) == 22 and lines[-1] == "  ... and 10 more (30 in all)" and lines[20] == "  - problem 19"


def recipe_settings(**variables) -> TrainSettings:
    for name, value in variables.items():
        os.environ[name] = value
    settings = TrainSettings(module_name="bbreg", script_name="atom_default", device="cpu")
    atom_default.configure(settings)
    return settings


def test_published_recipe_reports_every_missing_field_at_once(clean_env):
    with pytest.raises(DatasetCheckError) as error:
        atom_default.datasets(recipe_settings())
    assert [p.split(" ")[0] for p in error.value.problems] == ["lasot_dir", "trackingnet_dir", "coco_dir"]
    assert "TRACKING_LASOT_DIR" in str(error.value)  # still an EnvironmentPathError naming the variable


def test_published_recipe_on_partial_datasets_lists_all_problems(tmp_path, frames, clean_env, monkeypatch):
    write_lasot(tmp_path / "lasot", ["kite-1", "airplane-10"], frames)
    write_trackingnet(tmp_path / "trackingnet", {k: [f"s{k}_0"] for k in range(12) if k != 4}, frames)
    write_coco(tmp_path / "coco", ["x.jpg"], ["x.jpg"])
    monkeypatch.setenv("TRACKING_LASOT_DIR", str(tmp_path / "lasot"))
    monkeypatch.setenv("TRACKING_TRACKINGNET_DIR", str(tmp_path / "trackingnet"))
    monkeypatch.setenv("TRACKING_COCO_DIR", str(tmp_path / "coco"))
    with pytest.raises(DatasetCheckError) as error:
        atom_default.datasets(recipe_settings())
    problems = error.value.problems
    assert problems[0].startswith("trackingnet train: TrackingNet set TRAIN_4 was asked for but")
    lasot = [p for p in problems if p.startswith("lasot: ")]
    assert len(lasot) == 1118  # the 1,120 sequences of the split, two of them present
    assert "lasot: sequence kite-7 has no folder" in "\n".join(lasot)
    message = str(error.value)
    assert message.startswith("1119 problems with the training datasets")
    assert message.splitlines()[-1] == "  ... and 1099 more (1119 in all)"


def test_synthetic_recipe_checks_its_tree(tmp_path, frames, clean_env, monkeypatch):
    write_got10k(tmp_path / "synthetic" / "train", ["GOT-10k_Train_000001"], frames)
    write_got10k(tmp_path / "synthetic" / "val", ["GOT-10k_Val_000001"], frames)
    (tmp_path / "synthetic" / "val" / "GOT-10k_Val_000001" / "groundtruth.txt").unlink()
    monkeypatch.setenv("TRACKING_SYNTHETIC_DIR", str(tmp_path / "synthetic"))
    with pytest.raises(DatasetCheckError, match=r"1 problem with .*\n  - synthetic: sequence GOT-10k_Val_000001: "
                                                 r".*groundtruth.txt is missing"):
        atom_synthetic.datasets(None)
