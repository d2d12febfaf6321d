// ai8xsim: the kernel sets the engine runs on, chosen at run time (KernelSet, ai8xsim/config.h),
// as TensorFlow Lite Micro swaps its kernels. A set is a table with one kernel per hardware step;
// the engine calls the steps through the table it was prepared with and nothing else.
//
//   Reference: kernels/reference.h alone, the readable definitions (scalar, slow).
//   Fast:      kernels/fast.h, the SIMD kernels, bit-exact with the reference (tested in
//              tests/unit/test_fast_kernels.cpp). The engine also keeps the Fast set's
//              activations in the kernels' byte layout and its weights repacked
//              (fast::PreparedConv); see sim/engine/engine.h.
//
// A new hardware step gets an entry here and a kernel in each set.
#pragma once
#include <cstdint>
#include <vector>

#include "ai8xsim/config.h"
#include "kernels/reference.h"
#include "ai8xsim/tensor.h"

namespace ai8xsim::kernels {

// Types and scalar definitions every set shares (sizes, geometry, the rounding rules).
using ref::activate;
using ref::average_window;
using ref::conv_extent;
using ref::ConvGeometry;
using ref::Pair;
using ref::pooled_extent;
using ref::requantize8;

struct KernelTable {
  KernelSet set = KernelSet::Reference;
  // Pooling fused before the convolution: 2-D, 1-D, and a stride without a window.
  Tensor (*pool2d)(const Tensor& in, Pair pool, Pair stride, Pair dilation, bool average,
                   bool rounding) = nullptr;
  Tensor (*pool1d)(const Tensor& in, int pool, int stride, int dilation, bool average) = nullptr;
  Tensor (*subsample)(const Tensor& in, Pair stride) = nullptr;
  // Element-wise operation of the operands.
  Tensor (*eltwise)(const std::vector<Tensor>& operands, Eltwise op, bool wide) = nullptr;
  // The convolution's full-precision accumulators, then the output stage (scale, round,
  // clamp, activate).
  AccTensor (*conv2d)(const Tensor& in, const int8_t* weights, int out_channels,
                      const std::vector<int64_t>& bias128, const ConvGeometry& g) = nullptr;
  Tensor (*output_stage)(const AccTensor& acc, int shift, bool wide, Activation act) = nullptr;
};

const KernelTable& kernel_table(KernelSet set);

}  // namespace ai8xsim::kernels
