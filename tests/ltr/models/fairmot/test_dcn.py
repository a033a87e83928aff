"""DCNv2's ``DCN`` on torchvision's ``deform_conv2d``: hand values for the offset and mask
layout (DCNv2's ``chunk``/``cat`` order, (dy, dx) per kernel position, sigmoid mask),
gradients, and CPU against CUDA."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from ltr.models.fairmot.dcn import DCN

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _dcn(in_channels: int = 2, out_channels: int = 3, seed: int = 0) -> DCN:
    torch.manual_seed(seed)
    return DCN(in_channels, out_channels, kernel_size=(3, 3), stride=1, padding=1).double()


def test_parameters_are_dcnv2s_and_offsets_start_at_zero():
    dcn = DCN(4, 5, kernel_size=3, stride=1, padding=1, deformable_groups=2)
    assert {key: tuple(v.shape) for key, v in dcn.state_dict().items()} == {
        "weight": (5, 4, 3, 3), "bias": (5,), "conv_offset_mask.weight": (2 * 27, 4, 3, 3),
        "conv_offset_mask.bias": (2 * 27,)}
    assert torch.count_nonzero(dcn.conv_offset_mask.weight) == 0 and torch.count_nonzero(dcn.bias) == 0
    bound = 1 / (4 * 9) ** 0.5  # DCNv2: uniform(-1/sqrt(in * kh * kw), ...)
    assert dcn.weight.abs().max() <= bound and dcn.weight.abs().max() > 0.8 * bound


def test_zero_offsets_sample_the_grid_with_mask_one_half():
    dcn = _dcn()
    with torch.no_grad():
        dcn.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    x = torch.randn(2, 2, 6, 7, dtype=torch.float64)
    expected = 0.5 * F.conv2d(x, dcn.weight, padding=1) + dcn.bias.view(1, 3, 1, 1)
    torch.testing.assert_close(dcn(x), expected)


@pytest.mark.parametrize("position", [(0, 0), (1, 2), (2, 1)])  # kernel positions k = 0, 5, 7
@pytest.mark.parametrize("axis", ["dy", "dx"])
def test_an_integer_offset_shifts_one_kernel_position_by_a_pixel(position, axis):
    """Only kernel position (i, j) has weights; its offset channel ``2k`` (dy) or ``2k + 1``
    (dx), k = 3i + j, of ``conv_offset_mask``'s output is 1 and its mask logit (channel 18 + k)
    large: output (y, x) reads the input at (y - 1 + i + dy, x - 1 + j + dx), zero outside."""
    i, j = position
    k = 3 * i + j
    dy, dx = (1, 0) if axis == "dy" else (0, 1)
    dcn = _dcn()
    with torch.no_grad():
        keep = torch.zeros_like(dcn.weight)
        keep[:, :, i, j] = 1
        dcn.weight.mul_(keep)
        dcn.conv_offset_mask.bias[2 * k + (0 if axis == "dy" else 1)] = 1.0
        dcn.conv_offset_mask.bias[18 + k] = 40.0  # sigmoid -> 1
    x = torch.randn(1, 2, 5, 6, dtype=torch.float64)
    padded = F.pad(x, (2, 2, 2, 2))
    rows, cols = 2 - 1 + i + dy, 2 - 1 + j + dx  # where output (0, 0) reads in the padded input
    sampled = padded[:, :, rows:rows + 5, cols:cols + 6]
    expected = torch.einsum("oc,bchw->bohw", dcn.weight[:, :, i, j], sampled)
    torch.testing.assert_close(dcn(x), expected)


def test_a_fractional_offset_interpolates_bilinearly():
    """dy = 0.25 at the centre position of a 1x1-weighted kernel: 0.75 x[y] + 0.25 x[y + 1]
    (zero below the last row), times the mask sigmoid(0) = 0.5."""
    dcn = _dcn(1, 1)
    with torch.no_grad():
        dcn.weight.zero_()
        dcn.weight[0, 0, 1, 1] = 1.0
        dcn.conv_offset_mask.bias[2 * 4] = 0.25
    x = torch.arange(12, dtype=torch.float64).view(1, 1, 3, 4)
    below = torch.cat([x[:, :, 1:], torch.zeros_like(x[:, :, :1])], dim=2)
    torch.testing.assert_close(dcn(x), 0.5 * (0.75 * x + 0.25 * below))


def test_a_negative_mask_logit_silences_a_position():
    dcn = _dcn()
    with torch.no_grad():
        dcn.conv_offset_mask.bias[18:] = -60.0
        dcn.bias.fill_(0.25)
    out = dcn(torch.randn(1, 2, 4, 4, dtype=torch.float64))
    torch.testing.assert_close(out, torch.full_like(out, 0.25))


def test_gradients_match_finite_differences():
    """float64 gradcheck through input, the offset/mask convolution's parameters, weight and
    bias, with random (fractional) offsets."""
    dcn = _dcn(2, 2, seed=3)
    generator = torch.Generator().manual_seed(5)
    params = {name: (0.3 * torch.randn(p.shape, generator=generator, dtype=torch.float64)).requires_grad_()
              for name, p in dcn.named_parameters()}
    x = torch.randn(1, 2, 4, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    names = list(params)

    def run(x, *values):
        return functional_call(dcn, dict(zip(names, values)), (x,))

    assert torch.autograd.gradcheck(run, (x, *params.values()), eps=1e-6, atol=1e-5)


def test_stride_and_shapes_follow_conv2d():
    dcn = DCN(3, 4, kernel_size=3, stride=2, padding=1)
    assert dcn(torch.randn(2, 3, 9, 10)).shape == F.conv2d(torch.randn(2, 3, 9, 10), dcn.weight, stride=2,
                                                           padding=1).shape


@pytest.mark.cuda
@needs_cuda
def test_cuda_matches_cpu():
    dcn = DCN(4, 6, kernel_size=3, stride=1, padding=1)
    torch.manual_seed(7)
    with torch.no_grad():
        dcn.conv_offset_mask.weight.normal_(0, 0.2)
        dcn.conv_offset_mask.bias.normal_(0, 0.5)
    x = torch.randn(2, 4, 12, 9, requires_grad=True)
    out = dcn(x)
    out.square().sum().backward()
    cpu_grads = [x.grad.clone()] + [p.grad.clone() for p in dcn.parameters()]
    dcn_cuda = dcn.cuda()
    dcn_cuda.zero_grad()
    x_cuda = x.detach().cuda().requires_grad_()
    out_cuda = dcn_cuda(x_cuda)
    out_cuda.square().sum().backward()
    torch.testing.assert_close(out_cuda.cpu(), out, atol=1e-4, rtol=1e-4)
    cuda_grads = [x_cuda.grad] + [p.grad for p in dcn_cuda.parameters()]
    for cpu, cuda in zip(cpu_grads, cuda_grads):
        torch.testing.assert_close(cuda.cpu(), cpu, atol=2e-3, rtol=2e-3)
