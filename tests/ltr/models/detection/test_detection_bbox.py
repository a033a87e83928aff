"""mmdet 2.x box rules with hand-derived numbers: anchors (not rounded, given strides), valid
flags, delta coding (two-sided clamp, optional clipping), the max-IoU assigner (thresholds,
low-quality matches, ties), the random sampler, RoI level mapping at the boundaries and
RoIAlign with aligned=True."""

import math

import pytest
import torch

from ltr.models.detection.bbox import (AnchorGenerator, DeltaXYWHCoder, MultiLevelRoIAlign, assign_max_iou,
                                       map_roi_levels, sample_random)

R2 = math.sqrt(2)


def test_base_anchors_of_stride_4_are_not_rounded():
    generator = AnchorGenerator(strides=(4, 8), ratios=(0.5, 1.0, 2.0), scales=(8.0,))
    # base size 32; ratio 0.5 (h / w): w = 32 sqrt2 = 45.25, h = 32 / sqrt2 = 22.63
    expected = torch.tensor([[-16 * R2, -8 * R2, 16 * R2, 8 * R2],
                             [-16.0, -16.0, 16.0, 16.0],
                             [-8 * R2, -16 * R2, 8 * R2, 16 * R2]])
    assert torch.allclose(generator.base_anchors(0), expected, atol=1e-4)
    # torchvision rounds the same anchor to [-23, -11, 23, 11]
    assert generator.base_anchors(0)[0, 0] == pytest.approx(-22.6274, abs=1e-4)


def test_grid_anchors_are_shifted_by_the_given_stride_location_major():
    generator = AnchorGenerator(strides=(4, 64), ratios=(0.5, 1.0, 2.0), scales=(8.0,))
    level0, level1 = generator.grid_anchors([(3, 4), (1, 1)])
    assert level0.shape == (3 * 4 * 3, 4) and level1.shape == (3, 4)
    # location (y=1, x=2): shift (8, 4); its ratio-1 anchor is the 5th of the row-major grid
    index = (1 * 4 + 2) * 3 + 1
    assert level0[index].tolist() == [-8.0, -12.0, 24.0, 20.0]
    assert level1[1].tolist() == [-256.0, -256.0, 256.0, 256.0]  # stride 64 * scale 8 = 512


def test_valid_flags_follow_the_image_padded_size():
    generator = AnchorGenerator(strides=(8,), ratios=(1.0, 2.0), scales=(1.0,))
    (flags,) = generator.valid_flags([(4, 4)], (16, 24))  # valid rows ceil(16 / 8) = 2, columns 3
    grid = flags.view(4, 4, 2)
    assert grid[:2, :3].all() and not grid[2:].any() and not grid[:, 3].any()


def test_decode_one_delta_with_the_box_head_stds():
    coder = DeltaXYWHCoder(stds=(0.1, 0.1, 0.2, 0.2), clip_border=False)
    box = torch.tensor([[0.0, 0.0, 10.0, 20.0]])  # centre (5, 10), size 10 x 20
    delta = torch.tensor([[1.0, -1.0, 0.5, 0.0]])  # times stds: 0.1, -0.1, 0.1, 0
    # centre (5 + 10 * 0.1, 10 - 20 * 0.1) = (6, 8); size (10 e^0.1, 20) = (11.0517, 20)
    half = 5 * math.exp(0.1)
    expected = [6 - half, -2.0, 6 + half, 18.0]
    assert coder.decode(box, delta)[0].tolist() == pytest.approx(expected, abs=1e-5)
    clipping = DeltaXYWHCoder(stds=(0.1, 0.1, 0.2, 0.2), clip_border=True)
    assert clipping.decode(box, delta, max_shape=(15, 11))[0].tolist() == pytest.approx(
        [6 - half, 0.0, 11.0, 15.0], abs=1e-5)
    assert coder.encode(box, coder.decode(box, delta))[0].tolist() == pytest.approx([1.0, -1.0, 0.5, 0.0], abs=1e-5)


def test_decode_clamps_size_deltas_on_both_sides():
    coder = DeltaXYWHCoder(clip_border=False)
    box = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    shrunk = coder.decode(box, torch.tensor([[0.0, 0.0, -10.0, 0.0]]))[0]
    grown = coder.decode(box, torch.tensor([[0.0, 0.0, 10.0, 0.0]]))[0]
    # |log(16 / 1000)| = 4.1352: the width becomes 10 * 16 / 1000 = 0.16 (torchvision: 10 e^-10)
    assert (shrunk[2] - shrunk[0]).item() == pytest.approx(0.16, rel=1e-5)
    assert (grown[2] - grown[0]).item() == pytest.approx(625.0, rel=1e-5)


def test_decode_keeps_class_columns():
    coder = DeltaXYWHCoder(clip_border=False)
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    deltas = torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0]])
    assert coder.decode(boxes, deltas)[0].tolist() == pytest.approx([0, 0, 10, 10, 1, 0, 11, 10])
    assert coder.decode(boxes[:0], deltas[:0]).shape == (0, 8)


