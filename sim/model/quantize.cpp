#include "sim/model/quantize.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "ai8xsim/error.h"
#include "sim/model/checkpoint.h"

namespace ai8xsim {

namespace {

// One arithmetic step in the tensor's precision: float32 tensors round every result to float.
double in_precision(double v, bool single) { return single ? static_cast<float>(v) : v; }

// torch.quantile(t, q) with its default linear interpolation, in the tensor's precision.
double quantile(std::vector<double> v, double q, bool single) {
  std::sort(v.begin(), v.end());
  const double rank = in_precision(in_precision(q, single) * static_cast<double>(v.size() - 1),
                                   single);
  const size_t below = static_cast<size_t>(rank);
  const size_t above = std::min(v.size() - 1, static_cast<size_t>(std::ceil(rank)));
  const double weight = in_precision(rank - static_cast<double>(below), single);
  const double lo = v[below], hi = v[above];
  // ATen's lerp: self + w * (end - self) for |w| < 0.5, else end - (end - self) * (1 - w).
  const double diff = in_precision(hi - lo, single);
  if (std::fabs(weight) < 0.5) return in_precision(lo + in_precision(weight * diff, single), single);
  return in_precision(hi - in_precision(diff * in_precision(1 - weight, single), single), single);
}

// floor(x + 0.5) with the addition rounded as the tensor's precision rounds it.
double round_half_up(double x, bool single) { return std::floor(in_precision(x + 0.5, single)); }

double clamp_bits(double v, int bits) {
  const double hi = std::ldexp(1.0, bits - 1);
  return std::min(std::max(v, -hi), hi - 1);
}

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

NdArray scalar_tensor(double v) { return NdArray{DType::F32, {1}, {v}}; }

bool is_float(DType t) { return !dtype_is_integer(t); }

// The weight keys quantize.py visits, in order: `*.weight` keys of two or three levels.
std::vector<std::string> weight_keys(const TorchCheckpoint& ckpt) {
  std::vector<std::string> out;
  for (const std::string& key : ckpt.keys) {
    const std::optional<KeyParts> p = split_checkpoint_key(key);
    if (p && p->parameter == "weight") out.push_back(key);
  }
  return out;
}

// The YAML layer izer's loader gives the k-th weight tensor, or -1.
std::vector<int> loader_layers(size_t n_keys, const NetworkConfig& cfg) {
  std::vector<int> out(n_keys, -1);
  const int n = static_cast<int>(cfg.layers.size());
  int seq = 0;
  for (size_t k = 0; k < n_keys; ++k) {
    while (seq < n && !takes_checkpoint_tensor(cfg.layers[static_cast<size_t>(seq)])) ++seq;
    if (seq >= n) break;
    out[k] = seq++;
  }
  return out;
}

class Quantizer {
 public:
  Quantizer(const TorchCheckpoint& in, const std::string& file, const NetworkConfig& cfg,
            const QuantizeSettings& settings)
      : in_(in), file_(file), cfg_(cfg), settings_(settings) {}

  TorchCheckpoint run(QuantizeSummary* summary) {
    for (const auto& [ll, bits] : settings_.weight_bits)
      if (bits != 1 && bits != 2 && bits != 4 && bits != 8)
        error("weight width " + std::to_string(bits) + " requested for layer " +
              std::to_string(ll) + "; allowed 1, 2, 4 or 8");
    out_ = in_;
    const std::vector<std::string> keys = weight_keys(in_);
    const std::vector<int> yaml_layer = loader_layers(keys.size(), cfg_);
    const size_t n_layers = cfg_.layers.size();
    size_t done = 0;
    for (const std::string& key : in_.keys) {
      const KeyParts p = split_checkpoint_key(key).value_or(KeyParts{});
      if (p.parameter == "w_zero_point" || p.parameter == "b_zero_point") {
        const NdArray& t = in_.tensors.at(key);
        for (double v : t.values)
          if (v != 0)
            error("key '" + key + "': found " + num(v) + "; quantize.py requires zero points "
                  "of 0 (symmetric quantization); retrain without zero points");
        remove(key);
      } else if (p.parameter == "weight" && !p.layer.empty()) {
        if (done >= n_layers) continue;
        const int ll = yaml_layer[done];
        QuantizedLayer q = quantize_layer(key, p, done, ll);
        if (summary) summary->layers.push_back(q);
        ++done;
      } else if (p.parameter == "base_b_q") {
        remove(key);
      } else if (p.parameter == "adjust_output_shift") {
        set(key, scalar_tensor(0));
      } else if (p.parameter == "quantize_activation") {
        set(key, scalar_tensor(1));
      }
    }
    return out_;
  }

