// Precise RoI Pooling, CPU kernels (float32 and float64).
//
// Forward: parallel over rois (each roi owns its output rows).
// Backward: parallel over chunks of channels, so that the scatter into the
// feature gradient never races (a chunk owns its channels for every roi); each
// chunk accumulates its share of the roi gradients in a private buffer, and the
// buffers are summed in chunk order at the end.
//
// Features in channels-last memory (the tracker's backbone output) take the
// channels-last kernels for the forward and the roi gradient alone; they give
// the row-major kernels' values bit for bit (see "channels-last kernels").
#include "prroi_pool.h"

#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#define PRROI_AVX2_VARIANT 1
#define PRROI_ALWAYS_INLINE __attribute__((always_inline))
#else
#define PRROI_AVX2_VARIANT 0
#define PRROI_ALWAYS_INLINE
#endif

namespace prroi {
namespace {

// Per-roi weights along one axis: for each of the P bins, the range of samples
// it touches and their normalised weights; for each of the P + 1 bin edges,
// the two interpolation taps (used by the roi gradient). The geometry is worked
// out in double whatever T is: in float, bin edges far from the origin lose the
// digits that small bins need. Only the weights are stored as T.
template <typename T>
struct Axis {
  std::vector<int64_t> start, len, off;
  std::vector<T> w;
  std::vector<int64_t> e_i0, e_i1;
  std::vector<T> e_w0, e_w1;

  void compute(double lo, double bin, int64_t P, int64_t n, bool edges) {
    start.resize(P);
    len.resize(P);
    off.resize(P);
    w.clear();
    const double inv = 1.0 / bin;
    for (int64_t p = 0; p < P; ++p) {
      const double a = lo + static_cast<double>(p) * bin;
      const double b = lo + static_cast<double>(p + 1) * bin;
      int64_t s, e;
      sample_range(a, b, n, &s, &e);
      start[p] = s;
      len[p] = e - s;
      off[p] = static_cast<int64_t>(w.size());
      for (int64_t j = s; j < e; ++j) {
        const double jf = static_cast<double>(j);
        w.push_back(static_cast<T>(hat_integral(a - jf, b - jf) * inv));
      }
    }
    if (!edges) return;
    e_i0.resize(P + 1);
    e_i1.resize(P + 1);
    e_w0.resize(P + 1);
    e_w1.resize(P + 1);
    for (int64_t p = 0; p <= P; ++p) {
      double w0, w1;
      edge_taps(lo + static_cast<double>(p) * bin, n, &e_i0[p], &w0, &e_i1[p], &w1);
      e_w0[p] = static_cast<T>(w0);
      e_w1[p] = static_cast<T>(w1);
    }
  }
};

template <typename scalar_t>
inline bool batch_of(const scalar_t* roi, int64_t batch, int64_t* b) {
  const scalar_t bf = roi[0];
  if (!(bf >= scalar_t(0) && bf < static_cast<scalar_t>(batch))) return false;
  *b = static_cast<int64_t>(bf);
  return true;
}

// Reads roi (5 values): its image's batch index into *b, its box into *box and
// its axes' weights into *ax, *ay (with the bin edges' taps when `edges`).
// False when the roi pools nothing: a batch index outside [0, B) or a box that
// is not valid (make_box).
template <typename scalar_t, typename acc_t>
bool read_roi(const scalar_t* roi, int64_t B, int64_t H, int64_t W, int64_t PH,
              int64_t PW, double spatial_scale, bool edges, int64_t* b,
              RoiBox<double>* box, Axis<acc_t>* ax, Axis<acc_t>* ay) {
  if (!batch_of(roi, B, b)) return false;
  *box = make_box<double>(
      static_cast<double>(roi[1]), static_cast<double>(roi[2]),
      static_cast<double>(roi[3]), static_cast<double>(roi[4]), spatial_scale,
      PH, PW);
  if (!box->valid) return false;
  ax->compute(box->x0, box->bin_w, PW, W, edges);
  ay->compute(box->y0, box->bin_h, PH, H, edges);
  return true;
}

// The forward's work split, shared by the row-major and the channels-last
// kernels: the rois in parallel (each roi owns its output rows). For each roi,
// body(&state, b, ax, ay, out_k) writes the C * PH * PW outputs of a roi that
// pools something; a roi that pools nothing gets zeros. `State` is the body's
// scratch, one per thread.
template <typename State, typename scalar_t, typename Body>
void forward_by_rois(const scalar_t* rois, scalar_t* output, int64_t B,
                     int64_t C, int64_t H, int64_t W, int64_t K, int64_t PH,
                     int64_t PW, double spatial_scale, const Body& body) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t bins = PH * PW;
  at::parallel_for(0, K, 1, [&](int64_t k_begin, int64_t k_end) {
    Axis<acc_t> ax, ay;
    State state;
    for (int64_t k = k_begin; k < k_end; ++k) {
      scalar_t* out_k = output + k * C * bins;
      int64_t b = 0;
      RoiBox<double> box;
      if (!read_roi(rois + k * 5, B, H, W, PH, PW, spatial_scale, false, &b,
                    &box, &ax, &ay)) {
        std::fill(out_k, out_k + C * bins, scalar_t(0));
        continue;
      }
      body(&state, b, ax, ay, out_k);
    }
  });
}

template <typename scalar_t>
void forward_kernel(const scalar_t* features, const scalar_t* rois,
                    scalar_t* output, int64_t B, int64_t C, int64_t H,
                    int64_t W, int64_t K, int64_t PH, int64_t PW,
                    double spatial_scale) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t bins = PH * PW;
  struct NoState {};
  forward_by_rois<NoState>(
      rois, output, B, C, H, W, K, PH, PW, spatial_scale,
      [&](NoState*, int64_t b, const Axis<acc_t>& ax, const Axis<acc_t>& ay,
          scalar_t* out_k) {
        for (int64_t c = 0; c < C; ++c) {
          const scalar_t* plane = features + (b * C + c) * H * W;
          scalar_t* o = out_k + c * bins;
          for (int64_t ph = 0; ph < PH; ++ph) {
            const int64_t ys = ay.start[ph], yl = ay.len[ph];
            const acc_t* wy = ay.w.data() + ay.off[ph];
            for (int64_t pw = 0; pw < PW; ++pw) {
              const int64_t xs = ax.start[pw], xl = ax.len[pw];
              const acc_t* wx = ax.w.data() + ax.off[pw];
              acc_t acc = 0;
              for (int64_t r = 0; r < yl; ++r) {
                const scalar_t* row = plane + (ys + r) * W + xs;
                acc_t s = 0;
                for (int64_t q = 0; q < xl; ++q) {
                  s += static_cast<acc_t>(row[q]) * wx[q];
                }
                acc += wy[r] * s;
              }
              o[ph * PW + pw] = static_cast<scalar_t>(acc);
            }
          }
        }
      });
}

