// Kernel and bias memory: izer's placement reproduced byte for byte (the parity corpus's
// weights.h / cnn.c loaders), and the capacity limits pinned on both sides with small networks.
#include <doctest/doctest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ai8xsim/error.h"
#include "sim/memory/biasmem.h"
#include "sim/model/checkpoint.h"
#include "ai8xsim/device.h"
#include "ai8xsim/files.h"
#include "sim/io/npy.h"
#include "sim/model/bits.h"
#include "sim/memory/kernelmem.h"
#include "ai8xsim/network.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using namespace ai8xsim::testing;

namespace {

// ---- small networks ---------------------------------------------------------------------------

const char* kHeader = "arch: test\ndataset: test\nlayers:\n";

NetworkConfig parse_yaml(const std::string& text, Device dev) {
  char path[] = "/tmp/ai8xsim_kmem_XXXXXX.yaml";
  const int fd = mkstemps(path, 5);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << text;
  NetworkConfig cfg = load_network_config(path, dev);
  std::remove(path);
  return cfg;
}

// `rows` kernels of kh x kw with values from a simple counter (distinct bytes).
// `seed` makes layers differ (izer shares identical kernels and biases between layers).
LayerWeights conv(int rows, int kh, int kw, int quant = 8, bool bias = false, int out = 0,
                  int seed = 0) {
  LayerWeights w;
  w.has_weights = true;
  w.weight_shape = {rows, kh, kw};
  const int lim = quant == 8 ? 127 : (1 << (quant - 1)) - 1;
  const int lo = quant == 8 ? -128 : -(1 << (quant - 1));
  for (int i = 0; i < rows * kh * kw; ++i)
    w.weights.push_back(static_cast<int8_t>(lo + (i * 7 + 3 + seed) % (lim - lo + 1)));
  w.quantization = quant;
  if (bias) {
    w.has_bias = true;
    for (int i = 0; i < out; ++i) {
      const int v = (i + seed) % 250 - 120;
      w.bias.push_back(v == 0 ? 1 : v);
    }
  }
  return w;
}

Network resolve(const std::string& layers_yaml, const std::vector<LayerWeights>& w,
                InputShape in, Device dev = Device::MAX78000) {
  const NetworkConfig cfg = parse_yaml(std::string(kHeader) + layers_yaml, dev);
  ResolveOptions ro;
  ro.device = dev;
  ro.enforce_limits = false;
  return resolve_network(cfg, w, in, ro);
}

std::string hexmap(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%016llx", static_cast<unsigned long long>(v));
  return b;
}

// A layer of `n` 3x3 8-bit kernels per processor on processor 0 (one input channel, n output
// channels): n rows on processor 0.
std::string one_proc_layer(int out_ch, uint64_t out_map, const std::string& extra = "") {
  return "  - processors: 0x1\n    output_processors: " + hexmap(out_map) +
         "\n    out_offset: 0x2000\n    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n" +
         "    out_channels: " + std::to_string(out_ch) + "\n" + extra;
}

uint64_t low_bits(int n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

bool has_rule(const std::vector<Violation>& v, const std::string& rule) {
  return std::any_of(v.begin(), v.end(), [&](const Violation& x) { return x.rule == rule; });
}

}  // namespace

// ---- packing --------------------------------------------------------------------------------

TEST_CASE("kernel memory: one 3x3 8-bit kernel per row, bytes in izer's order") {
  // 1 input channel on processor 0, 4 output channels: 4 rows on processor 0 from row 0.
  const Network net = resolve(one_proc_layer(4, 0xf), {conv(4, 3, 3)}, {1, 4, 4});
  const KernelLayout k = allocate_kernels(net);
  REQUIRE(k.violations.empty());
  REQUIRE(k.layers.size() == 1);
  CHECK(k.layers[0].first_row == 0);
  CHECK(k.layers[0].rows == 4);
  CHECK(k.memory.rows_written() == 4);
  const auto& w = net.layers[0].weights;
  for (int o = 0; o < 4; ++o) {
    CHECK(k.memory.is_written(0, o));
    // The loader's byte 0 is the kernel's first weight (izer fills rows from the end, in
    // reverse kernel order).
    for (int i = 0; i < 9; ++i)
      CHECK(k.memory.row(0, o)[static_cast<size_t>(i)] == static_cast<uint8_t>(w[static_cast<size_t>(o * 9 + i)]));
  }
}

TEST_CASE("kernel memory: 1x1 kernels pack nine output channels per row") {
  const std::string y = "  - processors: 0x1\n    output_processors: 0x3fff\n    out_offset: 0x2000\n"
                        "    op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    out_channels: 14\n";
  const Network net = resolve(y, {conv(14, 1, 1)}, {1, 4, 4});
  const KernelLayout k = allocate_kernels(net);
  REQUIRE(k.violations.empty());
  CHECK(k.layers[0].rows == 2);  // ceil(14 / 9)
  const auto& w = net.layers[0].weights;
  // Row 0 holds channels 0..8 (channel 0 in the last byte), row 1 channels 9..13.
  for (int o = 0; o < 9; ++o) CHECK(k.memory.row(0, 0)[static_cast<size_t>(8 - o)] == static_cast<uint8_t>(w[static_cast<size_t>(o)]));
  for (int o = 9; o < 14; ++o) CHECK(k.memory.row(0, 1)[static_cast<size_t>(17 - o)] == static_cast<uint8_t>(w[static_cast<size_t>(o)]));
  for (int b = 0; b < 4; ++b) CHECK(k.memory.row(0, 1)[static_cast<size_t>(b)] == 0);
}

TEST_CASE("kernel memory: 2-bit kernels pack four output channels per byte") {
  // 8 output channels of 2-bit 3x3 kernels: each byte holds 4 channels' weights (channel n in
  // bits 2n..2n+1), one row per 4 channels: 2 rows.
  const std::string y = "  - processors: 0x1\n    output_processors: 0xff\n    out_offset: 0x2000\n"
                        "    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    quantization: 2\n";
  const Network net = resolve(y, {conv(8, 3, 3, 2)}, {1, 4, 4});
  const KernelLayout k = allocate_kernels(net);
  REQUIRE(k.violations.empty());
  CHECK(k.layers[0].rows == 2);
  const auto& w = net.layers[0].weights;
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 9; ++i) {
      int byte = 0;
      for (int n = 0; n < 4; ++n) byte |= (w[static_cast<size_t>((r * 4 + n) * 9 + i)] & 3) << (2 * n);
      CHECK(k.memory.row(0, r)[static_cast<size_t>(i)] == byte);
    }
}

