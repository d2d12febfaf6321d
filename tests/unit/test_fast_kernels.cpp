// The fast kernels (kernels/fast.h) equal the reference kernels (kernels/reference.h) bit for
// bit: randomized shapes, geometries, weight widths and values (fixed seeds), the extremes,
// the reference fallbacks, and every SIMD target this CPU supports.
#include <doctest/doctest.h>

#include <hwy/targets.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <random>
#include <sstream>
#include <string>

#include "kernels/fast.h"
#include "kernels/fast_simd.h"
#include "kernels/kernels.h"
#include "kernels/reference.h"

using namespace ai8xsim;
using ref::ConvGeometry;
using ref::Pair;

namespace {

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int uni(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }
  int64_t uni64(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(g);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(g); }
  template <typename T>
  T pick(std::initializer_list<T> v) {
    return *(v.begin() + uni(0, static_cast<int>(v.size()) - 1));
  }
};

// 8-bit data; some tensors are all one extreme, some have many extremes.
Tensor rand_data(Rng& r, int c, int h, int w, int lo = -128, int hi = 127) {
  Tensor t(c, h, w);
  const int style = r.uni(0, 9);
  for (auto& v : t.data) {
    if (style == 0) v = lo;
    else if (style == 1) v = hi;
    else if (style < 4) v = r.chance(0.5) ? (r.chance(0.5) ? lo : hi) : r.uni(lo, hi);
    else v = r.uni(lo, hi);
  }
  return t;
}

// Weight values of a quantization width: 8, 4, 2, 1 bits or -1 (binary +-1).
std::vector<int8_t> rand_weights(Rng& r, size_t n, int bits) {
  std::vector<int8_t> w(n);
  const int extreme = r.uni(0, 12);
  for (auto& v : w) {
    if (bits == -1) {
      v = r.chance(0.5) ? 1 : -1;
    } else {
      const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
      v = static_cast<int8_t>(extreme == 0 ? lo : extreme == 1 ? hi : r.uni(lo, hi));
    }
  }
  return w;
}

std::vector<int64_t> rand_bias(Rng& r, int n) {
  std::vector<int64_t> b;
  const int kind = r.uni(0, 5);
  if (kind == 0) return b;  // no bias
  for (int o = 0; o < n; ++o) {
    int64_t v = kind == 5 ? r.uni64(-(int64_t{1} << 22), int64_t{1} << 22)  // MAX78002-wide
                          : r.uni(-128, 127);
    b.push_back(v * 128);
  }
  return b;
}

template <typename T>
std::string first_mismatch(const Tensor3<T>& got, const Tensor3<T>& want) {
  if (got.c != want.c || got.h != want.h || got.w != want.w)
    return "shape " + got.shape_str() + " != " + want.shape_str();
  for (size_t i = 0; i < want.data.size(); ++i)
    if (got.data[i] != want.data[i]) {
      std::ostringstream s;
      s << "element " << i << " of " << want.shape_str() << ": " << got.data[i]
        << " != " << want.data[i];
      return s.str();
    }
  return "";
}

std::string describe(const Tensor& in, int out_channels, const ConvGeometry& g) {
  std::ostringstream s;
  s << "in " << in.shape_str() << " out " << out_channels << " k " << g.kernel[0] << "x"
    << g.kernel[1] << " pad " << g.pad_before[0] << "," << g.pad_before[1] << "/"
    << g.pad_after[0] << "," << g.pad_after[1] << " stride " << g.stride[0] << ","
    << g.stride[1] << " dil " << g.dilation[0] << "," << g.dilation[1] << " up "
    << g.upsample[0] << "," << g.upsample[1] << " groups " << g.groups;
  return s.str();
}

// How many convolutions the tests ran, and how many of them on the SIMD path.
int g_conv_cases = 0, g_conv_fast = 0;
// Of those on the SIMD path: dense layers with every input >= 0, how many of them took the
// byte kernel (x86 without VNNI: all of them), and how many of those two quads per step.
int g_conv_nonneg = 0, g_conv_byte = 0, g_conv_byte_pairs = 0;

