// The cycle model (sim/timing/cycles.*): izer's own latency test values, the breakdown's consistency,
// edge cases, the derivation of the hardware inputs from a resolved network, and every
// MAX78000 case of the parity corpus against izer's printed latency.
#include <doctest/doctest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ai8xsim/error.h"
#include "sim/model/checkpoint.h"
#include "sim/model/checks.h"
#include "ai8xsim/cycles.h"
#include "sim/memory/kernelmem.h"
#include "sim/io/npy.h"
#include "ai8xsim/network.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using namespace ai8xsim::testing;

namespace {

// A layer described the way izer's test_cycles wrapper describes it: the logical input, and
// the pooled and output dimensions derived without dilation (ConvTranspose2d: the input
// upsampled by 2 first). The wrapper's output channels are the kernel count per pass, i.e.
// the given output channels.
struct IzerTestLayer {
  int in_chan = 1;
  Dim2 in_dim{1, 1};
  Dim2 pool{1, 1};
  Dim2 pool_stride{1, 1};
  int passes = 1;
  int out_chan = 1;
  Dim2 kernel{3, 3};
  Dim2 padding{1, 1};
  int operands = 1;
  bool pool_first = true;
  bool passthrough = false;
  bool transpose = false;
  int timeslots = 1;
  bool flatten = false;
};

CycleLayerInput from_izer_test(const IzerTestLayer& t) {
  CycleLayerInput in;
  in.device = Device::MAX78000;
  in.input_channels = t.in_chan;
  in.input_dim = t.in_dim;
  const Dim2 walked = t.transpose ? Dim2{t.in_dim[0] * 2, t.in_dim[1] * 2} : t.in_dim;
  for (int a = 0; a < 2; ++a) {
    in.pooled_dim[a] = (walked[a] + t.pool_stride[a] - t.pool[a]) / t.pool_stride[a];
    in.output_dim[a] = in.pooled_dim[a] - t.kernel[a] + 2 * t.padding[a] + 1;
  }
  in.pool = t.pool;
  in.pool_stride = t.pool_stride;
  in.passes = t.passes;
  in.output_channels = t.out_chan;
  in.kernel = t.kernel;
  in.padding = t.padding;
  in.operands = t.operands;
  in.pool_first = t.pool_first;
  in.passthrough = t.passthrough;
  in.timeslots = t.timeslots;
  in.flatten = t.flatten;
  return in;
}

// izer's wrapper adds the startup cycle to its single layer.
int64_t with_startup(const IzerTestLayer& t) {
  return 1 + estimate_layer_cycles(from_izer_test(t)).total;
}

int64_t sum_of_terms(const LayerCycles& c) {
  int64_t s = 0;
  for (const CycleTerm& t : c.terms()) s += t.cycles;
  return s;
}

}  // namespace

// ---- izer/test/test_cycles.py, every golden value -----------------------------------------------

