import logging
import os

import numpy as np
import pytest

from pytracking.analysis import TrackerRuns, analyse_dataset
from pytracking.analysis import evaluate
from pytracking.analysis.cache import RunCache, entry_key, ground_truth_digest

from .conftest import auc, write_results

TRACKERS = [TrackerRuns("Good", "p"), TrackerRuns("Bad", "p")]


@pytest.fixture
def reads(monkeypatch) -> list:
    """The result files read (each read is a recomputation)."""
    calls = []
    original = evaluate.read_boxes

    def counting(path, rows, **kwargs):
        calls.append(path.name if hasattr(path, "name") else path)
        return original(path, rows, **kwargs)

    monkeypatch.setattr(evaluate, "read_boxes", counting)
    return calls


def run(tree, out, **kwargs):
    return analyse_dataset(tree.sequences, TRACKERS, results_path=tree.results, output_dir=out, plots=False,
                           attributes=False, **kwargs)


def test_warm_cache_reads_no_result_file_and_gives_the_same_scores(otb_tree, tmp_path, reads):
    cold = run(otb_tree, tmp_path / "out")
    assert len(reads) == 6
    assert sorted(p.name for p in (tmp_path / "out" / "cache").rglob("*.npz")) == \
        sorted(RunCache(tmp_path / "out" / "cache", otb_tree.results / t / "p").path.name for t in ("Good", "Bad"))
    reads.clear()
    warm = run(otb_tree, tmp_path / "out")
    assert reads == []
    assert warm.scores == cold.scores
    for label in cold.curves:
        np.testing.assert_array_equal(warm.sequence_scores[label], cold.sequence_scores[label])
        for a, b in zip(warm.curves[label], cold.curves[label]):
            np.testing.assert_array_equal(a.success, b.success)
            np.testing.assert_array_equal(a.norm_precision, b.norm_precision)


def test_changed_result_file_is_recomputed(otb_tree, tmp_path, reads):
    run(otb_tree, tmp_path / "out")
    path = otb_tree.results_file("Good", "Biker")
    before = os.stat(path)
    write_results(path, hits=4)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    reads.clear()
    result = run(otb_tree, tmp_path / "out")
    assert reads == ["Biker.txt"]
    biker = result.sequences.index("Biker")
    assert result.sequence_scores["Good p"][biker][0] == pytest.approx(auc(4))
    assert result.scores["Good p"]["AUC"] == pytest.approx((auc(4) + auc(4) + auc(1)) / 3)


def test_changed_ground_truth_is_recomputed_for_every_tracker(otb_tree, tmp_path, reads):
    run(otb_tree, tmp_path / "out")
    otb_tree.sequences["Bird1"].ground_truth_rect[3, 2] = 21.0
    reads.clear()
    run(otb_tree, tmp_path / "out")
    assert reads == ["Bird1.txt", "Bird1.txt"]


def test_key_covers_file_ground_truth_visibility_and_dataset(otb_tree):
    gt = otb_tree.sequences["Biker"].ground_truth_rect
    digests = {ground_truth_digest(gt, None, "otb"), ground_truth_digest(gt, None, "nfs"),
               ground_truth_digest(gt, np.ones(len(gt), bool), "otb"), ground_truth_digest(gt + 1, None, "otb")}
    assert len(digests) == 4
    path = otb_tree.results_file("Good", "Biker")
    digest = ground_truth_digest(gt, None, "otb")
    assert entry_key(path, digest) == entry_key(path, digest)
    assert entry_key(path, digest) != entry_key(otb_tree.results_file("Bad", "Biker"), digest)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong shape"])
def test_corrupt_cache_file_is_recomputed_with_a_warning(otb_tree, tmp_path, reads, caplog, damage):
    expected = run(otb_tree, tmp_path / "out").scores
    cache_file = RunCache(tmp_path / "out" / "cache", otb_tree.results / "Good" / "p").path
    if damage == "garbage":
        cache_file.write_bytes(b"not a cache file")
    elif damage == "truncated":
        cache_file.write_bytes(cache_file.read_bytes()[:200])
    else:
        np.savez(cache_file, names=np.array(["Biker"]), keys=np.array(["k"]), success=np.zeros((1, 3)),
                 precision=np.zeros((1, 51)), norm_precision=np.zeros((1, 51)), scores=np.zeros((1, 5)))
    reads.clear()
    with caplog.at_level(logging.WARNING):
        result = run(otb_tree, tmp_path / "out")
    assert f"curve cache {cache_file} cannot be read" in caplog.text
    assert reads == ["Basketball.txt", "Biker.txt", "Bird1.txt"]
    assert result.scores == expected
    reads.clear()
    run(otb_tree, tmp_path / "out")
    assert reads == []


def test_subset_run_keeps_the_other_sequences_cached(otb_tree, tmp_path, reads):
    analyse_dataset(otb_tree.sequences, TRACKERS, results_path=otb_tree.results, output_dir=tmp_path / "out",
                    plots=False, sequences=["Biker"])
    assert reads == ["Biker.txt", "Biker.txt"]
    reads.clear()
    run(otb_tree, tmp_path / "out")
    assert sorted(reads) == ["Basketball.txt", "Basketball.txt", "Bird1.txt", "Bird1.txt"]
    reads.clear()
    run(otb_tree, tmp_path / "out")
    assert reads == []


def test_without_cache_nothing_is_cached(otb_tree, tmp_path, reads):
    run(otb_tree, tmp_path / "out", use_cache=False)
    run(otb_tree, tmp_path / "out", use_cache=False)
    assert len(reads) == 12 and not (tmp_path / "out" / "cache").exists()
