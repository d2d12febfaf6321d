#include "fuzz/targets.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "ai8xsim/ai8xsim.h"
#include "sim/model/checkpoint.h"
#include "sim/model/checks.h"
#include "sim/model/config_yaml.h"
#include "ai8xsim/cycles.h"
#include "sim/memory/biasmem.h"
#include "sim/io/c_source.h"
#include "sim/io/npy.h"
#include "sim/memory/kat.h"
#include "sim/memory/kernelmem.h"
#include "sim/io/torch_checkpoint.h"
#include "ai8xsim/network.h"

namespace ai8xsim::fuzz {

// conv2d 3x3 (1 -> 4 channels), conv2d 1x1 with 2x2 max pooling (4 -> 4), linear on the
// flattened 4x4x4 (64 -> 10).
const char* const kFixedNetworkYaml =
    "arch: fuzznet\n"
    "dataset: fuzz\n"
    "layers:\n"
    "  - processors: 0x1\n"
    "    in_dim: [8, 8]\n"
    "    out_offset: 0x2000\n"
    "    op: conv2d\n"
    "    kernel_size: 3x3\n"
    "    pad: 1\n"
    "    activate: ReLU\n"
    "  - processors: 0xf\n"
    "    out_offset: 0\n"
    "    op: conv2d\n"
    "    kernel_size: 1x1\n"
    "    pad: 0\n"
    "    max_pool: 2\n"
    "    pool_stride: 2\n"
    "    activate: ReLU\n"
    "  - processors: 0xf\n"
    "    out_offset: 0x2000\n"
    "    op: mlp\n"
    "    flatten: true\n"
    "    output_width: 32\n";

namespace {

// Runs `body`; an ai8xsim::Error other than Internal is a clean refusal of a bad input.
template <typename F>
void expected_errors_only(F&& body) {
  try {
    body();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Internal) throw;
  }
}

std::string bytes_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

const NetworkConfig& fixed_network() {
  static const NetworkConfig cfg =
      parse_network_config(kFixedNetworkYaml, "fixed.yaml", Device::MAX78002);
  return cfg;
}

// Resolve, check every device rule and, when the network passes, estimate its cycles: what
// `ai8xsim check` and the start of `ai8xsim run` do, without touching data. `memory`: also
// allocate kernel and bias memory (the targets leave it out: it is slow under the fuzzer's
// instrumentation and not the code they test).
void resolve_and_check(const NetworkConfig& cfg, const std::vector<LayerWeights>& weights,
                       const InputShape& input, Device device, bool memory) {
  ResolveOptions ro;
  ro.device = device;
  ro.enforce_limits = false;
  const Network net = resolve_network(cfg, weights, input, ro);
  if (find_violations(net, memory).empty()) estimate_network_cycles(net);
}

// The property the loaders' limits promise (README, "Errors"): whatever the input, no more
// tensor elements are decoded than the limits allow; beyond them is a finding.
void check_bound(const NdArrayMap& arrays, const LoadLimits& limits) {
  uint64_t elements = 0;
  for (const auto& [key, a] : arrays) elements += a.values.size();
  if (elements > limits.max_elements)
    throw std::logic_error("decoded " + std::to_string(elements) + " elements, beyond the " +
                           std::to_string(limits.max_elements) + " of the limits");
}

}  // namespace

void yaml_input(const uint8_t* data, size_t size) {
  expected_errors_only([&] {
    const Device device = Device::MAX78002;
    const NetworkConfig cfg = parse_network_config(bytes_of(data, size), "fuzz.yaml", device);
    // No weights: each layer as the checkpoint loader leaves a layer without a tensor.
    std::vector<LayerWeights> weights(cfg.layers.size());
    for (size_t i = 0; i < cfg.layers.size(); ++i) {
      const LayerConfig& lc = cfg.layers[i];
      weights[i].output_shift = lc.output_shift.value_or(0);
      weights[i].quantization =
          lc.quantization.value_or(lc.op == Operator::Passthrough || lc.bypass ? 0 : 8);
    }
    const LayerConfig& first = cfg.layers.front();
    int procs = 0;
    for (uint64_t p = first.processors; p; p &= p - 1) ++procs;
    InputShape s;
    s.c = first.in_channels ? *first.in_channels * first.operands
                            : std::min(procs, 63) * first.operands;
    s.h = first.in_dim ? (*first.in_dim)[0] : 8;
    s.w = first.in_dim ? (*first.in_dim)[1] : (first.op == Operator::Conv1d ? 1 : 8);
    resolve_and_check(cfg, weights, s, device, /*memory=*/false);
  });
}

void npy_input(const uint8_t* data, size_t size) {
  expected_errors_only([&] {
    const NdArray a = parse_npy(bytes_of(data, size), "file fuzz.npy", ErrorKind::Input);
    sample_to_tensor(a, "file fuzz.npy");
  });
}

void npz_input(const uint8_t* data, size_t size) {
  expected_errors_only([&] {
    const NetworkConfig& cfg = fixed_network();
    // The loader's limits for this network: fuzz_short.sh's malloc limit is their bound.
    const LoadLimits limits = weight_file_limits(cfg, Device::MAX78002);
    const NdArrayMap arrays =
        parse_npz(bytes_of(data, size), "fuzz.npz", ErrorKind::Checkpoint, limits,
                  [&](const std::string& key) { return npz_key_problem(key, cfg); });
    check_bound(arrays, limits);
    const std::vector<LayerWeights> w =
        weights_from_npz(arrays, "fuzz.npz", cfg, Device::MAX78002);
    resolve_and_check(cfg, w, InputShape{1, 8, 8}, Device::MAX78002, /*memory=*/false);
  });
}

void checkpoint_input(const uint8_t* data, size_t size) {
  expected_errors_only([&] {
    const NetworkConfig& cfg = fixed_network();
    const LoadLimits limits = weight_file_limits(cfg, Device::MAX78002);
    const TorchCheckpoint ckpt = parse_torch_checkpoint(bytes_of(data, size), "fuzz.pth.tar", limits);
    check_bound(ckpt.tensors, limits);
    const std::vector<LayerWeights> w =
        weights_from_checkpoint(ckpt, "fuzz.pth.tar", cfg, Device::MAX78002, {});
    resolve_and_check(cfg, w, InputShape{1, 8, 8}, Device::MAX78002, /*memory=*/false);
  });
}

void c_source_input(const uint8_t* data, size_t size) {
  const std::string text = bytes_of(data, size);
  expected_errors_only([&] {
    const CSource src = read_c_source(text, "fuzz.h");
    c_define_words(src);
    c_function_body(src, "load_input");
  });
  expected_errors_only([&] { parse_sample_output(text, "fuzz.h"); });
  expected_errors_only([&] { parse_load_input(text, "fuzz.c"); });
  for (Device d : {Device::MAX78000, Device::MAX78002}) {
    expected_errors_only([&] { kernel_memory_from_weights_h(text, true, d); });
    expected_errors_only([&] { kernel_memory_from_weights_h(text, false, d); });
    expected_errors_only([&] { bias_memory_from_c(text, text, d); });
  }
}

}  // namespace ai8xsim::fuzz