TEST_CASE("cycles: izer's test_cycles golden values (MAX78000, startup included)") {
  IzerTestLayer t;

  SUBCASE("64x20x20, max pool 2x2 stride 2, pad 2, 16 outputs") {
    t.in_chan = 64; t.in_dim = {20, 20}; t.pool = {2, 2}; t.pool_stride = {2, 2};
    t.out_chan = 16; t.padding = {2, 2};
    CHECK(with_startup(t) == 3049);
  }
  SUBCASE("3x65x65, pool 16x16 stride 4, 32 outputs") {
    t.in_chan = 3; t.in_dim = {65, 65}; t.pool = {16, 16}; t.pool_stride = {4, 4};
    t.out_chan = 32;
    CHECK(with_startup(t) == 49010);
  }
  SUBCASE("3x32x32, no pool, pad 1, 64 outputs") {
    t.in_chan = 3; t.in_dim = {32, 32}; t.out_chan = 64;
    CHECK(with_startup(t) == 67981);
  }
  SUBCASE("3x32x32, no pool, pad 0, 64 outputs") {
    t.in_chan = 3; t.in_dim = {32, 32}; t.out_chan = 64; t.padding = {0, 0};
    CHECK(with_startup(t) == 59773);
  }
  SUBCASE("3x32x32, pool 2x2 stride 2, pad 0, 64 outputs") {
    t.in_chan = 3; t.in_dim = {32, 32}; t.pool = {2, 2}; t.pool_stride = {2, 2};
    t.out_chan = 64; t.padding = {0, 0};
    CHECK(with_startup(t) == 13885);
  }
  SUBCASE("128x8x8, two passes, pool 2x2 stride 2, pad 1, 16 outputs") {
    t.in_chan = 128; t.in_dim = {8, 8}; t.pool = {2, 2}; t.pool_stride = {2, 2};
    t.passes = 2; t.out_chan = 16;
    CHECK(with_startup(t) == 773);
  }
  SUBCASE("128x8x8, two passes, no pool, pad 1, 16 outputs") {
    t.in_chan = 128; t.in_dim = {8, 8}; t.passes = 2; t.out_chan = 16;
    CHECK(with_startup(t) == 2485);
  }
  SUBCASE("128x8x8, two passes, no pool, pad 0, 16 outputs") {
    t.in_chan = 128; t.in_dim = {8, 8}; t.passes = 2; t.out_chan = 16; t.padding = {0, 0};
    CHECK(with_startup(t) == 1437);
  }
  SUBCASE("1x28x28, pad 1, 8 outputs") {
    t.in_chan = 1; t.in_dim = {28, 28}; t.out_chan = 8;
    CHECK(with_startup(t) == 8189);
  }
  SUBCASE("element-wise add passthrough 4x12x12, two operands") {
    t.in_chan = 4; t.in_dim = {12, 12}; t.out_chan = 4; t.kernel = {1, 1};
    t.padding = {0, 0}; t.operands = 2; t.passthrough = true;
    CHECK(with_startup(t) == 721);
  }
  SUBCASE("ConvTranspose2d 3x7x9, 64 outputs") {
    t.in_chan = 3; t.in_dim = {7, 9}; t.out_chan = 64; t.transpose = true;
    CHECK(with_startup(t) == 16837);
  }
  SUBCASE("12x4x4 1x1 conv with 16 time slots (flattened MLP 192 to 10)") {
    t.in_chan = 12; t.in_dim = {4, 4}; t.out_chan = 10; t.kernel = {1, 1};
    t.padding = {0, 0}; t.timeslots = 16;
    CHECK(with_startup(t) == 193);
  }
  SUBCASE("element-wise add passthrough, two passes, 3x3 kernel, pad 0") {
    t.in_chan = 4; t.in_dim = {12, 12}; t.passes = 2; t.out_chan = 4; t.padding = {0, 0};
    t.operands = 2; t.passthrough = true;
    CHECK(with_startup(t) == 1441);
  }
  SUBCASE("79x11x11, two passes, one output channel") {
    t.in_chan = 79; t.in_dim = {11, 11}; t.passes = 2; t.out_chan = 1; t.padding = {0, 0};
    CHECK(with_startup(t) == 687);
  }
  SUBCASE("element-wise passthrough pooling after the operation, 8x17x17, 2 time slots") {
    t.in_chan = 8; t.in_dim = {17, 17}; t.pool = {2, 2}; t.pool_stride = {2, 2};
    t.out_chan = 8; t.kernel = {1, 1}; t.padding = {0, 0}; t.operands = 2;
    t.pool_first = false; t.passthrough = true; t.timeslots = 2;
    CHECK(with_startup(t) == 705);
  }
  SUBCASE("flattened 12x8x8 to 10 (hardware flatten)") {
    t.in_chan = 12; t.in_dim = {8, 8}; t.out_chan = 10; t.kernel = {1, 1};
    t.padding = {0, 0}; t.flatten = true;
    CHECK(with_startup(t) == 770);
  }
  SUBCASE("single byte 1x1x1, 3x3 kernel, pad 1") {
    t.in_chan = 1; t.in_dim = {1, 1}; t.out_chan = 1;
    CHECK(with_startup(t) == 29);
  }
  SUBCASE("12x1x1 to 17, 1x1 kernel") {
    t.in_chan = 12; t.in_dim = {1, 1}; t.out_chan = 17; t.kernel = {1, 1}; t.padding = {0, 0};
    CHECK(with_startup(t) == 20);
  }
  SUBCASE("5x31x7, pad 1, 11 outputs") {
    t.in_chan = 5; t.in_dim = {31, 7}; t.out_chan = 11;
    CHECK(with_startup(t) == 3062);
  }
}

