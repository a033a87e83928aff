"""The main job on the embedded default, the generated synthetic dataset:

    python pytracking/run_quickstart.py [--train N --val M --frames F ... --epochs E]

1. writes the synthetic dataset into synthetic_dir (admin/local.py, or TRACKING_SYNTHETIC_DIR),
   completing it if a run was interrupted;
2. trains ``ltr/train_settings/bbreg/atom_synthetic`` (resuming from its checkpoints) and puts
   the network into network_path as atom_synthetic.pth.tar;
3. runs ATOM (the published tracker's rules, ``atom synthetic``), ATOM with this toolkit's
   improvements (``atom synthetic_improved``), ATOM without the IoU predictor and OpenCV's CSRT
   on the validation sequences (results in results_path; ATOM's are redone when the network
   changed);
4. prints the analysis table and writes the plots into result_plot_path/synthetic.

Every step resumes: a second run only redoes what is missing.

The multi-object quick start:

    python pytracking/run_quickstart.py --mot [--train N --val M --frames F --width W --height H ...]

1. writes the synthetic MOT dataset (MOTChallenge layout, a simulated detector's det.txt) into
   synthetic_mot_dir (TRACKING_SYNTHETIC_MOT_DIR), completing it if a run was interrupted;
2. trains Tracktor's small detector and ReID network (``ltr/train_settings/tracktor/
   tracktor_synthetic``, resuming from its checkpoints) on its train split and puts them into
   network_path (--no-tracktor skips this and Tracktor's rows);
3. runs SORT and ByteTrack on the public detections of its val split (``synthetic_mot``), and
   Tracktor with its own detector (``tracktor synthetic``) and on the public detections
   (``tracktor synthetic_public``); Tracktor's results are redone when its networks changed;
4. prints the metrics table (HOTA, DetA, AssA, MOTA, IDF1, IDSW, FP, FN, frames per second) and
   writes the tables and HOTA curve plots into result_plot_path/synthetic_mot.
"""

import argparse
import logging
import sys
import time
from pathlib import Path

from admin.environment import env_settings
from admin.logging_setup import setup_logging
from ltr.dataset.synthetic.command import (add_generation_arguments, add_mot_generation_arguments,
                                           generate_from_arguments, generate_mot_from_arguments)
from ltr.fileio import atomic_write_bytes
from ltr.settings import TrainSettings, seed_everything
from ltr.train_settings.bbreg import atom_default, atom_synthetic
from ltr.run_training import USER_ERRORS, one_line
from ltr.train_settings.tracktor import tracktor_synthetic
from ltr.trainers import TrainingInterrupted
from pytracking.analysis import TrackerRuns, analyse_dataset
from pytracking.evaluation import get_dataset
from pytracking.evaluation.running import run_dataset
from pytracking.evaluation.tracker import Tracker

logger = logging.getLogger("quickstart")
NETWORK_NAME = "atom_synthetic.pth.tar"  # what pytracking/parameter/atom/synthetic.py loads
# SORT and ByteTrack on public detections; the trackers with trained networks after them.
MOT_BASELINES = [("sort", "default", "SORT"), ("bytetrack", "default", "ByteTrack")]
MOT_TRAINED = [("tracktor", "synthetic", "Tracktor"), ("tracktor", "synthetic_public", "Tracktor (public)")]
TRACKERS = [("atom", "synthetic", "ATOM"), ("atom", "synthetic_improved", "ATOM improved"),
            ("atom", "synthetic_no_iounet", "ATOM without IoU-Net"), ("opencv", "csrt", "OpenCV CSRT")]


def train_network(args: argparse.Namespace, network_path: Path) -> bool:
    """Train (or resume) atom_synthetic; put its last checkpoint into ``network_path``.
    Returns whether the network there changed."""
    settings = TrainSettings(module_name="bbreg", script_name="atom_synthetic", seed=args.seed, resume=True)
    seed_everything(args.seed)  # the network's initialisation: the same data and seed give the same network
    atom_synthetic.configure(settings)
    if args.epochs is not None:
        settings.epochs = args.epochs
    if args.epoch_samples is not None:
        settings.train_samples_per_epoch = settings.val_samples_per_epoch = args.epoch_samples
    trainer = atom_default.train(settings, atom_synthetic.datasets)
    network = trainer.checkpoint_path(trainer.epoch).read_bytes()
    target = network_path / NETWORK_NAME
    if target.is_file() and target.read_bytes() == network:
        return False
    atomic_write_bytes(target, network)
    logger.info("network of epoch %d copied to %s", trainer.epoch, target)
    return True


def train_tracktor(args: argparse.Namespace, network_path: Path) -> bool:
    """Train (or resume) tracktor_synthetic, which puts its two networks into ``network_path``.
    Returns whether they changed."""
    files = [network_path / tracktor_synthetic.DETECTOR_FILE, network_path / tracktor_synthetic.REID_FILE]
    before = [path.read_bytes() if path.is_file() else None for path in files]
    overrides = {"epochs": args.epochs} if args.epochs is not None else None
    settings = TrainSettings(module_name="tracktor", script_name="tracktor_synthetic", seed=args.seed, resume=True,
                             overrides=overrides)
    seed_everything(args.seed)
    tracktor_synthetic.run(settings)
    return [path.read_bytes() for path in files] != before


