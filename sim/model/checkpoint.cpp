#include "sim/model/checkpoint.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <optional>
#include <sstream>

#include "ai8xsim/error.h"
#include "ai8xsim/device.h"
#include "sim/io/npy.h"

namespace ai8xsim {

namespace {

// ---- shared helpers -------------------------------------------------------------------------

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string layer_where(const NetworkConfig& cfg, int ll) {
  std::string s = "layer " + std::to_string(ll);
  const LayerConfig& lc = cfg.layers[static_cast<size_t>(ll)];
  if (lc.name) s += " '" + *lc.name + "'";
  if (lc.yaml_line > 0) s += " (" + cfg.file + " line " + std::to_string(lc.yaml_line) + ")";
  return s;
}

bool has_no_weights(const LayerConfig& lc) { return lc.op == Operator::Passthrough || lc.bypass; }

bool takes_no_checkpoint_tensor(const LayerConfig& lc) { return !takes_checkpoint_tensor(lc); }

// The weight range of a bit width: binary (-1) is the set {-1, +1}.
std::string allowed_range(int q) {
  if (q == -1) return "-1 or +1 (binary)";
  const int64_t lo = -(int64_t{1} << (q - 1)), hi = (int64_t{1} << (q - 1)) - 1;
  return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

// Empty when every value fits `q` bits, else a description of the first offender.
std::string range_violation(const std::vector<double>& values, int q) {
  for (size_t k = 0; k < values.size(); ++k) {
    const double v = values[k];
    const bool ok = q == -1 ? std::fabs(v) == 1
                            : v >= -std::ldexp(1, q - 1) && v <= std::ldexp(1, q - 1) - 1;
    if (!ok) return "found " + num(v) + " at element " + std::to_string(k);
  }
  return "";
}

// The values of an array that must hold integers, or an explanation of the first that does not.
std::string non_integer(const NdArray& a) {
  for (size_t k = 0; k < a.values.size(); ++k) {
    const double v = a.values[k];
    if (!std::isfinite(v) || v != std::floor(v))
      return "found " + num(v) + " at element " + std::to_string(k);
  }
  return "";
}

std::vector<int8_t> to_int8(const std::vector<double>& values) {
  std::vector<int8_t> out(values.size());
  for (size_t k = 0; k < values.size(); ++k) out[k] = static_cast<int8_t>(values[k]);
  return out;
}

// Output channels a weight tensor (izer's shape, before flattening) gives its layer.
int64_t weight_out_channels(const std::vector<int64_t>& shape, const LayerConfig& lc) {
  return shape[0] * (lc.op == Operator::ConvTranspose2d ? lc.groups : 1);
}

// ---- izer's checkpoint.py --------------------------------------------------------------------

class CheckpointLoader {
 public:
  CheckpointLoader(const TorchCheckpoint& ckpt, const std::string& file, const NetworkConfig& cfg,
                   Device device, const std::vector<int>& no_bias)
      : ckpt_(ckpt), file_(file), cfg_(cfg), spec_(device_spec(device)), no_bias_(no_bias) {}

  std::vector<LayerWeights> run() {
    check_container();
    check_bypass();
    assign_tensors();
    check_unused_weights();
    return align_with_yaml();
  }

 private:
  [[noreturn]] void error(const std::string& msg) const {
    fail(ErrorKind::Checkpoint, "file " + file_ + ": " + msg);
  }
  [[noreturn]] void layer_error(int ll, const std::string& key, const std::string& msg) const {
    error(layer_where(cfg_, ll) + ", key '" + key + "': " + msg);
  }

  const NdArray* tensor(const std::string& key) const {
    auto it = ckpt_.tensors.find(key);
    return it == ckpt_.tensors.end() ? nullptr : &it->second;
  }

  void check_container() const;
  void check_bypass() const;
  void assign_tensors();
  LayerWeights load_layer(int ll, const std::string& key, const KeyParts& parts);
  void check_dimensions(int ll, const std::string& key, const NdArray& w) const;
  int weight_bits(int ll, const KeyParts& parts) const;
  int choose_quantization(int ll, const std::string& key, const NdArray& w, int wb) const;
  NdArray transform_weights(int ll, const NdArray& w) const;
  void check_kernel_size(int ll, const std::string& key, const NdArray& w) const;
  void load_bias(int ll, const KeyParts& parts, int wb, int64_t out_channels, LayerWeights& lw);
  int stored_output_shift(int ll, const KeyParts& parts) const;
  void check_unused_weights() const;
  std::vector<LayerWeights> align_with_yaml() const;
  LayerWeights empty_layer(int ll) const;

  const TorchCheckpoint& ckpt_;
  const std::string& file_;
  const NetworkConfig& cfg_;
  const DeviceSpec& spec_;
  const std::vector<int>& no_bias_;
  std::vector<LayerWeights> compact_;      // one per consumed weight tensor, in order
  std::vector<int> compact_layer_;         // the YAML layer of each
  std::vector<std::string> unused_keys_;   // weight tensors left after the last YAML layer
};

void CheckpointLoader::check_container() const {
  if (lower(cfg_.arch) == "test")
    error("the YAML's `arch: test` makes izer use its built-in sample weights, not a "
          "checkpoint; give the weights as a .npz instead");
  if (!ckpt_.has_state_dict)
    error("no `state_dict` entry; izer reads checkpoints saved as {'state_dict': "
          "model.state_dict(), 'epoch': N, 'arch': NAME} (as ai8x-training saves them)");
  if (!ckpt_.metadata.count("epoch"))
    error("no `epoch` entry; izer requires it (add 'epoch': N to the saved dict)");
  auto arch = ckpt_.metadata.find("arch");
  if (arch != ckpt_.metadata.end() && !cfg_.arch.empty() &&
      lower(arch->second) != lower(cfg_.arch))
    error("`arch` is '" + arch->second + "', but the YAML " + cfg_.file + " says `arch: " +
          cfg_.arch + "`; izer requires them to match (ignoring case): use the YAML written for "
          "this model");
}

void CheckpointLoader::check_bypass() const {
  for (size_t ll = 0; ll < cfg_.layers.size(); ++ll)
    if (cfg_.layers[ll].bypass)
      error(layer_where(cfg_, static_cast<int>(ll)) +
            ": `bypass: true` with a checkpoint: izer's loader gives bypass layers no bias slot, "
            "which shifts the biases of the later layers and makes izer fail; use weights from a "
            ".npz for networks with bypass layers");
}

void CheckpointLoader::assign_tensors() {
  const int n = static_cast<int>(cfg_.layers.size());
  int seq = 0;
  for (const std::string& key : ckpt_.keys) {
    while (seq < n && takes_no_checkpoint_tensor(cfg_.layers[static_cast<size_t>(seq)])) ++seq;
    const std::optional<KeyParts> parts = split_checkpoint_key(key);
    if (!parts || parts->parameter != "weight") continue;
    if (seq >= n) {
      unused_keys_.push_back(key);
      continue;
    }
    compact_.push_back(load_layer(seq, key, *parts));
    compact_layer_.push_back(seq);
    ++seq;
  }
}

void CheckpointLoader::check_dimensions(int ll, const std::string& key, const NdArray& w) const {
  const size_t ndim = w.shape.size();
  if (ndim == 1) {
    if (key.find(".bn.") != std::string::npos || key.rfind("bn.", 0) == 0)
      layer_error(ll, key, "BatchNorm parameters (1-dimensional, shape " + w.shape_str() +
                               ") that are not folded into the convolution before them: izer "
                               "takes each `*.weight` tensor in file order as the next layer's "
                               "weights; fold the BatchNorm layers into the convolutions "
                               "(ai8x-training's batchnormfuser.py, or quantize.py) before "
                               "synthesis");
    layer_error(ll, key, "1-dimensional weights of shape " + w.shape_str() +
                             "; izer expects 2 (linear), 3 (conv1d) or 4 (conv2d) dimensions");
  }
  if (ndim < 2 || ndim > 4)
    layer_error(ll, key, "weights of shape " + w.shape_str() + " (" + std::to_string(ndim) +
                             " dimensions); expected 2 (linear), 3 (conv1d) or 4 (conv2d)");
  if (cfg_.layers[static_cast<size_t>(ll)].op == Operator::ConvTranspose2d && ndim != 4)
    layer_error(ll, key, "weights of shape " + w.shape_str() +
                             " for a convtranspose2d layer; expected 4 dimensions");
  if (w.values.empty()) layer_error(ll, key, "empty weights of shape " + w.shape_str());
  const std::string bad = non_integer(w);
  if (!bad.empty())
    layer_error(ll, key, "weights are not integers (" + bad +
                             "): this checkpoint is only partly quantized; give ai8x-training's float "
                             "checkpoint (ai8xsim quantizes it) or the *-q.pth.tar "
                             "ai8x-synthesis's quantize.py writes");
}

int CheckpointLoader::weight_bits(int ll, const KeyParts& parts) const {
  const std::string key = parts.layer + ".weight_bits";
  const NdArray* wb = tensor(key);
  if (!wb) return 8;
  if (wb->values.size() != 1 || !wb->all_integral())
    layer_error(ll, key, "found " + std::to_string(wb->values.size()) + " values of shape " +
                             wb->shape_str() + ", expected one integer bit width");
  const double v = wb->values[0];
  if (v != -1 && v != 0 && v != 1 && v != 2 && v != 4 && v != 8)
    layer_error(ll, key, "found " + num(v) + "; allowed bit widths: 1, 2, 4, 8 (0 means 8)");
  return static_cast<int>(v);
}

int CheckpointLoader::choose_quantization(int ll, const std::string& key, const NdArray& w,
                                          int wb) const {
  const LayerConfig& lc = cfg_.layers[static_cast<size_t>(ll)];
  bool all_unit = true, all_zero = true;
  for (double v : w.values) {
    all_unit = all_unit && std::fabs(v) == 1;
    all_zero = all_zero && v == 0;
  }
  int q;
  std::string source;
  if (lc.quantization) {
    q = *lc.quantization;
    source = "the YAML's `quantization: " + std::to_string(q) + "`";
  } else if (spec_.support_binary_weights && all_unit) {
    q = -1;  // izer: weights that are all +-1 are binary on devices that support it
  } else if (all_zero) {
    q = 1;   // izer: all-zero weights count as 1-bit
  } else {
    q = wb;
    source = "the checkpoint's weight_bits " + std::to_string(wb);
  }
  if (q == 0) q = 8;
  const std::string bad = range_violation(w.values, q);
  if (!bad.empty())
    layer_error(ll, key, "weights outside the range of " +
                             (q == -1 ? std::string("binary") : std::to_string(q) + "-bit") +
                             " weights (" + bad + "; allowed " + allowed_range(q) + ", from " +
                             source + "); set the layer's `quantization` to the bit width the "
                                      "model was trained with, or re-quantize the checkpoint");
  return q;
}

NdArray CheckpointLoader::transform_weights(int ll, const NdArray& w) const {
  const LayerConfig& lc = cfg_.layers[static_cast<size_t>(ll)];
  NdArray out = w;
  if (lc.op == Operator::ConvTranspose2d) {
    // izer: flip the kernel in both spatial axes and swap the in/out channel axes.
    const int64_t a = w.shape[0], b = w.shape[1], kh = w.shape[2], kw = w.shape[3];
    out.shape = {b, a, kh, kw};
    for (int64_t i = 0; i < a; ++i)
      for (int64_t o = 0; o < b; ++o)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x)
            out.values[static_cast<size_t>(((o * a + i) * kh + y) * kw + x)] =
                w.values[static_cast<size_t>(((i * b + o) * kh + (kh - 1 - y)) * kw +
                                             (kw - 1 - x))];
  }
  return out;
}

void CheckpointLoader::check_kernel_size(int ll, const std::string& key, const NdArray& w) const {
  const LayerConfig& lc = cfg_.layers[static_cast<size_t>(ll)];
  const size_t ndim = w.shape.size();
  std::array<int64_t, 2> need{1, 1};
  const char* kind = "linear (MLP)";
  if (ndim == 3) need = {w.shape[2], 1}, kind = "1D";
  if (ndim == 4) need = {w.shape[2], w.shape[3]}, kind = "2D";
  if (lc.kernel_size[0] != need[0] || lc.kernel_size[1] != need[1])
    layer_error(ll, key, "weights of shape " + w.shape_str() + " make this a " + kind +
                             " layer with a " + std::to_string(need[0]) + "x" +
                             std::to_string(need[1]) + " kernel, but the YAML's `kernel_size` "
                             "is " + std::to_string(lc.kernel_size[0]) + "x" +
                             std::to_string(lc.kernel_size[1]) + "; set `kernel_size: " +
                             std::to_string(need[0]) + "x" + std::to_string(need[1]) +
                             "` (and the matching `operation`)");
  if (lc.out_channels && weight_out_channels(w.shape, lc) != *lc.out_channels)
    layer_error(ll, key, "weights of shape " + w.shape_str() + " give " +
                             std::to_string(weight_out_channels(w.shape, lc)) +
                             " output channels, but the YAML says `out_channels: " +
                             std::to_string(*lc.out_channels) + "`");
}

void CheckpointLoader::load_bias(int ll, const KeyParts& parts, int wb, int64_t out_channels,
                                 LayerWeights& lw) {
  const std::string key = parts.layer + "." + (parts.op ? *parts.op + "." : "") + "bias";
  const NdArray* b = tensor(key);
  if (!b || std::find(no_bias_.begin(), no_bias_.end(), ll) != no_bias_.end()) return;
  if (b->shape.size() != 1 || b->shape[0] != out_channels)
    layer_error(ll, key, "bias of shape " + b->shape_str() + "; the layer has " +
                             std::to_string(out_channels) + " output channels, so expected (" +
                             std::to_string(out_channels) + ",)");
  // izer divides the stored bias by 2^(weight_bits - 1) (weight_bits 0 means 8) and floors.
  const double scale = std::ldexp(1.0, (wb == 0 ? 8 : wb) - 1);
  lw.bias.resize(b->values.size());
  for (size_t k = 0; k < b->values.size(); ++k) {
    const double v = std::floor(b->values[k] / scale);
    if (!std::isfinite(v) || v < -128 || v > 127)
      layer_error(ll, key, "bias value " + num(b->values[k]) + " at element " +
                               std::to_string(k) + " becomes " + num(v) + " after dividing by " +
                               num(scale) + "; allowed [-128, 127] (8-bit bias): re-quantize "
                                            "the checkpoint");
    lw.bias[k] = static_cast<int64_t>(v);
  }
  lw.has_bias = true;
  lw.bias_key = key;
}

int CheckpointLoader::stored_output_shift(int ll, const KeyParts& parts) const {
  const LayerConfig& lc = cfg_.layers[static_cast<size_t>(ll)];
  if (lc.output_shift) return *lc.output_shift;
  const std::string key = parts.layer + ".output_shift";
  const NdArray* s = tensor(key);
  if (!s) return 0;
  if (s->shape.empty() || s->shape[0] != 1 || s->values.size() != 1 || !s->all_integral() ||
      std::fabs(s->values[0]) > 64)
    layer_error(ll, key, "found " + std::to_string(s->values.size()) + " value(s) of shape " +
                             s->shape_str() + ", expected one integer shift of shape (1,)");
  return static_cast<int>(s->values[0]);
}

LayerWeights CheckpointLoader::load_layer(int ll, const std::string& key,
                                          const KeyParts& parts) {
  const NdArray& raw = *tensor(key);
  check_dimensions(ll, key, raw);
  const int wb = weight_bits(ll, parts);
  LayerWeights lw;
  lw.quantization = choose_quantization(ll, key, raw, wb);
  const NdArray w = transform_weights(ll, raw);
  check_kernel_size(ll, key, w);
  // izer's shape: linear (1, out, in); convolutions (out * in, kernel...).
  if (w.shape.size() == 2) {
    lw.weight_shape = {1, w.shape[0], w.shape[1]};
  } else {
    lw.weight_shape = {w.shape[0] * w.shape[1]};
    lw.weight_shape.insert(lw.weight_shape.end(), w.shape.begin() + 2, w.shape.end());
  }
  lw.weights = to_int8(w.values);
  lw.has_weights = true;
  lw.weight_key = key;
  load_bias(ll, parts, wb, weight_out_channels(w.shape, cfg_.layers[static_cast<size_t>(ll)]),
            lw);
  const int stored = stored_output_shift(ll, parts);
  lw.output_shift = stored + 8 - std::abs(lw.quantization);
  if (!cfg_.layers[static_cast<size_t>(ll)].output_shift) {
    const std::string key = parts.layer + ".output_shift";
    lw.output_shift_source =
        "file " + file_ + ", " + (tensor(key) ? "key '" + key + "'" : "no key '" + key + "'") +
        " (stored " + std::to_string(stored) + ", plus 8 - " +
        std::to_string(std::abs(lw.quantization)) + " for " +
        std::to_string(std::abs(lw.quantization)) + "-bit weights)";
  }
  return lw;
}

// izer ignores weight tensors after the last YAML layer. Stale copies of loaded layers (the
// same tensor under another prefix) are harmless; anything else means the YAML lacks layers.
void CheckpointLoader::check_unused_weights() const {
  for (const std::string& key : unused_keys_) {
    const NdArray& w = *tensor(key);
    if (w.shape.size() < 2) continue;
    bool copy = false;
    for (const LayerWeights& lw : compact_) {
      const NdArray& used = *tensor(lw.weight_key);
      copy = copy || (used.shape == w.shape && used.values == w.values);
    }
    if (!copy)
      error("weight tensor '" + key + "' of shape " + w.shape_str() +
            " is left over after every YAML layer got its weights: the checkpoint holds more "
            "layers than the YAML " + cfg_.file + " (" + std::to_string(compact_.size()) +
            " layers take checkpoint weights); add the missing layers to the YAML");
  }
}

LayerWeights CheckpointLoader::empty_layer(int ll) const {
  const LayerConfig& lc = cfg_.layers[static_cast<size_t>(ll)];
  LayerWeights lw;
  lw.output_shift = lc.output_shift.value_or(0);
  lw.quantization = lc.quantization.value_or(has_no_weights(lc) ? 0 : 8);
  return lw;
}

// izer.py: insert empty entries for layers without weights and copies for `weight_source`
// layers into the list of loaded layers, in YAML order, then require one entry per layer.
// `weight_source` copies the list entry at that position (the source layer when it comes
// earlier, as izer intends) and the output_shift of that YAML layer.
std::vector<LayerWeights> CheckpointLoader::align_with_yaml() const {
  const int n = static_cast<int>(cfg_.layers.size());
  std::vector<LayerWeights> list = compact_;
  std::vector<int> shifts(static_cast<size_t>(n));  // izer's YAML-indexed output_shift list
  for (int ll = 0; ll < n; ++ll)
    shifts[static_cast<size_t>(ll)] = cfg_.layers[static_cast<size_t>(ll)].output_shift.value_or(0);
  for (size_t k = 0; k < compact_.size(); ++k)
    shifts[static_cast<size_t>(compact_layer_[k])] = compact_[k].output_shift;
  if (static_cast<int>(list.size()) < n) {
    for (int ll = 0; ll < n; ++ll) {
      const LayerConfig& lc = cfg_.layers[static_cast<size_t>(ll)];
      if (has_no_weights(lc)) {
        list.insert(list.begin() + ll, empty_layer(ll));
      } else if (lc.weight_source) {
        const int src = *lc.weight_source;
        if (src < 0 || src >= n || src >= static_cast<int>(list.size()) ||
            !list[static_cast<size_t>(src)].has_weights)
          error(layer_where(cfg_, ll) + ": `weight_source: " + std::to_string(src) +
                "` names no layer with weights");
        LayerWeights copy = list[static_cast<size_t>(src)];
        copy.quantization = lc.quantization.value_or(8);  // izer: not copied
        copy.output_shift = shifts[static_cast<size_t>(ll)] = shifts[static_cast<size_t>(src)];
        list.insert(list.begin() + ll, copy);
      }
    }
  }
  if (static_cast<int>(list.size()) != n) {
    int first_missing = 0;
    for (int ll = 0; ll < n; ++ll)
      if (!takes_no_checkpoint_tensor(cfg_.layers[static_cast<size_t>(ll)]) &&
          std::find(compact_layer_.begin(), compact_layer_.end(), ll) == compact_layer_.end()) {
        first_missing = ll;
        break;
      }
    error("the checkpoint has " + std::to_string(compact_.size()) +
          " weight tensors, fewer than the YAML's layers with weights need; " +
          layer_where(cfg_, first_missing) + " and any later ones get none (izer: the YAML has " +
          std::to_string(n) + " layers, the checkpoint " + std::to_string(list.size()) +
          "); use the YAML written for this checkpoint");
  }
  return list;
}

// ---- weights.npz ----------------------------------------------------------------------------

std::optional<int> layer_suffix(const std::string& key, const std::string& prefix) {
  if (key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string digits = key.substr(prefix.size());
  if (digits.empty() || digits.size() > 4) return std::nullopt;
  for (char c : digits)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return std::stoi(digits);
}

}  // namespace

// Asked before any entry of weights.npz is inflated, and again by the loader.
std::string npz_key_problem(const std::string& key, const NetworkConfig& cfg) {
  if (key == "output_shift" || key == "quantization") return "";
  std::optional<int> ll = layer_suffix(key, "weight_");
  if (!ll) ll = layer_suffix(key, "bias_");
  if (!ll)
    return "array '" + key + "': unknown name; expected weight_NNN, bias_NNN, output_shift and "
           "quantization";
  if (*ll >= static_cast<int>(cfg.layers.size()))
    return "array '" + key + "' is for layer " + std::to_string(*ll) + ", but the YAML " +
           cfg.file + " has " + std::to_string(cfg.layers.size()) + " layers";
  return "";
}

namespace {

class NpzLoader {
 public:
  NpzLoader(const NdArrayMap& arrays, const std::string& file, const NetworkConfig& cfg)
      : arrays_(arrays), file_(file), cfg_(cfg), out_(cfg.layers.size()) {}

