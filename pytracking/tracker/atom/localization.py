"""Finding the target in the classifier's score maps, with ATOM's handling of distractors, as
the published tracker does it.

The score maps are first interpolated in the Fourier domain onto the output grid (by default
one cell per sample pixel) and arranged so that the sample's centre, zero displacement, is cell
(H // 2, W // 2) (:func:`interpolate_scores`). Displacements here are output cells as (x, y)
float tensors, measured from that cell.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import torch

from pytracking.libs import dcf, fourier

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
    displacement: torch.Tensor  # (2,) x, y output cells of the chosen peak from the centre cell
    scale_index: int
    flag: str
    max_score: float


def interpolate_scores(scores: torch.Tensor, output_size: Sequence[int], filter_size: int,
                       window: torch.Tensor | None = None) -> torch.Tensor:
    """Score maps (N, H, W) of an even or odd filter -> (N, H', W') on the ``output_size``
    grid, zero displacement at cell (H' // 2, W' // 2).

    As published: the maps are shifted circularly so that the sample's centre comes to cell 0
    (by H / 2 cells for an even filter, whose cell H / 2 is the centre, by (H - 1) / 2 for an
    odd one), interpolated by their Fourier series with the Nyquist terms repeated
    (``fourier.sample_fs(..., nyquist="repeat")``), multiplied by ``window`` (a window for maps
    centred at cell 0, such as ``dcf.hann2d(size, centered=False)``) and rolled to put cell 0
    in the middle."""
    height, width = scores.shape[-2:]
    odd = filter_size % 2
    shift = [-(height - odd) / 2, -(width - odd) / 2]
    spectrum = fourier.shift_fs(fourier.cfft2(scores), shift, (height, width))
    resampled = fourier.sample_fs(spectrum, output_size, (height, width), nyquist="repeat")
    if window is not None:
        resampled = resampled * window
    return torch.roll(resampled, (resampled.shape[-2] // 2, resampled.shape[-1] // 2), dims=(-2, -1))


def _peak(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maxima of maps (..., H, W) and their displacements (..., 2) (x, y) from the centre cell,
    on the CPU."""
    values, rows_cols = dcf.max2d(scores)
    centre = torch.tensor([scores.shape[-1] // 2, scores.shape[-2] // 2])
    return values.cpu(), rows_cols.cpu().flip(-1).to(torch.float64) - centre


def localize(scores: torch.Tensor, neighbourhood: torch.Tensor,
             params: LocalizationParams = LocalizationParams()) -> Localization:
    """The target's displacement in ``scores`` (scales, H, W) from :func:`interpolate_scores`.

    ``neighbourhood`` (2,) (w, h): the region around the peak masked before looking for a
    second one, in output cells (target_neighborhood_scale times the target's size). Flags:
    ``not_found`` (peak below the threshold), ``hard_negative`` (a second peak outside the
    neighbourhood is strong), ``uncertain`` (two strong peaks that the distance each moved from
    the centre cannot tell apart), else ``normal``. Without ``advanced`` the highest peak of
    all scales is taken and the flag is ``normal``."""
    max_scores, displacements = _peak(scores)
    scale = int(torch.argmax(max_scores))
    max1, disp1 = float(max_scores[scale]), displacements[scale]
    if not params.advanced:
        return Localization(disp1, scale, NORMAL, max1)
    if max1 < params.target_not_found_threshold:
        return Localization(disp1, scale, NOT_FOUND, max1)

    # Mask the peak's neighbourhood (rounded as Python rounds, halves to even) and look again.
    height, width = scores.shape[-2:]
    row, column = float(disp1[1]) + height // 2, float(disp1[0]) + width // 2
    half_w, half_h = float(neighbourhood[0]) / 2, float(neighbourhood[1]) / 2
    top, bottom = max(round(row - half_h), 0), min(round(row + half_h + 1), height)
    left, right = max(round(column - half_w), 0), min(round(column + half_w + 1), width)
    masked = scores[scale].clone()
    masked[top:bottom, left:right] = 0
    max2_value, disp2 = _peak(masked)
    max2 = float(max2_value)

    if max2 > params.distractor_threshold * max1:
        # Two strong peaks: prefer the one that moved little from the last position.
        moved1, moved2 = float(torch.linalg.vector_norm(disp1)), float(torch.linalg.vector_norm(disp2))
        limit = params.displacement_scale * math.sqrt(height * width) / 2
        if moved2 > limit > moved1:
            return Localization(disp1, scale, HARD_NEGATIVE, max1)
        if moved1 > limit > moved2:
            return Localization(disp2, scale, HARD_NEGATIVE, max2)
        return Localization(disp1, scale, UNCERTAIN, max1)
    if max2 > params.hard_negative_threshold * max1 and max2 > params.target_not_found_threshold:
        return Localization(disp1, scale, HARD_NEGATIVE, max1)
    return Localization(disp1, scale, NORMAL, max1)