// fast == reference for the accumulators and for the fused output stage (a few settings).
void check_conv(Rng& r, const Tensor& in, const std::vector<int8_t>& w, int out_channels,
                const std::vector<int64_t>& bias, const ConvGeometry& g) {
  const std::string what = describe(in, out_channels, g);
  const AccTensor want = ref::conv2d(in, w.data(), out_channels, bias, g);
  const fast::PreparedConv pc(w.data(), out_channels, in.c, bias, g);
  ++g_conv_cases;
  g_conv_fast += pc.fast_path(in) ? 1 : 0;
  if (pc.fast_path(in) && g.groups == 1 &&
      std::all_of(in.data.begin(), in.data.end(), [](int32_t v) { return v >= 0; })) {
    ++g_conv_nonneg;
    const bool bytes = pc.byte_kernel(in);
    g_conv_byte += bytes ? 1 : 0;
    g_conv_byte_pairs += bytes && pc.byte_kernel_pairs() ? 1 : 0;
  }
  const int threads = r.chance(0.25) ? 2 : 1;
  const AccTensor got = pc.conv2d(in, threads);
  const std::string m = first_mismatch(got, want);
  CHECK_MESSAGE(m.empty(), what << ": conv2d: " << m);
  // The Fast set's table entry (the drop-in kernel).
  if (r.chance(0.2)) {
    const std::string m2 = first_mismatch(
        kernels::kernel_table(KernelSet::Fast).conv2d(in, w.data(), out_channels, bias, g), want);
    CHECK_MESSAGE(m2.empty(), what << ": the Fast set's conv2d: " << m2);
  }
  for (int k = 0; k < 2; ++k) {
    const int shift = r.uni(-15, 15);
    const bool wide = r.chance(0.2);
    const Activation act = r.pick({Activation::None, Activation::ReLU, Activation::Abs});
    const Tensor want2 = ref::output_stage(want, shift, wide, act);
    const std::string m2 = first_mismatch(pc.conv2d_output(in, shift, wide, act, threads), want2);
    CHECK_MESSAGE(m2.empty(), what << ": conv2d_output shift " << shift << " wide " << wide
                                   << " act " << static_cast<int>(act) << ": " << m2);
  }
}

int rand_bits(Rng& r) { return r.pick({8, 8, 8, 4, 2, 1, -1}); }

ConvGeometry conv_geometry(Pair k, Pair pad, Pair stride, Pair dil, int groups = 1) {
  ConvGeometry g;
  g.kernel = k;
  g.pad_before = pad;
  g.pad_after = pad;
  g.stride = stride;
  g.dilation = dil;
  g.groups = groups;
  return g;
}

// ConvTranspose2d as the engine maps it (sim/engine/engine.cpp: geometry()).
ConvGeometry transposed_geometry(Pair k, Pair pad, Pair stride, Pair dil, Pair out_pad) {
  ConvGeometry g;
  g.kernel = k;
  g.dilation = dil;
  g.upsample = stride;
  g.stride = {1, 1};
  for (int a = 0; a < 2; ++a) {
    g.pad_before[a] = dil[a] * (k[a] - 1) - pad[a];
    g.pad_after[a] = g.pad_before[a] + out_pad[a];
  }
  return g;
}

