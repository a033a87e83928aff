"""Fourier-domain helpers for score maps: FFTs of real signals, evaluation of a signal's
trigonometric interpolant on another grid (upsampling a score map), sub-pixel shifts.

Spectra are complex tensors in ``torch.fft.rfft2`` layout: (..., H, W // 2 + 1), rows holding all
frequencies and columns the non-negative ones. That layout cannot tell W = 2k from W = 2k + 1,
so the functions take ``signal_size`` (H, W); without it W is taken even, as irfft2 does.
Sizes and shifts are (rows, columns), as in tensor shapes.

The interpolant of a signal of even size N gives its Nyquist term half to frequency +N/2 and
half to -N/2 (a real cosine), so interpolation and shifts keep real signals real. The published
trackers' Fourier layout repeats the Nyquist row and column at both +N/2 and -N/2 instead,
doubling that term; :func:`sample_fs` reproduces it with ``nyquist="repeat"``.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch


def cfft2(signal: torch.Tensor) -> torch.Tensor:
    """Real (..., H, W) -> complex (..., H, W // 2 + 1), unnormalised (torch.fft.rfft2)."""
    if signal.is_complex():
        raise TypeError("cfft2 takes a real signal; use torch.fft.fft2 for complex ones")
    return torch.fft.rfft2(signal)


def cifft2(coefficients: torch.Tensor, signal_size: Sequence[int] | None = None) -> torch.Tensor:
    """Inverse of :func:`cfft2`: complex (..., H, W // 2 + 1) -> real (..., H, W)."""
    return torch.fft.irfft2(coefficients, s=_signal_size(coefficients, signal_size))


def _signal_size(coefficients: torch.Tensor, signal_size: Sequence[int] | None) -> tuple[int, int]:
    rows, columns = coefficients.shape[-2:]
    if signal_size is None:
        return rows, 2 * (columns - 1)
    height, width = (int(v) for v in signal_size)
    if height != rows or width // 2 + 1 != columns:
        raise ValueError(f"spectrum of shape {tuple(coefficients.shape[-2:])} does not belong to a signal of size "
                         f"{(height, width)} (expected ({height}, {width // 2 + 1}))")
    return height, width


def _full_spectrum(coefficients: torch.Tensor, width: int) -> torch.Tensor:
    """rfft2 layout -> full (..., H, W) spectrum, by the symmetry F[r, -k] = conj(F[-r, k])."""
    height = coefficients.shape[-2]
    negative_count = (width - 1) // 2
    if negative_count == 0:
        return coefficients
    flipped_rows = (-torch.arange(height, device=coefficients.device)) % height
    mirrored = coefficients.index_select(-2, flipped_rows)[..., 1:negative_count + 1].flip(-1).conj()
    return torch.cat((coefficients, mirrored), dim=-1)


NYQUIST_RULES = ("split", "repeat")


def _resample_dim(spectrum: torch.Tensor, dim: int, size: int, nyquist: str = "split") -> torch.Tensor:
    """The full spectrum along ``dim`` of a signal of length n -> that of its interpolant
    sampled at ``size`` points: each frequency goes to bin (frequency mod size), the even-n
    Nyquist term split in halves at +n/2 and -n/2 (zero-padding up, aliasing down), or with
    ``nyquist="repeat"`` put whole at both."""
    n = spectrum.shape[dim]
    if n == size:
        return spectrum
    nyquist_weight = 0.5 if nyquist == "split" else 1.0
    sources, targets, weights = [], [], []
    for index in range(n):
        if 2 * index < n:
            entries = [(index, 1.0)]
        elif 2 * index > n:
            entries = [(index - n, 1.0)]
        else:
            entries = [(index, nyquist_weight), (-index, nyquist_weight)]
        for frequency, weight in entries:
            sources.append(index)
            targets.append(frequency % size)
            weights.append(weight)
    device = spectrum.device
    shape = [1] * spectrum.dim()
    shape[dim] = len(weights)
    picked = spectrum.index_select(dim, torch.tensor(sources, device=device))
    picked = picked * torch.tensor(weights, dtype=spectrum.real.dtype, device=device).reshape(shape)
    out_shape = list(spectrum.shape)
    out_shape[dim] = size
    out = torch.zeros(out_shape, dtype=spectrum.dtype, device=device)
    return out.index_add_(dim, torch.tensor(targets, device=device), picked)


def sample_fs(coefficients: torch.Tensor, output_size: Sequence[int] | None = None,
              signal_size: Sequence[int] | None = None, *, nyquist: str = "split") -> torch.Tensor:
    """Evaluate the trigonometric interpolant of the signal whose :func:`cfft2` is
    ``coefficients`` on an (H', W') grid spanning the same period: output pixel (i, j) is the
    interpolant at signal position (i * H / H', j * W / W'). Values keep the signal's scale, so
    ``output_size == signal_size`` returns the signal itself. ``nyquist``: "split" (the
    interpolant) or "repeat" (the published trackers' layout, see the module). Returns real
    (..., H', W')."""
    if nyquist not in NYQUIST_RULES:
        raise ValueError(f"nyquist must be one of {', '.join(NYQUIST_RULES)}, got {nyquist!r}")
    height, width = _signal_size(coefficients, signal_size)
    out_h, out_w = (height, width) if output_size is None else (int(v) for v in output_size)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"output_size must be positive, got {output_size}")
    spectrum = _full_spectrum(coefficients, width)
    spectrum = _resample_dim(_resample_dim(spectrum, -2, out_h, nyquist), -1, out_w, nyquist)
    return torch.fft.ifft2(spectrum).real * (out_h * out_w / (height * width))


def _phase(n: int, length: int, shift: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Factors of a shift by ``shift`` samples for the first ``length`` bins of an n-point
    spectrum; the Nyquist bin gets cos(pi * shift), the shift of its real cosine."""
    frequency = torch.arange(length, dtype=torch.float64)
    frequency = torch.where(2 * frequency > n, frequency - n, frequency)
    phase = torch.polar(torch.ones_like(frequency), -2 * math.pi * frequency * shift / n)
    if n % 2 == 0 and n // 2 < length:
        phase[n // 2] = math.cos(math.pi * shift)
    return phase.to(device=device, dtype=dtype)


def shift_fs(coefficients: torch.Tensor, shift: Sequence[float], signal_size: Sequence[int] | None = None
             ) -> torch.Tensor:
    """The spectrum of the signal translated by ``shift`` = (rows, columns) samples (circularly,
    as ``torch.roll(signal, shift, dims=(-2, -1))`` for whole numbers; sub-sample shifts move
    its interpolant). ``coefficients`` (..., H, W // 2 + 1) in :func:`cfft2` layout."""
    height, width = _signal_size(coefficients, signal_size)
    dy, dx = (float(v) for v in shift)
    rows = _phase(height, height, dy, coefficients.dtype, coefficients.device)
    columns = _phase(width, width // 2 + 1, dx, coefficients.dtype, coefficients.device)
    return coefficients * rows.unsqueeze(-1) * columns
