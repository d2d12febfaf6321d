// ai8xsim: many known-answer tests on the board (`ai8xsim kat --samples`).
//
// kat_samples.h holds, for N samples, the input words (as load_input() copies them to data
// memory or pushes them into the FIFOs) and the output words izer's check_output() would
// compare, with one table of what each checked word holds (layer, pixel, channel per lane).
// kat_main.c replaces the generated main.c: it loads the weights once, then for every sample
// loads the input, starts the CNN, waits for it, compares the words and prints PASS or FAIL
// (with the address, expected and read words, layer, channel and pixel of each differing word),
// then a summary. It calls only the API of the izer-generated cnn.c (cnn_enable, cnn_init,
// cnn_load_weights, cnn_load_bias, cnn_configure, cnn_start, cnn_time); its hardware accesses
// go through macros a host build can redefine (KAT_WORD, KAT_FIFO_PUSH, KAT_WAIT, KAT_ENABLE).
#pragma once
#include <string>
#include <vector>

#include "sim/memory/kat.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

struct KatSample {
  std::vector<SampleInputArray> inputs;
  std::vector<KatWord> words;
};

// kat_samples.h for `samples` (every sample of the same network and shape, so the same arrays
// and checked words). Throws Error(Config) for what the harness does not drive (--fast-fifo).
std::string kat_samples_h(const Network& net, const std::vector<KatSample>& samples);
// kat_main.c (the same for every sample set of a network).
std::string kat_main_c(const Network& net);

}  // namespace ai8xsim
