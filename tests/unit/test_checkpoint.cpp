// izer's checkpoint semantics: which tensor each YAML layer gets, quantization, bias scaling,
// output_shift, the alignment with passthrough / weight_source layers, and every refusal.
// Small checkpoints are built in memory; the parity corpus checks the whole chain against
// what izer's loader returned (weights.npz).
#include <doctest/doctest.h>

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ai8xsim/config.h"
#include "ai8xsim/error.h"
#include "sim/model/checkpoint.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using namespace ai8xsim::testing;

namespace {


LayerConfig conv2d(int k = 3) {
  LayerConfig lc;
  lc.op = Operator::Conv2d;
  lc.kernel_size = {k, k};
  return lc;
}
LayerConfig conv1d(int k) {
  LayerConfig lc;
  lc.op = Operator::Conv1d;
  lc.kernel_size = {k, 1};
  return lc;
}
LayerConfig linear() {
  LayerConfig lc;
  lc.op = Operator::Linear;
  lc.kernel_size = {1, 1};
  return lc;
}
LayerConfig passthrough() {
  LayerConfig lc;
  lc.op = Operator::Passthrough;
  lc.kernel_size = {1, 1};
  return lc;
}

NetworkConfig network(std::vector<LayerConfig> layers) {
  NetworkConfig cfg;
  cfg.file = "net.yaml";
  cfg.arch = "tinynet";
  for (size_t k = 0; k < layers.size(); ++k) layers[k].yaml_line = 10 + 5 * static_cast<int>(k);
  cfg.layers = std::move(layers);
  return cfg;
}

struct Builder {
  TorchCheckpoint ck;
  Builder() {
    ck.has_state_dict = true;
    ck.metadata["epoch"] = "3";
    ck.metadata["arch"] = "TinyNet";
  }
  Builder& add(const std::string& key, std::vector<int64_t> shape, std::vector<double> values) {
    NdArray a{DType::F32, std::move(shape), std::move(values)};
    ck.keys.push_back(key);
    ck.tensors[key] = a;
    return *this;
  }
  // A conv2d weight of out x in x k x k with values (i % 7) - 3, and izer's companions.
  Builder& conv(const std::string& layer, int out, int in, int k, int bits = 8) {
    std::vector<double> v;
    for (int i = 0; i < out * in * k * k; ++i) v.push_back(i % 7 - 3);
    add(layer + ".output_shift", {1}, {-1});
    add(layer + ".weight_bits", {1}, {static_cast<double>(bits)});
    return add(layer + ".op.weight", {out, in, k, k}, v);
  }
};

std::vector<LayerWeights> load(const Builder& b, const NetworkConfig& cfg,
                               Device dev = Device::MAX78000, std::vector<int> no_bias = {}) {
  return weights_from_checkpoint(b.ck, "ck.pth.tar", cfg, dev, no_bias);
}

Caught load_error(const Builder& b, const NetworkConfig& cfg, Device dev = Device::MAX78000) {
  return catch_error([&] { load(b, cfg, dev); });
}

}  // namespace

TEST_CASE("checkpoint: a conv layer's weights, bias, shift and quantization as izer loads them") {
  Builder b;
  b.conv("c1", 2, 3, 3);
  b.add("c1.op.bias", {2}, {256, -300});  // divided by 2^(8-1) and floored: 2, -3
  const auto w = load(b, network({conv2d()}));
  REQUIRE(w.size() == 1);
  CHECK(w[0].has_weights);
  CHECK(w[0].weight_shape == std::vector<int64_t>{6, 3, 3});  // (out * in, kh, kw)
  CHECK(w[0].weights.size() == 54);
  CHECK(static_cast<int>(w[0].weights[8]) == 8 % 7 - 3);
  CHECK(w[0].has_bias);
  CHECK(w[0].bias == std::vector<int64_t>{2, -3});
  CHECK(w[0].quantization == 8);
  CHECK(w[0].output_shift == -1);  // stored -1, plus 8 - 8
  CHECK(w[0].weight_key == "c1.op.weight");
  CHECK(w[0].bias_key == "c1.op.bias");
}