// The roi gradients (K, 5) from the chunks' partial sums (chunk, roi, 4), added
// in chunk order and scaled back to image coordinates.
template <typename scalar_t, typename acc_t>
void sum_chunks(const std::vector<acc_t>& partial, int64_t chunks, int64_t K,
                double spatial_scale, scalar_t* grad_rois) {
  const acc_t scale = static_cast<acc_t>(spatial_scale);
  for (int64_t k = 0; k < K; ++k) {
    acc_t s[4] = {0, 0, 0, 0};
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      for (int q = 0; q < 4; ++q) s[q] += partial[(chunk * K + k) * 4 + q];
    }
    scalar_t* gr = grad_rois + k * 5;
    gr[0] = scalar_t(0);
    for (int q = 0; q < 4; ++q) gr[q + 1] = static_cast<scalar_t>(s[q] * scale);
  }
}

// The roi gradients' work split, shared by the row-major and the channels-last
// kernels so that both sum alike: the channels in chunks (one per thread, so
// that a chunk's feature gradient never races with another's), each chunk's
// sums per roi (d/dX0, d/dY0, d/dX1, d/dY1 in scaled coordinates) kept apart and
// added in chunk order by sum_chunks. For each chunk and each roi that pools
// something, body(&state, c_begin, c_end, k, b, ax, ay, inv_bw, inv_bh, s) adds
// roi k's share over channels [c_begin, c_end) to s[0..3] (X0, Y0, X1, Y1);
// `State` is the body's scratch, one per thread.
template <typename State, typename scalar_t, typename Body>
void roi_gradient_by_chunks(const scalar_t* rois, int64_t B, int64_t C,
                            int64_t H, int64_t W, int64_t K, int64_t PH,
                            int64_t PW, double spatial_scale,
                            scalar_t* grad_rois, const Body& body) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t chunks =
      std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), C));
  std::vector<acc_t> partial(static_cast<size_t>(chunks * K * 4), acc_t(0));
  at::parallel_for(0, chunks, 1, [&](int64_t ch_begin, int64_t ch_end) {
    Axis<acc_t> ax, ay;
    State state;
    for (int64_t chunk = ch_begin; chunk < ch_end; ++chunk) {
      const int64_t c_begin = chunk * C / chunks;
      const int64_t c_end = (chunk + 1) * C / chunks;
      acc_t* acc_rois = partial.data() + chunk * K * 4;
      for (int64_t k = 0; k < K; ++k) {
        int64_t b = 0;
        RoiBox<double> box;
        if (!read_roi(rois + k * 5, B, H, W, PH, PW, spatial_scale, true, &b,
                      &box, &ax, &ay)) {
          continue;
        }
        const acc_t inv_bw = static_cast<acc_t>(1.0 / box.bin_w);
        const acc_t inv_bh = static_cast<acc_t>(1.0 / box.bin_h);
        acc_t s[4] = {0, 0, 0, 0};
        body(&state, c_begin, c_end, k, b, ax, ay, inv_bw, inv_bh, s);
        for (int q = 0; q < 4; ++q) acc_rois[k * 4 + q] += s[q];
      }
    }
  });
  sum_chunks(partial, chunks, K, spatial_scale, grad_rois);
}

