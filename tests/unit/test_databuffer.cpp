// The rolling data buffer (izer's data_buffer / buffer_shift / buffer_insert): shift and insert
// on small hand-worked buffers, the rules, and a sequence against single steps.
#include <doctest/doctest.h>

#include "ai8xsim/error.h"
#include "sim/model/checkpoint.h"
#include "sim/memory/databuffer.h"
#include "sim/memory/datamem.h"
#include "sim/engine/engine.h"
#include "ai8xsim/network.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using namespace ai8xsim::testing;

namespace {

// entries x channels x columns, value 10 * entry + channel + 1 (+ 100 * column).
Tensor numbered(int entries, int channels, int cols) {
  Tensor b(entries, channels, cols);
  for (int i = 0; i < entries; ++i)
    for (int c = 0; c < channels; ++c)
      for (int j = 0; j < cols; ++j) b.at(i, c, j) = 10 * i + c + 1 + 100 * j;
  return b;
}

NetworkConfig parse_yaml(const std::string& text) {
  return parse_network_config(text, "buffer.yaml", Device::MAX78000);
}

// A 4-entry, 2-channel buffer; layer 0 copies the sample (2 x 1 x 1), layer 1 shifts the
// buffer by one, layer 2 (a 1x1 convolution of layer 0's copy, weights all 1: both outputs =
// c0 + c1) inserts its output, layer 3 (Conv1d, kernel 3, weights all 1) reads the whole
// buffer. The shift writes over the words it reads (offset 0x104 -> 0x100): izer's overlap
// rule needs --overlap-data for it, as for the model-zoo TCN.
const char* kBufferNet =
    "arch: t\ndataset: t\n"
    "data_buffer:\n  - processors: 0x3\n    dim: 4\n    channels: 2\n    offset: 0x100\n"
    "    name: buf\n"
    "layers:\n"
    "  - processors: 0x3\n    output_processors: 0x3\n    op: passthrough\n"
    "    in_offset: 0\n    out_offset: 0x20\n"
    "  - processors: 0x3\n    output_processors: 0x3\n    op: passthrough\n"
    "    in_sequences: buf\n    in_offset: 0x104\n    in_dim: 3\n    in_channels: 2\n"
    "    out_offset: 0x100\n    buffer_shift: 1\n"
    "  - processors: 0x3\n    output_processors: 0x3\n    op: conv2d\n    kernel_size: 1x1\n"
    "    pad: 0\n    in_sequences: [0]\n    in_offset: 0x20\n    out_offset: 0x10c\n"
    "    buffer_insert: 1\n"
    "  - processors: 0x3\n    op: conv1d\n    kernel_size: 3\n    pad: 0\n"
    "    in_sequences: buf\n    in_offset: 0x100\n    in_dim: 4\n    in_channels: 2\n"
    "    out_offset: 0x200\n";

std::vector<LayerWeights> buffer_net_weights() {
  // output_shift 7: the 8-bit output stage returns the sums themselves
  return {no_weights(), no_weights(), filled_weights({4, 1, 1}, 1, 7),
          filled_weights({4, 3}, 1, 7)};
}

ResolveOptions overlap_ok() {
  ResolveOptions o;
  o.overlap_data = true;
  return o;
}

Network buffer_net(const std::string& yaml = kBufferNet) {
  return resolve_network(parse_yaml(yaml), buffer_net_weights(), InputShape{2, 1, 1},
                         overlap_ok());
}

Tensor frame(int a, int b) {
  Tensor t(2, 1, 1);
  t.data = {a, b};
  return t;
}

}  // namespace

TEST_CASE("data buffer: a shift rolls 1-D entries towards the oldest and zeroes the newest") {
  const Tensor b = numbered(4, 2, 1);  // entries [1 2] [11 12] [21 22] [31 32]
  const Tensor s1 = shift_buffer(b, 1);
  CHECK(s1.data == std::vector<int32_t>{11, 12, 21, 22, 31, 32, 0, 0});
  const Tensor s2 = shift_buffer(b, 2);
  CHECK(s2.data == std::vector<int32_t>{21, 22, 31, 32, 0, 0, 0, 0});
  CHECK(shift_buffer(b, 4).data == std::vector<int32_t>(8, 0));
  CHECK(shift_buffer(b, 9).data == std::vector<int32_t>(8, 0));
}

