// ai8xsim: the engine. Runs a resolved network on one sample, layer by layer, as izer's
// simulation runs it (in_sequences gathering, element-wise operands, fused pooling, the
// convolution, the output stage), calling the kernels for the arithmetic.
#pragma once
#include <optional>
#include <vector>

#include "kernels/tensor.h"
#include "sim/network.h"

namespace ai8xsim {

struct RunResult {
  Tensor output;                              // the final layer's output (C x H x W)
  std::vector<std::optional<Tensor>> layers;  // by YAML index; set for layers that ran
};

// `input` is the sample as C x H x W (1-D: C x L x 1), values in [-128, 127].
RunResult run_network(const Network& net, const Tensor& input, bool keep_layers = true);

}  // namespace ai8xsim
