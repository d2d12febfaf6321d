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

// Per-thread scratch of the Tensor API (the engine passes its own, per layer).
struct TensorScratch {
  Act act, out8;
  ConvScratch conv;
};
TensorScratch& tensor_scratch() {
  thread_local TensorScratch s;
  return s;
}

void run_rows(const ConvPlan& plan, int threads, kernels::ParallelFor* pool) {
  const int rows = plan.oh;
  if (pool && pool->threads() > 1 && rows > 1) {
    // Chunks of rows, a few per thread (rows cost differently at the borders).
    const int chunks = std::min(rows, pool->threads() * 8);
    const int per = (rows + chunks - 1) / chunks;
    pool->run((rows + per - 1) / per, [&plan, per, rows](int i) {
      detail::ConvRows(plan, i * per, std::min(rows, (i + 1) * per));
    });
    return;
  }
  threads = std::max(1, std::min(threads, rows));
  if (threads == 1) {
    detail::ConvRows(plan, 0, rows);
    return;
  }
  std::vector<std::thread> helpers;
  const int per = (rows + threads - 1) / threads;
  for (int t = 1; t < threads; ++t) {
    const int y0 = t * per, y1 = std::min(rows, y0 + per);
    if (y0 < y1) helpers.emplace_back([&plan, y0, y1] { detail::ConvRows(plan, y0, y1); });
  }
  detail::ConvRows(plan, 0, std::min(rows, per));
  for (auto& th : helpers) th.join();
}

}  // namespace

const char* simd_target() { return detail::TargetName(); }
int simd_lanes() { return detail::Lanes(); }

// ---- PreparedConv ---------------------------------------------------------------------------------

namespace {

// int8 quads [lane][4] -> the split int16 layout (detail::DenseWeightLayout() == 1): per quad,
// (w0, w2) of every lane, then (w1, w3) of every lane; bytes in the machine's order.
std::vector<int8_t> split_quads16(const std::vector<int8_t>& quads, int lanes) {
  std::vector<int8_t> out(quads.size() * 2);
  const size_t qbytes = static_cast<size_t>(lanes) * 4;
  std::vector<int16_t> split(qbytes);
  for (size_t q = 0; q < quads.size() / qbytes; ++q) {
    const int8_t* src = quads.data() + q * qbytes;
    for (int l = 0; l < lanes; ++l)
      for (int b = 0; b < 4; ++b) split[(b % 2) * lanes * 2 + l * 2 + b / 2] = src[l * 4 + b];
    std::memcpy(out.data() + q * qbytes * 2, split.data(), qbytes * 2);
  }
  return out;
}

// Whether every two consecutive quads of the int8 layout [block][tap][c4][lanes][4] may have
// their PMADDUBSW pair sums added in int16 (ConvPlan::pair16): for each lane, tap, quad pair
// (2k, 2k+1) and byte pair (0-1, 2-3), the 4 products x * w with x in [0, 127] lie in
// [-127 * N, 127 * P] (P: the sum of the positive weights, N: of the negative ones' magnitudes),
// inside [-32768, 32767] when P <= 258 and N <= 258.
bool pairs_fit_int16(const std::vector<int8_t>& quads, int c4, int lanes) {
  const size_t qbytes = static_cast<size_t>(lanes) * 4;
  const size_t rows = quads.size() / (qbytes * c4);  // blocks x taps
  for (size_t r = 0; r < rows; ++r)
    for (int k = 0; k + 1 < c4; k += 2) {
      const int8_t* q0 = quads.data() + (r * c4 + k) * qbytes;
      for (int l = 0; l < lanes; ++l)
        for (int j = 0; j < 2; ++j) {
          int pos = 0, neg = 0;
          for (const int8_t* q : {q0, q0 + qbytes})
            for (int b = 2 * j; b < 2 * j + 2; ++b) {
              const int w = q[l * 4 + b];
              (w > 0 ? pos : neg) += w > 0 ? w : -w;
            }
          if (pos > 258 || neg > 258) return false;
        }
    }
  return true;
}

}  // namespace

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
    wlayout_ = detail::DenseWeightLayout();
    if (wlayout_ == 1) {
      wpacked8_ = wpacked_;  // for inputs >= 0 (ConvPlan::w8)
      wpacked_ = split_quads16(wpacked8_, L);
      pair16_ = c4_ > 1 && pairs_fit_int16(wpacked8_, c4_, L);
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
  if (mode_ == Mode::Reference || lanes_ != detail::Lanes() || in.c != in_channels_ ||
      (mode_ == Mode::Dense && wlayout_ != detail::DenseWeightLayout()))
    return false;
  const int oh = ref::conv_extent(in.h, g_.kernel[0], g_.pad_before[0], g_.pad_after[0],
                                  g_.stride[0], g_.dilation[0], g_.upsample[0]);
  const int ow = ref::conv_extent(in.w, g_.kernel[1], g_.pad_before[1], g_.pad_after[1],
                                  g_.stride[1], g_.dilation[1], g_.upsample[1]);
  return oh > 0 && ow > 0 && in.h > 0 && in.w > 0 && is_int8(in);
}