// The roi gradient of roi k over channels [c_begin, c_end), accumulated into
// *sx0.. in the order of backward_kernel's loop (channel, bin row, bin column).
template <typename scalar_t, typename acc_t>
void roi_gradient_shared_edges(const scalar_t* grad_output,
                               const scalar_t* features,
                               const scalar_t* output, const Axis<acc_t>& ax,
                               const Axis<acc_t>& ay, int64_t b,
                               int64_t c_begin, int64_t c_end, int64_t k,
                               int64_t C, int64_t H, int64_t W, int64_t PH,
                               int64_t PW, acc_t inv_bw, acc_t inv_bh,
                               acc_t* sx0_out, acc_t* sy0_out, acc_t* sx1_out,
                               acc_t* sy1_out) {
  const int64_t bins = PH * PW;
  // vertical[ph * (PW + 1) + p]: integral along vertical edge p over bin row
  // ph; horizontal[pw * (PH + 1) + p]: along horizontal edge p over column pw.
  std::vector<acc_t> vertical(static_cast<size_t>(PH * (PW + 1)));
  std::vector<acc_t> horizontal(static_cast<size_t>(PW * (PH + 1)));
  acc_t sx0 = *sx0_out, sy0 = *sy0_out, sx1 = *sx1_out, sy1 = *sy1_out;
  for (int64_t c = c_begin; c < c_end; ++c) {
    const scalar_t* plane = features + (b * C + c) * H * W;
    const scalar_t* go = grad_output + (k * C + c) * bins;
    const scalar_t* op = output + (k * C + c) * bins;
    for (int64_t ph = 0; ph < PH; ++ph) {
      const int64_t ys = ay.start[ph], yl = ay.len[ph];
      const acc_t* wy = ay.w.data() + ay.off[ph];
      for (int64_t p = 0; p <= PW; ++p) {
        const int64_t l0 = ax.e_i0[p], l1 = ax.e_i1[p];
        const acc_t w0 = ax.e_w0[p], w1 = ax.e_w1[p];
        acc_t e = 0;
        for (int64_t r = 0; r < yl; ++r) {
          const scalar_t* row = plane + (ys + r) * W;
          const acc_t f = w0 * static_cast<acc_t>(row[l0]) +
                          w1 * static_cast<acc_t>(row[l1]);
          e += wy[r] * f;
        }
        vertical[ph * (PW + 1) + p] = e;
      }
    }
    for (int64_t pw = 0; pw < PW; ++pw) {
      const int64_t xs = ax.start[pw], xl = ax.len[pw];
      const acc_t* wx = ax.w.data() + ax.off[pw];
      for (int64_t p = 0; p <= PH; ++p) {
        const scalar_t* r0 = plane + ay.e_i0[p] * W + xs;
        const scalar_t* r1 = plane + ay.e_i1[p] * W + xs;
        const acc_t w0 = ay.e_w0[p], w1 = ay.e_w1[p];
        acc_t e = 0;
        for (int64_t q = 0; q < xl; ++q) {
          const acc_t f = w0 * static_cast<acc_t>(r0[q]) +
                          w1 * static_cast<acc_t>(r1[q]);
          e += wx[q] * f;
        }
        horizontal[pw * (PH + 1) + p] = e;
      }
    }
    for (int64_t ph = 0; ph < PH; ++ph) {
      for (int64_t pw = 0; pw < PW; ++pw) {
        const acc_t g = static_cast<acc_t>(go[ph * PW + pw]);
        if (g == acc_t(0)) continue;
        const acc_t ea = vertical[ph * (PW + 1) + pw];
        const acc_t eb = vertical[ph * (PW + 1) + pw + 1];
        const acc_t ec = horizontal[pw * (PH + 1) + ph];
        const acc_t ed = horizontal[pw * (PH + 1) + ph + 1];
        const acc_t o = static_cast<acc_t>(op[ph * PW + pw]);
        add_bin_roi_gradient(g, o, ea, eb, ec, ed, pw, ph, PW, PH, inv_bw, inv_bh,
                             &sx0, &sy0, &sx1, &sy1);
      }
    }
  }
  *sx0_out = sx0;
  *sy0_out = sy0;
  *sx1_out = sx1;
  *sy1_out = sy1;
}

// ------------------------------------------------------- channels-last kernels
//
// Features in channels-last memory (B, H, W, C strides): every sample's C
// channels are contiguous, so each loop of the row-major kernels runs as an
// inner loop across the channels. Each channel (lane) does exactly the
// row-major kernels' operations on the same operands in the same order, so the
// results are the same bit for bit: only independent channels are interleaved,
// never the terms of one sum. That holds for vector code as long as no multiply
// and add are contracted into a fused multiply-add: the baseline build (x86-64,
// SSE2) has no FMA, and the AVX2 variant below is compiled without it.
//
// Layout of one image: sample (y, x) of channel c at base + y * sH + x * sW + c
// (the strides of the tensor, channel stride 1).

// Whether the features take the channels-last kernels: channels-last
// contiguous and not also row-major contiguous (a tensor that is both, such as
// one with a single channel, takes the row-major kernels).
bool channels_last_only(const at::Tensor& features) {
  return features.is_contiguous(at::MemoryFormat::ChannelsLast) &&
         !features.is_contiguous();
}

struct Strides {
  int64_t b, h, w;
};

Strides strides_of(const at::Tensor& features) {
  return Strides{features.stride(0), features.stride(2), features.stride(3)};
}

// Scratch for the forward of one bin across n channels.
template <typename acc_t>
struct ForwardScratch {
  std::vector<acc_t> acc, s;
  void resize(int64_t n) {
    acc.resize(static_cast<size_t>(n));
    s.resize(static_cast<size_t>(n));
  }
};

// GCC vector types: element-wise IEEE operations, one lane per channel (no
// contraction: the builds have no FMA). 32 bytes: two SSE2 registers or one
// AVX register.
template <typename T>
struct VectorOf {
  typedef T type __attribute__((vector_size(32)));
};

// Vectors per block of the forward's register-held sums.
constexpr int64_t kForwardVectors = 2;

