// The data memory: izer's overlap check (sim/memory/overlap.h) and the data memory capacity limit,
// each pinned on both sides, and the memory-fed run (sim/memory/datamem.h MemoryRun).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "ai8xsim/error.h"
#include "sim/model/checkpoint.h"
#include "sim/model/checks.h"
#include "sim/memory/datamem.h"
#include "ai8xsim/device.h"
#include "sim/engine/engine.h"
#include "ai8xsim/network.h"
#include "sim/memory/overlap.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using namespace ai8xsim::testing;

namespace {


LayerWeights conv(int kernels, int k) { return filled_weights({kernels, k, k}); }

std::string hex(int v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%x", v);
  return b;
}

ResolveOptions options(bool overlap_data, bool fifo = false, Device dev = Device::MAX78000) {
  ResolveOptions o;
  o.device = dev;
  o.overlap_data = overlap_data;
  o.fifo = fifo;
  return o;
}

// Rules broken, by id, of a network resolved without refusing.
std::vector<std::string> rules(const NetworkConfig& cfg, const std::vector<LayerWeights>& w,
                               const InputShape& in, ResolveOptions o) {
  o.enforce_limits = false;
  std::vector<std::string> out;
  for (const Violation& v : find_violations(resolve_network(cfg, w, in, o))) out.push_back(v.rule);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& rule) {
  return std::find(v.begin(), v.end(), rule) != v.end();
}

// Two 1x1 passthrough-free convolutions on one channel of 4x4 pixels: layer 0 writes 16 words
// at 0x1000 (processor 0), layer 1 reads them there and writes its output at `out1`.
NetworkConfig two_layers(int out1) {
  return yaml_config(
      "  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0x1\n"
      "    out_offset: 0x1000\n"
      "  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0x1\n"
      "    out_offset: " + hex(out1) + "\n");
}

const std::vector<LayerWeights> kTwoConvs = {conv(1, 1), conv(1, 1)};
const InputShape kIn{1, 4, 4};

}  // namespace

TEST_CASE("overlap: layer 1's output just past its input fits, one word lower does not") {
  // Layer 1's input: 16 words at 0x1000 .. 0x103c (layer 0's output).
  const int end_of_input = 0x1000 + 16 * 4;
  CHECK_NOTHROW(resolve_network(two_layers(end_of_input), kTwoConvs, kIn, options(false)));
  REQUIRE_THROWS_WITH_AS(resolve_network(two_layers(end_of_input - 4), kTwoConvs, kIn,
                                         options(false)),
                         doctest::Contains("layer 1: output for CHW=0,0,0"), Error);
  // Ending just below the input: the same on the other side.
  const int below = 0x1000 - 16 * 4;
  CHECK_NOTHROW(resolve_network(two_layers(below), kTwoConvs, kIn, options(false)));
  CHECK(has(rules(two_layers(below + 4), kTwoConvs, kIn, options(false)), "data-overlap"));
  // --overlap-data: izer does not check.
  CHECK_NOTHROW(resolve_network(two_layers(end_of_input - 4), kTwoConvs, kIn, options(true)));
  CHECK_NOTHROW(resolve_network(two_layers(0x1000), kTwoConvs, kIn, options(true)));
}

TEST_CASE("overlap: the violation names layer, processor, address, pixel and the writer") {
  const NetworkConfig cfg = two_layers(0x1000 + 15 * 4);  // only pixel (0, 0) collides
  ResolveOptions o = options(false);
  o.enforce_limits = false;
  const Network net = resolve_network(cfg, kTwoConvs, kIn, o);
  const std::vector<Violation> v = overlap_violations(net);
  REQUIRE(v.size() == 1);
  CHECK(v[0].layer == 1);
  CHECK(v[0].rule == "data-overlap");
  CHECK(v[0].needed == 1);  // one word
  const uint32_t addr = DataMemory::processor_address(device_spec(Device::MAX78000), 0,
                                                      0x1000 + 15 * 4);
  char a[16];
  std::snprintf(a, sizeof a, "0x%08x", addr);
  CHECK_MESSAGE(v[0].message.find(a) != std::string::npos, v[0].message);
  for (const char* part : {"processor 0", "CHW=0,0,0", "written by layer 0 (CHW=0,3,3)",
                           "this layer's input", "--overlap-data allows it, as in izer"})
    CHECK_MESSAGE(v[0].message.find(part) != std::string::npos, part, " in ", v[0].message);
}