// ---- the breakdown -----------------------------------------------------------------------------

TEST_CASE("cycles: the named terms of a 1x1 input with a padded 3x3 kernel, counted by hand") {
  IzerTestLayer t;
  t.in_dim = {1, 1};
  const LayerCycles c = estimate_layer_cycles(from_izer_test(t));
  // Grid 3x3 (pad 1 around one pixel): 8 padding positions, 1 input pixel; every position but
  // the last two of the bottom row ends in a write step (7 padding + 1 pixel = 8); one output
  // row of one channel in one pass writes twice.
  CHECK(c.pad_reads == 8);
  CHECK(c.pad_tram_writes == 8);
  CHECK(c.data_reads == 1);
  CHECK(c.data_tram_writes == 1);
  CHECK(c.row_steps == 8);
  CHECK(c.output_writes == 2);
  CHECK(c.total == 28);
  CHECK(c.pad_row == 9);
  CHECK(c.fill_row == 9);
  CHECK(c.conv_row_count == 0);
  CHECK(c.bottom_pad_row == 8);
  CHECK(c.output_row == 2);
  CHECK(sum_of_terms(c) == c.total);
}

TEST_CASE("cycles: the terms add up to the frame equation for a sweep of layer shapes") {
  int checked = 0;
  for (int passthrough = 0; passthrough < 2; ++passthrough)
    for (int pool_first = 0; pool_first < 2; ++pool_first)
      for (int passes = 1; passes <= 3; ++passes)
        for (int operands = 1; operands <= 3; ++operands)
          for (int k = 1; k <= 3; ++k)
            for (int pad = 0; pad < k && pad <= 2; ++pad)
              for (int pool = 1; pool <= 3; ++pool)
                for (int flatten = 0; flatten < 2; ++flatten)
                  for (int streaming = 0; streaming < 2; ++streaming) {
                    CycleLayerInput in;
                    in.pool = {pool, pool};
                    in.pool_stride = {pool, pool};
                    in.pooled_dim = {5, 7};
                    in.output_dim = {5 - k + 2 * pad + 1, 7 - k + 2 * pad + 1};
                    in.kernel = {k, k};
                    in.padding = {pad, pad};
                    in.passes = passes;
                    in.operands = operands;
                    in.pool_first = pool_first != 0;
                    in.passthrough = passthrough != 0;
                    in.flatten = flatten != 0 && passthrough == 0;
                    in.streaming = streaming != 0;
                    in.output_channels = 1 + (passes + k) % 3;
                    in.timeslots = 1 + operands % 2;
                    in.kernel_offset = 3;
                    const LayerCycles c = estimate_layer_cycles(in);
                    CAPTURE(passthrough); CAPTURE(pool_first); CAPTURE(passes);
                    CAPTURE(operands); CAPTURE(k); CAPTURE(pad); CAPTURE(pool);
                    REQUIRE(sum_of_terms(c) == c.total);
                    REQUIRE(c.total > 0);
                    ++checked;
                  }
  CHECK(checked > 1000);
}

// ---- edge cases ----------------------------------------------------------------------------------

TEST_CASE("cycles: streaming multiplies by 1.5 and rounds up, and marks the layer estimated") {
  IzerTestLayer t;
  t.in_dim = {1, 1};  // 28 cycles
  CycleLayerInput in = from_izer_test(t);
  in.streaming = true;
  const LayerCycles c = estimate_layer_cycles(in);
  CHECK(c.subtotal == 28);
  CHECK(c.total == 42);
  CHECK(c.streaming_extra == 14);
  CHECK(c.estimated);
  // An odd subtotal rounds up: 3062 - 1 = 3061 -> 4591.5 -> 4592.
  IzerTestLayer u;
  u.in_chan = 5; u.in_dim = {31, 7}; u.out_chan = 11;
  CycleLayerInput v = from_izer_test(u);
  v.streaming = true;
  CHECK(estimate_layer_cycles(v).total == 4592);
}

