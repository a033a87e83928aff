import numpy as np
import pytest
import torch

from external.PreciseRoIPooling import PrRoIPool2D, compiled_available, prroi_pool2d

BACKENDS = ["torch", pytest.param("compiled", marks=pytest.mark.skipif(
    not compiled_available("cpu"), reason="compiled op not built (python -m external.PreciseRoIPooling.build)"))]
needs_cuda = pytest.mark.skipif(not (torch.cuda.is_available() and compiled_available("cuda")),
                                reason="needs CUDA and the op built with CUDA")


def brute_force(features: np.ndarray, roi: np.ndarray, pooled: tuple[int, int], scale: float,
                samples: int = 400) -> np.ndarray:
    """Bin averages of the bilinear function by dense midpoint sampling: (C, PH, PW)."""
    channels, height, width = features.shape
    x0, y0, x1, y1 = roi[1:] * scale
    roi_w, roi_h = max(x1 - x0, 0.0), max(y1 - y0, 0.0)
    out = np.zeros((channels, *pooled))
    hat = lambda t: np.maximum(0.0, 1.0 - np.abs(t))  # noqa: E731
    for ph in range(pooled[0]):
        for pw in range(pooled[1]):
            a, b = x0 + pw * roi_w / pooled[1], x0 + (pw + 1) * roi_w / pooled[1]
            c, d = y0 + ph * roi_h / pooled[0], y0 + (ph + 1) * roi_h / pooled[0]
            if b <= a or d <= c:
                continue
            xs = a + (np.arange(samples) + 0.5) * (b - a) / samples
            ys = c + (np.arange(samples) + 0.5) * (d - c) / samples
            column_weights = hat(xs[:, None] - np.arange(width)[None])  # (S, W)
            row_weights = hat(ys[:, None] - np.arange(height)[None])  # (S, H)
            values = np.einsum("sh,chw,tw->cst", row_weights, features, column_weights)
            out[:, ph, pw] = values.mean((1, 2))
    return out


def random_case(seed: int, batch: int = 3, channels: int = 4, size: tuple[int, int] = (9, 11)):
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(batch, channels, *size, generator=generator, dtype=torch.float64)
    return features, generator


