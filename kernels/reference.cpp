#include "kernels/reference.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace ai8xsim::ref {

namespace {
int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
int32_t clamp8(int64_t v) { return static_cast<int32_t>(std::clamp<int64_t>(v, -128, 127)); }
}  // namespace

int32_t requantize8(int64_t acc, int shift) {
  // acc * 2^shift / 2^7 = acc / 2^(7 - shift); floor(x + 0.5) in exact integer arithmetic.
  const int s = 7 - shift;
  int64_t v;
  if (s <= 0) {
    v = acc * (int64_t{1} << -s);
  } else {
    v = floor_div(acc + (int64_t{1} << (s - 1)), int64_t{1} << s);
  }
  return clamp8(v);
}

int32_t activate(int32_t v, Activation act) {
  switch (act) {
    case Activation::ReLU: return std::clamp(v, 0, 127);
    case Activation::Abs: return std::clamp(std::abs(v), 0, 127);
    case Activation::None: break;
  }
  return v;
}

int32_t average_window(int64_t sum, int count, bool rounding) {
  if (!rounding) return static_cast<int32_t>(sum / count);  // C++ division truncates toward 0
  // Round half away from zero: sign(s) * floor((2|s| + n) / 2n).
  const int64_t mag = (2 * std::llabs(sum) + count) / (2 * int64_t{count});
  return clamp8(sum < 0 ? -mag : mag);
}

int pooled_extent(int n, int pool, int stride, int dilation) {
  return static_cast<int>(floor_div(int64_t{n} + stride - pool - dilation + 1, stride));
}

namespace {
// One element of a pooling window. A dilated window can reach past the last row or column;
// izer's strided view then reads on in memory order (the next row, the next channel), so do
// the same, and drop what lies past the end of the tensor (documented in docs/izer-checks.md).
bool window_element(const Tensor& in, int c, int y, int x, int32_t& v) {
  if (y < in.h && x < in.w) {
    v = in.at(c, y, x);
    return true;
  }
  const size_t flat = (static_cast<size_t>(c) * in.h + y) * in.w + x;
  if (flat >= in.data.size()) return false;
  v = in.data[flat];
  return true;
}
}  // namespace

Tensor pool2d(const Tensor& in, Pair pool, Pair stride, Pair dilation, bool average,
              bool rounding) {
  const int oh = pooled_extent(in.h, pool[0], stride[0], dilation[0]);
  const int ow = pooled_extent(in.w, pool[1], stride[1], dilation[1]);
  Tensor out(in.c, std::max(oh, 0), std::max(ow, 0));
  for (int c = 0; c < out.c; ++c)
    for (int y = 0; y < out.h; ++y)
      for (int x = 0; x < out.w; ++x) {
        int64_t sum = 0;
        int32_t mx = std::numeric_limits<int32_t>::min();
        for (int i = 0; i < pool[0]; ++i)
          for (int j = 0; j < pool[1]; ++j) {
            int32_t v = 0;
            if (!window_element(in, c, y * stride[0] + i * dilation[0],
                                x * stride[1] + j * dilation[1], v))
              continue;
            sum += v;
            mx = std::max(mx, v);
          }
        out.at(c, y, x) = average ? average_window(sum, pool[0] * pool[1], rounding) : mx;
      }
  return out;
}

Tensor pool1d(const Tensor& in, int pool, int stride, int dilation, bool average) {
  const int ol = pooled_extent(in.h, pool, stride, dilation);
  Tensor out(in.c, std::max(ol, 0), 1);
  for (int c = 0; c < out.c; ++c)
    for (int x = 0; x < out.h; ++x) {
      int64_t sum = 0;
      int32_t mx = std::numeric_limits<int32_t>::min();
      int count = 0;
      for (int i = 0; i < pool; ++i) {
        const int ya = x * stride + i * dilation;  // average: dilated window, clipped at the end
        if (ya < in.h) {
          sum += in.at(c, ya, 0);
          ++count;
        }
        const int ym = x * stride + i;  // max: izer ignores dilation here
        if (ym < in.h) mx = std::max(mx, in.at(c, ym, 0));
      }
      out.at(c, x, 0) = average ? average_window(sum, std::max(count, 1), false) : mx;
    }
  return out;
}