TEST_CASE("kernel memory: a gap in the output processors leaves a row unwritten") {
  // Output processors 0, 1, 3: channel 2 goes to processor 3, its kernel one row further.
  const Network net = resolve(one_proc_layer(3, 0xb), {conv(3, 3, 3)}, {1, 4, 4});
  const KernelLayout k = allocate_kernels(net);
  REQUIRE(k.violations.empty());
  CHECK(k.layers[0].rows == 4);
  CHECK(k.memory.is_written(0, 0));
  CHECK(k.memory.is_written(0, 1));
  CHECK_FALSE(k.memory.is_written(0, 2));
  CHECK(k.memory.is_written(0, 3));
}

TEST_CASE("kernel memory: the next layer starts at the next multiple of 4 rows") {
  const std::string y = one_proc_layer(5, 0x1f) +
                        "  - processors: 0x1f\n    output_processors: 0x1\n    out_offset: 0\n"
                        "    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    out_channels: 1\n"
                        "  - processors: 0x1\n    output_processors: 0x1\n    out_offset: 0x2000\n"
                        "    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    out_channels: 1\n";
  const Network net = resolve(y, {conv(5, 3, 3), conv(5, 3, 3), conv(1, 3, 3)}, {1, 4, 4});
  const KernelLayout k = allocate_kernels(net);
  REQUIRE(k.violations.empty());
  CHECK(k.find(0)->first_row == 0);
  CHECK(k.find(0)->rows == 5);
  CHECK(k.find(1)->first_row == 8);  // processor 0 is used up to row 4 -> next free multiple of 4
  CHECK(k.find(2)->first_row == 12);
}