// One random dense/grouped/1-D/... case of each family, MACs kept small for the reference.
void conv_case(Rng& r, int family) {
  // Half the inputs as a ReLU leaves them, in [0, 127] (x86 without VNNI: the byte kernel).
  const int lo = r.chance(0.5) ? 0 : -128;
  switch (family) {
    case 0: {  // 3x3, pad 1, stride 1 (the common 2-D layer)
      const int c = r.chance(0.2) ? r.uni(1, 300) : r.uni(1, 64);
      const int o = r.chance(0.2) ? r.uni(1, 200) : r.uni(1, 70);
      const int hmax = std::max(1, std::min(40, static_cast<int>(300000 / (9.0 * c * o) + 1)));
      const int h = r.uni(1, hmax), w = r.uni(1, hmax);
      const ConvGeometry g = conv_geometry({3, 3}, {1, 1}, {1, 1}, {1, 1});
      check_conv(r, rand_data(r, c, h, w, lo), rand_weights(r, size_t(o) * c * 9, rand_bits(r)), o,
                 rand_bias(r, o), g);
      break;
    }
    case 1: {  // 1x1 (pad 0, or pad 1 as izer allows), channels up to 1024
      const int c = r.uni(1, 1024), o = r.uni(1, r.chance(0.5) ? 64 : 512);
      const int hmax = std::max(1, std::min(40, static_cast<int>(std::sqrt(400000.0 / (c * o)))));
      const int h = r.uni(1, hmax), w = r.uni(1, hmax);
      const int p = r.chance(0.8) ? 0 : 1;
      const ConvGeometry g = conv_geometry({1, 1}, {p, p}, {1, 1}, {1, 1});
      check_conv(r, rand_data(r, c, h, w, lo), rand_weights(r, size_t(o) * c, rand_bits(r)), o,
                 rand_bias(r, o), g);
      break;
    }
    case 2: {  // Conv1d: C x L x 1, kernel k x 1, pad, stride, dilation
      const int c = r.uni(1, r.chance(0.3) ? 512 : 64), o = r.uni(1, 64);
      const int k = r.uni(1, 9);
      const int l = r.uni(1, 40);
      const int p = r.uni(0, 2);
      const ConvGeometry g =
          conv_geometry({k, 1}, {p, 0}, {r.uni(1, 3), 1}, {r.chance(0.7) ? 1 : r.uni(2, 3), 1});
      check_conv(r, rand_data(r, c, l, 1, lo), rand_weights(r, size_t(o) * c * k, rand_bits(r)), o,
                 rand_bias(r, o), g);
      break;
    }
    case 3: {  // Linear / flatten: 1x1 on a 1x1 input of up to 4096 channels
      const int c = r.chance(0.5) ? r.uni(1, 1024) : r.uni(1024, 4096), o = r.uni(1, 100);
      const ConvGeometry g = conv_geometry({1, 1}, {0, 0}, {1, 1}, {1, 1});
      check_conv(r, rand_data(r, c, 1, 1, lo), rand_weights(r, size_t(o) * c, rand_bits(r)), o,
                 rand_bias(r, o), g);
      break;
    }
    case 4: {  // ConvTranspose2d (stride 2 mostly), via upsampling
      const int c = r.uni(1, 64), o = r.uni(1, 64);
      const int k = r.uni(1, 3);
      const Pair kk = r.chance(0.8) ? Pair{k, k} : Pair{r.uni(1, 3), r.uni(1, 3)};
      const int s = r.chance(0.8) ? 2 : r.uni(1, 3);
      const int pad = r.uni(0, 2), op = r.uni(0, 1);
      const ConvGeometry g =
          transposed_geometry(kk, {pad, pad}, {s, s}, {1, 1}, {op, op});
      const int h = r.uni(1, 16), w = r.uni(1, 16);
      check_conv(r, rand_data(r, c, h, w, lo),
                 rand_weights(r, size_t(o) * c * kk[0] * kk[1], rand_bits(r)), o,
                 rand_bias(r, o), g);
      break;
    }
    case 5: {  // depthwise / grouped 2-D and 1-D
      const bool one_d = r.chance(0.3);
      int groups, c, o, ipg;
      if (r.chance(0.7)) {  // depthwise: groups == in == out
        c = o = groups = r.uni(1, r.chance(0.2) ? 1024 : 100);
        ipg = 1;
      } else {  // izer's general grouping: output o reads input block o
        groups = r.uni(2, 16);
        ipg = r.uni(1, 8);
        c = groups * ipg;
        o = r.uni(1, groups);
      }
      const int k = one_d ? r.uni(1, 9) : r.pick({1, 3});
      const Pair kk = one_d ? Pair{k, 1} : Pair{k, k};
      const int p = r.uni(0, 2);
      const ConvGeometry g = conv_geometry(kk, one_d ? Pair{p, 0} : Pair{p, p},
                                           {r.uni(1, 2), one_d ? 1 : r.uni(1, 2)}, {1, 1}, groups);
      const int h = r.uni(1, one_d ? 40 : 20), w = one_d ? 1 : r.uni(1, 20);
      check_conv(r, rand_data(r, c, h, w, lo),
                 rand_weights(r, size_t(o) * ipg * kk[0] * kk[1], rand_bits(r)), o,
                 rand_bias(r, o), g);
      break;
    }
    default: {  // anything: kernels 1..5, asymmetric pads, strides, dilation, upsampling, groups
      ConvGeometry g;
      g.kernel = {r.uni(1, 5), r.uni(1, 5)};
      for (int a = 0; a < 2; ++a) {
        g.pad_before[a] = r.uni(-1, 3);
        g.pad_after[a] = r.uni(-1, 3);
        g.stride[a] = r.uni(1, 3);
        g.dilation[a] = r.uni(1, 3);
        g.upsample[a] = r.chance(0.7) ? 1 : r.uni(2, 3);
      }
      int c = r.uni(1, 48), o = r.uni(1, 48);
      if (r.chance(0.3)) {
        g.groups = r.uni(2, 6);
        c = g.groups * r.uni(1, 4);
        o = r.uni(1, g.groups);
      }
      const int h = r.uni(1, 14), w = r.uni(1, 14);
      check_conv(r, rand_data(r, c, h, w, lo),
                 rand_weights(r, size_t(o) * (c / g.groups) * g.kernel[0] * g.kernel[1],
                              rand_bits(r)),
                 o, rand_bias(r, o), g);
      break;
    }
  }
}

}  // namespace

