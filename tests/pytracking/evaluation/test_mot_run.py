"""SORT and ByteTrack run by the one runner on a generated synthetic MOT dataset, their
MOTChallenge result files read back and scored by the MOT metrics: the whole MOT path end to end."""

from __future__ import annotations

import numpy as np
import pytest

from ltr.data.box_files import read_mot_rows
from ltr.dataset.synthetic.mot import MotConfig
from ltr.dataset.synthetic.mot_generate import generate_mot_dataset
from pytracking.analysis.mot import combine, evaluate_sequence
from pytracking.evaluation import get_dataset
from pytracking.evaluation.running import is_complete, results_paths, run_dataset
from pytracking.evaluation.tracker import Tracker


@pytest.fixture(scope="module")
def synthetic_mot_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic_mot")
    generate_mot_dataset(root, seed=5, train=0, val=2,
                         config=MotConfig(width=320, height=240, frames=30, min_objects=5, max_objects=8), workers=1)
    return root


@pytest.fixture
def environment(tmp_path, monkeypatch, synthetic_mot_root):
    monkeypatch.setenv("TRACKING_LOCAL_FILE", "/dev/null")
    monkeypatch.setenv("TRACKING_WORKSPACE_DIR", str(tmp_path / "ws"))
    monkeypatch.setenv("TRACKING_SYNTHETIC_MOT_DIR", str(synthetic_mot_root))


def test_synthetic_mot_is_the_val_split_with_ground_truth_and_detections(environment):
    dataset = get_dataset("synthetic_mot")
    assert dataset.names() == ["SYN-V001", "SYN-V002"]
    seq = dataset[0]
    assert len(seq) == 30 and len(seq.frames) == 30
    assert len(seq.ground_truth) > 0 and set(np.unique(seq.ground_truth.frame)) <= set(range(1, 31))
    detections = seq.frame_info(0)["detections"]
    assert detections.ndim == 2 and detections.shape[1] == 5 and len(detections) > 0


@pytest.mark.parametrize("name", ["sort", "bytetrack"])
def test_mot_trackers_run_through_the_runner_and_score(environment, name):
    dataset = get_dataset("synthetic_mot")
    tracker = Tracker(name, "default")
    report = run_dataset(dataset, tracker)
    assert len(report.done) == 2 and not report.failed
    counts = []
    for seq in dataset:
        result_file, time_file, _ = results_paths(tracker, seq)
        rows = read_mot_rows(result_file)
        assert len(rows) > 0 and rows.frame.min() >= 1 and rows.frame.max() <= len(seq)
        assert len(time_file.read_text().splitlines()) == len(seq)
        assert is_complete(tracker, seq)
        counts.append(evaluate_sequence(seq.ground_truth, rows, len(seq), preprocessing="mot17"))
    scores = combine(counts)
    # Public detections of the simulated detector find most visible walkers: a working tracker on
    # them keeps well above half of the ground truth, and far above an empty output (MOTA 0).
    assert scores["MOTA"] > 0.4 and scores["IDF1"] > 0.4 and scores["HOTA"] > 0.3
    assert len(run_dataset(dataset, tracker).skipped) == 2  # complete results are not run again
