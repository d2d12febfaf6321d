// libFuzzer target: see c_source_input in fuzz/targets.h.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ai8xsim::fuzz::c_source_input(data, size);
  return 0;
}
