"""Convolution helpers against torch.nn.functional.conv2d with explicit arguments."""

import pytest
import torch
import torch.nn.functional as F

from pytracking.libs.operation import conv1x1, conv2d
from pytracking.libs.tensorlist import TensorList


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_even_filter_with_padding_gives_one_more_row_and_column():
    x, w = randn(5, 8, 18, 18), randn(1, 8, 4, 4, seed=1)
    out = conv2d(x, w, padding=2)
    assert out.shape == (5, 1, 19, 19)
    torch.testing.assert_close(out, F.conv2d(x, w, padding=2))


@pytest.mark.parametrize("kernel", [(3, 3), (4, 4), (4, 5), (1, 2)])
def test_modes(kernel):
    x, w, bias = randn(2, 3, 9, 10), randn(4, 3, *kernel, seed=1), randn(4, seed=2)
    kh, kw = kernel
    same = conv2d(x, w, bias, mode="same")
    assert same.shape == (2, 4, 9, 10)
    # Output (i, j) has the filter's element (kh // 2, kw // 2) on input (i, j).
    torch.testing.assert_close(same, F.conv2d(x, w, bias, padding=(kh // 2, kw // 2))[..., :9, :10])
    torch.testing.assert_close(conv2d(x, w, mode="valid"), F.conv2d(x, w))
    torch.testing.assert_close(conv2d(x, w, mode="full"), F.conv2d(x, w, padding=(kh - 1, kw - 1)))
    centre = torch.zeros(1, 1, kh, kw, dtype=torch.float64)
    centre[..., kh // 2, kw // 2] = 1
    torch.testing.assert_close(conv2d(x[:, :1], centre, mode="same"), x[:, :1])


def test_leading_dimensions_are_batched():
    x, w = randn(2, 3, 4, 7, 7), randn(2, 4, 3, 3, seed=1)
    out = conv2d(x, w, padding=1)
    assert out.shape == (2, 3, 2, 7, 7)
    torch.testing.assert_close(out, F.conv2d(x.reshape(6, 4, 7, 7), w, padding=1).reshape(2, 3, 2, 7, 7))
    assert conv2d(x, None) is x


def test_tensorlists_pair_inputs_with_filters():
    xs = TensorList([randn(2, 3, 6, 6), randn(2, 5, 4, 4, seed=1)])
    ws = TensorList([randn(1, 3, 3, 3, seed=2), randn(1, 5, 2, 2, seed=3)])
    out = conv2d(xs, ws, mode="same")
    assert isinstance(out, TensorList)
    torch.testing.assert_close(out[0], F.conv2d(xs[0], ws[0], padding=1))
    torch.testing.assert_close(out[1], F.conv2d(xs[1], ws[1], padding=1)[..., :4, :4])
    shared = conv2d(TensorList([xs[0], xs[0] * 2]), ws[0], padding=1)
    torch.testing.assert_close(shared[1], 2 * shared[0])
    with pytest.raises(ValueError, match="same length"):
        conv2d(xs[:1], ws)


def test_conv1x1():
    x, p = randn(3, 8, 5, 6), randn(4, 8, seed=1)
    expected = F.conv2d(x, p.reshape(4, 8, 1, 1))
    torch.testing.assert_close(conv1x1(x, p), expected)
    torch.testing.assert_close(conv1x1(x, p.reshape(4, 8, 1, 1)), expected)
    torch.testing.assert_close(conv1x1(x.unsqueeze(0), p), expected.unsqueeze(0))
    torch.testing.assert_close(conv1x1(TensorList([x]), TensorList([p]))[0], expected)


def test_errors():
    x = randn(1, 3, 5, 5)
    with pytest.raises(ValueError, match="mode"):
        conv2d(x, randn(1, 3, 3, 3), mode="circular")
    with pytest.raises(ValueError, match="not both"):
        conv2d(x, randn(1, 3, 3, 3), padding=1, mode="same")
    with pytest.raises(ValueError, match="4 channels applied to maps of 3"):
        conv1x1(x, randn(2, 4))