 private:
  [[noreturn]] void error(const std::string& msg) const {
    fail(ErrorKind::Checkpoint, "file " + file_ + ": quantizing: " + msg);
  }

  const NdArray* input(const std::string& key) const {
    auto it = in_.tensors.find(key);
    return it == in_.tensors.end() ? nullptr : &it->second;
  }

  void set(const std::string& key, NdArray t) {
    if (!out_.tensors.count(key)) out_.keys.push_back(key);
    out_.tensors[key] = std::move(t);
  }
  void remove(const std::string& key) {
    out_.tensors.erase(key);
    out_.keys.erase(std::find(out_.keys.begin(), out_.keys.end(), key));
  }

  // quantize.py's choice of width: YAML (at the weight tensor's position), checkpoint, 8.
  int choose_bits(const std::string& key, const KeyParts& p, size_t position, int ll) const {
    if (ll >= 0) {
      auto it = settings_.weight_bits.find(ll);
      if (it != settings_.weight_bits.end()) return it->second;
    }
    const LayerConfig& lc = cfg_.layers[position];
    if (lc.quantization) {
      if (*lc.quantization == -1)
        error("key '" + key + "': layer " + std::to_string(position) + " of " + cfg_.file +
              " asks for binary weights (`quantization: binary`), which quantize.py cannot "
              "produce from float weights; quantize to 1, 2, 4 or 8 bits, or give a checkpoint "
              "with weights of +-1");
      return *lc.quantization;
    }
    if (const NdArray* wb = input(p.layer + ".weight_bits")) {
      if (wb->values.size() != 1)
        error("key '" + p.layer + ".weight_bits': " + std::to_string(wb->values.size()) +
              " values, expected one bit width");
      const double v = wb->values[0];
      if (v != 0) {
        if (v != 1 && v != 2 && v != 4 && v != 8)
          error("key '" + p.layer + ".weight_bits': found " + num(v) +
                "; allowed 1, 2, 4, 8 (0 means 8)");
        return static_cast<int>(v);
      }
    }
    return 8;
  }

  QuantizedLayer quantize_layer(const std::string& key, const KeyParts& p, size_t position,
                                int ll) {
    const NdArray& w = in_.tensors.at(key);
    const bool single = w.dtype != DType::F64;
    const int bits = choose_bits(key, p, position, ll);
    const std::string bias_key = p.layer + "." + (p.op ? *p.op + "." : "") + "bias";
    const NdArray* b = input(bias_key);
    std::vector<double> params = w.values;
    if (b) params.insert(params.end(), b->values.begin(), b->values.end());
    for (size_t k = 0; k < params.size(); ++k)
      if (!std::isfinite(params[k]))
        error("key '" + (k < w.values.size() ? key : bias_key) + "': found " + num(params[k]) +
              " at element " + std::to_string(k < w.values.size() ? k : k - w.values.size()) +
              "; weights and biases must be finite");
    double q = 1.0;
    if (const NdArray* sq = input(p.layer + ".shift_quantile")) {
      if (sq->values.size() != 1 || !(sq->values[0] >= 0 && sq->values[0] <= 1))
        error("key '" + p.layer + ".shift_quantile': expected one value in [0, 1], found " +
              std::to_string(sq->values.size()) + " value(s)" +
              (sq->values.empty() ? std::string() : " starting " + num(sq->values[0])));
      q = sq->values[0];
    }
    const int shift = max_bit_shift(params, bits, q, single);

    NdArray qw = w;
    if (!is_float(qw.dtype)) qw.dtype = DType::F32;
    for (double& v : qw.values) v = quantize_weight(v, bits, shift, single);
    set(key, std::move(qw));
    const std::string wb_key = p.layer + ".weight_bits";
    const NdArray* wb = input(wb_key);
    const bool overridden = ll >= 0 && settings_.weight_bits.count(ll);
    if (overridden) set(wb_key, scalar_tensor(bits));
    else if (!wb || (wb->values.size() == 1 && wb->values[0] == 0)) set(wb_key, scalar_tensor(8));
    if (b) {
      NdArray qb = *b;
      if (!is_float(qb.dtype)) qb.dtype = DType::F32;
      for (double& v : qb.values) v = quantize_bias(v, bits, shift, single);
      set(bias_key, std::move(qb));
      set(p.layer + ".bias_bits", scalar_tensor(bits));
    }
    set(p.layer + ".output_shift", scalar_tensor(-shift));
    return QuantizedLayer{key, ll, bits, -shift};
  }