TEST_CASE("fast conv2d == reference: 3x3, 1x1, Conv1d, Linear, transposed, grouped, any") {
  INFO("SIMD target: " << std::string(fast::simd_target()));
  Rng r(20240607);
  g_conv_cases = g_conv_fast = 0;
  for (int family = 0; family <= 6; ++family)
    for (int i = 0; i < 40; ++i) conv_case(r, family);
  // The comparisons above are only worth something if the SIMD path ran: all but the empty
  // outputs of the random geometries do.
  CHECK(g_conv_fast >= g_conv_cases * 9 / 10);
  MESSAGE("SIMD path on " << g_conv_fast << " of " << g_conv_cases << " convolutions");
  // Both kernels of the split-layout targets were compared (the byte kernel on every dense
  // layer with inputs >= 0); the others have one kernel.
  CHECK(g_conv_nonneg >= g_conv_fast / 5);
  if (fast::detail::DenseWeightLayout() == 1) {
    CHECK(g_conv_byte == g_conv_nonneg);
    CHECK(g_conv_byte_pairs >= g_conv_byte / 5);  // (the narrow weight widths)
    CHECK(g_conv_byte_pairs < g_conv_byte);       // (full 8-bit weights)
  } else {
    CHECK(g_conv_byte == 0);
  }
  MESSAGE("byte kernel on " << g_conv_byte << " of " << g_conv_nonneg
                            << " dense convolutions with inputs >= 0, two quads per step on "
                            << g_conv_byte_pairs);
}

// Runs body(target) with each SIMD target this CPU has forced in turn (the dispatch table of
// kernels/fast_simd.cpp covers these), then restores the normal choice.
template <class F>
void for_each_simd_target(F&& body) {
  const int64_t candidates[] = {HWY_AVX3_DL, HWY_AVX3, HWY_AVX2, HWY_SSE4, HWY_SSSE3,
                                HWY_SCALAR};
  const int64_t have = hwy::SupportedTargets();
  for (int64_t t : candidates) {
    if (!(have & t)) continue;
    hwy::SetSupportedTargetsForTest(t);
    CAPTURE(hwy::TargetName(t));
    CHECK(std::string(fast::simd_target()) == hwy::TargetName(t));
    body(t);
  }
  hwy::SetSupportedTargetsForTest(0);
}

TEST_CASE("fast conv2d == reference on every SIMD target this CPU has") {
  for_each_simd_target([](int64_t t) {
    Rng r(777 + static_cast<uint64_t>(t));
    for (int family = 0; family <= 6; ++family)
      for (int i = 0; i < (t == HWY_SCALAR ? 3 : 8); ++i) conv_case(r, family);
  });
}

