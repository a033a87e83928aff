import math
import pickle

import cv2
import numpy as np
import pytest
import torch

from ltr.data.boxes import box_iou
from ltr.data.image_loader import imread
from ltr.data.processing_utils import (RecycledArrays, crop_window, decode_reduction, extract_crop,
                                       sample_proposals, sample_target)
from ltr.dataset.synthetic.textures import photo_library


def rectangle_image(box, size=(200, 150)):
    image = np.zeros((size[1], size[0], 3), np.uint8)
    x, y, w, h = box
    image[y:y + h, x:x + w] = 255
    return image


@pytest.mark.parametrize("box,factor,out", [((60, 40, 30, 20), 3.0, 64), ((10, 100, 40, 30), 5.0, 128),
                                            ((150, 10, 45, 30), 2.0, 200)])
def test_mapped_box_covers_the_drawn_target(box, factor, out):
    image = rectangle_image(box)
    window = crop_window(torch.tensor(box, dtype=torch.float32), factor, out)
    assert window.side == math.ceil(math.sqrt(box[2] * box[3]) * factor)
    crop = extract_crop(image, window)
    assert crop.shape == (out, out, 3)
    mapped = window.map_box(torch.tensor(box, dtype=torch.float32))
    ys, xs = np.nonzero(crop[..., 0] > 127)
    drawn = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    x, y, w, h = mapped.tolist()
    np.testing.assert_allclose([x, y, x + w, y + h], drawn, atol=1.0)
    # The target sits in the middle of the crop, at sqrt(area) * resize factor.
    assert abs(x + w / 2 - out / 2) < 1e-4 and abs(y + h / 2 - out / 2) < 1e-4
    torch.testing.assert_close(window.unmap_box(mapped), torch.tensor(box, dtype=torch.float32))


def test_outside_the_image_repeats_the_border():
    image = np.zeros((50, 50, 3), np.uint8)
    image[:, -1] = (10, 20, 30)  # the right-most column
    crop, factor = sample_target(image, torch.tensor([40.0, 10, 10, 10]), 4.0, 40)
    assert factor == 1.0
    # The window spans x in [25, 65): everything right of the image repeats its last column.
    assert (crop[:, 30:] == (10, 20, 30)).all()


def test_bad_boxes_are_refused():
    for box in ([0, 0, 0, 5], [0, 0, float("nan"), 5], [0, 0, -3, 4]):
        with pytest.raises(ValueError, match="cannot crop"):
            crop_window(torch.tensor(box), 5.0, 288)


