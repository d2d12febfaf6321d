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
#include "kernels/parallel.h"
#include "kernels/reference.h"
#include "ai8xsim/tensor.h"

namespace ai8xsim::fast {

namespace detail {
enum class Epilogue : int;  // what the row kernel does with an accumulator (kernels/fast_simd.h)
}
using kernels::ParallelFor;
using ref::ConvGeometry;
using ref::Pair;

// ---- activations in the kernels' layout ------------------------------------------------------
// 8-bit activations as the SIMD kernels read and write them: HWC bytes holding value + 128, each
// pixel `cs` bytes (channels rounded up to 4; the bytes past the channels hold 128, i.e. zero).
// 1-D data (C x L x 1) is h = L, w = 1. The engine keeps activations in this layout from layer
// to layer (no int32 tensors, no transpositions) and converts only at the edges.
struct ActView {
  const uint8_t* data = nullptr;
  int c = 0, h = 0, w = 0, cs = 0;
  ptrdiff_t row() const { return static_cast<ptrdiff_t>(w) * cs; }
};
struct Act {
  int c = 0, h = 0, w = 0, cs = 0;
  std::vector<uint8_t> data;  // h * w * cs

  static int stride_for(int channels) { return (channels + 3) & ~3; }
  // Sets the shape; the buffer keeps its allocation when large enough (contents undefined).
  void reshape(int c_, int h_, int w_);
  ActView view() const { return {data.data(), c, h, w, cs}; }
};

// Tensor (C x H x W int32) -> Act; false (and `out` unspecified) when a value is not 8-bit.
bool to_act(const Tensor& t, Act& out);
// n int64 sample values -> int32; false when one is outside [-128, 127] (`out` unspecified).
bool narrow_int64(const int64_t* values, size_t n, int32_t* out);
// Act -> Tensor (C x H x W int32). `out` keeps its allocation when large enough.
void from_act(const ActView& a, Tensor& out);
// The largest of n > 0 values (SIMD: an output's argmax starts with it).
int32_t max_value(const int32_t* values, size_t n);
// The class of every pixel of a C x H x W output: the channel of the largest value, the first
// of equal ones (numpy's argmax over axis 0); `best` gets H x W entries.
void pixel_argmax(const Tensor& out, std::vector<int32_t>& best);

// Pooling of an Act as fast::pool2d / pool1d / ref::subsample compute it. false when the fast
// path does not apply (izer's read-past-the-end windows, degenerate parameters): use the Tensor
// kernels then. one_d: pool[0]/stride[0]/dilation[0] along the length (izer's 1-D max pool
// ignores dilation).
bool pool_act(const ActView& in, Act& out, Pair pool, Pair stride, Pair dilation, bool average,
              bool rounding, bool one_d);
bool subsample_act(const ActView& in, Act& out, Pair stride);
// Concatenation along channels of equally sized Acts.
void concat_channels_act(const std::vector<ActView>& parts, Act& out);

// Per-layer scratch of the Act path (one per layer and thread, reused sample after sample: the
// padded input buffer keeps its border, only its interior is rewritten).
struct ConvScratch {
  std::vector<uint8_t> in;
  std::vector<int16_t> in16;  // the split-layout kernel's input (detail::SplitInput16)
  std::vector<uint8_t> in8;   // the byte kernel's input (detail::ToSignedBytes)
  std::vector<int32_t> out;
  int64_t key[8] = {-1, -1, -1, -1, -1, -1, -1, -1};  // the geometry the border was written for
};

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

  // The Act path: `in` in the kernels' layout (in.c == in_channels()), output requantized to
  // 8 bits in `out` (== conv2d_output(in, shift, false, act)), or with output_width 32 as an
  // int32 tensor in `wide_out` (== conv2d_output(in, shift, true, act)). false when this layer
  // or input cannot take the SIMD path (then nothing is written): use conv2d_output.
  // pool: split the output rows over its threads (nullptr: this thread only).
  bool run_act(const ActView& in, int shift, Activation act, Act& out, ConvScratch& scratch,
               ParallelFor* pool = nullptr) const;
  bool run_act_wide(const ActView& in, int shift, Activation act, Tensor& wide_out,
                    ConvScratch& scratch, ParallelFor* pool = nullptr) const;
  // Whether conv2d(in) runs the SIMD kernel (else the reference): vectorized(), 8-bit data in
  // `in` and a non-empty output.
  bool fast_path(const Tensor& in) const;
  // Whether the SIMD kernel multiplies bytes (PMADDUBSW, x86 without VNNI) for this input: a
  // dense layer whose every input value is >= 0 (a ReLU layer's output, say). Else it takes
  // the 16-bit kernel (or, with VNNI or without x86 SIMD, the only one there is).
  bool byte_kernel(const ActView& in) const;
  bool byte_kernel(const Tensor& in) const;
  // Whether the byte kernel takes two channel quads per step (the weights are small enough
  // for their pair sums to be added in int16: ConvPlan::pair16).
  bool byte_kernel_pairs() const { return pair16_; }

 private:
  enum class Mode { Reference, Dense, Grouped };
  // Returns false when the layer or geometry cannot take the SIMD path (nothing written then).
  // Exactly one output is given: out64 for Epilogue::Raw, out8 for U8, out32 for the others.
  bool run(const ActView& in, detail::Epilogue kind, int shift, Activation act, int threads,
           ParallelFor* pool, ConvScratch& scratch, Tensor* out32, AccTensor* out64,
           Act* out8) const;
  // Whether the int32 requantizing epilogue is exact for this layer (|dot + bias128| < 2^30).
  bool int32_requant_ok() const;

  Mode mode_ = Mode::Reference;
  ConvGeometry g_;
  int out_channels_ = 0, in_channels_ = 0, ipg_ = 0;
  int lanes_ = 0, ocb_ = 0, c4_ = 0;
  int wlayout_ = 0;                  // dense: detail::DenseWeightLayout() when packed
  int64_t max_abs_bias_ = 0;
  std::vector<int8_t> weights_;      // as given (for the reference fallback)
  std::vector<int64_t> bias128_;     // as given
  std::vector<int8_t> wpacked_;      // dense: [ocb][tap][c4] quads in wlayout_
  std::vector<int8_t> wpacked8_;     // dense, wlayout_ 1: the int8 quads too (ConvPlan::w8)
  bool pair16_ = false;              // dense, wlayout_ 1: ConvPlan::pair16 (pairs_fit_int16)
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
