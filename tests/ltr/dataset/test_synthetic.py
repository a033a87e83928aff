import configparser
import filecmp
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ltr.dataset.synthetic import SceneConfig, SequencePlan, generate_dataset, sequence_name, sequence_plan
from ltr.dataset.synthetic.scene import clip_polygon_to_frame, polygon_area
from ltr.dataset.synthetic.textures import PHOTO_FILES, TextureSource, photo_library

REPO = Path(__file__).resolve().parents[3]
SMALL = SceneConfig(width=160, height=120, frames=30)
# Every sequence has occluders that hide the target completely, or it leaves the frame.
EVENTFUL = SceneConfig(width=160, height=120, frames=100, p_occlusion=1.0, p_full_occlusion=1.0, p_exit=0.5)


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    summary = generate_dataset(root, seed=3, train=3, val=2, config=SMALL, workers=1)
    return root, summary


@pytest.fixture(scope="module")
def eventful_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("eventful")
    generate_dataset(root, seed=11, train=4, val=0, config=EVENTFUL, workers=2)
    return root


def read_labels(sequence: Path) -> dict[str, np.ndarray]:
    lines = (sequence / "groundtruth.txt").read_text().splitlines()
    boxes = np.array([[float(v) for v in line.split(",")] for line in lines])
    labels = {"boxes": boxes}
    for name in ("absence", "cover", "cut_by_image"):
        labels[name] = np.array([int(v) for v in (sequence / f"{name}.label").read_text().split()])
    return labels


def test_same_seed_gives_identical_bytes_whatever_the_workers(small_dataset, tmp_path):
    root, _ = small_dataset
    again = tmp_path / "again"
    generate_dataset(again, seed=3, train=3, val=2, config=SMALL, workers=2)
    compared = 0
    for path in root.rglob("*"):
        if path.is_file():
            twin = again / path.relative_to(root)
            assert filecmp.cmp(path, twin, shallow=False), path.relative_to(root)
            compared += 1
    assert compared == len([p for p in again.rglob("*") if p.is_file()]) > 5 * 30


def test_other_seed_gives_other_videos(small_dataset, tmp_path):
    root, _ = small_dataset
    generate_dataset(tmp_path, seed=4, train=1, val=0, config=SMALL, workers=1)
    first = "train/GOT-10k_Train_000001/00000001.jpg"
    assert (root / first).read_bytes() != (tmp_path / first).read_bytes()


def test_tree_is_a_valid_got10k_tree(small_dataset):
    root, summary = small_dataset
    for split, prefix, count in (("train", "GOT-10k_Train_", 3), ("val", "GOT-10k_Val_", 2)):
        names = (root / split / "list.txt").read_text().splitlines()
        assert names == [f"{prefix}{i:06d}" for i in range(1, count + 1)]
        for name in names:
            sequence = root / split / name
            frames = sorted(p.name for p in sequence.glob("*.jpg"))
            assert frames == [f"{i:08d}.jpg" for i in range(1, SMALL.frames + 1)]
            image = cv2.imread(str(sequence / frames[0]))
            assert image.shape == (SMALL.height, SMALL.width, 3)
            labels = read_labels(sequence)
            assert labels["boxes"].shape == (SMALL.frames, 4)
            for name_ in ("absence", "cover", "cut_by_image"):
                assert labels[name_].shape == (SMALL.frames,)
            assert set(labels["absence"]) <= {0, 1} and set(labels["cut_by_image"]) <= {0, 1}
            assert labels["cover"].min() >= 0 and labels["cover"].max() <= 8
            assert np.array_equal(labels["absence"] == 1, labels["cover"] == 0)
            # The first frame is the initial box: whole, visible and inside the frame.
            assert labels["cover"][0] == 8 and labels["cut_by_image"][0] == 0
            x, y, w, h = labels["boxes"].T
            assert (w >= 0).all() and (h >= 0).all()
            assert (x >= 0).all() and (y >= 0).all()
            assert (x + w <= SMALL.width + 1e-3).all() and (y + h <= SMALL.height + 1e-3).all()
            # The line order GOT-10k readers rely on (object class on line 6, and so on).
            meta_lines = (sequence / "meta_info.ini").read_text().splitlines()
            assert meta_lines[0] == "[METAINFO]"
            assert [line.split(":")[0] for line in meta_lines[5:10]] == [
                "object_class", "motion_class", "major_class", "root_class", "motion_adverb"]
            meta = configparser.ConfigParser()
            meta.read(sequence / "meta_info.ini")
            assert meta["METAINFO"]["resolution"] == f"({SMALL.width}, {SMALL.height})"
    assert summary.splits["train"].sequences == 3 and summary.splits["train"].frames == 3 * SMALL.frames