  const TorchCheckpoint& in_;
  const std::string& file_;
  const NetworkConfig& cfg_;
  const QuantizeSettings& settings_;
  TorchCheckpoint out_;
};

}  // namespace

int max_bit_shift(const std::vector<double>& params, int bits, double q, bool single) {
  std::vector<double> mags(params.size());
  for (size_t k = 0; k < params.size(); ++k) mags[k] = std::fabs(params[k]);
  const double top = mags.empty() ? 0 : quantile(std::move(mags), q, single);
  const double scale = in_precision(1.0 / top, single);  // +inf for 0
  const double shift = std::floor(in_precision(std::log2(scale), single));
  return static_cast<int>(std::min<double>(std::max<double>(shift, -7 - bits), 23 - bits));
}

double quantize_weight(double w, int bits, int bit_shift, bool single) {
  const double factor = std::ldexp(1.0, bits - 1 + bit_shift);
  return clamp_bits(round_half_up(in_precision(factor * w, single), single), bits);
}

double quantize_bias(double b, int bits, int bit_shift, bool single) {
  const double scaled = in_precision(std::ldexp(in_precision(std::ldexp(b, bit_shift), single),
                                                bits - 1),
                                     single);
  // Stored times 2^(bits - 8) (the device's bias is 8-bit) and times 128 (the activation
  // scale); izer's loader divides by 2^(weight_bits - 1).
  return std::ldexp(clamp_bits(round_half_up(scaled, single), bits), bits - 8 + 7);
}

bool needs_quantization(const TorchCheckpoint& ckpt, const NetworkConfig& cfg) {
  const std::vector<std::string> keys = weight_keys(ckpt);
  const size_t n = std::min(keys.size(), cfg.layers.size());
  for (size_t k = 0; k < n; ++k)
    if (!ckpt.tensors.at(keys[k]).all_integral()) return true;
  return false;
}

TorchCheckpoint quantize_checkpoint(const TorchCheckpoint& ckpt, const std::string& file,
                                    const NetworkConfig& cfg, const QuantizeSettings& settings,
                                    QuantizeSummary* summary) {
  return Quantizer(ckpt, file, cfg, settings).run(summary);
}

std::string QuantizeSummary::describe(const std::string& file) const {
  std::map<int, int> widths;
  int lo = 0, hi = 0;
  for (size_t k = 0; k < layers.size(); ++k) {
    ++widths[layers[k].bits];
    lo = k ? std::min(lo, layers[k].output_shift) : layers[k].output_shift;
    hi = k ? std::max(hi, layers[k].output_shift) : layers[k].output_shift;
  }
  std::ostringstream s;
  s << file << " holds float weights (not quantized): quantized " << layers.size()
    << " layers as ai8x-synthesis's quantize.py does (";
  bool first = true;
  for (auto it = widths.rbegin(); it != widths.rend(); ++it, first = false)
    s << (first ? "" : ", ") << it->second << " at " << it->first << "-bit";
  s << "; output_shift " << lo;
  if (hi != lo) s << " to " << hi;
  s << ")";
  return s.str();
}

}  // namespace ai8xsim