TEST_CASE("fast conv2d: the extremes and the wide accumulator") {
  Rng r(99);
  // All -128 x -128: every product is +2^14, the largest dot product: 1024 * 9 * 2^14. Inputs
  // of 127 take the byte kernel (x86 without VNNI), whose largest pairs are 127 * 127 * 2 and
  // 127 * -128 * 2.
  for (int v : {-128, 127})
    for (int wv : {-128, 127}) {
      Tensor in(1024, 3, 3, v);
      std::vector<int8_t> w(size_t(20) * 1024 * 9, static_cast<int8_t>(wv));
      const ConvGeometry g = conv_geometry({3, 3}, {1, 1}, {1, 1}, {1, 1});
      check_conv(r, in, w, 20, {}, g);
      check_conv(r, in, w, 20, std::vector<int64_t>(20, 127 * 128), g);
    }
  // Bias beyond the int32 epilogue's range (falls back to the int64 output stage).
  {
    Tensor in = rand_data(r, 16, 5, 5);
    auto w = rand_weights(r, size_t(8) * 16 * 9, 8);
    std::vector<int64_t> b(8);
    for (auto& x : b) x = r.uni64(-(int64_t{1} << 40), int64_t{1} << 40);
    check_conv(r, in, w, 8, b, conv_geometry({3, 3}, {1, 1}, {1, 1}, {1, 1}));
  }
  // Dot products of 131072 terms or more: the reference path.
  {
    const ConvGeometry g = conv_geometry({1, 1}, {0, 0}, {1, 1}, {1, 1});
    Tensor in = rand_data(r, 131072, 1, 1);
    auto w = rand_weights(r, size_t(2) * 131072, 8);
    CHECK_FALSE(fast::PreparedConv(w.data(), 2, in.c, {}, g).vectorized());
    check_conv(r, in, w, 2, {}, g);
    Tensor in2(131071, 1, 1, -128);
    std::vector<int8_t> w2(131071, -128);  // the largest dot product the fast path takes:
    CHECK(fast::PreparedConv(w2.data(), 1, in2.c, {}, g).fast_path(in2));  // 2^31 - 2^14
    check_conv(r, in2, w2, 1, {}, g);
    Tensor in3(131071, 1, 1, 127);  // and the byte kernel's: -127 * 128 * 131071
    check_conv(r, in3, w2, 1, {}, g);
  }
  // The byte kernel's two-quad step: its int16 sums of 4 products at the limit, 127 * 258 and
  // -127 * 258 (weights whose byte pairs sum to 258 in the positive or the negative ones), and
  // one past it (259: one quad per step). Inputs 127 on every channel (the extreme sums), and
  // random ones in [0, 127].
  for (int over : {0, 1}) {
    CAPTURE(over);
    const ConvGeometry g = conv_geometry({1, 1}, {0, 0}, {1, 1}, {1, 1});
    const int C = 24, O = 19;  // 6 quads: 3 pairs of quads
    std::vector<int8_t> w(size_t(O) * C);
    for (int o = 0; o < O; ++o)
      for (int c = 0; c < C; ++c) {
        // Byte pair (c % 4 / 2) of quads 2k, 2k+1: channels {0,1,4,5} or {2,3,6,7} mod 8.
        const int slot = (c % 4 % 2) + 2 * (c % 8 / 4);  // 0..3 within its 4 products
        const int pos[4] = {127, 127, 4 + over, 0}, neg[4] = {-128, -128, -2 - over, 0};
        w[size_t(o) * C + c] = static_cast<int8_t>(o % 2 ? pos[slot] : neg[slot]);
      }
    const fast::PreparedConv pc(w.data(), O, C, {}, g);
    Tensor all(C, 3, 5, 127);
    if (fast::detail::DenseWeightLayout() == 1) {
      CHECK(pc.byte_kernel(all));
      CHECK(pc.byte_kernel_pairs() == (over == 0));
    }
    check_conv(r, all, w, O, {}, g);
    Tensor mixed = rand_data(r, C, 3, 5, 0, 127);
    check_conv(r, mixed, w, O, {}, g);
  }
  // 32-bit input data (after a wide layer): the reference path.
  {
    Tensor in = rand_data(r, 8, 6, 6);
    in.data[7] = 100000;
    in.data[9] = -5000;
    CHECK_FALSE(fast::PreparedConv(std::vector<int8_t>(4 * 8 * 9).data(), 4, 8, {},
                                   conv_geometry({3, 3}, {1, 1}, {1, 1}, {1, 1}))
                    .fast_path(in));
    check_conv(r, in, rand_weights(r, size_t(4) * 8 * 9, 8), 4, rand_bias(r, 4),
               conv_geometry({3, 3}, {1, 1}, {1, 1}, {1, 1}));
  }
  // Output extents of zero or less.
  check_conv(r, rand_data(r, 3, 2, 2), rand_weights(r, 3 * 3 * 25, 8), 3, {},
             conv_geometry({5, 5}, {0, 0}, {1, 1}, {1, 1}));
}

