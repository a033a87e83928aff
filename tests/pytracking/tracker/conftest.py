"""Shared test data for the tracker tests."""

import numpy as np


def moving_square(frames: int = 12, size: tuple[int, int] = (160, 200)) -> tuple[list[np.ndarray], np.ndarray]:
    """A textured 24 x 24 square moving 3 pixels right and 2 down per frame over a flat
    background: the frames (H, W, 3) uint8 and the boxes (frames, 4) [x, y, w, h]."""
    rng = np.random.default_rng(3)
    background = rng.integers(90, 110, (*size, 3), dtype=np.uint8)
    square = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
    images, boxes = [], []
    for index in range(frames):
        x, y = 60 + 3 * index, 60 + 2 * index
        image = background.copy()
        image[y:y + 24, x:x + 24] = square
        images.append(image)
        boxes.append([x, y, 24.0, 24.0])
    return images, np.array(boxes, dtype=np.float64)