  std::vector<LayerWeights> run() {
    const std::vector<int64_t> shifts = per_layer("output_shift");
    const std::vector<int64_t> quant = per_layer("quantization");
    for (const auto& [key, a] : arrays_) {
      const std::string problem = npz_key_problem(key, cfg_);
      if (!problem.empty()) error(problem);
      if (key == "output_shift" || key == "quantization") continue;
      if (auto ll = layer_suffix(key, "weight_")) take_weights(key, a, *ll);
      else take_bias(key, a, *layer_suffix(key, "bias_"));
    }
    for (size_t ll = 0; ll < out_.size(); ++ll) finish_layer(static_cast<int>(ll), shifts, quant);
    return out_;
  }

 private:
  [[noreturn]] void error(const std::string& msg) const {
    fail(ErrorKind::Checkpoint, "file " + file_ + ": " + msg);
  }

  std::vector<int64_t> integers(const std::string& key, const NdArray& a) const {
    const std::string bad = non_integer(a);
    if (!bad.empty()) error("array '" + key + "': values must be integers (" + bad + ")");
    std::vector<int64_t> out(a.values.size());
    for (size_t k = 0; k < a.values.size(); ++k) {
      const double v = a.values[k];  // uint64 arrays can hold values beyond int64
      if (v < -0x1p63 || v >= 0x1p63)
        error("array '" + key + "': found " + num(v) + " at element " + std::to_string(k) +
              ", beyond the 64-bit signed integers every array here must fit in");
      out[k] = static_cast<int64_t>(v);
    }
    return out;
  }

