// The arithmetic at its edges: rounding ties, negative values, shifts -15..+15, clamping,
// wide output, every weight width. Oracles are written independently of the kernels
// (floating-point forms of izer's formulas, or small hand-worked examples).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "kernels/reference.h"

using namespace ai8xsim;
using namespace ai8xsim::ref;

namespace {
// izer: floor(0.5 + acc / (128 / 2^shift)) clipped to int8, in double precision.
int32_t requantize_oracle(int64_t acc, int shift) {
  const double v = std::floor(0.5 + static_cast<double>(acc) / (128.0 / std::ldexp(1.0, shift)));
  return static_cast<int32_t>(std::fmin(127.0, std::fmax(-128.0, v)));
}
Tensor make(int c, int h, int w, std::vector<int32_t> v) {
  Tensor t(c, h, w);
  t.data = std::move(v);
  return t;
}
}  // namespace

TEST_CASE("requantize8 rounds ties half up, for positive and negative accumulators") {
  // shift 0 divides by 128: 64/128 = 0.5 -> 1; -64/128 = -0.5 -> 0; -65/128 -> -1
  CHECK(requantize8(64, 0) == 1);
  CHECK(requantize8(63, 0) == 0);
  CHECK(requantize8(-64, 0) == 0);
  CHECK(requantize8(-65, 0) == -1);
  CHECK(requantize8(-192, 0) == -1);  // -1.5 -> -1 (half up, not away from zero)
  CHECK(requantize8(192, 0) == 2);    // 1.5 -> 2
}

TEST_CASE("requantize8 equals izer's floating-point formula for every shift -15..15") {
  std::mt19937_64 rng(1234);
  std::uniform_int_distribution<int64_t> dist(-(int64_t{1} << 26), int64_t{1} << 26);
  for (int shift = -15; shift <= 15; ++shift) {
    for (int i = 0; i < 2000; ++i) {
      const int64_t acc = dist(rng) >> (i % 20);
      REQUIRE_MESSAGE(requantize8(acc, shift) == requantize_oracle(acc, shift),
                      "acc=" << acc << " shift=" << shift);
    }
    // ties at this shift: acc = (k + 0.5) * 2^(7 - shift) when that is an integer
    if (shift < 7) {
      const int64_t half = int64_t{1} << (6 - shift);
      for (int64_t k = -3; k <= 3; ++k) {
        const int64_t acc = (2 * k + 1) * half;
        CHECK(requantize8(acc, shift) == requantize_oracle(acc, shift));
        CHECK(requantize8(acc, shift) == std::clamp<int64_t>(k + 1, -128, 127));
      }
    }
  }
}

TEST_CASE("requantize8 clamps to the signed 8-bit range") {
  CHECK(requantize8(128 * 127, 0) == 127);
  CHECK(requantize8(128 * 128, 0) == 127);
  CHECK(requantize8(-128 * 128, 0) == -128);
  CHECK(requantize8(-128 * 129, 0) == -128);
  CHECK(requantize8(int64_t{1} << 40, 15) == 127);
  CHECK(requantize8(-(int64_t{1} << 40), -15) == -128);
  CHECK(requantize8(1, 15) == 127);   // 1 * 2^15 / 128 = 256
  CHECK(requantize8(1, 7) == 1);      // x1
  CHECK(requantize8(-3, 8) == -6);    // x2
}

TEST_CASE("activations: ReLU and Abs clamp to [0, 127], None passes") {
  CHECK(activate(-5, Activation::ReLU) == 0);
  CHECK(activate(100, Activation::ReLU) == 100);
  CHECK(activate(-128, Activation::Abs) == 127);  // |-128| does not fit: clamped
  CHECK(activate(-7, Activation::Abs) == 7);
  CHECK(activate(-7, Activation::None) == -7);
  CHECK(activate(1000, Activation::ReLU) == 127);  // wide outputs too (izer clamps them)
}

