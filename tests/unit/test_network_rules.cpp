// izer's rules for resolving and running a network, each pinned by a small case named for it.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "ai8xsim/error.h"
#include "sim/model/checkpoint.h"
#include "sim/model/checks.h"
#include "sim/engine/engine.h"
#include "ai8xsim/network.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using namespace ai8xsim::testing;

namespace {

NetworkConfig parse_yaml(const std::string& text, Device dev = Device::MAX78000) {
  char path[] = "/tmp/ai8xsim_rules_XXXXXX.yaml";
  const int fd = mkstemps(path, 5);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << text;
  NetworkConfig cfg = load_network_config(path, dev);
  std::remove(path);
  return cfg;
}

LayerWeights conv_weights(int rows, int kh, int kw, int8_t value, int shift = 0) {
  return filled_weights({rows, kh, kw}, value, shift);
}

Tensor ramp(int c, int h, int w) {
  Tensor t(c, h, w);
  for (size_t i = 0; i < t.size(); ++i) t.data[i] = static_cast<int32_t>(i % 7) - 3;
  return t;
}

const char* kHeader = "arch: test\ndataset: test\nlayers:\n";

}  // namespace

TEST_CASE("rule: a Conv1d layer without pad makes every default-padded layer pad [1, 0]") {
  const std::string yaml = std::string(kHeader) +
                           "  - op: conv1d\n    kernel_size: 3\n    processors: 0x1\n"
                           "    out_offset: 0x2000\n"
                           "  - op: conv2d\n    in_dim: [4, 4]\n    processors: 0x1\n"
                           "    out_offset: 0\n";
  const NetworkConfig cfg = parse_yaml(yaml);
  const Network net = resolve_network(cfg, {conv_weights(1, 3, 1, 1), conv_weights(1, 3, 3, 1)},
                                      InputShape{1, 16, 1}, ResolveOptions{});
  CHECK(net.layers[1].padding == Dim2{1, 0});
  CHECK(net.layers[1].output_dim == Dim2{4, 2});  // 4x4 input, 3x3 kernel, pad [1, 0]

  // With `pad` given on the Conv2d layer, the quirk does not reach it.
  const NetworkConfig cfg2 = parse_yaml(yaml + "    pad: 1\n");
  const Network net2 = resolve_network(
      cfg2, {conv_weights(1, 3, 1, 1), conv_weights(1, 3, 3, 1)}, InputShape{1, 16, 1}, {});
  CHECK(net2.layers[1].padding == Dim2{1, 1});
}

TEST_CASE("rule: a flattening layer's output channels come from its pooled area") {
  const NetworkConfig cfg = parse_yaml(std::string(kHeader) +
                                       "  - op: mlp\n    flatten: true\n    processors: 0x7\n"
                                       "    out_offset: 0x1000\n    output_width: 32\n");
  // 3 channels x 2 x 2 pixels = 12 inputs, 5 outputs: 60 kernels of 1x1.
  const Network net =
      resolve_network(cfg, {conv_weights(60, 1, 1, 1)}, InputShape{3, 2, 2}, {});
  CHECK(net.layers[0].in_channels == 3);
  CHECK(net.layers[0].out_channels == 5);
  const RunResult r = run_network(net, ramp(3, 2, 2));
  int64_t sum = 0;
  for (int32_t v : ramp(3, 2, 2).data) sum += v;
  CHECK(r.output.c == 5);
  CHECK(r.output.data[0] == sum);  // all-ones weights, wide output: the raw sum
}

TEST_CASE("rule: in_sequences concatenates along channels, element-wise splits operands") {
  const NetworkConfig cfg_ok = parse_yaml(
      std::string(kHeader) +
      "  - op: passthrough\n    processors: 0x3\n    out_offset: 0x1000\n"
      "  - op: passthrough\n    processors: 0x3\n    out_offset: 0x2000\n    in_sequences: [-1]\n"
      "  - op: add\n    processors: 0x3\n    out_offset: 0\n    in_sequences: [0, 1]\n");
  const Network net = resolve_network(cfg_ok, {no_weights(), no_weights(), no_weights()},
                                      InputShape{2, 2, 2}, {});
  CHECK(net.layers[2].in_channels == 2);
  const Tensor in = ramp(2, 2, 2);
  const RunResult r = run_network(net, in);
  REQUIRE(r.output.c == 2);
  for (size_t i = 0; i < in.size(); ++i) CHECK(r.output.data[i] == 2 * in.data[i]);
}