// One bin over a block of kForwardVectors vectors of channels starting at
// `channels` (the image's sample (0, 0) at the first of them), into acc:
// acc[c] = sum_r wy[r] * (sum_q wx[q] * f[c]), the row-major kernel's
// operations in its order, the sums held in registers.
template <typename scalar_t, typename acc_t>
PRROI_ALWAYS_INLINE inline void forward_bin_block(
    const scalar_t* channels, Strides st, int64_t ys, int64_t yl,
    const acc_t* wy, int64_t xs, int64_t xl, const acc_t* wx, acc_t* acc) {
  static_assert(std::is_same_v<scalar_t, acc_t>,
                "the vector loads read the features as acc_t");
  using V = typename VectorOf<acc_t>::type;
  constexpr int64_t lanes = sizeof(V) / sizeof(acc_t);
  V a[kForwardVectors];
  for (int64_t v = 0; v < kForwardVectors; ++v) a[v] = V{};
  for (int64_t r = 0; r < yl; ++r) {
    const scalar_t* row = channels + (ys + r) * st.h + xs * st.w;
    V s[kForwardVectors];
    for (int64_t v = 0; v < kForwardVectors; ++v) s[v] = V{};
    for (int64_t q = 0; q < xl; ++q) {
      const scalar_t* sample = row + q * st.w;
      const acc_t w = wx[q];
      for (int64_t v = 0; v < kForwardVectors; ++v) {
        V x;
        std::memcpy(&x, sample + v * lanes, sizeof(V));
        s[v] += x * w;
      }
    }
    const acc_t w = wy[r];
    for (int64_t v = 0; v < kForwardVectors; ++v) a[v] += w * s[v];
  }
  std::memcpy(acc, a, sizeof(a));
}

// The same over n channels, the sums in memory (acc and s of n).
template <typename scalar_t, typename acc_t>
PRROI_ALWAYS_INLINE inline void forward_bin_channels(
    const scalar_t* channels, Strides st, int64_t ys, int64_t yl,
    const acc_t* wy, int64_t xs, int64_t xl, const acc_t* wx, int64_t n,
    acc_t* __restrict__ acc, acc_t* __restrict__ s) {
  for (int64_t c = 0; c < n; ++c) acc[c] = acc_t(0);
  for (int64_t r = 0; r < yl; ++r) {
    const scalar_t* row = channels + (ys + r) * st.h + xs * st.w;
    for (int64_t c = 0; c < n; ++c) s[c] = acc_t(0);
    for (int64_t q = 0; q < xl; ++q) {
      const scalar_t* __restrict__ sample = row + q * st.w;
      const acc_t w = wx[q];
      for (int64_t c = 0; c < n; ++c) {
        s[c] += static_cast<acc_t>(sample[c]) * w;
      }
    }
    const acc_t w = wy[r];
    for (int64_t c = 0; c < n; ++c) acc[c] += w * s[c];
  }
}

// Forward of roi k (valid box, image `image`) into out_k (C, PH, PW), bin by
// bin, the channels in blocks (forward_bin_block) and the rest.
template <typename scalar_t, typename acc_t>
PRROI_ALWAYS_INLINE inline void forward_roi_nhwc_body(
    const scalar_t* image, Strides st, const Axis<acc_t>& ax,
    const Axis<acc_t>& ay, int64_t C, int64_t PH, int64_t PW, scalar_t* out_k,
    ForwardScratch<acc_t>* scratch) {
  const int64_t bins = PH * PW;
  acc_t* __restrict__ acc = scratch->acc.data();
  acc_t* __restrict__ s = scratch->s.data();
  constexpr int64_t block =
      kForwardVectors * sizeof(typename VectorOf<acc_t>::type) / sizeof(acc_t);
  const int64_t blocked = C - C % block;
  for (int64_t ph = 0; ph < PH; ++ph) {
    const int64_t ys = ay.start[ph], yl = ay.len[ph];
    const acc_t* wy = ay.w.data() + ay.off[ph];
    for (int64_t pw = 0; pw < PW; ++pw) {
      const int64_t xs = ax.start[pw], xl = ax.len[pw];
      const acc_t* wx = ax.w.data() + ax.off[pw];
      for (int64_t c = 0; c < blocked; c += block) {
        forward_bin_block(image + c, st, ys, yl, wy, xs, xl, wx, acc + c);
      }
      if (blocked < C) {
        forward_bin_channels(image + blocked, st, ys, yl, wy, xs, xl, wx,
                             C - blocked, acc + blocked, s);
      }
      scalar_t* o = out_k + ph * PW + pw;
      for (int64_t c = 0; c < C; ++c) o[c * bins] = static_cast<scalar_t>(acc[c]);
    }
  }
}

// Scratch for the roi gradient of one roi across a chunk of n channels, every
// array bin- or edge-major with the chunk's channels innermost (index i for
// channel c_begin + i):
// - vertical[(ph * (PW + 1) + p) * n + i], horizontal[(pw * (PH + 1) + p) * n
//   + i]: the edge integrals of roi_gradient_shared_edges;
// - g[bin * n + i], o[bin * n + i]: the bins' output gradients and outputs;
// - x0, y0, x1, y1[bin * n + i]: the bins' terms (bin_roi_gradient).
template <typename acc_t>
struct RoiGradientScratch {
  std::vector<acc_t> vertical, horizontal, g, o, x0, y0, x1, y1;
  void resize(int64_t n, int64_t PH, int64_t PW) {
    vertical.resize(static_cast<size_t>(PH * (PW + 1) * n));
    horizontal.resize(static_cast<size_t>(PW * (PH + 1) * n));
    for (std::vector<acc_t>* v : {&g, &o, &x0, &y0, &x1, &y1}) {
      v->resize(static_cast<size_t>(PH * PW * n));
    }
  }
};

