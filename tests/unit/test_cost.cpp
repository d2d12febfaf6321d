// The cost model (ai8xsim/cost.h, docs/cycle-model.md §4 and §7): each term against a value
// worked by hand, and the rule that weight values never change cycles or cost.
#include <doctest/doctest.h>

#include <algorithm>

#include "ai8xsim/cost.h"
#include "ai8xsim/cycles.h"
#include "ai8xsim/network.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using namespace ai8xsim::testing;

namespace {

Network resolve_on(Device dev, const std::string& body, const std::vector<LayerWeights>& w,
                   InputShape in, bool fifo = false) {
  ResolveOptions o;
  o.device = dev;
  o.fifo = fifo;
  o.enforce_limits = false;
  return resolve_network(yaml_config(body, dev), w, in, o);
}

// One 3x3 convolution, 4 -> 4 channels on processors 0..3, 8x8, pad 1.
const char* kConv =
    "  - op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    processors: 0xf\n"
    "    output_processors: 0xf\n    out_offset: 0x1000\n";

}  // namespace

TEST_CASE("cost: the pipeline stalls 7.4 cycles per data read, MAX78002 only, --no-pipeline off") {
  CycleLayerInput in;
  in.device = Device::MAX78002;
  in.pooled_dim = in.output_dim = {4, 4};
  in.kernel = {1, 1};
  const int64_t plain = estimate_layer_cycles(in).total;
  in.pipeline = true;
  const LayerCycles piped = estimate_layer_cycles(in);
  CHECK(piped.data_reads == 16);                // 4x4 pixels, one pass, one operand, no pool
  CHECK(piped.pipeline_stalls == 118);          // 16 x 7.4 = 118.4, rounded
  CHECK(piped.total == plain + 118);

  const Network n2 = resolve_on(Device::MAX78002, kConv, {filled_weights({16, 3, 3}, 1)},
                                {4, 8, 8});
  CycleOptions off;
  off.pipeline = false;
  const NetworkCycles with = estimate_network_cycles(n2), without = estimate_network_cycles(n2, off);
  CHECK(with.pipeline);
  CHECK_FALSE(without.pipeline);
  // 64 pixels read once each: 64 x 7.4 = 473.6 -> 474 stall cycles.
  CHECK(with.total - without.total == 474);
  const Network n0 = resolve_on(Device::MAX78000, kConv, {filled_weights({16, 3, 3}, 1)},
                                {4, 8, 8});
  CHECK_FALSE(estimate_network_cycles(n0).pipeline);  // no pipeline on MAX78000
}

TEST_CASE("cost: words izer writes for kernels, biases, configuration and input") {
  CHECK(kernel_block_words(1, true) == 3);   // 9 bytes -> 3 words
  CHECK(kernel_block_words(4, true) == 9);   // 36 bytes -> 9 words
  CHECK(kernel_block_words(4, false) == 16); // plain loader: 4 words per row
  const Network net = resolve_on(Device::MAX78002, kConv, {filled_weights({16, 3, 3}, 1)},
                                 {4, 8, 8});
  const LoadWords w = load_words(net);
  // 4 processors x 4 kernel rows each (one per output channel): 4 blocks of 9 words.
  CHECK(w.weight_blocks == 4);
  CHECK(w.weight_words == 36);
  CHECK(w.bias_words == 0);
  CHECK(w.config_words == 14 * 4);          // one layer, 4 groups
  CHECK(w.input_words == 64);               // HWC: 64 pixels x 1 memory instance
  CHECK(load_words(net, false).weight_words == 64);
}

