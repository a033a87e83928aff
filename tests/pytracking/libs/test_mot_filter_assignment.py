"""The MOT Kalman filter and assignment helper on numbers derived by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ltr.data.boxes import box_iou_plus_one, cxcyah_to_xywh, cxcysr_to_xywh, xywh_to_cxcyah, xywh_to_cxcysr
from pytracking.libs.assignment import min_cost_assignment, thresholded_assignment
from pytracking.libs.kalman_filter import bytetrack_kalman_filter, sort_kalman_filter
from pytracking.tracker.sort.tracker import associate


def test_sort_filter_predict_and_update():
    kf = sort_kalman_filter()
    mean, cov = kf.initiate(np.array([[10.0, 20.0, 100.0, 2.0]]))
    np.testing.assert_array_equal(np.diag(cov[0]), [10, 10, 10, 10, 1e4, 1e4, 1e4])
    mean, cov = kf.predict(mean, cov)
    np.testing.assert_array_equal(mean[0], [10, 20, 100, 2, 0, 0, 0])
    # P0 + 1e4 (velocity) + Q = 1 for u, v, s; r has no velocity: 10 + 1.
    np.testing.assert_allclose(np.diag(cov[0]), [10011, 10011, 10011, 11, 1e4 + 1e-2, 1e4 + 1e-2, 1e4 + 1e-4])
    assert cov[0, 0, 4] == 1e4 and cov[0, 3, 6] == 0
    mean, cov = kf.update(mean, cov, np.array([[12.0, 20.0, 100.0, 2.0]]))
    # S = 10011 + R = 1: gain 10011 / 10012 on u, 1e4 / 10012 on du.
    np.testing.assert_allclose(mean[0, 0], 10 + 2 * 10011 / 10012, rtol=1e-12)
    np.testing.assert_allclose(mean[0, 4], 2 * 1e4 / 10012, rtol=1e-12)
    np.testing.assert_allclose(cov[0, 0, 0], 10011 / 10012, rtol=1e-9)


def test_bytetrack_filter_predict_and_update():
    kf = bytetrack_kalman_filter()
    mean, cov = kf.initiate(np.array([[50.0, 100.0, 0.5, 200.0]]))
    # std: 2 / 20 * 200 = 20, 1e-2, 10 / 160 * 200 = 12.5, 1e-5.
    np.testing.assert_allclose(np.diag(cov[0]), [400, 400, 1e-4, 400, 156.25, 156.25, 1e-10, 156.25])
    mean, cov = kf.predict(mean, cov)
    # + velocity variance + Q (std 200 / 20 = 10 and 200 / 160 = 1.25).
    np.testing.assert_allclose(np.diag(cov[0])[[0, 2, 3, 4, 6]],
                               [656.25, 2e-4 + 1e-10, 656.25, 157.8125, 2e-10], rtol=1e-12)
    np.testing.assert_allclose(cov[0, 0, 4], 156.25)
    mean, cov = kf.update(mean, cov, np.array([[52.0, 100.0, 0.5, 200.0]]))
    # S = 656.25 + R (std 10): 756.25.
    np.testing.assert_allclose(mean[0, 0], 50 + 2 * 656.25 / 756.25, rtol=1e-12)
    np.testing.assert_allclose(mean[0, 4], 2 * 156.25 / 756.25, rtol=1e-12)
    np.testing.assert_allclose(cov[0, 0, 0], 656.25 - 656.25 ** 2 / 756.25, rtol=1e-9)


def test_filters_are_batched():
    kf = bytetrack_kalman_filter()
    boxes = np.array([[50.0, 100.0, 0.5, 200.0], [10.0, 10.0, 0.4, 50.0]])
    mean, cov = kf.predict(*kf.initiate(boxes))
    one_mean, one_cov = kf.predict(*kf.initiate(boxes[1:]))
    np.testing.assert_array_equal(mean[1], one_mean[0])
    np.testing.assert_array_equal(cov[1], one_cov[0])


def test_measurement_layouts_round_trip():
    box = np.array([10.0, 20.0, 30.0, 60.0])
    np.testing.assert_array_equal(xywh_to_cxcysr(box), [25, 50, 1800, 0.5])
    np.testing.assert_array_equal(xywh_to_cxcyah(box), [25, 50, 0.5, 60])
    np.testing.assert_allclose(cxcysr_to_xywh(xywh_to_cxcysr(box)), box)
    np.testing.assert_allclose(cxcyah_to_xywh(xywh_to_cxcyah(box)), box)


def test_plus_one_iou_is_cython_bbox_convention():
    # cython_bbox.bbox_overlaps([[0, 0, 9, 9]], [[5, 5, 14, 14]]) = 25 / 175.
    assert box_iou_plus_one(np.array([0.0, 0, 9, 9]), np.array([5.0, 5, 9, 9])) == pytest.approx(1 / 7)
    # Touching boxes overlap by one pixel column: 11 / (121 + 121 - 11).
    assert box_iou_plus_one(np.array([0.0, 0, 10, 10]), np.array([10.0, 0, 10, 10])) == pytest.approx(11 / 231)


def test_thresholded_assignment_limits_non_strictly():
    pairs, rows, cols = thresholded_assignment(np.array([[0.8]]), 0.8)
    assert pairs.tolist() == [[0, 0]] and rows.size == 0 and cols.size == 0
    pairs, rows, cols = thresholded_assignment(np.array([[0.8000001]]), 0.8)
    assert pairs.size == 0 and rows.tolist() == [0] and cols.tolist() == [0]


def test_thresholded_assignment_maximises_the_gain_below_the_limit():
    # {00, 11}: 11 is above the limit, gain 0.7; {01, 10}: gain 0.05 + 0.1. Only 00 matches.
    pairs, rows, cols = thresholded_assignment(np.array([[0.1, 0.75], [0.7, 0.9]]), 0.8)
    assert pairs.tolist() == [[0, 0]] and rows.tolist() == [1] and cols.tolist() == [1]
    # {00, 11}: 0.7 + 0.01; {01, 10}: 0.6 + 0.6: not greedy.
    pairs, _, _ = thresholded_assignment(np.array([[0.1, 0.2], [0.2, 0.79]]), 0.8)
    assert pairs.tolist() == [[0, 1], [1, 0]]
    pairs, rows, cols = thresholded_assignment(np.zeros((0, 3)), 0.8)
    assert pairs.shape == (0, 2) and rows.size == 0 and cols.tolist() == [0, 1, 2]


def test_min_cost_assignment_is_rectangular():
    assert min_cost_assignment(np.array([[3.0, 1.0, 2.0]])).tolist() == [[0, 1]]
    assert min_cost_assignment(np.zeros((0, 2))).shape == (0, 2)


def test_sort_keeps_a_match_at_exactly_the_threshold():
    # IoU of [0, 0, 10, 10] and [5, 0, 10, 10] is 50 / 150: matched at threshold 1/3 (only
    # pairs strictly below are undone), not matched above it.
    detections, predicted = np.array([[5.0, 0, 10, 10]]), np.array([[0.0, 0, 10, 10]])
    matches, unmatched, _ = associate(detections, predicted, 50 / 150)
    assert matches.tolist() == [[0, 0]] and unmatched == []
    matches, unmatched, lost = associate(detections, predicted, 0.34)
    assert matches.size == 0 and unmatched == [0] and lost == [0]


def _whole_noise_predict(kf, mean, covariance):
    """``F P F' + Q`` with the whole Q matrix (the sum the diagonal shortcut must equal)."""
    left = covariance.copy()
    left[:, kf._moved, :] += covariance[:, kf._velocities, :]
    whole = left.copy()
    whole[:, :, kf._moved] += left[:, :, kf._velocities]
    return whole + kf.noise.process_covariance(mean)


