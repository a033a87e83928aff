"""The synthetic multi-object dataset: MOTChallenge layout, determinism, ground truth, the
simulated detector, resuming and atomic sequences."""

import configparser
import filecmp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ltr.data.box_files import read_mot_rows
from ltr.dataset.synthetic.mot import OCCLUDER, PEDESTRIAN, MotConfig, MotPlan
from ltr.dataset.synthetic.mot_generate import generate_mot_dataset, mot_sequence_name, mot_sequence_plan
from ltr.dataset.synthetic.scene import SceneObject, Track, make_sprite, shape_polygon

REPO = Path(__file__).resolve().parents[3]
TINY = MotConfig(width=160, height=120, frames=12, min_objects=6, max_objects=10)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("mot")
    summary = generate_mot_dataset(root, seed=3, train=2, val=1, config=TINY, workers=1)
    return root, summary


def files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_same_seed_same_bytes_whatever_the_workers(tiny, tmp_path):
    root, _ = tiny
    generate_mot_dataset(tmp_path, seed=3, train=2, val=1, config=TINY, workers=2)
    assert files(root) == files(tmp_path) and len(files(root)) > 3 * TINY.frames
    for relative in files(root):
        assert filecmp.cmp(root / relative, tmp_path / relative, shallow=False), relative


def test_motchallenge_layout(tiny):
    root, summary = tiny
    for split, names in (("train", ["SYN-T001", "SYN-T002"]), ("val", ["SYN-V001"])):
        assert sorted(p.name for p in (root / split).iterdir()) == names
        for name in names:
            sequence = root / split / name
            info = configparser.ConfigParser()
            info.optionxform = str
            info.read(sequence / "seqinfo.ini")
            assert dict(info["Sequence"]) == {
                "name": name, "imDir": "img1", "frameRate": "25", "seqLength": str(TINY.frames),
                "imWidth": "160", "imHeight": "120", "imExt": ".jpg"}
            assert sorted(p.name for p in (sequence / "img1").iterdir()) == [
                f"{i:06d}.jpg" for i in range(1, TINY.frames + 1)]
            gt_lines = (sequence / "gt" / "gt.txt").read_text().splitlines()
            assert all(len(line.split(",")) == 9 for line in gt_lines)  # noqa: the test reads the format
            det = read_mot_rows(sequence / "det" / "det.txt")
            assert det.extra.shape[1] == 3 and (det.extra == -1).all() and (det.id == -1).all()
            assert ((det.score > 0) & (det.score < 1)).all()
    assert summary.splits["train"].sequences == 2 and summary.splits["train"].frames == 2 * TINY.frames


def test_ground_truth_is_consistent(tiny):
    root, _ = tiny
    for sequence in sorted((root / "train").iterdir()):
        gt = read_mot_rows(sequence / "gt" / "gt.txt")
        assert set(np.unique(gt.classes)) <= {PEDESTRIAN, OCCLUDER}
        people = gt.classes == PEDESTRIAN
        assert (gt.score[people] == 1).all() and (gt.score[~people] == 0).all()
        assert ((gt.visibility >= 0) & (gt.visibility <= 1)).all()
        # 1-based pixels, clipped to the frame.
        x, y, w, h = gt.box.T
        assert (x >= 1 - 1e-6).all() and (y >= 1 - 1e-6).all() and (w >= 1).all() and (h >= 1).all()
        assert (x + w <= TINY.width + 1 + 1e-2).all() and (y + h <= TINY.height + 1 + 1e-2).all()
        # One row per identity and frame; an identity keeps its class and moves smoothly.
        pairs = gt.frame * 10000 + gt.id
        assert len(np.unique(pairs)) == len(gt)
        for identity in np.unique(gt.id):
            rows = gt.select(gt.id == identity)
            assert len(np.unique(rows.classes)) == 1
            order = np.argsort(rows.frame)
            centres = rows.box[order, :2]
            steps = np.abs(np.diff(centres, axis=0)).max() if len(rows) > 1 else 0
            assert steps < 0.5 * TINY.width
        assert len(np.unique(gt.id[people])) >= TINY.min_objects


