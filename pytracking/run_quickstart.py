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
   tracktor_synthetic``) and FairMOT's small network (``ltr/train_settings/fairmot/
   fairmot_synthetic``) on its train split, each resuming from its checkpoints, and puts them
   into network_path (--no-tracktor and --no-fairmot skip a tracker's training and rows);
3. runs SORT and ByteTrack on the public detections of its val split (``synthetic_mot``),
   Tracktor with its own detector (``tracktor synthetic``) and on the public detections
   (``tracktor synthetic_public``), and FairMOT (``fairmot synthetic``); a trained tracker's
   results are redone when its networks changed;
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
from ltr.train_settings.fairmot import fairmot_synthetic
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
TRACKTOR = [("tracktor", "synthetic", "Tracktor"), ("tracktor", "synthetic_public", "Tracktor (public)")]
FAIRMOT = [("fairmot", "synthetic", "FairMOT")]
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


def train_mot_recipe(args: argparse.Namespace, module_name: str, recipe, files: list[Path], **overrides) -> bool:
    """Train (or resume) the MOT recipe ``module_name/<recipe>`` (with the settings ``overrides``),
    whose ``run`` puts its networks into ``files``. Returns whether they changed."""
    before = [path.read_bytes() if path.is_file() else None for path in files]
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    script_name = recipe.__name__.rsplit(".", 1)[-1]
    settings = TrainSettings(module_name=module_name, script_name=script_name, seed=args.seed, resume=True,
                             overrides=overrides)
    seed_everything(args.seed)
    recipe.run(settings)
    return [path.read_bytes() for path in files] != before


def train_tracktor(args: argparse.Namespace, network_path: Path) -> bool:
    """tracktor_synthetic: Tracktor's detector and ReID network. Returns whether they changed. Without
    the recipe's track evaluation after training: the quick start tracks the same sequences next."""
    files = [network_path / tracktor_synthetic.DETECTOR_FILE, network_path / tracktor_synthetic.REID_FILE]
    return train_mot_recipe(args, "tracktor", tracktor_synthetic, files, track_eval=None)


def train_fairmot(args: argparse.Namespace, network_path: Path) -> bool:
    """fairmot_synthetic: FairMOT's network. Returns whether it changed."""
    return train_mot_recipe(args, "fairmot", fairmot_synthetic, [network_path / fairmot_synthetic.PUBLISHED_FILE])


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
    parser.add_argument("--no-fairmot", action="store_true", help="skip FairMOT's training and row")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs of every network trained (default: each recipe's)")
    args = parser.parse_args(argv)
    settings = env_settings()
    log_file = setup_logging(Path(settings.workspace_dir) / "quickstart_mot", name="quickstart_mot")
    started = time.perf_counter()

    logger.info("step 1 of 4: synthetic MOT dataset in %s", settings.synthetic_mot_dir)
    summary = generate_mot_from_arguments(args, settings.synthetic_mot_dir)
    print(summary.format())

    groups = [(MOT_BASELINES, False)]
    network_path = Path(settings.network_path)
    if not args.no_tracktor:
        logger.info("step 2 of 4: training Tracktor's detector and ReID network (tracktor_synthetic)")
        groups.append((TRACKTOR, train_tracktor(args, network_path)))
    if not args.no_fairmot:
        logger.info("step 2 of 4: training FairMOT's network (fairmot_synthetic)")
        groups.append((FAIRMOT, train_fairmot(args, network_path)))
    if args.no_tracktor and args.no_fairmot:
        logger.info("step 2 of 4: skipped (--no-tracktor --no-fairmot)")

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
