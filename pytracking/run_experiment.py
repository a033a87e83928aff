"""Run an experiment: a function in ``pytracking/experiments/<module>.py`` that returns
``(trackers, dataset)``:

    python pytracking/run_experiment.py <module> <function> [--workers W] [--threads N]
        [--debug N] [--rerun]

for example ``python pytracking/run_experiment.py myexperiments opencv_otb``. Every tracker runs
on every sequence; complete results are skipped unless --rerun; under torchrun each rank takes
its share. Exits with status 1 when a sequence failed, naming it and its traceback file.
"""

import argparse
import importlib
import logging
import sys

from admin.environment import EnvironmentPathError
from pytracking.evaluation.running import (EmptyRunError, ResultsFolderError, RunInterrupted, add_run_arguments,
                                           entry_environment, run_from_arguments)

logger = logging.getLogger("pytracking.run_experiment")
PACKAGE = "pytracking.experiments"


def load_experiment(module_name: str, function_name: str):
    """The experiment function ``pytracking.experiments.<module_name>.<function_name>``."""
    full_name = f"{PACKAGE}.{module_name}"
    try:
        module = importlib.import_module(full_name)
    except ModuleNotFoundError as error:
        if error.name in (full_name, PACKAGE):
            import pkgutil

            known = ", ".join(m.name for m in pkgutil.iter_modules(importlib.import_module(PACKAGE).__path__))
            raise SystemExit(f"no experiment module pytracking/experiments/{module_name}.py; "
                             f"available: {known}") from None
        raise
    function = getattr(module, function_name, None)
    if not callable(function):
        known = ", ".join(name for name, value in vars(module).items()
                          if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == full_name)
        raise SystemExit(f"pytracking/experiments/{module_name}.py has no experiment {function_name!r}; "
                         f"available: {known}")
    return function


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except RunInterrupted as stop:
        print(stop.summary(), file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted before tracking started: nothing was written", file=sys.stderr)
    return 130  # the shell's status for a command ended by Ctrl-C


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="pytracking/run_experiment.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment_module", help="module in pytracking/experiments, e.g. myexperiments")
    parser.add_argument("experiment_name", help="function in that module, e.g. opencv_otb")
    add_run_arguments(parser)
    args = parser.parse_args(argv)

    entry_environment("run_experiment", args.debug)
    experiment = load_experiment(args.experiment_module, args.experiment_name)
    try:
        trackers, dataset = experiment()
        for tracker in trackers:
            tracker.get_parameters()  # a misspelt or unread parameter: reported once here, not per sequence
    except (ValueError, EnvironmentPathError) as error:  # an unknown tracker, parameter file or parameter; no path
        raise SystemExit(f"{args.experiment_module}.{args.experiment_name}: {error}") from None
    logger.info("experiment %s.%s: %d trackers on %d sequences", args.experiment_module, args.experiment_name,
                len(trackers), len(dataset))
    try:
        report = run_from_arguments(dataset, trackers, args)
    except (ResultsFolderError, EmptyRunError) as error:
        raise SystemExit(f"{args.experiment_module}.{args.experiment_name}: {error}") from None
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
