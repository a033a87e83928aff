"""Fourier interpolation and shifts of score maps, against analytic band-limited signals."""

import math

import pytest
import torch

from pytracking.libs.fourier import cfft2, cifft2, sample_fs, shift_fs


def band_limited(y, x):
    """A real signal of period 1 in y and x with frequencies below 3 per period on both axes."""
    return (1 + torch.cos(2 * math.pi * 2 * y) + 0.5 * torch.sin(2 * math.pi * (x - 2 * y))
            + 0.3 * torch.cos(2 * math.pi * (2 * x + 0.1)))


def grid(height, width):
    return torch.meshgrid(torch.arange(height, dtype=torch.float64) / height,
                          torch.arange(width, dtype=torch.float64) / width, indexing="ij")


@pytest.mark.parametrize("coarse,fine", [((8, 9), (24, 27)), ((9, 8), (20, 33)), ((7, 7), (5, 6)),
                                         ((6, 6), (6, 6))])
def test_sample_fs_reproduces_the_analytic_signal(coarse, fine):
    signal = band_limited(*grid(*coarse))
    resampled = sample_fs(cfft2(signal), fine, signal_size=coarse)
    assert resampled.shape == fine and resampled.dtype == torch.float64
    torch.testing.assert_close(resampled, band_limited(*grid(*fine)), atol=1e-12, rtol=0)


def test_sample_fs_splits_the_nyquist_term():
    # cos(pi n) on 8 samples interpolates as cos(pi t): 1, 0, -1, 0, ... at half steps.
    row = torch.cos(math.pi * torch.arange(8, dtype=torch.float64))
    up = sample_fs(cfft2(row.expand(4, 8)), (4, 16))
    torch.testing.assert_close(up[2], torch.cos(math.pi * torch.arange(16, dtype=torch.float64) / 2),
                               atol=1e-12, rtol=0)


def test_sample_fs_can_repeat_the_nyquist_term_as_published():
    # The published layout puts the Nyquist coefficient of (-1)^n whole at +N/2 and -N/2: the
    # interpolant is 2 cos(pi t), twice the signal at the samples, 0 half-way.
    row = torch.cos(math.pi * torch.arange(8, dtype=torch.float64))
    up = sample_fs(cfft2(row.expand(4, 8)), (4, 16), nyquist="repeat")
    torch.testing.assert_close(up[1], 2 * torch.cos(math.pi * torch.arange(16, dtype=torch.float64) / 2),
                               atol=1e-12, rtol=0)
    # Terms below the Nyquist frequency are interpolated as ever.
    signal = band_limited(*grid(8, 9))
    torch.testing.assert_close(sample_fs(cfft2(signal), (24, 27), (8, 9), nyquist="repeat"),
                               band_limited(*grid(24, 27)), atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="nyquist"):
        sample_fs(cfft2(signal), (24, 27), (8, 9), nyquist="double")


def test_identity_round_trip_and_batch():
    signal = torch.randn(2, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    spectrum = cfft2(signal)
    assert spectrum.shape == (2, 3, 6, 4) and spectrum.is_complex()
    torch.testing.assert_close(cifft2(spectrum, (6, 7)), signal, atol=1e-5, rtol=0)
    torch.testing.assert_close(sample_fs(spectrum, (6, 7), signal_size=(6, 7)), signal, atol=1e-5, rtol=0)
    torch.testing.assert_close(sample_fs(spectrum, signal_size=(6, 7)), signal, atol=1e-5, rtol=0)


@pytest.mark.parametrize("size,shift", [((6, 7), (2, -3)), ((5, 8), (-1, 4)), ((9, 9), (0, 0))])
def test_integer_shift_equals_roll(size, shift):
    signal = torch.randn(2, *size, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    shifted = cifft2(shift_fs(cfft2(signal), shift, signal_size=size), size)
    torch.testing.assert_close(shifted, torch.roll(signal, shift, dims=(-2, -1)), atol=1e-12, rtol=0)


def test_sub_pixel_shift_moves_the_interpolant():
    height, width = 8, 10
    y, x = grid(height, width)
    signal = band_limited(y, x)
    dy, dx = 0.5, -1.25
    shifted = cifft2(shift_fs(cfft2(signal), (dy, dx), signal_size=(height, width)), (height, width))
    torch.testing.assert_close(shifted, band_limited(y - dy / height, x - dx / width), atol=1e-12, rtol=0)


def test_wrong_signal_size_is_refused():
    with pytest.raises(ValueError, match=r"signal of size \(6, 9\)"):
        sample_fs(cfft2(torch.zeros(6, 7)), (12, 14), signal_size=(6, 9))
    with pytest.raises(TypeError, match="real signal"):
        cfft2(torch.zeros(3, 3, dtype=torch.complex64))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    signal = torch.randn(2, 7, 8, generator=torch.Generator().manual_seed(2))
    spectrum = shift_fs(cfft2(signal), (0.5, -1.5), (7, 8))
    expected = sample_fs(spectrum, (21, 32), (7, 8))
    torch.testing.assert_close(sample_fs(spectrum.cuda(), (21, 32), (7, 8)).cpu(), expected, atol=1e-5, rtol=0)
