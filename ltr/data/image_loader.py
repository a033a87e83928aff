"""Reading frames as RGB uint8 arrays: JPEG through libjpeg-turbo (jpeg4py) when it is there,
OpenCV otherwise; and reduced-size decoding, where libjpeg's DCT scaling decodes a JPEG at 1/2,
1/4 or 1/8 of its size for a fraction of the cost of a full decode."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from external import jpeg_region

logger = logging.getLogger(__name__)

REDUCTIONS = (1, 2, 4, 8)
_REDUCED_FLAGS = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
_JPEG_SUFFIXES = {".jpg", ".jpeg", ".jpe"}


class ImageReadError(OSError):
    """A frame that is missing or cannot be decoded; the message names the file."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"cannot read frame {path}: {reason}")
        self.path = str(path)


@functools.lru_cache(maxsize=1)
def jpeg4py_available() -> bool:
    """Whether jpeg4py can decode here (it needs Debian's libturbojpeg0)."""
    try:
        import jpeg4py
    except ImportError:
        logger.info("jpeg4py is not installed: JPEG frames load with OpenCV")
        return False
    try:
        jpeg4py.JPEG(np.frombuffer(_TINY_JPEG, np.uint8)).decode()
    except (OSError, RuntimeError, AttributeError) as error:
        logger.info("jpeg4py cannot decode (%s; install libturbojpeg0): JPEG frames load with OpenCV", error)
        return False
    return True


def _tiny_jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    assert ok
    return data.tobytes()


_TINY_JPEG = _tiny_jpeg()


def _missing_or_unreadable(path: str) -> str:
    if not os.path.exists(path):
        return "no such file"
    if os.path.getsize(path) == 0:
        return "the file is empty"
    return "not a decodable image (corrupt or truncated?)"


def opencv_loader(path: str | Path, reduction: int = 1) -> np.ndarray:
    """RGB uint8 (H, W, 3) through OpenCV; ``reduction`` 2, 4 or 8 decodes a JPEG at that
    fraction of its size (other formats are decoded whole and resized by area)."""
    path = str(path)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction}")
    jpeg = Path(path).suffix.lower() in _JPEG_SUFFIXES
    image = cv2.imread(path, _REDUCED_FLAGS[reduction] if jpeg and reduction > 1 else cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(path, _missing_or_unreadable(path))
    if reduction > 1 and not jpeg:
        # Only JPEG decodes at reduced size; the others are averaged down to the same size.
        height, width = image.shape[:2]
        image = cv2.resize(image, (-(-width // reduction), -(-height // reduction)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def jpeg4py_loader(path: str | Path, reduction: int = 1) -> np.ndarray:
    """RGB uint8 (H, W, 3) through libjpeg-turbo; OpenCV when jpeg4py cannot decode here.
    With ``reduction`` 2, 4 or 8, TurboJPEG decodes straight to that fraction of the size (it
    scales in the DCT when the output it is given is that small)."""
    path = str(path)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction}")
    if not jpeg4py_available() or Path(path).suffix.lower() not in _JPEG_SUFFIXES:
        return opencv_loader(path, reduction)
    import jpeg4py

    try:
        jpeg = jpeg4py.JPEG(path)
        if reduction == 1:
            return jpeg.decode()
        jpeg.parse_header()
        output = np.empty((-(-jpeg.height // reduction), -(-jpeg.width // reduction), 3), np.uint8)
        return jpeg.decode(output)
    except (OSError, RuntimeError, ValueError, AttributeError) as error:
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            raise ImageReadError(path, _missing_or_unreadable(path)) from error
        raise ImageReadError(path, f"JPEG decoding failed ({error})") from error


def imread(path: str | Path, reduction: int = 1) -> np.ndarray:
    """The default frame loader: RGB uint8 (H, W, 3), at 1/``reduction`` of the full size.
    A missing or undecodable file raises :class:`ImageReadError` naming it."""
    return jpeg4py_loader(path, reduction)


def read_region(path: str | Path, reduction: int, region: tuple[int, int, int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """At least ``region`` (x0, y0, x1, y1; clipped to the image) of the image decoded at
    1/``reduction`` of its size, and the position of the returned array's top-left pixel in
    that image. With the JPEG region decoder built (external.jpeg_region), only that part is
    decoded; otherwise the whole image is, and returned with position (0, 0)."""
    path = str(path)
    if Path(path).suffix.lower() in _JPEG_SUFFIXES and jpeg_region.available():
        try:
            pixels, left, top, _, _ = jpeg_region.decode_region(path, reduction, *region)
        except RuntimeError as error:
            reason = str(error).splitlines()[0]
            if not os.path.exists(path) or os.path.getsize(path) == 0:
                reason = _missing_or_unreadable(path)
            raise ImageReadError(path, reason) from error
        return pixels, (left, top)
    return imread(path, reduction), (0, 0)


# Loaders that take a reduction, or read regions (``loader.region``); others are always called
# with the path alone.
imread.supports_reduction = True
imread.region = read_region
jpeg4py_loader.supports_reduction = True
opencv_loader.supports_reduction = True


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of an image from its header, without decoding it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError) as error:
        raise ImageReadError(path, _missing_or_unreadable(str(path))) from error


@dataclasses.dataclass(frozen=True)
class LazyFrame:
    """A frame not read yet: processing decides at what size to decode it."""

    path: str
    loader: object = imread  # callable(path, reduction=1)

    def load(self, reduction: int = 1) -> tuple[np.ndarray, int]:
        """The image decoded at 1/``reduction`` of its size where the loader can, and the
        reduction it was decoded at (1 for loaders that cannot reduce)."""
        if reduction == 1 or not getattr(self.loader, "supports_reduction", False):
            return self.loader(self.path), 1
        return self.loader(self.path, reduction), reduction

    def load_region(self, reduction: int, region: tuple[int, int, int, int]) -> tuple[np.ndarray, int, tuple[int, int]]:
        """The part of the image that holds ``region`` of the image at 1/``reduction`` (see
        ``read_region``): (pixels, reduction used, position of the pixels' top-left)."""
        read = getattr(self.loader, "region", None)
        if read is not None:
            pixels, origin = read(self.path, reduction, region)
            return pixels, reduction, origin
        image, reduction = self.load(reduction)
        return image, reduction, (0, 0)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) at full size."""
        return image_size(self.path)
