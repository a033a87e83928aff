"""python -m ltr.dataset.synthetic --out DIR [--seed S] [--train N] [--val M] [--frames F]
[--width W --height H]: write the synthetic tracking dataset in GOT-10k's layout."""

import argparse
import sys

from admin.environment import env_settings
from admin.logging_setup import setup_logging
from ltr.dataset.synthetic import SceneConfig, generate_dataset
from ltr.dataset.synthetic.generate import LOG_NAME


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


def generate_from_arguments(args: argparse.Namespace, out: str):
    config = SceneConfig(width=args.width, height=args.height, frames=args.frames)
    return generate_dataset(out, seed=args.seed, train=args.train, val=args.val, config=config,
                            workers=args.workers, force=args.force)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ltr.dataset.synthetic", description=__doc__)
    parser.add_argument("--out", default=None,
                        help="output folder (default: synthetic_dir of admin/local.py)")
    add_generation_arguments(parser)
    args = parser.parse_args(argv)
    out = args.out or env_settings().synthetic_dir
    setup_logging(out, name=LOG_NAME)
    summary = generate_from_arguments(args, out)
    print(summary.format())
    return 0


if __name__ == "__main__":
    sys.exit(main())