TEST_CASE("data buffer: a shift moves whole 2-D entries (channels x columns)") {
  const Tensor b = numbered(3, 2, 2);
  // entry i: [c0: 10i+1, 10i+101], [c1: 10i+2, 10i+102]
  const Tensor s = shift_buffer(b, 1);
  CHECK(s.data == std::vector<int32_t>{11, 111, 12, 112, 21, 121, 22, 122, 0, 0, 0, 0});
}

TEST_CASE("data buffer: an insertion writes the newest entries (izer's HWC reshape)") {
  Tensor b = numbered(4, 2, 1);
  insert_into_buffer(b, frame(5, -6), 1);
  CHECK(b.data == std::vector<int32_t>{1, 2, 11, 12, 21, 22, 5, -6});
  insert_into_buffer(b, frame(7, 8), 2);  // the one output goes into both newest entries
  CHECK(b.data == std::vector<int32_t>{1, 2, 11, 12, 7, 8, 7, 8});

  // 2-D: an output of 2 channels x 1 x 2 pixels, c0 = [1, 2], c1 = [3, 4]. In HWC order it is
  // 1 3 2 4; izer reshapes that to (channels, columns): entry c0 = [1, 3], c1 = [2, 4].
  Tensor b2 = numbered(3, 2, 2);
  Tensor out(2, 1, 2);
  out.data = {1, 2, 3, 4};
  insert_into_buffer(b2, out, 1);
  CHECK(std::vector<int32_t>(b2.data.begin() + 8, b2.data.end()) ==
        std::vector<int32_t>{1, 3, 2, 4});
  CHECK(std::vector<int32_t>(b2.data.begin(), b2.data.begin() + 8) ==
        std::vector<int32_t>{1, 101, 2, 102, 11, 111, 12, 112});
  // One value per channel is broadcast over the columns.
  insert_into_buffer(b2, frame(7, 8), 1);
  CHECK(std::vector<int32_t>(b2.data.begin() + 8, b2.data.end()) ==
        std::vector<int32_t>{7, 7, 8, 8});
  // Anything else does not fit.
  CHECK(catch_error([&] { insert_into_buffer(b2, Tensor(3, 1, 1), 1); }).thrown);
}

TEST_CASE("data buffer: readers and data memory see channels x pixels, entry fastest") {
  const Tensor b = numbered(3, 2, 2);
  const Tensor px = buffer_pixels(b);
  REQUIRE(px.c == 2);
  REQUIRE(px.h == 6);
  // pixel p = column * 3 + entry
  CHECK(px.data == std::vector<int32_t>{1, 11, 21, 101, 111, 121, 2, 12, 22, 102, 112, 122});
}

TEST_CASE("data buffer: shift, insert and a Conv1d reader in one run, and in memory") {
  const Network net = buffer_net();
  CHECK(net.layers[1].buffer_shift == 1);
  CHECK(net.layers[1].input_dim == Dim2{3, 1});
  CHECK(net.layers[3].input_dim == Dim2{4, 1});
  CHECK(net.layers[3].output_dim == Dim2{2, 1});
  Tensor start(4, 2, 1);
  start.data = {1, 2, 3, 4, 5, 6, 7, 8};
  const RunResult r = run_network(net, frame(2, 3), true, nullptr, nullptr, 1, &start);
  // shift: [3 4] [5 6] [7 8] [0 0]; insert 2 + 3 = 5 in both channels.
  REQUIRE(r.buffer);
  CHECK(r.buffer->data == std::vector<int32_t>{3, 4, 5, 6, 7, 8, 5, 5});
  CHECK(r.layers[1]->data == std::vector<int32_t>{3, 4, 5, 6, 7, 8, 0, 0});
  // Conv1d, all-one weights, kernel 3: out = sum over both channels of 3 entries, per output
  // channel the same: (3+4+5+6+7+8) = 33, (5+6+7+8+5+5) = 36.
  CHECK(r.output.data == std::vector<int32_t>{33, 36, 33, 36});

  // Memory-fed: every layer reads data memory; the result and the buffer are the same, and
  // the buffer's words hold what the engine's buffer holds.
  MemoryRunOptions o;
  o.read_inputs = true;
  MemoryRun hook(net, o);
  const RunResult m = run_network(net, frame(2, 3), true, &hook);
  const RunResult z = run_network(net, frame(2, 3));
  CHECK(m.output.data == z.output.data);
  CHECK(hook.read_differences().empty());
  const Tensor px = buffer_pixels(*z.buffer);
  buffer_words(net, [&](const WordAccess& w) {
    const uint32_t word = hook.memory().read(w.address);
    for (int lane = 0; lane < 4; ++lane)
      if (w.channel[static_cast<size_t>(lane)] >= 0)
        CHECK(static_cast<int8_t>(word >> (8 * lane)) ==
              px.at(w.channel[static_cast<size_t>(lane)], w.pixel, 0));
  });
}

