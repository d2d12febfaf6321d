// ai8xsim: a network's weights as izer's loader returns them, one entry per YAML layer (what
// weights.npz stores; docs/checkpoint-format.md). sim/model/checkpoint.h reads them from a
// checkpoint or a weights.npz; Simulator::weights() hands them out.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ai8xsim {

struct LayerWeights {           // one per YAML layer (entry i = YAML layer i)
  bool has_weights = false;
  std::vector<int64_t> weight_shape;   // izer's shape, as weights.npz weight_NNN
  std::vector<int8_t> weights;         // C order; binary weights as -1/+1
  bool has_bias = false;
  std::vector<int64_t> bias;           // as izer's loader returns it (weights.npz bias_NNN)
  // izer's output_shift after loading: the YAML's or the checkpoint's value plus the implicit
  // 8 - |quantization|. Layers without weights: the YAML's value, else 0.
  int output_shift = 0;
  // Weight bits (1, 2, 4, 8; -1 binary) as izer uses them after loading, izer's default
  // applied: 8 for a layer with weights that got no value, 0 for a layer without weights.
  int quantization = 8;
  std::string weight_key;  // where the weights came from (checkpoint key / npz name)
  // Where output_shift came from when not from the YAML ("file F, key 'conv3.output_shift'
  // (20)"), for messages that blame the right file; empty when the YAML gave it.
  std::string output_shift_source;
  std::string bias_key;
};

}  // namespace ai8xsim
