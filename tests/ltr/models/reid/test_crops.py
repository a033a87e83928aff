"""The two crop rules of mmtracking's ReID on hand-derived numbers: the tracker's crop_imgs on the
network input, and mot2reid's mmcv.imcrop on frames."""

import numpy as np
import pytest
import torch

from ltr.models.reid.crops import crop_frame, crop_network_input


def grid(height=6, width=8):
    """(1, 1, H, W) with value 10 * row + column."""
    rows = torch.arange(height, dtype=torch.float32)[:, None]
    columns = torch.arange(width, dtype=torch.float32)[None, :]
    return (10 * rows + columns)[None, None]


def test_coordinates_are_truncated_and_the_crop_is_exclusive():
    batch = grid()
    crops = crop_network_input(batch, torch.tensor([[1.7, 2.2, 5.9, 4.99]]), (2, 4))
    # int(1.7)=1, int(2.2)=2, int(5.9)=5, int(4.99)=4: rows 2..3, columns 1..4; same size: no resampling.
    assert torch.equal(crops[0, 0], torch.tensor([[21., 22, 23, 24], [31, 32, 33, 34]]))


def test_zero_width_and_height_become_one_pixel():
    batch = grid()
    column = crop_network_input(batch, torch.tensor([[3.2, 1.0, 3.9, 5.0]]), (4, 1))
    assert torch.equal(column[0, 0, :, 0], torch.tensor([13., 23, 33, 43]))  # x2 = x1 + 1 = 4
    point = crop_network_input(batch, torch.tensor([[2.5, 3.5, 2.5, 3.5]]), (1, 1))
    assert point.item() == 32.0


def test_clamped_to_the_image_inside_the_padding():
    batch = grid()
    crops = crop_network_input(batch, torch.tensor([[-5.0, -3.0, 100.0, 100.0]]), (5, 7), image_size=(5, 7))
    assert torch.equal(crops[0], batch[0, :, :5, :7])  # the padding (row 5, column 7) is never seen


def test_a_box_on_the_right_border_gives_the_last_column():
    batch = grid()
    crops = crop_network_input(batch, torch.tensor([[8.0, 0.0, 9.0, 6.0]]), (6, 1))
    # clamped to x1 = x2 = 8 = w: published, the empty slice 8:9 (an error); here column 7.
    assert torch.equal(crops[0, 0, :, 0], batch[0, 0, :, 7])


def test_bilinear_resize_without_aligned_corners():
    batch = torch.tensor([[[[0.0, 10.0]]]])
    crops = crop_network_input(batch, torch.tensor([[0.0, 0.0, 2.0, 1.0]]), (1, 4))
    # source x = (i + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    assert torch.allclose(crops[0, 0, 0], torch.tensor([0.0, 2.5, 7.5, 10.0]))


def test_no_boxes_and_inverted_boxes():
    batch = grid()
    assert crop_network_input(batch, torch.zeros((0, 4)), (4, 2)).shape == (0, 1, 4, 2)
    with pytest.raises(ValueError, match=r"inverted"):
        crop_network_input(batch, torch.tensor([[5.0, 1.0, 2.0, 4.0]]), (4, 2))


@pytest.mark.parametrize("box, rows, columns", [
    ([2.7, 1.2, 4.6, 3.9], (1, 6), (2, 8)),      # [2.7, 1.2, 7.3, 5.1] -> [2, 1, 7, 5], corners inclusive
    ([-3.5, -1.0, 5.0, 4.0], (0, 4), (0, 2)),    # [-3.5, -1, 1.5, 3] -> [-3, -1, 1, 3] -> clipped [0, 0, 1, 3]
    ([10.0, 8.0, 5.0, 5.0], (8, 10), (10, 12)),  # [10, 8, 15, 13] -> clipped to [10, 8, 11, 9]
])
def test_frame_crops_follow_mmcv_imcrop(box, rows, columns):
    image = np.arange(10 * 12 * 3, dtype=np.int32).reshape(10, 12, 3)
    np.testing.assert_array_equal(crop_frame(image, box), image[rows[0]:rows[1], columns[0]:columns[1]])