TEST_CASE("checkpoint: weight_bits set the quantization, the implicit shift and the bias scale") {
  Builder b;
  b.add("c.output_shift", {1}, {2}).add("c.weight_bits", {1}, {4});
  b.add("c.op.weight", {1, 1, 3, 3}, {-8, 7, 0, 1, 2, 3, 4, 5, 6});
  b.add("c.op.bias", {1}, {40});  // 40 / 2^3 = 5
  const auto w = load(b, network({conv2d()}));
  CHECK(w[0].quantization == 4);
  CHECK(w[0].output_shift == 2 + 4);
  CHECK(w[0].bias == std::vector<int64_t>{5});

  Builder zero_bits;  // weight_bits 0 means 8, for the bias scale and the quantization
  zero_bits.add("c.weight_bits", {1}, {0}).add("c.op.weight", {1, 1, 3, 3}, std::vector<double>(9, 5));
  zero_bits.add("c.op.bias", {1}, {-129});
  const auto z = load(zero_bits, network({conv2d()}));
  CHECK(z[0].quantization == 8);
  CHECK(z[0].bias == std::vector<int64_t>{-2});
  CHECK(z[0].output_shift == 0);  // no output_shift tensor: 0
}

TEST_CASE("checkpoint: binary and all-zero weights, per device") {
  Builder b;
  b.add("c.op.weight", {1, 1, 3, 3}, {1, -1, 1, 1, -1, -1, 1, 1, 1});
  const auto on02 = load(b, network({conv2d()}), Device::MAX78002);
  CHECK(on02[0].quantization == -1);
  CHECK(on02[0].output_shift == 7);
  CHECK(on02[0].weights[1] == -1);
  const auto on00 = load(b, network({conv2d()}), Device::MAX78000);
  CHECK(on00[0].quantization == 8);  // no binary weights on the MAX78000
  CHECK(on00[0].output_shift == 0);

  Builder zeros;
  zeros.add("c.op.weight", {1, 1, 3, 3}, std::vector<double>(9, 0));
  const auto z = load(zeros, network({conv2d()}));
  CHECK(z[0].quantization == 1);
  CHECK(z[0].output_shift == 7);
}

TEST_CASE("checkpoint: the YAML's quantization and output_shift take precedence") {
  Builder b;
  b.conv("c", 1, 1, 3);  // values -3..3, output_shift -1 in the checkpoint
  LayerConfig lc = conv2d();
  lc.quantization = 4;
  lc.output_shift = 3;
  const auto w = load(b, network({lc}));
  CHECK(w[0].quantization == 4);
  CHECK(w[0].output_shift == 3 + 4);

  lc.quantization = 2;  // -3 does not fit 2 bits
  const Caught c = load_error(b, network({lc}));
  CHECK(c.kind == ErrorKind::Checkpoint);
  CHECK(c.contains("file ck.pth.tar: layer 0 (net.yaml line 10), key 'c.op.weight'"));
  CHECK(c.contains("weights outside the range of 2-bit weights (found -3 at element 0; allowed "
                   "[-2, 1], from the YAML's `quantization: 2`)"));
}

TEST_CASE("checkpoint: passthrough layers get empty entries, later layers the next tensors") {
  Builder b;
  b.conv("a", 2, 1, 3).conv("b", 2, 2, 3);
  LayerConfig pool = passthrough();
  pool.output_shift = 2;
  const auto w = load(b, network({conv2d(), pool, conv2d()}));
  REQUIRE(w.size() == 3);
  CHECK(w[0].weight_key == "a.op.weight");
  CHECK_FALSE(w[1].has_weights);
  CHECK_FALSE(w[1].has_bias);
  CHECK(w[1].quantization == 0);
  CHECK(w[1].output_shift == 2);
  CHECK(w[2].weight_key == "b.op.weight");
  CHECK(w[2].weight_shape == std::vector<int64_t>{4, 3, 3});
}