@pytest.mark.parametrize("make", [bytetrack_kalman_filter, sort_kalman_filter])
def test_diagonal_noise_is_added_bit_for_bit_as_the_whole_matrix(make):
    kf = make()
    rng = np.random.default_rng(11)
    for trial in range(40):
        count = int(rng.integers(0, 12))
        mean = rng.normal(50, 30, (count, kf.dim))
        mean[:, 3] = np.abs(mean[:, 3])
        covariance = rng.normal(size=(count, kf.dim, kf.dim))
        covariance = covariance @ np.swapaxes(covariance, 1, 2)
        covariance[rng.random(covariance.shape) < 0.2] = -0.0  # adding Q's zeros makes these +0
        if count and trial % 4 == 1:
            mean[0, 3] = np.inf  # an infinite variance spreads NaN over the whole Q: the whole sum is taken
        if count and trial % 4 == 2:
            mean[0, 3] = np.nan
        with np.errstate(invalid="ignore"):
            predicted = kf.predict(mean, covariance)[1]
            whole = _whole_noise_predict(kf, mean, covariance)
            projected = kf.project(mean, covariance)[1]
            whole_projected = covariance[:, :4, :4] + kf.noise.measurement_covariance(mean)
        assert predicted.tobytes() == whole.tobytes()
        assert projected.tobytes() == whole_projected.tobytes()