TEST_CASE("kernel memory: identical kernels on the same processors are stored once") {
  const std::string y = one_proc_layer(4, 0xf) +
                        "  - processors: 0xf\n    output_processors: 0x1\n    out_offset: 0\n"
                        "    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    out_channels: 1\n"
                        "  - processors: 0x1\n    in_sequences: [-1]\n    in_offset: 0\n"
                        "    output_processors: 0xf\n    out_offset: 0x2000\n"
                        "    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    out_channels: 4\n";
  const Network net = resolve(y, {conv(4, 3, 3), conv(4, 3, 3, 8, false, 0, 1), conv(4, 3, 3)},
                              {1, 4, 4});
  const KernelLayout k = allocate_kernels(net);
  REQUIRE(k.violations.empty());
  REQUIRE(k.find(2) != nullptr);
  CHECK(k.find(2)->source == 0);
  CHECK(k.find(2)->first_row == k.find(0)->first_row);
  CHECK(k.find(1)->first_row == 4);
  CHECK(k.memory.rows_written() == 4 + 4);  // layer 0 (4 rows on processor 0), layer 1 (1 row x 4)
}

TEST_CASE("kernel and bias memory: an output map starting at processor 1") {
  // Output processors 1 and 2: the kernel rows start one row in (processor 0's slot is
  // skipped), the bias block starts with one zero byte.
  const std::string y = "  - processors: 0x1\n    output_processors: 0x6\n    out_offset: 0x2000\n"
                        "    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    out_channels: 2\n";
  const Network net = resolve(y, {conv(2, 3, 3, 8, true, 2)}, {1, 4, 4});
  const KernelLayout k = allocate_kernels(net);
  REQUIRE(k.violations.empty());
  CHECK(k.layers[0].rows == 2);
  CHECK(k.layers[0].rows_used == 3);
  CHECK(k.layers[0].count == 3);
  CHECK_FALSE(k.memory.is_written(0, 0));
  CHECK(k.memory.is_written(0, 1));
  CHECK(k.memory.is_written(0, 2));
  const BiasLayout b = allocate_bias(net, nullptr);
  REQUIRE(b.violations.empty());
  REQUIRE(b.layers.size() == 1);
  CHECK(b.layers[0].group == 0);
  CHECK(b.layers[0].bytes() == 3);
  const auto& bias = net.layers[0].bias;
  CHECK(b.memory.bytes[0] ==
        std::vector<uint8_t>{0, static_cast<uint8_t>(bias[0]), static_cast<uint8_t>(bias[1])});
}

TEST_CASE("bias memory: largest blocks first, each in the emptiest allowed group") {
  // Three layers on group 0 only: 10, 30, 20 channels. With one group allowed, izer keeps
  // the layer order.
  std::string yaml;
  std::vector<LayerWeights> w;
  const int outs[] = {10, 30, 20};
  for (int i = 0; i < 3; ++i) {
    yaml += "  - processors: 0x1\n    in_sequences: [-1]\n    in_offset: 0\n"
            "    output_processors: " + hexmap(low_bits(outs[i])) +
            "\n    out_offset: 0x2000\n    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n"
            "    out_channels: " + std::to_string(outs[i]) + "\n";
    w.push_back(conv(outs[i], 3, 3, 8, true, outs[i], i));
  }
  yaml += "    output_processors: 0xffff\n";  // keep the final output in group 0
  yaml.replace(yaml.rfind("    output_processors: " + hexmap(low_bits(20))), 42, "");
  const Network net = resolve(yaml, w, {1, 4, 4});
  const BiasLayout b = allocate_bias(net, nullptr);
  REQUIRE(b.violations.empty());
  CHECK(b.find(0)->offset() == 0);
  CHECK(b.find(1)->offset() == 10);
  CHECK(b.find(2)->offset() == 40);
  CHECK(b.memory.used(0) == 60);
  // With the final output spread over all groups, every group may take a block: the largest
  // first, each to the emptiest group (the first of equals).
  std::string spread = yaml;
  spread.replace(spread.rfind("0xffff"), 6, "0xffffffffffffffff");
  std::vector<LayerWeights> w2 = w;
  w2[2] = conv(64, 3, 3, 8, true, 64, 2);
  spread.replace(spread.rfind("out_channels: 20"), 16, "out_channels: 64");
  const Network net2 = resolve(spread, w2, {1, 4, 4});
  const BiasLayout b2 = allocate_bias(net2, nullptr);
  REQUIRE(b2.violations.empty());
  CHECK(b2.find(2)->group == 0);  // 64 bytes, first
  CHECK(b2.find(1)->group == 1);  // 30 bytes, the emptiest group (first of the empty ones)
  CHECK(b2.find(0)->group == 2);
}