// One sample of an edge integral for n channels: e[c] += w * (w0 * f0[c] +
// w1 * f1[c]), the operations of roi_gradient_shared_edges, per channel.
template <typename scalar_t, typename acc_t>
PRROI_ALWAYS_INLINE inline void add_edge_sample(
    acc_t* __restrict__ e, const scalar_t* __restrict__ f0,
    const scalar_t* __restrict__ f1, acc_t w0, acc_t w1, acc_t w, int64_t n) {
  for (int64_t c = 0; c < n; ++c) {
    const acc_t f =
        w0 * static_cast<acc_t>(f0[c]) + w1 * static_cast<acc_t>(f1[c]);
    e[c] += w * f;
  }
}

// For channels [c_begin, c_begin + n): the edge integrals of
// roi_gradient_shared_edges, each channel with that function's operations in
// its order, then each bin's terms (bin_roi_gradient, as add_bin_roi_gradient
// computes them) from the bins' g and o that the caller stored.
template <typename scalar_t, typename acc_t>
PRROI_ALWAYS_INLINE inline void roi_gradient_terms_nhwc_body(
    const scalar_t* image, Strides st, const Axis<acc_t>& ax,
    const Axis<acc_t>& ay, int64_t c_begin, int64_t n, int64_t PH, int64_t PW,
    acc_t inv_bw, acc_t inv_bh, RoiGradientScratch<acc_t>* scratch) {
  const scalar_t* channels = image + c_begin;
  for (int64_t ph = 0; ph < PH; ++ph) {
    const int64_t ys = ay.start[ph], yl = ay.len[ph];
    const acc_t* wy = ay.w.data() + ay.off[ph];
    for (int64_t p = 0; p <= PW; ++p) {
      acc_t* __restrict__ e = scratch->vertical.data() + (ph * (PW + 1) + p) * n;
      const acc_t w0 = ax.e_w0[p], w1 = ax.e_w1[p];
      for (int64_t c = 0; c < n; ++c) e[c] = acc_t(0);
      for (int64_t r = 0; r < yl; ++r) {
        const scalar_t* row = channels + (ys + r) * st.h;
        add_edge_sample(e, row + ax.e_i0[p] * st.w, row + ax.e_i1[p] * st.w, w0,
                        w1, wy[r], n);
      }
    }
  }
  for (int64_t pw = 0; pw < PW; ++pw) {
    const int64_t xs = ax.start[pw], xl = ax.len[pw];
    const acc_t* wx = ax.w.data() + ax.off[pw];
    for (int64_t p = 0; p <= PH; ++p) {
      acc_t* __restrict__ e =
          scratch->horizontal.data() + (pw * (PH + 1) + p) * n;
      const scalar_t* r0 = channels + ay.e_i0[p] * st.h + xs * st.w;
      const scalar_t* r1 = channels + ay.e_i1[p] * st.h + xs * st.w;
      const acc_t w0 = ay.e_w0[p], w1 = ay.e_w1[p];
      for (int64_t c = 0; c < n; ++c) e[c] = acc_t(0);
      for (int64_t q = 0; q < xl; ++q) {
        add_edge_sample(e, r0 + q * st.w, r1 + q * st.w, w0, w1, wx[q], n);
      }
    }
  }
  // Each bin's terms for every channel; the caller adds them in order.
  for (int64_t ph = 0; ph < PH; ++ph) {
    for (int64_t pw = 0; pw < PW; ++pw) {
      const int64_t at = (ph * PW + pw) * n;
      const acc_t* __restrict__ ea =
          scratch->vertical.data() + (ph * (PW + 1) + pw) * n;
      const acc_t* __restrict__ eb = ea + n;
      const acc_t* __restrict__ ec =
          scratch->horizontal.data() + (pw * (PH + 1) + ph) * n;
      const acc_t* __restrict__ ed = ec + n;
      const acc_t* __restrict__ g = scratch->g.data() + at;
      const acc_t* __restrict__ o = scratch->o.data() + at;
      acc_t* __restrict__ x0 = scratch->x0.data() + at;
      acc_t* __restrict__ y0 = scratch->y0.data() + at;
      acc_t* __restrict__ x1 = scratch->x1.data() + at;
      acc_t* __restrict__ y1 = scratch->y1.data() + at;
      // Separate arrays: no iteration reads what another writes (GCC gives up
      // checking the ten pointers at run time without this).
#pragma GCC ivdep
      for (int64_t c = 0; c < n; ++c) {
        bin_roi_gradient(g[c], o[c], ea[c], eb[c], ec[c], ed[c], pw, ph, PW,
                         PH, inv_bw, inv_bh, x0 + c, y0 + c, x1 + c, y1 + c);
      }
    }
  }
}

// The channel loops twice: for the baseline instruction set, and for AVX2
// (without FMA) where the processor has it, chosen at run time. Setting
// PRROI_POOL_CPU_ISA=baseline in the environment keeps the baseline loops (the
// tests compare both).
template <typename scalar_t, typename acc_t>
void forward_roi_nhwc_baseline(const scalar_t* image, Strides st,
                               const Axis<acc_t>& ax, const Axis<acc_t>& ay,
                               int64_t C, int64_t PH, int64_t PW,
                               scalar_t* out_k, ForwardScratch<acc_t>* scratch) {
  forward_roi_nhwc_body(image, st, ax, ay, C, PH, PW, out_k, scratch);
}