  std::vector<int64_t> per_layer(const std::string& key) const {
    auto it = arrays_.find(key);
    if (it == arrays_.end()) error("no array '" + key + "' (one entry per YAML layer)");
    const NdArray& a = it->second;
    if (a.shape.size() != 1 || a.shape[0] != static_cast<int64_t>(out_.size()))
      error("array '" + key + "' has shape " + a.shape_str() + ", expected (" +
            std::to_string(out_.size()) + ",): one entry per layer of " + cfg_.file);
    return integers(key, a);
  }

  void take_weights(const std::string& key, const NdArray& a, int ll) {
    const std::vector<int64_t> v = integers(key, a);
    for (size_t k = 0; k < v.size(); ++k)
      if (v[k] < -128 || v[k] > 127)
        error(layer_where(cfg_, ll) + ", array '" + key + "': found " + std::to_string(v[k]) +
              " at element " + std::to_string(k) + ", weights must lie in [-128, 127]");
    if (a.shape.empty() || v.empty())
      error(layer_where(cfg_, ll) + ", array '" + key + "': empty weights of shape " +
            a.shape_str());
    LayerWeights& lw = out_[static_cast<size_t>(ll)];
    lw.has_weights = true;
    lw.weight_shape = a.shape;
    lw.weights = to_int8(a.values);
    lw.weight_key = key;
  }