TEST_CASE("bias memory: depthwise layers, per processor, from processor 0 of the layout") {
  // MAX78002, 6 depthwise channels on processors 22..27, output on the same processors
  // (broadcast): izer lays the bytes out from processor 0 (it clears the low 16 bits of the
  // start processor), 16 per group, processor p's byte at (p % 4) * 4 + (p % 16) / 4; group 0
  // gets 16 zero bytes, group 1's trailing empty slot is dropped.
  const std::string y = "  - processors: 0x000000000fc00000\n    output_processors: 0x000000000fc00000\n"
                        "    out_offset: 0x2000\n    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n"
                        "    groups: 6\n    out_channels: 6\n";
  const Network net = resolve(y, {conv(6, 3, 3, 8, true, 6)}, {6, 4, 4}, Device::MAX78002);
  const BiasLayout b = allocate_bias(net, nullptr);
  REQUIRE(b.violations.empty());
  REQUIRE(b.layers.size() == 1);
  CHECK(b.layers[0].group == -1);
  CHECK(b.layers[0].offsets == std::vector<int>{0, 0, -1, -1});
  CHECK(b.layers[0].lengths == std::vector<int>{16, 15, 0, 0});
  CHECK(b.memory.bytes[0] == std::vector<uint8_t>(16, 0));
  const auto& bias = net.layers[0].bias;
  std::vector<uint8_t> g1(15, 0);
  for (int c = 0; c < 6; ++c) {
    const int p = 22 + c;
    g1[static_cast<size_t>((p % 4) * 4 + (p % 16) / 4)] = static_cast<uint8_t>(bias[static_cast<size_t>(c)]);
  }
  CHECK(b.memory.bytes[1] == g1);
}

// ---- the parity corpus ----------------------------------------------------------------------

namespace {



}  // namespace