TEST_CASE("checkpoint: --no-bias drops a layer's bias; a bias of the wrong length is refused") {
  Builder b;
  b.conv("a", 2, 1, 3).add("a.op.bias", {2}, {128, 128});
  b.conv("b", 2, 2, 3).add("b.op.bias", {2}, {128, 128});
  const auto w = load(b, network({conv2d(), conv2d()}), Device::MAX78000, {1});
  CHECK(w[0].has_bias);
  CHECK_FALSE(w[1].has_bias);

  Builder wrong;
  wrong.conv("a", 2, 1, 3).add("a.op.bias", {3}, {0, 0, 0});
  const Caught c = load_error(wrong, network({conv2d()}));
  CHECK(c.contains("key 'a.op.bias': bias of shape (3,); the layer has 2 output channels"));

  Builder big;
  big.conv("a", 1, 1, 3).add("a.op.bias", {1}, {128 * 128});
  const Caught r = load_error(big, network({conv2d()}));
  CHECK(r.contains("becomes 128 after dividing by 128; allowed [-128, 127]"));
}

TEST_CASE("checkpoint: linear, conv1d and convtranspose2d shapes") {
  Builder lin;
  lin.add("fc.weight", {3, 4}, std::vector<double>(12, 1)).add("fc.bias", {3}, {0, 128, 256});
  const auto l = load(lin, network({linear()}));
  CHECK(l[0].weight_shape == std::vector<int64_t>{1, 3, 4});
  CHECK(l[0].bias == std::vector<int64_t>{0, 1, 2});  // key without an op level: fc.bias

  Builder one;
  one.add("c.op.weight", {2, 3, 5}, std::vector<double>(30, 2));
  CHECK(load(one, network({conv1d(5)}))[0].weight_shape == std::vector<int64_t>{6, 5});

  // ConvTranspose2d: torch stores (in, out, kh, kw); izer flips the kernel and swaps in/out.
  Builder tr;
  std::vector<double> v;
  for (int i = 0; i < 2 * 3 * 2 * 2; ++i) v.push_back(i - 12);
  tr.add("t.op.weight", {2, 3, 2, 2}, v);
  LayerConfig lc = conv2d(2);
  lc.op = Operator::ConvTranspose2d;
  const auto t = load(tr, network({lc}));
  REQUIRE(t[0].weight_shape == std::vector<int64_t>{6, 2, 2});
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 2; ++i)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 2; ++x) {
          const double src = v[static_cast<size_t>(((i * 3 + o) * 2 + (1 - y)) * 2 + (1 - x))];
          CHECK(t[0].weights[static_cast<size_t>(((o * 2 + i) * 2 + y) * 2 + x)] == src);
        }
}

TEST_CASE("checkpoint: stale copies under another prefix are ignored, extra layers refused") {
  Builder b;
  b.conv("module.a", 2, 1, 3);
  b.conv("a", 2, 1, 3).add("a.op.bias", {2}, {128, 128});  // the copy izer never reaches
  const auto w = load(b, network({conv2d()}));
  CHECK(w[0].weight_key == "module.a.op.weight");
  CHECK_FALSE(w[0].has_bias);  // izer looks for module.a.op.bias only

  Builder extra;
  extra.conv("a", 2, 1, 3).conv("b", 4, 2, 3);
  const Caught c = load_error(extra, network({conv2d()}));
  CHECK(c.contains("weight tensor 'b.op.weight' of shape (4, 2, 3, 3) is left over"));
  CHECK(c.contains("more layers than the YAML net.yaml"));
}

TEST_CASE("checkpoint: fewer tensors than the YAML needs") {
  Builder b;
  b.conv("a", 2, 1, 3);
  const Caught c = load_error(b, network({conv2d(), passthrough(), conv2d()}));
  CHECK(c.contains("the checkpoint has 1 weight tensors"));
  CHECK(c.contains("layer 2 (net.yaml line 20) and any later ones get none"));
}

