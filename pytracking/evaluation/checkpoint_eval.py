"""Track metrics of one multi-object tracker setting on one dataset, for a training run that wants
them after an epoch (``ltr`` cannot import ``pytracking``: its hook runs this as a process)::

    python -m pytracking.evaluation.checkpoint_eval --tracker tracktor --parameters synthetic \\
        --dataset synthetic_mot --detector ep0001.pth.tar [--reid reid.pth.tar] \\
        [--sequences SYN-V001 ...] [--param NAME=VALUE ...] --json figures.json

The tracker is built from its parameter file with the overrides (``--detector PATH`` sets
Tracktor's ``detector_checkpoint`` to PATH and its ``detector_network`` / ``detector_weights`` to
None, a checkpoint of this toolkit replacing released weights; ``--reid`` likewise the ``reid_``
ones; ``--param NAME=VALUE`` any other; a name the tracker does not read is an error), run in this
process on every sequence (in order, nothing written to the results folder), and scored with the
MOTChallenge metrics of :mod:`pytracking.analysis.mot` over the sequences combined, with the
dataset's preprocessing. The JSON file (written atomically) holds ``figures``: MOTA, IDF1, FN,
FP, IDs, MT, ML (and HOTA, MOTP, IDP, IDR), plus the tracker, dataset and sequences; the
figures are also written to standard output as one JSON line. A bad argument, an unknown
tracker, parameter or dataset ends the command with one line and exit status 2; a tracker that
fails on a sequence with exit status 1.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ltr.data.box_files import MotRows
from ltr.fileio import atomic_write_text
from pytracking.analysis.mot import combine, evaluate_sequence
from pytracking.analysis.mot_report import preprocessing_for
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.tracker import Tracker

logger = logging.getLogger(__name__)

# The options that name networks: the checkpoint parameter they set, and the parameters of
# released weights they clear (Tracktor loads either a checkpoint or a network with weights).
NETWORK_PARAMETERS = {"detector": ("detector_checkpoint", ("detector_network", "detector_weights")),
                      "reid": ("reid_checkpoint", ("reid_network", "reid_weights"))}
FIGURES = {"MOTA": "MOTA", "IDF1": "IDF1", "FN": "FN", "FP": "FP", "IDs": "IDSW", "MT": "MT", "ML": "ML",
           "HOTA": "HOTA", "MOTP": "MOTP", "IDP": "IDP", "IDR": "IDR"}


class UsageError(ValueError):
    """A command-line value that cannot be used; the message says which and what to do."""


def parse_parameter(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` with VALUE a Python literal (else the text itself)."""
    name, separator, value = text.partition("=")
    if not separator or not name.strip().isidentifier():
        raise UsageError(f"--param {text!r}: write NAME=VALUE, e.g. --param det_thr=0.5")
    try:
        return name.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return name.strip(), value


def build_tracker(tracker: str, parameters: str, overrides: dict[str, object]) -> Tracker:
    """The :class:`Tracker` of ``tracker`` / ``parameters`` whose parameters get ``overrides``
    (the tracker's parameter check reports a name it does not read: a typo is an error, not a
    silent default)."""
    built = Tracker(tracker, parameters)
    original = built._parameters

    def with_overrides():
        params = original()
        for name, value in overrides.items():
            setattr(params, name, value)
        return params

    built._parameters = with_overrides
    return built


def evaluate(tracker: Tracker, sequences, preprocessing: str) -> dict:
    """Run ``tracker`` on each MOT sequence in turn and score them combined; ``{"figures": ...,
    "sequences": [...]}``."""
    counts = []
    names = []
    for seq in sequences:
        logger.info("%s on %s (%d frames)", tracker.label, seq.name, len(seq))
        output = tracker.run_sequence(seq)
        rows = MotRows.from_array(output[tracker.frame_output.key].reshape(-1, 7))
        gt = seq.ground_truth
        gt = MotRows(gt.frame - (seq.first_frame - 1), gt.id, gt.box, gt.score, gt.extra)
        counts.append(evaluate_sequence(gt, rows, len(seq), preprocessing=preprocessing))
        names.append(seq.name)
    scores = combine(counts)
    figures = {label: float(scores[key]) if isinstance(scores[key], float) else int(scores[key])
               for label, key in FIGURES.items()}
    return {"figures": figures, "sequences": names}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytracking.evaluation.checkpoint_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracker", required=True, help="tracker name (pytracking/tracker/<name>)")
    parser.add_argument("--parameters", required=True, help="parameter file (pytracking/parameter/<tracker>/<name>.py)")
    parser.add_argument("--dataset", required=True, help="a MOT dataset name (pytracking.evaluation.datasets)")
    parser.add_argument("--detector", help="detector checkpoint: sets the parameter detector_path")
    parser.add_argument("--reid", help="ReID checkpoint: sets the parameter reid_path")
    parser.add_argument("--sequences", nargs="+", help="only these sequences")
    parser.add_argument("--param", nargs="+", default=[], metavar="NAME=VALUE", help="other parameter overrides")
    parser.add_argument("--json", required=True, help="the JSON file to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        overrides = dict(parse_parameter(text) for text in args.param)
        for option, (parameter, cleared) in NETWORK_PARAMETERS.items():
            path = getattr(args, option)
            if path is not None:
                if not Path(path).is_file():
                    raise UsageError(f"--{option} {path}: no such file")
                overrides[parameter] = str(Path(path).resolve())
                overrides.update(dict.fromkeys(cleared))
        tracker = build_tracker(args.tracker, args.parameters, overrides)
        tracker.get_parameters()  # a bad override is reported before any sequence runs
        dataset = get_dataset(args.dataset) if args.sequences is None else get_dataset(args.dataset,
                                                                                      sequences=args.sequences)
        sequences = list(dataset)
        if not sequences:
            raise UsageError(f"dataset {args.dataset} has no sequences"
                             + (f" named {', '.join(args.sequences)}" if args.sequences else ""))
        if not hasattr(sequences[0], "first_frame") or tracker.frame_output.key != "tracks":
            raise UsageError(f"{args.tracker} on {args.dataset}: needs a multi-object tracker and MOT dataset")
    except (UsageError, ValueError, OSError) as error:  # unknown names, missing dataset folders: one line
        sys.stderr.write(f"checkpoint_eval: {error}\n")
        return 2
    try:
        result = evaluate(tracker, sequences, preprocessing_for(args.dataset))
    except Exception as error:  # the tracker failed: one line for the training log, the detail in ours
        logger.debug("tracker failure", exc_info=True)
        sys.stderr.write(f"checkpoint_eval: {tracker.label} failed on {args.dataset}: {type(error).__name__}: {error}\n")
        return 1
    result.update(tracker=args.tracker, parameters=args.parameters, dataset=args.dataset,
                  networks={option: getattr(args, option) for option in NETWORK_PARAMETERS})
    atomic_write_text(args.json, json.dumps(result, indent=1))
    sys.stdout.write(json.dumps(result["figures"]) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
