// Precise RoI Pooling, CUDA kernels (float32, float16, bfloat16; float64 too).
// Arithmetic is done in at::opmath_type<scalar_t> (float for the reduced
// precision types), except the bin geometry: bin edges and their offsets from
// the sample positions are worked out in double, because in float, edges far
// from the origin lose the digits that small bins need.
//
// Forward: one thread per output element (k, c, ph, pw).
// Backward: a 2-D grid, blockIdx.x = roi, blockIdx.y = slice of that roi's
// (c, ph, pw) elements. Each thread scatters its element's feature gradient
// with atomic adds (into an opmath buffer, cast at the end for half/bfloat16)
// and accumulates the roi gradient, which the block reduces in shared memory
// and adds to an opmath (K, 4) buffer with one atomic add per coordinate.
#include "prroi_pool.h"

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/Atomic.cuh>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>
#include <limits>

namespace prroi {
namespace {

constexpr int kThreads = 256;

template <typename scalar_t>
__device__ inline bool roi_setup(const scalar_t* roi, int64_t B,
                                 double spatial_scale, int64_t PH, int64_t PW,
                                 int64_t* b, RoiBox<double>* box) {
  // Rows the CPU binding would refuse (a batch index that is not an integer in
  // [0, B), non-finite coordinates: make_box) pool to 0, with zero gradients.
  const double bf = static_cast<double>(roi[0]);
  if (!(bf >= 0.0 && bf < static_cast<double>(B) && bf == floor_(bf))) return false;
  *b = static_cast<int64_t>(bf);
  *box = make_box<double>(static_cast<double>(roi[1]), static_cast<double>(roi[2]),
                          static_cast<double>(roi[3]), static_cast<double>(roi[4]),
                          spatial_scale, PH, PW);
  return box->valid;
}

template <typename scalar_t, typename acc_t>
__global__ void forward_kernel(const scalar_t* __restrict__ features,
                               const scalar_t* __restrict__ rois,
                               scalar_t* __restrict__ output, int64_t B,
                               int64_t C, int64_t H, int64_t W, int64_t PH,
                               int64_t PW, double spatial_scale, int64_t total) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       idx < total; idx += stride) {
    const int64_t pw = idx % PW;
    const int64_t ph = (idx / PW) % PH;
    const int64_t c = (idx / (PW * PH)) % C;
    const int64_t k = idx / (PW * PH * C);
    int64_t b = 0;
    RoiBox<double> box;
    acc_t result = acc_t(0);
    if (roi_setup(rois + k * 5, B, spatial_scale, PH, PW, &b, &box)) {
      const double left = box.x0 + static_cast<double>(pw) * box.bin_w;
      const double right = box.x0 + static_cast<double>(pw + 1) * box.bin_w;
      const double top = box.y0 + static_cast<double>(ph) * box.bin_h;
      const double bottom = box.y0 + static_cast<double>(ph + 1) * box.bin_h;
      const acc_t inv_bw = static_cast<acc_t>(1.0 / box.bin_w);
      const acc_t inv_bh = static_cast<acc_t>(1.0 / box.bin_h);
      int64_t ys, ye, xs, xe;
      sample_range(top, bottom, H, &ys, &ye);
      sample_range(left, right, W, &xs, &xe);
      const scalar_t* plane = features + (b * C + c) * H * W;
      for (int64_t i = ys; i < ye; ++i) {
        const double fi = static_cast<double>(i);
        const acc_t wy = hat_integral(static_cast<acc_t>(top - fi), static_cast<acc_t>(bottom - fi)) * inv_bh;
        const scalar_t* row = plane + i * W;
        acc_t s = acc_t(0);
        for (int64_t j = xs; j < xe; ++j) {
          const double fj = static_cast<double>(j);
          const acc_t wx = hat_integral(static_cast<acc_t>(left - fj), static_cast<acc_t>(right - fj)) * inv_bw;
          s += wx * static_cast<acc_t>(row[j]);
        }
        result += wy * s;
      }
    }
    output[idx] = static_cast<scalar_t>(result);
  }
}

