"""OpenCV's contrib trackers behind the toolkit's tracker interface.

Parameters: ``method`` (``"csrt"``, ``"kcf"`` or ``"mil"``) and ``options`` (attributes of
OpenCV's ``Tracker<METHOD>_Params`` to set). CSRT and KCF are deterministic; MIL draws random
samples from generators inside OpenCV that no seed of ours reaches, so its boxes vary from run
to run (average several run ids).

OpenCV works on BGR images and integer boxes: frames are converted from RGB, and the initial
box's corners are rounded to the nearest pixel (``x0 = round(x)``, ``x1 = round(x + w)``, the
same for y; at least one pixel wide and high) and clipped to the image. The first frame's output
is the initial box itself, unrounded. When OpenCV reports that it lost the target, the previous
box is kept and ``target_found`` is False for that frame (counted in the log at debug level).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ltr.data.boxes import xywh_to_xyxy, xyxy_to_xywh
from pytracking.tracker.base import REQUIRED, BaseTracker, TrackerParams

logger = logging.getLogger(__name__)

METHODS = {"csrt": "TrackerCSRT", "kcf": "TrackerKCF", "mil": "TrackerMIL"}


def create_opencv_tracker(method: str, options: dict | None = None):
    """A new OpenCV tracker of ``method`` with ``options`` set on its parameters."""
    if method not in METHODS:
        raise ValueError(f"unknown OpenCV tracker method {method!r}; choose one of {', '.join(METHODS)}")
    name = METHODS[method]
    create = getattr(cv2, f"{name}_create", None)
    params_class = getattr(cv2, f"{name}_Params", None)
    if create is None or params_class is None:
        raise RuntimeError(f"this OpenCV ({cv2.__version__}) has no cv2.{name}_create: install "
                           f"opencv-contrib-python 4.x")
    params = params_class()
    for key, value in (options or {}).items():
        if not hasattr(params, key):
            known = ", ".join(a for a in dir(params) if not a.startswith("_"))
            raise ValueError(f"cv2.{name}_Params has no option {key!r}; known: {known}")
        setattr(params, key, value)
    return create(params)


def integer_box(box, image_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """``[x, y, w, h]`` floats to OpenCV's integer ``(x, y, w, h)``: corners rounded to the
    nearest pixel and clipped to the image, at least one pixel wide and high."""
    height, width = image_shape[:2]
    left, top, right, bottom = xywh_to_xyxy(np.array([float(v) for v in box])).tolist()
    x0 = min(max(int(round(left)), 0), width - 1)
    y0 = min(max(int(round(top)), 0), height - 1)
    x1 = min(max(int(round(right)), x0 + 1), width)
    y1 = min(max(int(round(bottom)), y0 + 1), height)
    return tuple(xyxy_to_xywh(np.array([x0, y0, x1, y1])).tolist())


class OpenCVTracker(BaseTracker):
    """One of OpenCV's CSRT, KCF or MIL trackers (``params.method``)."""

    # method: "csrt", "kcf" or "mil"; options: attributes of OpenCV's parameter object to change.
    PARAMETERS = {"method": REQUIRED, "options": {}}

    def __init__(self, params: TrackerParams):
        super().__init__(params)
        self.method = params.get("method")
        self._tracker = None
        self._box: list[float] = []
        self._frame = 0
        self.failures = 0

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        box = [float(v) for v in info["init_bbox"]]
        self._tracker = create_opencv_tracker(self.method, self.params.get("options", {}))
        self._tracker.init(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), integer_box(box, image.shape))
        self._box = box
        self._frame = 0
        self.failures = 0
        return {}

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        if self._tracker is None:
            raise RuntimeError("track() called before initialize()")
        self._frame += 1
        found, rect = self._tracker.update(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if found:
            self._box = [float(v) for v in rect]
        else:
            self.failures += 1
            logger.debug("OpenCV %s lost the target in frame %d, keeping the previous box (%d frames lost so far)",
                         self.method.upper(), self._frame, self.failures)
        return {"target_bbox": list(self._box), "target_found": bool(found)}
