"""FairMOT's commands (pytracking/run_fairmot.py): its flags become tracker parameters, ``demo``
writes results.txt and results.mp4, ``track`` writes a sequence's results; a user's mistake is
one line. The network is scripted: one person in the middle of the network input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pytracking import run_fairmot

TREES = Path(__file__).resolve().parents[1] / "ltr" / "dataset" / "mot" / "mot_trees.py"


class CentrePerson(torch.nn.Module):
    """A peak (score sigmoid(3)) in the middle cell of the output map, 4 cells to every side."""

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        h, w = images.shape[2] // 4, images.shape[3] // 4
        hm = torch.full((1, 1, h, w), -8.0)
        hm[0, 0, h // 2, w // 2] = 3.0
        return {"hm": hm, "wh": torch.full((1, 4, h, w), 4.0), "reg": torch.zeros(1, 2, h, w),
                "id": torch.ones(1, 8, h, w)}


@pytest.fixture
def environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "workspace"))
    monkeypatch.setenv("TRACKING_RESULTS_PATH", str(tmp_path / "results"))
    monkeypatch.setenv("TRACKING_NETWORK_PATH", str(tmp_path / "networks"))
    loaded = []

    def load(**settings):
        loaded.append(settings)
        return CentrePerson()

    monkeypatch.setattr("pytracking.tracker.fairmot.tracker.load_fairmot_network", load)
    weights = tmp_path / "fairmot_dla34.pth"
    weights.write_bytes(b"weights")
    return weights, loaded


def write_video(path: Path, size=(320, 240), frames=4) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    for n in range(frames):
        writer.write(np.full((size[1], size[0], 3), 40 * n, np.uint8))
    writer.release()
    return path


def test_flags_become_parameters(environment):
    weights, _ = environment
    args = run_fairmot.build_parser().parse_args(
        ["track", "mot", "--load_model", str(weights), "--conf_thres", "0.3", "--arch", "dla_34", "--reid_dim", "64",
         "--track_buffer", "60", "--min-box-area", "50", "--K", "100", "--not_reg_offset", "--input-size", "576", "320"])
    params = run_fairmot.fairmot_tracker("default", run_fairmot.overrides_from(args)).get_parameters()
    assert (params.conf_thres, params.arch, params.reid_dim, params.track_buffer) == (0.3, "dla_34", 64, 60)
    assert (params.min_box_area, params.K, params.reg_offset, params.input_size) == (50.0, 100, False, (576, 320))
    assert params.load_model == str(weights) and params.checkpoint is None
    unchanged = run_fairmot.fairmot_tracker("default", {}).get_parameters()
    assert (unchanged.conf_thres, unchanged.load_model) == (0.4, "fairmot_dla34.pth")


def test_a_checkpoint_of_the_toolkit_is_loaded_as_a_checkpoint(environment, tmp_path):
    checkpoint = tmp_path / "fairmot_synthetic.pth.tar"
    checkpoint.write_bytes(b"x")
    args = run_fairmot.build_parser().parse_args(["track", "mot", "--load_model", str(checkpoint)])
    params = run_fairmot.fairmot_tracker("synthetic", run_fairmot.overrides_from(args)).get_parameters()
    assert params.checkpoint == str(checkpoint) and params.load_model is None


@pytest.mark.parametrize("argv, message", [
    (["track", "mot", "--load_model", "missing.pth"], "--load_model missing.pth"),
    (["track", "mot", "--arch", "dla_99"], "--arch 'dla_99' is not a FairMOT network"),
])
def test_mistakes_are_one_line(environment, argv, message):
    with pytest.raises(SystemExit) as error:
        run_fairmot.main(argv)
    assert message in str(error.value.code) and "\n" not in str(error.value.code)


def test_an_unreadable_video_is_one_line(environment, tmp_path):
    weights, _ = environment
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    for video in (bad, tmp_path / "absent.mp4"):
        with pytest.raises(SystemExit) as error:
            run_fairmot.main(["demo", "mot", "--load_model", str(weights), "--input-video", str(video),
                              "--output-root", str(tmp_path / "out")])
        assert str(video) in str(error.value.code) and "\n" not in str(error.value.code)


def read_results(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


def test_demo_writes_results_and_video_in_the_videos_pixels(environment, tmp_path):
    weights, loaded = environment
    video = write_video(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    assert run_fairmot.main(["demo", "mot", "--load_model", str(weights), "--input-video", str(video),
                             "--output-root", str(out), "--input-size", "64", "64", "--conf_thres", "0.4"]) == 0
    assert (out / "results.mp4").stat().st_size > 0
    rows = read_results(out / "results.txt")
    # Letterbox 320 x 240 -> 64 x 64 scales by 0.2: the person, 32 input pixels around the input's
    # centre (32, 32), is 160 pixels around the frame's centre (160, 120). Frame 1 only starts it.
    assert rows[:, 0].tolist() == [1, 2, 3, 4] and set(rows[:, 1]) == {1}
    np.testing.assert_allclose(rows[:, 2:6], [[80, 40, 160, 160]] * 4, atol=1e-3)
    assert loaded[0]["load_model"] == str(weights) and loaded[0]["arch"] == "dla_34"
    capture = cv2.VideoCapture(str(out / "results.mp4"))
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (320, 240)


def test_demo_with_the_published_resize_is_in_1920_by_1080_pixels(environment, tmp_path):
    weights, _ = environment
    video = write_video(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    run_fairmot.main(["demo", "mot", "--load_model", str(weights), "--input-video", str(video), "--output-root",
                      str(out), "--input-size", "64", "64", "--video-resize", "1920", "1080"])
    rows = read_results(out / "results.txt")
    # 1920 x 1080 -> 64 x 64 scales by 1/30: 960 pixels around (960, 540); in the video's own
    # pixels that box would be [80, 13.3, 160, 213.3]: x off by 6, y by 4.5.
    np.testing.assert_allclose(rows[:, 2:6], [[480, 60, 960, 960]] * 4, atol=1e-2)
    capture = cv2.VideoCapture(str(out / "results.mp4"))
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (1920, 1080)


def test_track_runs_a_mot_sequence_and_writes_its_results(environment, tmp_path, monkeypatch):
    weights, _ = environment
    spec = importlib.util.spec_from_file_location("mot_trees_for_fairmot", TREES)
    trees = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trees)
    root = tmp_path / "synthetic_mot"
    trees.write_sequence(root / "val" / "SYN-03", "SYN-03", 3, trees.gt_rows(3), trees.det_rows(3))
    monkeypatch.setenv("TRACKING_SYNTHETIC_MOT_DIR", str(root))
    assert run_fairmot.main(["track", "mot", "--load_model", str(weights), "--dataset_name", "synthetic_mot",
                             "--input-size", "64", "64"]) == 0
    results = list((tmp_path / "results" / "fairmot" / "default").rglob("SYN-03*.txt"))
    rows = read_results(results[0])
    # 64 x 48 frames letterboxed by 1.0: the person is 32 pixels around (32, 24).
    assert rows[:, 0].tolist() == [1, 2, 3]
    np.testing.assert_allclose(rows[:, 2:6], [[16, 8, 32, 32]] * 3, atol=1e-3)
