"""Run a tracker on a dataset, or on one of its sequences:

    python pytracking/run_tracker.py <tracker> <param> [--dataset_name otb] [--sequence S]
        [--runid R] [--workers W] [--threads N] [--debug N] [--rerun]

for example ``python pytracking/run_tracker.py opencv csrt --dataset_name otb``. Results go to
``<results_path>/<tracker>/<param>[_<runid>]/``; sequences with complete results are skipped
unless --rerun. Several processes: --workers W, or ``torchrun --nproc_per_node N
pytracking/run_tracker.py ...`` (each rank takes its share of the sequences). Exits with status
1 when a sequence failed, naming it and the file holding its traceback.
"""

import argparse
import logging
import sys
from pathlib import Path

from admin.environment import EnvironmentPathError, env_settings
from admin.logging_setup import setup_logging
from pytracking.evaluation import SequenceList, get_dataset
from pytracking.evaluation.running import add_run_arguments, run_from_arguments
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
    parser = argparse.ArgumentParser(prog="pytracking/run_tracker.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tracker_name", help="tracker package in pytracking/tracker, e.g. opencv")
    parser.add_argument("tracker_param", help="parameter file in pytracking/parameter/<tracker>, e.g. csrt")
    parser.add_argument("--dataset_name", default="otb", help="dataset to run on (default otb)")
    parser.add_argument("--sequence", default=None, help="only this sequence: its name or index")
    parser.add_argument("--runid", type=int, default=None, help="run id: results go to <param>_<runid:03d>")
    add_run_arguments(parser)
    args = parser.parse_args(argv)

    settings = env_settings()
    setup_logging(Path(settings.workspace_dir) / "logs", name="run_tracker",
                  level=logging.DEBUG if args.debug else logging.INFO)
    try:
        tracker = Tracker(args.tracker_name, args.tracker_param, args.runid)
        tracker.get_parameters()  # a misspelt or unread parameter: reported once here, not per sequence
        dataset = get_dataset(args.dataset_name)
    except (ValueError, EnvironmentPathError) as error:  # a typo in a name, a dataset path not set
        raise SystemExit(str(error)) from None
    if args.sequence is not None:
        dataset = select_sequence(dataset, args.sequence)
    logger.info("running %s on %s (%d sequences); results in %s", tracker.label, args.dataset_name,
                len(dataset), tracker.results_dir)
    report = run_from_arguments(dataset, [tracker], args)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
