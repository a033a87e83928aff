// Precise RoI Pooling: declarations of the CPU and CUDA entry points, and the
// math shared by both (usable from .cpp and .cu translation units).
//
// Definition of the op. The feature map is the continuous function
//   F(x, y) = sum_{i, j} f[i, j] * k(x - j) * k(y - i),   k(t) = max(0, 1 - |t|)
// (bilinear interpolation between the samples, falling linearly to zero one
// cell outside the map). A roi [batch, x0, y0, x1, y1] is scaled by
// spatial_scale (no half-pixel offset) and split into PH x PW bins; a bin's
// output is the mean of F over the bin, 0 for a bin of zero area.
//
// The integral is separable: for a bin [a, b] along x the weight of column j
// is the integral of k(x - j) over [a, b]. The code works with normalised
// weights (divided by the bin size), so that
//   out = sum_i wy_i * sum_j wx_j * f[i, j].
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <tuple>

#ifdef __CUDACC__
#define PRROI_HOST_DEVICE __host__ __device__
#else
#define PRROI_HOST_DEVICE
#endif

namespace prroi {

// ---------------------------------------------------------------- entry points

at::Tensor forward_cpu(const at::Tensor& features, const at::Tensor& rois,
                       int64_t pooled_height, int64_t pooled_width,
                       double spatial_scale);

// Returns (grad_features, grad_rois). `output` is the forward result; it may be
// an undefined or empty tensor, in which case it is recomputed. Without
// `features_grad` the feature gradient is skipped (an empty tensor returned):
// refining boxes needs only the rois' gradient.
std::tuple<at::Tensor, at::Tensor> backward_cpu(
    const at::Tensor& grad_output, const at::Tensor& features,
    const at::Tensor& rois, const at::Tensor& output, int64_t pooled_height,
    int64_t pooled_width, double spatial_scale, bool features_grad = true);

#ifdef WITH_CUDA
at::Tensor forward_cuda(const at::Tensor& features, const at::Tensor& rois,
                        int64_t pooled_height, int64_t pooled_width,
                        double spatial_scale);

// The CUDA backward recomputes what it needs in float and ignores `output`.
std::tuple<at::Tensor, at::Tensor> backward_cuda(
    const at::Tensor& grad_output, const at::Tensor& features,
    const at::Tensor& rois, const at::Tensor& output, int64_t pooled_height,
    int64_t pooled_width, double spatial_scale);
#endif

// ---------------------------------------------------------------- shared math

PRROI_HOST_DEVICE inline float floor_(float x) {
#ifdef __CUDA_ARCH__
  return floorf(x);
#else
  return std::floor(x);
#endif
}

PRROI_HOST_DEVICE inline double floor_(double x) {
#ifdef __CUDA_ARCH__
  return ::floor(x);
#else
  return std::floor(x);
#endif
}

PRROI_HOST_DEVICE inline float ceil_(float x) {
#ifdef __CUDA_ARCH__
  return ceilf(x);
#else
  return std::ceil(x);
#endif
}

PRROI_HOST_DEVICE inline double ceil_(double x) {
#ifdef __CUDA_ARCH__
  return ::ceil(x);
#else
  return std::ceil(x);
#endif
}

template <typename T>
PRROI_HOST_DEVICE inline bool finite_(T x) {
#ifdef __CUDA_ARCH__
  return ::isfinite(x);
#else
  return std::isfinite(x);
#endif
}

// The hat k(t) = max(0, 1 - |t|).
template <typename T>
PRROI_HOST_DEVICE inline T hat(T t) {
  const T v = T(1) - (t < T(0) ? -t : t);
  return v > T(0) ? v : T(0);
}

// Integral of the hat k(t) over [u, v] (u <= v), evaluated piecewise as
// (length) x (mean of the linear piece) to avoid the cancellation of
// G(v) - G(u) for short intervals. Equals G(v) - G(u) with G the antiderivative.
template <typename T>
PRROI_HOST_DEVICE inline T hat_integral(T u, T v) {
  T w = T(0);
  // Rising piece on [-1, 0]: k(t) = 1 + t.
  T p = u > T(-1) ? u : T(-1);
  T q = v < T(0) ? v : T(0);
  if (q > p) w += (q - p) * (T(2) + p + q) * T(0.5);
  // Falling piece on [0, 1]: k(t) = 1 - t.
  p = u > T(0) ? u : T(0);
  q = v < T(1) ? v : T(1);
  if (q > p) w += (q - p) * (T(2) - p - q) * T(0.5);
  return w;
}

// Indices [*start, *end) of the samples in [0, n) whose hat overlaps the open
// interval (lo, hi), i.e. floor(lo) <= j <= ceil(hi). Robust to huge or NaN
// coordinates (yields an empty range for NaN).
template <typename T>
PRROI_HOST_DEVICE inline void sample_range(T lo, T hi, int64_t n,
                                           int64_t* start, int64_t* end) {
  const T fl = floor_(lo);
  const T ch = ceil_(hi);
  const T nf = static_cast<T>(n);
  int64_t s, e;
  if (!(fl > T(0))) {
    s = (fl == fl) ? 0 : n;  // NaN -> empty
  } else if (fl >= nf) {
    s = n;
  } else {
    s = static_cast<int64_t>(fl);
  }
  if (!(ch >= T(0))) {
    e = 0;
  } else if (ch >= nf - T(1)) {
    e = n;
  } else {
    e = static_cast<int64_t>(ch) + 1;
  }
  *start = s;
  *end = e > s ? e : s;
}

// Linear interpolation of a line of n samples at x (zero outside, with the
// linear fall-off one cell beyond the ends): the two taps (index, weight).
// Taps that fall outside [0, n) get weight 0 and a clamped index.
template <typename T>
PRROI_HOST_DEVICE inline void edge_taps(T x, int64_t n, int64_t* i0, T* w0,
                                        int64_t* i1, T* w1) {
  const T fl = floor_(x);
  const T nf = static_cast<T>(n);
  *i0 = 0;
  *i1 = 0;
  *w0 = T(0);
  *w1 = T(0);
  if (!(fl >= T(-1)) || !(fl < nf) || n <= 0) return;  // also NaN
  const T frac = x - fl;
  const int64_t j = static_cast<int64_t>(fl);
  if (j >= 0) {
    *i0 = j;
    *w0 = T(1) - frac;
  }
  if (j + 1 < n) {
    *i1 = j + 1;
    *w1 = frac;
  }
}

// Roi geometry after scaling. Not valid for a zero-area roi or non-finite
// coordinates (the CUDA kernels meet those unchecked: they pool to 0).
template <typename T>
struct RoiBox {
  T x0, y0, bin_w, bin_h;
  bool valid;
};

template <typename T>
PRROI_HOST_DEVICE inline RoiBox<T> make_box(T x0, T y0, T x1, T y1,
                                            T spatial_scale,
                                            int64_t pooled_height,
                                            int64_t pooled_width) {
  RoiBox<T> box;
  box.x0 = x0 * spatial_scale;
  box.y0 = y0 * spatial_scale;
  const T w = x1 * spatial_scale - box.x0;
  const T h = y1 * spatial_scale - box.y0;
  box.valid = (w > T(0)) && (h > T(0));
  box.bin_w = box.valid ? w / static_cast<T>(pooled_width) : T(0);
  box.bin_h = box.valid ? h / static_cast<T>(pooled_height) : T(0);
  // A bin so small that its size underflows has zero area too; an infinite
  // size (inf - x) or origin is no area at all.
  box.valid = box.valid && box.bin_w > T(0) && box.bin_h > T(0) &&
              finite_(box.x0) && finite_(box.y0) && finite_(w) && finite_(h);
  return box;
}

// One bin's share of the roi gradient: the terms that add_bin_roi_gradient adds
// to the corner sums, written to *x0, *y0, *x1, *y1. g is the bin's output
// gradient, o its output, ea..ed the integrals along its left, right, top and
// bottom edges; the edges sit at X0 + pw/PW (X1 - X0), and so on. A separate
// function so that the CPU kernels can compute the terms of many channels at
// once and add them in order later, with the same values.
template <typename acc_t>
PRROI_HOST_DEVICE inline void bin_roi_gradient(
    acc_t g, acc_t o, acc_t ea, acc_t eb, acc_t ec, acc_t ed, int64_t pw,
    int64_t ph, int64_t PW, int64_t PH, acc_t inv_bw, acc_t inv_bh, acc_t* x0,
    acc_t* y0, acc_t* x1, acc_t* y1) {
  // d out / d (left, right, top, bottom) edge, times g.
  const acc_t da = g * (o - ea) * inv_bw;
  const acc_t db = g * (eb - o) * inv_bw;
  const acc_t dc = g * (o - ec) * inv_bh;
  const acc_t dd = g * (ed - o) * inv_bh;
  const acc_t ta = static_cast<acc_t>(pw) / static_cast<acc_t>(PW);
  const acc_t tb = static_cast<acc_t>(pw + 1) / static_cast<acc_t>(PW);
  const acc_t tc = static_cast<acc_t>(ph) / static_cast<acc_t>(PH);
  const acc_t td = static_cast<acc_t>(ph + 1) / static_cast<acc_t>(PH);
  *x0 = (acc_t(1) - ta) * da + (acc_t(1) - tb) * db;
  *x1 = ta * da + tb * db;
  *y0 = (acc_t(1) - tc) * dc + (acc_t(1) - td) * dd;
  *y1 = tc * dc + td * dd;
}

// Adds one bin's share of the roi gradient (bin_roi_gradient) to the corner
// sums.
template <typename acc_t>
PRROI_HOST_DEVICE inline void add_bin_roi_gradient(
    acc_t g, acc_t o, acc_t ea, acc_t eb, acc_t ec, acc_t ed, int64_t pw,
    int64_t ph, int64_t PW, int64_t PH, acc_t inv_bw, acc_t inv_bh, acc_t* sx0,
    acc_t* sy0, acc_t* sx1, acc_t* sy1) {
  acc_t x0, y0, x1, y1;
  bin_roi_gradient(g, o, ea, eb, ec, ed, pw, ph, PW, PH, inv_bw, inv_bh, &x0,
                   &y0, &x1, &y1);
  *sx0 += x0;
  *sx1 += x1;
  *sy0 += y0;
  *sy1 += y1;
}

}  // namespace prroi
