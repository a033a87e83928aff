"""The tracker's patches are the training crops: sample_patch at a box centre with the training
side equals sample_target exactly."""

import math

import numpy as np
import pytest
import torch

from ltr.data.processing_utils import sample_target
from pytracking.features.preprocessing import (numpy_to_torch, patch_window, sample_patch, sample_patch_multiscale,
                                               sample_patch_whole_pixels, sample_patch_whole_pixels_multiscale,
                                               torch_to_numpy)


def generated_image(seed=0, size=(240, 320)):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    image[60:120, 100:180] = (250, 30, 30)  # a red block
    return image


def test_numpy_torch_round_trip():
    image = generated_image()
    tensor = numpy_to_torch(image)
    assert tensor.shape == (1, 3, 240, 320) and tensor.dtype == torch.float32
    assert tensor[0, :, 70, 110].tolist() == [250.0, 30.0, 30.0]
    back = torch_to_numpy(tensor)
    assert back.shape == (240, 320, 3) and np.array_equal(back, image.astype(np.float32))
    assert np.array_equal(torch_to_numpy(tensor[0]), back)
    with pytest.raises(ValueError, match="batch of 2"):
        torch_to_numpy(tensor.expand(2, -1, -1, -1))


@pytest.mark.parametrize("box", [(100.0, 60.0, 80.0, 60.0), (10.3, 200.7, 25.5, 31.2), (290.0, -5.0, 40.0, 12.0),
                                 (150.5, 100.25, 7.0, 9.0), (0.0, 0.0, 320.0, 240.0)])
def test_sample_patch_equals_sample_target(box):
    image = generated_image()
    x, y, w, h = box
    side = math.ceil(math.sqrt(w * h) * 5)
    patch, window = sample_patch(image, (x + w / 2, y + h / 2), side, 288)
    expected, factor = sample_target(image, box, 5, 288)
    assert patch.shape == (1, 3, 288, 288) and patch.dtype == torch.float32
    assert torch.equal(patch, numpy_to_torch(expected))
    assert window.side == side and window.resize_factor == factor
    # The box maps to the middle of the patch.
    mapped = window.map_box(torch.tensor(box, dtype=torch.float64))
    assert mapped[0] + mapped[2] / 2 == pytest.approx(144.0) and mapped[1] + mapped[3] / 2 == pytest.approx(144.0)


def test_fractional_side_and_tensor_input():
    image = generated_image(1)
    patch, window = sample_patch(image, (140.0, 90.0), 100.5, 64)
    assert window.side == 100.5 and window.x0 == pytest.approx(89.75) and window.resize_factor == 64 / 100.5
    from_tensor, _ = sample_patch(numpy_to_torch(image), (140.0, 90.0), 100.5, 64)
    # The uint8 crop is rounded, the float one is not.
    assert (from_tensor - patch).abs().max().item() <= 0.5 + 1e-3


def test_multiscale_patches():
    image = generated_image(2)
    patches, windows = sample_patch_multiscale(image, (160.0, 120.0), [0.5, 1.0, 2.0], 90, 72)
    assert patches.shape == (3, 3, 72, 72) and [w.side for w in windows] == [45.0, 90.0, 180.0]
    single, _ = sample_patch(image, (160.0, 120.0), 180, 72)
    assert torch.equal(patches[2:], single)


def test_bad_windows_are_refused():
    with pytest.raises(ValueError, match="side -3"):
        patch_window((10.0, 10.0), -3, 32)
    with pytest.raises(ValueError, match="finite"):
        patch_window((float("nan"), 10.0), 30, 32)


def index_image(height=12, width=14):
    """Channel 0 holds the column index, channel 1 the row index, channel 2 zero."""
    rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return np.stack([columns, rows, np.zeros_like(rows)], -1).astype(np.float32)


def test_whole_pixel_patch_by_hand():
    image = index_image()
    # x = 5.7 is pixel index 5.2, truncated to 5; y = 3.2 is index 2.7, truncated to 2. A side of
    # 4 spans trunc(5 - 1.5) = 3 .. trunc(5 + 3) = 8 (5 columns) and trunc(0.5) = 0 .. 5 (5 rows).
    patch = sample_patch_whole_pixels(image, (5.7, 3.2), 4.0, 4)
    assert patch.shape == (1, 3, 4, 4) and patch.dtype == torch.float32
    # 5 pixels resized to 4 (half-pixel centres): output j reads input 1.25 j + 0.125.
    expected = torch.tensor([0.125, 1.375, 2.625, 3.875])
    torch.testing.assert_close(patch[0, 0, 0], 3 + expected)
    torch.testing.assert_close(patch[0, 1, :, 0], expected)
    # An odd side spans exactly that many pixels and is not resampled.
    same = sample_patch_whole_pixels(image, (5.7, 3.2), 3.0, 3)
    assert same[0, 0, 0].tolist() == [4.0, 5.0, 6.0] and same[0, 1, :, 0].tolist() == [1.0, 2.0, 3.0]