TEST_CASE("cycles: one output channel costs one more write per output row only in one pass") {
  IzerTestLayer t;
  t.in_dim = {4, 4}; t.out_chan = 1;
  const CycleLayerInput one = from_izer_test(t);
  CHECK(estimate_layer_cycles(one).output_row == 4 + 1);
  CycleLayerInput two = one;
  two.passes = 2;
  CHECK(estimate_layer_cycles(two).output_row == 2 * 4);
  CycleLayerInput wide = one;
  wide.output_channels = 2;
  CHECK(estimate_layer_cycles(wide).output_row == 2 * 4);
}

TEST_CASE("cycles: the kernel-offset pre-read applies to MAX78000 multi-pass pool-last convolutions") {
  CycleLayerInput in;
  in.pooled_dim = {6, 6};
  in.output_dim = {6, 6};
  in.kernel = {3, 3};
  in.padding = {1, 1};
  in.pool = {2, 2};
  in.pool_first = false;
  in.passes = 2;
  in.output_channels = 8;
  in.kernel_offset = 5;
  const LayerCycles c = estimate_layer_cycles(in);
  // ((6 + 2 - 3 + 1) * 1 + (6 + 2 - 3 + 1) * 1 - 1) * 5 = 11 * 5
  CHECK(c.pre_read == 55);
  CycleLayerInput no_offset = in;
  no_offset.kernel_offset = 0;
  CHECK(c.total - estimate_layer_cycles(no_offset).total == 55);
  CycleLayerInput single = in;
  single.passes = 1;
  CHECK(estimate_layer_cycles(single).pre_read == 0);
  CycleLayerInput other_device = in;
  other_device.device = Device::MAX78002;
  CHECK(estimate_layer_cycles(other_device).pre_read == 0);
  CycleLayerInput pool_first = in;
  pool_first.pool_first = true;
  CHECK(estimate_layer_cycles(pool_first).pre_read == 0);
}

TEST_CASE("cycles: pooling before and after the element-wise operation cost differently") {
  CycleLayerInput in;
  in.pooled_dim = {4, 4};
  in.output_dim = {4, 4};
  in.kernel = {1, 1};
  in.padding = {0, 0};
  in.pool = {2, 2};
  in.operands = 3;
  in.passes = 2;
  in.passthrough = true;
  in.pool_first = true;
  // Pool first: each operand pooled and written: 2 x 3 x (4 reads + 1 write) per pixel.
  CHECK(estimate_layer_cycles(in).data_position == 2 * 3 * 5);
  in.pool_first = false;
  // Pool last: all operands read, one combined write per pass: 2 x (3 x 4 + 1).
  CHECK(estimate_layer_cycles(in).data_position == 2 * (3 * 4 + 1));
  CHECK(estimate_layer_cycles(in).column_group == 2);  // pool last walks columns per pass
}

TEST_CASE("cycles: invalid inputs are refused") {
  CycleLayerInput in;
  in.passes = 0;
  CHECK_THROWS_AS(estimate_layer_cycles(in), Error);
  CycleLayerInput k;
  k.kernel = {0, 3};
  CHECK_THROWS_AS(estimate_layer_cycles(k), Error);
}

// ---- derivation from a resolved network ---------------------------------------------------------

namespace {


LayerWeights kernels(int rows, int kh, int kw, int8_t value = 1) {
  return filled_weights({rows, kh, kw}, value);
}

LayerWeights linear(int out, int in) { return filled_weights({1, out, in}); }

Network resolve(const NetworkConfig& cfg, const std::vector<LayerWeights>& w, InputShape in,
                Device dev = Device::MAX78000) {
  ResolveOptions o;
  o.device = dev;
  o.enforce_limits = false;
  return resolve_network(cfg, w, in, o);
}

}  // namespace

