// ai8xsim: quantize an ai8x-training checkpoint (float weights) as ai8x-synthesis's
// quantize.py does with its default method (MAX_BIT_SHIFT, the one for QAT and post-training
// checkpoints alike). Per `*.weight` tensor, in the state dict's order:
//   bits       the YAML's `quantization` at the position of this weight tensor among the
//              checkpoint's weight tensors (quantize.py's indexing), else the checkpoint's
//              nonzero `<layer>.weight_bits`, else 8; an override (QuantizeSettings) wins.
//   bit_shift  floor(log2(1 / quantile(|weights ++ bias|, q))) clamped to
//              [-7 - bits, 23 - bits], q the checkpoint's `<layer>.shift_quantile` (default 1).
//   weight     clamp(floor(w * 2^(bits-1+bit_shift) + 0.5), -2^(bits-1), 2^(bits-1)-1)
//   bias       clamp(floor(b * 2^(bits-1+bit_shift) + 0.5), same range) * 2^(bits-8) * 128
//   keys       `<layer>.output_shift` = -bit_shift, `<layer>.bias_bits` = bits,
//              `<layer>.weight_bits` = 8 when absent or 0 (quantize.py's default);
//              `*_zero_point` (must be zero) and `base_b_q` removed, `adjust_output_shift` 0,
//              `quantize_activation` 1.
// Arithmetic is done in the tensor's precision (float32 for float32 tensors) as PyTorch does,
// so the integers are quantize.py's. docs/checkpoint-format.md has the details and quirks.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ai8xsim/config.h"
#include "sim/io/torch_checkpoint.h"

namespace ai8xsim {

struct QuantizedLayer {
  std::string weight_key;
  int yaml_layer = -1;  // the YAML layer that takes this tensor (izer's loader), -1 none
  int bits = 8;
  int output_shift = 0;  // the value written to `<layer>.output_shift` (-bit_shift)
};

struct QuantizeSummary {
  std::vector<QuantizedLayer> layers;
  std::string describe(const std::string& file) const;  // one line for the user
};

// True when a weight tensor the YAML's layers would take holds a non-integer value: the
// checkpoint is ai8x-training's float output, not quantize.py's.
bool needs_quantization(const TorchCheckpoint& ckpt, const NetworkConfig& cfg);

// The checkpoint quantize.py would write. `file` names the checkpoint in messages.
TorchCheckpoint quantize_checkpoint(const TorchCheckpoint& ckpt, const std::string& file,
                                    const NetworkConfig& cfg, const QuantizeSettings& settings,
                                    QuantizeSummary* summary = nullptr);

// quantize.py's per-tensor steps (exposed for tests and tools). `single`: compute in float32.
// The shift for weights and bias `params` at width `bits` and quantile `q`.
int max_bit_shift(const std::vector<double>& params, int bits, double q, bool single);
// One weight / one bias value at width `bits` and shift `bit_shift` (the stored values).
double quantize_weight(double w, int bits, int bit_shift, bool single);
double quantize_bias(double b, int bits, int bit_shift, bool single);

}  // namespace ai8xsim
