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


def track_with_atom(network, images: list[np.ndarray], boxes: np.ndarray, *, sample_cells: int) -> np.ndarray:
    """ATOM's ``default`` parameters made small and quick (a sample of ``sample_cells`` * 16
    pixels, 16 projected channels, few optimisation steps, every peak accepted) with ``network``,
    started on ``boxes[0]``: the boxes of the frames after the first, (frames - 1, 4)."""
    from pytracking.parameter.atom.default import parameters as default_parameters
    from pytracking.tracker.atom.atom import ATOM

    params = default_parameters()
    params.image_sample_size, params.compressed_dim = sample_cells * 16, 16
    params.init_CG_iter, params.init_GN_iter, params.train_skipping = 4, 1, 3
    params.advanced_localization, params.target_not_found_threshold = False, float("-inf")
    tracker = ATOM(params, network=network)
    tracker.initialize(images[0], {"init_bbox": boxes[0].tolist()})
    return np.array([tracker.track(image)["target_bbox"] for image in images[1:]])


def randomise_iou_batch_norm(net):
    """``net`` (an ATOM network) with its IoU head's BatchNorm statistics and affine parameters
    drawn away from 0 and 1 (from torch's global generator), so that they matter; returns it."""
    import torch

    for module in net.bb_regressor.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.normal_()
            module.bias.data.normal_()
    return net
