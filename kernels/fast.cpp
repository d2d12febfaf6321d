// ai8xsim fast kernels: the layer driver (weight packing, input repacking, threading, the
// output transposition) and the pooling / element-wise / output-stage kernels.
// The SIMD inner loops are in kernels/fast_simd.cpp; the arithmetic argument is there too.
#include "kernels/fast.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <thread>

#include "kernels/fast_simd.h"

namespace ai8xsim::fast {

namespace {

using detail::ConvPlan;
using detail::Epilogue;

// Dot products with fewer terms than this fit int32 exactly: |x * w| <= 2^14 (x, w in
// [-128, 128]), so |sum| < 2^14 * 2^17 = 2^31. See kernels/fast_simd.cpp.
constexpr int64_t kMaxTerms = int64_t{1} << 17;

bool is_int8(const Tensor& t) {
  if (t.data.empty()) return true;
  int32_t mn = 0, mx = 0;
  detail::MinMax(t.data.data(), t.data.size(), &mn, &mx);
  return mn >= -128 && mx <= 127;
}

// Per-thread scratch, reused across calls (a layer's buffers are overwritten every call).
struct Scratch {
  std::vector<uint8_t> in;
  std::vector<int32_t> out;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

void run_rows(const ConvPlan& plan, int threads) {
  const int rows = plan.oh;
  threads = std::max(1, std::min(threads, rows));
  if (threads == 1) {
    detail::ConvRows(plan, 0, rows);
    return;
  }
  std::vector<std::thread> pool;
  const int per = (rows + threads - 1) / threads;
  for (int t = 1; t < threads; ++t) {
    const int y0 = t * per, y1 = std::min(rows, y0 + per);
    if (y0 < y1) pool.emplace_back([&plan, y0, y1] { detail::ConvRows(plan, y0, y1); });
  }
  detail::ConvRows(plan, 0, std::min(rows, per));
  for (auto& th : pool) th.join();
}

}  // namespace

const char* simd_target() { return detail::TargetName(); }
int simd_lanes() { return detail::Lanes(); }

// ---- PreparedConv ---------------------------------------------------------------------------------

PreparedConv::PreparedConv(const int8_t* weights, int out_channels, int in_channels,
                           const std::vector<int64_t>& bias128, const ConvGeometry& g)
    : g_(g), out_channels_(out_channels), in_channels_(in_channels), bias128_(bias128) {
  const int kh = g.kernel[0], kw = g.kernel[1];
  // Keep the weights as the reference reads them (its fallback uses this copy).
  if (out_channels > 0 && in_channels > 0 && kh > 0 && kw > 0 && g.groups > 0)
    weights_.assign(weights, weights + static_cast<size_t>(out_channels) *
                                           (in_channels / g.groups) * kh * kw);
  const bool sane = !weights_.empty() && in_channels % g.groups == 0 && g.stride[0] > 0 &&
                    g.stride[1] > 0 && g.dilation[0] > 0 && g.dilation[1] > 0 &&
                    g.upsample[0] > 0 && g.upsample[1] > 0 &&
                    (bias128.empty() || bias128.size() >= static_cast<size_t>(out_channels));
  if (!sane) return;
  ipg_ = in_channels / g.groups;
  const size_t taps = static_cast<size_t>(kh) * kw;
  if (g.groups > 1 && int64_t{out_channels} * ipg_ > in_channels) return;  // reads past input
  if (int64_t{ipg_} * static_cast<int64_t>(taps) >= kMaxTerms) return;     // int32 could overflow

  lanes_ = detail::Lanes();
  const int L = lanes_;
  ocb_ = (out_channels + L - 1) / L;
  const int opad = ocb_ * L;
  for (int o = 0; o < out_channels && !bias128.empty(); ++o) {
    const int64_t b = bias128[o];
    max_abs_bias_ = std::max(max_abs_bias_, b == std::numeric_limits<int64_t>::min()
                                                ? std::numeric_limits<int64_t>::max()
                                                : static_cast<int64_t>(std::llabs(b)));
  }
  bias_req_.assign(opad, 0);
  bias_wide_.assign(opad, 0);
  if (!bias128.empty())
    for (int o = 0; o < out_channels; ++o) {
      bias_req_[o] = static_cast<int32_t>(std::clamp<int64_t>(bias128[o], -(1 << 30), 1 << 30));
      bias_wide_[o] = static_cast<int32_t>(static_cast<uint32_t>(bias128[o]));
    }
  auto w_at = [&](int o, int c, size_t t) {
    return weights_[(static_cast<size_t>(o) * ipg_ + c) * taps + t];
  };
  if (g.groups == 1) {
    mode_ = Mode::Dense;
    c4_ = (ipg_ + 3) / 4;
    wpacked_.assign(static_cast<size_t>(ocb_) * taps * c4_ * L * 4, 0);
    wsum128_.assign(taps * opad, 0);
    for (int o = 0; o < out_channels; ++o) {
      const int ob = o / L, l = o % L;
      for (size_t t = 0; t < taps; ++t) {
        int32_t sum = 0;
        for (int c = 0; c < ipg_; ++c) {
          const int8_t w = w_at(o, c, t);
          sum += w;
          wpacked_[((static_cast<size_t>(ob) * taps + t) * c4_ + c / 4) * L * 4 + l * 4 + c % 4] =
              w;
        }
        wsum128_[t * opad + o] = sum * 128;  // |sum| * 128 <= 2^17 * 2^7 * 2^7: fits
      }
    }
  } else {
    mode_ = Mode::Grouped;
    wgrouped_.assign(taps * ipg_ * opad, 0);
    for (int o = 0; o < out_channels; ++o)
      for (int c = 0; c < ipg_; ++c)
        for (size_t t = 0; t < taps; ++t) wgrouped_[(t * ipg_ + c) * opad + o] = w_at(o, c, t);
  }
}

bool PreparedConv::fast_path(const Tensor& in) const {
  if (mode_ == Mode::Reference || lanes_ != detail::Lanes() || in.c != in_channels_) return false;
  const int oh = ref::conv_extent(in.h, g_.kernel[0], g_.pad_before[0], g_.pad_after[0],
                                  g_.stride[0], g_.dilation[0], g_.upsample[0]);
  const int ow = ref::conv_extent(in.w, g_.kernel[1], g_.pad_before[1], g_.pad_after[1],
                                  g_.stride[1], g_.dilation[1], g_.upsample[1]);
  return oh > 0 && ow > 0 && in.h > 0 && in.w > 0 && is_int8(in);
}

AccTensor PreparedConv::conv2d(const Tensor& in, int threads) const {
  if (in.c != in_channels_)
    throw std::invalid_argument("PreparedConv: input has " + std::to_string(in.c) +
                                " channels, prepared for " + std::to_string(in_channels_));
  AccTensor out;
  if (!run(in, 0, 0, 0, threads, nullptr, &out))
    return ref::conv2d(in, weights_.data(), out_channels_, bias128_, g_);
  return out;
}

Tensor PreparedConv::conv2d_output(const Tensor& in, int shift, bool wide, Activation act,
                                   int threads) const {
  if (in.c != in_channels_)
    throw std::invalid_argument("PreparedConv: input has " + std::to_string(in.c) +
                                " channels, prepared for " + std::to_string(in_channels_));
  // The int32 requantizing epilogue needs |dot + bias128| < 2^30 (see fast_simd.cpp).
  const int64_t terms = int64_t{ipg_} * g_.kernel[0] * g_.kernel[1];
  const bool int32_ok = wide || max_abs_bias_ < (int64_t{1} << 30) - terms * 16384;
  Tensor out;
  if (int32_ok && run(in, wide ? 2 : 1, shift, static_cast<int>(act), threads, &out, nullptr))
    return out;
  return fast::output_stage(conv2d(in, threads), shift, wide, act);
}

bool PreparedConv::run(const Tensor& in, int kind, int shift, int act, int threads,
                       Tensor* out32, AccTensor* out64) const {
  if (mode_ == Mode::Reference || lanes_ != detail::Lanes()) return false;
  const int kh0 = g_.kernel[0], kw0 = g_.kernel[1];
  const int oh0 = ref::conv_extent(in.h, kh0, g_.pad_before[0], g_.pad_after[0], g_.stride[0],
                                   g_.dilation[0], g_.upsample[0]);
  const int ow0 = ref::conv_extent(in.w, kw0, g_.pad_before[1], g_.pad_after[1], g_.stride[1],
                                   g_.dilation[1], g_.upsample[1]);
  if (oh0 <= 0 || ow0 <= 0 || in.h <= 0 || in.w <= 0) return false;
  if (!is_int8(in)) return false;  // 32-bit data from a wide layer: the reference

  // The problem the row kernel sees. Two reshapes keep the pixel order (C-order H x W):
  //  * a 1x1, stride-1, unpadded convolution is one long row (or `threads` rows);
  //  * a k x 1 convolution of a C x L x 1 tensor (Conv1d) is a 1 x k one of C x 1 x L.
  int H = in.h, W = in.w;
  int kh = kh0, kw = kw0;
  Pair s = g_.stride, d = g_.dilation, u = g_.upsample, pb = g_.pad_before;
  int oh = oh0, ow = ow0;
  const bool no_pad = g_.pad_before == Pair{0, 0} && g_.pad_after == Pair{0, 0};
  if (kh == 1 && kw == 1 && no_pad && s == Pair{1, 1} && u == Pair{1, 1}) {
    const int pixels = H * W;
    const int rows = (threads > 1 && pixels % threads == 0) ? threads : 1;
    H = oh = rows;
    W = ow = pixels / rows;
  } else if (in.w == 1 && kw == 1 && g_.pad_before[1] == 0 && g_.pad_after[1] == 0 &&
             u[1] == 1 && ow0 == 1) {
    H = 1;
    W = in.h;
    kh = 1;
    kw = kh0;
    s = {1, g_.stride[0]};
    d = {1, g_.dilation[0]};
    u = {1, g_.upsample[0]};
    pb = {0, g_.pad_before[0]};
    oh = 1;
    ow = oh0;
  }
  // Buffer rows/columns the taps reach; row r is stretched-input row r - pb.
  const int64_t hp64 = int64_t{oh - 1} * s[0] + int64_t{kh - 1} * d[0] + 1;
  const int64_t wp64 = int64_t{ow - 1} * s[1] + int64_t{kw - 1} * d[1] + 1;
  const int L = lanes_, opad = ocb_ * L;
  const int64_t pix_bytes = mode_ == Mode::Dense ? int64_t{c4_} * 4 : int64_t{ipg_} * opad;
  if (hp64 * wp64 * pix_bytes > (int64_t{1} << 31)) return false;  // absurd sizes
  const int Hp = static_cast<int>(hp64), Wp = static_cast<int>(wp64);

  Scratch& sc = scratch();
  const size_t buf_size = static_cast<size_t>(hp64 * wp64 * pix_bytes);
  sc.in.resize(buf_size);
  const size_t pixels = static_cast<size_t>(oh) * ow;
  sc.out.resize(pixels * opad);

  // Repack the input: real pixel (iy, ix) sits at buffer (iy * u + pb, ix * u + pb).
  const size_t plane = static_cast<size_t>(H) * W;
  // Input columns that land inside the buffer: col = ix * u + pb in [0, Wp).
  const int ix_lo = pb[1] >= 0 ? 0 : (-pb[1] + u[1] - 1) / u[1];
  const int ix_hi = static_cast<int>(
      std::min<int64_t>(W, Wp - 1 - pb[1] < 0 ? 0 : (int64_t{Wp} - 1 - pb[1]) / u[1] + 1));
  if (mode_ == Mode::Dense) {
    std::memset(sc.in.data(), 128, buf_size);  // 128 = zero in the +128 encoding
    const int cp = c4_ * 4, C = in.c;
    for (int iy = 0; iy < H; ++iy) {
      const int64_t r = int64_t{iy} * u[0] + pb[0];
      if (r < 0 || r >= Hp) continue;
      uint8_t* row = sc.in.data() + static_cast<size_t>(r) * Wp * cp;
      const int32_t* src_row = in.data.data() + static_cast<size_t>(iy) * W;
      // Blocks of 16 pixels: each channel's read is one cache line (a pixel-major walk
      // would read with the plane's stride, often 4 KiB, and thrash the L1 sets).
      for (int x0 = ix_lo; x0 < ix_hi; x0 += 16) {
        const int x1 = std::min(ix_hi, x0 + 16);
        uint8_t* q0 = row + (static_cast<ptrdiff_t>(x0) * u[1] + pb[1]) * cp;
        const ptrdiff_t qstep = static_cast<ptrdiff_t>(u[1]) * cp;
        for (int c = 0; c < C; ++c) {
          const int32_t* s0 = src_row + c * plane;
          uint8_t* q = q0 + c;
          for (int ix = x0; ix < x1; ++ix, q += qstep) *q = static_cast<uint8_t>(s0[ix] + 128);
        }
      }
    }
  } else {
    std::memset(sc.in.data(), 0, buf_size);
    // Output o reads channels o*ipg .. o*ipg + ipg - 1: lane o of slot ci.
    const int O = out_channels_, G = ipg_;
    for (int iy = 0; iy < H; ++iy) {
      const int64_t r = int64_t{iy} * u[0] + pb[0];
      if (r < 0 || r >= Hp) continue;
      int8_t* row = reinterpret_cast<int8_t*>(sc.in.data()) + static_cast<size_t>(r) * Wp * G * opad;
      const int32_t* src_row = in.data.data() + static_cast<size_t>(iy) * W;
      for (int x0 = ix_lo; x0 < ix_hi; x0 += 16) {
        const int x1 = std::min(ix_hi, x0 + 16);
        int8_t* q0 = row + (static_cast<ptrdiff_t>(x0) * u[1] + pb[1]) * G * opad;
        const ptrdiff_t qstep = static_cast<ptrdiff_t>(u[1]) * G * opad;
        for (int o = 0; o < O; ++o)
          for (int ci = 0; ci < G; ++ci) {
            const int32_t* s0 = src_row + (static_cast<size_t>(o) * G + ci) * plane;
            int8_t* q = q0 + ci * opad + o;
            for (int ix = x0; ix < x1; ++ix, q += qstep) *q = static_cast<int8_t>(s0[ix]);
          }
      }
    }
  }

  ConvPlan plan;
  plan.grouped = mode_ == Mode::Grouped;
  plan.lanes = L;
  plan.ocb = ocb_;
  plan.kh = kh;
  plan.kw = kw;
  plan.sh = s[0];
  plan.sw = s[1];
  plan.dh = d[0];
  plan.dw = d[1];
  plan.uh = u[0];
  plan.uw = u[1];
  plan.pbh = pb[0];
  plan.pbw = pb[1];
  plan.oh = oh;
  plan.ow = ow;
  plan.in = sc.in.data();
  plan.in_pix = pix_bytes;
  plan.in_row = pix_bytes * Wp;
  plan.c4 = c4_;
  plan.ipg = ipg_;
  plan.w = wpacked_.data();
  plan.wsum128 = wsum128_.data();
  plan.wg = wgrouped_.data();
  plan.mode = kind == 0 ? Epilogue::Raw : kind == 1 ? Epilogue::Requant8 : Epilogue::Wide;
  plan.shift = shift;
  plan.act = act;
  plan.bias32 = kind == 2 ? bias_wide_.data() : bias_req_.data();
  plan.out = sc.out.data();
  run_rows(plan, threads);

  // HWC (padded channels) -> CHW.
  const int O = out_channels_;
  if (out64) {
    thread_local std::vector<int32_t> chw;
    chw.resize(pixels * O);
    detail::TransposeOut(sc.out.data(), pixels, opad, O, chw.data());
    *out64 = AccTensor(O, oh0, ow0);
    int64_t* dst = out64->data.data();
    for (int o = 0; o < O; ++o) {
      const int64_t b = bias128_.empty() ? 0 : bias128_[o];
      const int32_t* src = chw.data() + static_cast<size_t>(o) * pixels;
      int64_t* row = dst + static_cast<size_t>(o) * pixels;
      for (size_t p = 0; p < pixels; ++p) row[p] = b + src[p];
    }
  } else {
    *out32 = Tensor(O, oh0, ow0);
    detail::TransposeOut(sc.out.data(), pixels, opad, O, out32->data.data());
  }
  return true;
}

// ---- drop-in functions ------------------------------------------------------------------------------

AccTensor conv2d(const Tensor& in, const int8_t* weights, int out_channels,
                 const std::vector<int64_t>& bias128, const ConvGeometry& g, int threads) {
  return PreparedConv(weights, out_channels, in.c, bias128, g).conv2d(in, threads);
}

Tensor output_stage(const AccTensor& acc, int shift, bool wide, Activation act) {
  Tensor out(acc.c, acc.h, acc.w);
  detail::OutputStage64(acc.data.data(), acc.data.size(), shift, wide, static_cast<int>(act),
                        out.data.data());
  return out;
}

Tensor eltwise(const std::vector<Tensor>& operands, Eltwise op, bool wide) {
  for (const Tensor& t : operands)
    if (t.data.size() != operands.at(0).data.size()) return ref::eltwise(operands, op, wide);
  Tensor out = operands.at(0);
  for (size_t k = 1; k < operands.size(); ++k)
    detail::EltwiseInto(out.data.data(), operands[k].data.data(), out.data.size(),
                        static_cast<int>(op));
  if (!wide) detail::Clamp8(out.data.data(), out.data.size());
  return out;
}

namespace {
// Truncating (toward zero) division by a positive constant; a power of two is a shift.
struct Divider {
  int n, log2 = -1;
  explicit Divider(int n_) : n(n_) {
    if ((n & (n - 1)) == 0)
      for (log2 = 0; (1 << log2) < n; ++log2) {
      }
  }
  int32_t trunc(int32_t s) const {
    if (log2 >= 0) return (s + ((s >> 31) & (n - 1))) >> log2;
    return s / n;
  }
  // Round half away from zero, clamped (ref::average_window with rounding).
  int32_t round(int32_t s) const {
    const int32_t num = 2 * (s < 0 ? -s : s) + n;
    const int32_t mag = log2 >= 0 ? num >> (log2 + 1) : num / (2 * n);
    return std::clamp(s < 0 ? -mag : mag, -128, 127);
  }
};
}  // namespace

Tensor pool2d(const Tensor& in, Pair pool, Pair stride, Pair dilation, bool average,
              bool rounding) {
  const int ph = pool[0], pw = pool[1];
  if (ph <= 0 || pw <= 0 || stride[0] <= 0 || stride[1] <= 0 || dilation[0] <= 0 ||
      dilation[1] <= 0)
    return ref::pool2d(in, pool, stride, dilation, average, rounding);
  const int oh = ref::pooled_extent(in.h, ph, stride[0], dilation[0]);
  const int ow = ref::pooled_extent(in.w, pw, stride[1], dilation[1]);
  // Windows reaching past the last row/column (izer reads on in memory order) and sums that
  // could leave int32 (32-bit data) go to the reference.
  if (oh <= 0 || ow <= 0 || int64_t{oh - 1} * stride[0] + int64_t{ph - 1} * dilation[0] >= in.h ||
      int64_t{ow - 1} * stride[1] + int64_t{pw - 1} * dilation[1] >= in.w ||
      int64_t{ph} * pw > (1 << 20) || (average && !is_int8(in)))
    return ref::pool2d(in, pool, stride, dilation, average, rounding);
  Tensor out(in.c, oh, ow);
  const Divider div(ph * pw);
  const size_t plane = static_cast<size_t>(in.h) * in.w;
  std::vector<ptrdiff_t> offs;
  for (int i = 0; i < ph; ++i)
    for (int j = 0; j < pw; ++j)
      offs.push_back(static_cast<ptrdiff_t>(i) * dilation[0] * in.w + j * dilation[1]);
  const int nk = static_cast<int>(offs.size());
  int32_t* dst = out.data.data();
  for (int c = 0; c < in.c; ++c)
    for (int y = 0; y < oh; ++y) {
      const int32_t* rowp = in.data.data() + c * plane + static_cast<size_t>(y) * stride[0] * in.w;
      if (!average && ph == 2 && pw == 2) {
        const ptrdiff_t o1 = offs[1], o2 = offs[2], o3 = offs[3];
        for (int x = 0; x < ow; ++x) {
          const int32_t* p = rowp + static_cast<size_t>(x) * stride[1];
          *dst++ = std::max(std::max(p[0], p[o1]), std::max(p[o2], p[o3]));
        }
      } else if (!average) {
        for (int x = 0; x < ow; ++x) {
          const int32_t* p = rowp + static_cast<size_t>(x) * stride[1];
          int32_t m = p[0];
          for (int k = 1; k < nk; ++k) m = std::max(m, p[offs[k]]);
          *dst++ = m;
        }
      } else {
        for (int x = 0; x < ow; ++x) {
          const int32_t* p = rowp + static_cast<size_t>(x) * stride[1];
          int32_t sum = 0;  // |sum| <= 2^20 * 128: int8 data checked above
          for (int k = 0; k < nk; ++k) sum += p[offs[k]];
          *dst++ = rounding ? div.round(sum) : div.trunc(sum);
        }
      }
    }
  return out;
}

Tensor pool1d(const Tensor& in, int pool, int stride, int dilation, bool average) {
  if (pool <= 0 || stride <= 0 || dilation <= 0 || in.w != 1)
    return ref::pool1d(in, pool, stride, dilation, average);
  const int ol = ref::pooled_extent(in.h, pool, stride, dilation);
  // Clipped windows (count < pool) and 32-bit data sums: the reference.
  if (ol <= 0 || int64_t{ol - 1} * stride + int64_t{pool - 1} * std::max(dilation, 1) >= in.h ||
      pool > (1 << 20) || (average && !is_int8(in)))
    return ref::pool1d(in, pool, stride, dilation, average);
  Tensor out(in.c, ol, 1);
  const Divider div(pool);
  int32_t* dst = out.data.data();
  for (int c = 0; c < in.c; ++c) {
    const int32_t* src = in.data.data() + static_cast<size_t>(c) * in.h;
    for (int x = 0; x < ol; ++x) {
      const int32_t* p = src + static_cast<size_t>(x) * stride;
      if (average) {
        int32_t sum = 0;
        for (int i = 0; i < pool; ++i) sum += p[static_cast<size_t>(i) * dilation];
        *dst++ = div.trunc(sum);
      } else {
        int32_t m = p[0];  // izer's 1-D max pool ignores dilation
        for (int i = 1; i < pool; ++i) m = std::max(m, p[i]);
        *dst++ = m;
      }
    }
  }
  return out;
}

}  // namespace ai8xsim::fast
