"""mmdetection's training transforms (ltr.data.detection) on hand-derived numbers."""

import numpy as np
import pytest
import torch

from ltr.data.detection import (DetectionSamples, Normalize, Pad, PhotoMetricDistortion, RandomCrop, RandomFlip,
                                Resize, collate_detection, evaluation_pipeline, keep_ratio_size, new_sample,
                                train_pipeline)


class Scripted:
    """A generator stand-in returning scripted draws and recording the ranges asked for."""

    def __init__(self, integers=(), uniforms=(), randoms=(), permutation=(0, 1, 2)):
        self._integers, self._uniforms, self._randoms = list(integers), list(uniforms), list(randoms)
        self._permutation = np.array(permutation)
        self.asked = []

    def integers(self, low, high=None):
        self.asked.append(("integers", low, high))
        return self._integers.pop(0)

    def uniform(self, low, high):
        self.asked.append(("uniform", low, high))
        return self._uniforms.pop(0)

    def random(self):
        return self._randoms.pop(0)

    def permutation(self, n):
        return self._permutation


def full_hd(boxes):
    return new_sample(np.zeros((1080, 1920, 3), np.uint8), np.array(boxes, np.float32))


def test_resize_of_a_1920x1080_frame_at_ratio_0_8_and_1_2():
    # 0.8: scale int(1088 * 0.8) = 870; f = min(870 / 1920, 870 / 1080) = 0.453125;
    # (h, w) = (int(1080 f + 0.5), int(1920 f + 0.5)) = (int(489.875), int(870.5)) = (489, 870).
    sample = Resize(ratio_range=(0.8, 0.8))(full_hd([[100, 200, 300, 400], [1900, 1000, 2000, 1100]]),
                                            np.random.default_rng(0))
    assert sample["img"].shape == (489, 870, 3) and sample["img_shape"] == (489, 870)
    w_scale, h_scale = 870 / 1920, 489 / 1080
    assert sample["scale_factor"] == pytest.approx((w_scale, h_scale))
    np.testing.assert_allclose(sample["boxes"][0], [100 * w_scale, 200 * h_scale, 300 * w_scale, 400 * h_scale],
                               rtol=1e-6)
    # bbox_clip_border=False: a box over the border keeps its outside part.
    assert sample["boxes"][1, 2] == pytest.approx(2000 * w_scale) and sample["boxes"][1, 2] > 870
    # 1.2: scale int(1305.6) = 1305; f = 1305 / 1920 = 0.6796875; h = int(734.0625 + 0.5) = 734.
    sample = Resize(ratio_range=(1.2, 1.2))(full_hd([[0, 0, 10, 10]]), np.random.default_rng(0))
    assert sample["img_shape"] == (734, 1305)
    assert keep_ratio_size(1080, 1920, (1088, 1088)) == (612, 1088)  # the test scale


def test_resize_draws_the_ratio_uniformly_in_the_range():
    resize = Resize()
    rng = np.random.default_rng(3)
    scales = [resize.target_scale(rng)[0] for _ in range(300)]
    assert min(scales) >= int(1088 * 0.8) and max(scales) <= int(1088 * 1.2)
    assert max(scales) - min(scales) > 300  # spread over the range, not stuck


def test_random_crop_keeps_boxes_outside_the_crop_without_clipping():
    image = np.zeros((734, 1305, 3), np.float32)
    boxes = [[150, 10, 250, 60], [0, 0, 40, 40], [5, 5, 5, 9]]  # inside, left of the crop, degenerate
    sample = new_sample(image, np.array(boxes, np.float32), np.array([1, 1, 1]))
    # crop (min(1088, 734), min(1088, 1305)) = (734, 1088); offsets: top in 0..0, left in 0..217.
    rng = Scripted(integers=[0, 100])
    out = RandomCrop()(sample, rng)
    assert rng.asked == [("integers", 0, 1), ("integers", 0, 218)]
    assert out["img"].shape == (734, 1088, 3) and out["img_shape"] == (734, 1088)
    np.testing.assert_allclose(out["boxes"], [[50, 10, 150, 60], [-100, 0, -60, 40]])
    assert out["labels"].tolist() == [1, 1]
    # With clipping (not the MOT configs' setting) the box left of the crop would vanish.
    clipped = RandomCrop(clip_border=True)(new_sample(image, np.array(boxes, np.float32)), Scripted(integers=[0, 100]))
    np.testing.assert_allclose(clipped["boxes"], [[50, 10, 150, 60]])