def test_whole_pixel_patch_truncates_towards_zero_and_repeats_the_border():
    image = index_image()
    # x = -2.3 is pixel index -2.8: truncated to -2 (not floored to -3); columns -3 .. -1 repeat column 0.
    patch = sample_patch_whole_pixels(image, (-2.3, 1.5), 3.0, 3)
    assert patch[0, 0, 0].tolist() == [0.0, 0.0, 0.0]
    assert sample_patch_whole_pixels(image, (-3.6, 1.5), 3.0, 3)[0, 0, 0].tolist() == [0.0, 0.0, 0.0]
    beyond = sample_patch_whole_pixels(image, (40.0, 50.0), 3.0, 3)
    assert beyond[0, 0].unique().tolist() == [13.0] and beyond[0, 1].unique().tolist() == [11.0]


def test_whole_pixel_patch_subsamples_large_windows_first():
    image = index_image(40, 48)
    # side 16 to 4: df = trunc(4 - 0.1) = 3. Centre index (20, 10); 20 mod 3 = 2 and 10 mod 3 = 1:
    # every third column from 2 and row from 1; centre 6 and 3 there; round(16 / 3) = 5 pixels
    # from trunc(6 - 2) = 4 (columns 14 .. 26) and trunc(3 - 2) = 1 (rows 4 .. 16), resized to 4.
    patch = sample_patch_whole_pixels(image, (20.5, 10.5), 16.0, 4)
    steps = torch.tensor([0.125, 1.375, 2.625, 3.875]) * 3
    torch.testing.assert_close(patch[0, 0, 0], 14 + steps)
    torch.testing.assert_close(patch[0, 1, :, 0], 4 + steps)
    many = sample_patch_whole_pixels_multiscale(numpy_to_torch(image), (20.5, 10.5), [1.0, 4.0], 4.0, 4)
    assert many.shape == (2, 3, 4, 4) and torch.equal(many[1], patch[0])
    with pytest.raises(ValueError, match="positive side"):
        sample_patch_whole_pixels(image, (3.0, 3.0), 0.0, 4)


def test_whole_pixel_patch_of_an_array_equals_that_of_its_tensor():
    # An (H, W, 3) array is cut before it is converted: the same patch, bit for bit, as from the
    # frame converted whole, for windows inside, across and outside the image, with and without
    # subsampling and resizing.
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    tensor = numpy_to_torch(image)
    for _ in range(60):
        pos = (float(rng.uniform(-20, 84)), float(rng.uniform(-20, 68)))
        side, output = float(rng.uniform(3, 150)), int(rng.choice([16, 29, 32]))
        expected = sample_patch_whole_pixels(tensor, pos, side, output)
        got = sample_patch_whole_pixels(image, pos, side, output)
        assert got.shape == expected.shape == (1, 3, output, output) and torch.equal(got, expected)
    many = sample_patch_whole_pixels_multiscale(image, (30.5, 20.5), [1.0, 1.5, 3.0], 20.0, 16)
    assert torch.equal(many, sample_patch_whole_pixels_multiscale(tensor, (30.5, 20.5), [1.0, 1.5, 3.0], 20.0, 16))


def test_whole_pixel_patch_of_an_array_has_the_values_and_strides_of_the_indexed_copy():
    # The window is cut as a view (inside the image) or by clamped indices (across its border)
    # and converted before its permutation: the values and the strides (those of a permuted
    # (n, n, 3) array, which the backbone's convolutions see) of numpy_to_torch(image[rows][:, cols]).
    from pytracking.features.preprocessing import _whole_pixel_span

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    for _ in range(60):
        pos = (float(rng.uniform(-20, 84)), float(rng.uniform(-20, 68)))
        side = float(rng.choice([float(rng.uniform(3, 60)), 16.0, 32.0]))
        got = sample_patch_whole_pixels(image, pos, side, 16)
        # The published cut, written with the index arrays (df = 1 up to side 17.6 here; beyond
        # it the subsampled image).
        df = max(int(float(torch.tensor(side, dtype=torch.float32) / 16) - 0.1), 1)
        centre = [int(pos[1] - 0.5), int(pos[0] - 0.5)]
        offsets = [c % df for c in centre]
        sub = image[offsets[0]::df, offsets[1]::df]
        centre = [(c - o) // df for c, o in zip(centre, offsets)]
        size = max(int(torch.round(torch.tensor(side, dtype=torch.float32) / df)), 2)
        spans = [_whole_pixel_span(c, size) for c in centre]
        rows = np.clip(np.arange(*spans[0]), 0, sub.shape[0] - 1)
        columns = np.clip(np.arange(*spans[1]), 0, sub.shape[1] - 1)
        window = numpy_to_torch(sub[rows][:, columns])
        expected = (window.clone() if window.shape[-2:] == (16, 16) else
                    torch.nn.functional.interpolate(window, (16, 16), mode="bilinear", align_corners=False))
        assert torch.equal(got, expected) and got.stride() == expected.stride()
        one = sample_patch_whole_pixels_multiscale(image, pos, [1.0], side, 16)
        concatenated = torch.cat([expected])
        assert torch.equal(one, concatenated) and one.stride() == concatenated.stride()
