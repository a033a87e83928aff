"""Training datasets, with pytracking's class names and constructor arguments.

The classes are imported on first use, so ``import ltr.dataset`` stays cheap (pycocotools, for
one, is only imported by :mod:`ltr.dataset.coco_seq`)."""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BaseVideoDataset": "ltr.dataset.base_video_dataset",
    "BaseImageDataset": "ltr.dataset.base_image_dataset",
    "Got10k": "ltr.dataset.got10k",
    "Lasot": "ltr.dataset.lasot",
    "TrackingNet": "ltr.dataset.tracking_net",
    "ImagenetVID": "ltr.dataset.imagenetvid",
    "MSCOCOSeq": "ltr.dataset.coco_seq",
    "MSCOCO": "ltr.dataset.coco_seq",
    "SyntheticTracking": "ltr.dataset.synthetic_tracking",
    "build_datasets": "ltr.dataset.check",
    "check_datasets": "ltr.dataset.check",
    "DatasetCheckError": "ltr.dataset.check",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
