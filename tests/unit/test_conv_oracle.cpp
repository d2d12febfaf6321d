// An independent oracle for the convolution: im2col (one column per output pixel, one row per
// input channel and tap, the padding, stride, dilation and ConvTranspose2d's inserted zeros
// written out as zeros) times the weight matrix, in 64-bit integers with Eigen. Checked
// against the reference kernel (kernels/reference.h) and the fast one (kernels/fast.h) over
// random geometries: kernel sizes, strides, padding (also uneven), dilation, upsampling,
// dense and depthwise groups, 1-D and 2-D.
#include <doctest/doctest.h>

#include <Eigen/Dense>

#include <random>
#include <sstream>
#include <string>

#include "kernels/fast.h"
#include "kernels/reference.h"

using namespace ai8xsim;

namespace {

using Mat = Eigen::Matrix<int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Problem {
  Tensor in;
  std::vector<int8_t> w;  // out x (in / groups) x kh x kw
  std::vector<int64_t> bias128;
  int out_channels = 1;
  ref::ConvGeometry g;
};

// Output extent along one axis, from its definition: the stretched, padded input holds
// (n - 1) * up + 1 + pad_before + pad_after positions; a window spans dil * (k - 1) + 1.
int extent(int n, int k, int pb, int pa, int s, int d, int up) {
  const int span = (n - 1) * up + 1 + pb + pa - (d * (k - 1) + 1);
  return span < 0 ? 0 : span / s + 1;
}

// The input value a tap reads at stretched, padded position (sy, sx), or 0.
int64_t tap_value(const Problem& p, int c, int sy, int sx) {
  if (sy < 0 || sx < 0 || sy % p.g.upsample[0] || sx % p.g.upsample[1]) return 0;
  const int y = sy / p.g.upsample[0], x = sx / p.g.upsample[1];
  if (y >= p.in.h || x >= p.in.w) return 0;
  return p.in.at(c, y, x);
}

AccTensor oracle(const Problem& p) {
  const ref::ConvGeometry& g = p.g;
  const int kh = g.kernel[0], kw = g.kernel[1];
  const int oh = extent(p.in.h, kh, g.pad_before[0], g.pad_after[0], g.stride[0], g.dilation[0],
                        g.upsample[0]);
  const int ow = extent(p.in.w, kw, g.pad_before[1], g.pad_after[1], g.stride[1], g.dilation[1],
                        g.upsample[1]);
  const int taps = kh * kw, ipg = p.in.c / g.groups;
  // im2col: row (c, i, j), column (y, x).
  Mat cols(static_cast<Eigen::Index>(p.in.c) * taps, static_cast<Eigen::Index>(oh) * ow);
  for (int c = 0; c < p.in.c; ++c)
    for (int i = 0; i < kh; ++i)
      for (int j = 0; j < kw; ++j)
        for (int y = 0; y < oh; ++y)
          for (int x = 0; x < ow; ++x)
            cols((c * kh + i) * kw + j, y * ow + x) =
                tap_value(p, c, y * g.stride[0] + i * g.dilation[0] - g.pad_before[0],
                          x * g.stride[1] + j * g.dilation[1] - g.pad_before[1]);
  // Weights: one row per output channel over its input block (izer: output o of a grouped
  // layer reads input channels o * ipg ...; dense: all of them).
  const Mat w = Eigen::Map<const Eigen::Matrix<int8_t, Eigen::Dynamic, Eigen::Dynamic,
                                               Eigen::RowMajor>>(p.w.data(), p.out_channels,
                                                                 ipg * taps)
                    .cast<int64_t>();
  Mat acc(p.out_channels, static_cast<Eigen::Index>(oh) * ow);
  if (g.groups == 1) {
    acc = w * cols;
  } else {
    for (int o = 0; o < p.out_channels; ++o)
      acc.row(o) = w.row(o) * cols.middleRows(static_cast<Eigen::Index>(o) * ipg * taps,
                                              ipg * taps);
  }
  if (!p.bias128.empty())
    for (int o = 0; o < p.out_channels; ++o) acc.row(o).array() += p.bias128[o];
  AccTensor out(p.out_channels, oh, ow);
  Eigen::Map<Mat>(out.data.data(), p.out_channels, static_cast<Eigen::Index>(oh) * ow) = acc;
  return out;
}

Problem random_problem(std::mt19937_64& r, bool one_d) {
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(r); };
  Problem p;
  ref::ConvGeometry& g = p.g;
  const bool depthwise = uni(0, 3) == 0;
  const int in_c = uni(1, 20);
  p.out_channels = depthwise ? in_c : uni(1, 20);
  g.groups = depthwise ? in_c : 1;
  const bool transposed = uni(0, 4) == 0;
  for (int a = 0; a < (one_d ? 1 : 2); ++a) {
    g.kernel[a] = uni(1, 5);
    g.dilation[a] = uni(1, 3);
    g.stride[a] = transposed ? 1 : uni(1, 3);
    g.upsample[a] = transposed ? uni(2, 3) : 1;
    g.pad_before[a] = uni(0, 2);
    g.pad_after[a] = uni(0, 1) ? g.pad_before[a] : uni(0, 3);
  }
  if (one_d) {
    g.kernel[1] = g.dilation[1] = g.stride[1] = g.upsample[1] = 1;
    g.pad_before[1] = g.pad_after[1] = 0;
  }
  // Inputs large enough for at least one output pixel.
  auto rows = [&](int a) {
    const int span = g.dilation[a] * (g.kernel[a] - 1) + 1;
    return std::max(1, (span - g.pad_before[a] - g.pad_after[a] + g.upsample[a] - 1) /
                           g.upsample[a] + 1) + uni(0, 8);
  };
  p.in = Tensor(in_c, rows(0), one_d ? 1 : rows(1));
  for (auto& v : p.in.data) v = uni(-128, 127);
  p.w.resize(static_cast<size_t>(p.out_channels) * (in_c / g.groups) * g.kernel[0] *
             g.kernel[1]);
  for (auto& v : p.w) v = static_cast<int8_t>(uni(-128, 127));
  if (uni(0, 3) != 0)
    for (int o = 0; o < p.out_channels; ++o)
      p.bias128.push_back(int64_t{uni(-(1 << 20), 1 << 20)} * 128);
  return p;
}

