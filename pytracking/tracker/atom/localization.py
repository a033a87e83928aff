"""Finding the target in the classifier's score maps, with ATOM's handling of distractors.

Positions here are score-map cells as (x, y) = (column, row) float tensors.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from pytracking.libs import dcf

NORMAL, NOT_FOUND, UNCERTAIN, HARD_NEGATIVE = "normal", "not_found", "uncertain", "hard_negative"


@dataclasses.dataclass(frozen=True)
class LocalizationParams:
    target_not_found_threshold: float = 0.25
    distractor_threshold: float = 0.8
    hard_negative_threshold: float = 0.5
    target_neighborhood_scale: float = 2.2
    displacement_scale: float = 0.8
    advanced: bool = True


@dataclasses.dataclass
class Localization:
    cell: torch.Tensor  # (2,) x, y of the chosen peak
    scale_index: int
    flag: str
    max_score: float


def _peak(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    values, rows_cols = dcf.max2d(scores)
    return values, rows_cols.flip(-1).to(torch.float32)


def localize(scores: torch.Tensor, previous_cell: torch.Tensor, target_size_cells: torch.Tensor,
             params: LocalizationParams = LocalizationParams()) -> Localization:
    """The target's cell in ``scores`` (scales, H, W).

    ``previous_cell`` (scales, 2): where the target was in each scale's map (the sample
    centre's offset from the previous position); ``target_size_cells`` (scales, 2): the
    target's size in cells. Flags: ``not_found`` (peak below the threshold), ``hard_negative``
    (a second peak outside the target's neighbourhood is strong), ``uncertain`` (two strong
    peaks and no way to tell them apart by how far each moved), else ``normal``."""
    max_scores, peaks = _peak(scores)
    scale = int(torch.argmax(max_scores))
    max1, peak1 = float(max_scores[scale]), peaks[scale]
    if not params.advanced:
        return Localization(peak1, scale, NORMAL, max1)
    if max1 < params.target_not_found_threshold:
        return Localization(peak1, scale, NOT_FOUND, max1)

    # Mask the target's neighbourhood and look for a second peak.
    height, width = scores.shape[-2:]
    half = 0.5 * params.target_neighborhood_scale * target_size_cells[scale]
    x0, x1 = max(int(round(float(peak1[0] - half[0]))), 0), min(int(round(float(peak1[0] + half[0]))) + 1, width)
    y0, y1 = max(int(round(float(peak1[1] - half[1]))), 0), min(int(round(float(peak1[1] + half[1]))) + 1, height)
    masked = scores[scale].clone()
    masked[y0:y1, x0:x1] = 0
    max2_value, peak2 = _peak(masked)
    max2 = float(max2_value)

    if max2 > params.distractor_threshold * max1:
        # Two strong peaks: prefer the one that moved little since the last frame.
        previous = previous_cell[scale]
        moved1 = float(torch.linalg.vector_norm(peak1 - previous))
        moved2 = float(torch.linalg.vector_norm(peak2 - previous))
        limit = params.displacement_scale * math.sqrt(height * width) / 2
        if moved2 > limit > moved1:
            return Localization(peak1, scale, HARD_NEGATIVE, max1)
        if moved1 > limit > moved2:
            return Localization(peak2, scale, HARD_NEGATIVE, max2)
        return Localization(peak1, scale, UNCERTAIN, max1)
    if max2 > params.hard_negative_threshold * max1 and max2 > params.target_not_found_threshold:
        return Localization(peak1, scale, HARD_NEGATIVE, max1)
    return Localization(peak1, scale, NORMAL, max1)