template <typename scalar_t, typename acc_t>
__global__ void backward_kernel(const scalar_t* __restrict__ grad_output,
                                const scalar_t* __restrict__ features,
                                const scalar_t* __restrict__ rois,
                                acc_t* __restrict__ grad_features,
                                acc_t* __restrict__ grad_rois, int64_t B,
                                int64_t C, int64_t H, int64_t W, int64_t PH,
                                int64_t PW, double spatial_scale) {
  __shared__ acc_t shared[4][kThreads];
  const int64_t k = blockIdx.x;
  int64_t b = 0;
  RoiBox<double> box;
  // Uniform across the block, so returning before __syncthreads is safe.
  if (!roi_setup(rois + k * 5, B, spatial_scale, PH, PW, &b, &box)) return;

  const int64_t per_roi = C * PH * PW;
  const acc_t inv_bw = static_cast<acc_t>(1.0 / box.bin_w);
  const acc_t inv_bh = static_cast<acc_t>(1.0 / box.bin_h);
  acc_t sx0 = 0, sy0 = 0, sx1 = 0, sy1 = 0;

  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.y;
  for (int64_t e = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
       e < per_roi; e += stride) {
    const acc_t g = static_cast<acc_t>(grad_output[k * per_roi + e]);
    if (g == acc_t(0)) continue;
    const int64_t pw = e % PW;
    const int64_t ph = (e / PW) % PH;
    const int64_t c = e / (PW * PH);
    const double left = box.x0 + static_cast<double>(pw) * box.bin_w;
    const double right = box.x0 + static_cast<double>(pw + 1) * box.bin_w;
    const double top = box.y0 + static_cast<double>(ph) * box.bin_h;
    const double bottom = box.y0 + static_cast<double>(ph + 1) * box.bin_h;
    int64_t ys, ye, xs, xe;
    sample_range(top, bottom, H, &ys, &ye);
    sample_range(left, right, W, &xs, &xe);
    const int64_t plane_off = (b * C + c) * H * W;
    const scalar_t* plane = features + plane_off;
    acc_t* gplane = grad_features + plane_off;

    // out = I; ea/eb: mean of F along the left/right edge (weighted by the
    // row weights); ec/ed: along the top/bottom edge.
    acc_t I = 0, ea = 0, eb = 0, ec = 0, ed = 0;
    for (int64_t i = ys; i < ye; ++i) {
      const double fi = static_cast<double>(i);
      const acc_t wy = hat_integral(static_cast<acc_t>(top - fi), static_cast<acc_t>(bottom - fi)) * inv_bh;
      const acc_t gy = g * wy;
      const scalar_t* row = plane + i * W;
      acc_t* grow = gplane + i * W;
      acc_t ri = 0, ra = 0, rb = 0;
      for (int64_t j = xs; j < xe; ++j) {
        const double fj = static_cast<double>(j);
        const acc_t wx = hat_integral(static_cast<acc_t>(left - fj), static_cast<acc_t>(right - fj)) * inv_bw;
        const acc_t f = static_cast<acc_t>(row[j]);
        ri += wx * f;
        ra += hat(static_cast<acc_t>(left - fj)) * f;
        rb += hat(static_cast<acc_t>(right - fj)) * f;
        const acc_t gv = gy * wx;
        if (gv != acc_t(0)) gpuAtomicAdd(grow + j, gv);
      }
      I += wy * ri;
      ea += wy * ra;
      eb += wy * rb;
      ec += hat(static_cast<acc_t>(top - fi)) * ri;
      ed += hat(static_cast<acc_t>(bottom - fi)) * ri;
    }
    add_bin_roi_gradient(g, I, ea, eb, ec, ed, pw, ph, PW, PH, inv_bw, inv_bh,
                         &sx0, &sy0, &sx1, &sy1);
  }

  const int t = threadIdx.x;
  shared[0][t] = sx0;
  shared[1][t] = sy0;
  shared[2][t] = sx1;
  shared[3][t] = sy1;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (t < s) {
      for (int q = 0; q < 4; ++q) shared[q][t] += shared[q][t + s];
    }
    __syncthreads();
  }
  if (t < 4) {
    gpuAtomicAdd(grad_rois + k * 4 + t, shared[t][0] * static_cast<acc_t>(spatial_scale));
  }
}

}  // namespace

// The inputs were validated by the binding (bindings.cpp), the only caller;
// roi values are not read on the host (that would synchronise): roi_setup
// makes a row with an invalid batch index or non-finite coordinates pool to 0.

