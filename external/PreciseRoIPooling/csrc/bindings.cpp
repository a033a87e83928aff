// Python bindings of the Precise RoI Pooling op: dispatch to the CPU or CUDA
// kernels by the device of the features. User-facing validation lives in the
// Python wrapper; these checks only guard the kernels.
#include <torch/extension.h>

#include "prroi_pool.h"

namespace {

void check_common(const at::Tensor& features, const at::Tensor& rois,
                  int64_t pooled_height, int64_t pooled_width) {
  TORCH_CHECK(features.defined() && rois.defined(),
              "prroi_pool: features and rois must be defined tensors");
  TORCH_CHECK(features.dim() == 4,
              "prroi_pool: features must have shape (B, C, H, W), got ",
              features.sizes());
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5,
              "prroi_pool: rois must have shape (K, 5), got ", rois.sizes());
  TORCH_CHECK(features.device() == rois.device(),
              "prroi_pool: features (", features.device(), ") and rois (",
              rois.device(), ") must be on the same device");
  TORCH_CHECK(features.scalar_type() == rois.scalar_type(),
              "prroi_pool: features (", features.scalar_type(), ") and rois (",
              rois.scalar_type(), ") must have the same dtype");
  TORCH_CHECK(pooled_height >= 1 && pooled_width >= 1,
              "prroi_pool: pooled_height and pooled_width must be >= 1, got ",
              pooled_height, " and ", pooled_width);
}

bool with_cuda() {
#ifdef WITH_CUDA
  return true;
#else
  return false;
#endif
}

at::Tensor forward(const at::Tensor& features, const at::Tensor& rois,
                   int64_t pooled_height, int64_t pooled_width,
                   double spatial_scale) {
  check_common(features, rois, pooled_height, pooled_width);
  const at::Tensor f = features.contiguous();
  const at::Tensor r = rois.contiguous();
  if (f.is_cuda()) {
#ifdef WITH_CUDA
    return prroi::forward_cuda(f, r, pooled_height, pooled_width,
                               spatial_scale);
#else
    TORCH_CHECK(false,
                "prroi_pool: the extension was built without CUDA; rebuild it "
                "where nvcc is available (python -m "
                "external.PreciseRoIPooling.build)");
#endif
  }
  TORCH_CHECK(f.device().is_cpu(), "prroi_pool: unsupported device ",
              f.device());
  return prroi::forward_cpu(f, r, pooled_height, pooled_width, spatial_scale);
}

std::tuple<at::Tensor, at::Tensor> backward(
    const at::Tensor& grad_output, const at::Tensor& features,
    const at::Tensor& rois, const std::optional<at::Tensor>& output,
    int64_t pooled_height, int64_t pooled_width, double spatial_scale,
    bool features_grad) {
  check_common(features, rois, pooled_height, pooled_width);
  TORCH_CHECK(grad_output.defined(), "prroi_pool: grad_output is undefined");
  TORCH_CHECK(grad_output.device() == features.device(),
              "prroi_pool: grad_output must be on the features' device");
  TORCH_CHECK(grad_output.scalar_type() == features.scalar_type(),
              "prroi_pool: grad_output (", grad_output.scalar_type(),
              ") must have the features' dtype (", features.scalar_type(), ")");
  const int64_t K = rois.size(0), C = features.size(1);
  TORCH_CHECK(grad_output.sizes() ==
                  at::IntArrayRef({K, C, pooled_height, pooled_width}),
              "prroi_pool: grad_output must have shape (K, C, PH, PW) = (", K,
              ", ", C, ", ", pooled_height, ", ", pooled_width, "), got ",
              grad_output.sizes());
  const at::Tensor g = grad_output.contiguous();
  const at::Tensor f = features.contiguous();
  const at::Tensor r = rois.contiguous();
  // The forward output; None (or an empty tensor) makes the CPU kernel
  // recompute it. The CUDA kernel always recomputes it in float.
  const at::Tensor o =
      (output.has_value() && output->defined() && output->numel() > 0)
          ? output->contiguous()
          : at::Tensor();
  if (f.is_cuda()) {
#ifdef WITH_CUDA
    return prroi::backward_cuda(g, f, r, o, pooled_height, pooled_width,
                                spatial_scale);
#else
    TORCH_CHECK(false,
                "prroi_pool: the extension was built without CUDA; rebuild it "
                "where nvcc is available (python -m "
                "external.PreciseRoIPooling.build)");
#endif
  }
  TORCH_CHECK(f.device().is_cpu(), "prroi_pool: unsupported device ",
              f.device());
  return prroi::backward_cpu(g, f, r, o, pooled_height, pooled_width,
                             spatial_scale, features_grad);
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() =
      "Precise RoI Pooling (exact bin averages of the bilinearly "
      "interpolated feature map), CPU and CUDA kernels";
  m.def("forward", &forward, "PrRoIPool forward -> output (K, C, PH, PW)",
        py::arg("features"), py::arg("rois"), py::arg("pooled_height"),
        py::arg("pooled_width"), py::arg("spatial_scale"));
  m.def("backward", &backward,
        "PrRoIPool backward -> (grad_features, grad_rois); with "
        "features_grad=False (CPU) grad_features is an empty tensor",
        py::arg("grad_output"), py::arg("features"), py::arg("rois"),
        py::arg("output"), py::arg("pooled_height"), py::arg("pooled_width"),
        py::arg("spatial_scale"), py::arg("features_grad") = true);
  m.def("with_cuda", &with_cuda,
        "Whether the extension was compiled with the CUDA kernels");
}
