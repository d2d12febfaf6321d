// ai8xsim: the engine. Runs a resolved network on one sample, layer by layer, as izer's
// simulation runs it (in_sequences gathering, element-wise operands, fused pooling, the
// convolution, the output stage), calling a kernel set (kernels/kernels.h) for the arithmetic.
#pragma once
#include <optional>
#include <vector>

#include "kernels/fast.h"
#include "kernels/kernels.h"
#include "ai8xsim/result.h"
#include "ai8xsim/tensor.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

// ---- data-memory hook (sim/memory/datamem.h implements it) ----------------------------------------
// Observes a run layer by layer. `before_layer` sees the input the engine gathered for layer L
// (the in_sequences outputs, concatenated) and may replace it, e.g. with what the layer reads
// from the data memory model; `after_layer` sees the layer's output.
struct LayerHook {
  virtual ~LayerHook() = default;
  virtual void begin(const Network& /*net*/, const Tensor& /*input*/) {}
  virtual void before_layer(const Layer& /*L*/, Tensor& /*input*/) {}
  virtual void after_layer(const Layer& /*L*/, const Tensor& /*output*/) {}
};
// --------------------------------------------------------------------------------------------

// What the engine decided for one layer when the network was prepared (constant across
// samples, shared by every thread).
struct LayerPlan {
  bool conv = false;              // the layer convolves (else it passes its pooled input on)
  kernels::ConvGeometry geometry;  // as the kernels see it (ConvTranspose2d: stretched input)
  // Reference set: the kernels the convolution reads (the layer's weights, or ones for kernel
  // bypass) and bias * 128. Empty with the Fast set: `prepared` holds its own copy.
  std::vector<int8_t> weights;
  std::vector<int64_t> bias128;
  // Fast set: the weights repacked for the SIMD kernels; for flatten layers also ordered for
  // the byte layout's HWC activations (the pooled activations read as one pixel of
  // H*W*channels bytes).
  std::optional<fast::PreparedConv> prepared, prepared_flat;
  int in_rows = 0, in_cols = 0;   // the in_dim the layer reads (1-D: in_cols = 1)
  bool pools = false;             // a pooling window (> 1 along an axis)
  bool strides = false;           // a pooling stride without a window (every stride-th pixel)
  bool wide = false;              // output_width 32
  bool eltwise_wide = false;      // element-wise result kept in 32 bits (pure element-wise)
};

// A network ready to run: one plan per layer and the kernel set the engine runs it on.
struct PreparedNetwork {
  uint64_t id = 0;  // unique per prepare_network() call (keys the per-thread workspaces)
  const kernels::KernelTable* kernels = nullptr;
  std::vector<LayerPlan> layers;  // by YAML index
};
// Throws Error(Config) for a layer the engine cannot run (a grouped convolution reading past
// its input channels). `kernels`: a table of kernel_table() (tests may pass their own).
PreparedNetwork prepare_network(const Network& net, KernelSet set = KernelSet::Fast);
PreparedNetwork prepare_network(const Network& net, const kernels::KernelTable& kernels);

// `input` is the sample as C x H x W (1-D: C x L x 1), values in [-128, 127].
// The layers run in one loop, on the kernel set `prepared` was made with (nullptr: the Fast
// set, prepared for this call). With the Fast set and no hook, activations stay in the kernels'
// byte layout (fast::Act, kernels/fast.h) in buffers reused from sample to sample (per
// thread); a layer that layout does not cover runs on int32 tensors, with the same results.
// The Reference set and the hook run every layer on int32 tensors. threads > 1 splits the
// rows of each large convolution over that many threads (Fast set; one sample; for many
// samples run samples in parallel instead, each with threads = 1).
// `buffer`: the rolling data buffer the run starts from (sim/memory/databuffer.h; a network with
// `data_buffer` only); nullptr: all zero, as izer's single-sample run. RunResult::buffer is
// the buffer after the run: pass it to the next run to carry it through a sequence.
RunResult run_network(const Network& net, const Tensor& input, bool keep_layers = true,
                      LayerHook* hook = nullptr, const PreparedNetwork* prepared = nullptr,
                      int threads = 1, const Tensor* buffer = nullptr);

}  // namespace ai8xsim
