import cv2
import numpy as np
import pytest

from external import jpeg_region

pytestmark = pytest.mark.skipif(not jpeg_region.available(), reason=jpeg_region.UNAVAILABLE_REASON)


@pytest.fixture
def jpeg(tmp_path):
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (200, 328, 3), dtype=np.uint8), (7, 7), 3)
    path = tmp_path / "frame.jpg"
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


@pytest.mark.parametrize("reduction", [1, 2, 4, 8])
@pytest.mark.parametrize("region", [(0, 0, 10_000, 10_000), (37, 21, 90, 60), (-20, -5, 15, 9), (60, 40, 61, 41)])
def test_region_equals_the_same_part_of_a_whole_decode(jpeg, reduction, region):
    whole = cv2.cvtColor(cv2.imread(str(jpeg), {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                                                 4: cv2.IMREAD_REDUCED_COLOR_4,
                                                 8: cv2.IMREAD_REDUCED_COLOR_8}[reduction]), cv2.COLOR_BGR2RGB)
    pixels, left, top, width, height = jpeg_region.decode_region(str(jpeg), reduction, *region)
    assert (width, height) == (whole.shape[1], whole.shape[0])
    x0, y0, x1, y1 = region
    # At least the region, clipped to the image; the left edge may move left to a block edge.
    assert left <= max(0, min(x0, width - 1)) and top == max(0, min(y0, height - 1))
    assert left + pixels.shape[1] >= min(max(x1, 1), width) and top + pixels.shape[0] == max(min(y1, height), top + 1)
    part = whole[top:top + pixels.shape[0], left:left + pixels.shape[1]]
    # Chroma upsampling at a cut edge inside the image sees no neighbour beyond it: the one
    # column there may differ (callers ask for a margin); everything else is exact.
    first = 1 if left > 0 else 0
    last = pixels.shape[1] - (1 if left + pixels.shape[1] < width else 0)
    if last > first:
        assert np.abs(pixels[:, first:last].astype(int) - part[:, first:last]).max() <= 1


def test_errors_name_the_problem(jpeg, tmp_path):
    with pytest.raises(RuntimeError, match="cannot open"):
        jpeg_region.decode_region(str(tmp_path / "missing.jpg"), 1, 0, 0, 5, 5)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(jpeg.read_bytes()[:600])
    with pytest.raises(RuntimeError, match="JPEG"):
        jpeg_region.decode_region(str(truncated), 1, 0, 0, 400, 400)
    with pytest.raises(RuntimeError, match="reduction"):
        jpeg_region.decode_region(str(jpeg), 3, 0, 0, 5, 5)