TEST_CASE("corpus: kernel and bias memory equal izer's loaders for every ok case") {
  AI8XSIM_REQUIRE_CORPUS();
  const std::vector<std::string> names = corpus_cases();
  int cases = 0, kernel_ok = 0, bias_ok = 0;
  int64_t rows = 0, kernel_bytes = 0, bias_bytes = 0;
  std::vector<std::string> bad;
  std::map<std::string, int> features;
  for (const std::string& name : names) {
    const std::string dir = corpus_case_dir(name);
    std::ifstream mf(dir + "/meta.json");
    if (!mf) continue;
    const nlohmann::json meta = nlohmann::json::parse(mf);
    if (meta["status"] != "ok" || meta["weights"].is_null()) continue;
    CAPTURE(name);
    ++cases;
    const Device dev = parse_device(meta["device"].get<std::string>());
    const nlohmann::json& cmd = meta["izer_command"];
    const NetworkConfig cfg = load_network_config(dir + "/" + meta["config"].get<std::string>(), dev);
    const auto weights = load_weights_npz(dir + "/" + meta["weights"].get<std::string>(), cfg, dev);
    const std::string sample =
        dir + "/" + (meta["sample_input"].is_null() ? std::string("input.npy")
                                                    : meta["sample_input"].get<std::string>());
    const NdArray in = read_npy(sample);
    InputShape shape;
    shape.c = static_cast<int>(in.shape.at(0));
    shape.h = in.shape.size() > 1 ? static_cast<int>(in.shape[1]) : 1;
    shape.w = in.shape.size() > 2 ? static_cast<int>(in.shape[2]) : 1;
    ResolveOptions ro;
    ro.device = dev;
    ro.avg_pool_rounding = has_flag(cmd, "--avg-pool-rounding");
    ro.fifo = has_flag(cmd, "--fifo");
    ro.fast_fifo = has_flag(cmd, "--fast-fifo");
    ro.overlap_data = has_flag(cmd, "--overlap-data");
    ro.enforce_limits = false;
    const Network net = resolve_network(cfg, weights, shape, ro);

    const std::string weights_h = gunzip_file(dir + "/generated/weights.h.gz");
    const std::string cnn_c = gunzip_file(dir + "/generated/cnn.c.gz");
    const bool express = cnn_c.find("// Set address") != std::string::npos;

    const KernelLayout k = allocate_kernels(net);
    const KernelMemory want_k = kernel_memory_from_weights_h(weights_h, express, dev);
    CHECK(k.violations.empty());
    // With --zero-sram izer's loader skips the rows that are all zero (kernels.py): the
    // memory holds the same; compare with those rows left unwritten.
    KernelMemory ours = k.memory;
    if (has_flag(cmd, "--zero-sram"))
      for (int p = 0; p < ours.processors(); ++p)
        for (int r = 0; r < ours.width(p); ++r)
          if (ours.is_written(p, r) && ours.row(p, r) == KernelRow{})
            ours.written[static_cast<size_t>(p)][static_cast<size_t>(r)] = 0;
    const bool kmatch = k.violations.empty() && ours == want_k;
    CHECK(kmatch);
    if (kmatch) ++kernel_ok;
    rows += want_k.rows_written();
    kernel_bytes += want_k.rows_written() * 9;

    const BiasLayout b = allocate_bias(net, nullptr);
    const BiasMemory want_b = bias_memory_from_c(cnn_c, weights_h, dev);
    CHECK(b.violations.empty());
    const bool bmatch = b.violations.empty() && b.memory == want_b;
    CHECK(bmatch);
    if (bmatch) ++bias_ok;
    bias_bytes += want_b.bytes_used();
    // Which of izer's placement features the case exercises.
    auto any_layer = [&](auto pred) {
      for (const KernelAllocation& a : k.layers)
        if (pred(a, net.layers[static_cast<size_t>(a.layer)])) return true;
      return false;
    };
    features["from the top (87 large memories)"] += any_layer([](const KernelAllocation& a, const Layer&) { return a.from_top; });
    features["calcx4"] += any_layer([](const KernelAllocation& a, const Layer&) { return a.calcx4; });
    features["shared (deduplicated) kernels"] += any_layer([](const KernelAllocation& a, const Layer&) { return a.source >= 0; });
    features["flatten"] += any_layer([](const KernelAllocation&, const Layer& L) { return L.flatten; });
    features["depthwise"] += any_layer([](const KernelAllocation&, const Layer& L) { return L.groups > 1; });
    features["1/2/4-bit or binary"] += any_layer([](const KernelAllocation&, const Layer& L) { return L.quantization != 8; });
    features["1x1 kernels"] += any_layer([](const KernelAllocation&, const Layer& L) { return L.kernel[0] * L.kernel[1] == 1; });
    features["dilated Conv1d"] += any_layer([](const KernelAllocation&, const Layer& L) { return L.one_d() && L.dilation[0] > 1; });
    features["multi-pass input"] += any_layer([](const KernelAllocation&, const Layer& L) { return L.in_channels > 64; });
    features["multi-pass output"] += any_layer([](const KernelAllocation&, const Layer& L) { return L.out_channels > 64; });
    features["unaligned first output processor"] += any_layer([](const KernelAllocation&, const Layer& L) { return (L.output_processors & 0xf) != 0 && (L.output_processors & 1) == 0; });
    bool dw_bias = false, grouped_bias = false;
    for (const BiasAllocation& a : b.layers) {
      dw_bias |= a.group < 0;
      grouped_bias |= net.layers[static_cast<size_t>(a.layer)].bias_group.has_value();
    }
    features["depthwise bias"] += dw_bias;
    features["bias_group"] += grouped_bias;
    if (!kmatch || !bmatch) bad.push_back(name + (kmatch ? "" : " kernels") + (bmatch ? "" : " bias"));
  }
  for (const auto& n : bad) MESSAGE("mismatch: " << n);
  for (const auto& [f, n] : features) MESSAGE("cases with " << f << ": " << n);
  MESSAGE(cases << " ok cases: kernel memory equal in " << kernel_ok << " (" << rows << " rows, "
                << kernel_bytes << " bytes), bias memory equal in " << bias_ok << " ("
                << bias_bytes << " bytes)");
  CHECK(cases > 0);
}

