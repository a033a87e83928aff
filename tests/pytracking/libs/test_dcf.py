"""Labels, windows and peaks, against hand-computed values."""

import math

import pytest
import torch

from pytracking.libs.dcf import hann1d, hann2d, hann2d_clipped, label_function_spatial, max2d


def test_label_peak_at_the_given_centre():
    label = label_function_spatial((5, 5), sigma=(1.0, 2.0), center=(1.0, -2.0))
    assert label.shape == (1, 1, 5, 5) and label.dtype == torch.float32
    # The middle of the grid is pixel (2, 2); the centre is one row down, two columns left.
    assert label[0, 0, 3, 0].item() == 1.0
    assert label[0, 0, 2, 0].item() == pytest.approx(math.exp(-0.5))
    assert label[0, 0, 3, 1].item() == pytest.approx(math.exp(-0.5 / 4))
    assert label[0, 0, 0, 4].item() == pytest.approx(math.exp(-0.5 * 9 - 0.5 * 16 / 4))


def test_even_sizes_and_sub_pixel_centres():
    label = label_function_spatial((5, 4), sigma=1.0)[0, 0]
    # Columns sit at -1.5 .. 1.5 from the middle: two equal maxima.
    assert label[2, 1] == label[2, 2] == pytest.approx(math.exp(-0.125))
    assert torch.equal(label, label.flip(0)) and torch.equal(label, label.flip(1))
    shifted = label_function_spatial((6, 6), sigma=1.0, center=(0.5, -1.0))[0, 0]
    # Row coordinate 0.5 is pixel 3; column -1.0 lies between pixels 1 and 2 (hence the symmetry).
    assert shifted.argmax().item() in (3 * 6 + 1, 3 * 6 + 2) and shifted[3, 1] == shifted[3, 2]


def test_end_pad_extends_the_grid_for_even_filters():
    # An 18 x 18 map scored by a 4 x 4 filter is 19 x 19; a centre of +0.5 lands on pixel 9.
    label = label_function_spatial((18, 18), sigma=(1.5, 1.5), center=(0.5, 0.5), end_pad=(1, 1))
    assert label.shape == (1, 1, 19, 19)
    assert label[0, 0, 9, 9].item() == 1.0
    assert torch.allclose(label[0, 0], label[0, 0].flip(0).flip(1))


def test_label_sums_to_the_gaussian_integral():
    label = label_function_spatial((41, 41), sigma=3.0, dtype=torch.float64)
    assert label.sum().item() == pytest.approx(2 * math.pi * 9, rel=1e-6)
    with pytest.raises(ValueError, match="sigma"):
        label_function_spatial((5, 5), sigma=0.0)


def test_hann_windows():
    torch.testing.assert_close(hann1d(3), torch.tensor([0.5, 1.0, 0.5]))
    assert hann1d(1).tolist() == [1.0]
    a, b = 0.5 * (1 - math.cos(2 * math.pi / 5)), 0.5 * (1 - math.cos(4 * math.pi / 5))
    torch.testing.assert_close(hann1d(4, dtype=torch.float64), torch.tensor([a, b, b, a], dtype=torch.float64))
    # The published window for maps centred at index 0: (1 + cos(2 pi d / 7)) / 2 at distance d.
    near, far = 0.5 * (1 + math.cos(2 * math.pi / 7)), 0.5 * (1 + math.cos(4 * math.pi / 7))
    torch.testing.assert_close(hann1d(5, centered=False), torch.tensor([1.0, near, far, far, near]))
    even = hann1d(6, centered=False, dtype=torch.float64)
    torch.testing.assert_close(even, torch.tensor([1.0] + [0.5 * (1 + math.cos(2 * math.pi * d / 8))
                                                           for d in (1, 2, 3, 2, 1)], dtype=torch.float64))
    window = hann2d((3, 5))
    assert window.shape == (1, 1, 3, 5)
    torch.testing.assert_close(window[0, 0], torch.outer(hann1d(3), hann1d(5)))
    assert window[0, 0, 1, 2].item() == 1.0 and window[0, 0, 0, 0].item() == pytest.approx(0.125)


def test_clipped_hann_window():
    window = hann2d_clipped((7, 8), (3, 5))[0, 0]
    assert window.shape == (7, 8)
    torch.testing.assert_close(window[2:5, 1:6], hann2d((3, 5))[0, 0])
    assert window.sum().item() == pytest.approx(hann2d((3, 5)).sum().item())
    # Larger than the map: clipped to it.
    torch.testing.assert_close(hann2d_clipped((4, 4), (9, 9)), hann2d((4, 4)))
    rolled = hann2d_clipped((7, 7), (3, 3), centered=False)[0, 0]
    assert rolled[0, 0].item() == 1.0 and rolled[1, 1].item() == 0.25 and rolled[2, 2].item() == 0.0


def test_max2d_batched():
    scores = torch.zeros(2, 3, 4, 5)
    scores[0, 0, 1, 3] = 2.0
    scores[0, 1, 3, 0] = 5.0
    scores[1, 2, 2, 4] = -1.0
    scores[1, 2] -= 3.0
    scores[0, 2, 0, 1] = scores[0, 2, 2, 2] = 1.0  # a tie: the first in row-major order
    values, positions = max2d(scores)
    assert values.shape == (2, 3) and positions.shape == (2, 3, 2) and positions.dtype == torch.long
    assert positions[0, 0].tolist() == [1, 3] and values[0, 0].item() == 2.0
    assert positions[0, 1].tolist() == [3, 0] and values[0, 1].item() == 5.0
    assert positions[0, 2].tolist() == [0, 1]
    assert positions[1, 2].tolist() == [0, 0] and values[1, 2].item() == -3.0
    value, position = max2d(torch.arange(12.0).reshape(3, 4))
    assert value.item() == 11.0 and position.tolist() == [2, 3]
