// ai8xsim: the weights of a network as izer's loader returns them.
// load_checkpoint reproduces izer's checkpoint.py (walk the state dict in file order, give
// each YAML layer with weights the next `*.weight` tensor, derive quantization, bias and
// output_shift) and izer.py's alignment of that list with the YAML (empty entries for
// passthrough layers, copies for `weight_source`). load_weights_npz reads the same result from
// a parity case's weights.npz. docs/checkpoint-format.md describes the rules and izer's quirks.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ai8xsim/config.h"
#include "ai8xsim/ndarray.h"
#include "ai8xsim/weights.h"
#include "sim/io/torch_checkpoint.h"

namespace ai8xsim {

// A state-dict key as izer splits it (key.rsplit('.', maxsplit=2)): "a.b.op.weight" is layer
// "a.b", op "op", parameter "weight"; "fc.weight" has no op. None for a key without a dot.
struct KeyParts {
  std::string layer;
  std::optional<std::string> op;
  std::string parameter;
};
std::optional<KeyParts> split_checkpoint_key(const std::string& key);

// Whether izer's loader hands this YAML layer the next `*.weight` tensor of the checkpoint
// (not for passthrough, bypass and `weight_source` layers).
bool takes_checkpoint_tensor(const LayerConfig& lc);

// LayerWeights (one per YAML layer): ai8xsim/weights.h.


// What a weights file for `cfg` on `device` may hold, checked before anything larger is taken
// into memory: tensor elements in all at most twice the weights the device's kernel memory
// holds at 1 bit each, plus 2^20 (room for a float copy, BatchNorm, scalars); the file, and its
// inflated records in all, at most 4 bytes per such element; 2048 pickle opcodes per YAML
// layer, plus 16 layers' worth. MAX78000: 8.1 M elements, 32.5 MB; MAX78002: 39.4 M, 157 MB
// (docs/checkpoint-format.md, "Limits").
LoadLimits weight_file_limits(const NetworkConfig& cfg, Device device);
// Why weights.npz may not hold an array named `key` for `cfg` (empty: it may).
std::string npz_key_problem(const std::string& key, const NetworkConfig& cfg);

// `no_bias_layers`: izer's --no-bias (YAML layer indices whose bias is ignored).
std::vector<LayerWeights> load_checkpoint(const std::string& path, const NetworkConfig& cfg,
                                          Device device,
                                          const std::vector<int>& no_bias_layers);
// The same from an already parsed checkpoint; `file` names it in messages.
std::vector<LayerWeights> weights_from_checkpoint(const TorchCheckpoint& ckpt,
                                                  const std::string& file,
                                                  const NetworkConfig& cfg, Device device,
                                                  const std::vector<int>& no_bias_layers);

// A weights.npz as the parity corpus stores it: weight_NNN (int8), bias_NNN (int64),
// output_shift and quantization (one entry per YAML layer; quantization 0 stands for izer's
// unset value and becomes izer's default).
std::vector<LayerWeights> load_weights_npz(const std::string& path, const NetworkConfig& cfg,
                                           Device device);
std::vector<LayerWeights> weights_from_npz(const NdArrayMap& arrays, const std::string& file,
                                           const NetworkConfig& cfg, Device device);

}  // namespace ai8xsim