// ---- limits ---------------------------------------------------------------------------------

namespace {

// One layer reading the network input (1 channel on processor 1, a small kernel memory on
// both devices) and writing `out` channels to the first processors: 3x3 8-bit kernels take
// out_expand x (output processors per pass) rows on processor 1.
std::string input_layer(int out, const std::string& extra = "") {
  const int passes = (out + 63) / 64;
  int per = (out + passes - 1) / passes;
  if (out > 64) per = std::min((per + 3) & ~3, 64);
  return "  - processors: 0x2\n    output_processors: " + hexmap(low_bits(per)) +
         "\n    in_sequences: [-1]\n    in_offset: 0\n    out_offset: 0x2000\n"
         "    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    out_channels: " +
         std::to_string(out) + "\n" + extra;
}

// Layers of `outs` output channels each (see input_layer); bias on every layer when `bias`.
Network input_layers(const std::vector<int>& outs, Device dev, bool bias = false,
                     const std::string& extra = "") {
  std::string yaml;
  std::vector<LayerWeights> w;
  for (int out : outs) {
    yaml += input_layer(out, extra);
    w.push_back(conv(out, 3, 3, 8, bias, out, static_cast<int>(w.size())));
  }
  return resolve(yaml, w, {1, 4, 4}, dev);
}

}  // namespace

TEST_CASE("limit: kernel rows per processor: exactly full fits, one row more fails") {
  for (Device dev : {Device::MAX78000, Device::MAX78002}) {
    const DeviceSpec& spec = device_spec(dev);
    const std::string part = spec.partnum;
    CAPTURE(part);
    const int width = spec.mask_width(1);
    // Layers of 1024 rows (16 passes x 64) and one of 64 x n rows fill processor 1 up to a
    // multiple of 64, minus 64; then 2 rows, then the last layer starts at the next multiple
    // of 4 (width - 60): 60 rows fill the memory exactly, 61 are one row too many.
    std::vector<int> outs;
    int used = 0;
    while (used + 1024 <= width - 64) outs.push_back(1024), used += 1024;
    if (width - 64 - used > 0) outs.push_back(width - 64 - used), used = width - 64;
    outs.push_back(2);
    const int last_start = width - 60;
    for (int extra : {0, 1}) {
      CAPTURE(extra);
      std::vector<int> o = outs;
      o.push_back(60 + extra);
      const Network net = input_layers(o, dev);
      const KernelLayout k = allocate_kernels(net);
      const int last = static_cast<int>(o.size()) - 1;
      if (extra == 0) {
        REQUIRE(k.violations.empty());
        CHECK(k.find(last)->first_row == last_start);
        CHECK(k.find(last)->first_row + k.find(last)->rows == width);
        CHECK(k.memory.is_written(1, width - 1));
        CHECK(memory_violations(net).empty());
      } else {
        REQUIRE(k.violations.size() == 1);
        const Violation& v = k.violations[0];
        CHECK(v.rule == "kernel-memory");
        CHECK(v.resource == "kernel memory rows");
        CHECK(v.layer == last);
        CHECK(v.needed == width + 1);
        CHECK(v.available == width);
        CHECK(v.message.find("kernel memory exhausted at processor 1; offset: " +
                             std::to_string(last_start)) != std::string::npos);
        CHECK(v.message.find("needed: 61") != std::string::npos);
        CHECK(v.message.find("1 too many") != std::string::npos);
        const auto all = memory_violations(net);
        REQUIRE(all.size() == 1);
        CHECK(all[0].rule == "kernel-memory");
        // The layers placed before it keep their rows (the memory map draws them), the one
        // that ran out is the overflow: from its start row to one row past the end.
        CHECK(k.find(last) == nullptr);
        CHECK(k.memory.is_written(1, 0));
        CHECK(k.memory.is_written(1, width - 63));  // the 2-row layer's last row
        CHECK_FALSE(k.memory.is_written(1, last_start));
        CHECK(k.overflow.layer == last);
        CHECK(k.overflow.first_row == last_start);
        CHECK(k.overflow.first_row + k.overflow.rows == width + 1);
        CHECK((k.overflow.processors >> 1 & 1) == 1);
      }
      if (extra == 0) CHECK(k.overflow.layer == -1);
    }
  }
}