std::string describe(const Problem& p) {
  std::ostringstream s;
  const ref::ConvGeometry& g = p.g;
  s << "in " << p.in.shape_str() << " out " << p.out_channels << " groups " << g.groups
    << " kernel " << g.kernel[0] << "x" << g.kernel[1] << " stride " << g.stride[0] << ","
    << g.stride[1] << " dilation " << g.dilation[0] << "," << g.dilation[1] << " pad "
    << g.pad_before[0] << "," << g.pad_before[1] << "/" << g.pad_after[0] << ","
    << g.pad_after[1] << " upsample " << g.upsample[0] << "," << g.upsample[1];
  return s.str();
}

bool same(const AccTensor& a, const AccTensor& b) {
  return a.c == b.c && a.h == b.h && a.w == b.w && a.data == b.data;
}

}  // namespace

TEST_CASE("the convolution kernels equal an im2col x weights oracle (Eigen, int64)") {
  std::mt19937_64 r(20261203);
  int checked = 0, depthwise = 0, transposed = 0, one_d = 0;
  for (int n = 0; n < 400; ++n) {
    const Problem p = random_problem(r, n % 3 == 0);
    const AccTensor want = oracle(p);
    REQUIRE(want.size() > 0);
    INFO(describe(p));
    CHECK(same(ref::conv2d(p.in, p.w.data(), p.out_channels, p.bias128, p.g), want));
    CHECK(same(fast::conv2d(p.in, p.w.data(), p.out_channels, p.bias128, p.g), want));
    ++checked;
    depthwise += p.g.groups > 1;
    transposed += p.g.upsample[0] > 1;
    one_d += p.in.w == 1 && p.g.kernel[1] == 1;
  }
  // The draw covers every kind of geometry it names.
  CHECK(checked == 400);
  CHECK(depthwise > 40);
  CHECK(transposed > 40);
  CHECK(one_d > 100);
}

TEST_CASE("the oracle sees a wrong convolution") {
  std::mt19937_64 r(7);
  const Problem p = random_problem(r, false);
  AccTensor got = ref::conv2d(p.in, p.w.data(), p.out_channels, p.bias128, p.g);
  REQUIRE(same(got, oracle(p)));
  got.data.back() += 1;
  CHECK_FALSE(same(got, oracle(p)));
}
