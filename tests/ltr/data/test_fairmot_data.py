"""FairMOT's training samples (jde.py LoadImagesAndLabels / JointDataset, CenterNet's
gaussian_radius and draw_umich_gaussian) checked rule by rule against hand-derived numbers."""

import math

import cv2
import numpy as np
import pytest
import torch

from ltr.data.fairmot import (FairMOTSamples, augment_hsv, draw_umich_gaussian, fairmot_targets, flip_boxes,
                              gaussian_radius, letterbox, letterbox_boxes, letterbox_geometry, random_affine)


class ScriptedRng:
    """A generator whose random() returns the given values in turn."""

    def __init__(self, *values):
        self.values = list(values)

    def random(self):
        return self.values.pop(0)


def test_letterbox_of_a_full_hd_frame():
    # ratio = min(608 / 1080, 1088 / 1920) = 608 / 1080; 1920 * ratio = 1080.89 -> 1081 wide, 608 high;
    # dw = (1088 - 1081) / 2 = 3.5: left round(3.4) = 3, right round(3.6) = 4
    geometry = letterbox_geometry(1080, 1920)
    assert geometry.ratio == pytest.approx(608 / 1080)
    assert (geometry.new_width, geometry.new_height) == (1081, 608)
    assert (geometry.pad_w, geometry.pad_h) == (3.5, 0.0)
    assert (geometry.left, geometry.right, geometry.top, geometry.bottom) == (3, 4, 0, 0)
    image, _ = letterbox(np.zeros((1080, 1920, 3), np.uint8))
    assert image.shape == (608, 1088, 3)
    assert image[0, :3].tolist() == [[128] * 3] * 3 and image[0, 3].tolist() == [0, 0, 0]  # colour 127.5
    assert image[0, -4:].tolist() == [[128] * 3] * 4 and image[0, -5].tolist() == [0, 0, 0]
    # a box moves by ratio and the unrounded dw
    box = letterbox_boxes(np.array([[100.0, 54.0, 192.0, 108.0]]), geometry)[0]
    assert box.tolist() == pytest.approx([100 * 608 / 1080 + 3.5, 54 * 608 / 1080, 192 * 608 / 1080, 60.8])


def test_letterbox_of_a_four_by_three_frame_to_a_smaller_size():
    # 640 x 480 into 384 x 288: ratio 0.6 either way, no padding
    geometry = letterbox_geometry(480, 640, width=384, height=288)
    assert (geometry.ratio, geometry.new_width, geometry.new_height, geometry.pad_w, geometry.pad_h) == (0.6, 384, 288, 0, 0)


def test_gaussian_radius_of_a_known_box():
    # h = 20, w = 10, overlap 0.7: r1 = (30 + sqrt(900 - 4 * 60 / 1.7)) / 2 = 28.77,
    # r2 = (60 + sqrt(3600 - 16 * 60)) / 2 = 55.69, r3 = (-42 + sqrt(42^2 + 4 * 2.8 * 60)) / 2 = 3.678
    r3 = (-42 + math.sqrt(42 ** 2 + 4 * 2.8 * 60)) / 2
    assert gaussian_radius(20, 10) == pytest.approx(r3)
    assert r3 == pytest.approx(3.678, abs=1e-3)


def test_draw_umich_gaussian_values_and_borders():
    heatmap = np.zeros((5, 6), np.float32)
    draw_umich_gaussian(heatmap, (0, 1), 1)
    # diameter 3, sigma 0.5: the neighbours exp(-1 / 0.5) = e^-2, the diagonals e^-4; cut at the left edge
    assert heatmap[1, 0] == 1 and heatmap[1, 1] == pytest.approx(math.exp(-2))
    assert heatmap[0, 1] == pytest.approx(math.exp(-4)) and heatmap[3, 0] == 0 and heatmap[1, 2] == 0
    draw_umich_gaussian(heatmap, (1, 1), 1)
    assert heatmap[1, 0] == pytest.approx(math.exp(-2)) or heatmap[1, 0] == 1  # maximum kept
    assert heatmap[1, 0] == 1 and heatmap[1, 1] == 1


