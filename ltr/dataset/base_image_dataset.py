"""The interface of training datasets made of single annotated images (one target each),
with the conventions of :mod:`ltr.dataset.base_video_dataset`: boxes ``[x, y, w, h]`` float
pixels, ``valid`` (finite, positive size) and ``visible`` (and valid)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from ltr.data.image_loader import LazyFrame, imread
from ltr.dataset.base_video_dataset import empty_meta
from ltr.dataset.check import check_datasets, missing_file


class BaseImageDataset(torch.utils.data.Dataset):
    """A training dataset of images. Subclasses set ``image_list`` (one entry per image-target
    pair) and implement :meth:`get_image_info` and :meth:`image_path`; :meth:`get_image` is
    shared."""

    def __init__(self, name: str, root: str, image_loader: Callable[[str], np.ndarray] = imread):
        self.name = name
        self.root = root
        self.image_loader = image_loader
        self.image_list: list = []
        self.class_list: list[str] = []

    def __len__(self) -> int:
        return self.get_num_images()

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} is read through a sampler: use "
                                  f"get_image_info() and get_image()")

    def get_name(self) -> str:
        return self.name

    def get_num_images(self) -> int:
        return len(self.image_list)

    def has_class_info(self) -> bool:
        return False

    def has_segmentation_info(self) -> bool:
        return False

    def get_num_classes(self) -> int:
        return len(self.get_class_list())

    def get_class_list(self) -> list[str]:
        return list(self.class_list)

    def get_images_in_class(self, class_name: str) -> list[int]:
        raise NotImplementedError(f"{type(self).__name__} has no class information")

    def get_image_info(self, im_id: int) -> dict[str, torch.Tensor]:
        """``'bbox'`` float32 (4,) x,y,w,h; ``'valid'`` and ``'visible'`` bool scalars."""
        raise NotImplementedError

    def image_path(self, im_id: int) -> str:
        raise NotImplementedError

    def get_meta_info(self, im_id: int) -> dict[str, Any]:
        """``object_class_name``, ``motion_class``, ``major_class``, ``root_class``,
        ``motion_adverb``; None where unknown."""
        self._check_im_id(im_id)
        return empty_meta()

    def get_image(self, im_id: int, anno: dict[str, torch.Tensor] | None = None, *,
                  lazy: bool = False) -> tuple[Any, dict[str, torch.Tensor], dict[str, Any]]:
        """The image (RGB uint8 ``(H, W, 3)``, or a :class:`LazyFrame` when ``lazy``), its
        annotation (default :meth:`get_image_info`) and meta info."""
        self._check_im_id(im_id)
        if anno is None:
            anno = self.get_image_info(im_id)
        path = self.image_path(im_id)
        frame = LazyFrame(path, self.image_loader) if lazy else self.image_loader(path)
        anno = {key: value.clone() if torch.is_tensor(value) else value for key, value in anno.items()}
        return frame, anno, self.get_meta_info(im_id)

    def verify_tree(self) -> list[str]:
        """The problems of the dataset's files on disk, one line each: no images at all, or image
        files that are missing (each file checked once; none is decoded)."""
        if self.get_num_images() == 0:
            return [f"{self.name}: no images in {self.root}"]
        paths = dict.fromkeys(self.image_path(i) for i in range(self.get_num_images()))
        return [f"{self.name}: image {path} is missing" for path in paths if missing_file(path)]

    def check(self) -> None:
        """Raise :class:`ltr.dataset.check.DatasetCheckError` listing every problem of
        :meth:`verify_tree`."""
        check_datasets([self])

    def _check_im_id(self, im_id: int) -> None:
        if not 0 <= im_id < len(self.image_list):
            raise IndexError(f"{self.name}: image id {im_id} is outside 0..{len(self.image_list) - 1}")