TEST_CASE("output_stage: wide (32-bit) outputs keep the raw accumulator") {
  AccTensor acc(1, 1, 3);
  acc.data = {100000, -100000, 64};
  const Tensor w = output_stage(acc, 3, true, Activation::None);
  CHECK(w.data == std::vector<int32_t>{100000, -100000, 64});
  const Tensor n = output_stage(acc, 0, false, Activation::None);
  CHECK(n.data == std::vector<int32_t>{127, -128, 1});
}

TEST_CASE("average pooling truncates toward zero; with rounding, halves go away from zero") {
  CHECK(average_window(7, 2, false) == 3);
  CHECK(average_window(-7, 2, false) == -3);
  CHECK(average_window(7, 2, true) == 4);
  CHECK(average_window(-7, 2, true) == -4);
  CHECK(average_window(-5, 4, true) == -1);  // -1.25
  CHECK(average_window(-6, 4, true) == -2);  // -1.5
  CHECK(average_window(5, 4, true) == 1);
  CHECK(average_window(6, 4, true) == 2);
}

TEST_CASE("pool2d: max and average with stride, izer's pooled extent") {
  const Tensor in = make(1, 4, 4, {1, 2, 3, 4,  5, 6, 7, 8,  -9, -10, 11, 12,  13, 14, 15, -16});
  const Tensor mx = pool2d(in, {2, 2}, {2, 2}, {1, 1}, false, false);
  CHECK(mx.h == 2);
  CHECK(mx.w == 2);
  CHECK(mx.data == std::vector<int32_t>{6, 8, 14, 15});
  const Tensor av = pool2d(in, {2, 2}, {2, 2}, {1, 1}, true, false);
  CHECK(av.data == std::vector<int32_t>{3, 5, 2, 5});  // 14/4, 22/4, 8/4, 22/4 truncated
  CHECK(pooled_extent(17, 2, 2, 1) == 8);
  CHECK(pooled_extent(5, 3, 1, 2) == 2);  // dilation widens the window by dilation - 1
}

TEST_CASE("pool2d with dilation reads every dilation-th element") {
  const Tensor in = make(1, 1, 5, {1, 9, 2, 9, 3});
  const Tensor mx = pool2d(in, {1, 3}, {1, 1}, {1, 2}, false, false);
  // izer's extent: (5 + 1 - 3 - 2 + 1) = 2 windows: {1,2,3} and {9,9, past-the-end}
  REQUIRE(mx.w == 2);
  CHECK(mx.data[0] == 3);
  CHECK(mx.data[1] == 9);
}

TEST_CASE("pool1d: izer's max ignores dilation, its average honours it and truncates") {
  const Tensor in = make(1, 6, 1, {1, 8, -3, 4, 5, -6});
  const Tensor mx = pool1d(in, 2, 2, 1, false);
  CHECK(mx.data == std::vector<int32_t>{8, 4, 5});
  const Tensor av = pool1d(in, 2, 2, 1, true);
  CHECK(av.data == std::vector<int32_t>{4, 0, 0});  // 9/2, 1/2, -1/2 truncated
}

