"""First-frame augmentations: content and mapped points agree, randomness repeats with a seed."""

import numpy as np
import pytest
import torch

from pytracking.features.augmentation import (Blur, FeatureDropout, FlipHorizontal, Identity, Rotate, Scale,
                                              Translation, augmentations_from_params, random_shift)


def dot_image(x, y, size=32, value=255.0):
    image = torch.zeros(1, 3, size, size)
    image[..., y, x] = value
    return image


def bright(image):
    """(x, y) of the brightest pixel."""
    flat = int(image[0, 0].argmax())
    return flat % image.shape[-1], flat // image.shape[-1]


def pixel_of(point):
    return tuple(int(v) for v in torch.floor(point).tolist())


def test_flip_twice_is_identity():
    image = torch.rand(2, 3, 17, 20, generator=torch.Generator().manual_seed(0))
    flip = FlipHorizontal()
    assert torch.equal(flip(flip(image)), image)
    assert not torch.equal(flip(image), image)
    assert bright(flip(dot_image(3, 5))) == (28, 5)
    assert pixel_of(flip.transform_point([3.5, 5.5], (32, 32))) == (28, 5)


@pytest.mark.parametrize("shift", [(3, -2), (-5, 4), (0, 0)])
def test_translation_moves_a_pixel_by_the_shift(shift):
    translate = Translation(shift)
    out = translate(dot_image(12, 14))
    assert out.shape == (1, 3, 32, 32)
    assert bright(out) == (12 + shift[0], 14 + shift[1])
    assert translate.transform_point([12.5, 14.5], (32, 32)).tolist() == [12.5 + shift[0], 14.5 + shift[1]]


def test_crop_to_output_keeps_the_centre_plus_shift():
    # A 64 x 64 patch cut to 32 x 32: the input centre (32, 32) goes to (16, 16) + shift.
    translate = Translation((4, -3), output_sz=32)
    out = translate(dot_image(32, 32, size=64))
    assert out.shape == (1, 3, 32, 32) and bright(out) == (20, 13)
    assert translate.transform_point([32.5, 32.5], (64, 64)).tolist() == [20.5, 13.5]
    # Smaller than the output: the border is repeated.
    grown = Identity(40)(torch.arange(4.0).view(1, 1, 1, 4).expand(1, 3, 4, 4))
    assert grown.shape == (1, 3, 40, 40) and grown[0, 0, 0, :19].eq(0).all() and grown[0, 0, 0, 21:].eq(3).all()


def test_blur_keeps_the_mean():
    image = torch.zeros(1, 3, 40, 40)
    image[..., 15:25, 12:20] = 200.0
    for sigma in (1.0, (2.0, 0.5)):
        blurred = Blur(sigma)(image)
        assert blurred.shape == image.shape
        assert blurred.mean().item() == pytest.approx(image.mean().item(), rel=1e-5)
        assert 0 < blurred[0, 0, 15, 12].item() < 200.0 and blurred[0, 0, 14, 12].item() > 0
    # sigma (x, y): a horizontal blur spreads along rows only.
    horizontal = Blur((2.0, 0.01))(dot_image(16, 16))
    assert horizontal[0, 0, 15].abs().max().item() < 1e-6 and horizontal[0, 0, 16, 14].item() > 0


