"""The evaluation's tracker wrapper: finding trackers and parameter files by name, running a
sequence frame by frame, and the parameter bag."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from ltr.dataset.synthetic import SceneConfig, generate_dataset
from pytracking.evaluation import Sequence, get_dataset
from pytracking.evaluation.tracker import Tracker, parameter_names, tracker_names, trackerlist
from pytracking.tracker.base import BaseTracker, TrackerParams
from pytracking.tracker.opencv.tracker import OpenCVTracker


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Three generated sequences of 8 frames, 96x72 pixels."""
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, train=0, val=3, config=SceneConfig(width=96, height=72, frames=8), workers=1)
    return get_dataset("synthetic", root=root)


class ScriptedTracker(BaseTracker):
    """Returns ``params.boxes[frame]`` and the frame's index; no box from initialize."""

    def initialize(self, image, info):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        self.frame = 0
        return {}

    def track(self, image, info=None):
        self.frame += 1
        return {"target_bbox": self.params.boxes[self.frame], "frame": self.frame}


class Scripted(Tracker):
    """The opencv tracker's lookup, with a scripted tracker built instead."""

    def __init__(self, boxes, seen: list):
        super().__init__("opencv", "kcf")
        self.boxes, self.seen = boxes, seen

    def create_tracker(self, params):
        params.boxes = self.boxes
        self.seen.append(params)
        return ScriptedTracker(params)


# ---------------------------------------------------------------- parameters

def test_tracker_params_get_has_default():
    params = TrackerParams(lr=0.5, debug=0)
    assert params.lr == 0.5 and params.get("lr") == 0.5 and params.get("missing", 3) == 3
    assert params.get("missing", None) is None
    assert params.has("lr") and not params.has("missing")
    params.set_default("lr", 9.0)
    params.set_default("scale", 2)
    assert params.lr == 0.5 and params.scale == 2
    with pytest.raises(AttributeError, match=r"'missing' is not set.*parameter file.*debug, lr, scale"):
        params.get("missing")
    with pytest.raises(AttributeError, match="'other' is not set"):
        params.other
    assert not hasattr(params, "other")
    copy = pickle.loads(pickle.dumps(params))
    assert copy.as_dict() == params.as_dict() == {"lr": 0.5, "debug": 0, "scale": 2}


# ---------------------------------------------------------------- lookup

def test_lookup_by_name(clean_env):
    assert "opencv" in tracker_names()
    assert parameter_names("opencv") == ["csrt", "kcf", "mil"]
    tracker = Tracker("opencv", "csrt")
    assert tracker.tracker_class is OpenCVTracker
    assert tracker.get_parameters().method == "csrt"
    assert isinstance(tracker.create_tracker(tracker.get_parameters()), OpenCVTracker)
    assert tracker.label == "opencv csrt" and Tracker("opencv", "csrt", 2).label == "opencv csrt_002"
    assert Tracker("opencv", "csrt", display_name="CSRT").label == "CSRT"


def test_typos_list_what_exists():
    with pytest.raises(ValueError, match=r"unknown tracker 'opencvv'.*Did you mean 'opencv'.*Available: .*opencv"):
        Tracker("opencvv", "csrt")
    with pytest.raises(ValueError, match=r"'crst'.*pytracking/parameter/opencv/crst\.py.*Available: csrt, kcf, mil"):
        Tracker("opencv", "crst")


def test_results_dir_from_environment(clean_env):
    results = clean_env / "workspace" / "tracking_results"
    assert Tracker("opencv", "kcf").results_dir == results / "opencv" / "kcf"
    assert Tracker("opencv", "kcf", 7).results_dir == results / "opencv" / "kcf_007"
    runs = trackerlist("opencv", "mil", 3)
    assert [t.run_id for t in runs] == [0, 1, 2] and trackerlist("opencv", "mil")[0].run_id is None


def test_numbered_runs_draw_with_seed_plus_run_id(clean_env):
    assert Tracker("atom", "default").get_parameters().seed == 0
    assert [Tracker("atom", "default", run).get_parameters().seed for run in (0, 1, 2)] == [0, 1, 2]
    assert not Tracker("opencv", "csrt", 3).get_parameters().has("seed")  # a tracker without draws


# ---------------------------------------------------------------- run_sequence