TEST_CASE("rule: izer's runtime check refuses data that does not match in_channels") {
  const NetworkConfig cfg = parse_yaml(std::string(kHeader) +
                                       "  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n"
                                       "    processors: 0x1\n    out_offset: 0x1000\n"
                                       "    output_processors: 0xf\n"
                                       "  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n"
                                       "    in_channels: 1\n    processors: 0x1\n"
                                       "    out_offset: 0x2000\n");
  // Layer 0 makes 4 channels; layer 1 claims 1: izer stops at "Input dimensions do not match".
  REQUIRE_THROWS_WITH_AS(
      run_network(resolve_network(cfg, {conv_weights(4, 1, 1, 1), conv_weights(4, 1, 1, 1)},
                                  InputShape{1, 3, 3}, {}),
                  ramp(1, 3, 3)),
      doctest::Contains("input dimensions do not match"), Error);
}

TEST_CASE("rule: the YAML kernel size must match the weights' kernels") {
  const NetworkConfig cfg = parse_yaml(std::string(kHeader) +
                                       "  - op: conv2d\n    processors: 0x1\n    out_offset: 0\n");
  REQUIRE_THROWS_WITH_AS(
      resolve_network(cfg, {conv_weights(2, 1, 1, 1)}, InputShape{1, 4, 4}, {}),
      doctest::Contains("kernel_size: the YAML configures 3x3 kernels, the weights are 1x1"),
      Error);
}

TEST_CASE("limit: processors must match the channels per pass") {
  const NetworkConfig cfg = parse_yaml(std::string(kHeader) +
                                       "  - op: conv2d\n    processors: 0x7\n    out_offset: 0x2000\n");
  const Network ok =
      resolve_network(cfg, {conv_weights(3 * 2, 3, 3, 1)}, InputShape{3, 4, 4}, {});
  CHECK(find_violations(ok).empty());
  REQUIRE_THROWS_WITH_AS(
      resolve_network(cfg, {conv_weights(4 * 2, 3, 3, 1)}, InputShape{4, 4, 4}, {}),
      doctest::Contains("need 4 processors per pass"), Error);
}

TEST_CASE("limit: data memory per instance, exactly full fits, one word more fails") {
  // MAX78000: an instance holds 32768 bytes-of-izer's-count; HWC input: 4 per pixel.
  // 64 x 128 pixels x 4 = 32768 fits at in_offset 0; 0x0004 more does not.
  auto net_at = [&](const std::string& in_offset) {
    const NetworkConfig cfg = parse_yaml(std::string(kHeader) +
                                         "  - op: passthrough\n    processors: 0x1\n"
                                         "    output_processors: 0x10\n"
                                         "    out_offset: 0\n    in_offset: " +
                                         in_offset + "\n");
    return resolve_network(cfg, {no_weights()}, InputShape{1, 64, 128}, {});
  };
  CHECK_NOTHROW(net_at("0x0000"));
  REQUIRE_THROWS_WITH_AS(net_at("0x0004"),
                         doctest::Contains("exceeds the data memory instance size of 32768 by 4"),
                         Error);
}

TEST_CASE("limit: depthwise convolutions are MAX78002 only") {
  const std::string yaml = std::string(kHeader) +
                           "  - op: conv2d\n    groups: 4\n    processors: 0xf\n"
                           "    out_offset: 0x2000\n";
  const auto w = std::vector<LayerWeights>{conv_weights(4, 3, 3, 1)};
  CHECK_NOTHROW(resolve_network(parse_yaml(yaml, Device::MAX78002), w, InputShape{4, 4, 4},
                                ResolveOptions{Device::MAX78002}));
  REQUIRE_THROWS_WITH_AS(resolve_network(parse_yaml(yaml), w, InputShape{4, 4, 4}, {}),
                         doctest::Contains("groups"), Error);
}