ROIS = {
    # [batch, x0, y0, x1, y1] in image pixels at scale 1/2 on a 9x11 map (18x22 pixels).
    "inside": [1, 3.3, 2.7, 15.1, 12.9],
    "partly outside": [0, -5.2, 10.4, 9.7, 25.3],
    "wholly outside": [2, 30.5, 30.5, 41.0, 39.0],
    "smaller than a cell": [2, 7.3, 5.1, 8.1, 5.7],
    "near the far edges": [1, 17.2, 13.9, 25.1, 21.4],
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(ROIS))
def test_matches_dense_integration(backend, name):
    features, _ = random_case(0)
    roi = torch.tensor([ROIS[name]], dtype=torch.float64)
    out = prroi_pool2d(features, roi, 3, 2, 0.5, backend=backend)
    expected = brute_force(features[int(roi[0, 0])].numpy(), roi[0].numpy(), (3, 2), 0.5)
    np.testing.assert_allclose(out[0].numpy(), expected, atol=2e-5)
    if name == "wholly outside":
        assert (out == 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_grid_aligned_bins_equal_hand_computed_values(backend):
    # Over one cell the bilinear function averages its four corners: with f = [[1, 2, 3],
    # [4, 5, 6]], cell (0, 0) gives 3, cell (0, 1) gives 4, both together 3.5. Below the last
    # row the function falls to zero at y = 2: over [0, 2] x [1, 2] it is row 1's mean (5) times
    # the mean of (2 - y), 0.5, so over [0, 2] x [0, 2] the average is (3.5 + 2.5) / 2.
    features = torch.tensor([[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]])
    rois = torch.tensor([[0, 0, 0, 1, 1], [0, 1, 0, 2, 1], [0, 0, 0, 2, 1], [0, 0, 0, 2, 2]], dtype=torch.float32)
    out = prroi_pool2d(features, rois, 1, 1, 1.0, backend=backend)[:, 0, 0, 0]
    np.testing.assert_allclose(out[:3].numpy(), [3.0, 4.0, 3.5], atol=1e-6)
    np.testing.assert_allclose(out[3].item(), (3.5 + 2.5) / 2, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_images_and_many_random_rois(backend):
    features, generator = random_case(1)
    corners = torch.rand(12, 2, generator=generator, dtype=torch.float64) * torch.tensor([30.0, 24.0]) - 4
    sizes = torch.rand(12, 2, generator=generator, dtype=torch.float64) * 12 + 0.3
    index = torch.arange(12, dtype=torch.float64) % 3
    rois = torch.cat([index[:, None], corners, corners + sizes], 1)
    out = prroi_pool2d(features, rois, 2, 2, 0.5, backend=backend)
    for k in range(12):
        expected = brute_force(features[int(index[k])].numpy(), rois[k].numpy(), (2, 2), 0.5, samples=200)
        np.testing.assert_allclose(out[k].numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_features_and_boxes(backend):
    features, _ = random_case(2, batch=2, channels=2, size=(5, 6))
    # Bin edges kept off integer positions, where the integrand's derivative has kinks.
    rois = torch.tensor([[0, 1.3, 0.7, 8.9, 7.3], [1, -2.1, 3.3, 5.6, 11.7], [1, 4.1, 2.2, 4.9, 2.9]],
                        dtype=torch.float64)
    features.requires_grad_(True)
    boxes = rois[:, 1:].clone().requires_grad_(True)

    def pool(features, boxes):
        return prroi_pool2d(features, torch.cat([rois[:, :1], boxes], 1), 2, 3, 0.5, backend=backend)

    assert torch.autograd.gradcheck(pool, (features, boxes), eps=1e-6, atol=1e-6)


@pytest.mark.skipif(not compiled_available("cpu"), reason="compiled op not built")
def test_compiled_and_torch_agree_in_float32():
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(4, 16, 18, 18, generator=generator)
    corners = torch.rand(40, 2, generator=generator) * 120 - 10
    rois = torch.cat([(torch.arange(40) % 4)[:, None].float(), corners,
                      corners + torch.rand(40, 2, generator=generator) * 60 + 1], 1)
    results = []
    for backend in ("compiled", "torch"):
        f = features.clone().requires_grad_(True)
        r = rois.clone().requires_grad_(True)
        out = prroi_pool2d(f, r, 5, 5, 1 / 8, backend=backend)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        results.append((out.detach(), f.grad, r.grad))
    for compiled, reference in zip(*results):
        torch.testing.assert_close(compiled, reference, atol=1e-5, rtol=1e-5)
    assert (results[0][2][:, 0] == 0).all()


@pytest.mark.parametrize("backend", ["compiled", "torch"])
def test_box_gradient_alone_equals_the_full_backward(backend):
    if backend == "compiled" and not compiled_available("cpu"):
        pytest.skip("compiled op not built")
    generator = torch.Generator().manual_seed(5)
    features = torch.randn(2, 8, 20, 20, generator=generator, dtype=torch.float64)
    corners = torch.rand(12, 2, generator=generator, dtype=torch.float64) * 100
    rois = torch.cat([(torch.arange(12) % 2)[:, None].double(), corners,
                      corners + torch.rand(12, 2, generator=generator, dtype=torch.float64) * 50 + 2], 1)
    weights = torch.linspace(-1, 1, 12 * 8 * 9, dtype=torch.float64).view(12, 8, 3, 3)
    gradients = []
    for features_need_grad in (True, False):
        f = features.clone().requires_grad_(features_need_grad)
        r = rois.clone().requires_grad_(True)
        (prroi_pool2d(f, r, 3, 3, 1 / 8, backend=backend) * weights).sum().backward()
        assert (f.grad is not None) == features_need_grad
        gradients.append(r.grad)
    torch.testing.assert_close(gradients[0], gradients[1], rtol=0, atol=0)


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("dtype,tolerance", [(torch.float32, 1e-5), (torch.float16, 2e-2), (torch.bfloat16, 8e-2)])
def test_cuda_matches_cpu(dtype, tolerance):
    generator = torch.Generator().manual_seed(4)
    features = torch.randn(3, 8, 18, 18, generator=generator)
    corners = torch.rand(30, 2, generator=generator) * 120 - 10
    rois = torch.cat([(torch.arange(30) % 3)[:, None].float(), corners,
                      corners + torch.rand(30, 2, generator=generator) * 60 + 1], 1)
    weights = torch.randn(30, 8, 3, 3, generator=generator)
    results = []
    for device, kind in (("cpu", torch.float32), ("cuda", dtype)):
        f = features.to(device, kind).requires_grad_(True)
        r = rois.to(device, kind).requires_grad_(True)
        out = prroi_pool2d(f, r, 3, 3, 1 / 8, backend="compiled")
        (out.float() * weights.to(device)).sum().backward()
        results.append([t.float().cpu() for t in (out.detach(), f.grad, r.grad)])
    for cuda, cpu in zip(results[1], results[0]):
        torch.testing.assert_close(cuda, cpu, atol=tolerance * max(1.0, cpu.abs().max().item()), rtol=tolerance)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_noncontiguous_and_reversed_rois(backend):
    features, _ = random_case(5)
    empty = prroi_pool2d(features, torch.zeros(0, 5, dtype=torch.float64), 3, 3, 1.0, backend=backend)
    assert empty.shape == (0, 4, 3, 3)
    rois = torch.tensor([[0, 1.5, 1.5, 6.5, 5.5], [2, 2.0, 3.0, 7.0, 8.0]], dtype=torch.float64)
    transposed = features.transpose(2, 3).contiguous().transpose(2, 3)
    strided_rois = torch.zeros(2, 10, dtype=torch.float64)[:, ::2]
    strided_rois.copy_(rois)
    assert not transposed.is_contiguous() and not strided_rois.is_contiguous()
    torch.testing.assert_close(prroi_pool2d(transposed, strided_rois, 2, 2, 1.0, backend=backend),
                               prroi_pool2d(features, rois, 2, 2, 1.0, backend=backend))
    # x1 < x0: a roi of zero area, all zeros, zero gradients.
    reversed_roi = torch.tensor([[1, 6.0, 2.0, 2.0, 7.0]], dtype=torch.float64, requires_grad=True)
    out = prroi_pool2d(features, reversed_roi, 2, 2, 1.0, backend=backend)
    assert (out == 0).all()
    out.sum().backward()
    assert (reversed_roi.grad == 0).all()


@pytest.mark.parametrize("change,message", [
    (lambda f, r: (f, r[:, :4]), r"rois must have shape \(K, 5\)"),
    (lambda f, r: (f, r[0]), r"rois must have shape \(K, 5\)"),
    (lambda f, r: (f, torch.cat([r[:1], r.new_tensor([[3, 0, 0, 1, 1]])])), r"rows \[1\].*\[0, 3\)"),
    (lambda f, r: (f, r.new_tensor([[-1, 0, 0, 1, 1]])), r"not integers in \[0, 3\)"),
    (lambda f, r: (f, r.new_tensor([[0.5, 0, 0, 1, 1]])), "not integers"),
    (lambda f, r: (f, r.new_tensor([[0, 0, float("nan"), 1, 1]])), "non-finite"),
    (lambda f, r: (f, r.new_tensor([[0, 0, 0, float("inf"), 1]])), "non-finite"),
    (lambda f, r: (f, r.float()), "same dtype"),
    (lambda f, r: (f[0], r), "4-D"),
])
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_raises_value_error(change, message, backend):
    """Shapes and dtypes by the Python guard, roi values by the C++ binding or the reference."""
    features, _ = random_case(6)
    rois = torch.tensor([[0, 1.0, 1.0, 5.0, 5.0]], dtype=torch.float64)
    bad_features, bad_rois = change(features, rois)
    with pytest.raises(ValueError, match=message):
        prroi_pool2d(bad_features, bad_rois, 2, 2, 1.0, backend=backend)


def test_the_python_guard_reads_no_values():
    """Reading a CUDA tensor's values would synchronise every call: the guard sees metadata
    only, so it passes on meta tensors (which have no values to read)."""
    from external.PreciseRoIPooling.function import _check

    _check(torch.empty(2, 3, 8, 8, device="meta"), torch.empty(4, 5, device="meta"), 2, 2, 0.5)
    with pytest.raises(ValueError, match="same dtype"):
        _check(torch.empty(2, 3, 8, 8, device="meta"), torch.empty(4, 5, device="meta", dtype=torch.float64),
               2, 2, 0.5)


@pytest.mark.cuda
@needs_cuda
def test_cuda_pools_invalid_rows_to_zero_without_a_check():
    features = torch.randn(2, 3, 8, 8, device="cuda")
    rois = torch.tensor([[0, 1.0, 1.0, 5.0, 5.0], [2, 1.0, 1.0, 5.0, 5.0], [0.5, 1.0, 1.0, 5.0, 5.0],
                         [-1, 1.0, 1.0, 5.0, 5.0], [1, 0.0, float("nan"), 4.0, 4.0], [1, 0.0, 0.0, float("inf"), 4.0]],
                        device="cuda", requires_grad=True)
    out = prroi_pool2d(features, rois, 2, 2, 1.0, backend="compiled")
    assert out[0].abs().sum() > 0 and (out[1:] == 0).all()
    out.sum().backward()
    assert torch.isfinite(rois.grad).all() and (rois.grad[1:] == 0).all()


def test_bad_sizes_and_backend():
    features, _ = random_case(7)
    rois = torch.tensor([[0, 1.0, 1.0, 5.0, 5.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="pooled_height"):
        prroi_pool2d(features, rois, 0, 2, 1.0)
    with pytest.raises(ValueError, match="spatial_scale"):
        prroi_pool2d(features, rois, 2, 2, float("nan"))
    with pytest.raises(ValueError, match="backend"):
        prroi_pool2d(features, rois, 2, 2, 1.0, backend="fast")


def test_module_matches_function():
    features, _ = random_case(8)
    rois = torch.tensor([[1, 1.0, 2.0, 9.0, 7.0]], dtype=torch.float64)
    module = PrRoIPool2D(3, 3, 0.5)
    torch.testing.assert_close(module(features, rois), prroi_pool2d(features, rois, 3, 3, 0.5))
    assert "pooled=(3, 3)" in repr(module)


def test_unbuilt_op_falls_back_with_one_warning(monkeypatch, caplog):
    from external.PreciseRoIPooling import function

    monkeypatch.setattr(function, "_C", None)
    monkeypatch.setattr(function, "_IMPORT_ERROR", "the extension is not built")
    monkeypatch.setattr(function, "_warned_fallback", False)
    features, _ = random_case(9)
    rois = torch.tensor([[1, 1.0, 2.0, 9.0, 7.0]], dtype=torch.float64)
    with caplog.at_level("WARNING", logger=function.__name__):
        first = prroi_pool2d(features, rois, 2, 2, 0.5)
        prroi_pool2d(features, rois, 2, 2, 0.5)
    warnings = [r for r in caplog.records if "PyTorch reference" in r.getMessage()]
    assert len(warnings) == 1 and "external.PreciseRoIPooling.build" in warnings[0].getMessage()
    torch.testing.assert_close(first, prroi_pool2d(features, rois, 2, 2, 0.5, backend="torch"))
    with pytest.raises(RuntimeError, match="not built.*external.PreciseRoIPooling.build"):
        prroi_pool2d(features, rois, 2, 2, 0.5, backend="compiled")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("pooled", [(5, 5), (1, 1), (2, 7)])
def test_box_gradient_alone_shares_edges_bit_for_bit(dtype, pooled):
    # The compiled box-only backward computes each bin edge's integral once for the two bins on
    # either side; it must give the full backward's roi gradient exactly, including rois beyond
    # the map, zero gradients (skipped bins) and several threads' channel chunks.
    if not compiled_available("cpu"):
        pytest.skip("compiled op not built")
    generator = torch.Generator().manual_seed(7)
    features = torch.randn(2, 19, 17, 23, generator=generator, dtype=dtype)
    corners = torch.rand(9, 2, generator=generator, dtype=dtype) * 220 - 30
    sizes = torch.rand(9, 2, generator=generator, dtype=dtype) * 120 + 1
    rois = torch.cat([(torch.arange(9) % 2)[:, None].to(dtype), corners, corners + sizes], 1)
    output = prroi_pool2d(features, rois, *pooled, 1 / 8, backend="compiled")
    weights = torch.randn(output.shape, generator=generator, dtype=dtype)
    weights[weights.abs() < 0.3] = 0
    gradients = []
    for features_need_grad in (True, False):
        f = features.clone().requires_grad_(features_need_grad)
        r = rois.clone().requires_grad_(True)
        (prroi_pool2d(f, r, *pooled, 1 / 8, backend="compiled") * weights).sum().backward()
        gradients.append(r.grad)
    assert gradients[1][:, 1:].abs().max() > 0
    assert torch.equal(gradients[0], gradients[1])


# Channels-last features: the compiled CPU op reads them in place with kernels whose loops run
# across the channels, giving the row-major kernels' values bit for bit (each channel does the
# same operations on the same operands in the same order).
needs_compiled_cpu = pytest.mark.skipif(not compiled_available("cpu"), reason="compiled op not built")
LAYOUT_CASES = [  # channels, map (H, W), bins (PH, PW), spatial scale
    (1, (36, 36), (5, 5), 1 / 8),
    (3, (18, 18), (3, 3), 1 / 16),
    (17, (13, 7), (2, 7), 1 / 4),
    (64, (36, 36), (3, 3), 1 / 8),
    (256, (18, 18), (5, 5), 1 / 16),
    (256, (36, 36), (2, 7), 1 / 8),
]


def layout_rois(generator: torch.Generator, dtype: torch.dtype, images: int, image_size: tuple[int, int]):
    """Random rois over and beyond an image of ``image_size`` (H, W) pixels, with rois partly and
    wholly outside, reversed (zero area), of zero width and height, and smaller than a cell."""
    height, width = image_size
    count = 14
    corners = torch.rand(count, 2, generator=generator, dtype=torch.float64) * torch.tensor(
        [width * 1.4, height * 1.4], dtype=torch.float64) - torch.tensor([width * 0.2, height * 0.2],
                                                                          dtype=torch.float64)
    sizes = torch.rand(count, 2, generator=generator, dtype=torch.float64) * torch.tensor(
        [width / 2, height / 2], dtype=torch.float64) + 0.5
    boxes = torch.cat([corners, corners + sizes], 1)
    boxes[0] = torch.tensor([-3.0 * width, -2.0 * height, -1.5 * width, -1.0 * height])  # wholly outside
    boxes[1] = torch.tensor([width * 0.5, height * 0.3, width * 0.2, height * 0.9])  # reversed: x1 < x0
    boxes[2, 2] = boxes[2, 0]  # zero width
    boxes[3, 3] = boxes[3, 1]  # zero height
    boxes[4, 2:] = boxes[4, :2] + 0.37  # smaller than a cell
    boxes[5] = torch.tensor([-0.3 * width, -0.4 * height, 1.3 * width, 1.2 * height])  # over the whole map
    index = (torch.arange(count) % images).to(torch.float64)[:, None]
    return torch.cat([index, boxes], 1).to(dtype)


@needs_compiled_cpu
@pytest.mark.parametrize("isa", ["auto", "baseline"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("channels,size,pooled,scale", LAYOUT_CASES)
def test_channels_last_forward_and_box_gradient_bit_for_bit(channels, size, pooled, scale, dtype, threads, isa,
                                                             monkeypatch):
    # "auto": the AVX2 loops where the processor has them; "baseline": the SSE2 loops.
    if isa == "baseline":
        monkeypatch.setenv("PRROI_POOL_CPU_ISA", "baseline")
    else:
        monkeypatch.delenv("PRROI_POOL_CPU_ISA", raising=False)
    from external.PreciseRoIPooling import function

    generator = torch.Generator().manual_seed(channels * 1000 + size[0])
    images = 2
    features = torch.randn(images, channels, *size, generator=generator, dtype=dtype)
    last = features.contiguous(memory_format=torch.channels_last)
    assert torch.equal(last, features) and (channels == 1 or not last.is_contiguous())
    assert function._kernel_layout(last) is last  # not copied to row-major
    rois = layout_rois(generator, dtype, images, (size[0] / scale, size[1] / scale))
    weights = torch.randn(rois.shape[0], channels, *pooled, generator=generator, dtype=dtype)
    weights[weights.abs() < 0.4] = 0  # bins the roi gradient skips
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        results = {}
        for name, f in (("row-major", features), ("channels-last", last)):
            out = prroi_pool2d(f, rois, *pooled, scale, backend="compiled")
            box = function.prroi_pool2d_box_gradient(f, rois, out, weights, *pooled, scale, backend="compiled")
            # Without the forward's output the op recomputes it (on the same layout).
            _, recomputed = function._C.backward(weights, function._kernel_layout(f), rois, None, *pooled, scale,
                                                 features_grad=False)
            results[name] = (out, box, recomputed)
    finally:
        torch.set_num_threads(previous)
    (out, box, recomputed), (out_last, box_last, recomputed_last) = results.values()
    assert out.is_contiguous() and out_last.is_contiguous()
    assert out.abs().sum() > 0 and box[:, 1:].abs().sum() > 0
    assert (out[[0, 1, 2, 3]] == 0).all() and (box[[0, 1, 2, 3]] == 0).all()
    assert torch.equal(out, out_last)
    assert torch.equal(box, box_last)
    assert torch.equal(recomputed, box) and torch.equal(recomputed_last, box_last)


@needs_compiled_cpu
def test_channels_last_threads_split_channels_as_row_major():
    # The roi gradient's per-thread channel chunks, summed in chunk order, round differently with
    # one and with two threads; channels-last gives row-major's value for each thread count.
    generator = torch.Generator().manual_seed(11)
    features = torch.randn(1, 64, 36, 36, generator=generator)
    rois = layout_rois(generator, torch.float32, 1, (288.0, 288.0))
    output = prroi_pool2d(features, rois, 5, 5, 1 / 8, backend="compiled")
    weights = torch.randn(output.shape, generator=generator)
    from external.PreciseRoIPooling.function import prroi_pool2d_box_gradient

    previous = torch.get_num_threads()
    gradients = {}
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for layout in (torch.contiguous_format, torch.channels_last):
                f = features.contiguous(memory_format=layout)
                gradients[threads, layout] = prroi_pool2d_box_gradient(f, rois, output, weights, 5, 5, 1 / 8,
                                                                       backend="compiled")
    finally:
        torch.set_num_threads(previous)
    for threads in (1, 2):
        assert torch.equal(gradients[threads, torch.contiguous_format], gradients[threads, torch.channels_last])


@needs_compiled_cpu
@pytest.mark.parametrize("bad", ["nan", "batch"])
def test_channels_last_rois_are_checked_as_row_major(bad):
    features = torch.randn(2, 8, 9, 11, dtype=torch.float64)
    rois = torch.tensor([[0, 1.0, 1.0, 5.0, 5.0], [1, 2.0, 1.0, 9.0, 7.0]], dtype=torch.float64)
    rois[1, 2 if bad == "nan" else 0] = float("nan") if bad == "nan" else 2
    message = "non-finite" if bad == "nan" else "not integers"
    for f in (features, features.contiguous(memory_format=torch.channels_last)):
        with pytest.raises(ValueError, match=message):
            prroi_pool2d(f, rois, 3, 3, 1.0, backend="compiled")


@needs_compiled_cpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_channels_last_full_backward_matches_row_major(dtype):
    generator = torch.Generator().manual_seed(12)
    features = torch.randn(2, 17, 13, 7, generator=generator, dtype=dtype)
    rois = layout_rois(generator, dtype, 2, (52.0, 28.0))
    weights = torch.randn(rois.shape[0], 17, 3, 3, generator=generator, dtype=dtype)
    gradients = []
    for layout in (torch.contiguous_format, torch.channels_last):
        f = features.detach().contiguous(memory_format=layout).requires_grad_(True)
        r = rois.clone().requires_grad_(True)
        out = prroi_pool2d(f, r, 3, 3, 1 / 4, backend="compiled")
        (out * weights).sum().backward()
        gradients.append((out.detach(), f.grad, r.grad))
    for row_major, channels_last in zip(*gradients):
        assert torch.equal(row_major, channels_last)


@needs_compiled_cpu
@pytest.mark.parametrize("features_grad", [False, True])
def test_channels_last_gradcheck(features_grad):
    # Without the features' gradient the boxes' comes from the channels-last roi-gradient kernel;
    # with it, from the row-major kernel on a row-major copy.
    features, _ = random_case(2, batch=2, channels=2, size=(4, 5))
    features = features.contiguous(memory_format=torch.channels_last).requires_grad_(features_grad)
    rois = torch.tensor([[0, 1.3, 0.7, 8.9, 7.3], [1, -2.1, 3.3, 5.6, 11.7], [1, 4.1, 2.2, 4.9, 2.9]],
                        dtype=torch.float64)
    boxes = rois[:, 1:].clone().requires_grad_(True)

    def pool(features, boxes):
        assert features.is_contiguous(memory_format=torch.channels_last) and not features.is_contiguous()
        return prroi_pool2d(features, torch.cat([rois[:, :1], boxes], 1), 2, 3, 0.5, backend="compiled")

    assert torch.autograd.gradcheck(pool, (features, boxes), eps=1e-6, atol=1e-6)
