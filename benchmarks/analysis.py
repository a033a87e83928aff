"""Seconds taken by the analysis of OTB-100 results, from a cold and from a warm curve cache, for
the two published trackers (ATOM and SiamRPN++ in ../shared/reference-results) and for their
result folders copied to make --replicas trackers; and the result-file reader's fast path against
the line-by-line checker.

    python benchmarks/analysis.py [--replicas 10] [--repeat 3]

Without the reference results, OTB-sized random ground truth and results (same sequence lengths)
are generated into a temporary folder. Ends with one line holding a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from pytracking.analysis.evaluate import TrackerRuns
from pytracking.analysis.pipeline import analyse_dataset
from pytracking.evaluation.results import parse_fast, parse_lines
from pytracking.evaluation.annotations import read_spec
from pytracking.evaluation.data import Sequence, SequenceList
from pytracking.evaluation.specdatasets import otb

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference-results"


def reference_data() -> tuple[SequenceList, Path, list[str]] | None:
    if not (REFERENCE / "otb100").is_dir():
        return None
    return otb(REFERENCE / "otb100", strict=True), REFERENCE / "results" / "otb100", ["ATOM", "SiamRPN++"]


def generated_data(folder: Path, seed: int = 0) -> tuple[SequenceList, Path, list[str]]:
    """OTB-100's sequence names and lengths, random boxes, and two trackers' noisy results."""
    rng = np.random.default_rng(seed)
    sequences = []
    for record in read_spec("otb100.json"):
        frames = int(record["endFrame"]) - int(record["startFrame"]) + 1 - int(record.get("initOmit", 0))
        size = rng.uniform(20, 120, (1, 2)) * np.exp(np.cumsum(rng.normal(0, 0.01, (frames, 2)), 0))
        corner = 100 + np.cumsum(rng.normal(0, 2, (frames, 2)), 0)
        gt = np.concatenate([corner, size], 1)
        sequences.append(Sequence(record["name"], [f"{i}.jpg" for i in range(frames)], "otb", gt))
        for tracker, noise in (("A", 3.0), ("B", 6.0)):
            boxes = gt + rng.normal(0, noise, gt.shape) * [1, 1, 0.3, 0.3]
            boxes[:, 2:] = np.abs(boxes[:, 2:])
            path = folder / tracker / "raw" / f"{record['name']}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savetxt(path, boxes, fmt="%.2f", delimiter=",")
    return SequenceList(sequences), folder, ["A", "B"]


def timed(function, repeat: int = 1) -> float:
    """The best of ``repeat`` timings of ``function()``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=10, help="trackers in the scaling run")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs timed (the best is reported)")
    args = parser.parse_args()
    if args.replicas < 3:
        parser.error("--replicas must be at least 3 (the scaling run is compared with the 2 published trackers)")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="analysis-benchmark-") as temporary:
        temporary = Path(temporary)
        start = time.perf_counter()
        data = reference_data()
        figures["data"] = "reference" if data is not None else "generated"
        sequences, results, names = data if data is not None else generated_data(temporary / "generated")
        figures["load_sequences_s"] = time.perf_counter() - start
        figures["sequences"] = len(sequences)
        figures["frames"] = int(sum(len(s) for s in sequences))

        files = [results / name / "raw" / f"{s.name}.txt" for name in names for s in sequences]
        texts = [f.read_text() for f in files]
        figures["reader_fast_s"] = timed(lambda: [parse_fast(t) for t in texts], args.repeat)
        figures["reader_lines_s"] = timed(lambda: [parse_lines(f, t) for f, t in zip(files, texts)], args.repeat)

        replicated = temporary / "replicated"
        for index in range(args.replicas):
            shutil.copytree(results / names[index % len(names)] / "raw", replicated / f"T{index:02d}" / "raw")
        setups = {"2": (results, [TrackerRuns(n, "raw") for n in names]),
                  str(args.replicas): (replicated, [TrackerRuns(f"T{i:02d}", "raw") for i in range(args.replicas)])}
        for count, (results_path, trackers) in setups.items():
            output = temporary / f"out{count}"

            def score(use_cache: bool = True, plots: bool = False) -> None:
                analyse_dataset(sequences, trackers, results_path=results_path, output_dir=output, plots=plots,
                                use_cache=use_cache)

            figures[f"trackers{count}_no_cache_s"] = timed(lambda: score(use_cache=False), args.repeat)
            figures[f"trackers{count}_cold_s"] = timed(score)
            figures[f"trackers{count}_warm_s"] = timed(score, args.repeat)
            figures[f"trackers{count}_warm_with_plots_s"] = timed(lambda: score(plots=True), args.repeat)

    figures["reader_speedup"] = figures["reader_lines_s"] / figures["reader_fast_s"]
    for count in setups:
        prefix = f"trackers{count}"
        figures[f"{prefix}_cold_over_warm"] = figures[f"{prefix}_cold_s"] / figures[f"{prefix}_warm_s"]
    print(f"{figures['data']} data: {figures['sequences']} sequences, {figures['frames']} frames; "
          f"loading the sequences took {figures['load_sequences_s']:.3f} s")
    print(f"reading {len(files)} result files: fast path {figures['reader_fast_s']:.3f} s, line by line "
          f"{figures['reader_lines_s']:.3f} s ({figures['reader_speedup']:.1f}x)")
    for count in setups:
        print(f"{count:>3} trackers: no cache {figures[f'trackers{count}_no_cache_s']:.3f} s, cold cache "
              f"{figures[f'trackers{count}_cold_s']:.3f} s, warm cache {figures[f'trackers{count}_warm_s']:.3f} s "
              f"({figures[f'trackers{count}_cold_over_warm']:.1f}x), warm with plots "
              f"{figures[f'trackers{count}_warm_with_plots_s']:.3f} s (tables always written)")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
