"""prepare_images: mmdet's keep-ratio rescale sizes and factors, bilinear resize, normalisation,
zero padding to a multiple of 32, tensor inputs, clear errors."""

import numpy as np
import pytest
import torch

from ltr.models.detection.inputs import MMDET_MEAN, MMDET_STD, prepare_images, rescale_size


def pixels(batch, image=0):
    """Undo the normalisation: (3, H, W) back in 0..255."""
    mean = torch.tensor(MMDET_MEAN).view(3, 1, 1)
    std = torch.tensor(MMDET_STD).view(3, 1, 1)
    return batch[image] * std + mean


@pytest.mark.parametrize("height, width, scale, expected", [
    (1080, 1920, (1088, 1088), (612, 1088)),   # s = 1088 / 1920; 1080 s + 0.5 = 612.5 -> 612
    (480, 640, (640, 640), (480, 640)),        # s = 1
    (50, 100, (1088, 1088), (544, 1088)),      # s = min(1088 / 100, 1088 / 50) = 10.88
    (333, 500, (1333, 800), (800, 1201)),      # s = min(1333 / 500, 800 / 333) = 800 / 333; 500 s = 1201.2
    (480, 640, (384, 384), (288, 384)),        # the tiny detector's scale: s = 0.6
])
def test_keep_ratio_sizes(height, width, scale, expected):
    assert rescale_size(height, width, scale) == expected


def test_without_keep_ratio_scale_is_width_height():
    assert rescale_size(1080, 1920, (800, 600), keep_ratio=False) == (600, 800)


def test_mot17_frame_is_resized_padded_and_reports_factors():
    image = np.full((1080, 1920, 3), 128, np.uint8)
    inputs = prepare_images([image])
    assert inputs.batch.shape == (1, 3, 640, 1088)  # 612 padded to 640
    assert inputs.image_sizes == [(612, 1088)]
    assert inputs.original_sizes == [(1080, 1920)]
    assert inputs.scale_factors[0] == pytest.approx((1088 / 1920, 612 / 1080))
    assert torch.all(inputs.batch[0, :, 612:, :] == 0)  # zero padding after normalisation
    expected = torch.tensor([(128 - MMDET_MEAN[c]) / MMDET_STD[c] for c in range(3)])
    assert torch.allclose(inputs.batch[0, :, :612, :], expected.view(3, 1, 1).expand(3, 612, 1088), atol=1e-6)


def test_normalisation_values():
    image = np.zeros((32, 32, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 200, 116, 0
    batch = prepare_images([image], scale=(32, 32)).batch
    # (200 - 123.675) / 58.395, (116 - 116.28) / 57.12, (0 - 103.53) / 57.375
    assert batch[0, :, 5, 5].tolist() == pytest.approx([1.307047, -0.004902, -1.804444], abs=1e-5)


def test_bilinear_halving_averages_pixel_pairs():
    # cv2 INTER_LINEAR at scale 0.5 samples at source x = 0.5 and 2.5: the mean of each pair.
    image = np.zeros((4, 4, 3), np.uint8)
    image[:, :, 0] = [0, 100, 200, 240]
    inputs = prepare_images([image], scale=(2, 2), size_divisor=1)
    assert inputs.image_sizes == [(2, 2)]
    assert pixels(inputs.batch)[0].tolist() == [pytest.approx([50, 220], abs=1e-4)] * 2


def test_batch_pads_to_the_largest_image():
    small = np.zeros((100, 200, 3), np.uint8)
    large = np.zeros((300, 400, 3), np.uint8)
    inputs = prepare_images([small, large], scale=(400, 400))
    assert inputs.image_sizes == [(200, 400), (300, 400)]
    assert inputs.batch.shape == (2, 3, 320, 416)
    assert torch.all(inputs.batch[0, :, 200:] == 0) and torch.all(inputs.batch[1, :, :, 400:] == 0)


def test_tensor_images_match_numpy_images():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)
    reference = prepare_images([image], scale=(64, 64)).batch
    as_uint8 = prepare_images([torch.from_numpy(image).permute(2, 0, 1)], scale=(64, 64)).batch
    assert torch.equal(as_uint8, reference)
    as_float = prepare_images([torch.from_numpy(image).permute(2, 0, 1).float()], scale=(64, 64)).batch
    assert torch.allclose(as_float, reference, atol=0.02)  # float images are resized unrounded


@pytest.mark.parametrize("bad, message", [
    (np.zeros((10, 10), np.uint8), "image 0"),
    (torch.zeros(10, 10, 3, dtype=torch.uint8), "image 0"),
    ("frame.jpg", "image 0"),
])
def test_bad_images_are_named(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        prepare_images([bad])


def test_a_single_image_must_be_wrapped():
    with pytest.raises(TypeError, match="sequence"):
        prepare_images(np.zeros((10, 10, 3), np.uint8))