TEST_CASE("limit: MAX78002 processor 0 has 5120 rows, filled from the top") {
  // Processor 0 alone (a large memory): izer places kernels at the top first.
  const std::string y = "  - processors: 0x1\n    output_processors: 0xf\n    out_offset: 0x2000\n"
                        "    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    out_channels: 4\n";
  const Network net = resolve(y, {conv(4, 3, 3)}, {1, 4, 4}, Device::MAX78002);
  const KernelLayout k = allocate_kernels(net);
  REQUIRE(k.violations.empty());
  CHECK(k.layers[0].from_top);
  CHECK(k.layers[0].first_row == 5120 - 4);
  CHECK(k.memory.is_written(0, 5119));
  CHECK_FALSE(k.memory.is_written(0, 0));
}

TEST_CASE("limit: bias bytes per group: exactly full fits, one byte more fails") {
  for (Device dev : {Device::MAX78000, Device::MAX78002}) {
    const DeviceSpec& spec = device_spec(dev);
    const std::string part = spec.partnum;
    CAPTURE(part);
    // Layers with bias_group 0: 1024-channel layers, then the rest, fill group 0 exactly.
    std::vector<int> outs;
    int used = 0;
    while (used < spec.bias_size) {
      const int n = std::min(1024, spec.bias_size - used);
      outs.push_back(n);
      used += n;
    }
    for (int extra : {0, 1}) {
      CAPTURE(extra);
      std::vector<int> o = outs;
      if (extra) o.push_back(1);
      const Network net = input_layers(o, dev, true, "    bias_group: 0\n");
      const BiasGroupMap groups(o.size(), std::vector<int>{0});
      const BiasLayout b = allocate_bias(net, &groups);
      if (!extra) {
        REQUIRE(b.violations.empty());
        CHECK(b.memory.used(0) == spec.bias_size);
        CHECK(b.memory.used(1) == 0);
        for (const BiasAllocation& a : b.layers) CHECK(a.group == 0);
        CHECK(b.find(static_cast<int>(o.size()) - 1)->offset() == spec.bias_size - o.back());
      } else {
        REQUIRE(b.violations.size() == 1);
        const Violation& v = b.violations[0];
        CHECK(v.rule == "bias-memory");
        CHECK(v.resource == "bias memory bytes");
        CHECK(v.layer == static_cast<int>(o.size()) - 1);
        CHECK(v.needed == spec.bias_size + 1);
        CHECK(v.available == spec.bias_size);
        CHECK(v.message.find("bias memory capacity exhausted - available groups: [0]") !=
              std::string::npos);
        CHECK(v.message.find("needed: 1 bytes") != std::string::npos);
        CHECK(v.message.find("1 bytes short") != std::string::npos);
      }
    }
  }
}

TEST_CASE("limit: a single layer's bias larger than a group") {
  // No bias_group: the layer may use any group, but one group must hold all its bytes.
  const DeviceSpec& spec = device_spec(Device::MAX78000);
  for (int extra : {0, 1}) {
    const Network net = input_layers({spec.bias_size + extra}, Device::MAX78000, true);
    const BiasLayout b = allocate_bias(net, nullptr);
    if (!extra) {
      CHECK(b.violations.empty());
    } else {
      REQUIRE(b.violations.size() == 1);
      CHECK(b.violations[0].needed == spec.bias_size + 1);
      CHECK(has_rule(memory_violations(net), "bias-memory"));
    }
  }
}