TEST_CASE("checkpoint refusals: BatchNorm, unquantized, kernel size, dimensions, out_channels") {
  Builder bn;
  bn.conv("a", 2, 1, 3).add("a.bn.weight", {2}, {0.5, 0.7}).conv("b", 2, 2, 3);
  Caught c = load_error(bn, network({conv2d(), conv2d()}));
  CHECK(c.contains("layer 1 (net.yaml line 15), key 'a.bn.weight'"));
  CHECK(c.contains("fold the BatchNorm"));

  Builder fp;
  fp.add("a.op.weight", {1, 1, 3, 3}, {0.01, -0.2, 0, 0, 0, 0, 0, 0, 0});
  c = load_error(fp, network({conv2d()}));
  CHECK(c.contains("weights are not integers (found 0.01 at element 0)"));
  CHECK(c.contains("quantize.py"));

  Builder k;
  k.conv("a", 2, 1, 3);
  c = load_error(k, network({conv2d(1)}));
  CHECK(c.contains("with a 3x3 kernel, but the YAML's `kernel_size` is 1x1"));
  c = load_error(k, network({linear()}));
  CHECK(c.contains("`kernel_size` is 1x1"));
  LayerConfig lc = conv2d();
  lc.out_channels = 5;
  c = load_error(k, network({lc}));
  CHECK(c.contains("give 2 output channels, but the YAML says `out_channels: 5`"));

  Builder five;
  five.add("a.weight", {1, 1, 1, 1, 1}, {1});
  c = load_error(five, network({conv2d()}));
  CHECK(c.contains("(5 dimensions)"));

  Builder range;
  range.add("a.weight_bits", {1}, {8}).add("a.op.weight", {1, 1, 3, 3}, {200, 0, 0, 0, 0, 0, 0, 0, 0});
  c = load_error(range, network({conv2d()}));
  CHECK(c.contains("found 200 at element 0; allowed [-128, 127], from the checkpoint's "
                   "weight_bits 8"));

  Builder odd_bits;
  odd_bits.add("a.weight_bits", {1}, {3}).add("a.op.weight", {1, 1, 3, 3}, std::vector<double>(9, 1));
  c = load_error(odd_bits, network({conv2d()}));
  CHECK(c.contains("key 'a.weight_bits': found 3"));
}

TEST_CASE("checkpoint refusals: container entries, arch, bypass") {
  Builder b;
  b.conv("a", 2, 1, 3);
  NetworkConfig cfg = network({conv2d()});
  cfg.arch = "TINYNET";  // izer compares ignoring case
  CHECK(load(b, cfg).size() == 1);
  cfg.arch = "othernet";
  Caught c = load_error(b, cfg);
  CHECK(c.contains("`arch` is 'TinyNet', but the YAML net.yaml says `arch: othernet`"));

  Builder no_epoch = b;
  no_epoch.ck.metadata.erase("epoch");
  c = load_error(no_epoch, network({conv2d()}));
  CHECK(c.contains("no `epoch` entry"));
  Builder bare = b;
  bare.ck.has_state_dict = false;
  c = load_error(bare, network({conv2d()}));
  CHECK(c.contains("no `state_dict` entry"));

  LayerConfig by = conv2d();
  by.bypass = true;
  c = load_error(b, network({conv2d(), by}));
  CHECK(c.contains("layer 1 (net.yaml line 15): `bypass: true` with a checkpoint"));
}

TEST_CASE("checkpoint: weight_source layers share an earlier layer's weights and shift") {
  Builder b;
  b.conv("a", 2, 2, 3).add("a.op.bias", {2}, {128, 0});
  LayerConfig shared = conv2d();
  shared.weight_source = 0;
  const auto w = load(b, network({conv2d(), shared}));
  REQUIRE(w.size() == 2);
  CHECK(w[1].weights == w[0].weights);
  CHECK(w[1].bias == w[0].bias);
  CHECK(w[1].output_shift == w[0].output_shift);
  CHECK(w[1].quantization == 8);
}