template <typename scalar_t, typename acc_t>
void roi_gradient_terms_nhwc_baseline(const scalar_t* image, Strides st,
                                  const Axis<acc_t>& ax, const Axis<acc_t>& ay,
                                  int64_t c_begin, int64_t n, int64_t PH,
                                  int64_t PW, acc_t inv_bw, acc_t inv_bh,
                                  RoiGradientScratch<acc_t>* scratch) {
  roi_gradient_terms_nhwc_body(image, st, ax, ay, c_begin, n, PH, PW, inv_bw,
                               inv_bh, scratch);
}

#if PRROI_AVX2_VARIANT
template <typename scalar_t, typename acc_t>
__attribute__((target("avx2"))) void forward_roi_nhwc_avx2(
    const scalar_t* image, Strides st, const Axis<acc_t>& ax,
    const Axis<acc_t>& ay, int64_t C, int64_t PH, int64_t PW, scalar_t* out_k,
    ForwardScratch<acc_t>* scratch) {
  forward_roi_nhwc_body(image, st, ax, ay, C, PH, PW, out_k, scratch);
}

template <typename scalar_t, typename acc_t>
__attribute__((target("avx2"))) void roi_gradient_terms_nhwc_avx2(
    const scalar_t* image, Strides st, const Axis<acc_t>& ax,
    const Axis<acc_t>& ay, int64_t c_begin, int64_t n, int64_t PH, int64_t PW,
    acc_t inv_bw, acc_t inv_bh, RoiGradientScratch<acc_t>* scratch) {
  roi_gradient_terms_nhwc_body(image, st, ax, ay, c_begin, n, PH, PW, inv_bw,
                               inv_bh, scratch);
}
#endif

// Whether to run the AVX2 loops: the processor has AVX2 and
// PRROI_POOL_CPU_ISA is not "baseline". Read on every call (a look-up in the
// environment, next to milliseconds of pooling) so that tests can switch.
bool use_avx2() {
#if PRROI_AVX2_VARIANT
  static const bool supported = __builtin_cpu_supports("avx2");
  if (!supported) return false;
  const char* isa = std::getenv("PRROI_POOL_CPU_ISA");
  return isa == nullptr || std::strcmp(isa, "baseline") != 0;
#else
  return false;
#endif
}

template <typename scalar_t>
void forward_kernel_nhwc(const scalar_t* features, Strides st,
                         const scalar_t* rois, scalar_t* output, int64_t B,
                         int64_t C, int64_t H, int64_t W, int64_t K, int64_t PH,
                         int64_t PW, double spatial_scale) {
  using acc_t = at::opmath_type<scalar_t>;
  const bool avx2 = use_avx2();
  forward_by_rois<ForwardScratch<acc_t>>(
      rois, output, B, C, H, W, K, PH, PW, spatial_scale,
      [&](ForwardScratch<acc_t>* scratch, int64_t b, const Axis<acc_t>& ax,
          const Axis<acc_t>& ay, scalar_t* out_k) {
        scratch->resize(C);
        const scalar_t* image = features + b * st.b;
#if PRROI_AVX2_VARIANT
        if (avx2) {
          forward_roi_nhwc_avx2(image, st, ax, ay, C, PH, PW, out_k, scratch);
          return;
        }
#endif
        forward_roi_nhwc_baseline(image, st, ax, ay, C, PH, PW, out_k, scratch);
      });
  (void)avx2;
}

// The roi gradient alone (no feature gradient) on channels-last features: the
// same channel chunks, the same per-chunk sums in the same order (channel, bin
// row, bin column) and the same final sum over chunks as backward_kernel with
// roi_gradient_shared_edges; only the edge integrals run across the channels.
template <typename scalar_t>
void roi_gradient_kernel_nhwc(const scalar_t* grad_output,
                              const scalar_t* features, Strides st,
                              const scalar_t* rois, const scalar_t* output,
                              scalar_t* grad_rois, int64_t B, int64_t C,
                              int64_t H, int64_t W, int64_t K, int64_t PH,
                              int64_t PW, double spatial_scale) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t bins = PH * PW;
  const bool avx2 = use_avx2();
  roi_gradient_by_chunks<RoiGradientScratch<acc_t>>(
      rois, B, C, H, W, K, PH, PW, spatial_scale, grad_rois,
      [&](RoiGradientScratch<acc_t>* state, int64_t c_begin, int64_t c_end,
          int64_t k, int64_t b, const Axis<acc_t>& ax, const Axis<acc_t>& ay,
          acc_t inv_bw, acc_t inv_bh, acc_t* s) {
        RoiGradientScratch<acc_t>& scratch = *state;
        const int64_t n = c_end - c_begin;
        scratch.resize(n, PH, PW);
        acc_t &sx0 = s[0], &sy0 = s[1], &sx1 = s[2], &sy1 = s[3];
        const scalar_t* image = features + b * st.b;
        // The bins' g and o, channel innermost.
        for (int64_t i = 0; i < n; ++i) {
          const int64_t from = (k * C + c_begin + i) * bins;
          for (int64_t bin = 0; bin < bins; ++bin) {
            scratch.g[bin * n + i] = static_cast<acc_t>(grad_output[from + bin]);
            scratch.o[bin * n + i] = static_cast<acc_t>(output[from + bin]);
          }
        }
#if PRROI_AVX2_VARIANT
        if (avx2) {
          roi_gradient_terms_nhwc_avx2(image, st, ax, ay, c_begin, n, PH, PW,
                                       inv_bw, inv_bh, &scratch);
        } else
#endif
        {
          roi_gradient_terms_nhwc_baseline(image, st, ax, ay, c_begin, n, PH,
                                           PW, inv_bw, inv_bh, &scratch);
        }
        // The terms added in roi_gradient_shared_edges' order: channel, bin
        // row, bin column, skipping the bins whose gradient is 0.
        const acc_t* g = scratch.g.data();
        const acc_t* x0 = scratch.x0.data();
        const acc_t* y0 = scratch.y0.data();
        const acc_t* x1 = scratch.x1.data();
        const acc_t* y1 = scratch.y1.data();
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t at = i; at < bins * n; at += n) {
            if (g[at] == acc_t(0)) continue;
            sx0 += x0[at];
            sx1 += x1[at];
            sy0 += y0[at];
            sy1 += y1[at];
          }
        }
      });
  (void)avx2;
}

