"""Prepare a dataset's frames for fast training: ``python ltr/run_prepare.py SOURCE OUTPUT``
decodes every sequence folder under SOURCE (any folder holding image files) at the levels
given (default 1, 2, 4, 8: full size, 1/2, 1/4, 1/8) and stores them as raw arrays in OUTPUT,
which training reads through memory maps instead of decoding the JPEGs every epoch:

    Got10k(root, image_loader=frame_loader(OUTPUT))      # ltr.data.prepared

Crops read from the copy are those made from the decoded frames, bit for bit (see
ltr/data/prepared.py). It takes 1.33 x width x height x 3 bytes per frame with every level
(--levels 2 4 8: a quarter of that; full-size crops then decode as before).

A rerun continues where an interrupted one stopped (Ctrl-C leaves no half file); a sequence
with an unreadable frame is skipped and named, and the run ends with status 1.
"""

import argparse
import logging
import sys

from ltr.data.image_loader import REDUCTIONS
from ltr.data.prepared import PreparedCopyError, prepare_frames

logger = logging.getLogger("ltr.run_prepare")

INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ltr/run_prepare.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="root folder of the dataset's frames, e.g. GOT-10k's train folder")
    parser.add_argument("output", help="folder of the prepared copy (created; continued when it exists)")
    parser.add_argument("--levels", type=int, nargs="+", choices=REDUCTIONS, default=list(REDUCTIONS),
                        help="reductions to store (default: 1 2 4 8)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    def progress(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            logger.info("%d of %d sequences", done, total)

    try:
        counts = prepare_frames(args.source, args.output, levels=args.levels, progress=progress)
    except KeyboardInterrupt:
        print(f"Stopped: the sequences finished so far are kept in {args.output}; run the same command to "
              f"continue", file=sys.stderr)
        return INTERRUPTED
    except (PreparedCopyError, OSError) as error:
        raise SystemExit(f"Error: {error}") from None
    print(f"{counts['prepared']} sequences prepared, {counts['kept']} already there, {counts['frames']} frames "
          f"in {args.output}")
    for line in counts["skipped"]:
        print(f"skipped {line}", file=sys.stderr)
    return 1 if counts["skipped"] else 0


if __name__ == "__main__":
    sys.exit(main())