def test_written_labels_are_those_of_the_rendered_frames(small_dataset):
    root, _ = small_dataset
    for split, index in (("train", 0), ("train", 2), ("val", 1)):
        plan = sequence_plan(SMALL, 3, split, index)
        sequence = root / split / sequence_name(split, index)
        labels = read_labels(sequence)
        for t in range(0, SMALL.frames, 7):
            frame = plan.render(t)
            np.testing.assert_allclose(labels["boxes"][t], frame.box, atol=1e-4)
            assert labels["cover"][t] == frame.cover and labels["absence"][t] == frame.absent
            _, encoded = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, plan.jpeg_quality])
            assert (sequence / f"{t + 1:08d}.jpg").read_bytes() == encoded.tobytes()


def test_boxes_lie_where_the_target_was_drawn():
    sharp = SceneConfig(width=160, height=120, frames=30, p_motion_blur=0.0)
    checked = 0
    for index in range(6):
        plan = sequence_plan(sharp, 3, "train", index)
        for t in range(0, sharp.frames, 3):
            frame = plan.render(t, masks=True)
            ys, xs = np.nonzero(frame.target_mask > 0.25)
            if len(xs) < 10:
                continue
            # Pixel j spans [j, j + 1): the mask's extent matches the box to about a pixel
            # (anti-aliased edges and thin corners account for the rest).
            x, y, w, h = frame.box
            np.testing.assert_allclose([x, y, x + w, y + h], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1],
                                       atol=1.25, err_msg=f"sequence {index} frame {t}")
            checked += 1
    assert checked >= 40


def test_absent_frames_are_flagged(eventful_dataset):
    hidden = out_of_view = 0
    for index in range(4):
        plan = sequence_plan(EVENTFUL, 11, "train", index)
        labels = read_labels(eventful_dataset / "train" / sequence_name("train", index))
        for t in range(EVENTFUL.frames):
            frame = plan.render(t, masks=True)
            x, y, w, h = labels["boxes"][t]
            track = plan.objects[plan.target_index].track
            area = track.width[t] * track.height[t]  # of the whole target, seen or not
            seen = frame.visible_mask.sum()
            if labels["absence"][t]:
                assert labels["cover"][t] == 0
                assert seen < 0.01 * area, (index, t)
                if w * h > 0:
                    hidden += 1  # inside the frame, behind an occluder
                else:
                    out_of_view += 1
            else:
                assert seen > 0.004 * area, (index, t)
            if labels["cover"][t] == 8:
                # Fully visible (99.5% and more): next to nothing covers it.
                assert seen >= 0.99 * frame.target_mask.sum()
    assert hidden >= 3 and out_of_view >= 1


def test_partial_occlusion_lowers_cover_in_proportion(eventful_dataset):
    plan = sequence_plan(EVENTFUL, 11, "train", 0)
    levels = []
    for t in range(EVENTFUL.frames):
        frame = plan.render(t, masks=True)
        if 0 < frame.cover < 8 and not frame.cut_by_image:
            share = frame.visible_mask.sum() / frame.target_mask.sum()
            levels.append((share, frame.cover))
    assert levels
    for share, cover in levels:
        assert 1 + min(6, int(share / 0.15)) == cover or abs(share - 0.15 * round(share / 0.15)) < 0.01