template <typename scalar_t>
void backward_kernel(const scalar_t* grad_output, const scalar_t* features,
                     const scalar_t* rois, const scalar_t* output,
                     scalar_t* grad_features, scalar_t* grad_rois, int64_t B,
                     int64_t C, int64_t H, int64_t W, int64_t K, int64_t PH,
                     int64_t PW, double spatial_scale) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t bins = PH * PW;
  struct NoState {};
  roi_gradient_by_chunks<NoState>(
      rois, B, C, H, W, K, PH, PW, spatial_scale, grad_rois,
      [&](NoState*, int64_t c_begin, int64_t c_end, int64_t k, int64_t b,
          const Axis<acc_t>& ax, const Axis<acc_t>& ay, acc_t inv_bw,
          acc_t inv_bh, acc_t* s) {
        acc_t &sx0 = s[0], &sy0 = s[1], &sx1 = s[2], &sy1 = s[3];
        if (grad_features == nullptr) {
          // The roi gradient alone: each edge integral is computed once and
          // shared by the two bins on either side of the edge (the right edge
          // of bin pw is the left edge of bin pw + 1, over the same rows with
          // the same weights), with the same operations in the same order as
          // the loop below, so the same values.
          roi_gradient_shared_edges<scalar_t, acc_t>(
              grad_output, features, output, ax, ay, b, c_begin, c_end, k, C,
              H, W, PH, PW, inv_bw, inv_bh, &sx0, &sy0, &sx1, &sy1);
        }
        for (int64_t c = c_begin; grad_features != nullptr && c < c_end; ++c) {
          const int64_t plane_off = (b * C + c) * H * W;
          const scalar_t* plane = features + plane_off;
          scalar_t* gplane =
              grad_features == nullptr ? nullptr : grad_features + plane_off;
          const scalar_t* go = grad_output + (k * C + c) * bins;
          const scalar_t* op = output + (k * C + c) * bins;
          for (int64_t ph = 0; ph < PH; ++ph) {
            const int64_t ys = ay.start[ph], yl = ay.len[ph];
            const acc_t* wy = ay.w.data() + ay.off[ph];
            for (int64_t pw = 0; pw < PW; ++pw) {
              const acc_t g = static_cast<acc_t>(go[ph * PW + pw]);
              if (g == acc_t(0)) continue;
              const int64_t xs = ax.start[pw], xl = ax.len[pw];
              const acc_t* wx = ax.w.data() + ax.off[pw];

              // Feature gradient: g * wy_i * wx_j.
              for (int64_t r = 0; grad_features != nullptr && r < yl; ++r) {
                scalar_t* grow = gplane + (ys + r) * W + xs;
                const acc_t gi = g * wy[r];
                for (int64_t q = 0; q < xl; ++q) {
                  grow[q] += static_cast<scalar_t>(gi * wx[q]);
                }
              }

              // Roi gradient: line integrals of F along the four bin edges.
              const int64_t la0 = ax.e_i0[pw], la1 = ax.e_i1[pw];
              const acc_t wa0 = ax.e_w0[pw], wa1 = ax.e_w1[pw];
              const int64_t lb0 = ax.e_i0[pw + 1], lb1 = ax.e_i1[pw + 1];
              const acc_t wb0 = ax.e_w0[pw + 1], wb1 = ax.e_w1[pw + 1];
              acc_t ea = 0, eb = 0;
              for (int64_t r = 0; r < yl; ++r) {
                const scalar_t* row = plane + (ys + r) * W;
                const acc_t fa = wa0 * static_cast<acc_t>(row[la0]) +
                                 wa1 * static_cast<acc_t>(row[la1]);
                const acc_t fb = wb0 * static_cast<acc_t>(row[lb0]) +
                                 wb1 * static_cast<acc_t>(row[lb1]);
                ea += wy[r] * fa;
                eb += wy[r] * fb;
              }
              const scalar_t* rc0 = plane + ay.e_i0[ph] * W + xs;
              const scalar_t* rc1 = plane + ay.e_i1[ph] * W + xs;
              const scalar_t* rd0 = plane + ay.e_i0[ph + 1] * W + xs;
              const scalar_t* rd1 = plane + ay.e_i1[ph + 1] * W + xs;
              const acc_t wc0 = ay.e_w0[ph], wc1 = ay.e_w1[ph];
              const acc_t wd0 = ay.e_w0[ph + 1], wd1 = ay.e_w1[ph + 1];
              acc_t ec = 0, ed = 0;
              for (int64_t q = 0; q < xl; ++q) {
                const acc_t fc = wc0 * static_cast<acc_t>(rc0[q]) +
                                 wc1 * static_cast<acc_t>(rc1[q]);
                const acc_t fd = wd0 * static_cast<acc_t>(rd0[q]) +
                                 wd1 * static_cast<acc_t>(rd1[q]);
                ec += wx[q] * fc;
                ed += wx[q] * fd;
              }
              const acc_t o = static_cast<acc_t>(op[ph * PW + pw]);
              add_bin_roi_gradient(g, o, ea, eb, ec, ed, pw, ph, PW, PH, inv_bw,
                                   inv_bh, &sx0, &sy0, &sx1, &sy1);
            }
          }
        }
      });
}

}  // namespace

