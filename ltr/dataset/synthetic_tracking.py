"""The generated synthetic dataset (:mod:`ltr.dataset.synthetic`), read through the GOT-10k
loader: it is written in GOT-10k's exact layout, one folder per split."""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from admin.environment import resolve_dataset_root
from ltr.data.image_loader import imread
from ltr.dataset.got10k import Got10k

logger = logging.getLogger(__name__)

SPLITS = ("train", "val")
# Added to the errors of a root or list that is missing: {root} is the dataset root.
GENERATE_HINT = "generate it with `python -m ltr.dataset.synthetic --out {root}`"


class SyntheticTracking(Got10k):
    """Generated tracking sequences.

    Args:
        root: the folder ``python -m ltr.dataset.synthetic --out ROOT`` wrote; None:
            ``env_settings().synthetic_dir``.
        image_loader: reads a frame file into an RGB uint8 array.
        split: ``'train'`` or ``'val'``.
        data_fraction: keep this random fraction of the sequences (reproducible).

    ``get_sequence_info`` gives what :class:`Got10k` gives: ``bbox``, ``valid``, ``visible``
    and ``visible_ratio``."""

    env_field = "synthetic_dir"
    dataset_name = "synthetic"

    def __init__(self, root: str | None = None, image_loader: Callable[[str], np.ndarray] = imread,
                 split: str = "train", data_fraction: float | None = None):
        if split not in SPLITS:
            raise ValueError(f"unknown synthetic split {split!r}: use one of {', '.join(SPLITS)}")
        dataset_root = resolve_dataset_root(root, self.env_field, self.dataset_name, hint=GENERATE_HINT)
        listing = dataset_root / split / "list.txt"
        if not listing.is_file():
            raise FileNotFoundError(f"{listing} is missing: the synthetic dataset has not been generated in "
                                    f"{dataset_root}; {GENERATE_HINT.format(root=dataset_root)}")
        self.split = split
        self.dataset_root = str(dataset_root)
        super().__init__(root=str(dataset_root / split), image_loader=image_loader, data_fraction=data_fraction)
