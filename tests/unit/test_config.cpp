// Tests of the network YAML loader (sim/model/config_yaml.cpp), the device constants (sim/model/device.*)
// and the enum names (sim/model/names.cpp).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "ai8xsim/config.h"
#include "ai8xsim/error.h"
#include "ai8xsim/device.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using ai8xsim::testing::corpus_case_dir;
using ai8xsim::testing::corpus_cases;
using ai8xsim::testing::kCorpus;
namespace fs = std::filesystem;

namespace {

// A YAML text in a temporary file (mkstemps), removed again at the end of the scope.
class TempYaml {
 public:
  explicit TempYaml(const std::string& text) {
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/ai8xsim-cfg-XXXXXX.yaml";
    const int fd = mkstemps(tmpl.data(), 5);
    REQUIRE(fd >= 0);
    ::close(fd);
    path_ = tmpl;
    std::ofstream(path_) << text;
  }
  ~TempYaml() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const char* kHead = "arch: test\ndataset: test\nlayers:\n";

NetworkConfig parse(const std::string& layers, Device d = Device::MAX78000,
                    const std::string& head = kHead) {
  TempYaml f(head + layers);
  return load_network_config(f.path(), d);
}

LayerConfig one(const std::string& layer_body, Device d = Device::MAX78000) {
  const NetworkConfig n = parse(layer_body, d);
  REQUIRE(n.layers.size() == 1);
  return n.layers[0];
}

// The message of the Config error the YAML raises ("" when it parses).
std::string error_of(const std::string& text, Device d = Device::MAX78000,
                     ErrorKind expected = ErrorKind::Config) {
  TempYaml f(text);
  try {
    load_network_config(f.path(), d);
  } catch (const Error& e) {
    CHECK(e.kind() == expected);
    CHECK(std::string(e.what()).rfind(f.path() + ":", 0) == 0);  // starts with FILE:
    return e.what();
  }
  return "";
}

// The YAML is refused and the message names every fragment (key, value, ...).
void check_refused(const std::string& text, std::initializer_list<std::string> fragments,
                   Device d = Device::MAX78000) {
  const std::string msg = error_of(text, d);
  INFO("YAML:\n" << text);
  REQUIRE_MESSAGE(!msg.empty(), "expected an error");
  INFO("message: " << msg);
  CHECK(msg.find("; allowed: ") != std::string::npos);
  CHECK(msg.find(": found ") != std::string::npos);
  for (const auto& f : fragments) CHECK_MESSAGE(msg.find(f) != std::string::npos, "missing: " << f);
}

void check_layer_refused(const std::string& layers, std::initializer_list<std::string> fragments,
                         Device d = Device::MAX78000) {
  check_refused(kHead + layers, fragments, d);
}

std::string repeat_layers(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "  - processors: 1\n    activation: None\n";
  return s;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
TEST_CASE("config: defaults of a minimal Conv2d layer") {
  const NetworkConfig n = parse("  - processors: 0x0f\n    activation: None\n");
  CHECK(n.arch == "test");
  CHECK(n.dataset == "test");
  REQUIRE(n.layers.size() == 1);
  const LayerConfig& l = n.layers[0];
  CHECK(l.yaml_line == 4);
  CHECK(l.processors == 0x0f);
  CHECK(l.op == Operator::Conv2d);
  CHECK_FALSE(l.op_given);
  CHECK(l.kernel_size == std::array<int, 2>{3, 3});
  CHECK(l.padding == std::array<int, 2>{1, 1});
  CHECK_FALSE(l.padding_given);
  CHECK(l.stride == std::array<int, 2>{1, 1});
  CHECK(l.pool == std::array<int, 2>{1, 1});
  CHECK_FALSE(l.pooling_enabled);
  CHECK(l.output_width == 8);
  CHECK(l.operands == 1);
  CHECK(l.pool_first);
  CHECK(l.activation == Activation::None);
  CHECK_FALSE(l.quantization);
  CHECK_FALSE(l.in_offset);
  CHECK(l.out_offset == 0);
  CHECK_FALSE(l.out_offset_given);
  CHECK(l.groups == 1);
}

TEST_CASE("config: yaml_line of each layer") {
  const NetworkConfig n =
      parse("  - processors: 1\n    activation: None\n\n  - op: conv2d\n    processors: 3\n");
  REQUIRE(n.layers.size() == 2);
  CHECK(n.layers[0].yaml_line == 4);
  CHECK(n.layers[1].yaml_line == 7);
}

TEST_CASE("config: aliases") {
  CHECK(one("  - processors: 1\n    activate: ReLU\n").activation == Activation::ReLU);
  CHECK(one("  - processors: 1\n    activation: abs\n").activation == Activation::Abs);
  CHECK(one("  - processors: 1\n    activation: None\n").activation == Activation::None);
  for (const char* k : {"op", "operation", "operator", "convolution"}) {
    CAPTURE(k);
    const LayerConfig l = one(std::string("  - processors: 1\n    ") + k + ": Conv1d\n");
    CHECK(l.op == Operator::Conv1d);
    CHECK(l.op_given);
  }
  CHECK(one("  - processors: 1\n    op: mlp\n    in_skip: 2\n").read_gap == 2);
  CHECK(one("  - processors: 1\n    op: mlp\n    read_gap: 3\n").read_gap == 3);
  CHECK(one("  - processors: 1\n    op: conv2d\n    groups: 4\n").groups == 4);
  CHECK(one("  - processors: 1\n    op: conv2d\n    conv_groups: 5\n").groups == 5);
  CHECK(*one("  - processors: 1\n    op: conv2d\n    bias_group: 2\n").bias_group ==
        std::vector<int>{2});
  CHECK(*one("  - processors: 1\n    op: conv2d\n    bias_quadrant: [0, 3]\n").bias_group ==
        std::vector<int>{0, 3});
}

TEST_CASE("config: duplicate alias keys are refused naming both") {
  check_layer_refused("  - processors: 1\n    activate: ReLU\n    activation: None\n",
                      {"`activation`", "`activate`", "line 5"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    operation: conv1d\n",
                      {"`operation`", "`op`"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    in_skip: 1\n    read_gap: 1\n",
                      {"`read_gap`", "`in_skip`"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    groups: 1\n    conv_groups: 1\n",
                      {"`groups`", "`conv_groups`"});
  check_layer_refused(
      "  - processors: 1\n    op: conv2d\n    bias_group: 1\n    bias_quadrant: 1\n",
      {"`bias_quadrant`", "`bias_group`"});
}

TEST_CASE("config: duplicate and unknown keys") {
  check_layer_refused("  - processors: 1\n    op: conv2d\n    pad: 1\n    pad: 2\n",
                      {"`pad`", "second", "line 6", ":7:", "layer 0"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    padding: 1\n",
                      {"`padding`", "unknown key", "layer 0 (YAML sequence)", ":6:"});
  check_refused(std::string(kHead) + "  - processors: 1\n    op: conv2d\nfoo: 3\n",
                {"`foo`", "unknown key", ":6:"});
  check_refused(std::string(kHead) + "  - processors: 1\n    op: conv2d\narch: x\n",
                {"`arch`", "second"});
}

TEST_CASE("config: required top-level keys") {
  check_refused("dataset: x\nlayers:\n  - processors: 1\n    op: conv2d\n", {"`arch`", "missing"});
  check_refused("arch: x\nlayers:\n  - processors: 1\n    op: conv2d\n", {"`dataset`"});
  check_refused("arch: x\ndataset: y\n", {"`layers`"});
  check_refused("arch: x\ndataset: y\nlayers: 3\n", {"`layers`", "3", "list"});
  check_refused("arch: x\ndataset: y\nlayers: []\n", {"`layers`", "non-empty"});
  check_refused("arch: x\ndataset: y\nlayers:\n  - 5\n", {"`layers`", "entry 0", "mapping"});
  check_refused("- 1\n- 2\n", {"top level", "mapping"});
}

TEST_CASE("config: processors") {
  CHECK(one("  - processors: 0xffffffffffffffff\n    op: conv2d\n").processors == ~0ull);
  CHECK(one("  - processors: 0x0000.0000.0000.00f0\n    op: conv2d\n").processors == 0xf0);
  CHECK(one("  - processors: 0x0000_0000_0000_0f00\n    op: conv2d\n").processors == 0xf00);
  CHECK(one("  - processors: 15\n    op: conv2d\n").processors == 15);
  // A quoted number is a string, which izer reads as hex.
  CHECK(one("  - processors: \"15\"\n    op: conv2d\n").processors == 0x15);
  CHECK(one("  - processors: 0b101\n    op: conv2d\n").processors == 5);
  CHECK(one("  - processors: 017\n    op: conv2d\n").processors == 15);  // YAML 1.1 octal
  CHECK(*one("  - processors: 1\n    output_processors: 0xff00.0000.0000.0000\n    op: conv2d\n")
             .output_processors == 0xff00000000000000ull);
  check_layer_refused("  - op: conv2d\n    pad: 1\n", {"`processors`", "missing"});
  check_layer_refused("  - processors:\n    op: conv2d\n", {"`processors`"});
  check_layer_refused("  - processors: 0\n    op: conv2d\n",
                      {"`processors`", "found 0", "2**64-1"});
  check_layer_refused("  - processors: 0x10000000000000000\n    op: conv2d\n",
                      {"`processors`", "0x10000000000000000"});
  check_layer_refused("  - processors: -1\n    op: conv2d\n", {"`processors`", "-1"});
  check_layer_refused("  - processors: 0xzz\n    op: conv2d\n", {"`processors`", "0xzz"});
  check_layer_refused("  - processors: [1, 2]\n    op: conv2d\n", {"`processors`", "[1, 2]"});
  check_layer_refused("  - processors: 1\n    output_processors: 0\n    op: conv2d\n",
                      {"`output_processors`", "0"});
}

TEST_CASE("config: pooling keys") {
  LayerConfig l = one("  - processors: 1\n    op: conv2d\n    max_pool: 2\n    pool_stride: 2\n");
  CHECK(l.pooling_enabled);
  CHECK_FALSE(l.pool_average);
  CHECK(l.pool == std::array<int, 2>{2, 2});
  CHECK(l.pool_stride == std::array<int, 2>{2, 2});
  CHECK(l.pool_stride_given);
  l = one("  - processors: 1\n    op: conv2d\n    avg_pool: [2, 3]\n    pool_stride: [1, 3]\n");
  CHECK(l.pool_average);
  CHECK(l.pool == std::array<int, 2>{2, 3});
  CHECK(l.pool_stride == std::array<int, 2>{1, 3});
  l = one("  - processors: 1\n    op: conv2d\n    max_pool: 2\n    avg_pool: 4\n");
  CHECK_FALSE(l.pool_average);  // izer: max_pool wins
  CHECK(l.pool == std::array<int, 2>{2, 2});
  l = one("  - processors: 1\n    op: conv2d\n    max_pool: 3\n    pool_dilation: [2, 1]\n");
  CHECK(l.pool_dilation == std::array<int, 2>{2, 1});
  CHECK_FALSE(one("  - processors: 1\n    op: conv2d\n").pool_stride_given);
  check_layer_refused("  - processors: 1\n    op: conv2d\n    pool_dilation: 2\n",
                      {"`pool_dilation`", "2", "pooling"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    max_pool: [2, 2, 2]\n",
                      {"`max_pool`", "[2, 2, 2]"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    max_pool: 0\n", {"`max_pool`", "0"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    pool_stride: two\n",
                      {"`pool_stride`", "two"});
}

TEST_CASE("config: operators and their defaults") {
  LayerConfig l = one("  - processors: 1\n    op: Passthrough\n");
  CHECK(l.op == Operator::Passthrough);
  CHECK(l.padding == std::array<int, 2>{0, 0});
  CHECK(l.kernel_size == std::array<int, 2>{1, 1});
  CHECK(l.operands == 1);
  l = one("  - processors: 1\n    op: none\n");
  CHECK(l.op == Operator::Passthrough);
  struct {
    const char* text;
    Eltwise e;
  } elts[] = {{"add", Eltwise::Add},        {"Sub", Eltwise::Sub},        {"or", Eltwise::Or},
              {"bitwise_or", Eltwise::Or},  {"BitwiseOr", Eltwise::Or},   {"xor", Eltwise::Xor},
              {"bitwisexor", Eltwise::Xor}, {"bitwise_xor", Eltwise::Xor}};
  for (const auto& e : elts) {
    CAPTURE(e.text);
    l = one(std::string("  - processors: 1\n    op: ") + e.text + "\n");
    CHECK(l.op == Operator::Passthrough);
    CHECK(l.eltwise == e.e);
    CHECK(l.operands == 2);
    CHECK(l.padding == std::array<int, 2>{0, 0});
  }
  for (const char* t : {"linear", "FC", "MLP"}) {
    CAPTURE(t);
    l = one(std::string("  - processors: 1\n    op: ") + t + "\n");
    CHECK(l.op == Operator::Linear);
    CHECK(l.kernel_size == std::array<int, 2>{1, 1});
    CHECK(l.padding == std::array<int, 2>{0, 0});
  }
  l = one("  - processors: 1\n    op: ConvTranspose2d\n");
  CHECK(l.op == Operator::ConvTranspose2d);
  CHECK(l.stride == std::array<int, 2>{2, 2});
  CHECK(l.output_padding == std::array<int, 2>{1, 1});
  CHECK(l.kernel_size == std::array<int, 2>{3, 3});
  l = one("  - processors: 1\n    op: ConvTranspose2d\n    output_pad: 0\n    stride: 2\n");
  CHECK(l.output_padding == std::array<int, 2>{0, 0});
  check_layer_refused("  - processors: 1\n    op: ConvTranspose2d\n    stride: 1\n",
                      {"`stride`", "found 1", "2 for ConvTranspose2d"});
  check_layer_refused("  - processors: 1\n    op: conv3d\n", {"`op`", "conv3d", "Conv2d"});
  check_layer_refused("  - processors: 1\n    operation: 5\n", {"`operation`", "5"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    output_pad: -1\n",
                      {"`output_pad`", "-1"});
}

TEST_CASE("config: Conv1d defaults and fix-ups") {
  LayerConfig l = one("  - processors: 1\n    op: conv1d\n");
  CHECK(l.kernel_size == std::array<int, 2>{9, 1});
  CHECK(l.padding == std::array<int, 2>{1, 0});
  CHECK_FALSE(l.padding_given);
  l =
      one("  - processors: 1\n    op: conv1d\n    kernel_size: 5\n    pad: 2\n"
          "    max_pool: [4, 4]\n    pool_stride: [2, 3]\n    dilation: [2, 2]\n");
  CHECK(l.kernel_size == std::array<int, 2>{5, 1});
  CHECK(l.padding == std::array<int, 2>{2, 0});
  CHECK(l.padding_given);
  CHECK(l.pool == std::array<int, 2>{4, 1});
  CHECK(l.pool_stride == std::array<int, 2>{2, 1});
  CHECK(l.dilation == std::array<int, 2>{2, 1});
  CHECK(one("  - processors: 1\n    op: conv1d\n    stride: 3\n").stride ==
        std::array<int, 2>{3, 1});
  CHECK(one("  - processors: 1\n    op: conv1d\n    kernel_size: \"7\"\n").kernel_size[0] == 7);
  check_layer_refused("  - processors: 1\n    op: conv1d\n    kernel_size: 3x3\n",
                      {"`kernel_size`", "3x3", "1 to 9"});
  check_layer_refused("  - processors: 1\n    op: conv1d\n    kernel_size: 10\n",
                      {"`kernel_size`", "10"});
}

TEST_CASE("config: kernel_size") {
  CHECK(one("  - processors: 1\n    op: conv2d\n    kernel_size: 1x1\n").kernel_size ==
        std::array<int, 2>{1, 1});
  CHECK(one("  - processors: 1\n    op: conv2d\n    kernel_size: 3X3\n").kernel_size ==
        std::array<int, 2>{3, 3});
  // Passthrough accepts a 1-D size and ignores it (izer's fix-up sets 1x1).
  CHECK(one("  - processors: 1\n    op: none\n    kernel_size: 3\n").kernel_size ==
        std::array<int, 2>{1, 1});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    kernel_size: 3\n",
                      {"`kernel_size`", "found 3", "1x1 or 3x3"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    kernel_size: 2x2\n",
                      {"`kernel_size`", "2x2"});
  check_layer_refused("  - processors: 1\n    op: convtranspose2d\n    kernel_size: 1x1\n",
                      {"`kernel_size`", "1x1", "3x3 for ConvTranspose2d"});
  check_layer_refused("  - processors: 1\n    op: linear\n    kernel_size: 1x1\n",
                      {"`kernel_size`", "1x1", "fully connected"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    kernel_size: [3, 3]\n",
                      {"`kernel_size`", "[3, 3]"});
}

TEST_CASE("config: pad, dilation, stride") {
  LayerConfig l = one("  - processors: 1\n    op: conv2d\n    pad: 0\n");
  CHECK(l.padding == std::array<int, 2>{0, 0});
  CHECK(l.padding_given);
  CHECK(one("  - processors: 1\n    op: conv2d\n    dilation: 2\n").dilation ==
        std::array<int, 2>{2, 2});
  CHECK(one("  - processors: 1\n    op: conv2d\n    stride: [2, 2]\n").stride ==
        std::array<int, 2>{2, 2});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    pad: -1\n", {"`pad`", "found -1"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    pad: [1, 2]\n",
                      {"`pad`", "a list [1, 2]", "integer"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    pad: 1.5\n", {"`pad`", "1.5"});
  check_layer_refused("  - processors: 1\n    op: add\n    dilation: 1\n",
                      {"`dilation`", "convolution"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    stride: [1, 2]\n",
                      {"`stride`", "[1, 2]", "equal"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    max_pool: 2\n    stride: 2\n",
                      {"`stride`", "found 2", "pooling"});
}

TEST_CASE("config: element-wise keys, data format, width, quantization") {
  LayerConfig l = one("  - processors: 1\n    op: conv2d\n    eltwise: Sub\n    operands: 3\n");
  CHECK(l.op == Operator::Conv2d);
  CHECK(l.eltwise == Eltwise::Sub);
  CHECK(l.operands == 3);
  check_layer_refused("  - processors: 1\n    op: conv2d\n    operands: 2\n",
                      {"`operands`", "2", "element-wise"});
  check_layer_refused("  - processors: 1\n    op: add\n    operands: 17\n",
                      {"`operands`", "17", "2 to 16"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    eltwise: mul\n",
                      {"`eltwise`", "mul"});
  CHECK(one("  - processors: 1\n    op: conv2d\n    data_format: CHW\n").big_data);
  CHECK_FALSE(one("  - processors: 1\n    op: conv2d\n    data_format: little\n").big_data);
  check_layer_refused("  - processors: 1\n    op: conv2d\n    data_format: NCHW\n",
                      {"`data_format`", "NCHW"});
  CHECK(one("  - processors: 1\n    op: conv2d\n    output_width: 32\n").output_width == 32);
  check_layer_refused("  - processors: 1\n    op: conv2d\n    output_width: 16\n",
                      {"`output_width`", "16", "8 or 32"});
  CHECK(*one("  - processors: 1\n    op: conv2d\n    quantization: 4\n").quantization == 4);
  CHECK(*one("  - processors: 1\n    op: conv2d\n    quantization: Binary\n").quantization == -1);
  CHECK(*one("  - processors: 1\n    op: conv2d\n    quantization: bin\n").quantization == -1);
  check_layer_refused("  - processors: 1\n    op: conv2d\n    quantization: 3\n",
                      {"`quantization`", "found 3", "bin/binary"});
  check_layer_refused("  - processors: 1\n    activation: sigmoid\n",
                      {"`activation`", "sigmoid", "ReLU"});
  check_layer_refused("  - processors: 1\n    activation:\n", {"`activation`", "null"});
  CHECK(*one("  - processors: 1\n    op: conv2d\n    output_shift: -3\n").output_shift == -3);
}

TEST_CASE("config: channels, dimensions and offsets") {
  LayerConfig l =
      one("  - processors: 1\n    op: conv2d\n    in_channels: 3\n    out_channels: 8\n"
          "    in_dim: 28\n    in_offset: 0x1000\n    out_offset: 0x2000\n    in_crop: [1, 2]\n"
          "    in_channel_skip: 2\n    write_gap: 1\n");
  CHECK(*l.in_channels == 3);
  CHECK(*l.out_channels == 8);
  CHECK(*l.in_dim == std::array<int, 2>{28, 1});
  CHECK(*l.in_offset == 0x1000);
  CHECK(l.out_offset == 0x2000);
  CHECK(l.out_offset_given);
  CHECK(l.in_crop == std::array<int, 2>{1, 2});
  CHECK(l.in_channel_skip == 2);
  CHECK(l.write_gap == 1);
  CHECK(*one("  - processors: 1\n    op: conv2d\n    in_dim: [16, 8]\n").in_dim ==
        std::array<int, 2>{16, 8});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    in_dim: [1, 2, 3]\n",
                      {"`in_dim`", "[1, 2, 3]"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    in_channels: [3]\n",
                      {"`in_channels`", "[3]"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    out_offset: 0x20000\n",
                      {"`out_offset`", "0x20000", "0x1ffff", "MAX78000"});
  CHECK(one("  - processors: 1\n    op: conv2d\n    out_offset: 0x8000\n").out_offset == 0x8000);
  CHECK(one("  - processors: 1\n    op: conv2d\n    out_offset: 0x20000\n", Device::MAX78002)
            .out_offset == 0x20000);
  check_layer_refused("  - processors: 1\n    op: conv2d\n    out_offset: 0x50000\n",
                      {"`out_offset`", "0x50000", "0x4ffff", "MAX78002"}, Device::MAX78002);
}

TEST_CASE("config: booleans") {
  LayerConfig l =
      one("  - processors: 1\n    op: conv2d\n    streaming: yes\n    flatten: True\n"
          "    bypass: on\n    calcx4: 1\n    readahead: true\n    tcalc: false\n    output: true\n"
          "    pool_first: true\n");
  CHECK(l.streaming);
  CHECK(l.flatten);
  CHECK(l.bypass);
  CHECK(l.calcx4);
  CHECK(l.readahead);
  CHECK(l.tcalc.has_value());
  CHECK_FALSE(*l.tcalc);
  CHECK(l.output);
  CHECK_FALSE(one("  - processors: 1\n    op: conv2d\n    flatten: off\n").flatten);
  check_layer_refused("  - processors: 1\n    op: conv2d\n    streaming: \"false\"\n",
                      {"`streaming`", "\"false\"", "true or false"});
  check_layer_refused("  - processors: 1\n    op: add\n    pool_first: false\n",
                      {"`pool_first`", "False", "pooling"});
  CHECK_FALSE(
      one("  - processors: 1\n    op: add\n    max_pool: 2\n    pool_first: false\n").pool_first);
}

TEST_CASE("config: layer names and links") {
  const NetworkConfig n = parse(
      "  - processors: 1\n    op: conv2d\n    name: First\n"
      "  - processors: 1\n    op: conv2d\n    name: second\n    in_sequences: [first, input]\n"
      "    next_sequence: Third\n"
      "  - processors: 1\n    op: conv2d\n    name: third\n    in_sequences: 0\n"
      "    weight_source: FIRST\n    next_sequence: stop\n    simulated_sequence: second\n",
      Device::MAX78002);
  REQUIRE(n.layers.size() == 3);
  CHECK(*n.layers[0].name == "First");
  CHECK(*n.layers[1].in_sequences == std::vector<int>{0, -1});
  CHECK(*n.layers[1].next_sequence == 2);
  CHECK(*n.layers[2].in_sequences == std::vector<int>{0});
  CHECK(*n.layers[2].weight_source == 0);
  CHECK(*n.layers[2].next_sequence == -1);
  CHECK(*n.layers[2].simulated_sequence == 1);
  check_layer_refused("  - processors: 1\n    op: conv2d\n    in_sequences: [nowhere]\n",
                      {"`in_sequences`", "nowhere"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    next_sequence: nowhere\n",
                      {"`next_sequence`", "nowhere"});
  check_layer_refused(
      "  - processors: 1\n    op: conv2d\n    name: a\n  - processors: 1\n    name: A\n",
      {"`name`", "`A`", "layer 1"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    name: Stop\n", {"`name`", "Stop"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    in_sequences: []\n",
                      {"`in_sequences`", "[]"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    next_sequence: -2\n",
                      {"`next_sequence`", "-2"});
}

TEST_CASE("config: sequence overrides and holes") {
  const NetworkConfig n = parse(
      "  - processors: 1\n    op: conv2d\n    sequence: 2\n"
      "  - processors: 2\n    op: conv2d\n"
      "  - processors: 4\n    op: conv2d\n    sequence: 0\n");
  REQUIRE(n.layers.size() == 3);  // sequences 0, 2, 3: the hole at 1 is closed
  CHECK(n.layers[0].processors == 4);
  CHECK(n.layers[1].processors == 1);
  CHECK(n.layers[2].processors == 2);
  check_layer_refused(
      "  - processors: 1\n    op: conv2d\n  - processors: 1\n    op: conv2d\n    sequence: 0\n",
      {"`sequence`", "layer sequence 0", "once"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    sequence: 32\n",
                      {"`sequence`", "32", "at most 32 layers"});
}

TEST_CASE("config: layer count limit per device") {
  CHECK(parse(repeat_layers(32)).layers.size() == 32);
  check_layer_refused(repeat_layers(33),
                      {"`layers`", "layer sequence 32", "at most 32", "MAX78000"});
  CHECK(parse(repeat_layers(128), Device::MAX78002).layers.size() == 128);
  check_layer_refused(repeat_layers(129), {"`layers`", "128", "at most 128", "MAX78002"},
                      Device::MAX78002);
}

TEST_CASE("config: buffers and the data buffer") {
  check_layer_refused("  - processors: 1\n    op: none\n    buffer_shift: 2\n",
                      {"`buffer_shift`", "2", "in_sequences"});
  check_layer_refused("  - processors: 1\n    op: none\n    buffer_insert: 2\n",
                      {"`buffer_insert`", "2", "out_offset"});
  check_layer_refused("  - processors: 1\n    op: none\n    buffer_shift: 0\n    in_sequences: 0\n",
                      {"`buffer_shift`", "0"});
  const std::string buf =
      "arch: x\ndataset: y\ndata_buffer:\n  - processors: 0xf\n    dim: 16\n    channels: 1\n"
      "    offset: 0x100\n    name: buf\nlayers:\n";
  const NetworkConfig n = parse(
      "  - processors: 1\n    op: none\n    in_sequences: buf\n    in_offset: 0\n"
      "    out_offset: 0\n    in_dim: 16\n    in_channels: 1\n",
      Device::MAX78002, buf);
  CHECK(n.has_data_buffer);
  REQUIRE(n.data_buffer);
  CHECK(n.data_buffer->name == "buf");
  CHECK(n.data_buffer->processors == 0xf);
  CHECK(n.data_buffer->dim == std::array<int, 2>{16, 1});
  CHECK(n.data_buffer->channels == 1);
  CHECK(n.data_buffer->offset == 0x100);
  CHECK(*n.layers[0].in_sequences == std::vector<int>{-2});
  const std::string two_d =
      "arch: x\ndataset: y\ndata_buffer:\n  - processors: 0xf\n    dim: [3, 2]\n"
      "    channels: 4\n    offset: 0\n    name: b2\nlayers:\n  - processors: 1\n    op: none\n";
  CHECK(parse("", Device::MAX78000, two_d).data_buffer->dim == std::array<int, 2>{3, 2});
  check_refused(
      "arch: x\ndataset: y\ndata_buffer:\n  - processors: 1\n    dim: 4\n    channels: 1\n"
      "    offset: 0\n    name: a\n    width: 32\nlayers:\n  - processors: 1\n    op: none\n",
      {"`width`", "32", "8"});
  check_refused(
      "arch: x\ndataset: y\ndata_buffer:\n  - processors: 1\n    dim: 4\n    channels: 1\n"
      "    offset: 0\n    name: a\n  - processors: 1\n    dim: 4\n    channels: 1\n"
      "    offset: 0\n    name: b\nlayers:\n  - processors: 1\n    op: none\n",
      {"`data_buffer`", "2 or more entries", "one entry"});
  check_refused(
      "arch: x\ndataset: y\ndata_buffer:\n  - processors: 1\n    dim: 100000\n"
      "    channels: 1\n    offset: 0\n    name: a\nlayers:\n  - processors: 1\n    op: none\n",
      {"`dim`", "100000", "data memory instance"});
  check_refused(buf + "  - processors: 1\n    op: none\n    in_sequences: buf\n",
                {"`in_offset`", "data buffer"}, Device::MAX78002);
  check_refused(
      "arch: x\ndataset: y\ndata_buffer:\n  - processors: 1\n    dim: 1\n"
      "    channels: 1\n    offset: 0\nlayers:\n  - processors: 1\n    op: none\n",
      {"`name`", "`data_buffer` entry 0"}, Device::MAX78002);
}

TEST_CASE("config: other top-level keys") {
  const std::string layer = "  - processors: 1\n    op: conv2d\n";
  const NetworkConfig n = parse(layer, Device::MAX78000,
                                "arch: a\ndataset: d\noutput_map: 0xf0\nweights: w\nbias: b\n"
                                "unload:\n  - processors: 1\n    dim: 4\n    channels: 1\n"
                                "    offset: 0\nlayers:\n");
  CHECK(*n.output_map == 0xf0);
  CHECK(n.has_unload);
  CHECK_FALSE(n.has_data_buffer);
  check_refused("arch: a\ndataset: d\nunload:\n  - processors: 1\n    dims: 4\nlayers:\n" + layer,
                {"`dims`", "unknown key", "`unload` entry 0"});
  check_refused("arch: a\ndataset: d\nsnoop: [1]\nlayers:\n" + layer, {"`snoop`", "MAX78000"});
  CHECK(
      parse(layer, Device::MAX78002, "arch: a\ndataset: d\nsnoop: [1]\nlayers:\n").layers.size() ==
      1);
  check_refused("arch: a\ndataset: d\noutput_map: \"0xf\"\nlayers:\n" + layer,
                {"`output_map`", "\"0xf\""});
  check_refused("arch: [a]\ndataset: d\nlayers:\n" + layer, {"`arch`", "[a]"});
  check_refused("arch: a\ndataset: d\nbias: [a]\nlayers:\n" + layer, {"`bias`", "[a]"});
  CHECK(parse(layer, Device::MAX78000, "arch: a\ndataset: d\nbias: 64\nlayers:\n").layers.size() ==
        1);
}

TEST_CASE("config: a convolution without `activation` before any `op` is refused (izer fails)") {
  check_layer_refused("  - processors: 1\n    pad: 0\n", {"`activation`", "UnboundLocalError"});
  check_layer_refused("  - processors: 1\n    activation: none\n  - processors: 1\n",
                      {"`activation`", "layer 1"});
  CHECK(parse("  - processors: 1\n    op: conv2d\n  - processors: 1\n").layers.size() == 2);
  CHECK(parse("  - processors: 1\n    op: conv2d\n    eltwise: add\n  - processors: 1\n")
            .layers.size() == 2);
}

TEST_CASE("config: tabs outside quotes and comments are refused, as PyYAML does") {
  const std::string tab = error_of(std::string(kHead) + "  - processors: 1\n    op: conv2d\t\n");
  CHECK(tab.find(":5: ") != std::string::npos);
  CHECK(tab.find("tab character (column 15)") != std::string::npos);
  CHECK(tab.find("; allowed: spaces") != std::string::npos);
  CHECK_FALSE(error_of(std::string(kHead) + "  - processors: 1\n    stride\t: 1\n").empty());
  const NetworkConfig n =
      parse("  - processors: 1  # a\tcomment\n    op: conv2d\n    name: \"a\tb\"\n");
  CHECK(*n.layers[0].name == "a\tb");
}

TEST_CASE("config: YAML syntax errors, bad files and wrong types are Config errors") {
  const std::string msg = error_of(std::string(kHead) + "  - processors: [1, 2\n    op: x\n");
  CHECK(msg.find("not valid YAML") != std::string::npos);
  check_layer_refused("  - processors: 1\n    op: {a: 1}\n", {"`op`", "a mapping"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    stride: {a: 1}\n", {"`stride`"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    in_sequences: [[1]]\n",
                      {"`in_sequences`", "[1]"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    name: 5\n", {"`name`", "5"});
  check_layer_refused("  - processors: 1\n    op: conv2d\n    write_gap: -1\n",
                      {"`write_gap`", "-1"});
  try {
    load_network_config("/nonexistent/dir/net.yaml", Device::MAX78000);
    FAIL("expected an IO error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::IO);
    CHECK(std::string(e.what()).find("/nonexistent/dir/net.yaml") != std::string::npos);
  }
}

// ------------------------------------------------------------------------------------------------
// The parity corpus: izer's parser accepted every network that izer then ran, or refused for a
// network-level reason; it refused the others naming a key.

namespace {

// The key an izer parser (yamlcfg) error names, or "" for errors raised after parsing.
std::string yaml_level_key(const std::string& error) {
  if (error.find("in YAML configuration") == std::string::npos &&
      error.find("Configuration file") == std::string::npos)
    return "";
  if (error.find("supports up to") != std::string::npos) return "layers";
  std::smatch m;
  if (std::regex_search(error, m, std::regex("`([a-z_]+)`"))) return m[1];
  return "?";
}

}  // namespace

TEST_CASE("config: every parity corpus network.yaml") {
  AI8XSIM_REQUIRE_CORPUS();
  const std::vector<std::string> cases = corpus_cases();
  int ok = 0, refused = 0, network_level = 0;
  for (const std::string& name : cases) {
    const fs::path dir = corpus_case_dir(name);
    const fs::path yaml = dir / "network.yaml";
    const fs::path meta_path = dir / "meta.json";
    if (!fs::exists(yaml) || !fs::exists(meta_path)) continue;
    const auto meta = nlohmann::json::parse(std::ifstream(meta_path));
    const Device device = parse_device(meta.at("device").get<std::string>());
    std::string error;
    if (meta.contains("error") && meta["error"].is_string()) error = meta["error"];
    if (meta.contains("error") && meta["error"].is_array())
      for (const auto& e : meta["error"]) error += e.dump() + "\n";
    const std::string key = meta.at("status") == "ok" ? "" : yaml_level_key(error);
    CAPTURE(name);
    CAPTURE(error);
    if (key.empty()) {
      CHECK_NOTHROW(load_network_config(yaml.string(), device));
      (meta.at("status") == "ok" ? ok : network_level)++;
      continue;
    }
    try {
      load_network_config(yaml.string(), device);
      FAIL("izer's parser refused this file, ai8xsim accepted it");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Config);
      CHECK(std::string(e.what()).find("`" + key + "`") != std::string::npos);
      ++refused;
    }
  }
  MESSAGE(ok << " ok networks parsed, " << network_level
             << " networks izer refused after parsing parsed, " << refused
             << " refused by the parser as by izer");
  CHECK(ok > 0);
  CHECK(refused > 0);
}

// ------------------------------------------------------------------------------------------------
TEST_CASE("device: parse_device spellings") {
  for (const char* s : {"MAX78000", "max78000", "Ai85", "85"})
    CHECK(parse_device(s) == Device::MAX78000);
  for (const char* s : {"MAX78002", "max78002", "AI87", "87"})
    CHECK(parse_device(s) == Device::MAX78002);
  try {
    parse_device("MAX78001");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Config);
    const std::string m = e.what();
    CHECK(m.find("MAX78001") != std::string::npos);
    CHECK(m.find("MAX78000") != std::string::npos);
    CHECK(m.find("MAX78002") != std::string::npos);
  }
}

TEST_CASE("device: constants") {
  const DeviceSpec& a = device_spec(Device::MAX78000);
  const DeviceSpec& b = device_spec(Device::MAX78002);
  CHECK(a.device == Device::MAX78000);
  CHECK(b.device == Device::MAX78002);
  CHECK(a.max_layers == 32);
  CHECK(b.max_layers == 128);
  CHECK(a.max_proc == 64);
  CHECK(a.max_channels == 1024);
  CHECK(a.max_row_col == 1024);
  CHECK(b.max_row_col == 2048);
  CHECK(a.mem_size == 32768);
  CHECK(b.mem_size == 81920);
  CHECK(a.instance_bytes() == 0x8000);
  CHECK(b.instance_bytes() == 0x14000);
  CHECK(a.out_offset_limit() == 0x20000);
  CHECK(b.out_offset_limit() == 0x50000);
  CHECK(a.mask_width(0) == 768);
  CHECK(a.mask_width(1) == 768);
  CHECK(b.mask_width(16) == 5120);
  CHECK(b.mask_width(17) == 4096);
  CHECK(a.bias_size == 512);
  CHECK(b.bias_size == 2048);
  CHECK(a.tram_size == 3072);
  CHECK(b.tram_size == 12288);
  CHECK(b.c_sram_base == 0x1800000u);
  CHECK(a.c_sram_base == 0x400000u);
  CHECK_FALSE(a.support_depthwise);
  CHECK(b.support_depthwise);
  CHECK_FALSE(a.support_link_layer);
  CHECK(b.support_link_layer);
  CHECK(a.support_multipass_padded_conv1d);
  CHECK_FALSE(b.support_multipass_padded_conv1d);
  CHECK(a.emulate_eltwise_mp);
  CHECK_FALSE(b.emulate_eltwise_mp);
  CHECK(a.max_pool_passes == 1);
  CHECK(b.max_pool_passes == 65536);
  CHECK(b.max_pool_dilation == 16);
  CHECK(a.datainstance_from_offs(0x7fff) == 0);
  CHECK(b.datainstance_from_offs(0x4000) == 1);
  CHECK(a.datamem_map(0x1f) == 0x3u);
  CHECK(a.datamem_map(0, true) == 0x1111u);
  CHECK(a.apb_speed == 50);
  CHECK(b.pll_speed == 200);
}

TEST_CASE("names of the enums") {
  CHECK(std::string(device_name(Device::MAX78002)) == "MAX78002");
  CHECK(std::string(operator_name(Operator::ConvTranspose2d)) == "convtranspose2d");
  CHECK(std::string(operator_name(Operator::Passthrough)) == "passthrough");
  CHECK(std::string(eltwise_name(Eltwise::Xor)) == "xor");
  CHECK(std::string(activation_name(Activation::ReLU)) == "ReLU");
}