GTS = torch.tensor([[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0], [100.0, 100.0, 110.0, 110.0]])
BOXES = torch.tensor([[0.0, 0.0, 10.0, 10.0],       # IoU 1 with gt 0
                      [0.0, 0.0, 10.0, 5.0],        # IoU 0.5 with gt 0
                      [20.0, 20.0, 30.0, 30.0],     # IoU 0
                      [0.0, 0.0, 10.0, 8.0],        # IoU 0.8 with gt 0
                      [50.0, 50.0, 60.0, 55.0],     # IoU 0.5 with gt 1, its best
                      [100.0, 100.0, 110.0, 102.0]])  # IoU 0.2 with gt 2, its best


def test_rpn_assigner_with_low_quality_matches():
    assigned = assign_max_iou(BOXES, GTS, pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3, match_low_quality=True)
    # box 1 (0.5) is ignored; box 4 reaches gt 1 as its best (0.5 >= 0.3); gt 2's best 0.2 < 0.3
    assert assigned.tolist() == [1, -1, 0, 1, 2, 0]
    plain = assign_max_iou(BOXES, GTS, pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3, match_low_quality=False)
    assert plain.tolist() == [1, -1, 0, 1, -1, 0]


def test_rcnn_assigner_at_half_iou():
    assigned = assign_max_iou(BOXES, GTS, pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5, match_low_quality=False)
    assert assigned.tolist() == [1, 1, 0, 1, 2, 0]


def test_low_quality_tie_goes_to_the_later_ground_truth():
    gts = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0]])
    box = torch.tensor([[5.0, 0.0, 10.0, 10.0]])  # IoU 0.5 with both
    assert assign_max_iou(box, gts, pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                          match_low_quality=True).tolist() == [2]


def test_no_ground_truth_makes_everything_negative():
    assert assign_max_iou(BOXES, GTS[:0], pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                          match_low_quality=True).tolist() == [0] * 6


def test_random_sampler_caps_positives_and_fills_with_negatives():
    assigned = torch.cat([torch.ones(10, dtype=torch.long), torch.zeros(100, dtype=torch.long),
                          torch.full((5,), -1, dtype=torch.long)])
    positives, negatives = sample_random(assigned, num=16, pos_fraction=0.5, generator=torch.Generator().manual_seed(0))
    assert positives.numel() == 8 and negatives.numel() == 8
    assert (assigned[positives] == 1).all() and (assigned[negatives] == 0).all()
    assert positives.unique().numel() == 8
    few = assigned.clone()
    few[3:10] = 0
    positives, negatives = sample_random(few, num=16, pos_fraction=0.5)
    assert sorted(positives.tolist()) == [0, 1, 2] and negatives.numel() == 13


def square(side):
    return [0.0, 0.0, side, side]


def test_roi_levels_at_the_boundaries():
    boxes = torch.tensor([square(10), square(111.9), square(112), square(223.9), square(224), square(448),
                          square(2000), [0.0, 0.0, 56.0, 224.0]])  # the last: sqrt(56 * 224) = 112
    assert map_roi_levels(boxes, 4).tolist() == [0, 0, 1, 1, 2, 3, 3, 1]
    assert map_roi_levels(boxes, 4, finest_scale=28.0).tolist() == [0, 1, 2, 2, 3, 3, 3, 2]


def test_roi_align_is_aligned_with_adaptive_sampling():
    # values = the column index; RoI x 0..4 at stride 1 into 2 bins: with the half-pixel shift
    # the samples are at x = 0, 1 and 2, 3 -> 0.5 and 2.5 (aligned=False would give 1.0 and 3.0)
    feature = torch.arange(8.0).repeat(8, 1).view(1, 1, 8, 8)
    extractor = MultiLevelRoIAlign(strides=(1,), output_size=2)
    out = extractor([feature], torch.tensor([[0.0, 0.0, 0.0, 4.0, 4.0]]))
    assert out[0, 0].tolist() == [[0.5, 2.5], [0.5, 2.5]]


def test_rois_are_pooled_from_their_level():
    levels = [torch.full((1, 1, 64, 64), 1.0), torch.full((1, 1, 32, 32), 2.0), torch.full((1, 1, 16, 16), 3.0)]
    extractor = MultiLevelRoIAlign(strides=(4, 8, 16), output_size=7, finest_scale=56.0)
    rois = torch.tensor([[0.0, 0.0, 0.0, 56.0, 56.0], [0.0, 10.0, 10.0, 122.0, 122.0], [0.0, 0.0, 0.0, 250.0, 250.0]])
    out = extractor(levels, rois)
    assert out.shape == (3, 1, 7, 7)
    assert out.mean((1, 2, 3)).tolist() == pytest.approx([1.0, 2.0, 3.0])
