"""Build the JPEG region decoder (install.sh and tracking-build-ops run this):

    python -m external.jpeg_region.build [--force]

It links libjpeg (Debian: libjpeg62-turbo-dev provides jpeglib.h). Without the header the build
is skipped with a message, and frames are decoded whole (at a reduced size where they can be).
Exits non-zero when a build that could run fails.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from external.extension_build import build_extension

HERE = Path(__file__).resolve().parent
HEADER_DIRS = ("/usr/include", "/usr/local/include")

logger = logging.getLogger(__name__)


def build(force: bool = False) -> int:
    if not any(Path(folder, "jpeglib.h").is_file() for folder in HEADER_DIRS):
        logger.warning("jpeglib.h not found (install libjpeg62-turbo-dev): the JPEG region decoder is not "
                       "built; frames are decoded whole")
        return 0
    return build_extension(package_dir=HERE, sources=["csrc/bindings.cpp", "csrc/jpeg_region.cpp"],
                           description="CPU, libjpeg", force=force, libraries=["jpeg"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return build(force=args.force)


if __name__ == "__main__":
    sys.exit(main())