TEST_CASE("conv2d: padding, bias x128 and every weight width") {
  // 1 input channel 3x3, 3x3 kernel, pad 1: the centre output sums everything.
  const Tensor in = make(1, 3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  for (int bits : {1, 2, 4, 8}) {
    const int8_t wmax = static_cast<int8_t>((1 << (bits - 1)) - 1);
    const int8_t wmin = static_cast<int8_t>(-(1 << (bits - 1)));
    for (int8_t wv : {wmin, wmax}) {
      std::vector<int8_t> w(9, wv);
      ConvGeometry g;
      g.pad_before = g.pad_after = {1, 1};
      const AccTensor acc = conv2d(in, w.data(), 1, {5 * 128}, g);
      REQUIRE(acc.h == 3);
      CHECK(acc.at(0, 1, 1) == 45 * wv + 640);
      CHECK(acc.at(0, 0, 0) == (1 + 2 + 4 + 5) * wv + 640);
    }
  }
}

TEST_CASE("conv2d: a binary (+1/-1) kernel and a 1x1 kernel") {
  const Tensor in = make(2, 1, 2, {3, -4, 5, 6});
  std::vector<int8_t> w = {1, -1};  // out 1, in 2, 1x1
  ConvGeometry g;
  g.kernel = {1, 1};
  const AccTensor acc = conv2d(in, w.data(), 1, {}, g);
  CHECK(acc.data == std::vector<int64_t>{3 - 5, -4 - 6});
}

TEST_CASE("conv2d: depthwise groups read their own channel") {
  const Tensor in = make(2, 1, 1, {3, 7});
  std::vector<int8_t> w = {2, -1};  // out 2, in/groups 1
  ConvGeometry g;
  g.kernel = {1, 1};
  g.groups = 2;
  const AccTensor acc = conv2d(in, w.data(), 2, {}, g);
  CHECK(acc.data == std::vector<int64_t>{6, -7});
}

TEST_CASE("conv2d as a transposed convolution: stride-2 upsampling doubles the size") {
  // 1x2x2 input, 3x3 kernel of ones, pad 1, output_pad 1: izer's geometry.
  const Tensor in = make(1, 2, 2, {1, 2, 3, 4});
  std::vector<int8_t> w(9, 1);
  ConvGeometry g;
  g.upsample = {2, 2};
  g.pad_before = {1, 1};  // dilation * (k - 1) - pad = 2 - 1
  g.pad_after = {2, 2};   // + output_pad
  const AccTensor acc = conv2d(in, w.data(), 1, {}, g);
  REQUIRE(acc.h == 4);
  REQUIRE(acc.w == 4);
  // stretched input [[1,0,2],[0,0,0],[3,0,4]]; output (0,0) sees rows -1..1, cols -1..1
  CHECK(acc.at(0, 0, 0) == 1);
  CHECK(acc.at(0, 1, 1) == 1 + 2 + 3 + 4);
  CHECK(acc.at(0, 3, 3) == 4);
}

TEST_CASE("conv2d: 1-D dilation and stride") {
  const Tensor in = make(1, 7, 1, {1, 2, 3, 4, 5, 6, 7});
  std::vector<int8_t> w = {1, 1};
  ConvGeometry g;
  g.kernel = {2, 1};
  g.dilation = {3, 1};
  const AccTensor acc = conv2d(in, w.data(), 1, {}, g);
  CHECK(acc.data == std::vector<int64_t>{1 + 4, 2 + 5, 3 + 6, 4 + 7});
  g.stride = {2, 1};
  const AccTensor s = conv2d(in, w.data(), 1, {}, g);
  CHECK(s.data == std::vector<int64_t>{5, 9});
}

TEST_CASE("eltwise: add/sub/or/xor over several operands, clamped unless wide") {
  const Tensor a = make(1, 1, 2, {100, -100});
  const Tensor b = make(1, 1, 2, {100, -100});
  const Tensor c = make(1, 1, 2, {-50, 3});
  CHECK(eltwise({a, b}, Eltwise::Add, false).data == std::vector<int32_t>{127, -128});
  CHECK(eltwise({a, b, c}, Eltwise::Add, true).data == std::vector<int32_t>{150, -197});
  CHECK(eltwise({a, c}, Eltwise::Sub, false).data == std::vector<int32_t>{127, -103});
  CHECK(eltwise({make(1, 1, 1, {5}), make(1, 1, 1, {-8})}, Eltwise::Or, false).data[0] == -3);
  CHECK(eltwise({make(1, 1, 1, {5}), make(1, 1, 1, {-8})}, Eltwise::Xor, false).data[0] == -3);
  CHECK(eltwise({make(1, 1, 1, {6}), make(1, 1, 1, {3})}, Eltwise::Xor, false).data[0] == 5);
}