TEST_CASE("cost: input words for HWC, CHW and the FIFO") {
  Layer hwc;
  hwc.input_dim = {32, 32};
  hwc.in_channels = 3;
  hwc.processors = 0x7;
  CHECK(input_memory_words(hwc) == 1024);   // one instance: 4 channels per word
  hwc.processors = 0x10101;                 // three instances
  CHECK(input_memory_words(hwc) == 3072);
  Layer chw;
  chw.big_data = true;
  chw.in_channels = 1;
  chw.input_dim = {28, 28};
  CHECK(input_memory_words(chw) == 196);    // 784 pixels / 4
  const Network fifo = resolve_on(Device::MAX78002,
      "  - op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    streaming: true\n"
      "    processors: 0x7\n    output_processors: 0xf\n    out_offset: 0x1000\n",
      {filled_weights({12, 3, 3}, 1)}, {3, 8, 8}, true);
  const LoadWords w = load_words(fifo);
  CHECK(w.fifo);
  CHECK(w.fifos == 1);                      // 3 channels HWC: one FIFO
  CHECK(w.input_words == 64);               // one word per pixel
  // After the last FIFO word: the streaming layer's last input row and bottom padding row.
  // 3x3, pad 1, 8x8, 4 output channels: conv row 1x3 + 1x3 + 7x2 + 2 = 22, output row
  // 8 x 4 = 32, bottom padding row 22: 22 + 32 + (22 + 32) = 108 cycles = 0.54 us at 200 MHz.
  const NetworkCost c = estimate_network_cost(fifo, CostOptions{});
  CHECK(c.after_feed.us == doctest::Approx(0.54));
  // The feed at the inference clock, a status read and a write per word:
  // 64 x 2 x (135.5 + 7.04 / 200 MHz = 35.2) ns = 64 x 341.4 ns = 21.85 us.
  CHECK(c.input_load.us == doctest::Approx(21.8496));
  // The layer waits for the feed: it ends at least the tail after the last word.
  CHECK(c.retained_inference.us >= c.input_load.us + c.after_feed.us - 0.01);
  CostOptions no_wait;
  no_wait.fifo_wait = false;  // izer's --no-fifo-wait: one access per word
  CHECK(estimate_network_cost(fifo, no_wait).input_load.us == doctest::Approx(21.8496 / 2));
  // 16 channels HWC on four FIFOs: four words per pixel, one to each FIFO in turn.
  const Network four = resolve_on(Device::MAX78002,
      "  - op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    streaming: true\n"
      "    processors: 0x000f000f000f000f\n    output_processors: 0xf\n    out_offset: 0x1000\n",
      {filled_weights({64, 3, 3}, 1)}, {16, 8, 8}, true);
  CHECK(load_words(four).fifos == 4);
  CHECK(load_words(four).input_words == 4 * 64);
}

TEST_CASE("cost: load time, load energy and inference energy by hand") {
  CHECK(default_load_clock_mhz(Device::MAX78002) == 50);
  CHECK(default_load_clock_mhz(Device::MAX78000) == 50);
  // One access: 135.5 ns + 7.04 clocks: at 50 MHz 135.5 + 140.8 = 276.3 ns, at 200 MHz
  // 135.5 + 35.2 = 170.7 ns; RISC-V 1029 + 140.8 = 1169.8 ns.
  CHECK(access_nanoseconds(50, false) == doctest::Approx(276.3));
  CHECK(access_nanoseconds(200, false) == doctest::Approx(170.7));
  CHECK(load_microseconds(1000, 50, false) == doctest::Approx(276.3));
  CHECK(load_microseconds(1000, 50, true) == doctest::Approx(1169.8));
  CHECK(load_microseconds(1000, 100, false) == doctest::Approx(205.9));
  // 276.3 us x 9.9 mW = 2.735 uJ; 276.3 us x 50 MHz = 13,815 clocks x 661 pJ = 9.132 uJ.
  CHECK(load_microjoules(276.3, 50) == doctest::Approx(2.73537 + 9.13172));
  // 1e6 cycles x (631 + 64 x (16.2 + 3.4 x 2)) pJ = 1e6 x 2103 pJ = 2103 uJ.
  CHECK(inference_microjoules(1000000, 64, 2) == doctest::Approx(2103));
  // One processor, one pass: 631 + 16.2 + 3.4 = 650.6 pJ per cycle.
  CHECK(inference_microjoules(1000, 1, 1) == doctest::Approx(0.6506));
}

TEST_CASE("cost: a network's totals add up, and weight values change nothing") {
  const std::string body = std::string(kConv) +
      "  - op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    processors: 0xf\n"
      "    output_processors: 0xf\n    out_offset: 0\n";
  const Network a = resolve_on(Device::MAX78002, body,
                               {filled_weights({16, 3, 3}, 1), filled_weights({16, 3, 3}, 2)},
                               {4, 8, 8});
  const Network b = resolve_on(Device::MAX78002, body,
                               {filled_weights({16, 3, 3}, -7), filled_weights({16, 3, 3}, 5)},
                               {4, 8, 8});
  const NetworkCost ca = estimate_network_cost(a, CostOptions{});
  const NetworkCost cb = estimate_network_cost(b, CostOptions{});
  CHECK(ca.cycles.total == cb.cycles.total);
  CHECK(ca.inference.uj == cb.inference.uj);
  CHECK(ca.weight_load.us == cb.weight_load.us);
  double layer_uj = 0;
  for (const LayerCost& l : ca.layers) layer_uj += l.microjoules;
  CHECK(ca.inference.uj == doctest::Approx(layer_uj));
  CHECK(ca.inference.us == doctest::Approx(ca.cycles.total / 200.0));
  CHECK(ca.retained_inference.us == doctest::Approx(ca.input_load.us + ca.inference.us));
  CHECK(ca.first_inference.us ==
        doctest::Approx(ca.weight_load.us + ca.bias_config.us + ca.retained_inference.us));
  CHECK(ca.first_inference.uj ==
        doctest::Approx(ca.weight_load.uj + ca.bias_config.uj + ca.retained_inference.uj));
}