TEST_CASE("overlap: the first layer must not overwrite the loaded input, except with --fifo") {
  // One conv on a 1x4x4 input at in_offset 0: output at 0x40 is just past the input.
  auto one = [](int out) {
    return yaml_config("  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0x1\n"
                       "    out_offset: " + hex(out) + "\n");
  };
  CHECK_NOTHROW(resolve_network(one(0x40), {conv(1, 1)}, kIn, options(false)));
  REQUIRE_THROWS_WITH_AS(resolve_network(one(0x3c), {conv(1, 1)}, kIn, options(false)),
                         doctest::Contains("written by the input loader"), Error);
  // With --fifo the loader writes no data memory: nothing to protect.
  CHECK_NOTHROW(resolve_network(one(0), {conv(1, 1)}, kIn, options(false, true)));
}

TEST_CASE("overlap: an `output: true` layer's data is protected from every later layer") {
  // Layer 0 (output: true) at 0x1000, layer 1 at 0x2000, layer 2 back at 0x1000.
  auto three = [](bool output) {
    return yaml_config(
        std::string("  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0x1\n"
                    "    out_offset: 0x1000\n") +
        (output ? "    output: true\n" : "") +
        "  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0x1\n"
        "    out_offset: 0x2000\n"
        "  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0x1\n"
        "    out_offset: 0x1000\n");
  };
  const std::vector<LayerWeights> w = {conv(1, 1), conv(1, 1), conv(1, 1)};
  // Not an output layer: layer 2 only has to spare layer 1's output (its input).
  CHECK_NOTHROW(resolve_network(three(false), w, kIn, options(false)));
  REQUIRE_THROWS_WITH_AS(resolve_network(three(true), w, kIn, options(false)),
                         doctest::Contains("layer 2: output for CHW=0,0,0"), Error);
  REQUIRE_THROWS_WITH_AS(resolve_network(three(true), w, kIn, options(false)),
                         doctest::Contains("`output: true`"), Error);
  CHECK_NOTHROW(resolve_network(three(true), w, kIn, options(true)));
}

TEST_CASE("overlap: izer's input loader places later passes without in_offset") {
  // 128 channels (2 passes) at in_offset 4: izer's map puts pass 1 of pixel p at 4 + 8p, where
  // pass 0 of pixel p is; it refuses that, even with --overlap-data.
  auto net = [](int in_offset) {
    return yaml_config("  - op: passthrough\n    processors: 0xffffffffffffffff\n"
                       "    in_offset: " + hex(in_offset) + "\n    out_offset: 0x4000\n");
  };
  const InputShape in{128, 2, 2};
  CHECK(has(rules(net(4), {no_weights()}, in, options(true)), "input-overwrite"));
  REQUIRE_THROWS_WITH_AS(resolve_network(net(4), {no_weights()}, in, options(true)),
                         doctest::Contains("the input loader writes"), Error);
  CHECK_NOTHROW(resolve_network(net(0), {no_weights()}, in, options(false)));
}

TEST_CASE("limit: a layer's output exactly filling a data memory instance fits, one word more "
          "does not") {
  for (Device dev : {Device::MAX78000, Device::MAX78002}) {
    const DeviceSpec& spec = device_spec(dev);
    CAPTURE(spec.partnum);
    // One channel of 64 x cols pixels, 4 bytes each in izer's count: one instance exactly.
    const int cols = spec.instance_bytes() / 4 / 64;
    REQUIRE(64 * cols * 4 == spec.instance_bytes());
    // Input on processor 0 (instance 0), output on processor 4 (instance 1): no overlap.
    auto net = [&](int out_offset) {
      return yaml_config("  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0x1\n"
                         "    output_processors: 0x10\n    out_offset: " + hex(out_offset) + "\n",
                         dev);
    };
    const InputShape in{1, 64, cols};
    CHECK_NOTHROW(resolve_network(net(0), {conv(1, 1)}, in, options(false, false, dev)));
    REQUIRE_THROWS_WITH_AS(
        resolve_network(net(4), {conv(1, 1)}, in, options(false, false, dev)),
        doctest::Contains(doctest::String(("exceeds the data memory instance size of " +
                                           std::to_string(spec.instance_bytes()) + " by 4")
                                              .c_str())),
        Error);
  }
}