TEST_CASE("cycles: a ConvTranspose2d walks its pooled grid times the stride with flipped padding") {
  const NetworkConfig cfg = yaml_config(
      "  - op: convtranspose2d\n    kernel_size: 3x3\n    pad: 1\n    stride: 2\n"
      "    processors: 0x7\n    out_offset: 0\n");
  const Network net = resolve(cfg, {kernels(64 * 3, 3, 3)}, InputShape{3, 7, 9});
  const CycleLayerInput in = cycle_input_for(net, 0);
  CHECK(in.pooled_dim == Dim2{14, 18});
  CHECK(in.padding == Dim2{1, 1});  // 1 x (3 - 1) - 1
  CHECK(in.output_channels == 64);
  // izer's test value for the same layer (16837 with the startup cycle).
  const NetworkCycles nc = estimate_network_cycles(net);
  REQUIRE(nc.layers.size() == 1);
  CHECK(nc.layers[0].cycles.total == 16836);
  CHECK(nc.total == 16837);
  CHECK_FALSE(nc.estimated);
}

TEST_CASE("cycles: a flattening layer counts kernels per pooled pixel and walks the pooled grid") {
  const NetworkConfig cfg = yaml_config(
      "  - op: mlp\n    flatten: true\n    processors: 0xfff\n    out_offset: 0\n");
  const Network net = resolve(cfg, {linear(10, 12 * 8 * 8)}, InputShape{12, 8, 8});
  const CycleLayerInput in = cycle_input_for(net, 0);
  CHECK(in.output_dim == Dim2{8, 8});
  CHECK(in.output_channels == 10);
  CHECK(in.flatten);  // 1 pass x 64 pixels - 1 >= 16
  CHECK(estimate_network_cycles(net).total == 770);  // izer's test value

  // 12 x 4 x 4: 16 pass-pixels, below hardware flatten mode.
  const Network small = resolve(cfg, {linear(10, 12 * 4 * 4)}, InputShape{12, 4, 4});
  CHECK_FALSE(cycle_input_for(small, 0).flatten);
}

TEST_CASE("cycles: output channels are the output processor span, not the channel count") {
  // 10 output channels written to processors 4..13 of a 0x3ff0 map: start column 0, span 10.
  // Written to 0x7fe (processors 1..10): start column 1 adds one kernel slot.
  const std::string body =
      "  - op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    processors: 0x1\n"
      "    out_offset: 0\n    output_processors: ";
  const Network a = resolve(yaml_config(body + "0x3ff0\n"), {kernels(10, 3, 3)}, {1, 6, 6});
  CHECK(cycle_input_for(a, 0).output_channels == 10);
  const Network b = resolve(yaml_config(body + "0x7fe\n"), {kernels(10, 3, 3)}, {1, 6, 6});
  CHECK(cycle_input_for(b, 0).output_channels == 11);
}

TEST_CASE("cycles: a pooling passthrough with several output passes runs 2 x passes - 1") {
  const NetworkConfig cfg = yaml_config(
      "  - op: passthrough\n    max_pool: 2\n    pool_stride: 2\n"
      "    processors: 0xffffffffffffffff\n    out_offset: 0\n");
  const Network net = resolve(cfg, {no_weights()}, InputShape{128, 8, 8});
  const CycleLayerInput in = cycle_input_for(net, 0);
  CHECK(in.passthrough);
  CHECK(in.passes == 3);
  CHECK(in.timeslots == 4);  // 16 processors per group: 4 slots of 4 channels
  CHECK(in.output_channels == 128);
}

TEST_CASE("cycles: a long dilated Conv1d runs as a 3x3 Conv2d over dilation-wide rows") {
  const NetworkConfig cfg = yaml_config(
      "  - op: conv1d\n    kernel_size: 3\n    pad: 0\n    dilation: 7\n"
      "    processors: 0x1f\n    out_offset: 0x100\n");
  const Network net = resolve(cfg, {kernels(11 * 5, 3, 1)}, InputShape{5, 211, 1});
  const CycleLayerInput in = cycle_input_for(net, 0);
  CHECK(in.kernel == Dim2{3, 3});
  CHECK(in.padding == Dim2{1, 1});
  CHECK(in.pooled_dim == Dim2{31, 7});
  CHECK(in.output_dim == Dim2{31, 7});
  // izer's test value for this shape: 3062 with the startup cycle.
  CHECK(estimate_network_cycles(net).total == 3062);
}

