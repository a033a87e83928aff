"""Fixtures for the analysis tests: a handmade OTB-layout tree of
three real OTB sequence names (so the packaged attribute file applies) with two trackers' results.

Every sequence has 4 frames of ground truth ``[10 + i, 10, 20, 20]``. A frame is either a hit
(the ground-truth box: IoU 1, centre error 0) or a miss (far away: IoU 0). The first frame always
counts as a hit (the protocol sets it to the ground truth), so a sequence with ``k`` hits has
success AUC ``100 * 20/21 * k/4`` (a hit passes 20 of the 21 thresholds, all but IoU > 1).

- Good: Basketball 4 hits, Biker 2 hits, Bird1 1 hit;
- Bad: 1 hit on every sequence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytracking.evaluation.specdatasets import otb

FRAMES = 4
HITS = {"Good": {"Basketball": 4, "Biker": 2, "Bird1": 1}, "Bad": {"Basketball": 1, "Biker": 1, "Bird1": 1}}


def auc(hits: int) -> float:
    return 100.0 * 20 / 21 * hits / FRAMES


def ground_truth() -> np.ndarray:
    return np.array([[10.0 + i, 10.0, 20.0, 20.0] for i in range(FRAMES)])


def write_results(path: Path, hits: int) -> None:
    boxes = ground_truth()
    boxes[hits:] = [300.0, 300.0, 20.0, 20.0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(f"{v:g}" for v in row) + "\n" for row in boxes))


class OtbTree:
    def __init__(self, base: Path):
        self.root, self.results = base / "OTB100", base / "results"
        records = []
        for name in HITS["Good"]:
            anno = self.root / name / "groundtruth_rect.txt"
            anno.parent.mkdir(parents=True)
            anno.write_text("".join("\t".join(f"{v:g}" for v in row) + "\n" for row in ground_truth()))
            records.append({"name": name, "path": f"{name}/img", "startFrame": 1, "endFrame": FRAMES, "nz": 4,
                            "ext": "jpg", "anno_path": f"{name}/groundtruth_rect.txt"})
        self.sequences = otb(self.root, specs=records, strict=True)
        for tracker, per_sequence in HITS.items():
            for name, hits in per_sequence.items():
                write_results(self.results_file(tracker, name), hits)

    def results_file(self, tracker: str, sequence: str) -> Path:
        return self.results / tracker / "p" / f"{sequence}.txt"


@pytest.fixture
def otb_tree(tmp_path) -> OtbTree:
    return OtbTree(tmp_path)
