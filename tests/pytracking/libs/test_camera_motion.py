"""Camera-motion compensation (mmtracking's ECC rule): known shifts and rotations recovered,
boxes warped corner by corner, a failed ECC counted and replaced by the identity."""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np
import pytest
import torch

from pytracking.libs.camera_motion import CameraMotionCompensation, gray_image


MARGIN = 40


def texture(size: tuple[int, int] = (280, 340)) -> np.ndarray:
    """A smooth random float32 gray texture (blurred noise), so that ECC has gradients everywhere."""
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 255, size).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 4.0) * 4.0


def frames(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two views of one scene, the second after the camera moved so that the point at ``p`` is at
    ``matrix @ (p, 1)``; both cut from inside the scene, so that no border is invented."""
    scene = texture()
    # The scene moved, in the coordinates of the cut-out window (origin at MARGIN, MARGIN).
    to_window = np.array([[1, 0, -MARGIN], [0, 1, -MARGIN], [0, 0, 1]], dtype=np.float64)
    full = np.linalg.inv(to_window) @ np.vstack([matrix, [0, 0, 1]]) @ to_window
    after = cv2.warpAffine(scene, full[:2].astype(np.float32), scene.shape[::-1], flags=cv2.INTER_LINEAR)
    window = (slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
    return scene[window], after[window]


def test_a_subpixel_shift_is_recovered_within_a_twentieth_of_a_pixel():
    truth = np.array([[1, 0, 2.5], [0, 1, -1.75]], dtype=np.float32)
    matrix = CameraMotionCompensation().warp_matrix(*frames(truth))
    assert matrix.shape == (2, 3) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[:, 2], truth[:, 2], atol=0.05)
    np.testing.assert_allclose(matrix[:, :2], np.eye(2), atol=1e-3)


def test_a_rotation_is_recovered_within_a_tenth_of_a_degree():
    h, w = 200, 260
    truth = cv2.getRotationMatrix2D((w / 2, h / 2), 1.5, 1.0).astype(np.float32)  # 1.5 deg, image centre
    matrix = CameraMotionCompensation().warp_matrix(*frames(truth))
    angle = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    assert angle == pytest.approx(math.degrees(math.atan2(truth[1, 0], truth[0, 0])), abs=0.1)
    # Where the centre and a corner of the frame go agrees with the true motion within 0.05 px.
    points = np.array([[w / 2, h / 2, 1], [20, 30, 1]], dtype=np.float64)
    np.testing.assert_allclose(points @ matrix.T.astype(np.float64), points @ truth.T.astype(np.float64), atol=0.05)


def test_boxes_are_warped_by_their_two_corners():
    # 90 deg rotation plus (10, 20): (x, y) -> (-y + 10, x + 20).
    matrix = np.array([[0, -1, 10], [1, 0, 20]], dtype=np.float32)
    boxes = torch.tensor([[1.0, 2.0, 5.0, 8.0], [0.0, 0.0, 0.0, 0.0]])
    warped = CameraMotionCompensation.warp_boxes(boxes, matrix)
    # (1, 2) -> (8, 21); (5, 8) -> (2, 25): the corners as mapped, not re-sorted.
    assert warped.tolist() == [[8.0, 21.0, 2.0, 25.0], [10.0, 20.0, 10.0, 20.0]]
    shift = np.array([[1, 0, 1.5], [0, 1, -2.0]], dtype=np.float64)
    np.testing.assert_array_equal(CameraMotionCompensation.warp_boxes(np.array([[1.0, 2.0, 5.0, 8.0]]), shift),
                                  [[2.5, 0.0, 6.5, 6.0]])


def test_a_failed_alignment_falls_back_to_the_identity_counts_and_logs_it(caplog):
    cmc = CameraMotionCompensation()
    flat = np.full((60, 80), 7.0, dtype=np.float32)
    with caplog.at_level(logging.WARNING, logger="pytracking.libs.camera_motion"):
        matrix = cmc.warp_matrix(flat, flat)
        cmc.warp_matrix(flat, flat)
    np.testing.assert_array_equal(matrix, np.eye(2, 3))
    assert cmc.failures == 2
    assert "ECC failed" in caplog.text and "2 such frames" in caplog.text


def test_gray_image_of_a_network_input_is_opencv_rgb_to_gray_of_its_values():
    batch = torch.tensor([[[[1.0, -2.0]], [[0.5, 3.0]], [[-1.0, 0.0]]]])  # (1, 3, 1, 2), normalised values
    gray = gray_image(batch)
    expected = 0.299 * batch[0, 0] + 0.587 * batch[0, 1] + 0.114 * batch[0, 2]
    np.testing.assert_allclose(gray, expected.numpy(), atol=1e-5)
    assert gray.dtype == np.float32 and gray.shape == (1, 2)
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 100
    np.testing.assert_allclose(gray_image(rgb), 29.9, atol=1e-4)


def test_bad_settings_and_sizes_are_errors_naming_the_value():
    with pytest.raises(ValueError, match="homography"):
        CameraMotionCompensation(warp_mode="homography")
    with pytest.raises(ValueError, match="different sizes"):
        CameraMotionCompensation().warp_matrix(np.zeros((4, 4), np.float32), np.zeros((4, 5), np.float32))