TEST_CASE("cycles: a short dilated Conv1d stretches its kernel") {
  const NetworkConfig cfg = yaml_config(
      "  - op: conv1d\n    kernel_size: 3\n    pad: 0\n    dilation: 2\n"
      "    processors: 0x1\n    out_offset: 0\n");
  const Network net = resolve(cfg, {kernels(4, 3, 1)}, InputShape{1, 20, 1});
  CHECK(cycle_input_for(net, 0).kernel == Dim2{5, 1});
}

TEST_CASE("cycles: MAX78002 has its own clock, no izer estimate, and resets average pooling") {
  const std::string body =
      "  - op: add\n    operands: 2\n    processors: 0xf\n    out_offset: 0x1000\n"
      "  - op: passthrough\n    avg_pool: 2\n    pool_stride: 2\n    processors: 0xf\n"
      "    out_offset: 0\n";
  const Network n2 = resolve(yaml_config(body, Device::MAX78002), {no_weights(), no_weights()},
                             {8, 4, 4}, Device::MAX78002);
  const NetworkCycles c2 = estimate_network_cycles(n2);
  CHECK(c2.clock_mhz == 200);
  CHECK(c2.estimated);
  CHECK(c2.layers.size() == 3);  // the reset layer before layer 1
  const Network n0 = resolve(yaml_config(body), {no_weights(), no_weights()}, {8, 4, 4});
  const NetworkCycles c0 = estimate_network_cycles(n0);
  CHECK(c0.clock_mhz == 50);
  CHECK_FALSE(c0.estimated);
  CHECK(c0.layers.size() == 2);
  CHECK(c0.microseconds() == doctest::Approx(c0.total / 50.0));
}

TEST_CASE("cycles: a pool-last element-wise convolution takes its kernel offset for the pre-read") {
  const std::string body =
      "  - op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    processors: 0xf\n"
      "    out_offset: 0x1000\n"
      "  - op: conv2d\n    eltwise: add\n    operands: 2\n    in_sequences: [-1, 0]\n"
      "    pool_first: false\n    max_pool: 2\n    pool_stride: 2\n    kernel_size: 3x3\n"
      "    pad: 1\n    processors: 0xf\n    out_offset: 0x2000\n";
  // Different weights: izer shares identical kernels between layers (offset 0 again).
  const std::vector<LayerWeights> w = {kernels(4 * 4, 3, 3, 1), kernels(4 * 4, 3, 3, 2)};
  const Network net = resolve(yaml_config(body), w, {4, 8, 8});
  const CycleLayerInput in = cycle_input_for(net, 1);
  CHECK_FALSE(in.pool_first);
  CHECK(in.operands == 2);
  CHECK(in.kernel_offset == 4);  // after layer 0's four kernel rows on processors 0..3
  CHECK(cycle_input_for(net, 0).kernel_offset == 0);
  // ((4 + 2 - 3 + 1) x 1 + (4 + 2 - 3 + 1) x 1 - 1) x 4
  CHECK(estimate_layer_cycles(in).pre_read == 28);
  // MAX78002 needs no pre-read, so no offset either.
  const Network n2 = resolve(yaml_config(body, Device::MAX78002), w, {4, 8, 8}, Device::MAX78002);
  CHECK(cycle_input_for(n2, 1).kernel_offset == 0);
}

TEST_CASE("cycles: a 1x1 convolution streaming or fed by a streaming layer runs as 3x3, pad 1") {
  const NetworkConfig cfg = yaml_config(
      "  - op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    streaming: true\n"
      "    processors: 0x7\n    out_offset: 0x2000\n"
      "  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0xff\n"
      "    out_offset: 0\n"
      "  - op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    processors: 0xff\n"
      "    out_offset: 0x2000\n");
  ResolveOptions o;
  o.fifo = true;
  o.enforce_limits = false;
  const Network net = resolve_network(
      cfg, {kernels(8 * 3, 3, 3), kernels(8 * 8, 1, 1), kernels(8 * 8, 1, 1)}, {3, 8, 8}, o);
  const CycleLayerInput fed = cycle_input_for(net, 1);
  CHECK(fed.kernel == Dim2{3, 3});
  CHECK(fed.padding == Dim2{1, 1});
  CHECK(fed.output_dim == Dim2{8, 8});
  const CycleLayerInput after = cycle_input_for(net, 2);  // its input layer does not stream
  CHECK(after.kernel == Dim2{1, 1});
  CHECK(after.padding == Dim2{0, 0});
}