def test_reduced_decoding_matches_full_resolution(tmp_path):
    """Tolerance: on a 1280x720 photograph, crops from a frame decoded at 1/2, 1/4 or 1/8 of its
    size differ from the full-resolution crops by under 1.5 grey levels on average, and 99% of
    pixels by at most 6."""
    path = tmp_path / "frame.jpg"
    photo = photo_library()[2].image
    cv2.imwrite(str(path), cv2.resize(photo, (1280, 720)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    full = imread(path)
    generator = torch.Generator().manual_seed(0)
    reductions = set()
    for _ in range(60):
        box = torch.cat([torch.rand(2, generator=generator) * torch.tensor([1400.0, 800.0]) - 100,
                         torch.rand(2, generator=generator) * 500 + 30])
        window = crop_window(box, 5.0, 288)
        reduction = decode_reduction(window)
        if reduction == 1:
            continue
        reductions.add(reduction)
        reduced = imread(path, reduction)
        assert reduced.shape[:2] == (720 // reduction, 1280 // reduction)
        difference = np.abs(extract_crop(full, window).astype(float) - extract_crop(reduced, window, 1 / reduction))
        assert difference.mean() < 1.5 and np.percentile(difference, 99) <= 6
    assert reductions == {2, 4, 8}


def test_decode_reduction_follows_the_shrink():
    assert decode_reduction(crop_window([0, 0, 50, 50], 5.0, 288)) == 1  # 250 px -> 288
    assert decode_reduction(crop_window([0, 0, 120, 120], 5.0, 288)) == 2  # 600 px, 2.08x
    assert decode_reduction(crop_window([0, 0, 500, 500], 5.0, 288)) == 8  # 8.7x
    assert decode_reduction(crop_window([0, 0, 500, 500], 5.0, 288), image_size=(100, 80)) == 4


def test_proposals_follow_their_definition():
    box = torch.tensor([30.0, 40.0, 50.0, 20.0])
    rng = np.random.default_rng(1)
    proposals, iou = sample_proposals(box, 1000, [0.01, 0.05, 0.1, 0.2, 0.3], 0.1, rng=rng)
    assert proposals.shape == (1000, 4) and iou.shape == (1000,)
    torch.testing.assert_close(iou, box_iou(box, proposals))
    assert (iou > 0.1).float().mean() > 0.99 and (proposals[:, 2:] > 0).all()
    # The small sigma factor gives near-copies, the large ones spread out.
    assert (iou > 0.95).float().mean() > 0.1 and (iou < 0.6).float().mean() > 0.2
    again, _ = sample_proposals(box, 1000, [0.01, 0.05, 0.1, 0.2, 0.3], 0.1,
                                rng=np.random.default_rng(1))
    torch.testing.assert_close(proposals, again)
    tight, tight_iou = sample_proposals(box, 200, [0.01], 0.0, rng=rng)
    assert tight_iou.min() > 0.85


@pytest.mark.parametrize("box,scale", [((200.0, 120.0, 60.0, 40.0), 1.0), ((300.0, 150.0, 250.0, 200.0), 0.5),
                                       ((-30.0, 300.0, 120.0, 90.0), 0.25), ((700.0, 10.0, 90.0, 300.0), 0.5)])
def test_crop_from_a_decoded_region_equals_crop_from_the_whole_image(box, scale):
    from ltr.data.processing_utils import crop_region
    rng = np.random.default_rng(2)
    whole = cv2.GaussianBlur(rng.integers(0, 256, (int(480 * scale), int(800 * scale), 3), dtype=np.uint8), (5, 5), 2)
    window = crop_window(torch.tensor(box), 5.0, 128)
    x0, y0, x1, y1 = crop_region(window, scale)
    assert x0 % 16 == 0 and y0 % 16 == 0
    left, top = max(0, x0), max(0, y0)
    region = whole[top:max(top + 1, y1), left:max(left + 1, x1)]
    np.testing.assert_array_equal(extract_crop(region, window, scale, (left, top)), extract_crop(whole, window, scale))


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def test_recycled_arrays_are_handed_out_again_only_when_nothing_uses_them():
    pool = RecycledArrays(limit=4)
    first = pool.empty((4, 5, 3), np.uint8)
    assert first.shape == (4, 5, 3) and first.dtype == np.uint8
    kept = address(first)
    # Held by its name, then only by a numpy view, then only by a tensor made from that view.
    assert address(pool.empty((4, 5, 3), np.uint8)) != kept
    view = first[1:, ::2]
    del first
    assert address(pool.empty((4, 5, 3), np.uint8)) != kept
    tensor = torch.from_numpy(view).permute(2, 0, 1)
    del view
    assert address(pool.empty((4, 5, 3), np.uint8)) != kept
    del tensor
    # Nothing uses it any more: it is the first one handed out again.
    assert address(pool.empty((4, 5, 3), np.uint8)) == kept
    # Another type is another array.
    assert pool.empty((4, 5, 3), np.float32).dtype == np.float32


def test_recycled_arrays_keep_at_most_limit_per_shape_and_pickle_without_arrays():
    pool = RecycledArrays(limit=2)
    held = [pool.empty((4096,), np.uint8) for _ in range(4)]
    assert len({address(a) for a in held}) == 4
    kept = {address(a) for a in held[:2]}
    held = held[2:]  # the two arrays the pool keeps are free again
    assert {address(pool.empty((4096,), np.uint8)) for _ in range(2)} <= kept
    assert len(pickle.dumps(pool)) < 1000  # the arrays stay in this process
    copy = pickle.loads(pickle.dumps(pool))
    assert copy.limit == 2 and copy.empty((8,), np.uint8).shape == (8,)


@pytest.mark.parametrize("shape", [(90, 120, 3), (90, 120), (90, 120, 1), (90, 120, 4)])
def test_crop_into_a_recycled_array_equals_the_fresh_crop(shape):
    image = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    pool = RecycledArrays()
    for box, out in (((30, 20, 25, 18), 48), ((5, 60, 12, 10), 32), ((40, 30, 60, 50), 20)):
        window = crop_window(torch.tensor(box, dtype=torch.float32), 4.0, out)
        expected = extract_crop(image, window)
        for _ in range(2):
            crop = extract_crop(image, window, pool=pool)
            assert crop.shape == expected.shape and np.array_equal(crop, expected)
            assert any(np.shares_memory(crop, kept) for kept in pool._arrays[(expected.shape, "|u1")])
            del crop


def proposals_from_every_try(box, count, sigma_factors, min_iou, rng, max_tries=100):
    """Reference: every try's box and IoU worked out, then the first accepted one (or the last)."""
    x, y, w, h = (float(v) for v in box)
    factors = np.asarray(sigma_factors, np.float64)
    choice = rng.integers(len(factors), size=count)
    noise = rng.standard_normal((4, count, max_tries))
    shrink = rng.uniform(0.15, 0.5, (2, count, max_tries))
    sigma = factors[choice][:, None] * (0.9 ** np.arange(max_tries))[None] * np.sqrt(w * h)
    pw = w + noise[2] * sigma
    ph = h + noise[3] * sigma
    pw = np.where(pw <= 1, w * shrink[0], pw)
    ph = np.where(ph <= 1, h * shrink[1], ph)
    cx, cy = (x + 0.5 * w) + noise[0] * sigma, (y + 0.5 * h) + noise[1] * sigma
    boxes = np.stack([cx - 0.5 * pw, cy - 0.5 * ph, pw, ph], -1)
    iou = box_iou(np.array([x, y, w, h]), boxes)
    accepted = iou > min_iou
    first = np.where(accepted.any(1), accepted.argmax(1), max_tries - 1)
    return boxes[np.arange(count), first].astype(np.float32), iou[np.arange(count), first].astype(np.float32)


def test_proposals_worked_out_lazily_equal_those_from_every_try():
    # Later tries are worked out only for proposals with no accepted draw among the first
    # ones: the same boxes, IoUs and random stream as working out all 100 tries, including
    # proposals never accepted (high min_iou) and widths drawn below 1 pixel (tiny boxes).
    generator = np.random.default_rng(1)
    never_accepted = 0
    for case in range(300):
        box = torch.tensor([generator.uniform(-50, 300), generator.uniform(-50, 300),
                            generator.choice([0.5, 2.0, generator.uniform(1, 200)]),
                            generator.choice([0.8, 3.0, generator.uniform(1, 200)])])
        min_iou = float(generator.choice([0.0, 0.1, 0.5, 0.95]))
        count = int(generator.integers(1, 20))
        factors = [0.01, 0.05, 0.1, 0.2, 0.3] if case % 2 else [0.5, 1.0]
        lazy_rng, full_rng = np.random.default_rng(case), np.random.default_rng(case)
        proposals, iou = sample_proposals(box, count, factors, min_iou, rng=lazy_rng)
        expected_proposals, expected_iou = proposals_from_every_try(box, count, factors, min_iou, full_rng)
        assert np.array_equal(proposals.numpy(), expected_proposals) and np.array_equal(iou.numpy(), expected_iou)
        assert lazy_rng.random() == full_rng.random()
        never_accepted += int((iou <= min_iou).sum())
    assert never_accepted > 0
