"""Debug output that needs no display or server: with ``params.debug >= 1`` each frame's
localisation is logged; with ``debug >= 2`` and ``params.debug_dir`` set, each frame is saved as
a PNG with the box drawn and the score map beside it."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import torch

from ltr.data.boxes import xywh_to_xyxy
logger = logging.getLogger(__name__)


class DebugWriter:
    def __init__(self, level: int, folder: str | Path | None):
        self.level = int(level or 0)
        self.folder = Path(folder) if folder else None
        if self.level >= 2 and self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    def frame(self, number: int, image: np.ndarray, box: list[float], scores: torch.Tensor, found) -> None:
        if self.level <= 0:
            return
        logger.info("frame %d: %s, max score %.3f, box %s", number, found.flag, found.max_score,
                    [round(v, 1) for v in box])
        if self.level < 2 or self.folder is None:
            return
        canvas = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
        x0, y0, x1, y1 = xywh_to_xyxy(np.array([int(round(v)) for v in box])).tolist()
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (0, 255, 0), 2)
        score_map = scores.detach().float().cpu().numpy()
        low, high = float(score_map.min()), float(score_map.max())
        score_map = ((score_map - low) / max(high - low, 1e-9) * 255).astype(np.uint8)
        side = canvas.shape[0]
        heat = cv2.applyColorMap(cv2.resize(score_map, (side, side), interpolation=cv2.INTER_NEAREST),
                                 cv2.COLORMAP_JET)
        path = self.folder / f"{number:05d}.png"
        temporary = path.with_suffix(".tmp.png")
        cv2.imwrite(str(temporary), np.concatenate([canvas, heat], axis=1))
        temporary.replace(path)