def track_and_analyse(dataset_name: str, groups: list[tuple[list[tuple[str, str, str]], bool]], *, workers: int,
                      log_file: Path, started: float, plots: str, attributes: bool = True) -> int:
    """Steps 3 and 4 of both quick starts: run each group of ``(tracker, parameters, label)``
    on the dataset (a group's results redone when its flag says its network changed), print the
    run summaries, then the analysis table with its plots in ``result_plot_path/plots``. Returns
    the exit status."""
    settings = env_settings()
    logger.info("step 3 of 4: tracking the validation sequences")
    dataset = get_dataset(dataset_name)
    reports = [run_dataset(dataset, [Tracker(name, param, display_name=label) for name, param, label in entries],
                           workers=workers, threads=1, rerun=rerun) for entries, rerun in groups]
    for report in reports:
        print(report.summary())
    if not all(report.ok for report in reports):
        print(f"tracking failed on some sequences; see the log {log_file}")
        return 1

    logger.info("step 4 of 4: analysis")
    runs = [TrackerRuns(name, param, display_name=label) for entries, _ in groups for name, param, label in entries]
    result = analyse_dataset(dataset, runs, results_path=settings.results_path,
                             output_dir=Path(settings.result_plot_path) / plots, attributes=attributes)
    print(result.table())
    print(f"plots and tables: {result.output_dir}")
    print(f"log: {log_file}; {time.perf_counter() - started:.0f} s")
    return 0


def main_mot(argv: list[str]) -> int:
    """The multi-object quick start (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="pytracking/run_quickstart.py --mot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_mot_generation_arguments(parser)
    parser.add_argument("--no-tracktor", action="store_true",
                        help="skip Tracktor's training and rows (SORT and ByteTrack only: seconds)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs of Tracktor's detector and ReID network (default: the recipe's)")
    args = parser.parse_args(argv)
    settings = env_settings()
    log_file = setup_logging(Path(settings.workspace_dir) / "quickstart_mot", name="quickstart_mot")
    started = time.perf_counter()

    logger.info("step 1 of 4: synthetic MOT dataset in %s", settings.synthetic_mot_dir)
    summary = generate_mot_from_arguments(args, settings.synthetic_mot_dir)
    print(summary.format())

    trained = [] if args.no_tracktor else MOT_TRAINED
    networks_changed = False
    if trained:
        logger.info("step 2 of 4: training Tracktor's detector and ReID network (tracktor_synthetic)")
        networks_changed = train_tracktor(args, Path(settings.network_path))
    else:
        logger.info("step 2 of 4: skipped (--no-tracktor)")

    groups = [(MOT_BASELINES, False)] + ([(trained, networks_changed)] if trained else [])
    return track_and_analyse("synthetic_mot", groups, workers=args.workers or 2, log_file=log_file, started=started,
                             plots="synthetic_mot")


def quickstart(argv: list[str] | None = None) -> int:
    """The quick start (the ``--mot`` one with that option); errors propagate (see :func:`main`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--mot" in argv:
        # Its own options: the MOT generator's, with their own defaults.
        return main_mot([a for a in argv if a != "--mot"])
    parser = argparse.ArgumentParser(prog="pytracking/run_quickstart.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mot", action="store_true", help="the multi-object quick start (see above)")
    add_generation_arguments(parser)
    # Training on the synthetic data generalises only with a few hundred sequences.
    parser.set_defaults(train=240)
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the experiment's)")
    parser.add_argument("--epoch_samples", type=int, default=None,
                        help="training and validation samples per epoch (default: the experiment's)")
    args = parser.parse_args(argv)
    settings = env_settings()
    log_file = setup_logging(Path(settings.workspace_dir) / "quickstart", name="quickstart")
    started = time.perf_counter()

    logger.info("step 1 of 4: synthetic dataset in %s", settings.synthetic_dir)
    summary = generate_from_arguments(args, settings.synthetic_dir)
    print(summary.format())

    logger.info("step 2 of 4: training atom_synthetic")
    network_changed = train_network(args, Path(settings.network_path))

    # ATOM's results are redone when its network changed; CSRT's never need to be.
    groups = [(TRACKERS[:3], network_changed), (TRACKERS[3:], False)]
    return track_and_analyse("synthetic", groups, workers=args.workers or 2, log_file=log_file, started=started,
                             plots="synthetic", attributes=False)


def main(argv: list[str] | None = None) -> int:
    """:func:`quickstart` with a user's mistake or Ctrl-C as one line (the log keeps the details)."""
    try:
        return quickstart(argv)
    except TrainingInterrupted as stop:
        print(f"Stopped: {stop}; run the same command again to continue", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("Stopped; run the same command again to continue where it stopped", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        print(f"Error: {one_line(error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
