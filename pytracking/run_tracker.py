"""Run a tracker on a dataset, or on one of its sequences:

    python pytracking/run_tracker.py <tracker> <param> [--dataset_name otb] [--sequence S]
        [--runid R] [--network PATH] [--workers W] [--threads N] [--debug N] [--rerun]

for example ``python pytracking/run_tracker.py opencv csrt --dataset_name otb``. Results go to
``<results_path>/<tracker>/<param>[_<runid>]/``; sequences with complete results are skipped
unless --rerun. Several processes: --workers W, or ``torchrun --nproc_per_node N
pytracking/run_tracker.py ...`` (each rank takes its share of the sequences). Exits with status
1 when a sequence failed, naming it and the file holding its traceback, or when there is nothing
to run. --network PATH tracks with that checkpoint instead of the parameter file's net_path
(give such runs a --runid: results go to the parameter file's folder). Ctrl-C (or SIGTERM)
stops the run, keeping every sequence finished: running the same command again resumes.
"""

import argparse
import logging
import sys

from admin.environment import EnvironmentPathError
from pytracking.evaluation import SequenceList, get_dataset
from pytracking.evaluation.running import (EmptyRunError, ResultsFolderError, RunInterrupted, add_run_arguments,
                                           entry_environment, run_from_arguments)
from pytracking.evaluation.tracker import Tracker

logger = logging.getLogger("pytracking.run_tracker")


def select_sequence(dataset: SequenceList, sequence: str) -> SequenceList:
    """The sequence named ``sequence``, or at that index."""
    if sequence.lstrip("-").isdigit():
        index = int(sequence)
        if not -len(dataset) <= index < len(dataset):
            raise SystemExit(f"--sequence {index} is out of range: the dataset has {len(dataset)} sequences")
        return SequenceList([dataset[index]])
    try:
        return SequenceList([dataset[sequence]])
    except KeyError:
        shown = ", ".join(dataset.names()[:20]) + (" ..." if len(dataset) > 20 else "")
        raise SystemExit(f"no sequence {sequence!r} in the dataset; its sequences: {shown}") from None


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except RunInterrupted as stop:
        print(stop.summary(), file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted before tracking started: nothing was written", file=sys.stderr)
    return 130  # the shell's status for a command ended by Ctrl-C


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="pytracking/run_tracker.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracker_name", help="tracker package in pytracking/tracker, e.g. opencv")
    parser.add_argument("tracker_param", help="parameter file in pytracking/parameter/<tracker>, e.g. csrt")
    parser.add_argument("--dataset_name", default="otb", help="dataset to run on (default otb)")
    parser.add_argument("--sequence", default=None, help="only this sequence: its name or index")
    parser.add_argument("--runid", type=int, default=None, help="run id: results go to <param>_<runid:03d>")
    parser.add_argument("--network", default=None, metavar="PATH",
                        help="network checkpoint to track with instead of the parameter file's net_path: a path, "
                             "or a file name in network_path")
    add_run_arguments(parser)
    args = parser.parse_args(argv)

    entry_environment("run_tracker", args.debug)
    try:
        tracker = Tracker(args.tracker_name, args.tracker_param, args.runid, network=args.network)
        tracker.get_parameters()  # a misspelt or unread parameter: reported once here, not per sequence
        if tracker.network is not None:
            from pytracking.features.net_wrappers import resolve_network_path

            resolve_network_path(tracker.network)  # a wrong path: said now, not once per sequence
    except (ValueError, EnvironmentPathError, FileNotFoundError) as error:  # a typo in a name, a path not set
        raise SystemExit(str(error)) from None
    return run_on_dataset(tracker, args)


def run_on_dataset(tracker: Tracker, args: argparse.Namespace) -> int:
    """``tracker`` on ``args.dataset_name`` (only ``args.sequence`` when given) through the runner
    with the run options of :func:`add_run_arguments`; prints the run's summary and returns the
    exit status. A mistake (an unknown dataset, a path not set, a results folder that cannot be
    made, an empty dataset, an unknown sequence) is one line (SystemExit)."""
    try:
        dataset = get_dataset(args.dataset_name)
        results_dir = tracker.results_dir  # results_path not creatable: said before any tracking
    except (ValueError, EnvironmentPathError, FileNotFoundError) as error:  # a typo in a name, a path not set
        raise SystemExit(str(error)) from None
    if len(dataset) == 0:
        raise SystemExit(f"the dataset {args.dataset_name!r} has no sequences: nothing to run; check its folder "
                         f"and list file (the path set for it in admin/local.py)")
    if args.sequence is not None:
        dataset = select_sequence(dataset, args.sequence)
    logger.info("running %s on %s (%d sequences); results in %s", tracker.label, args.dataset_name,
                len(dataset), results_dir)
    try:
        report = run_from_arguments(dataset, [tracker], args)
    except (ResultsFolderError, EmptyRunError) as error:
        raise SystemExit(str(error)) from None
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
