"""Scripted stand-ins for Tracktor's networks and input preparation, for the rule tests and the
conformance fixture: per-frame detections, a box head given as a function of the frame and the
boxes, embeddings given as a function of the frame and the boxes. Boxes handed to and returned
by them are ``[x0, y0, x1, y1]`` in network-input pixels, as the real networks take them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

Regress = Callable[[int, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
Embed = Callable[[int, torch.Tensor], torch.Tensor]


@dataclass
class Inputs:
    """What ``ltr.models.detection.inputs.prepare_images`` returns (the fields the tracker reads)."""

    batch: torch.Tensor
    image_sizes: list[tuple[int, int]]
    scale_factors: list[tuple[float, float]]
    original_sizes: list[tuple[int, int]]


def scripted_prepare(w_scale: float = 1.0, h_scale: float = 1.0):
    """A stand-in for ``prepare_images``: a fixed (w, h) scale factor; the batch is the image's
    channels, resized by nearest neighbour (its content matters only to camera motion)."""

    def prepare(images: Sequence[np.ndarray], *, scale, mean, std, device=None, **_) -> Inputs:
        image = np.asarray(images[0])
        height, width = image.shape[:2]
        new_h, new_w = max(1, int(round(height * h_scale))), max(1, int(round(width * w_scale)))
        rows = np.minimum((np.arange(new_h) / h_scale).astype(int), height - 1)
        cols = np.minimum((np.arange(new_w) / w_scale).astype(int), width - 1)
        batch = torch.as_tensor(image[rows][:, cols], dtype=torch.float32).permute(2, 0, 1)[None]
        return Inputs(batch.to(device or "cpu"), [(new_h, new_w)], [(w_scale, h_scale)], [(height, width)])

    return prepare


class ScriptedDetector:
    """``detections[frame]``: (boxes (N, 4), scores (N,)) in network-input pixels; ``regress(frame,
    boxes) -> (boxes, scores)``. Records the boxes the tracker hands to the box head."""

    normalize_mean = (0.0, 0.0, 0.0)
    normalize_std = (1.0, 1.0, 1.0)
    test_scale = (1088, 1088)

    def __init__(self, detections: Sequence[tuple[Sequence, Sequence]], regress: Regress | None = None):
        self.detections = [(torch.tensor(np.asarray(b, dtype=np.float32).reshape(-1, 4)),
                            torch.tensor(np.asarray(s, dtype=np.float32).reshape(-1))) for b, s in detections]
        self.regress = regress or (lambda frame, boxes: (boxes.clone(), torch.full((len(boxes),), 0.9)))
        self.frame = -1
        self.regressed: list[tuple[int, torch.Tensor]] = []

    def extract_features(self, batch: torch.Tensor) -> OrderedDict:
        self.frame += 1
        return OrderedDict(frame=torch.tensor(self.frame))

    def detect(self, features, image_sizes):
        boxes, scores = self.detections[self.frame] if self.frame < len(self.detections) else (
            torch.zeros((0, 4)), torch.zeros((0,)))
        return [(boxes.clone(), scores.clone())]

    def regress_boxes(self, features, boxes, image_sizes):
        self.regressed.append((self.frame, boxes[0].clone()))
        out_boxes, out_scores = self.regress(self.frame, boxes[0])
        return [(torch.as_tensor(out_boxes, dtype=torch.float32), torch.as_tensor(out_scores, dtype=torch.float32))]


class ScriptedReID:
    """``embed(frame, boxes) -> (N, D)``, the frame being the detector's current one."""

    def __init__(self, detector: ScriptedDetector, embed: Embed):
        self.detector = detector
        self.embed = embed
        self.calls: list[tuple[int, torch.Tensor]] = []

    def embed_boxes(self, batch: torch.Tensor, boxes: torch.Tensor, *, image_size=None) -> torch.Tensor:
        self.calls.append((self.detector.frame, boxes.clone()))
        return torch.as_tensor(self.embed(self.detector.frame, boxes), dtype=torch.float32)
