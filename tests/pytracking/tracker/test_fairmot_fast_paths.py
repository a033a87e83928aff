"""FairMOT's fast paths give what the straightforward ones give: the chunked sigmoid and torch's
whole-map sigmoid, numpy's sliding maximum and ``max_pool2d``, the CPU decoding (kept peaks
found among the cells above the threshold, or the published ranking when that cannot decide)
and the torch decoding, the evident assignment and the solver, the gated embedding cost and the
full fused cost (whole association runs against the straightforward one:
``test_fairmot_track_arrays.py``). Ties, NaN, more peaks than K, nothing above the threshold,
zero detections and zero tracks included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pytracking.tracker.fairmot.decode as decode_module
from ltr.data.boxes import xywh_to_cxcyah
from pytracking.libs.assignment import evident_pairs, thresholded_assignment
from pytracking.tracker.fairmot.association import JDEAssociation, cosine_distance
from pytracking.tracker.fairmot.decode import (SIGMOID_CHUNK, chunked_sigmoid, decode_on_cpu, decode_with_torch,
                                               peaks_above)


@pytest.mark.parametrize("count", [1, 17, 33, SIGMOID_CHUNK + 5, 41344, 3 * SIGMOID_CHUNK + 7])
def test_chunked_sigmoid_is_the_whole_map_sigmoid(count):
    logits = torch.from_numpy(np.random.default_rng(count).normal(0, 6, count).astype(np.float32))
    assert torch.equal(chunked_sigmoid(logits.view(1, 1, 1, -1)), logits.sigmoid().view(1, 1, 1, -1))


def heads(hm: np.ndarray, rng: np.random.Generator, dim: int = 16) -> dict[str, torch.Tensor]:
    _, _, h, w = hm.shape
    return {"hm": torch.from_numpy(hm.astype(np.float32)),
            "wh": torch.from_numpy(rng.uniform(0, 8, (1, 4, h, w)).astype(np.float32)),
            "reg": torch.from_numpy(rng.uniform(0, 1, (1, 2, h, w)).astype(np.float32)),
            "id": torch.from_numpy(rng.normal(size=(1, dim, h, w)).astype(np.float32))}


def assert_same_decoding(out, *, k=100, conf_thres=0.4, **options):
    fast = decode_on_cpu(out, (640, 360), (288, 160), conf_thres=conf_thres, k=k, **options)
    plain = decode_with_torch(out, (640, 360), (288, 160), conf_thres=conf_thres, k=k, **options)
    np.testing.assert_array_equal(fast.boxes, plain.boxes)
    np.testing.assert_array_equal(fast.scores, plain.scores)
    np.testing.assert_array_equal(fast.embeddings, plain.embeddings)
    assert fast.boxes.dtype == fast.scores.dtype == fast.embeddings.dtype == np.float32
    return fast


def scene_maps(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Heatmap logits (1, 1, 40, 72) of the cases each fast path must get right."""
    h, w = 40, 72
    maps = {"distinct": rng.normal(-4.0, 1.5, (1, 1, h, w)),
            "tied": np.round(rng.normal(-3.0, 1.5, (1, 1, h, w))),
            "below": np.full((1, 1, h, w), -3.0),
            "one": np.full((1, 1, h, w), -3.0)}
    maps["one"][0, 0, 5, 7] = 2.0
    # Peaks on the borders and corners (the max-pool's padding never wins).
    borders = np.full((1, 1, h, w), -5.0)
    for y, x, v in [(0, 0, 1.0), (0, w - 1, 1.5), (h - 1, 0, 2.0), (h - 1, w - 1, 2.5), (0, 30, 3.0), (20, 0, 3.5)]:
        borders[0, 0, y, x] = v
    maps["borders"] = borders
    # Saturated logits: 20 and 30 both round to sigmoid 1.0, so both are peaks of the sigmoid map
    # (and tied) though only one is a peak of the logits.
    saturated = np.full((1, 1, h, w), -5.0)
    saturated[0, 0, 10, 10], saturated[0, 0, 10, 11] = 20.0, 30.0
    saturated[0, 0, 30, 50] = 1.0
    maps["saturated"] = saturated
    # Two neighbours whose logits differ but whose sigmoids round to one float32 (near 0.9999).
    close = np.full((1, 1, h, w), -5.0)
    a = np.float32(9.0)
    b = np.nextafter(a, np.float32(10.0))
    assert torch.tensor(a).sigmoid() == torch.tensor(b).sigmoid()
    close[0, 0, 20, 20], close[0, 0, 20, 21] = a, b
    maps["close"] = close
    nan = rng.normal(-1.0, 2.0, (1, 1, h, w))
    nan[0, 0, 12, 12] = np.nan
    maps["nan"] = nan
    return maps


