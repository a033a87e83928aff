"""Textures for the synthetic videos: real photographs shipped inside installed wheels
(scikit-image's ``skimage/data`` and matplotlib's sample data; nothing is downloaded), and
procedural textures when none of those files is installed."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import logging
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)

# Files inside package folders, read directly: skimage.data's loaders may download instead.
PHOTO_FILES = {
    "skimage": ("data/astronaut.png", "data/chelsea.png", "data/coffee.png",
                "data/motorcycle_left.png", "data/motorcycle_right.png", "data/rocket.jpg",
                "data/hubble_deep_field.jpg", "data/ihc.png", "data/retina.jpg",
                # Grey-level photographs; tinted when used.
                "data/camera.png", "data/brick.png", "data/grass.png", "data/gravel.png",
                "data/moon.png", "data/coins.png"),
    "matplotlib": ("mpl-data/sample_data/grace_hopper.jpg",),
}
MAX_PHOTO_SIDE = 1024


@dataclasses.dataclass(frozen=True)
class Photo:
    name: str
    image: np.ndarray  # (H, W, 3) uint8, BGR
    grey: bool


def _package_dir(package: str) -> Path | None:
    # find_spec locates the package without importing it.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@functools.lru_cache(maxsize=1)
def photo_library() -> tuple[Photo, ...]:
    """The photographs found in installed packages, in a fixed order."""
    photos = []
    for package, files in PHOTO_FILES.items():
        folder = _package_dir(package)
        if folder is None:
            continue
        for relative in files:
            path = folder / relative
            if not path.is_file():
                continue
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise OSError(f"cannot decode the texture photograph {path}; reinstall {package}")
            scale = MAX_PHOTO_SIDE / max(image.shape[:2])
            if scale < 1:
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            grey = bool(np.array_equal(image[..., 0], image[..., 1])
                        and np.array_equal(image[..., 1], image[..., 2]))
            photos.append(Photo(f"{package}:{Path(relative).stem}", image, grey))
    if photos:
        logger.debug("synthetic textures: %d photographs", len(photos))
    else:
        logger.warning("no texture photographs found (scikit-image not installed): "
                       "the synthetic dataset uses procedural textures only")
    return tuple(photos)


def texture_source_name() -> str:
    photos = photo_library()
    return f"{len(photos)} photographs" if photos else "procedural"


def procedural_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Coloured multi-scale value noise, optionally with stripes: (height, width, 3) uint8."""
    field = np.zeros((height, width), np.float32)
    amplitude, total = 1.0, 0.0
    cells = int(rng.integers(2, 6))
    for _ in range(4):
        grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
        field += amplitude * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        total += amplitude
        amplitude *= 0.5
        cells *= 2
    field /= total
    if rng.random() < 0.25:
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(6, 30)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / period)
        field = 0.6 * field + 0.4 * stripes
    low, high = rng.uniform(0, 255, size=(2, 3)).astype(np.float32)
    image = low + (high - low) * np.clip(field, 0, 1)[..., None]
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def jitter_colour(rng: np.random.Generator, image: np.ndarray, grey: bool, strength: float) -> np.ndarray:
    gains = rng.uniform(1 - strength, 1 + strength, size=3)
    if grey:
        # Tint grey photographs so they do not all look alike.
        gains = gains * rng.uniform(0.6, 1.4, size=3)
    return np.clip(image.astype(np.float32) * gains.astype(np.float32) + 0.5, 0, 255).astype(np.uint8)


class TextureSource:
    """Draws backgrounds and object textures from the photographs, or procedurally."""

    def __init__(self, photos: tuple[Photo, ...] | None = None, *, procedural_share: float = 0.15):
        self.photos = photo_library() if photos is None else photos
        self.procedural_share = procedural_share if self.photos else 1.0

    def _pick(self, rng: np.random.Generator, avoid: str | None) -> Photo | None:
        if rng.random() < self.procedural_share:
            return None
        choices = [p for p in self.photos if p.name != avoid] or list(self.photos)
        return choices[int(rng.integers(len(choices)))]

    def background(self, rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, str]:
        """A (height, width, 3) uint8 image and the name of its source."""
        photo = self._pick(rng, None)
        if photo is None:
            return procedural_texture(rng, height, width), "procedural"
        image = photo.image
        ph, pw = image.shape[:2]
        # A random window of the output's aspect ratio covering much of the photograph.
        fraction = rng.uniform(0.6, 1.0)
        crop_w = min(pw, ph * width / height) * fraction
        crop_h = crop_w * height / width
        x0 = rng.uniform(0, pw - crop_w)
        y0 = rng.uniform(0, ph - crop_h)
        scale_x, scale_y = width / crop_w, height / crop_h
        affine = np.array([[scale_x, 0, -x0 * scale_x], [0, scale_y, -y0 * scale_y]], np.float64)
        interpolation = cv2.INTER_AREA if scale_x < 1 else cv2.INTER_LINEAR
        if interpolation == cv2.INTER_AREA:
            # INTER_AREA works only through resize: crop first.
            crop = image[int(y0):int(np.ceil(y0 + crop_h)), int(x0):int(np.ceil(x0 + crop_w))]
            out = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
        else:
            out = cv2.warpAffine(image, affine, (width, height), flags=interpolation,
                                 borderMode=cv2.BORDER_REFLECT)
        if rng.random() < 0.5:
            out = out[:, ::-1]
        return np.ascontiguousarray(jitter_colour(rng, out, photo.grey, 0.15)), photo.name

    def patch(self, rng: np.random.Generator, height: int, width: int, *,
              avoid: str | None = None) -> tuple[np.ndarray, str]:
        """An object texture of (height, width, 3) uint8 from a random window of a photograph
        other than ``avoid``, and the name of its source."""
        photo = self._pick(rng, avoid)
        if photo is None:
            return procedural_texture(rng, height, width), "procedural"
        image = photo.image
        ph, pw = image.shape[:2]
        side = rng.uniform(0.2, 0.5) * min(ph, pw)
        crop_w = min(pw, side * np.sqrt(width / height))
        crop_h = min(ph, side * np.sqrt(height / width))
        x0, y0 = rng.random() * (pw - crop_w), rng.random() * (ph - crop_h)
        crop = image[int(y0):int(y0 + crop_h), int(x0):int(x0 + crop_w)]
        out = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA
                         if crop.shape[1] > width else cv2.INTER_LINEAR)
        if rng.random() < 0.5:
            out = out[:, ::-1]
        return np.ascontiguousarray(jitter_colour(rng, out, photo.grey, 0.25)), photo.name