TEST_CASE("cycles: FIFO-feed streaming counts the work and waits for a slow producer") {
  const NetworkConfig cfg = yaml_config(
      "  - op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    max_pool: 2\n    pool_stride: 2\n"
      "    streaming: true\n    processors: 0x7\n    out_offset: 0x2000\n"
      "  - op: conv2d\n    kernel_size: 3x3\n    pad: 1\n    processors: 0xffff\n"
      "    out_offset: 0\n");
  ResolveOptions o;
  o.fifo = true;
  o.enforce_limits = false;
  const Network net =
      resolve_network(cfg, {kernels(16 * 3, 3, 3), kernels(8 * 16, 3, 3)}, {3, 32, 32}, o);
  const NetworkCycles izer = estimate_network_cycles(net);
  CHECK(izer.estimated);
  CHECK(izer.layers[0].cycles.total == (15 * izer.layers[0].cycles.subtotal + 9) / 10);

  CycleOptions fast;
  fast.streaming = StreamingModel::FifoFeed;
  const NetworkCycles work = estimate_network_cycles(net, fast);
  CHECK(work.stream_wait == 0);
  CHECK(work.layers[0].cycles.total == izer.layers[0].cycles.subtotal);
  CHECK(work.layers[0].cycles.estimated);

  CycleOptions slow = fast;
  slow.fifo_cycles_per_word = 100;  // 1024 pixels x 100 cycles: far slower than the layer
  const NetworkCycles waiting = estimate_network_cycles(net, slow);
  CHECK(waiting.stream_wait > 0);
  CHECK(waiting.total - waiting.stream_wait == work.total);
  CHECK(waiting.total >= 1 + 32 * 32 * 100);
}

// ---- the parity corpus ---------------------------------------------------------------------------

namespace {



InputShape shape_of(const NdArray& a) {
  InputShape s;
  s.c = a.shape.size() > 0 ? static_cast<int>(a.shape[0]) : 1;
  s.h = a.shape.size() > 1 ? static_cast<int>(a.shape[1]) : 1;
  s.w = a.shape.size() > 2 ? static_cast<int>(a.shape[2]) : 1;
  return s;
}

}  // namespace

TEST_CASE("corpus: every MAX78000 case's layer cycles and total equal izer's latency") {
  AI8XSIM_REQUIRE_CORPUS();
  int cases = 0, totals_equal = 0, rows = 0, rows_equal = 0, exact_rows = 0, exact_equal = 0;
  for (const std::string& name : corpus_cases()) {
    const std::string dir = corpus_case_dir(name);
    std::ifstream meta_file(dir + "/meta.json");
    if (!meta_file) continue;
    const nlohmann::json meta = nlohmann::json::parse(meta_file);
    if (meta.value("status", "") != "ok" || meta.value("device", "") != "MAX78000") continue;
    if (!meta.contains("latency") || meta["latency"].is_null()) continue;
    CAPTURE(name);
    const Device dev = Device::MAX78000;
    const NetworkConfig cfg =
        load_network_config(dir + "/" + meta["config"].get<std::string>(), dev);
    const auto weights =
        load_weights_npz(dir + "/" + meta["weights"].get<std::string>(), cfg, dev);
    ResolveOptions o;
    o.device = dev;
    o.fifo = has_flag(meta["flags"], "--fifo") || has_flag(meta["flags"], "--fast-fifo");
    o.fast_fifo = has_flag(meta["flags"], "--fast-fifo");
    o.overlap_data = has_flag(meta["flags"], "--overlap-data");
    o.avg_pool_rounding = has_flag(meta["flags"], "--avg-pool-rounding");
    o.enforce_limits = false;
    const InputShape input =
        shape_of(read_npy(dir + "/" + meta["sample_input"].get<std::string>()));
    const Network net = resolve_network(cfg, weights, input, o);
    const NetworkCycles nc = estimate_network_cycles(net);
    ++cases;

    const nlohmann::json& lat = meta["latency"];
    std::map<int, const NetworkLayerCycles*> by_layer;
    for (const NetworkLayerCycles& e : nc.layers) by_layer[e.layer] = &e;
    for (const auto& row : lat["rows"]) {
      if (row["layer"].is_null()) {
        CHECK(row["cycles"].get<int64_t>() == nc.startup);
        continue;
      }
      const int ll = std::stoi(row["layer"].get<std::string>());
      CAPTURE(ll);
      ++rows;
      const bool izer_estimated = row.value("estimated", false);
      exact_rows += !izer_estimated;
      REQUIRE(by_layer.count(ll) == 1);
      const LayerCycles& c = by_layer[ll]->cycles;
      CHECK(c.estimated == izer_estimated);
      CHECK(c.total == row["cycles"].get<int64_t>());
      if (c.total == row["cycles"].get<int64_t>()) {
        ++rows_equal;
        exact_equal += !izer_estimated;
      }
    }
    CHECK(nc.total == lat["total"].get<int64_t>());
    CHECK(nc.estimated == lat.value("estimated", false));
    totals_equal += nc.total == lat["total"].get<int64_t>();
  }
  MESSAGE(cases << " MAX78000 cases: " << totals_equal << " totals equal izer's; " << rows_equal
                << " of " << rows << " layer rows equal (" << exact_equal << " of " << exact_rows
                << " not estimated)");
  CHECK(cases > 0);
}