def test_cpu_decoding_is_the_torch_decoding_in_every_case():
    rng = np.random.default_rng(0)
    expected_fast = {"distinct": True, "tied": False, "below": True, "one": True, "borders": True,
                     "saturated": False, "close": False, "nan": False}
    for name, hm in scene_maps(rng).items():
        out = heads(hm, rng)
        heat = out["hm"].sigmoid()[0, 0].numpy()
        assert (peaks_above(heat, 0.4, 100) is not None) == expected_fast[name], name
        found = assert_same_decoding(out)
        if name == "below":
            assert len(found) == 0 and found.boxes.shape == (0, 4) and found.embeddings.shape == (0, 16)
        if name == "borders":
            assert len(found) == 6
        if name in ("distinct", "tied", "nan"):
            assert len(found) > 5, name
        if name == "tied":
            assert len(set(found.scores.tolist())) < len(found)
        if name in ("saturated", "close"):
            assert len(found) == 3 if name == "saturated" else len(found) == 2


def test_cpu_decoding_with_more_peaks_than_k_and_other_heads():
    rng = np.random.default_rng(1)
    hm = rng.normal(1.0, 2.0, (1, 1, 40, 72))
    out = heads(hm, rng)
    heat = out["hm"].sigmoid()[0, 0].numpy()
    assert peaks_above(heat, 0.4, 10) is None  # more than K above the threshold: the published ranking
    assert len(assert_same_decoding(out, k=10)) == 10
    assert peaks_above(heat, 0.4, 500) is not None
    assert_same_decoding(out, k=500)
    assert_same_decoding(out, ltrb=False)
    assert_same_decoding(out, reg_offset=False)
    # Two classes: the first class's peaks among both classes' best K.
    two = dict(out, hm=torch.from_numpy(rng.normal(-1.0, 2.0, (1, 2, 40, 72)).astype(np.float32)))
    assert_same_decoding(two, k=20)
    assert_same_decoding(two, k=500)
    # The tracker's entry point takes the CPU path for CPU tensors.
    found = decode_module.decode_detections(out, (640, 360), (288, 160), conf_thres=0.4, k=500)
    np.testing.assert_array_equal(found.boxes, decode_on_cpu(out, (640, 360), (288, 160), conf_thres=0.4,
                                                             k=500).boxes)


def test_evident_assignment_is_the_solvers():
    rng = np.random.default_rng(4)
    answered = 0
    for trial in range(300):
        rows, cols = rng.integers(0, 9, 2)
        cost = rng.uniform(0, 1, (rows, cols))
        cost[rng.random((rows, cols)) < 0.6] = np.inf
        if trial % 5 == 0 and cost.size:
            cost[rng.integers(0, rows), rng.integers(0, cols)] = 0.4  # exactly at the limit
        if trial % 7 == 0 and cost.size:
            cost[rng.integers(0, rows), rng.integers(0, cols)] = np.nan
        expected = thresholded_assignment(cost, 0.4, evident_shortcut=False)
        got = thresholded_assignment(cost, 0.4)
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype == np.int64
        if cost.size and evident_pairs(cost, 0.4) is not None:
            answered += 1
    assert answered > 50
    assert evident_pairs(np.array([[0.1, 0.2]]), 0.4) is None  # two within the limit in a row
    assert evident_pairs(np.array([[0.1], [0.2]]), 0.4) is None  # two in a column
    assert evident_pairs(np.array([[0.4]]), 0.4) is None  # at the limit: the solver's call
    assert evident_pairs(np.array([[np.inf, 0.3], [np.inf, np.inf]]), 0.4).tolist() == [[0, 1]]
    pairs, free_rows, free_cols = thresholded_assignment(np.array([[np.inf, 0.3], [np.inf, np.inf]]), 0.4)
    assert pairs.tolist() == [[0, 1]] and free_rows.tolist() == [1] and free_cols.tolist() == [0]
    for shape in [(0, 3), (3, 0), (0, 0)]:
        pairs, free_rows, free_cols = thresholded_assignment(np.zeros(shape), 0.4)
        assert pairs.shape == (0, 2) and len(free_rows) == shape[0] and len(free_cols) == shape[1]


def gated_cost(assoc: JDEAssociation, smoothed, embeddings, mean, covariance, boxes) -> np.ndarray:
    """The whole cost matrix of the first association's gated pairs (infinite elsewhere)."""
    projected_mean, projected_cov = assoc.kalman.project(mean, covariance)
    rows, cols, costs = assoc._gated_pairs(smoothed, embeddings, projected_mean, projected_cov,
                                           xywh_to_cxcyah(boxes))
    cost = np.full((len(smoothed), len(embeddings)), np.inf)
    cost[rows, cols] = costs
    return cost