TEST_CASE("memory-fed run: layers read their input from the memory image, same outputs") {
  const NetworkConfig cfg = two_layers(0x2000);
  const Network net = resolve_network(cfg, {conv(1, 1), conv(1, 1)}, kIn, options(false));
  Tensor x(1, 4, 4);
  for (size_t i = 0; i < x.size(); ++i) x.data[i] = static_cast<int32_t>(i) - 8;
  const RunResult plain = run_network(net, x);
  MemoryRunOptions o;
  o.read_inputs = true;
  MemoryRun fed(net, o);
  const RunResult r = run_network(net, x, true, &fed);
  CHECK(fed.memory_fed_layers() == std::vector<int>{0, 1});
  CHECK(fed.read_differences().empty());
  CHECK(r.output.data == plain.output.data);
  // Layer 1's input word for pixel 5 is layer 0's output there, read back from memory.
  const uint32_t a = DataMemory::processor_address(device_spec(Device::MAX78000), 0, 0x1000 + 20);
  CHECK(static_cast<int8_t>(fed.memory().read(a) & 0xff) == plain.layers[0]->data[5]);
}

TEST_CASE("memory-fed run: a corrupted memory word changes the layer that reads it") {
  // The hook reads memory, not the engine's tensors: overwrite one word of layer 0's output
  // between the layers and layer 1 sees it.
  struct Corrupt : MemoryRun {
    using MemoryRun::MemoryRun;
    void before_layer(const Layer& L, Tensor& input) override {
      if (L.index == 1)
        memory().write(DataMemory::processor_address(device_spec(Device::MAX78000), 0, 0x1000),
                       0x7f, 0xff);
      MemoryRun::before_layer(L, input);
    }
  };
  const Network net = resolve_network(two_layers(0x2000), kTwoConvs, kIn, options(false));
  Tensor x(1, 4, 4);
  MemoryRunOptions o;
  o.read_inputs = true;
  Corrupt fed(net, o);
  const RunResult r = run_network(net, x, true, &fed);
  REQUIRE(fed.read_differences().size() == 1);  // compare_reads saw the corrupted word
  CHECK(fed.read_differences()[0].differing == 1);
  const RunResult plain = run_network(net, x);
  CHECK(r.output.data != plain.output.data);
}

TEST_CASE("memory-fed run: izer's element-wise split of one layer's output is named") {
  // Layer 1 adds two operands that both come from layer 0's 2-channel output: izer splits the
  // channels, the hardware reads interleaved pixels.
  const NetworkConfig cfg = yaml_config(
      "  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0x1\n"
      "    output_processors: 0x3\n    out_offset: 0x1000\n"
      "  - op: add\n    operands: 2\n    in_dim: [4, 2]\n    processors: 0x3\n"
      "    out_offset: 0x2000\n");
  const Network net = resolve_network(cfg, {conv(2, 1), no_weights()}, kIn, options(false));
  CHECK(izer_read_quirk(net, net.layers[0]).empty());
  CHECK(izer_read_quirk(net, net.layers[1]).find("element-wise") != std::string::npos);
  Tensor x(1, 4, 4);
  for (size_t i = 0; i < x.size(); ++i) x.data[i] = static_cast<int32_t>(3 * i % 11) - 5;
  MemoryRunOptions o;
  o.read_inputs = true;
  MemoryRun fed(net, o);
  const RunResult r = run_network(net, x, true, &fed);
  // Memory holds what the hardware reads (compared with the interleaved view: no difference);
  // the layer keeps izer's input, so the outputs are izer's.
  CHECK(fed.read_differences().empty());
  CHECK(fed.quirk_layers() == std::vector<int>{1});
  CHECK(r.output.data == run_network(net, x).output.data);
}