def test_targets_of_one_box():
    # input 128 x 64 -> grid 32 x 16; box [21, 9, 40, 24]: centre (41, 21) -> (10.25, 5.25) on the grid,
    # size (10, 6); radius: gaussian_radius(6, 10) = 2.06 -> 2
    targets = fairmot_targets(np.array([[21.0, 9.0, 40.0, 24.0]]), np.array([7]), input_width=128, input_height=64)
    assert targets["hm"].shape == (1, 16, 32) and targets["wh"].shape == (500, 4)
    assert targets["ind"][0] == 5 * 32 + 10
    assert targets["reg"][0].tolist() == [0.25, 0.25]
    assert targets["wh"][0].tolist() == [5, 3, 5, 3]  # left, top, right, bottom from the centre
    assert targets["reg_mask"].tolist()[:2] == [1, 0] and targets["ids"][0] == 7
    assert targets["bbox"][0].tolist() == [5.25, 2.25, 15.25, 8.25]
    assert int(gaussian_radius(6, 10)) == 2
    hm = targets["hm"][0]
    assert hm[5, 10] == 1 and hm[5, 12] == pytest.approx(math.exp(-4 / (2 * (5 / 6) ** 2)), rel=1e-5)
    assert hm[5, 13] == 0 and hm[7, 10] > 0 and hm[8, 10] == 0


def test_targets_of_a_box_whose_centre_is_outside():
    # [-30, 9, 40, 24]: centre x -10 -> -2.5 on the grid, clipped to 0; amodal -7.5 .. 2.5
    targets = fairmot_targets(np.array([[-30.0, 9.0, 40.0, 24.0]]), np.array([-1]), input_width=128, input_height=64)
    assert targets["wh"][0].tolist() == [7.5, 3, 2.5, 3]
    assert targets["ind"][0] == 5 * 32 + 0 and targets["reg"][0].tolist() == [0, 0.25]
    assert targets["ids"][0] == -1 and targets["reg_mask"][0] == 1


def test_targets_stop_at_max_objs_and_skip_empty_boxes():
    boxes = np.array([[10.0, 10.0, 8.0, 8.0], [20.0, 10.0, 0.0, 8.0], [30.0, 10.0, 8.0, 8.0]])
    targets = fairmot_targets(boxes, np.array([1, 2, 3]), input_width=64, input_height=64, max_objs=2)
    assert targets["reg_mask"].tolist() == [1, 0] and targets["ids"].tolist() == [1, 0]


def test_flip_of_a_box_and_its_ltrb():
    flipped = flip_boxes(np.array([[21.0, 9.0, 40.0, 24.0]]), 128)
    assert flipped[0].tolist() == [67, 9, 40, 24]  # cx 41 -> 128 - 41 = 87
    targets = fairmot_targets(flipped, np.array([1]), input_width=128, input_height=64)
    assert targets["ind"][0] == 5 * 32 + 21 and targets["reg"][0].tolist() == [0.75, 0.25]
    assert targets["wh"][0].tolist() == [5, 3, 5, 3]


def test_hsv_augmentation_scales_saturation_and_value():
    image = np.full((2, 2, 3), (200, 100, 100), np.uint8)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[0, 0]
    assert hsv.tolist() == [0, 127, 200]  # S = 255 * 100 / 200 = 127.5, rounded to even by cv2
    # a = (0.75 * 2 - 1) * 0.5 + 1 = 1.25: S 127 -> 158.75 -> 158 (truncated); V 200 -> 250
    out = augment_hsv(image, ScriptedRng(0.75, 0.75))
    assert out.tolist() == cv2.cvtColor(np.full((2, 2, 3), (0, 158, 250), np.uint8), cv2.COLOR_HSV2RGB).tolist()
    # a = 0.75: S 95.25 -> 95, V 150
    out = augment_hsv(image, ScriptedRng(0.25, 0.25))
    assert out.tolist() == cv2.cvtColor(np.full((2, 2, 3), (0, 95, 150), np.uint8), cv2.COLOR_HSV2RGB).tolist()
    bright = np.full((1, 1, 3), (240, 120, 120), np.uint8)  # V 240 * 1.25 = 300 -> 255
    assert cv2.cvtColor(augment_hsv(bright, ScriptedRng(0.5, 0.75)), cv2.COLOR_RGB2HSV)[0, 0, 2] >= 254


def test_affine_scales_about_the_centre_and_translates_as_published():
    image = np.zeros((100, 200, 3), np.uint8)
    box = np.array([[80.0, 40.0, 40.0, 20.0]])
    # angle 0 (draw 0.5), scale 0.5 + 0.5 * 0.7 = 0.85, no translation (0.5), no shear (0.5)
    _, kept, indices, _ = random_affine(image, box, ScriptedRng(0.5, 0.5, 0.5, 0.5, 0.5, 0.5))
    assert indices.tolist() == [0]
    assert kept[0].tolist() == pytest.approx([100 - 20 * 0.85, 50 - 10 * 0.85, 40 * 0.85, 20 * 0.85])
    # translation draws 0.75: x by 0.5 * 0.1 * height = 5, y by 0.5 * 0.1 * width = 10 (FairMOT's order)
    _, kept, _, matrix = random_affine(image, box, ScriptedRng(0.5, 5 / 7, 0.75, 0.75, 0.5, 0.5))
    assert matrix[:2, 2].tolist() == pytest.approx([5, 10])
    assert kept[0].tolist() == pytest.approx([85, 50, 40, 20])