def test_written_rows_are_those_of_the_rendered_frames(tiny):
    root, _ = tiny
    plan = mot_sequence_plan(TINY, 3, "train", 1)
    gt = read_mot_rows(root / "train" / mot_sequence_name("train", 1) / "gt" / "gt.txt")
    for t in (0, 5, TINY.frames - 1):
        frame = plan.render(t)
        rows = gt.select(gt.frame == t + 1)
        rows = rows.select(np.argsort(rows.id))
        assert list(rows.id) == list(frame.ids)
        np.testing.assert_allclose(rows.box[:, :2] - 1, frame.boxes[:, :2], atol=0.006)
        np.testing.assert_allclose(rows.visibility, frame.visibility, atol=1e-6)
        assert (root / "train" / "SYN-T002" / "img1" / f"{t + 1:06d}.jpg").read_bytes() == plan.encode(frame.image)


def solid_object(x: float, y: float, w: float, h: float, colour: int, frames: int = 1) -> SceneObject:
    texture = np.full((160, 160, 3), colour, np.uint8)
    sprite = make_sprite(texture, np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    track = Track(np.full(frames, x + w / 2), np.full(frames, y + h / 2), np.full(frames, w), np.full(frames, h),
                  np.zeros(frames), np.ones(frames))
    return SceneObject("pedestrian", sprite, track)


def test_visibility_of_a_hand_checked_occlusion():
    """A 20x40 walker, its left half covered by a nearer one; a third half out of the frame."""
    plan = MotPlan(MotConfig(width=160, height=120, frames=2, min_objects=1, max_objects=1, max_occluders=0,
                             p_motion_blur=0.0), 1)
    far = plan.walkers[0]
    far.obj = solid_object(40, 30, 20, 40, 200, 2)
    far.depth = np.full(2, 10.0)
    near = dataclass_copy(far, identity=2, obj=solid_object(30, 20, 20, 60, 50, 2), depth=np.full(2, 20.0))
    cut = dataclass_copy(far, identity=3, obj=solid_object(150, 60, 20, 20, 120, 2), depth=np.full(2, 5.0))
    plan.walkers = [far, near, cut]
    frame = plan.render(1, masks=True)
    visibility = dict(zip(frame.ids.tolist(), frame.visibility.tolist()))
    assert visibility[1] == pytest.approx(0.5, abs=0.02)
    assert visibility[2] == pytest.approx(1.0, abs=1e-6)
    assert visibility[3] == pytest.approx(0.5, abs=0.02)
    boxes = dict(zip(frame.ids.tolist(), frame.boxes.tolist()))
    np.testing.assert_allclose(boxes[1], [40, 30, 20, 40], atol=1e-6)  # the whole box, occluded part included
    np.testing.assert_allclose(boxes[3], [150, 60, 10, 20], atol=1e-6)  # clipped to the frame
    full, seen = frame.masks[1]
    assert seen[30:70, 40:50].max() < 0.01 and seen[31:69, 51:59].min() > 0.99


def dataclass_copy(walker, **changes):
    import dataclasses

    return dataclasses.replace(walker, **changes)


def test_detector_misses_grow_with_occlusion_and_has_false_positives():
    config = MotConfig(width=320, height=240, frames=40, min_objects=15, max_objects=20)
    found = {band: [0, 0] for band in range(4)}
    false_positives = 0
    for index in range(2):
        plan = mot_sequence_plan(config, 5, "train", index)
        frames = [plan.render(t) for t in range(config.frames)]
        detections = plan.detections(frames)
        assert len(detections) and (np.diff(detections[:, 0]) >= 0).all()
        from ltr.data.boxes import box_iou

        for t, frame in enumerate(frames):
            here = detections[detections[:, 0] == t + 1, 1:5]
            people = frame.classes == PEDESTRIAN
            iou = box_iou(frame.boxes[people][:, None], here[None]) if len(here) else np.zeros((people.sum(), 0))
            hit = iou.max(1) >= 0.5 if iou.shape[1] else np.zeros(len(iou), bool)
            for visible, matched in zip(frame.visibility[people], hit):
                band = min(3, int(visible / 0.25))
                found[band][0] += int(matched)
                found[band][1] += 1
            if iou.shape[1]:
                false_positives += int((iou.max(0) < 0.1).sum()) if len(iou) else iou.shape[1]
    recall = [hits / max(1, total) for hits, total in found.values()]
    assert all(total > 20 for _, total in found.values()), found
    assert recall[0] < recall[1] < recall[2] < recall[3], recall
    assert recall[0] < 0.5 and recall[3] > 0.8  # crowds: a hidden walker may overlap a neighbour's box
    assert false_positives > 20


def test_resume_redoes_a_partial_sequence(tmp_path):
    generate_mot_dataset(tmp_path, seed=4, train=2, val=0, config=TINY, workers=1)
    victim = tmp_path / "train" / "SYN-T002"
    original = (victim / "gt" / "gt.txt").read_bytes()
    os.rename(victim, tmp_path / "train" / ".SYN-T002.partial")  # as an interrupted run leaves it
    (tmp_path / "train" / ".SYN-T002.partial" / "gt" / "gt.txt").write_text("1,1,1,1,1,1,1,1,1\n")
    summary = generate_mot_dataset(tmp_path, seed=4, train=2, val=0, config=TINY, workers=1)
    assert summary.generated == 1
    assert (victim / "gt" / "gt.txt").read_bytes() == original
    assert not (tmp_path / "train" / ".SYN-T002.partial").exists()
    with pytest.raises(FileExistsError, match="seed"):
        generate_mot_dataset(tmp_path, seed=5, train=2, val=0, config=TINY, workers=1)


def test_a_failing_sequence_leaves_no_visible_folder(tmp_path, monkeypatch):
    from ltr.dataset.synthetic import mot_generate

    def broken(folder, plan, name):
        (folder / "img1").mkdir(parents=True)
        raise OSError("disk full")

    monkeypatch.setattr(mot_generate, "write_mot_sequence", broken)
    with pytest.raises(OSError, match="disk full"):
        generate_mot_dataset(tmp_path, seed=4, train=1, val=0, config=TINY, workers=1)
    assert [p.name for p in (tmp_path / "train").iterdir()] == [".SYN-T001.partial"]


def test_command_line_and_ctrl_c(tmp_path):
    env = {**os.environ, "TRACKING_LOCAL_FILE": os.devnull, "PYTHONPATH": str(REPO)}
    out = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "-m", "ltr.dataset.synthetic", "--mot", "--out", str(out), "--train", "1", "--val", "1",
         "--frames", "3", "--width", "96", "--height", "72", "--min-objects", "3", "--max-objects", "4",
         "--workers", "1"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "synthetic MOT dataset" in result.stdout and (out / "val" / "SYN-V001" / "img1" / "000003.jpg").is_file()
    # Ctrl-C during a long run: the command stops, whole sequences stay, partial ones stay hidden.
    slow = tmp_path / "slow"
    process = subprocess.Popen(
        [sys.executable, "-m", "ltr.dataset.synthetic", "--mot", "--out", str(slow), "--train", "20", "--val", "0",
         "--frames", "30", "--width", "160", "--height", "120", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ((slow / "train").is_dir() and any((slow / "train").iterdir())):
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode != 0
    for folder in (slow / "train").iterdir():
        if not folder.name.startswith("."):
            assert (folder / "seqinfo.ini").is_file() and (folder / "det" / "det.txt").is_file()
    resumed = generate_mot_dataset(slow, seed=0, train=2, val=0,
                                   config=MotConfig(width=160, height=120, frames=30), workers=1)
    assert not [p for p in (slow / "train").iterdir() if p.name.startswith(".")]
    assert resumed.splits["train"].sequences == 2


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="min_objects"):
        MotConfig(min_objects=5, max_objects=2)
    with pytest.raises(ValueError, match="32x32"):
        MotConfig(width=16, height=16)


def test_reading_synthetic_mot_dir_creates_nothing(tmp_path, monkeypatch):
    from admin.environment import env_settings

    monkeypatch.setenv("TRACKING_LOCAL_FILE", os.devnull)
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))
    monkeypatch.delenv("TRACKING_SYNTHETIC_MOT_DIR", raising=False)
    path = Path(env_settings().synthetic_mot_dir)
    assert path == tmp_path / "workspace" / "synthetic_mot" and not path.exists()