def test_run_sequence_outputs_and_times(dataset):
    seq = dataset[0]
    output = Tracker("opencv", "csrt").run_sequence(seq)
    assert output["target_bbox"].shape == (8, 4) and output["target_bbox"].dtype == np.float64
    assert output["target_bbox"][0].tolist() == seq.init_info()["init_bbox"]
    assert output["time"].shape == (8,) and np.all(output["time"] > 0)
    # initialize returned nothing for frame 0; track said whether it found the target.
    assert len(output["target_found"]) == 8 and output["target_found"][0] is None
    assert all(isinstance(found, bool) for found in output["target_found"][1:])


def test_run_sequence_collects_outputs_and_sets_debug(dataset):
    seq = dataset[1]
    boxes = [[float(i), 2.0, 3.0, 4.0] for i in range(len(seq))]
    seen = []
    output = Scripted(boxes, seen).run_sequence(seq, debug=2)
    assert seen[0].debug == 2
    assert output["target_bbox"][1:].tolist() == boxes[1:]
    assert output["frame"] == [None, 1, 2, 3, 4, 5, 6, 7]
    Scripted(boxes, seen).run_sequence(seq)
    assert seen[1].debug == 0  # the parameter file's value when not given


@pytest.mark.parametrize("bad", [[1.0, 2.0, 3.0], [1.0, float("nan"), 3.0, 4.0], [0.0, 0.0, -1.0, 4.0]])
def test_run_sequence_rejects_bad_boxes(dataset, bad):
    seq = dataset[0]
    boxes = [[1.0, 1.0, 5.0, 5.0]] * len(seq)
    boxes[3] = bad
    with pytest.raises(ValueError, match=rf"frame 3 of {seq.name}"):
        Scripted(boxes, []).run_sequence(seq)


def test_run_sequence_names_a_missing_frame(tmp_path):
    seq = Sequence("gone", [str(tmp_path / "0.jpg")], "test", [[1, 1, 4, 4]])
    with pytest.raises(OSError, match=r"0\.jpg.*no such file"):
        Tracker("opencv", "kcf").run_sequence(seq)


# ---------------------------------------------------------------- first box, network (issue 14)

@pytest.mark.parametrize("box", [[10, 10, 0, 5], [10, 10, 5, -1], [10, 10, np.inf, 5]])
def test_bad_first_box_is_named_before_the_tracker_is_built(dataset, box):
    source = dataset[0]
    rows = source.ground_truth_rect.copy()
    rows[0] = box
    seq = Sequence("bad", source.frames, "synthetic", rows, anno_path="/data/bad/groundtruth.txt")
    seen = []
    with pytest.raises(ValueError, match=r"'bad'.*/data/bad/groundtruth\.txt.*positive width and height"):
        Scripted(np.zeros((len(seq), 4)), seen).run_sequence(seq)
    assert not seen  # no tracker was built


def test_network_replaces_net_path(tmp_path, monkeypatch):
    checkpoint = tmp_path / "checkpoints" / "ATOMnet_ep0005.pth.tar"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"")
    tracker = Tracker("atom", "synthetic", network=checkpoint)
    assert tracker.get_parameters().net_path == str(checkpoint)
    assert "ATOMnet_ep0005.pth.tar" in tracker.label
    assert Tracker("atom", "synthetic").get_parameters().net_path == "atom_synthetic.pth.tar"
    # An existing relative path is made absolute (workers and the loader use it as it is).
    monkeypatch.chdir(tmp_path)
    assert Tracker("atom", "synthetic", network="checkpoints/ATOMnet_ep0005.pth.tar").network == str(checkpoint)
    # A bare name is left to be found in network_path.
    assert Tracker("atom", "synthetic", network="other.pth").get_parameters().net_path == "other.pth"
    with pytest.raises(ValueError, match="uses no network"):
        Tracker("opencv", "kcf", network=checkpoint).get_parameters()


def test_resolve_network_path_takes_existing_paths(tmp_path, monkeypatch, isolated_workspace):
    from pytracking.features.net_wrappers import resolve_network_path

    monkeypatch.setenv("TRACKING_NETWORK_PATH", str(tmp_path / "networks"))
    (tmp_path / "networks").mkdir()
    (tmp_path / "networks" / "atom_default.pth").write_bytes(b"")
    (tmp_path / "mine.pth").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert resolve_network_path("atom_default.pth") == tmp_path / "networks" / "atom_default.pth"
    assert resolve_network_path("mine.pth") == tmp_path / "mine.pth"
    assert resolve_network_path(tmp_path / "mine.pth") == tmp_path / "mine.pth"
    with pytest.raises(FileNotFoundError, match=r"missing\.pth does not exist.*network_path"):
        resolve_network_path("missing.pth")