TEST_CASE("PreparedConv: reused across samples and threads, checks the channel count") {
  Rng r(5);
  const ConvGeometry g = conv_geometry({3, 3}, {1, 1}, {1, 1}, {1, 1});
  const auto w = rand_weights(r, size_t(40) * 24 * 9, 8);
  const auto b = rand_bias(r, 40);
  const fast::PreparedConv pc(w.data(), 40, 24, b, g);
  CHECK(pc.vectorized());
  CHECK(pc.in_channels() == 24);
  CHECK(pc.out_channels() == 40);
  for (int s = 0; s < 5; ++s) {
    const Tensor in = rand_data(r, 24, r.uni(1, 20), r.uni(1, 20));
    const AccTensor want = ref::conv2d(in, w.data(), 40, b, g);
    for (int threads : {1, 2, 3, 64})
      CHECK(first_mismatch(pc.conv2d(in, threads), want).empty());
  }
  CHECK_THROWS_AS(pc.conv2d(Tensor(23, 4, 4)), std::invalid_argument);
}

TEST_CASE("fast output_stage == reference: shifts -15..15, wide, activations") {
  Rng r(11);
  for (int it = 0; it < 200; ++it) {
    AccTensor acc(r.uni(1, 8), r.uni(1, 9), r.uni(1, 9));
    // Up to 2^54: beyond that the reference's acc * 2^8 would overflow int64 (undefined).
    const int range = r.pick({8, 16, 24, 31, 40, 54});
    for (auto& v : acc.data) v = r.uni64(-(int64_t{1} << range), int64_t{1} << range);
    if (r.chance(0.2)) acc.data[0] = -(int64_t{1} << 54);
    const int shift = r.uni(-15, 15);
    const bool wide = r.chance(0.3);
    const Activation act = r.pick({Activation::None, Activation::ReLU, Activation::Abs});
    const std::string m = first_mismatch(fast::output_stage(acc, shift, wide, act),
                                         ref::output_stage(acc, shift, wide, act));
    CHECK_MESSAGE(m.empty(), "shift " << shift << " wide " << wide << " act "
                                      << static_cast<int>(act) << ": " << m);
  }
  // Rounding ties at every shift.
  for (int shift = -15; shift <= 15; ++shift) {
    AccTensor acc(1, 1, 64);
    for (int i = 0; i < 64; ++i) acc.data[i] = (int64_t{i} - 32) * (int64_t{1} << std::max(0, 6 - shift));
    for (bool wide : {false, true})
      CHECK(first_mismatch(fast::output_stage(acc, shift, wide, Activation::None),
                           ref::output_stage(acc, shift, wide, Activation::None))
                .empty());
  }
}

TEST_CASE("fast pool2d == reference: sizes 1..16, strides, dilation, max and average") {
  Rng r(21);
  for (int it = 0; it < 600; ++it) {
    const Pair pool = r.chance(0.5) ? Pair{2, 2} : Pair{r.uni(1, 16), r.uni(1, 16)};
    const Pair stride = r.chance(0.5) ? pool : Pair{r.uni(1, 16), r.uni(1, 16)};
    const Pair dil = r.chance(0.7) ? Pair{1, 1} : Pair{r.uni(1, 3), r.uni(1, 3)};
    const bool avg = r.chance(0.5), rounding = r.chance(0.5);
    const int c = r.uni(1, 32), h = r.uni(1, 40), w = r.uni(1, 40);
    Tensor in = rand_data(r, c, h, w);
    if (r.chance(0.1)) in.data[0] = r.chance(0.5) ? 1 << 20 : -(1 << 20);  // 32-bit data
    const Tensor want = ref::pool2d(in, pool, stride, dil, avg, rounding);
    const std::string m = first_mismatch(fast::pool2d(in, pool, stride, dil, avg, rounding), want);
    CHECK_MESSAGE(m.empty(), "pool " << pool[0] << "x" << pool[1] << " stride " << stride[0]
                                     << "," << stride[1] << " dil " << dil[0] << "," << dil[1]
                                     << " avg " << avg << " round " << rounding << " in "
                                     << in.shape_str() << ": " << m);
  }
}

TEST_CASE("fast pool1d == reference: sizes 1..16, strides, dilation") {
  Rng r(22);
  for (int it = 0; it < 600; ++it) {
    const int pool = r.uni(1, 16), stride = r.chance(0.5) ? pool : r.uni(1, 16);
    const int dil = r.chance(0.7) ? 1 : r.uni(2, 3);
    const bool avg = r.chance(0.5);
    Tensor in = rand_data(r, r.uni(1, 32), r.uni(1, 60), 1);
    if (r.chance(0.1)) in.data[0] = 1 << 24;
    const Tensor want = ref::pool1d(in, pool, stride, dil, avg);
    const std::string m = first_mismatch(fast::pool1d(in, pool, stride, dil, avg), want);
    CHECK_MESSAGE(m.empty(), "pool " << pool << " stride " << stride << " dil " << dil
                                     << " avg " << avg << ": " << m);
  }
}

