// libFuzzer target: see yaml_input in fuzz/targets.h.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ai8xsim::fuzz::yaml_input(data, size);
  return 0;
}
