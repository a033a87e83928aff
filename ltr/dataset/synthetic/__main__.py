"""python -m ltr.dataset.synthetic --out DIR [--seed S] [--train N] [--val M] [--frames F]
[--width W --height H]: write the synthetic tracking dataset in GOT-10k's layout."""

import argparse
import sys

from admin.environment import EnvironmentPathError, LocalFileError, env_settings
from admin.logging_setup import setup_logging
from ltr.dataset.synthetic.command import add_generation_arguments, generate_from_arguments
from ltr.dataset.synthetic.generate import LOG_NAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ltr.dataset.synthetic", description=__doc__)
    parser.add_argument("--out", default=None,
                        help="output folder (default: synthetic_dir of admin/local.py)")
    add_generation_arguments(parser)
    args = parser.parse_args(argv)
    try:
        out = args.out or env_settings().synthetic_dir
    except (LocalFileError, EnvironmentPathError) as error:  # a broken admin/local.py: one line, no traceback
        raise SystemExit(f"Error: {error}") from None
    setup_logging(out, name=LOG_NAME)
    print(generate_from_arguments(args, out).format())
    return 0


if __name__ == "__main__":
    sys.exit(main())
