// Every input a fuzz target once crashed on (tests/data/fuzz-regressions/<target>/), replayed
// through the same code the libFuzzer target runs (fuzz/targets.cpp): each must end in a clean
// ai8xsim::Error or in success, never in another exception. Run under the sanitizers
// (tests/sanitize.sh) this also catches the memory errors and undefined behaviour the inputs
// once caused.
#include <doctest/doctest.h>
#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "ai8xsim/ai8xsim.h"
#include "fuzz/targets.h"
#include "sim/model/checkpoint.h"
#include "sim/model/config_yaml.h"
#include "ai8xsim/files.h"
#include "sim/io/npy.h"
#include "sim/io/torch_checkpoint.h"
#include "tests/unit/support.h"

using ai8xsim::testing::Caught;
using ai8xsim::testing::catch_error;

namespace {

const std::string kRegressions = AI8XSIM_SOURCE_DIR "/tests/data/fuzz-regressions/";

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != ".." && name != "README.md") out.push_back(dir + "/" + name);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void replay(const std::string& target, void (*run)(const uint8_t*, size_t)) {
  const std::vector<std::string> files = files_in(kRegressions + target);
  // A folder without inputs would make this test pass without replaying anything.
  REQUIRE_MESSAGE(!files.empty(), "no regression inputs in " << kRegressions << target);
  for (const std::string& f : files) {
    INFO("fuzz regression input " << f);
    const std::string bytes = ai8xsim::read_file(f);
    CHECK_NOTHROW(run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
  MESSAGE(target << ": " << files.size() << " regression inputs replayed");
}

}  // namespace

TEST_CASE("fuzz regressions: YAML loader and resolver") {
  replay("yaml", ai8xsim::fuzz::yaml_input);
}
TEST_CASE("fuzz regressions: .npy reader") { replay("npy", ai8xsim::fuzz::npy_input); }
TEST_CASE("fuzz regressions: .npz reader") { replay("npz", ai8xsim::fuzz::npz_input); }
TEST_CASE("fuzz regressions: checkpoint reader") {
  replay("checkpoint", ai8xsim::fuzz::checkpoint_input);
}

TEST_CASE("fuzz targets: the fixed network of the weights targets loads") {
  // The npz and checkpoint targets load weights for this network; a YAML error here would make
  // every one of their inputs stop before the code under test.
  const ai8xsim::NetworkConfig cfg = ai8xsim::parse_network_config(
      ai8xsim::fuzz::kFixedNetworkYaml, "fixed.yaml", ai8xsim::Device::MAX78002);
  REQUIRE(cfg.layers.size() == 3);
  CHECK(cfg.layers[2].op == ai8xsim::Operator::Linear);
  CHECK(cfg.layers[2].flatten);
}

TEST_CASE("fuzz regression npy: a uint64 sample value beyond long long is reported, not cast") {
  // fuzz_npy found that the out-of-range message converted such a value to long long
  // (undefined behaviour; in practice it printed -9223372036854775808).
  const std::string bytes =
      ai8xsim::read_file(kRegressions + "npy/ubsan-uint64-sample-value-to-long-long");
  const ai8xsim::NdArray a = ai8xsim::parse_npy(bytes, "file x.npy");
  const Caught c = catch_error([&] { ai8xsim::sample_to_tensor(a, "file x.npy"); });
  REQUIRE_MESSAGE(c.thrown, "the sample was accepted");
  CHECK(c.kind == ai8xsim::ErrorKind::Input);
  CHECK(c.message ==
        "file x.npy: element 0 is 1.84467e+19; sample values must lie in [-128, 127] "
        "(signed 8-bit)");
}

TEST_CASE("fuzz regression npz: a uint64 array value beyond int64 is refused, not cast") {
  // fuzz_npz found weights.npz values converted to int64 without a range check (undefined
  // behaviour for a uint64 bias of 2^64 - 1). The clean file is that input as numpy writes it.
  const ai8xsim::NdArrayMap arrays = ai8xsim::parse_npz(
      ai8xsim::read_file(kRegressions + "npz/ubsan-uint64-bias-to-int64-clean.npz"), "w.npz");
  const ai8xsim::NetworkConfig cfg = ai8xsim::parse_network_config(
      ai8xsim::fuzz::kFixedNetworkYaml, "fixed.yaml", ai8xsim::Device::MAX78002);
  const Caught c = catch_error(
      [&] { ai8xsim::weights_from_npz(arrays, "w.npz", cfg, ai8xsim::Device::MAX78002); });
  REQUIRE_MESSAGE(c.thrown, "the weights were accepted");
  CHECK(c.kind == ai8xsim::ErrorKind::Checkpoint);
  CHECK(c.message ==
        "file w.npz: array 'bias_000': found 1.84467e+19 at element 2, beyond the 64-bit "
        "signed integers every array here must fit in");
}
TEST_CASE("fuzz regressions: reader of izer-generated C") {
  replay("c_source", ai8xsim::fuzz::c_source_input);
}

TEST_CASE("fuzz regressions: the ok- inputs load, so the replay reaches the code past the readers") {
  // The error- inputs of yaml/ and checkpoint/ each stop at one refusal; the ok- ones load the
  // fuzz targets' fixed network, so the replay also runs the resolver and the device rules.
  const std::string yaml = ai8xsim::read_file(kRegressions + "yaml/ok-fixed-network.yaml");
  CHECK(yaml == ai8xsim::fuzz::kFixedNetworkYaml);
  const ai8xsim::NetworkConfig cfg =
      ai8xsim::parse_network_config(yaml, "ok.yaml", ai8xsim::Device::MAX78002);
  const ai8xsim::TorchCheckpoint ckpt = ai8xsim::parse_torch_checkpoint(
      ai8xsim::read_file(kRegressions + "checkpoint/ok-fixed-network-8bit.pth.tar"), "ok.pth.tar",
      ai8xsim::weight_file_limits(cfg, ai8xsim::Device::MAX78002));
  const std::vector<ai8xsim::LayerWeights> w = ai8xsim::weights_from_checkpoint(
      ckpt, "ok.pth.tar", cfg, ai8xsim::Device::MAX78002, {});
  REQUIRE(w.size() == 3);
  CHECK(w[0].quantization == 8);
  CHECK(w[2].weights.size() == 10 * 64);
}

TEST_CASE("fuzz regressions: each error- checkpoint is refused with a checkpoint error") {
  const ai8xsim::NetworkConfig cfg = ai8xsim::parse_network_config(
      ai8xsim::fuzz::kFixedNetworkYaml, "fixed.yaml", ai8xsim::Device::MAX78002);
  int refused = 0;
  for (const std::string& f : files_in(kRegressions + "checkpoint")) {
    if (f.find("/error-") == std::string::npos) continue;
    INFO("input " << f);
    const Caught c = catch_error([&] {
      const ai8xsim::TorchCheckpoint ckpt = ai8xsim::parse_torch_checkpoint(
          ai8xsim::read_file(f), "x.pth.tar",
          ai8xsim::weight_file_limits(cfg, ai8xsim::Device::MAX78002));
      ai8xsim::weights_from_checkpoint(ckpt, "x.pth.tar", cfg, ai8xsim::Device::MAX78002, {});
    });
    CHECK(c.thrown);
    CHECK(c.kind == ai8xsim::ErrorKind::Checkpoint);
    ++refused;
  }
  CHECK(refused >= 5);
}
