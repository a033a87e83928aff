"""Analyse raw tracking results: scores table, per-sequence and per-attribute tables, plots.

    python pytracking/run_analysis.py --dataset otb --tracker atom default --runids 0 1 2 \\
        --tracker dimp dimp50 [--skip_missing] [--allow_short_results] [--output DIR] [--no_plots] \\
        [--sequence Basketball Biker]

Results are read from <results_path>/<tracker>/<param>[_<run id:03d>]/<sequence>.txt and the
outputs written to <result_plot_path>/<dataset>/ (or --output), with the curve cache in its
cache/ folder. --runids applies to the --tracker it follows; given before the first --tracker it
is the default for every tracker without its own. Without --runids a tracker's results are the
folder without a run id (<param>/). A tracker with several runs is scored on the mean of its
runs' curves and labelled with their count, "atom default (3 runs)". On GOT-10k (or with
--got10k_metrics) the tables add the GOT-10k toolkit's AO, SR0.5 and SR0.75 beside AUC.

Multi-object datasets (mot15, mot16, mot17, mot20 and their _half_val, synthetic_mot) are scored with
CLEAR, Identity and HOTA (TrackEval's rules; MOTChallenge result files): the table shows HOTA,
DetA, AssA, MOTA, IDF1, IDSW, FP, FN and frames per second (from the <sequence>_time.txt files);
scores.csv/.md and sequences.csv/.md hold every score, and hota_curves_<tracker>.png/.pdf plot
HOTA, DetA and AssA against the localisation threshold.

The scores are printed even where the tables and plots cannot be written (then the exit status
is 1 and one line names the folder and the setting); a curve cache that cannot be written is a
warning.
"""

from __future__ import annotations

import argparse
import sys

from admin.environment import EnvironmentPathError
from admin.logging_setup import setup_logging
from pytracking.analysis.evaluate import TrackerRuns
from pytracking.analysis.evaluate import AnalysisResult
from pytracking.analysis.mot_report import MotAnalysisResult
from pytracking.analysis.pipeline import OutputWriteError, analyse_dataset
from pytracking.evaluation.results import ResultFileError
from pytracking.evaluation.datasets import dataset_names


class RunIdsAction(argparse.Action):
    """--runids: for the --tracker given last, or for all trackers when none is given yet."""

    def __call__(self, parser, namespace, values, option_string=None):
        trackers = namespace.tracker or []
        if not trackers:
            if namespace.default_runids is not None:
                parser.error("--runids is given twice before the first --tracker")
            namespace.default_runids = tuple(values)
            return
        per_tracker = dict(namespace.tracker_runids or {})
        if len(trackers) - 1 in per_tracker:
            parser.error(f"--runids is given twice after --tracker {' '.join(trackers[-1])}")
        per_tracker[len(trackers) - 1] = tuple(values)
        namespace.tracker_runids = per_tracker


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytracking/run_analysis.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help=f"dataset name: {', '.join(dataset_names())}")
    parser.add_argument("--tracker", nargs=2, action="append", required=True, metavar=("NAME", "PARAM"),
                        help="a tracker and its parameter name; repeat for several trackers")
    parser.add_argument("--runids", nargs="+", type=int, action=RunIdsAction, metavar="ID",
                        help="run ids of the --tracker before it (or, before any --tracker, of every tracker)")
    parser.add_argument("--skip_missing", action="store_true",
                        help="leave out sequences whose results are missing for any tracker, instead of failing")
    parser.add_argument("--allow_short_results", action="store_true",
                        help="score result files that miss their last frames (some published results do) with "
                             "those frames counted as failures, as pytracking's analysis does; they are listed")
    parser.add_argument("--output", help="output folder (default: <result_plot_path>/<dataset>)")
    parser.add_argument("--no_plots", action="store_true", help="write the tables only")
    parser.add_argument("--no_attributes", action="store_true", help="no per-attribute tables")
    parser.add_argument("--no_cache", action="store_true", help="recompute every curve; read and write no cache")
    parser.add_argument("--got10k_metrics", action="store_true",
                        help="add GOT-10k's AO, SR0.5 and SR0.75 (the official toolkit's rules) to the tables; "
                             "always on for the GOT-10k datasets")
    parser.add_argument("--sequence", nargs="+", metavar="NAME", help="analyse only these sequences")
    parser.add_argument("--results_path", help="raw results folder (default: the environment's results_path)")
    parser.add_argument("--dataset_root", help="dataset folder (default: the dataset's environment field)")
    parser.set_defaults(default_runids=None, tracker_runids=None)
    return parser


def trackers_from_arguments(args: argparse.Namespace) -> list[TrackerRuns]:
    """The TrackerRuns of --tracker and --runids; labels carry the run ids where a tracker and
    parameter are named twice."""
    per_tracker = args.tracker_runids or {}
    runs = [per_tracker.get(i, args.default_runids) or (None,) for i in range(len(args.tracker))]
    pairs = [tuple(t) for t in args.tracker]
    trackers = []
    for (name, param), run_ids in zip(pairs, runs):
        label = None
        if pairs.count((name, param)) > 1:
            label = f"{name} {param} runs " + ",".join("-" if r is None else str(r) for r in run_ids)
        trackers.append(TrackerRuns(name, param, tuple(run_ids), label))
    return trackers


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(None, name="analysis")
    trackers = trackers_from_arguments(args)
    try:
        result = analyse_dataset(args.dataset, trackers, results_path=args.results_path, output_dir=args.output,
                                 skip_missing=args.skip_missing, plots=not args.no_plots,
                                 attributes=not args.no_attributes, use_cache=not args.no_cache,
                                 sequences=args.sequence, dataset_root=args.dataset_root,
                                 allow_short_results=args.allow_short_results,
                                 got10k_metrics=True if args.got10k_metrics else None)
    except OutputWriteError as error:
        # The scores were computed: show them before saying what could not be written.
        print_scores(error.result)
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ResultFileError, EnvironmentPathError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_scores(result)
    print(f"written to {result.output_dir}:")
    for path in result.files:
        print(f"  {path.name}")
    return 0


def print_scores(result: AnalysisResult | MotAnalysisResult) -> None:
    """The scores table, how many sequences were used, and the short result files counted."""
    print(result.table())
    used = len(result.sequences)
    print(f"\n{used} of {used + len(result.left_out)} sequences used", end="")
    print(f" ({len(result.left_out)} left out, results missing)" if result.left_out else "")
    if isinstance(result, MotAnalysisResult):
        return
    for label, missed in result.short_results.items():
        listed = ", ".join(f"{name} ({frames})" for name, frames in missed.items())
        print(f"{label}: {sum(missed.values())} missing frames counted as failures in {len(missed)} "
              f"sequences: {listed}")


if __name__ == "__main__":
    sys.exit(main())
