"""Box layouts and IoU (ltr.data.boxes), on numpy and torch, single and batched."""

import numpy as np
import pytest
import torch

from ltr.data import boxes as B

# [x, y, w, h] = [10, 20, 4, 6] by hand:
XYWH = [10.0, 20.0, 4.0, 6.0]
XYXY = [10.0, 20.0, 14.0, 26.0]  # x + w, y + h
CXCYWH = [12.0, 23.0, 4.0, 6.0]  # x + w / 2, y + h / 2
PIXEL_CXCYWH = [11.5, 22.5, 4.0, 6.0]  # x + (w - 1) / 2: pixels 10..13 have their middle at 11.5

CONVERSIONS = [
    (B.xywh_to_xyxy, XYWH, XYXY),
    (B.xyxy_to_xywh, XYXY, XYWH),
    (B.xywh_to_cxcywh, XYWH, CXCYWH),
    (B.cxcywh_to_xywh, CXCYWH, XYWH),
    (B.cxcywh_to_xyxy, CXCYWH, XYXY),
    (B.xyxy_to_cxcywh, XYXY, CXCYWH),
    (B.xywh_to_pixel_cxcywh, XYWH, PIXEL_CXCYWH),
    (B.pixel_cxcywh_to_xywh, PIXEL_CXCYWH, XYWH),
]


def as_type(values, kind, dtype="float64"):
    array = np.array(values, dtype=dtype)
    return torch.from_numpy(array) if kind == "torch" else array


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("convert, source, expected", CONVERSIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_conversion_by_hand(convert, source, expected, kind):
    out = convert(as_type(source, kind))
    assert type(out) is type(as_type(source, kind))
    assert out.tolist() == expected


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("convert, source, expected", CONVERSIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_conversion_batched_over_leading_dimensions(convert, source, expected, kind):
    # (2, 3, 4): the same box moved by k pixels in x and y (both corners move in xyxy).
    def moved(values):
        mask = np.ones(4) if values is XYXY else np.array([1.0, 1.0, 0.0, 0.0])
        return np.array(values) + np.arange(6, dtype=np.float64).reshape(2, 3, 1) * mask

    out = convert(as_type(moved(source), kind))
    assert tuple(out.shape) == (2, 3, 4)
    np.testing.assert_array_equal(np.asarray(out), moved(expected))


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("there, back", [(B.xywh_to_xyxy, B.xyxy_to_xywh), (B.xywh_to_cxcywh, B.cxcywh_to_xywh),
                                         (B.xywh_to_pixel_cxcywh, B.pixel_cxcywh_to_xywh)])
def test_round_trips(there, back, kind):
    rng = np.random.default_rng(0)
    boxes = np.concatenate([rng.uniform(-50, 50, (5, 7, 2)), rng.uniform(1, 40, (5, 7, 2))], -1)
    # Dyadic values (multiples of 1/8) so each direction is exact in float32 and float64.
    boxes = np.round(boxes * 8) / 8
    for dtype in ("float32", "float64"):
        original = as_type(boxes, kind, dtype)
        np.testing.assert_array_equal(np.asarray(back(there(original))), np.asarray(original))


def test_dtype_and_operation_order_are_kept():
    """float32 stays float32, and the pixel-index centre is x + (w - 1) / 2 in that order (the
    published trackers' float32 arithmetic), not x + w / 2 - 0.5."""
    box = torch.tensor([0.1, 0.2, 3.3, 7.7], dtype=torch.float32)
    out = B.xywh_to_pixel_cxcywh(box)
    assert out.dtype == torch.float32
    assert out[0] == box[0] + (box[2] - 1) / 2
    assert out[1] == box[1] + (box[3] - 1) / 2
    assert B.pixel_cxcywh_to_xywh(out)[0] == out[0] - (box[2] - 1) / 2


@pytest.mark.parametrize("kind", ["float", "numpy", "torch"])
def test_point_helpers(kind):
    wrap = (lambda v: v) if kind == "float" else (lambda v: as_type(v, kind))
    assert float(B.centre_from_corner(wrap(10.0), wrap(4.0))) == 12.0
    assert float(B.corner_from_centre(wrap(12.0), wrap(4.0))) == 10.0
    assert float(B.pixel_centre_from_corner(wrap(10.0), wrap(4.0))) == 11.5
    assert float(B.corner_from_pixel_centre(wrap(11.5), wrap(4.0))) == 10.0


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_iou_by_hand(kind):
    a = as_type([0.0, 0.0, 10.0, 10.0], kind)
    others = as_type([[0.0, 0.0, 10.0, 10.0],    # the same box: 1
                      [5.0, 0.0, 10.0, 10.0],    # half overlapping: 50 / 150
                      [0.0, 0.0, 5.0, 5.0],      # inside: 25 / 100
                      [20.0, 20.0, 5.0, 5.0],    # apart: 0
                      [10.0, 0.0, 5.0, 10.0]], kind)  # touching: 0
    iou = B.box_iou(a, others)
    assert tuple(iou.shape) == (5,)
    np.testing.assert_allclose(np.asarray(iou), [1.0, 50 / 150, 0.25, 0.0, 0.0], rtol=1e-12)
    # Broadcast (3, 1, 4) against (5, 4) -> (3, 5), symmetric.
    table = B.box_iou(others[:3, None], others)
    assert tuple(table.shape) == (3, 5)
    np.testing.assert_allclose(np.asarray(table[0]), np.asarray(iou), rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(table), np.asarray(B.box_iou(others[:, None], others[:3])).T)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_iou_of_empty_boxes_is_zero(kind):
    empty = as_type([3.0, 3.0, 0.0, 0.0], kind)
    assert float(B.box_iou(empty, empty)) == 0.0


def test_iou_of_integer_arrays():
    assert float(B.box_iou(np.array([0, 0, 2, 2]), np.array([1, 0, 2, 2]))) == pytest.approx(2 / 6)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_box_is_valid(kind):
    boxes = as_type([[0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 1, -1], [np.nan, 0, 1, 1], [0, np.inf, 1, 1]], kind)
    assert np.asarray(B.box_is_valid(boxes)).tolist() == [True, False, False, False, False]


def test_xyxy_to_cxcywh_mean_takes_the_corners_mean():
    boxes = np.array([[10.0, 20.0, 30.0, 60.0], [0.1, 0.2, 0.7, 0.3]])
    out = B.xyxy_to_cxcywh_mean(boxes)
    assert out[0].tolist() == [20.0, 40.0, 20.0, 40.0]
    assert out[1, 0] == (0.1 + 0.7) / 2 and out[1, 3] == 0.3 - 0.2  # FairMOT's float arithmetic
    np.testing.assert_allclose(out, B.xyxy_to_cxcywh(boxes), rtol=0, atol=1e-15)