TEST_CASE("fast eltwise == reference: 2..16 operands, add/sub/or/xor, wide") {
  Rng r(23);
  for (int it = 0; it < 300; ++it) {
    const int n = r.uni(2, 16);
    const int c = r.uni(1, 40), h = r.uni(1, 9), w = r.uni(1, 9);
    const bool wide = r.chance(0.3);
    std::vector<Tensor> ops;
    for (int k = 0; k < n; ++k) {
      Tensor t = rand_data(r, c, h, w);
      if (wide)
        for (auto& v : t.data) v = r.uni(-(1 << 24), 1 << 24);
      ops.push_back(std::move(t));
    }
    const Eltwise op = r.pick({Eltwise::Add, Eltwise::Sub, Eltwise::Or, Eltwise::Xor});
    CHECK(first_mismatch(fast::eltwise(ops, op, wide), ref::eltwise(ops, op, wide)).empty());
  }
}

TEST_CASE("narrow_int64: int64 sample values to int32; one outside int8 is refused") {
  std::mt19937_64 g(3);
  std::uniform_int_distribution<int64_t> v8(-128, 127);
  for_each_simd_target([&](int64_t) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{3}, size_t{15}, size_t{16}, size_t{17},
                     size_t{64}, size_t{1001}}) {
      CAPTURE(n);
      std::vector<int64_t> v(n);
      for (auto& x : v) x = v8(g);
      std::vector<int32_t> out(n, 99);
      REQUIRE(fast::narrow_int64(v.data(), n, out.data()));
      CHECK(std::equal(v.begin(), v.end(), out.begin()));
      // Out of range anywhere, including values whose low 32 bits are in range.
      for (size_t at : {size_t{0}, n / 2, n ? n - 1 : 0})
        for (int64_t bad : {int64_t{128}, int64_t{-129}, int64_t{1} << 32,
                            (int64_t{1} << 32) + 5, -(int64_t{1} << 40),
                            std::numeric_limits<int64_t>::min()}) {
          if (n == 0) continue;
          std::vector<int64_t> u = v;
          u[at] = bad;
          CHECK_FALSE(fast::narrow_int64(u.data(), n, out.data()));
        }
    }
  });
}

TEST_CASE("max_value and pixel_argmax: the largest value; per pixel its first channel") {
  std::mt19937 g(5);
  for_each_simd_target([&](int64_t) {
    for (size_t n : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{100}, size_t{768}}) {
      std::vector<int32_t> v(n);
      for (auto& x : v) x = static_cast<int32_t>(g()) >> (g() % 31);  // the full int32 range
      CHECK(fast::max_value(v.data(), n) == *std::max_element(v.begin(), v.end()));
    }
    // Channels x planes around the vector lengths, few values (many ties): the first channel
    // of the largest value, as numpy.argmax over axis 0.
    for (int c : {1, 2, 5, 64})
      for (int hw : {1, 7, 16, 33}) {
        CAPTURE(c);
        CAPTURE(hw);
        Tensor t(c, hw, 1);
        for (auto& x : t.data) x = static_cast<int32_t>(g() % 4) - 2;
        std::vector<int32_t> best(3, 99);
        fast::pixel_argmax(t, best);
        REQUIRE(best.size() == static_cast<size_t>(hw));
        for (int p = 0; p < hw; ++p) {
          int want = 0;
          for (int ch = 1; ch < c; ++ch)
            if (t.data[ch * hw + p] > t.data[want * hw + p]) want = ch;
          CHECK(best[p] == want);
        }
      }
  });
}

