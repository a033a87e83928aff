"""GOT-10k's AO, SR0.5 and SR0.75 against numbers derived by hand under the official toolkit's
rules (first frame left out, absent frames left out, boxes clipped to the image, IoU > t, all
frames of all sequences and runs pooled).

The tree: a 100 x 100 image (``meta_info.ini``), two sequences.

- A, 4 frames, ground truth ``[10, 10, 10, 10]``; predictions after the first frame give IoU 1,
  0.5 (``h = 5``) and 0.75 (``h = 7.5``).
- B, 6 frames, ground truth ``[90, 90, 20, 20]`` (clipped to ``[90, 90, 10, 10]`` by the image);
  frame 3 absent (``absence 1``, ``cover 0``); predictions give IoU 1 (only after clipping: 0.25
  without), absent, 0, 0 and 0.5 (``[95, 90, 10, 10]`` clipped to width 5).

Scored IoUs: A 1, 0.5, 0.75; B 1, 0, 0, 0.5: seven frames, sum 3.75. AO = 3.75 / 7 (the mean of
the sequences' means would be 0.5625); SR0.5 = 3 / 7 (0.5 is not above 0.5); SR0.75 = 2 / 7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytracking.analysis.evaluate import TrackerRuns, analyse
from pytracking.analysis.got10k import got10k_iou, image_bound, scores_of, sequence_ious
from pytracking.analysis.pipeline import analyse_dataset
from pytracking.analysis.reports import SCORES_CSV, SCORES_MD
from pytracking.evaluation.datasets import get_dataset

GT = {"A": [[10, 10, 10, 10]] * 4, "B": [[90, 90, 20, 20]] * 6}
ABSENT = {"A": [], "B": [3]}
PRED = {"A": [[50, 50, 10, 10], [10, 10, 10, 10], [10, 10, 10, 5], [10, 10, 10, 7.5]],
        "B": [[0, 0, 1, 1], [90, 90, 10, 10], [40, 40, 5, 5], [0, 0, 10, 10], [0, 0, 10, 10], [95, 90, 10, 10]]}
PERFECT_A = [[10, 10, 10, 10]] * 4


def rows(boxes) -> str:
    return "".join(",".join(f"{v:g}" for v in box) + "\n" for box in boxes)


def make_tree(base: Path, meta: bool = True) -> Path:
    val = base / "got10k" / "val"
    val.mkdir(parents=True)
    (val / "list.txt").write_text("A\nB\n")
    for name, gt in GT.items():
        folder = val / name
        folder.mkdir()
        (folder / "groundtruth.txt").write_text(rows(gt))
        absent = [n + 1 in ABSENT[name] for n in range(len(gt))]
        (folder / "absence.label").write_text("".join("1\n" if a else "0\n" for a in absent))
        (folder / "cover.label").write_text("".join("0\n" if a else "8\n" for a in absent))
        if meta:
            (folder / "meta_info.ini").write_text("[METAINFO]\nobject_class: car\nresolution: (100, 100)\n")
    return base / "got10k"


def write_run(results: Path, folder: str, pred: dict) -> None:
    for name, boxes in pred.items():
        path = results / "T" / folder / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rows(boxes))


def test_iou_is_the_toolkits_continuous_clipped_iou():
    gt = np.array([[10.0, 10, 10, 10]] * 3)
    pred = np.array([[10.0, 10, 10, 5], [15, 10, 10, 10], [30, 30, 5, 5]])
    # Continuous boxes: half overlap is exactly 0.5 (and 1/3 when shifted by half the width).
    assert got10k_iou(pred, gt).tolist() == pytest.approx([0.5, 1 / 3, 0.0])
    # Clipping to a 100 x 100 image: [90, 90, 20, 20] is [90, 90, 10, 10].
    assert got10k_iou(np.array([[90.0, 90, 10, 10]]), np.array([[90.0, 90, 20, 20]]), (100, 100)) == [1.0]
    assert got10k_iou(np.array([[90.0, 90, 10, 10]]), np.array([[90.0, 90, 20, 20]])) == pytest.approx([0.25])


def test_first_frame_and_absent_frames_are_left_out_and_short_results_fail():
    gt = np.array(GT["B"], dtype=float)
    visible = np.array([n + 1 not in ABSENT["B"] for n in range(6)])
    ious = sequence_ious(np.array(PRED["B"], dtype=float), gt, visible, (100.0, 100.0))
    assert ious.tolist() == pytest.approx([1.0, 0.0, 0.0, 0.5])
    # A result missing its last two frames: they score IoU 0.
    assert sequence_ious(np.array(PRED["B"][:4], dtype=float), gt, visible, (100.0, 100.0)).tolist() == \
        pytest.approx([1.0, 0.0, 0.0, 0.0])


def test_scores_pool_frames_and_count_strictly_above_the_threshold():
    result = scores_of([np.array([1.0, 0.5, 0.75]), np.array([1.0, 0.0, 0.0, 0.5])])
    assert result == pytest.approx({"AO": 100 * 3.75 / 7, "SR0.5": 100 * 3 / 7, "SR0.75": 100 * 2 / 7})
    assert np.isnan(scores_of([np.zeros(0)])["AO"])


def test_got10k_analysis_reports_ao_and_sr_beside_auc(tmp_path):
    root = make_tree(tmp_path)
    write_run(tmp_path / "results", "p", PRED)
    result = analyse_dataset("got10k_val", [TrackerRuns("T", "p")], dataset_root=root, results_path=tmp_path / "results",
                             output_dir=tmp_path / "out", plots=False)
    assert result.got10k_scores["T p"] == pytest.approx({"AO": 100 * 3.75 / 7, "SR0.5": 100 * 3 / 7,
                                                         "SR0.75": 100 * 2 / 7})
    assert "AUC" in result.scores["T p"]
    header = result.table().splitlines()[0].split()
    assert header[:7] == ["Tracker", "AUC", "OP50", "OP75", "Precision", "NormPrecision", "AO"]
    assert header[7:] == ["SR0.5", "SR0.75", "Sequences"]
    csv_rows = (tmp_path / "out" / SCORES_CSV).read_text().splitlines()
    assert csv_rows[0] == "tracker,AUC,OP50,OP75,Precision,NormPrecision,AO,SR0.5,SR0.75,sequences"
    assert csv_rows[1].endswith(f",{100 * 3.75 / 7:.4f},{100 * 3 / 7:.4f},{100 * 2 / 7:.4f},2")
    assert "GOT-10k toolkit" in (tmp_path / "out" / SCORES_MD).read_text()


def test_runs_are_pooled_frame_by_frame_and_labelled_with_their_count(tmp_path):
    root = make_tree(tmp_path)
    write_run(tmp_path / "results", "p_001", PRED)
    write_run(tmp_path / "results", "p_002", {"A": PERFECT_A, "B": PRED["B"]})
    sequences = get_dataset("got10k_val", root=root)
    result = analyse(sequences, [TrackerRuns("T", "p", (1, 2))], results_path=tmp_path / "results",
                     dataset="got10k", got10k_metrics=True)
    # Run 2 adds A's 1, 1, 1 and B's 1, 0, 0, 0.5: 14 frames, sum 8.25; 7 above 0.5; 6 above 0.75.
    assert result.got10k_scores["T p (2 runs)"] == pytest.approx({"AO": 100 * 8.25 / 14, "SR0.5": 50.0,
                                                                  "SR0.75": 100 * 6 / 14})


def test_other_datasets_only_on_request_and_unknown_image_size_is_a_warning(tmp_path, caplog):
    root = make_tree(tmp_path, meta=False)
    write_run(tmp_path / "results", "p", PRED)
    sequences = get_dataset("got10k_val", root=root)
    plain = analyse(sequences, [TrackerRuns("T", "p")], results_path=tmp_path / "results", dataset="lasot")
    assert plain.got10k_scores == {} and "AO" not in plain.table()
    result = analyse(sequences, [TrackerRuns("T", "p")], results_path=tmp_path / "results", dataset="got10k",
                     got10k_metrics=True)
    assert "image size of 2 sequences is unknown" in caplog.text
    # Unclipped, B's [90, 90, 10, 10] and [95, 90, 10, 10] each cover 100 of the 400 of [90, 90, 20, 20].
    expected = (1 + 0.5 + 0.75 + 0.25 + 0 + 0 + 0.25) / 7
    assert result.got10k_scores["T p"]["AO"] == pytest.approx(100 * expected)


def test_image_bound_from_meta_info_or_first_frame(tmp_path):
    from PIL import Image

    (tmp_path / "meta_info.ini").write_text("resolution: (640, 480)\n")
    assert image_bound([str(tmp_path / "00000001.jpg")]) == (640.0, 480.0)
    other = tmp_path / "other"
    other.mkdir()
    Image.new("RGB", (32, 24)).save(other / "00000001.jpg")
    assert image_bound([str(other / "00000001.jpg")]) == (32.0, 24.0)
    assert image_bound([str(tmp_path / "nowhere" / "1.jpg")]) is None