TEST_CASE("limit: depthwise bias bytes per group (MAX78002)") {
  // Depthwise layers of 1024 channels on all 64 processors (broadcast) take 256 bytes in each
  // group: 8 layers fill 2048 bytes exactly, a 9th fails in group 0.
  const DeviceSpec& spec = device_spec(Device::MAX78002);
  for (int extra : {0, 1}) {
    CAPTURE(extra);
    const int n = spec.bias_size / 256 + extra;
    std::string yaml;
    std::vector<LayerWeights> w;
    for (int i = 0; i < n; ++i) {
      yaml += "  - processors: 0xffffffffffffffff\n    output_processors: 0xffffffffffffffff\n"
              "    in_sequences: [-1]\n    in_offset: 0\n    out_offset: 0x2000\n"
              "    op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    groups: 1024\n"
              "    out_channels: 1024\n";
      w.push_back(conv(1024, 3, 3, 8, true, 1024, i));
    }
    const Network net = resolve(yaml, w, {1024, 2, 2}, Device::MAX78002);
    const BiasLayout b = allocate_bias(net, nullptr);
    if (!extra) {
      REQUIRE(b.violations.empty());
      for (int g = 0; g < 4; ++g) CHECK(b.memory.used(g) == spec.bias_size);
      CHECK(b.layers[0].group == -1);
      CHECK(b.layers[0].lengths == std::vector<int>{256, 256, 256, 256});
    } else {
      REQUIRE(b.violations.size() == 1);
      const Violation& v = b.violations[0];
      CHECK(v.rule == "bias-memory");
      CHECK(v.layer == n - 1);
      CHECK(v.available == spec.bias_size);
      CHECK(v.needed == spec.bias_size + 256);
      CHECK(v.message.find("bias memory capacity for group 0 exhausted, used so far: 2048") !=
            std::string::npos);
    }
  }
}

TEST_CASE("limit: bias count must equal the output channels") {
  LayerWeights w = conv(4, 3, 3, 8, true, 4);
  w.bias.pop_back();
  Network net = resolve(one_proc_layer(4, 0xf), {conv(4, 3, 3)}, {1, 4, 4});
  net.layers[0].bias = w.bias;  // 3 values for 4 channels
  const BiasLayout b = allocate_bias(net, nullptr);
  REQUIRE(b.violations.size() == 1);
  CHECK(b.violations[0].rule == "bias-count");
}

TEST_CASE("image equality notices a single byte and a single row") {
  KernelMemory a(Device::MAX78000), b(Device::MAX78000);
  KernelRow r{};
  r[3] = 7;
  a.write(5, 10, r);
  CHECK(a != b);
  b.write(5, 10, r);
  CHECK(a == b);
  r[3] = 8;
  b.write(5, 10, r);
  CHECK(a != b);
  CHECK(a.address(17, 2) == 0x50400000u + 0x100000u + 0x80000u + 1u * 1024u * 16u + 2u * 16u);
  // The express loader's encoding: processor base | row * 4.
  const std::string h = "#define KERNELS { \\\n  0x50584008, 0x00000003, 0x01020304, 0x05060708, "
                        "0x09000000, 0x00000000 \\\n}\n";
  const KernelMemory m = kernel_memory_from_weights_h(h, true, Device::MAX78000);
  CHECK(m.rows_written() == 1);
  REQUIRE(m.is_written(17, 2));
  CHECK(m.row(17, 2) == KernelRow{1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("mask bits: lowest, highest and count of set bits, as izer's ffs/fls/popcount") {
  CHECK(ffs64(0) == -1);
  CHECK(fls64(0) == -1);
  CHECK(popcount64(0) == 0);
  for (int i = 0; i < 64; ++i)
    for (int j = i; j < 64; ++j) {
      const uint64_t v = (uint64_t{1} << i) | (uint64_t{1} << j);
      CHECK(ffs64(v) == i);
      CHECK(fls64(v) == j);
      CHECK(popcount64(v) == (i == j ? 1 : 2));
    }
  CHECK(popcount64(~uint64_t{0}) == 64);
}