  void take_bias(const std::string& key, const NdArray& a, int ll) {
    if (a.shape.size() != 1)
      error(layer_where(cfg_, ll) + ", array '" + key + "': shape " + a.shape_str() +
            ", expected a vector");
    LayerWeights& lw = out_[static_cast<size_t>(ll)];
    lw.has_bias = true;
    lw.bias = integers(key, a);
    lw.bias_key = key;
  }

  void finish_layer(int ll, const std::vector<int64_t>& shifts,
                    const std::vector<int64_t>& quant) {
    LayerWeights& lw = out_[static_cast<size_t>(ll)];
    const LayerConfig& lc = cfg_.layers[static_cast<size_t>(ll)];
    const int64_t q = quant[static_cast<size_t>(ll)];
    const int64_t s = shifts[static_cast<size_t>(ll)];
    if (q != -1 && q != 0 && q != 1 && q != 2 && q != 4 && q != 8)
      error(layer_where(cfg_, ll) + ", array 'quantization': found " + std::to_string(q) +
            "; allowed 1, 2, 4, 8, -1 (binary) or 0 (unset)");
    if (s < -64 || s > 64)
      error(layer_where(cfg_, ll) + ", array 'output_shift': found " + std::to_string(s) +
            "; expected a shift within [-64, 64]");
    lw.output_shift = static_cast<int>(s);
    lw.output_shift_source = "file " + file_ + ", array 'output_shift' element " +
                             std::to_string(ll);
    // izer's default for an unset quantization (stored as 0): 8 for layers with weights.
    lw.quantization = q != 0 ? static_cast<int>(q) : (has_no_weights(lc) ? 0 : 8);
    if (!lw.has_weights) return;
    NdArray w{DType::I8, lw.weight_shape, {}};
    w.values.assign(lw.weights.begin(), lw.weights.end());
    const std::string bad = range_violation(w.values, lw.quantization);
    if (!bad.empty())
      error(layer_where(cfg_, ll) + ", array '" + lw.weight_key + "': weights outside the " +
            "range of quantization " + std::to_string(lw.quantization) + " (" + bad +
            "; allowed " + allowed_range(lw.quantization) + ")");
  }