def test_affine_drops_tiny_and_outside_boxes_and_clips_on_request():
    image = np.zeros((100, 200, 3), np.uint8)
    boxes = np.array([[10.0, 10.0, 8.0, 8.0],     # 8 x 8 at scale 0.5: 4 x 4, not > 4: dropped
                      [100.0, 40.0, 40.0, 20.0],  # kept
                      [-250.0, 40.0, 60.0, 20.0]])  # x -250 .. -190 -> -75 .. -45 about x 100: outside
    _, kept, indices, _ = random_affine(image, boxes, ScriptedRng(0.5, 0.0, 0.5, 0.5, 0.5, 0.5))
    assert indices.tolist() == [1]
    assert kept[0].tolist() == pytest.approx([100, 45, 20, 10])
    edge = np.array([[-10.0, 40.0, 40.0, 20.0]])  # unit scale, no motion: x0 -10 stays unless clipped
    draws = (0.5, 5 / 7, 0.5, 0.5, 0.5, 0.5)
    assert random_affine(image, edge, ScriptedRng(*draws))[1][0, 0] == pytest.approx(-10)
    clipped = random_affine(image, edge, ScriptedRng(*draws), clip_boxes=True)[1][0]
    assert clipped.tolist() == pytest.approx([0, 40, 30, 20])


def test_affine_rotation_shrinks_the_box_by_the_angle_rule():
    image = np.zeros((100, 100, 3), np.uint8)
    box = np.array([[40.0, 40.0, 20.0, 20.0]])  # centred: rotation about the centre keeps the centre
    _, kept, _, _ = random_affine(image, box, ScriptedRng(1.0, 5 / 7, 0.5, 0.5, 0.5, 0.5))  # angle 5 degrees
    side = 20 * (math.cos(math.radians(5)) + math.sin(math.radians(5)))  # bounding box of the rotated square
    reduced = side * max(math.sin(math.radians(5)), math.cos(math.radians(5))) ** 0.5
    assert kept[0].tolist() == pytest.approx([50 - reduced / 2, 50 - reduced / 2, reduced, reduced])


class FakeSource:
    """Two 64 x 48 images with a bright box each, in the JdeDataset interface."""

    config_file = "fake.json"

    def get_num_images(self):
        return 2

    def get_image(self, index):
        image = np.full((48, 64, 3), 40, np.uint8)
        image[8:24, 4:20] = 250
        return image, np.array([[4.0, 8.0, 16.0, 16.0]]), np.array([index + 3])


def test_samples_flip_the_image_and_the_box_with_probability_one():
    identity_affine = dict(degrees=(0, 0), translate=(0, 0), scale=(1, 1), shear=(0, 0))
    samples = FairMOTSamples(FakeSource(), input_size=(64, 64), hsv_fraction=0, flip_probability=1.0,
                             **identity_affine)
    sample = samples[1]
    assert sample["images"].shape == (3, 64, 64) and sample["images"].dtype == torch.float32
    # letterbox: ratio 1, dh 8 (top 8): the box [4, 16, 16, 16]; flipped: x = 64 - 4 - 16 = 44
    image = sample["images"]
    assert image[:, 0, 0].tolist() == pytest.approx([128 / 255] * 3)
    assert image[:, 16, 59].tolist() == pytest.approx([250 / 255] * 3) and image[:, 16, 4].tolist() != image[:, 16, 59].tolist()
    assert sample["ids"][0] == 4 and sample["reg_mask"][0] == 1
    # centre (52, 24) -> grid (13, 6); ltrb (2, 2, 2, 2)
    assert sample["ind"][0] == 6 * 16 + 13 and sample["wh"][0].tolist() == [2, 2, 2, 2]


def test_samples_are_repeatable_with_a_seed_and_sharded_by_rank():
    samples = FairMOTSamples(FakeSource(), input_size=(64, 64))
    samples.reseed(3)
    first = samples[0]
    samples.reseed(3)
    again = samples[0]
    assert torch.equal(first["images"], again["images"]) and torch.equal(first["hm"], again["hm"])
    assert len(FairMOTSamples(FakeSource(), input_size=(64, 64), rank=1, world_size=2)) == 1
    with pytest.raises(ValueError, match="multiples of 32"):
        FairMOTSamples(FakeSource(), input_size=(100, 64))