def test_rotation():
    image = torch.rand(1, 3, 24, 30, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(Rotate(0)(image), image, atol=1e-4, rtol=0)
    # 90 degrees counter-clockwise (as displayed): the pixel right of the centre goes above it.
    rotate = Rotate(90)
    out = rotate(dot_image(26, 16))
    expected = rotate.transform_point([26.5, 16.5], (32, 32))
    torch.testing.assert_close(expected, torch.tensor([16.5, 5.5], dtype=torch.float64))
    assert bright(out) == pixel_of(expected) and out.max().item() == pytest.approx(255.0, rel=1e-4)
    shifted = Rotate(30, output_sz=24, shift=(2, 1))
    out = shifted(dot_image(20, 12, size=40, value=1.0).repeat(1, 1, 1, 1))
    x, y = shifted.transform_point([20.5, 12.5], (40, 40)).tolist()
    weights = out[0, 0]
    ys, xs = torch.meshgrid(torch.arange(24.0) + 0.5, torch.arange(24.0) + 0.5, indexing="ij")
    centroid = ((weights * xs).sum() / weights.sum()).item(), ((weights * ys).sum() / weights.sum()).item()
    assert centroid == pytest.approx((x, y), abs=0.05)


def test_scale_maps_the_target_centre():
    image = torch.zeros(1, 3, 40, 40)
    image[..., 8:14, 24:30] = 1.0  # centre (27, 11)
    # As published, the content is resized by 1 / factor: 40 / 0.8 = 50 pixels.
    scale = Scale(0.8, output_sz=40)
    assert scale.transformed_size((40, 40)) == (50, 50) and Scale(3.0).transformed_size((40, 41)) == (14, 15)
    out = scale(image)
    assert out.shape == (1, 3, 40, 40)
    ys, xs = torch.meshgrid(torch.arange(40.0) + 0.5, torch.arange(40.0) + 0.5, indexing="ij")
    weights = out[0, 0]
    centroid = ((weights * xs).sum() / weights.sum()).item(), ((weights * ys).sum() / weights.sum()).item()
    # (27, 11) is (7, -9) from the centre; magnified by 1.25: (28.75, 8.75).
    assert scale.transform_point([27.0, 11.0], (40, 40)).tolist() == pytest.approx([28.75, 8.75])
    assert centroid == pytest.approx((28.75, 8.75), abs=0.05)
    assert weights.sum().item() == pytest.approx(36 * 1.25 ** 2, rel=0.02)


def test_parameter_pairs_are_in_pytrackings_y_x_order():
    transforms, _ = augmentations_from_params(
        {"shift": [(5, -3)], "relativeshift": [(0.5, -0.25)], "blur": [(0.5, 2.0), 1.5]},
        sample_size=288, output_sz=288, rng=np.random.default_rng(0))
    # (dy, dx) = (5, -3); relative (0.5, -0.25) of half a sample: (72, -36) pixels.
    assert transforms[1].shift == (-3, 5) and transforms[2].shift == (-36, 72)
    # (sigma_y, sigma_x) = (0.5, 2): blurred more along rows (x) than columns (y).
    assert transforms[3].sigma == (2.0, 0.5) and transforms[4].sigma == (1.5, 1.5)
    moved = transforms[1](dot_image(100, 100, size=300))
    assert bright(moved) == (100 - 3 - 6, 100 + 5 - 6)
    with pytest.raises(ValueError, match="whole pixels"):
        augmentations_from_params({"shift": [(0.5, 1)]}, sample_size=288, output_sz=288, rng=np.random.default_rng())


def test_seeded_shifts_repeat():
    shifts = [random_shift(np.random.default_rng(7), 288, 1 / 3) for _ in range(2)]
    assert shifts[0] == shifts[1] and all(abs(v) <= 48 for v in shifts[0])
    params = {"fliplr": True, "rotate": [10, -10], "blur": [(2, 0.2)], "relativeshift": [(0.6, -0.6)],
              "dropout": (7, 0.2)}
    runs = [augmentations_from_params(params, sample_size=288, output_sz=288, rng=np.random.default_rng(seed),
                                      random_shift_factor=1 / 3) for seed in (3, 3, 4)]
    first, again, other = ([t.shift for t in transforms] for transforms, _ in runs)
    assert first == again and first != other
    transforms, dropout = runs[0]
    assert [type(t) for t in transforms] == [Identity, Translation, FlipHorizontal, Blur, Rotate, Rotate]
    # relativeshift (0.6, -0.6) is (dy, dx): 86 pixels down, 86 left.
    assert transforms[0].shift == (0, 0) and transforms[1].shift == (-86, 86)
    assert dropout.copies == 7 and dropout.p == 0.2
    with pytest.raises(ValueError, match="unknown augmentation"):
        augmentations_from_params({"flip": True}, sample_size=288, output_sz=288, rng=np.random.default_rng())


def test_feature_dropout():
    features = torch.rand(2, 16, 5, 5, generator=torch.Generator().manual_seed(2)) + 1
    dropout = FeatureDropout(0.25, copies=3)
    out = dropout(features, np.random.default_rng(0))
    assert out.shape == (6, 16, 5, 5)
    assert torch.equal(out, dropout(features, np.random.default_rng(0)))
    for copy in range(6):
        source = features[copy % 2]
        for channel in range(16):
            kept = out[copy, channel]
            assert kept.eq(0).all() or torch.allclose(kept, source[channel] / 0.75)
    dropped = out.flatten(2)[..., 0].eq(0).float().mean().item()
    assert 0.1 < dropped < 0.4


def test_bad_arguments():
    with pytest.raises(ValueError, match="whole pixels"):
        Translation((0.5, 1))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        Identity()(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="positive"):
        Blur(0.0)