  const NdArrayMap& arrays_;
  const std::string& file_;
  const NetworkConfig& cfg_;
  std::vector<LayerWeights> out_;
};

}  // namespace

std::optional<KeyParts> split_checkpoint_key(const std::string& key) {
  const size_t last = key.rfind('.');
  if (last == std::string::npos) return std::nullopt;
  KeyParts p;
  p.parameter = key.substr(last + 1);
  const std::string head = key.substr(0, last);
  const size_t mid = last == 0 ? std::string::npos : head.rfind('.');
  if (mid == std::string::npos) {
    p.layer = head;
  } else {
    p.layer = head.substr(0, mid);
    p.op = head.substr(mid + 1);
  }
  return p;
}

bool takes_checkpoint_tensor(const LayerConfig& lc) {
  return !(lc.op == Operator::Passthrough || lc.bypass || lc.weight_source.has_value());
}

std::vector<LayerWeights> weights_from_checkpoint(const TorchCheckpoint& ckpt,
                                                  const std::string& file,
                                                  const NetworkConfig& cfg, Device device,
                                                  const std::vector<int>& no_bias_layers) {
  return CheckpointLoader(ckpt, file, cfg, device, no_bias_layers).run();
}

LoadLimits weight_file_limits(const NetworkConfig& cfg, Device device) {
  const DeviceSpec& spec = device_spec(device);
  uint64_t kernel_bytes = 0;  // 9 bytes (one 3x3 kernel of 8-bit weights) per row
  for (int p = 0; p < spec.max_proc; ++p) kernel_bytes += uint64_t{9} * spec.mask_width(p);
  const uint64_t weights = kernel_bytes * 8;  // as many as fit at 1 bit each
  const uint64_t layers = cfg.layers.size();
  LoadLimits l;
  l.max_elements = 2 * weights + (uint64_t{1} << 20);
  l.max_bytes = 4 * l.max_elements;
  l.max_pickle_ops = 2048 * (layers + 16);
  l.basis = "a checkpoint for " + std::to_string(layers) + " layers on " + device_name(device) +
            ": twice its " + std::to_string(weights) + " 1-bit weights of kernel memory in " +
            std::to_string(l.max_elements) + " elements, " + std::to_string(l.max_bytes) +
            " bytes, " + std::to_string(l.max_pickle_ops) + " pickle opcodes";
  return l;
}

std::vector<LayerWeights> load_checkpoint(const std::string& path, const NetworkConfig& cfg,
                                          Device device,
                                          const std::vector<int>& no_bias_layers) {
  return weights_from_checkpoint(read_torch_checkpoint(path, weight_file_limits(cfg, device)),
                                 path, cfg, device, no_bias_layers);
}

std::vector<LayerWeights> weights_from_npz(const NdArrayMap& arrays, const std::string& file,
                                           const NetworkConfig& cfg, Device) {
  return NpzLoader(arrays, file, cfg).run();
}

std::vector<LayerWeights> load_weights_npz(const std::string& path, const NetworkConfig& cfg,
                                           Device device) {
  return weights_from_npz(
      read_npz(path, ErrorKind::Checkpoint, weight_file_limits(cfg, device),
               [&](const std::string& key) { return npz_key_problem(key, cfg); }),
      path, cfg, device);
}

}  // namespace ai8xsim