at::Tensor forward_cuda(const at::Tensor& features_in,
                        const at::Tensor& rois_in, int64_t pooled_height,
                        int64_t pooled_width, double spatial_scale) {
  c10::cuda::CUDAGuard device_guard(features_in.device());
  const at::Tensor features = features_in.contiguous();
  const at::Tensor rois = rois_in.contiguous();
  const int64_t B = features.size(0), C = features.size(1),
                H = features.size(2), W = features.size(3), K = rois.size(0);
  at::Tensor output =
      at::empty({K, C, pooled_height, pooled_width}, features.options());
  const int64_t total = output.numel();
  if (total == 0) return output;
  if (features.numel() == 0) return output.zero_();

  const int64_t blocks =
      std::min<int64_t>((total + kThreads - 1) / kThreads, int64_t(1) << 20);
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(
      at::kHalf, at::kBFloat16, features.scalar_type(),
      "prroi_pool_forward_cuda", [&] {
        using acc_t = at::opmath_type<scalar_t>;
        forward_kernel<scalar_t, acc_t><<<blocks, kThreads, 0, stream>>>(
            features.const_data_ptr<scalar_t>(),
            rois.const_data_ptr<scalar_t>(),
            output.mutable_data_ptr<scalar_t>(), B, C, H, W, pooled_height,
            pooled_width, spatial_scale, total);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
  return output;
}

std::tuple<at::Tensor, at::Tensor> backward_cuda(
    const at::Tensor& grad_output_in, const at::Tensor& features_in,
    const at::Tensor& rois_in, const at::Tensor& /*output*/,
    int64_t pooled_height, int64_t pooled_width, double spatial_scale) {
  c10::cuda::CUDAGuard device_guard(features_in.device());
  const at::Tensor features = features_in.contiguous();
  const at::Tensor rois = rois_in.contiguous();
  const int64_t B = features.size(0), C = features.size(1),
                H = features.size(2), W = features.size(3), K = rois.size(0);
  TORCH_CHECK(grad_output_in.device() == features.device() &&
                  grad_output_in.scalar_type() == features.scalar_type(),
              "prroi_pool CUDA: grad_output must be on the features' device "
              "with the features' dtype");
  TORCH_CHECK(grad_output_in.sizes() ==
                  at::IntArrayRef({K, C, pooled_height, pooled_width}),
              "prroi_pool: grad_output must have shape (K, C, PH, PW)");
  const at::Tensor grad_output = grad_output_in.contiguous();

  const at::ScalarType acc_type =
      at::toOpMathType(features.scalar_type());
  at::Tensor grad_features_acc =
      at::zeros(features.sizes(), features.options().dtype(acc_type));
  at::Tensor grad_rois_acc =
      at::zeros({K, 4}, rois.options().dtype(acc_type));

  const int64_t per_roi = C * pooled_height * pooled_width;
  // One block row per roi: gridDim.x holds at most 2^31 - 1.
  TORCH_CHECK(K <= std::numeric_limits<int32_t>::max(),
              "prroi_pool CUDA: at most 2^31 - 1 rois per call, got ", K);
  if (K > 0 && per_roi > 0 && features.numel() > 0) {
    const int64_t slices = std::min<int64_t>(
        (per_roi + kThreads * 4 - 1) / (kThreads * 4), 65535);
    const dim3 grid(static_cast<unsigned int>(K),
                    static_cast<unsigned int>(slices));
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES_AND2(
        at::kHalf, at::kBFloat16, features.scalar_type(),
        "prroi_pool_backward_cuda", [&] {
          using acc_t = at::opmath_type<scalar_t>;
          backward_kernel<scalar_t, acc_t><<<grid, kThreads, 0, stream>>>(
              grad_output.const_data_ptr<scalar_t>(),
              features.const_data_ptr<scalar_t>(),
              rois.const_data_ptr<scalar_t>(),
              grad_features_acc.mutable_data_ptr<acc_t>(),
              grad_rois_acc.mutable_data_ptr<acc_t>(), B, C, H, W,
              pooled_height, pooled_width, spatial_scale);
          C10_CUDA_KERNEL_LAUNCH_CHECK();
        });
  }

  at::Tensor grad_features =
      grad_features_acc.scalar_type() == features.scalar_type()
          ? grad_features_acc
          : grad_features_acc.to(features.scalar_type());
  at::Tensor grad_rois = at::zeros_like(rois);
  grad_rois.narrow(1, 1, 4).copy_(grad_rois_acc);
  return std::make_tuple(grad_features, grad_rois);
}

}  // namespace prroi
