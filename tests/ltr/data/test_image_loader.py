import cv2
import numpy as np
import pytest

from ltr.data import image_loader
from ltr.data.image_loader import ImageReadError, LazyFrame, imread, jpeg4py_loader, opencv_loader


@pytest.fixture
def jpeg(tmp_path):
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (72, 96, 3), dtype=np.uint8), (5, 5), 2)
    image[:10, :10] = (0, 0, 255)  # red in BGR: the loaders must return RGB
    path = tmp_path / "frame.jpg"
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def test_loaders_agree_and_return_rgb(jpeg):
    a, b = jpeg4py_loader(jpeg), opencv_loader(jpeg)
    assert a.shape == (72, 96, 3) and a.dtype == np.uint8
    assert np.abs(a.astype(int) - b).max() <= 2
    assert a[5, 5, 0] > 200 and a[5, 5, 2] < 50


def test_reduced_sizes(jpeg):
    for reduction in (2, 4, 8):
        assert imread(jpeg, reduction).shape == (72 // reduction, 96 // reduction, 3)
    with pytest.raises(ValueError, match="reduction"):
        imread(jpeg, 3)


def test_png_frames_reduce_by_resizing(tmp_path):
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), np.full((40, 64, 3), 9, np.uint8))
    assert imread(path, 4).shape == (10, 16, 3)


@pytest.mark.parametrize("content,reason", [(None, "no such file"), (b"", "empty"), (b"\xff\xd8garbage", "not a decodable|decoding failed")])
def test_unreadable_frames_name_the_file(tmp_path, content, reason):
    path = tmp_path / "broken.jpg"
    if content is not None:
        path.write_bytes(content)
    for loader in (imread, opencv_loader):
        with pytest.raises(ImageReadError, match=reason) as error:
            loader(path)
        assert str(path) in str(error.value) and error.value.path == str(path)


def test_fallback_to_opencv_without_jpeg4py(jpeg, monkeypatch):
    monkeypatch.setattr(image_loader, "jpeg4py_available", lambda: False)
    np.testing.assert_array_equal(imread(jpeg), opencv_loader(jpeg))


def test_lazy_frame(jpeg):
    frame = LazyFrame(str(jpeg))
    assert frame.size == (96, 72)
    image, reduction = frame.load(2)
    assert reduction == 2 and image.shape == (36, 48, 3)
    plain = LazyFrame(str(jpeg), loader=lambda path: opencv_loader(path))
    image, reduction = plain.load(4)
    assert reduction == 1 and image.shape == (72, 96, 3)


def test_turbojpeg_and_opencv_reduce_alike(jpeg):
    for reduction in (2, 4, 8):
        a, b = jpeg4py_loader(jpeg, reduction), opencv_loader(jpeg, reduction)
        assert a.shape == b.shape and np.abs(a.astype(int) - b).mean() < 1.0
