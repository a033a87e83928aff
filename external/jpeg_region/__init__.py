"""Decoding part of a JPEG at a reduced size, for crops of large frames (see csrc/jpeg_region.h).
``available()`` says whether the extension is built (install.sh builds it where libjpeg's
header is installed)."""

from __future__ import annotations

from external.compiled import build_command, load_compiled

_C, UNAVAILABLE_REASON = load_compiled("external.jpeg_region", "the JPEG region decoder")
if _C is None:
    UNAVAILABLE_REASON += f" (run {build_command('external.jpeg_region')})"


def available() -> bool:
    return _C is not None


def decode_region(path: str, reduction: int, x0: int, y0: int, x1: int, y1: int):
    """Rows [y0, y1) and columns from x0 (or a little left of it) to x1 of the image scaled by
    1/``reduction``: (pixels (h, w, 3) uint8 RGB array, left, top, scaled width, scaled height).
    Raises RuntimeError with libjpeg's message for unreadable or corrupt files."""
    if _C is None:
        raise RuntimeError(UNAVAILABLE_REASON)
    pixels, left, top, width, height = _C.decode_region(str(path), int(reduction), int(x0), int(y0), int(x1), int(y1))
    return pixels.numpy(), left, top, width, height
