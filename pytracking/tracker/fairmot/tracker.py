"""FairMOT's tracker (``JDETracker``) in this toolkit's protocol: each frame goes through the
network (:mod:`pytracking.tracker.fairmot.decode`: letterbox, heads, peaks, boxes in the frame's
pixels, embeddings) and the JDE association (:mod:`pytracking.tracker.fairmot.association`).

Settings as published (``src/lib/opts.py``, ``src/track.py``, ``src/demo.py``):

- ``conf_thres`` (0.4 for MOT16/17, 0.3 for 2DMOT15 and MOT20): detections scoring above it
  (strictly) are tracked, and it is the new-track threshold ``det_thresh`` too;
- ``K`` (500) peaks; ``ltrb`` (True: four distances to the box's sides), ``reg_offset`` (True:
  the offset head), ``down_ratio`` 4;
- ``input_size`` (w, h) of the network input: 1088 x 608 for every published MOT model (``opts``
  fixes ``img_size`` whatever ``input_h`` / ``input_w`` say);
- ``track_buffer`` (30) frames at 30 per second: lost tracks are kept ``int(frame_rate / 30 *
  track_buffer)`` frames. The frame rate is the sequence's (``seqinfo.ini``, as ``track.py`` reads
  it; ``info["sequence_frame_rate"]``), else the first frame's ``info["frame_rate"]``, else the
  parameter ``frame_rate``;
- output filter of ``track.py`` / ``demo.py``: a track is written when its area is above
  ``min_box_area`` (100) and its width / height is not above ``aspect_ratio_thresh`` (1.6, the
  published "vertical" rule); the tracker keeps the others;
- ``frame_resize`` (w, h) or None: the published video loader (``LoadVideo``, the demo) resizes
  every frame to 1920 x 1080 before the letterbox, so its boxes are in the pixels of that
  resized frame; image sequences (``LoadImages``, ``track.py``) are not resized. None (default):
  frames as they are, boxes in their own pixels.

Identities count from 1 for every sequence (published: on across sequences in one process).
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
import torch

from pytracking.features.net_wrappers import default_device
from pytracking.tracker.base import BaseTracker, TrackerParams
from pytracking.tracker.fairmot.association import JDEAssociation, JDETrack
from pytracking.tracker.fairmot.decode import decode_detections, prepare_input
from pytracking.tracker.fairmot.networks import load_fairmot_network
from pytracking.tracker.outputs import MULTI_OBJECT

logger = logging.getLogger(__name__)


def _size(value: Any, name: str) -> tuple[int, int] | None:
    if value is None:
        return None
    size = tuple(int(v) for v in value)
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f"FairMOT: {name}={value!r} must be (width, height) in pixels")
    return size  # type: ignore[return-value]


class FairMOTTracker(BaseTracker):
    """FairMOT (see the module's settings). ``network`` and ``device`` replace what the parameters
    would load (tests script the network): a module taking (1, 3, h, w) images and returning the
    head dict ``{"hm", "wh", "reg", "id"}`` (or a list whose last element is that dict, as
    FairMOT's own models return)."""

    frame_output = MULTI_OBJECT
    PARAMETERS = {
        # network (pytracking/tracker/fairmot/networks.py): a checkpoint, or arch and released weights
        "checkpoint": None, "arch": "dla_34", "load_model": None, "reid_dim": 128, "head_conv": 256,
        "num_classes": 1, "use_gpu": None,
        # decoding
        "input_size": (1088, 608), "frame_resize": None, "conf_thres": 0.4, "K": 500, "ltrb": True,
        "reg_offset": True, "down_ratio": 4,
        # association
        "track_buffer": 30, "frame_rate": 30,
        # output filter
        "min_box_area": 100.0, "aspect_ratio_thresh": 1.6,
    }

    @classmethod
    def needs_detections(cls, params: TrackerParams) -> bool:
        """FairMOT detects the objects itself."""
        return False

    def __init__(self, params: TrackerParams, *, network: Any = None, device: str | torch.device | None = None):
        super().__init__(params)
        self.conf_thres = float(params.get("conf_thres", 0.4))
        self.k = int(params.get("K", 500))
        self.ltrb = bool(params.get("ltrb", True))
        self.reg_offset = bool(params.get("reg_offset", True))
        self.down_ratio = int(params.get("down_ratio", 4))
        self.input_size = _size(params.get("input_size", (1088, 608)), "input_size")
        if self.input_size[0] % 32 or self.input_size[1] % 32:
            raise ValueError(f"FairMOT: input_size={self.input_size} must be multiples of 32 (the network's stride)")
        self.frame_resize = _size(params.get("frame_resize", None), "frame_resize")
        self.track_buffer = int(params.get("track_buffer", 30))
        self.default_frame_rate = float(params.get("frame_rate", 30))
        self.min_box_area = params.get("min_box_area", 100.0)
        self.aspect_ratio_thresh = params.get("aspect_ratio_thresh", 1.6)
        self.device = torch.device(device) if device is not None else default_device(params.get("use_gpu", None))
        self._network_settings = dict(
            checkpoint=params.get("checkpoint", None), arch=params.get("arch", "dla_34"),
            load_model=params.get("load_model", None),
            network_kwargs={"num_classes": int(params.get("num_classes", 1)), "reid_dim": int(params.get("reid_dim", 128)),
                            "head_conv": int(params.get("head_conv", 256)), "ltrb": self.ltrb})
        self.network = network
        self.association = self._new_association(self.default_frame_rate)
        self.dropped_boxes = 0  # detections without area, this sequence

    def _new_association(self, frame_rate: float) -> JDEAssociation:
        # The published det_thresh is conf_thres.
        return JDEAssociation(det_thresh=self.conf_thres, track_buffer=self.track_buffer, frame_rate=frame_rate)

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        frame_rate = self.default_frame_rate
        for key in ("frame_rate", "sequence_frame_rate"):  # the sequence's own rate wins
            if key in info:
                frame_rate = info[key]
        self.association = self._new_association(float(frame_rate))
        self.dropped_boxes = 0
        return self.track(image, info)

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        if self.network is None:
            self.network = load_fairmot_network(device=self.device, **self._network_settings)
        frame = image if self.frame_resize is None else cv2.resize(image, self.frame_resize)
        inputs = prepare_input(frame, self.input_size).to(self.device)
        with torch.no_grad():
            outputs = self.network(inputs)
        if isinstance(outputs, (list, tuple)):
            outputs = outputs[-1]
        found = decode_detections(outputs, (frame.shape[1], frame.shape[0]), self.input_size,
                                  conf_thres=self.conf_thres, k=self.k, ltrb=self.ltrb, reg_offset=self.reg_offset,
                                  down_ratio=self.down_ratio)
        boxes, scores, embeddings = self._usable(found.boxes, found.scores, found.embeddings)
        detections = self.association.detections_from(boxes, scores, embeddings)
        return {"tracks": self.output(self.association.update(detections))}

    def _usable(self, boxes: np.ndarray, scores: np.ndarray,
                embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The detections whose box is finite with a positive width and height. A box without
        area has no aspect ratio for the Kalman filter (the published tracker fails on it: an
        untrained or diverged network gives such boxes); they are dropped, counted in
        ``dropped_boxes`` and said once per sequence."""
        usable = np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        if usable.all():
            return boxes, scores, embeddings
        if self.dropped_boxes == 0:
            logger.warning("FairMOT: detections without area (or not finite) are dropped; %d in frame %d of this "
                           "sequence (the network's size head gives them: is it trained?)", int((~usable).sum()),
                           self.association.frame_id + 1)
        self.dropped_boxes += int((~usable).sum())
        return boxes[usable], scores[usable], embeddings[usable]

    def output(self, tracks: list[JDETrack]) -> np.ndarray:
        """(K, 6) ``[id, x, y, w, h, score]`` by id, of the tracks passing the output filter."""
        rows = []
        for track in tracks:
            box = track.box
            if self.aspect_ratio_thresh is not None and box[2] / box[3] > self.aspect_ratio_thresh:
                continue
            if self.min_box_area is not None and not box[2] * box[3] > self.min_box_area:
                continue
            rows.append([track.track_id, *box.tolist(), float(track.score)])
        rows.sort(key=lambda row: row[0])
        return np.array(rows, dtype=np.float64).reshape(-1, 6)