def test_random_crop_refuses_an_image_without_boxes_unless_allowed():
    image = np.zeros((100, 1200, 3), np.float32)
    assert RandomCrop()(new_sample(image), Scripted(integers=[0, 5])) is None
    assert RandomCrop()(new_sample(image, [[3, 3, 3, 8]]), Scripted(integers=[0, 5])) is None  # only a degenerate one
    kept = RandomCrop(allow_negative_crop=True)(new_sample(image), Scripted(integers=[0, 5]))
    assert kept is not None and kept["img"].shape == (100, 1088, 3)


def test_flip_mirrors_boxes_in_the_current_width():
    sample = new_sample(np.arange(2 * 870 * 3, dtype=np.float32).reshape(2, 870, 3), [[45, 90, 135, 181]])
    out = RandomFlip(probability=0.5)(sample, Scripted(randoms=[0.2]))
    np.testing.assert_allclose(out["boxes"], [[870 - 135, 90, 870 - 45, 181]])
    assert out["flip"] and out["img"][0, 0, 0] == 3 * 869  # the last column came first
    unflipped = RandomFlip(probability=0.5)(new_sample(np.zeros((2, 8, 3)), [[1, 1, 3, 3]]), Scripted(randoms=[0.7]))
    np.testing.assert_allclose(unflipped["boxes"], [[1, 1, 3, 3]])


def test_normalize_and_pad_to_multiples_of_32():
    sample = new_sample(np.full((489, 870, 3), [123.675 + 58.395, 116.28, 103.53 - 57.375], np.float32))
    sample = Normalize()(sample, None)
    np.testing.assert_allclose(sample["img"][0, 0], [1.0, 0.0, -1.0], atol=1e-5)
    sample = Pad(size_divisor=32)(sample, None)
    assert sample["img"].shape == (512, 896, 3) and sample["pad_shape"] == (512, 896)
    assert sample["img_shape"] == (489, 870)  # the size before padding stays what the network is told
    assert np.all(sample["img"][489:] == 0) and np.all(sample["img"][:, 870:] == 0)
    assert Pad(size_divisor=32)(new_sample(np.zeros((734, 1088, 3))), None)["img"].shape == (736, 1088, 3)


RGB = np.array([[[200.0, 100.0, 50.0]]], np.float32)  # H 20 degrees, S 0.75, V 200


def photometric(rng, image=RGB):
    return PhotoMetricDistortion()(new_sample(image.copy()), rng)["img"][0, 0]


def test_photometric_brightness_first_with_its_range():
    # Draw order: brightness coin, delta, contrast-place coin (0: last), saturation coin, hue coin,
    # contrast coin, swap coin.
    rng = Scripted(integers=[1, 0, 0, 0, 0, 0], uniforms=[10.0])
    np.testing.assert_allclose(photometric(rng), [210, 110, 60], atol=1e-3)
    assert ("uniform", -32, 32) in rng.asked


def test_photometric_contrast_first_or_last():
    rng = Scripted(integers=[0, 1, 1, 0, 0, 0], uniforms=[1.5])  # contrast first, taken
    np.testing.assert_allclose(photometric(rng), [300, 150, 75], atol=1e-3)  # not clipped
    assert ("uniform", 0.5, 1.5) in rng.asked
    rng = Scripted(integers=[0, 0, 0, 0, 1, 0], uniforms=[0.5])  # contrast last, taken
    np.testing.assert_allclose(photometric(rng), [100, 50, 25], atol=1e-3)


