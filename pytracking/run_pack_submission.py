"""Pack raw results into the zip an evaluation server takes:

    python pytracking/run_pack_submission.py {got10k,trackingnet} <tracker> <param>
        [--runid R ...] [--dataset D] [--output ZIP]

GOT-10k takes several runs (``--runid 0 1 2`` packs them as ``_001``, ``_002``, ``_003``);
TrackingNet takes one. The dataset defaults to the benchmark's test set (got10k_test,
trackingnet); the zip to ``<workspace_dir>/submissions/<tracker>_<param>_<benchmark>.zip``.
Refuses, listing them, when sequences lack complete results.
"""

import argparse
import logging
import sys

from admin.logging_setup import setup_logging
from pytracking.evaluation.submission import BENCHMARKS, IncompleteResultsError, pack_got10k, pack_trackingnet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytracking/run_pack_submission.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS), help="the server to pack for")
    parser.add_argument("tracker_name", help="tracker, e.g. opencv")
    parser.add_argument("tracker_param", help="parameter file, e.g. csrt")
    parser.add_argument("--runid", type=int, nargs="+", default=None,
                        help="run id(s); default: the run without id")
    parser.add_argument("--dataset", default=None, help="dataset name (default: the benchmark's test set)")
    parser.add_argument("--output", default=None, help="zip file to write")
    args = parser.parse_args(argv)
    setup_logging(None, level=logging.INFO)
    run_ids = args.runid or [None]
    try:
        if args.benchmark == "got10k":
            path = pack_got10k(args.tracker_name, args.tracker_param, run_ids, dataset=args.dataset,
                               output=args.output)
        else:
            if len(run_ids) > 1:
                parser.error("TrackingNet takes the results of one run: give one --runid")
            path = pack_trackingnet(args.tracker_name, args.tracker_param, run_ids[0], dataset=args.dataset,
                                    output=args.output)
    # OSError covers EnvironmentPathError and a zip that cannot be written; TypeError and
    # SyntaxError a broken admin/local.py (each message names the file).
    except (IncompleteResultsError, OSError, ValueError, TypeError, SyntaxError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
