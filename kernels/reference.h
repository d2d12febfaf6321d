// ai8xsim reference kernels: the readable definition of each arithmetic step of the CNN
// accelerator, as izer's simulation (which ADI checks silicon against) computes it.
// One short function per hardware step. The fast kernels must equal these bit for bit.
// See docs/arithmetic.md for the rules and where izer and the user guide differ.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "ai8xsim/config.h"
#include "ai8xsim/tensor.h"

namespace ai8xsim::ref {

using Pair = std::array<int, 2>;

// ---- scalar steps ------------------------------------------------------------------------------

// The accumulator's scaling to an 8-bit output: acc * 2^shift / 128, rounded half up
// (floor(x + 0.5)), clamped to [-128, 127]. `shift` is the layer's output_shift (-15..15).
int32_t requantize8(int64_t acc, int shift);

// The activation applied after requantization (izer clamps with the 8-bit limits even for
// 32-bit wide outputs).
int32_t activate(int32_t v, Activation act);

// Average of a pooling window: izer truncates toward zero; with --avg-pool-rounding it rounds
// half away from zero and clamps to [-128, 127].
int32_t average_window(int64_t sum, int count, bool rounding);

// ---- pooling (fused before the convolution) ----------------------------------------------------

// Number of pooled rows/columns izer computes: (n + stride - pool - dilation + 1) / stride.
int pooled_extent(int n, int pool, int stride, int dilation);

// 2-D max or average pooling with stride and (MAX78002) dilation.
Tensor pool2d(const Tensor& in, Pair pool, Pair stride, Pair dilation, bool average,
              bool rounding);

// 1-D pooling of a C x L x 1 tensor. izer's 1-D max pool ignores dilation, and its 1-D average
// pool always truncates (no rounding option): both reproduced.
Tensor pool1d(const Tensor& in, int pool, int stride, int dilation, bool average);

// Stride without a pooling window (pool 1x1, stride > 1): every stride-th row and column.
Tensor subsample(const Tensor& in, Pair stride);

// ---- convolutions: full-precision accumulators, bias (already x128) added -----------------

struct ConvGeometry {
  Pair kernel{3, 3};
  Pair pad_before{0, 0};  // top, left
  Pair pad_after{0, 0};   // bottom, right
  Pair stride{1, 1};
  Pair dilation{1, 1};
  Pair upsample{1, 1};  // zeros inserted between input pixels (ConvTranspose2d's fractional stride)
  int groups = 1;
};

// Output extent of a convolution along one axis with this geometry.
int conv_extent(int n, int kernel, int pad_before, int pad_after, int stride, int dilation,
                int upsample);

// Weights: out_channels x (in_channels / groups) x kh x kw, C order. bias128: out_channels
// values already multiplied by 128, or empty.
AccTensor conv2d(const Tensor& in, const int8_t* weights, int out_channels,
                 const std::vector<int64_t>& bias128, const ConvGeometry& g);

// ---- element-wise ------------------------------------------------------------------------------

// Element-wise add/sub/or/xor of 2..16 operands, left to right; the result is clamped to
// [-128, 127] unless `wide` (32-bit output).
Tensor eltwise(const std::vector<Tensor>& operands, Eltwise op, bool wide);

// ---- output stage -------------------------------------------------------------------------------

// Scale, round, clamp (unless wide) and activate a layer's accumulators.
Tensor output_stage(const AccTensor& acc, int shift, bool wide, Activation act);

}  // namespace ai8xsim::ref
