"""Features of patches at several scales around one position, in one network batch."""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Sequence

import numpy as np
import torch

from ltr.data.processing_utils import CropWindow
from pytracking.features.net_wrappers import NetWrapper
from pytracking.features.preprocessing import sample_patch_multiscale


def extract_multiscale(image: np.ndarray, pos: Sequence[float], scales: Sequence[float], sample_size: float,
                       output_size: int, net: NetWrapper, *, layers: Iterable[str] | None = None,
                       image_scale: float = 1.0) -> tuple[OrderedDict[str, torch.Tensor], list[CropWindow]]:
    """Backbone features of the patches of side ``sample_size * scale`` (image pixels) centred on
    ``pos`` (x, y), each resized to ``output_size``: OrderedDict layer -> (len(scales), C, h, w),
    and the patches' windows (``window.unmap_box`` takes a box in a patch back to the image)."""
    patches, windows = sample_patch_multiscale(image, pos, scales, sample_size, output_size,
                                               image_scale=image_scale)
    return net.extract_backbone(patches, layers), windows
