// ai8xsim fast kernels: the same results as the reference kernels (kernels/reference.h), bit
// for bit, computed with 8-bit x 8-bit products and 32-bit accumulation in SIMD (Highway,
// instruction set chosen at run time: AVX-512 VNNI, AVX-512, AVX2, SSE4, SSSE3, scalar).
//
// Each function has the signature and contract of its reference namesake; where a fast path
// does not apply (32-bit input data from a wide layer, a dot product of 131072 or more terms,
// izer's read-past-the-end pooling windows, degenerate geometry) it calls the reference.
//
// Weights are constant across samples: PreparedConv repacks them once per layer; keep one per
// convolution layer and call it for every sample (const and thread-safe: run it from as many
// threads as you run samples). conv2d_output() also fuses the output stage, so the engine
// never materialises the int64 accumulators.
#pragma once
#include <cstdint>
#include <vector>

#include "ai8xsim/config.h"
#include "kernels/reference.h"
#include "kernels/tensor.h"

namespace ai8xsim::fast {

using ref::ConvGeometry;
using ref::Pair;

// The convolution layer with its weights repacked for the SIMD kernels.
class PreparedConv {
 public:
  PreparedConv() = default;
  // weights: out_channels x (in_channels / g.groups) x kh x kw, C order (as ref::conv2d);
  // in_channels: channels of the tensor conv2d() will be given (after flatten);
  // bias128: out_channels values already x128, or empty. The weights and bias are copied.
  PreparedConv(const int8_t* weights, int out_channels, int in_channels,
               const std::vector<int64_t>& bias128, const ConvGeometry& g);

  // == ref::conv2d(in, weights, out_channels, bias128, g). in.c must equal in_channels.
  // threads > 1 splits the output rows among that many threads (for one large sample;
  // run samples in parallel instead where you can).
  AccTensor conv2d(const Tensor& in, int threads = 1) const;

  // == ref::output_stage(ref::conv2d(in, ...), shift, wide, act), without the int64 tensor.
  Tensor conv2d_output(const Tensor& in, int shift, bool wide, Activation act,
                       int threads = 1) const;

  int in_channels() const { return in_channels_; }
  int out_channels() const { return out_channels_; }
  const ConvGeometry& geometry() const { return g_; }
  // false: the layer always runs the reference (unsupported geometry or too long a dot product).
  bool vectorized() const { return mode_ != Mode::Reference; }
  // Whether conv2d(in) runs the SIMD kernel (else the reference): vectorized(), 8-bit data in
  // `in` and a non-empty output.
  bool fast_path(const Tensor& in) const;

 private:
  enum class Mode { Reference, Dense, Grouped };
  // kind: 0 = raw (AccTensor), 1 = requantized 8-bit, 2 = wide. Returns false when the input
  // is not 8-bit data (the caller then uses the reference).
  bool run(const Tensor& in, int kind, int shift, int act, int threads, Tensor* out32,
           AccTensor* out64) const;

  Mode mode_ = Mode::Reference;
  ConvGeometry g_;
  int out_channels_ = 0, in_channels_ = 0, ipg_ = 0;
  int lanes_ = 0, ocb_ = 0, c4_ = 0;
  int64_t max_abs_bias_ = 0;
  std::vector<int8_t> weights_;      // as given (for the reference fallback)
  std::vector<int64_t> bias128_;     // as given
  std::vector<int8_t> wpacked_;      // dense: [ocb][tap][c4][lanes][4]
  std::vector<int32_t> wsum128_;     // dense: [tap][opad]
  std::vector<int32_t> wgrouped_;    // grouped: [tap][ipg][opad]
  std::vector<int32_t> bias_req_;    // [opad] bias128 (requantize path)
  std::vector<int32_t> bias_wide_;   // [opad] low 32 bits of bias128 (wide path)
};

// ---- drop-in replacements for the reference kernels ---------------------------------------------

AccTensor conv2d(const Tensor& in, const int8_t* weights, int out_channels,
                 const std::vector<int64_t>& bias128, const ConvGeometry& g, int threads = 1);
Tensor pool2d(const Tensor& in, Pair pool, Pair stride, Pair dilation, bool average,
              bool rounding);
Tensor pool1d(const Tensor& in, int pool, int stride, int dilation, bool average);
Tensor eltwise(const std::vector<Tensor>& operands, Eltwise op, bool wide);
Tensor output_stage(const AccTensor& acc, int shift, bool wide, Activation act);

// The instruction set the SIMD kernels run with on this machine (e.g. "AVX3_DL" = AVX-512
// with VNNI), and their int32 lane count.
const char* simd_target();
int simd_lanes();

}  // namespace ai8xsim::fast