def test_resume_completes_only_what_is_missing(tmp_path):
    generate_dataset(tmp_path, seed=5, train=2, val=1, config=SMALL, workers=1)
    victim = tmp_path / "train" / "GOT-10k_Train_000002"
    original = (victim / "00000007.jpg").read_bytes()
    for path in victim.iterdir():
        path.unlink()
    victim.rmdir()
    (tmp_path / "train" / ".GOT-10k_Train_000002.partial").mkdir()  # left by an interrupted run
    summary = generate_dataset(tmp_path, seed=5, train=2, val=1, config=SMALL, workers=1)
    assert summary.generated == 1
    assert (victim / "00000007.jpg").read_bytes() == original
    assert not (tmp_path / "train" / ".GOT-10k_Train_000002.partial").exists()
    # More sequences keep the ones there; fewer remove the rest.
    assert generate_dataset(tmp_path, seed=5, train=3, val=1, config=SMALL, workers=1).generated == 1
    generate_dataset(tmp_path, seed=5, train=1, val=1, config=SMALL, workers=1)
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == ["GOT-10k_Train_000001", "list.txt"]


def test_other_options_need_force_and_foreign_folders_are_refused(tmp_path):
    generate_dataset(tmp_path / "a", seed=5, train=1, val=0, config=SMALL, workers=1)
    with pytest.raises(FileExistsError, match="seed"):
        generate_dataset(tmp_path / "a", seed=6, train=1, val=0, config=SMALL, workers=1)
    summary = generate_dataset(tmp_path / "a", seed=6, train=1, val=0, config=SMALL, workers=1, force=True)
    assert summary.generated == 1 and summary.options["seed"] == 6
    foreign = tmp_path / "b"
    foreign.mkdir()
    (foreign / "train").mkdir()
    with pytest.raises(FileExistsError, match="not empty"):
        generate_dataset(foreign, seed=5, train=1, val=0, config=SMALL, workers=1, force=True)
    assert (foreign / "train").is_dir()


def test_photographs_come_from_installed_wheels():
    photos = photo_library()
    assert len(photos) >= 10
    folder = Path(importlib.util.find_spec("skimage").submodule_search_locations[0])
    for name in PHOTO_FILES["skimage"]:
        assert (folder / name).is_file(), name
    assert all(photo.image.dtype == np.uint8 and photo.image.shape[2] == 3 for photo in photos)


def test_procedural_textures_when_no_photographs():
    plan = SequencePlan(SMALL, 1, TextureSource(photos=()))
    assert plan.background_source == "procedural" and plan.target_source == "procedural"
    frame = plan.render(0)
    assert frame.image.shape == (SMALL.height, SMALL.width, 3) and frame.image.std() > 5
    assert frame.cover == 8


def test_polygon_clipping():
    square = np.array([[-2.0, -2.0], [2.0, -2.0], [2.0, 2.0], [-2.0, 2.0]])
    inside = clip_polygon_to_frame(square, 10, 10)
    assert polygon_area(inside) == pytest.approx(4.0)
    assert len(clip_polygon_to_frame(square - 5, 10, 10)) == 0
    assert polygon_area(clip_polygon_to_frame(square + 5, 10, 10)) == pytest.approx(16.0)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="32x32"):
        SceneConfig(width=16, height=16)
    with pytest.raises(ValueError, match="2 frames"):
        SceneConfig(frames=1)


def test_command_line(tmp_path):
    out = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "-m", "ltr.dataset.synthetic", "--out", str(out), "--train", "1", "--val", "1",
         "--frames", "4", "--width", "96", "--height", "72", "--seed", "2"],
        capture_output=True, text=True, env={**os.environ, "TRACKING_LOCAL_FILE": os.devnull})
    assert result.returncode == 0, result.stderr
    assert re.search(r"train\s+1 sequences\s+4 frames", result.stdout)
    assert (out / "val" / "GOT-10k_Val_000001" / "00000004.jpg").is_file()
    assert (out / "generate.log").read_text().count("sequences") >= 1
