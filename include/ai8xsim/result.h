// ai8xsim: what one run of a network gives: the final output, every layer's output, and the
// rolling data buffer after the run.
#pragma once
#include <optional>
#include <vector>

#include "ai8xsim/tensor.h"

namespace ai8xsim {

struct RunResult {
  Tensor output;                              // the final layer's output (C x H x W)
  // By YAML index, set for the layers that ran, when the run kept its layers (else empty).
  std::vector<std::optional<Tensor>> layers;
  std::optional<Tensor> buffer;  // the data buffer after the run (networks with `data_buffer`)
};

}  // namespace ai8xsim
