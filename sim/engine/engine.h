// ai8xsim: the engine. Runs a resolved network on one sample, layer by layer, as izer's
// simulation runs it (in_sequences gathering, element-wise operands, fused pooling, the
// convolution, the output stage), calling the kernels for the arithmetic.
#pragma once
#include <optional>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/tensor.h"
#include "sim/model/network.h"

namespace ai8xsim {

struct RunResult {
  Tensor output;                              // the final layer's output (C x H x W)
  std::vector<std::optional<Tensor>> layers;  // by YAML index; set for layers that ran
  std::optional<Tensor> buffer;  // the data buffer after the run (networks with `data_buffer`)
};

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

// Weights repacked once per network for the fast kernels (constant across samples; shared by
// every thread). Entry i belongs to YAML layer i; empty for layers without a convolution.
struct PreparedNetwork {
  uint64_t id = 0;  // unique per prepare_network() call (keys the per-thread workspaces)
  std::vector<std::optional<kernels::PreparedConv>> convs;
  // flatten layers: the same weights ordered for the kernels' HWC activations (the engine's
  // fast path reads the pooled activations as one pixel of H*W*channels bytes)
  std::vector<std::optional<kernels::PreparedConv>> flat_convs;
};
PreparedNetwork prepare_network(const Network& net);

// `input` is the sample as C x H x W (1-D: C x L x 1), values in [-128, 127].
// With `prepared` (and no hook) the layers run on activations kept in the kernels' layout
// (fast::Act, kernels/fast.h) in buffers reused from sample to sample (per thread); a layer the fast
// path does not cover runs on int32 tensors, with the same results. threads > 1 splits the
// rows of each large convolution over that many threads (one sample; for many samples run
// samples in parallel instead, each with threads = 1).
// `buffer`: the rolling data buffer the run starts from (sim/memory/databuffer.h; a network with
// `data_buffer` only); nullptr: all zero, as izer's single-sample run. RunResult::buffer is
// the buffer after the run: pass it to the next run to carry it through a sequence.
RunResult run_network(const Network& net, const Tensor& input, bool keep_layers = true,
                      LayerHook* hook = nullptr, const PreparedNetwork* prepared = nullptr,
                      int threads = 1, const Tensor* buffer = nullptr);

}  // namespace ai8xsim
