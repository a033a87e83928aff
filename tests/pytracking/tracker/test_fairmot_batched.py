"""FairMOT's faster paths give what the straightforward ones give: the sliding maximum and the
published ``max_pool2d`` peaks, decoding only the kept peaks and decoding all K, the Kalman
filter's sliced products and the matrix products, the forward-substitution gate and a general
solve, the batched embedding normalisation and smoothing and the published one-vector
``update_features``, and the box each track stores and its Kalman state."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltr.data.boxes import cxcyah_to_xywh
from pytracking.libs.kalman_filter import bytetrack_kalman_filter, sort_kalman_filter
from pytracking.tracker.fairmot.association import (JDEAssociation, first_embeddings, normalised_rows,
                                                    smoothed_embeddings)
from pytracking.tracker.fairmot.decode import (decode_detections, heatmap_peaks, mot_decode, output_to_frame_transform,
                                               sliding_max, to_frame_pixels)


@pytest.mark.parametrize("kernel", [3, 5])
def test_sliding_max_is_max_pool(kernel):
    rng = np.random.default_rng(kernel)
    for ties in (False, True):
        logits = rng.normal(size=(1, 2, 23, 31)).astype(np.float32)
        if ties:  # plateaus: equal neighbours are all peaks
            logits = np.round(logits * 2) / 2
        heat = torch.from_numpy(logits).sigmoid()
        pooled = F.max_pool2d(heat, kernel, stride=1, padding=(kernel - 1) // 2)
        assert torch.equal(sliding_max(heat, kernel), pooled)
        assert torch.equal(heatmap_peaks(heat, kernel), heat * (pooled == heat).float())


def published_decode(out, frame_size, input_size, conf_thres, k):
    """All K boxes, then the first class above conf_thres; embeddings normalised over the whole map."""
    dets, inds = mot_decode(out["hm"].sigmoid(), out["wh"], out["reg"], ltrb=True, k=k)
    dets = dets[0].numpy()
    transform = output_to_frame_transform(frame_size, input_size)
    boxes = np.concatenate([to_frame_pixels(dets[:, 0:2], transform), to_frame_pixels(dets[:, 2:4], transform)],
                           axis=1).astype(np.float32)
    keep = (dets[:, 5] == 0) & (dets[:, 4] > conf_thres)
    ids = F.normalize(out["id"], dim=1)[0].reshape(out["id"].shape[1], -1)[:, inds[0]].t().numpy()
    return boxes[keep], dets[keep, 4], ids[keep]


def test_decoding_the_kept_peaks_is_decoding_all_k():
    rng = np.random.default_rng(0)
    for trial in range(4):
        h, w = 40, 72
        out = {"hm": torch.from_numpy(rng.normal(-1.0, 2.0, (1, 1, h, w)).astype(np.float32)),
               "wh": torch.from_numpy(rng.uniform(0, 8, (1, 4, h, w)).astype(np.float32)),
               "reg": torch.from_numpy(rng.uniform(0, 1, (1, 2, h, w)).astype(np.float32)),
               "id": torch.from_numpy(rng.normal(size=(1, 16, h, w)).astype(np.float32))}
        if trial % 2:
            out["hm"] = torch.round(out["hm"])  # tied scores: the order must still be top-K's
        found = decode_detections(out, (640, 360), (288, 160), conf_thres=0.4, k=100)
        boxes, scores, embeddings = published_decode(out, (640, 360), (288, 160), 0.4, 100)
        assert len(found) == len(scores) > 5
        np.testing.assert_array_equal(found.boxes, boxes)
        np.testing.assert_array_equal(found.scores, scores)
        np.testing.assert_allclose(found.embeddings, embeddings, atol=1e-7, rtol=0)
    empty = dict(out, hm=torch.full((1, 1, h, w), -10.0))
    found = decode_detections(empty, (640, 360), (288, 160), conf_thres=0.4, k=100)
    assert found.boxes.shape == (0, 4) and found.embeddings.shape == (0, 16)


@pytest.mark.parametrize("make", [bytetrack_kalman_filter, sort_kalman_filter])
def test_sliced_kalman_products_are_the_matrix_products(make):
    kf = make()
    rng = np.random.default_rng(1)
    z = np.column_stack([rng.uniform(0, 900, 20), rng.uniform(0, 500, 20), rng.uniform(0.3, 0.6, 20),
                         rng.uniform(40, 200, 20)])
    mean, cov = kf.initiate(z)
    for _ in range(4):
        predicted = kf.predict(mean, cov)
        np.testing.assert_array_equal(predicted[0], mean @ kf.motion.T)
        np.testing.assert_array_equal(predicted[1], kf.motion @ cov @ kf.motion.T + kf.noise.process_covariance(mean))
        mean, cov = kf.update(*predicted, z + rng.normal(0, 2, z.shape))
        projected = kf.project(mean, cov)
        np.testing.assert_array_equal(projected[0], mean @ kf.observation.T)
        np.testing.assert_array_equal(projected[1], kf.observation @ cov @ kf.observation.T
                                      + kf.noise.measurement_covariance(mean))
    # The gate by forward substitution is the general solve's |L^-1 d|^2.
    m, s = kf.project(mean, cov)
    d = z[None] - m[:, None]
    reference = np.sum(np.linalg.solve(np.linalg.cholesky(s), np.swapaxes(d, 1, 2)) ** 2, axis=1)
    np.testing.assert_allclose(kf.gating_distance(mean, cov, z), reference, rtol=1e-12)


def published_update_features(smooth, feat, alpha=0.9):
    """The published STrack.update_features, one vector at a time, in place as published."""
    feat = feat.copy()
    feat /= np.linalg.norm(feat)
    curr = feat
    smooth = feat if smooth is None else alpha * smooth + (1 - alpha) * feat
    smooth /= np.linalg.norm(smooth)
    return curr, smooth


def test_batched_embeddings_are_the_published_one_by_one():
    rng = np.random.default_rng(2)
    raw = rng.normal(size=(30, 128)).astype(np.float32)
    first = first_embeddings(raw)
    assert first.dtype == np.float32
    singles = [published_update_features(None, row) for row in raw]
    np.testing.assert_allclose(first, [curr for curr, _ in singles], rtol=0, atol=1e-7)
    np.testing.assert_allclose(first, [smooth for _, smooth in singles], rtol=0, atol=1e-7)
    new = first_embeddings(rng.normal(size=(30, 128)).astype(np.float32))
    current, smoothed = smoothed_embeddings(first, new, 0.9)
    assert current.dtype == smoothed.dtype == np.float32
    for i in range(30):
        curr, smooth = published_update_features(first[i], new[i])
        np.testing.assert_allclose(current[i], curr, rtol=0, atol=1e-7)
        np.testing.assert_allclose(smoothed[i], smooth, rtol=0, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(normalised_rows(raw), axis=1), 1.0, atol=1e-6)


def test_each_track_stores_the_box_of_its_kalman_state():
    rng = np.random.default_rng(3)
    assoc = JDEAssociation(det_thresh=0.4)
    xy = rng.uniform(0, 800, (12, 2))
    size = np.column_stack([rng.uniform(20, 60, 12), rng.uniform(60, 160, 12)])
    embeddings = rng.normal(size=(12, 8)).astype(np.float32)
    for frame in range(8):
        present = rng.random(12) > 0.2
        moved = xy + frame * 3.0
        xyxy = np.concatenate([moved, moved + size], axis=1)[present].astype(np.float32)
        detections = assoc.detections_from(xyxy, np.full(int(present.sum()), 0.9), embeddings[present])
        for detection, box in zip(detections, xyxy):
            np.testing.assert_array_equal(detection.box, [box[0], box[1], box[2] - box[0], box[3] - box[1]])
        assoc.update(detections)
        for track in [*assoc.tracked, *assoc.lost]:
            np.testing.assert_array_equal(track.box, cxcyah_to_xywh(track.mean[:4]))
    assert len(assoc.tracked) >= 8


def test_joint_keeps_a_whole_and_adds_b_once():
    from types import SimpleNamespace

    from pytracking.tracker.track_lists import joint

    a = [SimpleNamespace(track_id=i) for i in (1, 2, 2)]
    b = [SimpleNamespace(track_id=i) for i in (2, 3, 3, 4)]
    # The published joint_stracks: a as it is (even a repeated identity), then b's new identities once.
    assert [t.track_id for t in joint(a, b)] == [1, 2, 2, 3, 4]
    assert joint(a, b)[3] is b[1]