bool PreparedConv::byte_kernel(const ActView& in) const {
  return mode_ == Mode::Dense && !wpacked8_.empty() && wlayout_ == detail::DenseWeightLayout() &&
         in.data && detail::AllNonNegativeU8(in.data, static_cast<size_t>(in.h) * in.w * in.cs);
}

bool PreparedConv::byte_kernel(const Tensor& in) const {
  Act a;
  return fast_path(in) && to_act(in, a) && byte_kernel(a.view());
}

bool PreparedConv::int32_requant_ok() const {
  // The int32 requantizing epilogue needs |dot + bias128| < 2^30 (see fast_simd.cpp).
  const int64_t terms = int64_t{ipg_} * g_.kernel[0] * g_.kernel[1];
  return max_abs_bias_ < (int64_t{1} << 30) - terms * 16384;
}

AccTensor PreparedConv::conv2d(const Tensor& in, int threads) const {
  if (in.c != in_channels_)
    throw std::invalid_argument("PreparedConv: input has " + std::to_string(in.c) +
                                " channels, prepared for " + std::to_string(in_channels_));
  AccTensor out;
  TensorScratch& ts = tensor_scratch();
  if (vectorized() && to_act(in, ts.act) &&
      run(ts.act.view(), Epilogue::Raw, 0, Activation::None, threads, nullptr, ts.conv, nullptr,
          &out, nullptr))
    return out;
  return ref::conv2d(in, weights_.data(), out_channels_, bias128_, g_);
}

Tensor PreparedConv::conv2d_output(const Tensor& in, int shift, bool wide, Activation act,
                                   int threads) const {
  if (in.c != in_channels_)
    throw std::invalid_argument("PreparedConv: input has " + std::to_string(in.c) +
                                " channels, prepared for " + std::to_string(in_channels_));
  TensorScratch& ts = tensor_scratch();
  if (vectorized() && to_act(in, ts.act)) {
    Tensor out;
    if (wide && run(ts.act.view(), Epilogue::Wide, shift, act, threads, nullptr, ts.conv,
                    &out, nullptr, nullptr))
      return out;
    // 8-bit output: the Act path's epilogue, converted back.
    if (!wide && run(ts.act.view(), Epilogue::U8, shift, act, threads, nullptr, ts.conv,
                     nullptr, nullptr, &ts.out8)) {
      from_act(ts.out8.view(), out);
      return out;
    }
  }
  return fast::output_stage(conv2d(in, threads), shift, wide, act);
}

bool PreparedConv::run_act(const ActView& in, int shift, Activation act, Act& out,
                           ConvScratch& scratch, kernels::ParallelFor* pool) const {
  return run(in, Epilogue::U8, shift, act, 1, pool, scratch, nullptr, nullptr, &out);
}

bool PreparedConv::run_act_wide(const ActView& in, int shift, Activation act, Tensor& wide_out,
                                ConvScratch& scratch, kernels::ParallelFor* pool) const {
  return run(in, Epilogue::Wide, shift, act, 1, pool, scratch, &wide_out, nullptr, nullptr);
}