Tensor subsample(const Tensor& in, Pair stride) {
  const int oh = (in.h + stride[0] - 1) / stride[0];
  const int ow = (in.w + stride[1] - 1) / stride[1];
  Tensor out(in.c, oh, ow);
  for (int c = 0; c < in.c; ++c)
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) out.at(c, y, x) = in.at(c, y * stride[0], x * stride[1]);
  return out;
}

int conv_extent(int n, int kernel, int pad_before, int pad_after, int stride, int dilation,
                int upsample) {
  const int64_t stretched = (int64_t{n} - 1) * upsample + 1;
  const int64_t span = int64_t{dilation} * (kernel - 1) + 1;
  return static_cast<int>(floor_div(stretched + pad_before + pad_after - span, stride) + 1);
}

AccTensor conv2d(const Tensor& in, const int8_t* weights, int out_channels,
                 const std::vector<int64_t>& bias128, const ConvGeometry& g) {
  const int oh = conv_extent(in.h, g.kernel[0], g.pad_before[0], g.pad_after[0], g.stride[0],
                             g.dilation[0], g.upsample[0]);
  const int ow = conv_extent(in.w, g.kernel[1], g.pad_before[1], g.pad_after[1], g.stride[1],
                             g.dilation[1], g.upsample[1]);
  AccTensor out(out_channels, std::max(oh, 0), std::max(ow, 0));
  const int in_per_group = in.c / g.groups;
  const int kh = g.kernel[0], kw = g.kernel[1];
  for (int o = 0; o < out_channels; ++o) {
    // izer's grouped convolution: output channel o reads input channels o * (in / groups) ...
    // (the same as PyTorch's when out_channels == groups, the depthwise case the hardware has).
    const int first_in = g.groups > 1 ? o * in_per_group : 0;
    const int8_t* wo = weights + static_cast<size_t>(o) * in_per_group * kh * kw;
    for (int y = 0; y < out.h; ++y)
      for (int x = 0; x < out.w; ++x) {
        int64_t acc = bias128.empty() ? 0 : bias128[o];
        for (int ci = 0; ci < in_per_group; ++ci) {
          const int c = first_in + ci;
          for (int i = 0; i < kh; ++i) {
            // Row in the padded, stretched input; map back to a real input row if there is one.
            const int sy = y * g.stride[0] + i * g.dilation[0] - g.pad_before[0];
            if (sy < 0 || sy % g.upsample[0] != 0) continue;
            const int iy = sy / g.upsample[0];
            if (iy >= in.h) continue;
            for (int j = 0; j < kw; ++j) {
              const int sx = x * g.stride[1] + j * g.dilation[1] - g.pad_before[1];
              if (sx < 0 || sx % g.upsample[1] != 0) continue;
              const int ix = sx / g.upsample[1];
              if (ix >= in.w) continue;
              acc += int64_t{wo[(ci * kh + i) * kw + j]} * in.at(c, iy, ix);
            }
          }
        }
        out.at(o, y, x) = acc;
      }
  }
  return out;
}

Tensor eltwise(const std::vector<Tensor>& operands, Eltwise op, bool wide) {
  Tensor out = operands.at(0);
  for (size_t k = 1; k < operands.size(); ++k) {
    const Tensor& b = operands[k];
    for (size_t i = 0; i < out.data.size(); ++i) {
      int32_t& a = out.data[i];
      switch (op) {
        case Eltwise::Add: a = a + b.data[i]; break;
        case Eltwise::Sub: a = a - b.data[i]; break;
        case Eltwise::Or: a = a | b.data[i]; break;
        case Eltwise::Xor: a = a ^ b.data[i]; break;
        case Eltwise::None: break;
      }
    }
  }
  if (!wide)
    for (auto& v : out.data) v = clamp8(v);
  return out;
}

Tensor output_stage(const AccTensor& acc, int shift, bool wide, Activation act) {
  Tensor out(acc.c, acc.h, acc.w);
  for (size_t i = 0; i < acc.data.size(); ++i) {
    const int64_t a = acc.data[i];
    const int32_t v = wide ? static_cast<int32_t>(a) : requantize8(a, shift);
    out.data[i] = activate(v, act);
  }
  return out;
}

}  // namespace ai8xsim::ref
