"""Command-line options of the generator, shared by its own command and the main job."""

from __future__ import annotations

import argparse

from ltr.dataset.synthetic.generate import DatasetSummary, generate_dataset
from ltr.dataset.synthetic.mot import MotConfig
from ltr.dataset.synthetic.mot_generate import MotDatasetSummary, generate_mot_dataset
from ltr.dataset.synthetic.scene import SceneConfig


def add_generation_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same files (default 0)")
    parser.add_argument("--train", type=int, default=60, help="training sequences (default 60)")
    parser.add_argument("--val", type=int, default=20, help="validation sequences (default 20)")
    parser.add_argument("--frames", type=int, default=100, help="frames per sequence (default 100)")
    parser.add_argument("--width", type=int, default=480, help="frame width (default 480)")
    parser.add_argument("--height", type=int, default=360, help="frame height (default 360)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    parser.add_argument("--force", action="store_true",
                        help="replace a dataset made before with other options")


def generate_from_arguments(args: argparse.Namespace, out: str) -> DatasetSummary:
    config = SceneConfig(width=args.width, height=args.height, frames=args.frames)
    return generate_dataset(out, seed=args.seed, train=args.train, val=args.val, config=config,
                            workers=args.workers, force=args.force)


def add_mot_generation_arguments(parser: argparse.ArgumentParser) -> None:
    """The multi-object mode's options; its defaults make the MOT quick start's dataset
    (6 sequences of 150 frames, about 20 walkers in view: under a minute on 2 cores)."""
    defaults = MotConfig()
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same files (default 0)")
    parser.add_argument("--train", type=int, default=4, help="training sequences (default 4)")
    parser.add_argument("--val", type=int, default=2, help="validation sequences (default 2)")
    parser.add_argument("--frames", type=int, default=defaults.frames,
                        help=f"frames per sequence (default {defaults.frames})")
    parser.add_argument("--width", type=int, default=defaults.width, help=f"frame width (default {defaults.width})")
    parser.add_argument("--height", type=int, default=defaults.height,
                        help=f"frame height (default {defaults.height})")
    parser.add_argument("--min-objects", type=int, default=defaults.min_objects,
                        help=f"fewest walkers in view a sequence aims at (default {defaults.min_objects})")
    parser.add_argument("--max-objects", type=int, default=defaults.max_objects,
                        help=f"most walkers in view a sequence aims at (default {defaults.max_objects})")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    parser.add_argument("--force", action="store_true",
                        help="replace a dataset made before with other options")


def generate_mot_from_arguments(args: argparse.Namespace, out: str) -> MotDatasetSummary:
    config = MotConfig(width=args.width, height=args.height, frames=args.frames, min_objects=args.min_objects,
                       max_objects=args.max_objects)
    return generate_mot_dataset(out, seed=args.seed, train=args.train, val=args.val, config=config,
                                workers=args.workers, force=args.force)
