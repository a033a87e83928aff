"""checkpoint_eval: a MOT tracker with parameter overrides, run in-process on a dataset's sequences
and scored combined (SORT on a generated synthetic MOT dataset: it does not need Tracktor)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from admin.environment import REPO_ROOT
from ltr.data.box_files import MotRows
from ltr.dataset.synthetic.mot import MotConfig
from ltr.dataset.synthetic.mot_generate import generate_mot_dataset
from pytracking.analysis.mot import combine, evaluate_sequence
from pytracking.evaluation import checkpoint_eval
from pytracking.evaluation.datasets import get_dataset

TINY = MotConfig(width=160, height=120, frames=12, min_objects=6, max_objects=10)


@pytest.fixture
def synthetic_mot(isolated_workspace, tmp_path, monkeypatch):
    root = tmp_path / "synthetic_mot"
    generate_mot_dataset(root, seed=3, train=1, val=2, config=TINY, workers=1)
    monkeypatch.setenv("TRACKING_SYNTHETIC_MOT_DIR", str(root))
    return root


def test_scores_sort_on_the_val_sequences_combined(synthetic_mot, tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert checkpoint_eval.main(["--tracker", "sort", "--parameters", "default", "--dataset", "synthetic_mot",
                                 "--param", "min_hits=1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["sequences"] == ["SYN-V001", "SYN-V002"] and result["tracker"] == "sort"
    figures = result["figures"]
    assert set(figures) >= {"MOTA", "IDF1", "FN", "FP", "IDs", "MT", "ML"}
    assert json.loads(capsys.readouterr().out.strip()) == figures
    # The same figures as running SORT (min_hits 1) sequence by sequence and combining the counts.
    tracker = checkpoint_eval.build_tracker("sort", "default", {"min_hits": 1})
    assert tracker.get_parameters().min_hits == 1
    counts = []
    for seq in get_dataset("synthetic_mot"):
        rows = tracker.run_sequence(seq)["tracks"]
        gt = seq.ground_truth
        counts.append(evaluate_sequence(MotRows(gt.frame - (seq.first_frame - 1), gt.id, gt.box, gt.score, gt.extra),
                                        MotRows.from_array(rows), len(seq), preprocessing="mot17"))
    scores = combine(counts)
    assert figures["MOTA"] == pytest.approx(scores["MOTA"]) and figures["IDs"] == scores["IDSW"]
    assert figures["FN"] + scores["TP"] > 0 and 0 < figures["MOTA"] <= 1  # SORT on a simulated detector tracks


def test_sequences_option_picks_sequences(synthetic_mot, tmp_path):
    out = tmp_path / "one.json"
    assert checkpoint_eval.main(["--tracker", "sort", "--parameters", "default", "--dataset", "synthetic_mot",
                                 "--sequences", "SYN-V002", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["sequences"] == ["SYN-V002"]


def test_bad_arguments_are_one_line_and_status_2(synthetic_mot, tmp_path, capsys):
    out = tmp_path / "x.json"
    assert checkpoint_eval.main(["--tracker", "sort", "--parameters", "default", "--dataset", "synthetic_mot",
                                 "--detector", str(tmp_path / "missing.pth.tar"), "--json", str(out)]) == 2
    assert "--detector" in capsys.readouterr().err and not out.exists()
    assert checkpoint_eval.main(["--tracker", "sort", "--parameters", "default", "--dataset", "synthetic_mot",
                                 "--param", "min_hitz=1", "--json", str(out)]) == 2
    assert "min_hitz" in capsys.readouterr().err
    assert checkpoint_eval.main(["--tracker", "nosuch", "--parameters", "default", "--dataset", "synthetic_mot",
                                 "--json", str(out)]) == 2
    assert checkpoint_eval.main(["--tracker", "sort", "--parameters", "default", "--dataset", "synthetic_mot",
                                 "--param", "oops", "--json", str(out)]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_network_options_set_the_checkpoint_and_clear_released_weights(tmp_path):
    network = tmp_path / "det.pth.tar"
    network.write_bytes(b"x")
    overrides = {}
    for option, (parameter, cleared) in checkpoint_eval.NETWORK_PARAMETERS.items():
        overrides[parameter] = str(network)
        overrides.update(dict.fromkeys(cleared))
    assert overrides == {"detector_checkpoint": str(network), "detector_network": None, "detector_weights": None,
                         "reid_checkpoint": str(network), "reid_network": None, "reid_weights": None}


def test_runs_as_a_module_the_way_the_training_hook_calls_it(synthetic_mot, tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "pytracking.evaluation.checkpoint_eval", "--tracker", "sort",
                           "--parameters", "default", "--dataset", "synthetic_mot", "--json", str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert done.returncode == 0, done.stderr
    assert np.isfinite(json.loads(out.read_text())["figures"]["MOTA"])
