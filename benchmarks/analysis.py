"""Seconds taken by the analysis of OTB-100 results, from a cold and from a warm curve cache, for
the two published trackers (ATOM and SiamRPN++ in ../shared/reference-results) and for their
result folders copied to make --replicas trackers; and the result-file reader's fast path against
the line-by-line checker.

    python benchmarks/analysis.py [--replicas 10] [--repeat 3] [--quick]

Without the reference results, OTB-sized random ground truth and results (same sequence lengths)
are generated into a temporary folder. ``--quick`` scores generated results on the first
sequences of OTB-100, cut short, with 3 replicas and one timing each: every figure, in seconds.
Everything is written under a temporary folder. Ends with one line holding a JSON object of the
figures (floats to 4 significant digits):

- ``quick``: whether ``--quick`` ran; ``data``: ``"reference"`` or ``"generated"``;
- ``sequences``, ``frames``: the size of the evaluation; ``load_sequences_s``: loading (or
  generating) the sequences and results;
- ``reader_fast_s``, ``reader_lines_s``: reading every result file with the fast path and with the
  line-by-line checker (best of --repeat); ``reader_lines_over_fast``: their ratio;
- ``published_*`` for the two published trackers and ``replicated_*`` for the ``replicas``
  trackers: ``_no_cache_s`` (no curve cache), ``_cold_s`` (empty cache), ``_warm_s`` (filled
  cache), ``_warm_with_plots_s`` (filled cache, plots written too) and ``_cold_over_warm``.
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
PARTS = ("no_cache_s", "cold_s", "warm_s", "warm_with_plots_s", "cold_over_warm")
JSON_FIELDS: tuple[str, ...] = (
    "quick", "data", "load_sequences_s", "sequences", "frames", "reader_fast_s", "reader_lines_s",
    "reader_lines_over_fast", "replicas",
    *(f"{setup}_{part}" for setup in ("published", "replicated") for part in PARTS))
# --quick: this many of OTB-100's sequences, each cut to at most this many frames.
QUICK_SEQUENCES, QUICK_FRAMES = 4, 60


def reference_data() -> tuple[SequenceList, Path, list[str]] | None:
    if not (REFERENCE / "otb100").is_dir():
        return None
    return otb(REFERENCE / "otb100", strict=True), REFERENCE / "results" / "otb100", ["ATOM", "SiamRPN++"]


def generated_data(folder: Path, seed: int = 0, *, sequences: int | None = None,
                   max_frames: int | None = None) -> tuple[SequenceList, Path, list[str]]:
    """OTB-100's sequence names and lengths, random boxes, and two trackers' noisy results; the
    first ``sequences`` of them, at most ``max_frames`` long, where given (--quick)."""
    rng = np.random.default_rng(seed)
    made = []
    for record in read_spec("otb100.json")[:sequences]:
        frames = int(record["endFrame"]) - int(record["startFrame"]) + 1 - int(record.get("initOmit", 0))
        frames = min(frames, max_frames) if max_frames is not None else frames
        size = rng.uniform(20, 120, (1, 2)) * np.exp(np.cumsum(rng.normal(0, 0.01, (frames, 2)), 0))
        corner = 100 + np.cumsum(rng.normal(0, 2, (frames, 2)), 0)
        gt = np.concatenate([corner, size], 1)
        made.append(Sequence(record["name"], [f"{i}.jpg" for i in range(frames)], "otb", gt))
        for tracker, noise in (("A", 3.0), ("B", 6.0)):
            boxes = gt + rng.normal(0, noise, gt.shape) * [1, 1, 0.3, 0.3]
            boxes[:, 2:] = np.abs(boxes[:, 2:])
            path = folder / tracker / "raw" / f"{record['name']}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savetxt(path, boxes, fmt="%.2f", delimiter=",")
    return SequenceList(made), folder, ["A", "B"]


def timed(function, repeat: int = 1) -> float:
    """The best of ``repeat`` timings of ``function()``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=10, help="trackers in the scaling run")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs timed (the best is reported)")
    parser.add_argument("--quick", action="store_true",
                        help="a few short generated sequences, 3 replicas, one timing each: seconds")
    args = parser.parse_args(argv)
    if args.replicas < 3:
        parser.error("--replicas must be at least 3 (the scaling run is compared with the 2 published trackers)")
    replicas, repeat = (3, 1) if args.quick else (args.replicas, args.repeat)
    figures = {"quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="analysis-benchmark-") as temporary:
        temporary = Path(temporary)
        start = time.perf_counter()
        data = None if args.quick else reference_data()
        figures["data"] = "reference" if data is not None else "generated"
        if data is None:
            limits = {"sequences": QUICK_SEQUENCES, "max_frames": QUICK_FRAMES} if args.quick else {}
            data = generated_data(temporary / "generated", **limits)
        sequences, results, names = data
        figures["load_sequences_s"] = time.perf_counter() - start
        figures["sequences"] = len(sequences)
        figures["frames"] = int(sum(len(s) for s in sequences))

        files = [results / name / "raw" / f"{s.name}.txt" for name in names for s in sequences]
        texts = [f.read_text() for f in files]
        figures["reader_fast_s"] = timed(lambda: [parse_fast(t) for t in texts], repeat)
        figures["reader_lines_s"] = timed(lambda: [parse_lines(f, t) for f, t in zip(files, texts)], repeat)
        figures["reader_lines_over_fast"] = figures["reader_lines_s"] / figures["reader_fast_s"]
        figures["replicas"] = replicas

        replicated = temporary / "replicated"
        for index in range(replicas):
            shutil.copytree(results / names[index % len(names)] / "raw", replicated / f"T{index:02d}" / "raw")
        setups = {"published": (results, [TrackerRuns(n, "raw") for n in names]),
                  "replicated": (replicated, [TrackerRuns(f"T{i:02d}", "raw") for i in range(replicas)])}
        for setup, (results_path, trackers) in setups.items():
            output = temporary / f"out-{setup}"

            def score(use_cache: bool = True, plots: bool = False) -> None:
                analyse_dataset(sequences, trackers, results_path=results_path, output_dir=output, plots=plots,
                                use_cache=use_cache)

            figures[f"{setup}_no_cache_s"] = timed(lambda: score(use_cache=False), repeat)
            figures[f"{setup}_cold_s"] = timed(score)
            figures[f"{setup}_warm_s"] = timed(score, repeat)
            figures[f"{setup}_warm_with_plots_s"] = timed(lambda: score(plots=True), repeat)
            figures[f"{setup}_cold_over_warm"] = figures[f"{setup}_cold_s"] / figures[f"{setup}_warm_s"]

    print(f"{figures['data']} data: {figures['sequences']} sequences, {figures['frames']} frames; "
          f"loading the sequences took {figures['load_sequences_s']:.3f} s")
    print(f"reading {len(files)} result files: fast path {figures['reader_fast_s']:.3f} s, line by line "
          f"{figures['reader_lines_s']:.3f} s ({figures['reader_lines_over_fast']:.1f}x)")
    for setup, (_, trackers) in setups.items():
        print(f"{len(trackers):>3} trackers: no cache {figures[f'{setup}_no_cache_s']:.3f} s, cold cache "
              f"{figures[f'{setup}_cold_s']:.3f} s, warm cache {figures[f'{setup}_warm_s']:.3f} s "
              f"({figures[f'{setup}_cold_over_warm']:.1f}x), warm with plots "
              f"{figures[f'{setup}_warm_with_plots_s']:.3f} s (tables always written)")
    figures = {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in figures.items()}
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
