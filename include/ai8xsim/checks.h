// ai8xsim: what the facade says of a resolved network's fit: a device rule it breaks
// (Violation, from the rules in sim/model/checks.cpp) and the shape queries the reports use
// (input passes, the data memory a layer reads and writes).
#pragma once
#include <cstdint>
#include <string>

#include "ai8xsim/network.h"

namespace ai8xsim {

struct Violation {
  int layer = -1;         // YAML layer index, -1 for the whole network
  std::string rule;       // short identifier, e.g. "data-memory-output"
  std::string resource;   // what is short: "data memory instance", "processors", ...
  int64_t needed = 0;     // when the rule is a capacity: what the layer needs
  int64_t available = 0;  // ... and what the device has
  std::string message;    // one sentence: layer, key, value found, what is allowed
};

// Every rule broken, in izer's order (the first is what izer would report). `memory`: also
// allocate kernel and bias memory as izer does and report what does not fit, and check the
// data memory for outputs overwriting protected data (sim/memory/overlap.h); the YAML fuzz target
// leaves these out: they are not the code it tests, and they are slow there.
struct LayerPasses {
  int in_expand = 1;         // passes over the input channels: ceil(in / 64)
  int in_expand_thresh = 1;  // processors per input pass
  int out_expand = 1;        // passes writing the output channels
  int out_expand_thresh = 1; // processors per output pass
};
LayerPasses layer_passes(const Network& net, const Layer& L);

// Data memory a layer's input and output take in one memory instance, in izer's units
// (bytes: 4 channels per 32-bit word in HWC; CHW input: 1 channel per word), before the
// offset. These are what the device's instance size (DeviceSpec::instance_bytes) bounds.
int64_t input_data_size(const Network& net, const Layer& L);
int64_t output_data_size(const Network& net, const Layer& L);

}  // namespace ai8xsim
