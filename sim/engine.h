// ai8xsim: the engine. Runs a resolved network on one sample, layer by layer, as izer's
// simulation runs it (in_sequences gathering, element-wise operands, fused pooling, the
// convolution, the output stage), calling the kernels for the arithmetic.
#pragma once
#include <optional>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/tensor.h"
#include "sim/network.h"

namespace ai8xsim {

struct RunResult {
  Tensor output;                              // the final layer's output (C x H x W)
  std::vector<std::optional<Tensor>> layers;  // by YAML index; set for layers that ran
};

// ---- data-memory hook (sim/datamem.h implements it) ----------------------------------------
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
  std::vector<std::optional<kernels::PreparedConv>> convs;
};
PreparedNetwork prepare_network(const Network& net);

// `input` is the sample as C x H x W (1-D: C x L x 1), values in [-128, 127].
RunResult run_network(const Network& net, const Tensor& input, bool keep_layers = true,
                      LayerHook* hook = nullptr, const PreparedNetwork* prepared = nullptr);

}  // namespace ai8xsim