TEST_CASE("to_act / from_act: int8 tensors round-trip; a value outside int8 is refused") {
  std::mt19937 g(7);
  std::uniform_int_distribution<int> v8(-128, 127);
  for_each_simd_target([&](int64_t) {
    // Channel counts around the 4-byte pixel stride and the 16-channel groups; planes around
    // the SIMD widths.
    for (int c : {1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 64, 65, 100, 128})
      for (const std::pair<int, int>& hw : {std::pair{1, 1}, {1, 15}, {3, 5}, {4, 4}, {7, 9},
                                            {16, 33}}) {
        const int h = hw.first, w = hw.second;  // plain variables: CAPTURE takes references
        CAPTURE(c);
        CAPTURE(h);
        CAPTURE(w);
        Tensor t(c, h, w);
        for (auto& x : t.data) x = v8(g);
        t.data.front() = -128;
        t.data.back() = 127;
        fast::Act a;
        REQUIRE(fast::to_act(t, a));
        CHECK(a.cs % 4 == 0);
        CHECK(a.cs >= c);
        CHECK(a.cs < c + 4);
        // The layout: pixel-major, value + 128, pad channels 128 (zero).
        for (int ch = 0; ch < a.cs; ++ch)
          for (int p = 0; p < h * w; ++p) {
            const int want = ch < c ? t.data[static_cast<size_t>(ch) * h * w + p] + 128 : 128;
            if (a.data[static_cast<size_t>(p) * a.cs + ch] != want) {
              FAIL_CHECK("channel " << ch << " pixel " << p);
              break;
            }
          }
        Tensor back;
        fast::from_act(a.view(), back);
        CHECK(back.c == c);
        CHECK(back.h == h);
        CHECK(back.w == w);
        CHECK(back.data == t.data);
        // One value out of range anywhere (first, middle, last) makes the conversion refuse.
        for (size_t at : {size_t{0}, t.data.size() / 2, t.data.size() - 1})
          for (int bad : {128, -129, 1 << 20, -(1 << 24), std::numeric_limits<int32_t>::max(),
                          std::numeric_limits<int32_t>::min()}) {
            Tensor u = t;
            u.data[at] = bad;
            CHECK_FALSE(fast::to_act(u, a));
          }
      }
  });
}

TEST_CASE("The kernels' input forms: SplitInput16 (u0 u1 u2 u3 -> int16 u0 u2 u1 u3) and "
          "ToSignedBytes (u -> u - 128)") {
  std::mt19937 g(11);
  std::uniform_int_distribution<int> byte(0, 255);
  for_each_simd_target([&](int64_t) {
    // Lengths around the 16-byte step of the SIMD loop, and a long one.
    for (size_t n : {size_t{0}, size_t{4}, size_t{12}, size_t{16}, size_t{20}, size_t{28},
                     size_t{32}, size_t{36}, size_t{4100}}) {
      CAPTURE(n);
      std::vector<uint8_t> src(n);
      for (auto& b : src) b = static_cast<uint8_t>(byte(g));
      if (n) src.front() = 255, src.back() = 0;
      std::vector<int16_t> dst(n + 8, -1);  // the 8 past the end must stay untouched
      fast::detail::SplitInput16(src.data(), n, dst.data());
      for (size_t q = 0; q < n; q += 4) {
        CHECK(dst[q] == src[q]);
        CHECK(dst[q + 1] == src[q + 2]);
        CHECK(dst[q + 2] == src[q + 1]);
        CHECK(dst[q + 3] == src[q + 3]);
      }
      for (size_t i = n; i < n + 8; ++i) CHECK(dst[i] == -1);
      std::vector<uint8_t> x(n + 8, 0x55);
      fast::detail::ToSignedBytes(src.data(), n, x.data());
      for (size_t i = 0; i < n; ++i) CHECK(static_cast<int8_t>(x[i]) == src[i] - 128);
      for (size_t i = n; i < n + 8; ++i) CHECK(x[i] == 0x55);
    }
  });
}

TEST_CASE("the Reference kernel set is kernels/reference.h alone") {
  const kernels::KernelTable& r = kernels::kernel_table(KernelSet::Reference);
  CHECK(r.set == KernelSet::Reference);
  CHECK((r.pool2d == &ref::pool2d));
  CHECK((r.pool1d == &ref::pool1d));
  CHECK((r.subsample == &ref::subsample));
  CHECK((r.eltwise == &ref::eltwise));
  CHECK((r.conv2d == &ref::conv2d));
  CHECK((r.output_stage == &ref::output_stage));
  const kernels::KernelTable& f = kernels::kernel_table(KernelSet::Fast);
  CHECK(f.set == KernelSet::Fast);
  CHECK((f.pool2d == &fast::pool2d));
  CHECK((f.output_stage == &fast::output_stage));
}
