// ai8xsim fuzz targets: what each libFuzzer target (fuzz/fuzz_*.cpp) does with one input, and
// what the unit test over tests/data/fuzz-regressions/<target>/ replays in every build.
// An ai8xsim::Error of any kind but Internal is the expected outcome of a bad input and is
// swallowed; an Internal error, any other exception, a crash, a leak or undefined behaviour
// escapes and is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ai8xsim::fuzz {

// The izer network YAML loader, then the resolver and every device rule but the kernel and
// bias memory allocation on MAX78002, for the input shape the YAML implies (the first layer's
// in_channels or processors, in_dim or 8x8).
void yaml_input(const uint8_t* data, size_t size);
// The .npy reader, then the sample conversion of `ai8xsim run`.
void npy_input(const uint8_t* data, size_t size);
// The .npz reader (zip + .npy), then the weights.npz loader against a small fixed network and
// the resolver (device rules without the kernel and bias memory allocation).
void npz_input(const uint8_t* data, size_t size);
// The checkpoint reader (zip + pickle), then izer's checkpoint semantics against the same
// small fixed network, then the resolver (as for npz_input).
void checkpoint_input(const uint8_t* data, size_t size);
// The reader of izer-generated C (sim/io/c_source.h) on one text taken as every file it reads:
// the #define arrays, sampleoutput.h's known-answer records, load_input(), weights.h's
// KERNELS array and cnn.c's cnn_load_bias() with the same text as weights.h, on both devices.
void c_source_input(const uint8_t* data, size_t size);

// The fixed network npz_input and checkpoint_input load weights for (fuzz/seeds.py writes
// matching weights.npz and checkpoint seeds).
extern const char* const kFixedNetworkYaml;

}  // namespace ai8xsim::fuzz