TEST_CASE("weights.npz: per-layer arrays, izer's default for an unset quantization") {
  NdArrayMap m;
  m["weight_000"] = NdArray{DType::I8, {2, 3, 3}, std::vector<double>(18, -2)};
  m["bias_000"] = NdArray{DType::I64, {2}, {5, -6}};
  m["output_shift"] = NdArray{DType::I64, {2}, {-1, 0}};
  m["quantization"] = NdArray{DType::I64, {2}, {0, 0}};
  const NetworkConfig cfg = network({conv2d(), passthrough()});
  const auto w = weights_from_npz(m, "w.npz", cfg, Device::MAX78000);
  CHECK(w[0].quantization == 8);
  CHECK(w[0].bias == std::vector<int64_t>{5, -6});
  CHECK(w[0].weight_shape == std::vector<int64_t>{2, 3, 3});
  CHECK(w[0].output_shift == -1);
  CHECK(w[1].quantization == 0);
  CHECK_FALSE(w[1].has_weights);

  NdArrayMap bad = m;
  bad["quantization"] = NdArray{DType::I64, {2}, {1, 0}};  // -2 does not fit 1 bit
  Caught c = catch_error([&] { weights_from_npz(bad, "w.npz", cfg, Device::MAX78000); });
  CHECK(c.contains("file w.npz: layer 0 (net.yaml line 10), array 'weight_000': weights outside"));
  bad = m;
  bad.erase("output_shift");
  c = catch_error([&] { weights_from_npz(bad, "w.npz", cfg, Device::MAX78000); });
  CHECK(c.contains("no array 'output_shift'"));
  bad = m;
  bad["weight_007"] = m["weight_000"];
  c = catch_error([&] { weights_from_npz(bad, "w.npz", cfg, Device::MAX78000); });
  CHECK(c.contains("array 'weight_007' is for layer 7, but the YAML net.yaml has 2 layers"));
  bad = m;
  bad["stray"] = m["bias_000"];
  c = catch_error([&] { weights_from_npz(bad, "w.npz", cfg, Device::MAX78000); });
  CHECK(c.contains("array 'stray': unknown name"));
}

// ---- the parity corpus ---------------------------------------------------------------------

namespace {

std::vector<int> no_bias_from(const nlohmann::json& flags) {
  std::vector<int> out;
  for (size_t k = 0; k < flags.size(); ++k) {
    std::string f = flags[k].get<std::string>(), list;
    if (f == "--no-bias" && k + 1 < flags.size()) list = flags[k + 1].get<std::string>();
    else if (f.rfind("--no-bias=", 0) == 0) list = f.substr(10);
    std::stringstream s(list);
    for (std::string item; std::getline(s, item, ',');)
      if (!item.empty()) out.push_back(std::stoi(item));
  }
  return out;
}

bool same_layer(const LayerWeights& a, const LayerWeights& b) {
  return a.has_weights == b.has_weights && a.weight_shape == b.weight_shape &&
         a.weights == b.weights && a.has_bias == b.has_bias && a.bias == b.bias &&
         a.output_shift == b.output_shift && a.quantization == b.quantization;
}

}  // namespace

TEST_CASE("corpus: load_checkpoint equals izer's weights.npz for every checkpoint case") {
  AI8XSIM_REQUIRE_CORPUS();
  int cases = 0, layers = 0, weight_layers = 0, ok_npz = 0;
  for (const std::string& name : corpus_cases()) {
    const std::string dir = corpus_case_dir(name);
    std::ifstream meta_file(dir + "/meta.json");
    if (!meta_file) continue;
    const nlohmann::json meta = nlohmann::json::parse(meta_file);
    if (meta["weights"].is_null()) continue;
    CAPTURE(name);
    const Device dev = meta["device"] == "MAX78002" ? Device::MAX78002 : Device::MAX78000;
    const NetworkConfig cfg = load_network_config(dir + "/" + meta["config"].get<std::string>(), dev);
    const auto npz = load_weights_npz(dir + "/" + meta["weights"].get<std::string>(), cfg, dev);
    CHECK(npz.size() == cfg.layers.size());
    if (meta["status"] == "ok") ++ok_npz;
    if (meta["checkpoint"].is_null()) continue;
    const auto ck = load_checkpoint(dir + "/" + meta["checkpoint"].get<std::string>(), cfg, dev,
                                    no_bias_from(meta["flags"]));
    REQUIRE(ck.size() == npz.size());
    for (size_t ll = 0; ll < ck.size(); ++ll) {
      CAPTURE(ll);
      CHECK(same_layer(ck[ll], npz[ll]));
      weight_layers += ck[ll].has_weights;
    }
    layers += static_cast<int>(ck.size());
    ++cases;
  }
  MESSAGE(cases << " checkpoint cases, " << layers << " layers (" << weight_layers
                << " with weights) compared with weights.npz; " << ok_npz
                << " ok cases' weights.npz loaded");
  CHECK(cases > 0);
}
