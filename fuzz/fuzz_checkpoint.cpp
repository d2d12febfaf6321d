// libFuzzer target: see checkpoint_input in fuzz/targets.h.
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ai8xsim::fuzz::checkpoint_input(data, size);
  return 0;
}
