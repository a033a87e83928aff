// Python bindings of the Precise RoI Pooling op: dispatch to the CPU or CUDA
// kernels by the device of the features. The one C++ validation of the inputs
// lives here (the kernels' entry points are reached only through it); the
// Python wrapper checks shapes, dtypes and devices only, without reading values.
//
// Roi values: on the CPU, rows with non-finite coordinates or a batch index
// that is not an integer in [0, B) are a ValueError naming them. On CUDA,
// reading them back would synchronise the device on every call, so the kernels
// handle them on the device instead: such a row pools to zeros, and its
// gradients are zero.
#include <torch/extension.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "prroi_pool.h"

namespace {

// At most this many offending rows are named in an error.
constexpr size_t kNamedRows = 10;

template <typename T>
std::string first_rows(const std::vector<T>& values) {
  std::ostringstream text;
  text << "[";
  for (size_t i = 0; i < values.size() && i < kNamedRows; ++i) {
    text << (i ? ", " : "") << values[i];
  }
  text << "]";
  return text.str();
}

// CPU rois (K, 5), contiguous: finite, with integer batch indices in [0, B).
template <typename scalar_t>
void check_roi_values(const at::Tensor& rois, int64_t batch) {
  const scalar_t* r = rois.const_data_ptr<scalar_t>();
  std::vector<int64_t> non_finite, outside;
  std::vector<double> outside_index;
  for (int64_t k = 0; k < rois.size(0); ++k) {
    const scalar_t* row = r + k * 5;
    bool finite = true;
    for (int q = 0; q < 5; ++q) finite = finite && std::isfinite(static_cast<double>(row[q]));
    if (!finite) {
      non_finite.push_back(k);
      continue;
    }
    const double index = static_cast<double>(row[0]);
    if (index < 0 || index >= static_cast<double>(batch) || index != std::floor(index)) {
      outside.push_back(k);
      outside_index.push_back(index);
    }
  }
  TORCH_CHECK_VALUE(non_finite.empty(),
                    "rois hold non-finite values (NaN or inf) in rows ",
                    first_rows(non_finite));
  TORCH_CHECK_VALUE(outside.empty(), "batch indices of rois rows ",
                    first_rows(outside), " (", first_rows(outside_index),
                    ") are not integers in [0, ", batch, ")");
}

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

// The features as the kernels read them: CPU features in channels-last memory
// as they are (the CPU kernels have channels-last variants), else row-major.
at::Tensor kernel_layout(const at::Tensor& features) {
  if (features.device().is_cpu() &&
      features.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    return features;
  }
  return features.contiguous();
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
  const at::Tensor f = kernel_layout(features);
  const at::Tensor r = rois.contiguous();
  if (f.is_cuda()) {
#ifdef WITH_CUDA
    // Roi values are handled on the device (see the top of this file).
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
  AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "prroi_pool_check_rois", [&] {
    check_roi_values<scalar_t>(r, f.size(0));
  });
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
  const at::Tensor f = kernel_layout(features);
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
