import math

import numpy as np
import pytest

from pytracking.analysis.evaluate import TrackerRuns, analyse
from pytracking.analysis.metrics import inclusive_iou, scores, sequence_curves, sequence_errors
from pytracking.evaluation.results import ResultFileError, read_boxes


def test_overlap_and_centre_by_hand():
    gt = np.array([[0.0, 0.0, 10.0, 10.0]] * 3)
    pred = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 10.0, 10.0], [20.0, 20.0, 4.0, 4.0]])
    np.testing.assert_allclose(inclusive_iou(pred, gt), [1.0, 50 / 150, 0.0])
    errors = sequence_errors(pred, gt)
    # Centres of inclusive pixel boxes: x + (w - 1) / 2, so 21.5 against 4.5.
    np.testing.assert_allclose(errors.centre, [0.0, 5.0, np.hypot(17.0, 17.0)])
    np.testing.assert_allclose(errors.norm_centre, [0.0, 0.5, np.hypot(1.7, 1.7)])


def test_curves_follow_the_protocol():
    gt = np.array([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 0.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    pred = np.array([[50.0, 50.0, 3.0, 3.0],   # first frame: replaced by the ground truth
                     [5.0, 0.0, 10.0, 10.0],   # IoU 1/3, centre error 5
                     [0.0, 0.0, 10.0, 10.0],   # invalid ground truth: a failure
                     [0.0, 0.0, 0.0, 0.0]])    # zero size: the previous prediction, a perfect box here
    errors = sequence_errors(pred, gt)
    assert errors.replaced_zero_boxes == 1
    curves = sequence_curves(errors)
    # Success at threshold 0: frames 1, 2, 4 (IoU 1, 1/3, 1); at 0.5: frames 1 and 4.
    assert curves.success[0] == 0.75 and curves.success[10] == 0.5 and curves.success[20] == 0.0
    # Precision at 4 px: frames 1 and 4; at 5 px frame 2 too; the invalid frame never counts.
    assert curves.precision[4] == 0.5 and curves.precision[5] == 0.75 and curves.precision[50] == 0.75
    result = scores([curves, curves])
    assert result["OP50"] == 50.0 and result["Precision"] == 75.0


def test_lasot_invisible_frames_fail_both_precisions_and_uav_nan_frames_count_as_in_the_published_analysis():
    gt = np.array([[0.0, 0.0, 10.0, 10.0]] * 3)
    pred = gt.copy()
    visible = np.array([True, False, True])
    curves = sequence_curves(sequence_errors(pred, gt, dataset="lasot", target_visible=visible))
    assert curves.precision[20] == pytest.approx(2 / 3) and curves.norm_precision[20] == pytest.approx(2 / 3)
    assert curves.success[10] == pytest.approx(2 / 3)
    nan_gt = gt.copy()
    nan_gt[1] = np.nan
    curves = sequence_curves(sequence_errors(pred, nan_gt, dataset="uav"))
    assert curves.success[10] == pytest.approx(2 / 3) and curves.precision[20] == 1.0


def test_otb_also_rejects_ground_truth_with_a_non_positive_corner():
    gt = np.array([[5.0, 5.0, 10.0, 10.0], [0.0, 5.0, 10.0, 10.0], [5.0, -2.0, 10.0, 10.0]])
    pred = gt.copy()
    otb = sequence_errors(pred, gt, dataset="otb")
    other = sequence_errors(pred, gt, dataset="nfs")
    assert otb.valid.tolist() == [True, False, False] and other.valid.tolist() == [True, True, True]
    assert sequence_curves(otb).success[10] == pytest.approx(1 / 3)
    assert sequence_curves(otb).precision[20] == pytest.approx(1 / 3)
    assert sequence_curves(other).success[10] == 1.0


def test_bad_result_files_name_the_file_and_line(tmp_path):
    path = tmp_path / "seq.txt"
    cases = {"1,2,3\n": "line 1: expected four numbers", "1,2,3,4\n1,2,nan,4\n": "line 2: NaN",
             "1,2,-3,4\n": "negative size", "1,2,3,4\n": "has 1 rows but the ground truth has 2"}
    for content, message in cases.items():
        path.write_text(content)
        with pytest.raises(ResultFileError, match=message) as error:
            read_boxes(path, 2)
        assert str(path) in str(error.value)
    path.write_text("1\t2\t3\t4\n5 6 7 8\n9,10,11,12\n")
    boxes, extra = read_boxes(path, 2)
    assert boxes.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]] and extra == 1


def test_missing_frames_count_as_failures_after_the_zero_box_rule(tmp_path):
    gt = np.array([[10.0 + i, 10.0, 20.0, 20.0] for i in range(4)])
    # Frame 1 is a zero box (replaced by frame 0's box); frame 3 is missing.
    pred = np.array([gt[0], [0.0, 0.0, 0.0, 0.0], gt[2]])
    with pytest.raises(ValueError, match="differ in shape"):
        sequence_errors(pred, gt)
    errors = sequence_errors(pred, gt, allow_short=True)
    assert errors.missing == 1 and errors.replaced_zero_boxes == 1
    # Frame 1: [10, 10, 20, 20] against [11, 10, 20, 20]: 19 x 20 shared of 420 pixels.
    assert errors.overlap.tolist() == pytest.approx([1.0, 380 / 420, 1.0, 0.0])
    # Frame 3: the zero box's centre (-0.5, -0.5) against (22.5, 19.5).
    assert errors.centre[3] == pytest.approx(math.hypot(23.0, 20.0))
    path = tmp_path / "short.txt"
    path.write_text("1,2,3,4\n")
    boxes, extra = read_boxes(path, 3, allow_short=True)
    assert boxes.tolist() == [[1.0, 2.0, 3.0, 4.0]] and extra == 0
    path.write_text("")  # no row at all is not a published result: still an error
    with pytest.raises(ResultFileError, match="has 0 rows"):
        read_boxes(path, 3, allow_short=True)


class Seq:
    def __init__(self, name, gt):
        self.name, self.ground_truth_rect, self.target_visible = name, gt, None


def test_analyse_averages_runs_and_reports_missing_results(tmp_path):
    gt = np.array([[0.0, 0.0, 10.0, 10.0]] * 4)
    sequences = [Seq("a", gt), Seq("b", gt)]
    for run, shift in ((0, 0.0), (1, 5.0)):
        folder = tmp_path / "T" / f"p_{run:03d}"
        folder.mkdir(parents=True)
        for seq in sequences:
            np.savetxt(folder / f"{seq.name}.txt", gt + [shift, 0, 0, 0], delimiter=",", fmt="%.2f")
    result = analyse(sequences, [TrackerRuns("T", "p", (0, 1))], results_path=tmp_path)
    # Run 0 is perfect; run 1 has IoU 1/3 after the first frame: OP50 is the mean of 100 and 25.
    assert result.scores["T p (2 runs)"]["OP50"] == pytest.approx(62.5)
    (tmp_path / "T" / "p_001" / "b.txt").unlink()
    with pytest.raises(FileNotFoundError, match="p_001/b.txt"):
        analyse(sequences, [TrackerRuns("T", "p", (0, 1))], results_path=tmp_path)
    partial = analyse(sequences, [TrackerRuns("T", "p", (0, 1))], results_path=tmp_path, skip_missing=True)
    assert partial.sequences == ["a"] and "T p" in partial.table()