TEST_CASE("corpus: kernel counts equal the kernel memory model's; every ok case is counted") {
  AI8XSIM_REQUIRE_CORPUS();
  int layers = 0;
  for (const std::string& name : corpus_cases()) {
    const std::string dir = corpus_case_dir(name);
    std::ifstream meta_file(dir + "/meta.json");
    if (!meta_file) continue;
    const nlohmann::json meta = nlohmann::json::parse(meta_file);
    if (meta.value("status", "") != "ok") continue;
    CAPTURE(name);
    const Device dev = meta["device"] == "MAX78002" ? Device::MAX78002 : Device::MAX78000;
    const NetworkConfig cfg =
        load_network_config(dir + "/" + meta["config"].get<std::string>(), dev);
    const auto weights =
        load_weights_npz(dir + "/" + meta["weights"].get<std::string>(), cfg, dev);
    ResolveOptions o;
    o.device = dev;
    o.fifo = has_flag(meta["flags"], "--fifo") || has_flag(meta["flags"], "--fast-fifo");
    o.fast_fifo = has_flag(meta["flags"], "--fast-fifo");
    o.overlap_data = has_flag(meta["flags"], "--overlap-data");
    o.enforce_limits = false;
    const Network net = resolve_network(
        cfg, weights, shape_of(read_npy(dir + "/" + meta["sample_input"].get<std::string>())), o);
    // Every case, both devices: a count, consistent terms, estimated where izer has none.
    const NetworkCycles nc = estimate_network_cycles(net);
    int64_t sum = nc.startup;
    bool streams = false;
    for (const NetworkLayerCycles& e : nc.layers) {
      CHECK(sum_of_terms(e.cycles) == e.cycles.total);
      sum += e.cycles.total;
      streams |= e.input.streaming;
    }
    CHECK(sum == nc.total);
    CHECK(nc.estimated == (dev == Device::MAX78002 || streams));
    const KernelLayout layout = allocate_kernels(net);
    for (int ll : net.order) {
      const Layer& L = net.layers[ll];
      const KernelAllocation* a = layout.find(ll);
      if (!L.is_conv() || a == nullptr) continue;
      CAPTURE(ll);
      const LayerPasses p = layer_passes(net, L);
      const int64_t per = L.flatten ? int64_t{p.in_expand} * L.pooled_dim[0] * L.pooled_dim[1]
                                    : p.in_expand;
      CHECK(cycle_input_for(net, ll).output_channels == a->count / per);
      ++layers;
    }
  }
  MESSAGE(layers << " convolution layers: kernel count compared with the kernel memory model");
  CHECK(layers > 0);
}