bool PreparedConv::run(const ActView& in, Epilogue kind, int shift, Activation act,
                       int threads, kernels::ParallelFor* pool, ConvScratch& sc, Tensor* out32,
                       AccTensor* out64, Act* out8) const {
  if (mode_ == Mode::Reference || lanes_ != detail::Lanes() || in.c != in_channels_ ||
      (mode_ == Mode::Dense && wlayout_ != detail::DenseWeightLayout()) ||
      in.cs != Act::stride_for(in.c) || !in.data)
    return false;
  if ((kind == Epilogue::Requant8 || kind == Epilogue::U8) && !int32_requant_ok()) return false;
  const int kh0 = g_.kernel[0], kw0 = g_.kernel[1];
  const int oh0 = ref::conv_extent(in.h, kh0, g_.pad_before[0], g_.pad_after[0], g_.stride[0],
                                   g_.dilation[0], g_.upsample[0]);
  const int ow0 = ref::conv_extent(in.w, kw0, g_.pad_before[1], g_.pad_after[1], g_.stride[1],
                                   g_.dilation[1], g_.upsample[1]);
  if (oh0 <= 0 || ow0 <= 0 || in.h <= 0 || in.w <= 0) return false;
  const int parallel = pool ? pool->threads() : threads;

  // The problem the row kernel sees. Two reshapes keep the pixel order (C-order H x W):
  //  * a 1x1, stride-1, unpadded convolution is one long row (or `parallel` rows);
  //  * a k x 1 convolution of a C x L x 1 tensor (Conv1d) is a 1 x k one of C x 1 x L.
  int H = in.h, W = in.w;
  int kh = kh0, kw = kw0;
  Pair s = g_.stride, d = g_.dilation, u = g_.upsample, pb = g_.pad_before;
  int oh = oh0, ow = ow0;
  const bool no_pad = g_.pad_before == Pair{0, 0} && g_.pad_after == Pair{0, 0};
  if (kh == 1 && kw == 1 && no_pad && s == Pair{1, 1} && u == Pair{1, 1}) {
    // Split over threads: a few rows per thread (the threads take rows as they come free).
    const int pixels = H * W;
    int rows = 1;
    for (int r = parallel > 1 ? parallel * 8 : 1; r >= parallel && r > 1; r /= 2)
      if (pixels % r == 0 && pixels / r >= 16) {
        rows = r;
        break;
      }
    if (parallel <= 1 || rows > 1) {
      H = oh = rows;
      W = ow = pixels / rows;
    }
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
  const int cs = in.cs;
  const int64_t pix_bytes = mode_ == Mode::Dense ? int64_t{cs} : int64_t{ipg_} * opad;
  if (hp64 * wp64 * pix_bytes > (int64_t{1} << 31)) return false;  // absurd sizes
  const int Hp = static_cast<int>(hp64), Wp = static_cast<int>(wp64);

  const uint8_t* plan_in = nullptr;
  ptrdiff_t in_row = 0;
  if (mode_ == Mode::Dense && pb == Pair{0, 0} && u == Pair{1, 1} && Hp <= H && Wp <= W) {
    // Every tap reads inside the input: the kernel reads the activations where they are.
    plan_in = in.data;
    in_row = static_cast<ptrdiff_t>(W) * cs;
  } else {
    // A padded copy. Its border (padding, ConvTranspose2d's inserted zeros) is written once
    // per geometry: the same layer on the next sample rewrites only the interior.
    const int64_t key[8] = {Hp, Wp, pix_bytes, H, W, int64_t{pb[0]} * 65536 + pb[1],
                            int64_t{u[0]} * 65536 + u[1], mode_ == Mode::Dense ? 1 : 2};
    const size_t buf_size = static_cast<size_t>(hp64 * wp64 * pix_bytes);
    if (!std::equal(key, key + 8, sc.key) || sc.in.size() != buf_size) {
      sc.in.assign(buf_size, mode_ == Mode::Dense ? 128 : 0);  // zero in either encoding
      std::copy(key, key + 8, sc.key);
    }
    // Real pixel (iy, ix) sits at buffer (iy * u + pb, ix * u + pb).
    const int ix_lo = pb[1] >= 0 ? 0 : (-pb[1] + u[1] - 1) / u[1];
    const int ix_hi = static_cast<int>(
        std::min<int64_t>(W, Wp - 1 - pb[1] < 0 ? 0 : (int64_t{Wp} - 1 - pb[1]) / u[1] + 1));
    const ptrdiff_t src_row = static_cast<ptrdiff_t>(W) * cs;
    in_row = static_cast<ptrdiff_t>(pix_bytes) * Wp;
    for (int iy = 0; iy < H; ++iy) {
      const int64_t r = int64_t{iy} * u[0] + pb[0];
      if (r < 0 || r >= Hp || ix_lo >= ix_hi) continue;
      uint8_t* row = sc.in.data() + static_cast<size_t>(r) * in_row;
      const uint8_t* src = in.data + iy * src_row;
      if (mode_ == Mode::Dense) {
        uint8_t* q = row + (static_cast<ptrdiff_t>(ix_lo) * u[1] + pb[1]) * cs;
        if (u[1] == 1) {
          std::memcpy(q, src + static_cast<ptrdiff_t>(ix_lo) * cs,
                      static_cast<size_t>(ix_hi - ix_lo) * cs);
        } else {
          for (int ix = ix_lo; ix < ix_hi; ++ix, q += static_cast<ptrdiff_t>(u[1]) * cs)
            std::memcpy(q, src + static_cast<ptrdiff_t>(ix) * cs, static_cast<size_t>(cs));
        }
      } else {
        // Output o reads channels o*ipg .. o*ipg + ipg - 1: lane o of slot ci, as int8.
        const int O = out_channels_, G = ipg_;
        for (int ix = ix_lo; ix < ix_hi; ++ix) {
          int8_t* q = reinterpret_cast<int8_t*>(row) +
                      (static_cast<ptrdiff_t>(ix) * u[1] + pb[1]) * pix_bytes;
          const uint8_t* p = src + static_cast<ptrdiff_t>(ix) * cs;
          for (int o = 0; o < O; ++o)
            for (int ci = 0; ci < G; ++ci)
              q[ci * opad + o] = static_cast<int8_t>(p[o * G + ci] ^ 0x80);
        }
      }
    }
    plan_in = sc.in.data();
  }
  const bool bytes = byte_kernel(in);
  ptrdiff_t in_pix = pix_bytes;
  const size_t in_bytes = plan_in == in.data ? static_cast<size_t>(H) * in_row : sc.in.size();
  if (bytes) {
    // The byte kernel reads x itself (detail::ToSignedBytes), not x + 128.
    sc.in8.resize(in_bytes);
    detail::ToSignedBytes(plan_in, in_bytes, sc.in8.data());
    plan_in = sc.in8.data();
  } else if (mode_ == Mode::Dense && wlayout_ == 1) {
    // The split-layout kernel reads its input split to int16 (detail::SplitInput16).
    sc.in16.resize(in_bytes);
    detail::SplitInput16(plan_in, in_bytes, sc.in16.data());
    plan_in = reinterpret_cast<const uint8_t*>(sc.in16.data());
    in_row *= 2;
    in_pix *= 2;
  }

  const size_t pixels = static_cast<size_t>(oh) * ow;
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
  plan.in = plan_in;
  plan.in_pix = in_pix;
  plan.in_row = in_row;
  plan.c4 = c4_;
  plan.ipg = ipg_;
  plan.w = wpacked_.data();
  plan.wsum128 = wsum128_.data();
  plan.wg = wgrouped_.data();
  if (bytes) {
    plan.w8 = wpacked8_.data();
    plan.pair16 = pair16_;
  }
  plan.mode = kind;
  plan.shift = shift;
  plan.act = act;
  plan.bias32 = kind == Epilogue::Wide ? bias_wide_.data() : bias_req_.data();
  const int O = out_channels_;
  if (kind == Epilogue::U8) {
    out8->reshape(O, oh0, ow0);
    plan.out8 = out8->data.data();
    plan.out_cs = out8->cs;
  } else {
    sc.out.resize(pixels * opad);
    plan.out = sc.out.data();
  }
  run_rows(plan, threads, pool);
  if (kind == Epilogue::U8) return true;

  // HWC (padded channels) -> CHW.
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
    out32->c = O;
    out32->h = oh0;
    out32->w = ow0;
    out32->data.resize(pixels * O);
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
  detail::OutputStage64(acc.data.data(), acc.data.size(), shift, wide, act, out.data.data());
  return out;
}

Tensor eltwise(const std::vector<Tensor>& operands, Eltwise op, bool wide) {
  for (const Tensor& t : operands)
    if (t.data.size() != operands.at(0).data.size()) return ref::eltwise(operands, op, wide);
  Tensor out = operands.at(0);
  for (size_t k = 1; k < operands.size(); ++k)
    detail::EltwiseInto(out.data.data(), operands[k].data.data(), out.data.size(), op);
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
  {  // 8-bit data: the Act kernel (what the engine runs between layers)
    TensorScratch& ts = tensor_scratch();
    if (to_act(in, ts.act) &&
        pool_act(ts.act.view(), ts.out8, pool, stride, dilation, average, rounding, false)) {
      Tensor out;
      from_act(ts.out8.view(), out);
      return out;
    }
  }
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
  {  // 8-bit data: the Act kernel (what the engine runs between layers)
    TensorScratch& ts = tensor_scratch();
    if (to_act(in, ts.act) && pool_act(ts.act.view(), ts.out8, {pool, 1}, {stride, 1},
                                       {dilation, 1}, average, false, true)) {
      Tensor out;
      from_act(ts.out8.view(), out);
      return out;
    }
  }
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

// ---- activations in the kernels' layout ----------------------------------------------------------

void Act::reshape(int c_, int h_, int w_) {
  c = c_;
  h = h_;
  w = w_;
  cs = stride_for(c_);
  data.resize(static_cast<size_t>(h_) * w_ * cs);
}

bool to_act(const Tensor& t, Act& out) {
  out.reshape(t.c, t.h, t.w);
  if (t.data.empty()) return true;
  return detail::ToActU8(t.data.data(), static_cast<size_t>(t.h) * t.w, t.c, out.cs,
                         out.data.data());
}

bool narrow_int64(const int64_t* values, size_t n, int32_t* out) {
  return detail::NarrowI64(values, n, out);
}

int32_t max_value(const int32_t* values, size_t n) {
  int32_t mn = 0, mx = 0;
  detail::MinMax(values, n, &mn, &mx);
  return mx;
}

void pixel_argmax(const Tensor& out, std::vector<int32_t>& best) {
  const size_t plane = static_cast<size_t>(out.h) * out.w;
  thread_local std::vector<int32_t> top;
  top.resize(plane);
  best.resize(plane);
  if (plane == 0 || out.c == 0) return;
  detail::PixelArgmax(out.data.data(), out.c, plane, top.data(), best.data());
}

void from_act(const ActView& a, Tensor& out) {
  out.c = a.c;
  out.h = a.h;
  out.w = a.w;
  const size_t plane = static_cast<size_t>(a.h) * a.w;
  out.data.resize(plane * a.c);
  if (plane == 1) {  // one pixel (a dense layer's output): the channels are contiguous
    for (int c = 0; c < a.c; ++c) out.data[c] = int32_t{a.data[c]} - 128;
    return;
  }
  for (size_t p0 = 0; p0 < plane; p0 += 64) {
    const size_t p1 = std::min(plane, p0 + 64);
    for (int c = 0; c < a.c; ++c) {
      int32_t* dst = out.data.data() + c * plane;
      const uint8_t* q = a.data + p0 * a.cs + c;
      for (size_t p = p0; p < p1; ++p, q += a.cs) dst[p] = int32_t{*q} - 128;
    }
  }
}

namespace {
// Average pooling of bytes: window offsets `offs` (bytes), count nk; the value is the sum of
// (byte - 128) divided as `div` says (rounding: round half away from zero and clamp, else
// truncate), stored + 128. Channels past c are set to 128.
void pool_avg_u8(const ActView& in, Act& out, int sh, int sw, const std::vector<ptrdiff_t>& offs,
                 const Divider& div, bool rounding) {
  const int cs = in.cs, C = in.c, nk = static_cast<int>(offs.size());
  std::vector<int32_t> acc(static_cast<size_t>(cs));
  for (int y = 0; y < out.h; ++y)
    for (int x = 0; x < out.w; ++x) {
      const uint8_t* p0 = in.data + static_cast<ptrdiff_t>(y) * sh * in.row() +
                          static_cast<ptrdiff_t>(x) * sw * cs;
      std::fill(acc.begin(), acc.end(), -128 * nk);
      for (int k = 0; k < nk; ++k) {
        const uint8_t* p = p0 + offs[k];
        for (int c = 0; c < cs; ++c) acc[c] += p[c];
      }
      uint8_t* q = out.data.data() + (static_cast<size_t>(y) * out.w + x) * cs;
      for (int c = 0; c < C; ++c)
        q[c] = static_cast<uint8_t>((rounding ? div.round(acc[c]) : div.trunc(acc[c])) + 128);
      for (int c = C; c < cs; ++c) q[c] = 128;
    }
}
}  // namespace

bool pool_act(const ActView& in, Act& out, Pair pool, Pair stride, Pair dilation, bool average,
              bool rounding, bool one_d) {
  if (!in.data || in.cs != Act::stride_for(in.c)) return false;
  if (one_d) {  // the conditions of fast::pool1d
    const int p = pool[0], s = stride[0], d = dilation[0];
    if (p <= 0 || s <= 0 || d <= 0 || in.w != 1) return false;
    const int ol = ref::pooled_extent(in.h, p, s, d);
    if (ol <= 0 || int64_t{ol - 1} * s + int64_t{p - 1} * std::max(d, 1) >= in.h ||
        p > (1 << 20))
      return false;
    out.reshape(in.c, ol, 1);
    if (!average) {  // izer's 1-D max pool ignores dilation
      detail::PoolMaxU8(in.data, in.cs, in.cs, ol, 1, p, 1, s, 1, 1, 1, out.data.data());
    } else {  // 1-D average pooling always truncates
      std::vector<ptrdiff_t> offs;
      for (int i = 0; i < p; ++i) offs.push_back(static_cast<ptrdiff_t>(i) * d * in.cs);
      pool_avg_u8(in, out, s, 1, offs, Divider(p), false);
    }
    return true;
  }
  // The conditions of fast::pool2d.
  const int ph = pool[0], pw = pool[1];
  if (ph <= 0 || pw <= 0 || stride[0] <= 0 || stride[1] <= 0 || dilation[0] <= 0 ||
      dilation[1] <= 0)
    return false;
  const int oh = ref::pooled_extent(in.h, ph, stride[0], dilation[0]);
  const int ow = ref::pooled_extent(in.w, pw, stride[1], dilation[1]);
  if (oh <= 0 || ow <= 0 || int64_t{oh - 1} * stride[0] + int64_t{ph - 1} * dilation[0] >= in.h ||
      int64_t{ow - 1} * stride[1] + int64_t{pw - 1} * dilation[1] >= in.w ||
      int64_t{ph} * pw > (1 << 20))
    return false;
  out.reshape(in.c, oh, ow);
  if (!average) {
    detail::PoolMaxU8(in.data, in.row(), in.cs, oh, ow, ph, pw, stride[0], stride[1],
                      dilation[0], dilation[1], out.data.data());
  } else {
    std::vector<ptrdiff_t> offs;
    for (int i = 0; i < ph; ++i)
      for (int j = 0; j < pw; ++j)
        offs.push_back(static_cast<ptrdiff_t>(i) * dilation[0] * in.row() +
                       static_cast<ptrdiff_t>(j) * dilation[1] * in.cs);
    pool_avg_u8(in, out, stride[0], stride[1], offs, Divider(ph * pw), rounding);
  }
  return true;
}

bool subsample_act(const ActView& in, Act& out, Pair stride) {
  if (!in.data || stride[0] <= 0 || stride[1] <= 0) return false;
  const int oh = (in.h + stride[0] - 1) / stride[0];
  const int ow = (in.w + stride[1] - 1) / stride[1];
  out.reshape(in.c, oh, ow);
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      std::memcpy(out.data.data() + (static_cast<size_t>(y) * ow + x) * out.cs,
                  in.data + static_cast<ptrdiff_t>(y) * stride[0] * in.row() +
                      static_cast<ptrdiff_t>(x) * stride[1] * in.cs,
                  static_cast<size_t>(out.cs));
  return true;
}

void concat_channels_act(const std::vector<ActView>& parts, Act& out) {
  int channels = 0;
  for (const ActView& p : parts) channels += p.c;
  const ActView& first = parts.at(0);
  out.reshape(channels, first.h, first.w);
  const size_t pixels = static_cast<size_t>(first.h) * first.w;
  for (size_t px = 0; px < pixels; ++px) {
    uint8_t* q = out.data.data() + px * out.cs;
    int at = 0;
    for (const ActView& p : parts) {
      std::memcpy(q + at, p.data + px * p.cs, static_cast<size_t>(p.c));
      at += p.c;
    }
    std::memset(q + at, 128, static_cast<size_t>(out.cs - at));
  }
}

}  // namespace ai8xsim::fast