TEST_CASE("data buffer: a sequence equals single steps with the buffer carried by hand") {
  const Network net = buffer_net();
  const PreparedNetwork prep = prepare_network(net);
  const std::vector<Tensor> frames = {frame(1, 2), frame(-4, 9), frame(30, -1), frame(5, 5),
                                      frame(-7, -8), frame(0, 3)};
  // By hand: the buffer holds the last four insertions (c0 + c1 of each frame), oldest first.
  std::vector<int32_t> inserted;
  std::optional<Tensor> carried;
  for (size_t t = 0; t < frames.size(); ++t) {
    Tensor hand(4, 2, 1);
    for (int i = 0; i < 4; ++i) {
      const int k = static_cast<int>(inserted.size()) - 4 + i;  // entry i's insertion
      for (int c = 0; c < 2; ++c) hand.at(i, c, 0) = k >= 0 ? inserted[k] : 0;
    }
    const RunResult step = run_network(net, frames[t], false, nullptr, nullptr, 1, &hand);
    // The sequence (fast path) carrying its own buffer.
    const RunResult seq = run_network(net, frames[t], false, nullptr, &prep, 1,
                                      carried ? &*carried : nullptr);
    CAPTURE(t);
    CHECK(seq.output.data == step.output.data);
    CHECK(seq.buffer->data == step.buffer->data);
    carried = seq.buffer;
    inserted.push_back(frames[t].data[0] + frames[t].data[1]);
  }
  // The first step from zero equals a plain run.
  CHECK(run_network(net, frames[0]).output.data ==
        run_network(net, frames[0], false, nullptr, nullptr, 1, nullptr).output.data);
  Tensor wrong(3, 2, 1);
  const Caught bad = catch_error([&] { run_network(net, frames[0], false, nullptr, nullptr, 1, &wrong); });
  CHECK(bad.thrown);
  CHECK(bad.contains("data buffer"));
  CHECK(bad.contains("4x2x1"));
}

TEST_CASE("data buffer: izer's rules and what izer's simulation cannot run are refused") {
  auto refused = [](const std::string& yaml, std::vector<LayerWeights> w,
                    std::initializer_list<const char*> words) {
    const Caught c = catch_error([&] {
      resolve_network(parse_yaml(yaml), w, InputShape{2, 1, 1}, overlap_ok());
    });
    CHECK(c.thrown);
    for (const char* s : words) {
      CAPTURE(c.message);
      CHECK(c.contains(s));
    }
  };
  const std::string net = kBufferNet;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = net;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  // A shift on a convolution (izer: "Buffer shift can only be used in a passthrough layer").
  refused(replace("op: passthrough\n    in_sequences: buf",
                  "op: conv2d\n    kernel_size: 1x1\n    pad: 0\n    in_sequences: buf"),
          {no_weights(), filled_weights({4, 1, 1}, 1), filled_weights({4, 1, 1}, 1),
           filled_weights({4, 3}, 1)},
          {"layer 1", "buffer_shift", "passthrough"});
  // An insertion that does not fit an entry (izer: "Buffer insertion unsuccessful").
  refused(replace("channels: 2\n    offset", "channels: 1\n    offset"), buffer_net_weights(),
          {"buffer_insert", "does not fit"});
  // A buffer read with other data.
  refused(replace("in_sequences: buf\n    in_offset: 0x100", "in_sequences: [buf, 1]\n    in_offset: 0x100"),
          buffer_net_weights(), {"layer 3", "in_sequences", "alone"});
  // A 32-bit insertion.
  refused(replace("    buffer_insert: 1\n", "    buffer_insert: 1\n    output_width: 32\n"),
          buffer_net_weights(), {"buffer_insert", "output_width"});
  // More channels than processors.
  refused(replace("processors: 0x3\n    dim", "processors: 0x1\n    dim"), buffer_net_weights(),
          {"`data_buffer`", "channels", "one channel per processor"});
  // No data_buffer entry.
  std::string no_buffer = net;
  no_buffer.erase(no_buffer.find("data_buffer:"), no_buffer.find("layers:") - no_buffer.find("data_buffer:"));
  const Caught c = catch_error([&] { parse_yaml(no_buffer); });
  CHECK(c.thrown);  // the name `buf` is no layer's
  CHECK(c.contains("buf"));
}
