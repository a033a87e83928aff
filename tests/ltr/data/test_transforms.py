import numpy as np
import torch

from ltr.data import transforms as tfm


def images(count=4, size=(20, 30)):
    generator = np.random.default_rng(0)
    return [generator.integers(0, 256, (size[0], size[1], 3), dtype=np.uint8) for _ in range(count)]


def test_grayscale_is_joint_or_per_image():
    transform = tfm.ToGrayscale(probability=0.5)
    joint_mixed = per_image_mixed = 0
    for seed in range(40):
        out, _ = transform(image=images(), joint=True, rng=np.random.default_rng(seed))
        grey = [bool((img[..., 0] == img[..., 1]).all()) for img in out]
        joint_mixed += len(set(grey)) > 1
        out, _ = transform(image=images(), joint=False, rng=np.random.default_rng(seed))
        grey = [bool((img[..., 0] == img[..., 1]).all()) for img in out]
        per_image_mixed += len(set(grey)) > 1
    assert joint_mixed == 0 and per_image_mixed > 10


def test_flip_moves_the_box_with_the_image():
    image = np.zeros((10, 20, 3), np.uint8)
    image[2:5, 3:8] = 200
    box = torch.tensor([3.0, 2.0, 5.0, 3.0])
    out, boxes = tfm.RandomHorizontalFlip(probability=1.0)(image=[image], bbox=[box])
    x, y, w, h = boxes[0].int().tolist()
    assert (out[0][y:y + h, x:x + w] == 200).all() and out[0].sum() == image.sum()
    assert boxes[0].tolist() == [12.0, 2.0, 5.0, 3.0]


def test_tensor_jitter_and_normalise():
    image = np.full((4, 5, 3), 100, np.uint8)
    jitter = tfm.ToTensorAndJitter(0.2)
    factors = set()
    for seed in range(20):
        out, _ = jitter(image=[image], joint=False, rng=np.random.default_rng(seed))
        assert out[0].shape == (3, 4, 5) and out[0].dtype == torch.float32
        factor = out[0][0, 0, 0].item() * 255 / 100
        assert 0.8 - 1e-6 <= factor <= 1.2 + 1e-6
        factors.add(round(factor, 4))
    assert len(factors) > 10
    pipeline = tfm.Transform(tfm.ToTensor(), tfm.Normalize(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)))
    out, _ = pipeline(image=[image])
    torch.testing.assert_close(out[0], torch.full((3, 4, 5), (100 / 255 - 0.5) / 0.25))


def test_blur_keeps_a_constant_image_and_smooths_an_edge():
    image = np.zeros((9, 9, 3), np.uint8)
    image[:, 5:] = 255
    out, _ = tfm.Blur(1.0)(image=[image, np.full((9, 9, 3), 77, np.uint8)])
    assert 0 < out[0][4, 4, 0] < 255 and (out[1] == 77).all()
    tensor_out, _ = tfm.Blur(1.0)(image=[torch.from_numpy(image.transpose(2, 0, 1)).float()])
    assert tensor_out[0].shape == (3, 9, 9) and 0 < tensor_out[0][0, 4, 4] < 255


def test_fused_jitter_and_normalize_equal_the_two_transforms_bit_for_bit():
    # One table look-up per image instead of five tensor passes: the same float32 values, the
    # same random draws, per image and joint, with boxes passed through.
    boxes = [torch.tensor([1.0, 2.0, 3.0, 4.0]) for _ in range(4)]
    for joint in (False, True):
        results = []
        for fuse in (True, False):
            transform = tfm.Transform(tfm.ToTensorAndJitter(0.3), tfm.Normalize(), fuse=fuse)
            generator = np.random.default_rng(11)
            out, out_boxes = transform(image=images(), bbox=boxes, joint=joint, rng=generator)
            results.append((out, out_boxes, generator.random()))
        (fused, fused_boxes, after_fused), (plain, plain_boxes, after_plain) = results
        assert all(a.dtype == torch.float32 and a.shape == (3, 20, 30) and torch.equal(a, b)
                   for a, b in zip(fused, plain))
        assert all(torch.equal(a, b) for a, b in zip(fused_boxes, plain_boxes))
        assert after_fused == after_plain  # the random stream advanced alike
    # Brightness factors above 1 saturate: the clamp happens before normalising.
    white = [np.full((2, 2, 3), 255, np.uint8)]
    out, _ = tfm.Transform(tfm.ToTensorAndJitter(0.0), tfm.Normalize())(image=white, rng=np.random.default_rng(0))
    expected = (1.0 - torch.tensor(tfm.IMAGENET_MEAN)) / torch.tensor(tfm.IMAGENET_STD)
    assert torch.allclose(out[0][:, 0, 0], expected)


def test_fusion_applies_only_to_uint8_images_before_normalize():
    # Tensors (already converted) and other orders run the transforms one by one.
    tensors = [torch.rand(3, 5, 6)]
    transform = tfm.Transform(tfm.ToTensorAndJitter(0.2), tfm.Normalize())
    assert not tfm._fusable(transform.transforms[0], transform.transforms[1], tensors)
    assert not tfm._fusable(tfm.Normalize(), tfm.ToTensorAndJitter(0.2), images())
    assert not tfm._fusable(tfm.ToTensorAndJitter(0.2, normalize=False), tfm.Normalize(), images())
    assert tfm._fusable(transform.transforms[0], transform.transforms[1], images())


def test_look_up_table_equals_the_tensor_operations_bit_for_bit():
    # The table is computed in numpy; each entry must be what the tensor transforms make of
    # that uint8 value, for any brightness factor (clamped ones included) and either scale.
    values = np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None], (1, 256, 3)).copy()
    normalize = tfm.Normalize()
    factors = np.concatenate([np.random.default_rng(2).uniform(0.7, 1.3, 300), [0.0, 1.0, 1.2, 2.5, 1 / 3]])
    for to_unit in (True, False):
        jitter = tfm.ToTensorAndJitter(0.3, normalize=to_unit)
        for factor in factors:
            expected = jitter.transform_image(values, float(factor))
            table = jitter.table(float(factor))
            assert table.dtype == np.float32 and np.array_equal(table, expected.reshape(3, 256).numpy())
            if to_unit:
                expected = normalize.transform_image(expected, None).reshape(3, 256).numpy()
                assert np.array_equal(jitter.table(float(factor), normalize), expected), factor