def test_gated_pairs_are_the_fused_cost():
    rng = np.random.default_rng(5)
    assoc = JDEAssociation(det_thresh=0.4)
    boxes = np.column_stack([rng.uniform(0, 300, (30, 2)), rng.uniform(20, 40, 30), rng.uniform(60, 90, 30)])
    mean, covariance = assoc.kalman.initiate(np.column_stack([boxes[:, :2] + boxes[:, 2:] / 2,
                                                              boxes[:, 2] / boxes[:, 3], boxes[:, 3]]))
    mean, covariance = assoc.kalman.predict(mean, covariance)
    smoothed = rng.normal(size=(30, 16)).astype(np.float32)
    embeddings = (smoothed[::-1] + rng.normal(0, 0.3, (30, 16))).astype(np.float32)
    detections = boxes[::-1] + rng.normal(0, 2.0, boxes.shape)
    fast = gated_cost(assoc, smoothed, embeddings, mean, covariance, detections)
    plain = assoc._fuse(cosine_distance(smoothed, embeddings), mean, covariance, detections)
    finite = np.isfinite(plain)
    assert 0 < finite.sum() < finite.size
    np.testing.assert_array_equal(np.isfinite(fast), finite)
    np.testing.assert_allclose(fast[finite], plain[finite], rtol=0, atol=1e-12)
    # A value not finite (the gate's whole-bound path): NaN costs where the plain cost is NaN.
    detections[3, 1] = np.nan
    with np.errstate(invalid="ignore"):
        fast = gated_cost(assoc, smoothed, embeddings, mean, covariance, detections)
        plain = assoc._fuse(cosine_distance(smoothed, embeddings), mean, covariance, detections)
    assert np.isnan(plain[:, 3]).all()
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(plain))
    np.testing.assert_array_equal(np.isinf(fast), np.isinf(plain))
    finite = np.isfinite(plain)
    np.testing.assert_allclose(fast[finite], plain[finite], rtol=0, atol=1e-12)
    assert gated_cost(assoc, smoothed[:0], embeddings, mean[:0], covariance[:0], detections).shape == (0, 30)
    assert gated_cost(assoc, smoothed, embeddings[:0], mean, covariance, detections[:0]).shape == (30, 0)


def test_gate_at_pairs_is_the_whole_gate_and_the_centre_bound_is_below_it():
    rng = np.random.default_rng(6)
    kf = JDEAssociation(det_thresh=0.4).kalman
    boxes = np.column_stack([rng.uniform(0, 300, (20, 2)), rng.uniform(0.3, 0.6, 20), rng.uniform(40, 120, 20)])
    mean, covariance = kf.initiate(boxes)
    for _ in range(3):
        mean, covariance = kf.predict(mean, covariance)
    measured = boxes[rng.permutation(20)] + rng.normal(0, 5, (20, 4)) * [1, 1, 0.01, 1]
    whole = kf.gating_distance(mean, covariance, measured)
    rows, cols = np.divmod(rng.permutation(400)[:150], 20)
    np.testing.assert_array_equal(kf.gating_distance_at(mean, covariance, measured, rows, cols), whole[rows, cols])
    assert kf.gating_distance_at(mean, covariance, measured, rows[:0], cols[:0]).shape == (0,)
    projected_mean, projected_cov = kf.project(mean, covariance)
    for i in (0, 1):
        bound = np.square(measured[None, :, i] - projected_mean[:, i, None]) / projected_cov[:, i, i, None]
        assert (bound <= whole * (1 + 1e-9)).all()
    # Pairs on both sides of the gate, close to it: the gated cost's pattern is the gate's.
    assert (whole < 9.4877).any() and (whole > 9.4877).any()


@pytest.mark.parametrize("make", ["bytetrack", "sort"])
def test_kalman_predict_by_slices_is_by_index_arrays(make):
    from pytracking.libs.kalman_filter import bytetrack_kalman_filter, sort_kalman_filter
    kf = bytetrack_kalman_filter() if make == "bytetrack" else sort_kalman_filter()
    assert isinstance(kf._moved, slice) and isinstance(kf._velocities, slice)
    rng = np.random.default_rng(7)
    mean = rng.normal(50, 20, (9, kf.dim))
    covariance = rng.normal(size=(9, kf.dim, kf.dim))
    covariance = covariance @ np.swapaxes(covariance, 1, 2) + np.eye(kf.dim)
    sliced = kf.predict(mean, covariance)
    kf._moved = np.array(kf.velocity_of, dtype=np.int64)
    kf._velocities = np.arange(kf.ndim, kf.dim)
    indexed = kf.predict(mean, covariance)
    for a, b in zip(sliced, indexed):
        np.testing.assert_array_equal(a, b)