def test_update_from_a_given_projection_and_gate_at_pairs_are_the_plain_ones():
    kf = bytetrack_kalman_filter()
    rng = np.random.default_rng(12)
    z = np.column_stack([rng.uniform(0, 900, 15), rng.uniform(0, 500, 15), rng.uniform(0.3, 0.6, 15),
                         rng.uniform(40, 200, 15)])
    mean, covariance = kf.predict(*kf.initiate(z))
    measured = z + rng.normal(0, 3, z.shape)
    projected_mean, projected_cov = kf.project(mean, covariance)
    rows = rng.permutation(15)[:9]  # the rows of a projection made for all
    plain = kf.update(mean[rows], covariance[rows], measured[rows])
    given = kf.update_projected(mean[rows], covariance[rows], measured[rows], projected_mean[rows], projected_cov[rows])
    for a, b in zip(plain, given):
        assert a.tobytes() == b.tobytes()
    pair_rows, pair_cols = np.divmod(rng.permutation(225)[:60], 15)
    pairs = kf.gating_distance_of_pairs(projected_mean, np.linalg.cholesky(projected_cov), measured, pair_rows,
                                        pair_cols)
    np.testing.assert_array_equal(pairs, kf.gating_distance(mean, covariance, measured)[pair_rows, pair_cols])


def test_assignment_of_pairs_is_the_assignment_of_the_matrix():
    from pytracking.libs.assignment import thresholded_assignment_of_pairs

    rng = np.random.default_rng(13)
    for trial in range(300):
        shape = (int(rng.integers(0, 7)), int(rng.integers(0, 7)))
        present = rng.random(shape) < rng.uniform(0.1, 0.9)
        values = rng.choice([0.1, 0.2, 0.3, 0.4, 0.5, 0.9], size=shape) if trial % 2 else rng.uniform(0, 0.8, shape)
        if trial % 7 == 3:
            values[rng.random(shape) < 0.2] = np.nan
        rows, cols = np.nonzero(present)
        order = rng.permutation(len(rows))  # pairs in any order
        rows, cols = rows[order], cols[order]
        matrix = np.full(shape, np.inf)
        matrix[rows, cols] = values[rows, cols]
        expected = thresholded_assignment(matrix, 0.4)
        got = thresholded_assignment_of_pairs(rows, cols, values[rows, cols], shape, 0.4)
        for a, b in zip(expected, got):
            assert a.dtype == b.dtype and a.tolist() == b.tolist(), (trial, matrix)
    # An infinite limit: every pair of the matrix is within it; both hand the matrix to the solver.
    with pytest.raises(ValueError), np.errstate(invalid="ignore"):
        thresholded_assignment(np.array([[np.inf, 0.2], [np.inf, np.inf]]), np.inf)
    with pytest.raises(ValueError), np.errstate(invalid="ignore"):
        thresholded_assignment_of_pairs(np.array([0]), np.array([1]), np.array([0.2]), (2, 2), np.inf)
