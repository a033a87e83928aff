"""The main job on the embedded default: the generated synthetic dataset.

    python pytracking/run_quickstart.py [--train N --val M --frames F ...]

Writes the synthetic dataset into synthetic_dir (admin/local.py, or TRACKING_SYNTHETIC_DIR),
completing it if a run was interrupted, and prints its summary. Training ATOM on it, tracking
its validation sequences and the analysis table join this job as those parts of the toolkit land.
"""

import argparse
import logging
import sys
from pathlib import Path

from admin.environment import env_settings
from admin.logging_setup import setup_logging
from ltr.dataset.synthetic.command import add_generation_arguments, generate_from_arguments

logger = logging.getLogger("quickstart")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytracking/run_quickstart.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_generation_arguments(parser)
    # Training on the synthetic data generalises only with a few hundred sequences.
    parser.set_defaults(train=240)
    args = parser.parse_args(argv)
    settings = env_settings()
    log_file = setup_logging(Path(settings.workspace_dir) / "quickstart", name="quickstart")
    logger.info("step 1: synthetic dataset in %s", settings.synthetic_dir)
    summary = generate_from_arguments(args, settings.synthetic_dir)
    print(summary.format())
    print(f"log: {log_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