// The inputs were validated by the binding (bindings.cpp), the only caller.

at::Tensor forward_cpu(const at::Tensor& features_in, const at::Tensor& rois_in,
                       int64_t pooled_height, int64_t pooled_width,
                       double spatial_scale) {
  // Channels-last features are read in place by the channels-last kernels.
  const bool nhwc = channels_last_only(features_in);
  const at::Tensor features = nhwc ? features_in : features_in.contiguous();
  const at::Tensor rois = rois_in.contiguous();
  const int64_t B = features.size(0), C = features.size(1),
                H = features.size(2), W = features.size(3), K = rois.size(0);
  at::Tensor output = at::empty({K, C, pooled_height, pooled_width},
                                features.options(),
                                at::MemoryFormat::Contiguous);
  if (output.numel() == 0) return output;
  if (features.numel() == 0) return output.zero_();  // empty map: F = 0
  if (nhwc) {
    AT_DISPATCH_FLOATING_TYPES(
        features.scalar_type(), "prroi_pool_forward_cpu_nhwc", [&] {
          forward_kernel_nhwc<scalar_t>(
              features.const_data_ptr<scalar_t>(), strides_of(features),
              rois.const_data_ptr<scalar_t>(),
              output.mutable_data_ptr<scalar_t>(), B, C, H, W, K,
              pooled_height, pooled_width, spatial_scale);
        });
    return output;
  }
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "prroi_pool_forward_cpu",
                             [&] {
                               forward_kernel<scalar_t>(
                                   features.const_data_ptr<scalar_t>(),
                                   rois.const_data_ptr<scalar_t>(),
                                   output.mutable_data_ptr<scalar_t>(), B, C, H,
                                   W, K, pooled_height, pooled_width,
                                   spatial_scale);
                             });
  return output;
}

std::tuple<at::Tensor, at::Tensor> backward_cpu(
    const at::Tensor& grad_output_in, const at::Tensor& features_in,
    const at::Tensor& rois_in, const at::Tensor& output_in,
    int64_t pooled_height, int64_t pooled_width, double spatial_scale,
    bool features_grad) {
  // The roi gradient alone reads channels-last features in place; the feature
  // gradient (training) runs the row-major kernel on a row-major copy.
  const bool nhwc = !features_grad && channels_last_only(features_in);
  const at::Tensor features = nhwc ? features_in : features_in.contiguous();
  const at::Tensor rois = rois_in.contiguous();
  const int64_t B = features.size(0), C = features.size(1),
                H = features.size(2), W = features.size(3), K = rois.size(0);
  TORCH_CHECK(grad_output_in.device().is_cpu() &&
                  grad_output_in.scalar_type() == features.scalar_type(),
              "prroi_pool CPU: grad_output must be a CPU tensor of the "
              "features' dtype");
  TORCH_CHECK(grad_output_in.sizes() ==
                  at::IntArrayRef({K, C, pooled_height, pooled_width}),
              "prroi_pool: grad_output must have shape (K, C, PH, PW)");
  const at::Tensor grad_output = grad_output_in.contiguous();
  at::Tensor output;
  if (output_in.defined() && output_in.numel() > 0) {
    TORCH_CHECK(output_in.sizes() == grad_output.sizes() &&
                    output_in.scalar_type() == features.scalar_type() &&
                    output_in.device().is_cpu(),
                "prroi_pool: output must match grad_output in shape, dtype "
                "and device");
    output = output_in.contiguous();
  } else {
    output = forward_cpu(features, rois, pooled_height, pooled_width,
                         spatial_scale);
  }

  at::Tensor grad_features =
      features_grad ? at::zeros_like(features) : at::empty({0}, features.options());
  at::Tensor grad_rois = at::zeros_like(rois);
  if (grad_output.numel() == 0 || features.numel() == 0) {
    return std::make_tuple(grad_features, grad_rois);
  }
  if (nhwc) {
    AT_DISPATCH_FLOATING_TYPES(
        features.scalar_type(), "prroi_pool_roi_gradient_cpu_nhwc", [&] {
          roi_gradient_kernel_nhwc<scalar_t>(
              grad_output.const_data_ptr<scalar_t>(),
              features.const_data_ptr<scalar_t>(), strides_of(features),
              rois.const_data_ptr<scalar_t>(),
              output.const_data_ptr<scalar_t>(),
              grad_rois.mutable_data_ptr<scalar_t>(), B, C, H, W, K,
              pooled_height, pooled_width, spatial_scale);
        });
    return std::make_tuple(grad_features, grad_rois);
  }
  AT_DISPATCH_FLOATING_TYPES(
      features.scalar_type(), "prroi_pool_backward_cpu", [&] {
        backward_kernel<scalar_t>(
            grad_output.const_data_ptr<scalar_t>(),
            features.const_data_ptr<scalar_t>(),
            rois.const_data_ptr<scalar_t>(), output.const_data_ptr<scalar_t>(),
            features_grad ? grad_features.mutable_data_ptr<scalar_t>() : nullptr,
            grad_rois.mutable_data_ptr<scalar_t>(), B, C, H, W, K,
            pooled_height, pooled_width, spatial_scale);
      });
  return std::make_tuple(grad_features, grad_rois);
}

}  // namespace prroi
