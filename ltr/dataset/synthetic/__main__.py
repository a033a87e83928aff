"""python -m ltr.dataset.synthetic --out DIR [--seed S] [--train N] [--val M] [--frames F]
[--width W --height H]: write the synthetic tracking dataset in GOT-10k's layout.

python -m ltr.dataset.synthetic --mot --out DIR [...]: write the synthetic multi-object dataset
in the MOTChallenge layout (default folder: synthetic_mot_dir of admin/local.py)."""

import argparse
import sys

from admin.environment import EnvironmentPathError, LocalFileError, env_settings
from admin.logging_setup import setup_logging
from ltr.dataset.synthetic.command import (add_generation_arguments, add_mot_generation_arguments,
                                           generate_from_arguments, generate_mot_from_arguments)
from ltr.dataset.synthetic.generate import LOG_NAME


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    mot = "--mot" in argv  # the mode decides the other options' defaults
    parser = argparse.ArgumentParser(prog="python -m ltr.dataset.synthetic", description=__doc__)
    parser.add_argument("--mot", action="store_true",
                        help="the multi-object dataset in the MOTChallenge layout (see --mot --help)")
    field = "synthetic_mot_dir" if mot else "synthetic_dir"
    parser.add_argument("--out", default=None, help=f"output folder (default: {field} of admin/local.py)")
    if mot:
        add_mot_generation_arguments(parser)
    else:
        add_generation_arguments(parser)
    args = parser.parse_args(argv)
    try:
        out = args.out or getattr(env_settings(), field)
    except (LocalFileError, EnvironmentPathError) as error:  # a broken admin/local.py: one line, no traceback
        raise SystemExit(f"Error: {error}") from None
    setup_logging(out, name=LOG_NAME)
    summary = generate_mot_from_arguments(args, out) if mot else generate_from_arguments(args, out)
    print(summary.format())
    return 0

if __name__ == "__main__":
    sys.exit(main())
