// ai8xsim unit tests: what several test files share (error capture, the parity corpus, YAML
// networks written inline).
#pragma once
#include <dirent.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ai8xsim/config.h"
#include "ai8xsim/error.h"
#include "sim/model/checkpoint.h"
#include "sim/model/config_yaml.h"

namespace ai8xsim::testing {

// ---- error capture -------------------------------------------------------------------------
struct Caught {
  bool thrown = false;
  ErrorKind kind = ErrorKind::Internal;
  std::string message;
  bool contains(const std::string& s) const { return message.find(s) != std::string::npos; }
};

inline Caught catch_error(const std::function<void()>& f) {
  Caught c;
  try {
    f();
  } catch (const Error& e) {
    c.thrown = true;
    c.kind = e.kind();
    c.message = e.what();
  }
  return c;
}

// ---- temporary directories -----------------------------------------------------------------
// A new empty directory under /tmp ("" when it cannot be made).
inline std::string temp_dir() {
  char tmpl[] = "/tmp/ai8xsim-test-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "";
}

// Files in `dir` named as the atomic writer's temporaries (".NAME.tmp.XXXXXX").
inline int count_temporaries(const std::string& dir) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d))
      n += e->d_name[0] == '.' && std::string(e->d_name).find(".tmp.") != std::string::npos;
    closedir(d);
  }
  return n;
}

// ---- the parity corpus (../shared/parity) ----------------------------------------------------
// AI8XSIM_PARITY_DIR overrides the default, as in tests/conftest.py.
inline const std::string kCorpus = std::getenv("AI8XSIM_PARITY_DIR")
                                       ? std::getenv("AI8XSIM_PARITY_DIR")
                                       : AI8XSIM_SOURCE_DIR "/../shared/parity";

inline bool corpus_present() { return std::ifstream(kCorpus + "/index.json").good(); }

// At the top of a test that needs the corpus: without it the test ends, with a message, or
// with a failure when the environment variable CI is set (as tests/conftest.py's
// require_corpus): CI must never pass a corpus test that checked nothing.
#define AI8XSIM_REQUIRE_CORPUS()                                                           \
  do {                                                                                     \
    if (!::ai8xsim::testing::corpus_present()) {                                           \
      if (std::getenv("CI"))                                                               \
        FAIL("parity corpus not found at " << ::ai8xsim::testing::kCorpus                  \
                                           << " and CI is set (set AI8XSIM_PARITY_DIR)"); \
      MESSAGE("parity corpus not found at " << ::ai8xsim::testing::kCorpus << "; skipped"); \
      return;                                                                              \
    }                                                                                      \
  } while (0)

// The case names, sorted; empty when the corpus is absent (AI8XSIM_REQUIRE_CORPUS first).
// The corpus's pending/ cases (izer runs of features that joined ai8xsim after the corpus was
// made; the corpus is read-only) count as regular cases: corpus_case_dir() finds them.
inline std::vector<std::string> corpus_cases() {
  std::vector<std::string> names;
  for (const std::string& dir : {kCorpus + "/cases", kCorpus + "/pending/cases"})
    if (DIR* d = opendir(dir.c_str())) {
      while (const dirent* e = readdir(d))
        if (e->d_name[0] != '.') names.push_back(e->d_name);
      closedir(d);
    }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// The folder of a corpus case: cases/<name>, or pending/cases/<name>.
inline std::string corpus_case_dir(const std::string& name) {
  const std::string main = kCorpus + "/cases/" + name;
  if (DIR* d = opendir(main.c_str())) {
    closedir(d);
    return main;
  }
  return kCorpus + "/pending/cases/" + name;
}

// Whether an izer command line (meta.json's izer_command) holds flag `f`.
inline bool has_flag(const nlohmann::json& cmd, const std::string& f) {
  for (const auto& a : cmd)
    if (a.is_string() && a.get<std::string>() == f) return true;
  return false;
}

// ---- networks written inline -----------------------------------------------------------------
// A network YAML from its `layers:` entries (the header is added).
inline NetworkConfig yaml_config(const std::string& layers, Device dev = Device::MAX78000) {
  return parse_network_config("arch: test\ndataset: test\nlayers:\n" + layers, "test.yaml", dev);
}

// One layer's weights as the checkpoint loader leaves them: `shape` ({rows, kh, kw}, or
// {1, out, in} for Linear), every value `value`, 8-bit, output_shift `shift`.
inline LayerWeights filled_weights(const std::vector<int>& shape, int8_t value = 1,
                                   int shift = 0) {
  LayerWeights w;
  w.has_weights = true;
  w.weight_shape.assign(shape.begin(), shape.end());
  size_t n = 1;
  for (int d : shape) n *= static_cast<size_t>(d);
  w.weights.assign(n, value);
  w.output_shift = shift;
  w.quantization = 8;
  return w;
}

// A layer without weights (passthrough, element-wise).
inline LayerWeights no_weights() {
  LayerWeights w;
  w.quantization = 0;
  return w;
}

}  // namespace ai8xsim::testing
