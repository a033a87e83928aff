"""Max pooling as two one-dimensional passes (SeparableMaxPool2d): hand values, the library's
values on every window geometry the networks use and more (odd sizes, padding, NaN and
infinities), the library's own operation wherever the separable one would not be exact or
faster (gradients, small or channels-last maps, dilation, indices, tracing and export), and the
backbones that use it."""

import pytest
import torch
from torch.nn import functional as F

from ltr.models.backbone.resnet import resnet18
from ltr.models.fairmot.dla import Tree
from ltr.models.layers import pooling
from ltr.models.layers.pooling import SeparableMaxPool2d, separable_max_pool2d


def test_hand_values():
    x = torch.tensor([[1.0, 5.0, 2.0, 0.0, 3.0],
                      [4.0, -1.0, 7.0, 8.0, -2.0],
                      [0.0, 6.0, -3.0, 2.0, 9.0],
                      [2.0, 1.0, 1.0, -4.0, 0.5]]).view(1, 1, 4, 5)
    # 3x3 windows, stride 2, one cell of padding: rows {0,1}, {1,2,3} by columns {0,1}, {1,2,3}, {3,4}.
    expected = torch.tensor([[5.0, 8.0, 8.0],
                             [6.0, 8.0, 9.0]]).view(1, 1, 2, 3)
    assert torch.equal(separable_max_pool2d(x, 3, 2, 1), expected)
    # 2x2 windows, stride 2, no padding: the last column is left out.
    assert torch.equal(separable_max_pool2d(x, 2), torch.tensor([[5.0, 8.0], [6.0, 2.0]]).view(1, 1, 2, 2))


@pytest.mark.parametrize("kernel,stride,padding", [(3, 2, 1), (2, 2, 0), (3, 1, 1), (5, 3, 2), (2, 1, 0),
                                                   ((3, 2), (2, 1), (1, 0)), (4, 4, 2)])
@pytest.mark.parametrize("shape", [(1, 3, 11, 8), (2, 5, 7, 13), (1, 1, 5, 5), (2, 4, 16, 9)])
def test_equals_the_library_bit_for_bit(kernel, stride, padding, shape):
    generator = torch.Generator().manual_seed(sum(shape))
    x = torch.randn(shape, generator=generator, dtype=torch.float64)
    expected = F.max_pool2d(x, kernel, stride, padding)
    got = separable_max_pool2d(x, kernel, stride, padding)
    assert got.shape == expected.shape
    assert torch.equal(got.view(torch.int64), expected.view(torch.int64))


def test_nan_and_infinities_as_the_library():
    x = torch.randn(1, 2, 9, 10, generator=torch.Generator().manual_seed(1))
    x[0, 0, 3, 4] = float("nan")
    x[0, 1, 0, 0] = float("nan")
    x[0, 1, 5, 5] = float("inf")
    x[0, 0, 6:9, 6:10] = -float("inf")  # output (4, 4) reads rows 7-8, columns 7-9: -inf alone
    expected = F.max_pool2d(x, 3, 2, 1)
    got = separable_max_pool2d(x, 3, 2, 1)
    assert torch.equal(torch.isnan(got), torch.isnan(expected)) and torch.isnan(got).sum() >= 3
    assert torch.equal(got.nan_to_num(), expected.nan_to_num())
    assert got[0, 0, 4, 4] == -float("inf") and got[0, 0, 3, 3] > -float("inf")
    assert got[0, 1, 2, 2] == float("inf") and got[0, 1, 3, 3] == float("inf")


def test_bad_geometry_is_refused():
    with pytest.raises(ValueError, match="exceeds half the kernel"):
        separable_max_pool2d(torch.rand(1, 1, 8, 8), 3, 2, 2)
    with pytest.raises(ValueError, match="B, C, H, W"):
        separable_max_pool2d(torch.rand(8, 8), 3, 2, 1)


def _calls(monkeypatch) -> list:
    calls = []
    inner = pooling.separable_max_pool2d
    monkeypatch.setattr(pooling, "separable_max_pool2d", lambda *a: calls.append(a[1:]) or inner(*a))
    return calls


def test_module_takes_the_separable_passes_where_they_apply(monkeypatch):
    calls = _calls(monkeypatch)
    pool = SeparableMaxPool2d(kernel_size=3, stride=2, padding=1)
    big = torch.rand(1, 16, 70, 65)  # 72800 elements: past MIN_ELEMENTS
    assert big.numel() >= SeparableMaxPool2d.MIN_ELEMENTS
    assert torch.equal(pool(big), F.max_pool2d(big, 3, 2, 1)) and calls == [(3, 2, 1)]
    # The library's operation: small maps, channels-last maps, a gradient to record, dilation,
    # indices or ceil_mode asked for.
    calls.clear()
    small = torch.rand(1, 4, 10, 10)
    assert torch.equal(pool(small), F.max_pool2d(small, 3, 2, 1))
    assert torch.equal(pool(big.contiguous(memory_format=torch.channels_last)), F.max_pool2d(big, 3, 2, 1))
    leaf = big.clone().requires_grad_(True)
    out = pool(leaf)
    out.sum().backward()
    assert torch.equal(leaf.grad, torch.autograd.grad(F.max_pool2d(leaf, 3, 2, 1).sum(), leaf)[0])
    with torch.no_grad():
        assert torch.equal(pool(leaf), F.max_pool2d(big, 3, 2, 1))
    assert calls == [(3, 2, 1)]  # only the no_grad call of the leaf
    calls.clear()
    for module in (SeparableMaxPool2d(3, 2, 1, dilation=2), SeparableMaxPool2d(3, 2, 1, ceil_mode=True),
                   SeparableMaxPool2d(3, 2, 1, return_indices=True)):
        got = module(big)
        expected = F.max_pool2d(big, 3, 2, 1, dilation=module.dilation, ceil_mode=module.ceil_mode,
                                return_indices=module.return_indices)
        assert all(torch.equal(g, e) for g, e in zip(got, expected)) if module.return_indices else torch.equal(
            got, expected)
    assert calls == []


def test_tracing_scripting_and_export_keep_the_library_operation():
    pool = SeparableMaxPool2d(kernel_size=3, stride=2, padding=1)
    x = torch.rand(1, 16, 70, 65)
    with pytest.warns(Warning):  # torch.jit.script and trace are deprecated in this PyTorch
        scripted = torch.jit.script(pool)
    assert torch.equal(scripted(x), F.max_pool2d(x, 3, 2, 1)) and "maximum" not in str(scripted.graph)
    with pytest.warns(Warning):
        traced = torch.jit.trace(pool, x)
    assert "max_pool2d" in str(traced.graph) and "maximum" not in str(traced.graph)
    exported = torch.export.export(pool, (x,))
    targets = [str(node.target) for node in exported.graph.nodes if node.op == "call_function"]
    assert targets == ["aten.max_pool2d.default"]


def test_backbones_use_it_and_keep_their_outputs():
    torch.manual_seed(0)
    net = resnet18(output_layers=("layer1",), num_classes=None).eval()
    assert isinstance(net.maxpool, SeparableMaxPool2d)
    x = torch.rand(1, 3, 160, 160)
    with torch.no_grad():
        got = net(x)["layer1"]
        net.maxpool = torch.nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        expected = net(x)["layer1"]
    assert torch.equal(got, expected)
    tree = Tree(1, lambda *a, **k: torch.nn.Identity(), 4, 4, stride=2)
    assert isinstance(tree.downsample, SeparableMaxPool2d) and tree.downsample.kernel_size == 2