def test_photometric_saturation_and_hue_by_hand():
    # S 0.75 * 0.5 = 0.375: min = V (1 - S) = 125; G = 125 + 75 * 20 / 60 = 150.
    rng = Scripted(integers=[0, 0, 1, 0, 0, 0], uniforms=[0.5])
    np.testing.assert_allclose(photometric(rng), [200, 150, 125], atol=1e-2)
    assert ("uniform", 0.5, 1.5) in rng.asked
    # H 20 + 18 = 38: G = 50 + 150 * 38 / 60 = 145.
    rng = Scripted(integers=[0, 0, 0, 1, 0, 0], uniforms=[18.0])
    np.testing.assert_allclose(photometric(rng), [200, 145, 50], atol=1e-2)
    assert ("uniform", -18, 18) in rng.asked
    # Wrapped: (200, 50, 80) has H = 360 - 60 * 30 / 150 = 348; + 18 = 366 -> 6: G = 50 + 150 * 6 / 60 = 65.
    rng = Scripted(integers=[0, 0, 0, 1, 0, 0], uniforms=[18.0])
    np.testing.assert_allclose(photometric(rng, np.array([[[200.0, 50.0, 80.0]]], np.float32)), [200, 65, 50],
                               atol=1e-2)


def test_photometric_channel_swap():
    rng = Scripted(integers=[0, 0, 0, 0, 0, 1], permutation=(2, 0, 1))
    np.testing.assert_allclose(photometric(rng), [50, 200, 100], atol=1e-3)


def test_photometric_values_stay_in_the_published_ranges_with_a_seeded_generator():
    # A grey pixel: saturation and hue leave it; brightness +-32 then contrast 0.5..1.5 at most.
    rng = np.random.default_rng(0)
    grey = np.full((1, 1, 3), 128, np.float32)
    values = np.array([PhotoMetricDistortion()(new_sample(grey.copy()), rng)["img"][0, 0, 0] for _ in range(400)])
    assert values.min() >= (128 - 32) * 0.5 - 1e-3 and values.max() <= (128 + 32) * 1.5 + 1e-3
    assert np.mean(values == 128) == pytest.approx(1 / 4, abs=0.06)  # no brightness (1/2), no contrast (1/2)


class TinySource:
    """Two images of boxes, in the CocoDetectionSet protocol."""

    def __init__(self, boxes):
        self.items = [type("Image", (), {"boxes": np.array(b, np.float32).reshape(-1, 4),
                                         "labels": np.ones(len(b), np.int64),
                                         "ignore_boxes": np.zeros((0, 4), np.float32)})() for b in boxes]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def read_image(self, index):
        return np.full((48 + 16 * index, 64, 3), 100, np.uint8)


def test_dataset_replaces_a_refused_image_and_batches_different_sizes():
    source = TinySource([[], [[4, 4, 20, 30]]])  # image 0 has no box: RandomCrop refuses it
    samples = DetectionSamples(source, train_pipeline(scale=(64, 64), ratio_range=(1.0, 1.0), crop_size=(64, 64),
                                                      photometric=False))
    samples.reseed(1)
    first = samples[0]
    assert first["boxes"].shape == (1, 4) and first["labels"].tolist() == [1]
    batch = collate_detection([samples[1], first,
                               DetectionSamples(source, evaluation_pipeline(scale=(32, 32)))[1]])
    assert batch["images"].shape[0] == 3 and batch["images"].shape[2] % 32 == 0
    assert batch["image_sizes"][2].tolist() == [32, 32]  # image 1 is 64x64: f = 32 / 64
    assert [b.shape[0] for b in batch["boxes"]] == [1, 1, 1]
    assert torch.all(batch["images"][2, :, 32:] == 0)


def test_dataset_shards_images_by_rank():
    source = TinySource([[[1, 1, 5, 5]]] * 5)
    assert DetectionSamples(source, evaluation_pipeline(), rank=1, world_size=2).indices.tolist() == [1, 3]
