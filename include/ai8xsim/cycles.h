// ai8xsim: the cycle model. How many CNN clock cycles a layer (and a network) takes, from
// shapes and configuration only: the model never looks at tensor data.
//
// For MAX78000 the per-layer count equals izer's latency estimate (ai8x-synthesis,
// `latency.calculate`, printed with --verbose as "ESTIMATED LATENCY"), and the network total
// equals izer's total, including its flat 1.5x guess for streaming layers. MAX78002 has no izer
// estimate; ai8xsim uses the same per-row schedule (see docs/cycle-model.md for what differs).
// docs/cycle-model.md names every term and says how every input derives from the YAML.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ai8xsim/config.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

// The hardware-level description of one layer, as the layer sequencer sees it. All
// dimensions are (rows, columns); 1-D layers are {length, 1}. These are the *hardware*
// quantities (izer's hw_* values), which differ from the logical network shapes for flatten,
// ConvTranspose2d, dilated Conv1d, multi-pass passthrough pooling and streamed 1x1 kernels;
// cycle_input_for() derives them from a resolved network.
struct CycleLayerInput {
  Device device = Device::MAX78000;

  // Informational only: shown in breakdowns, no effect on the count.
  int input_channels = 1;
  Dim2 input_dim{1, 1};

  Dim2 pool{1, 1};         // pooling window
  Dim2 pool_stride{1, 1};  // pooling stride (informational: pooled_dim already holds it)
  Dim2 pooled_dim{1, 1};   // the grid the convolution walks (ConvTranspose2d: x stride)
  int passes = 1;          // izer's multipass: input passes (ceil(in_channels / 64); see docs)
  int output_channels = 1; // output channels the sequencer writes per pass (kernel count / passes)
  Dim2 output_dim{1, 1};   // hardware output grid (flatten: the pooled grid)
  Dim2 kernel{1, 1};       // hardware kernel size
  Dim2 padding{0, 0};      // hardware padding (ConvTranspose2d: flipped)
  int operands = 1;        // element-wise operands
  bool pool_first = true;  // pool each operand before the element-wise operation
  bool passthrough = false;  // no convolution (izer's op NONE)
  int timeslots = 1;       // passthrough output time slots per pixel (izer's pass_out_chan)
  bool flatten = false;    // hardware flatten mode (more than 16 flattened pass-pixels)
  bool streaming = false;  // layer runs in streaming mode
  int kernel_offset = 0;   // kernel memory row of the layer's first kernel (pool-last pre-read)
  bool pipeline = false;   // the CNN pipeline is on (MAX78002 default): each data read stalls
};

// The CNN pipeline's cost per input data read, in tenths of a CNN cycle (docs/cycle-model.md
// §4). A fitted parameter: no public document states it; it is the one value that brings the
// pipelined MAX78002 schedule to AN7664's Table 4 (benchmarks/silicon_table.py refits it and
// reports its leave-one-out error in docs/silicon-table.md).
constexpr int64_t kPipelineStallTenthsPerRead = 74;

// One named share of a layer's cycles. The terms of a LayerCycles add up to its total.
struct CycleTerm {
  std::string name;
  int64_t cycles = 0;
};

struct LayerCycles {
  // Per-position costs (cycles for one grid position, over all passes and operands).
  int64_t pad_position = 0;   // a padding position: read slot + TRAM write, per pass (operand)
  int64_t data_position = 0;  // an input pixel: pool-window reads per operand + TRAM write(s)
  int64_t column_group = 1;   // how many times a row's columns are walked (passes when
                              // pooling after the element-wise operation, else 1)
  // Per-row costs of the frame equation.
  int64_t pad_row = 0;         // a top padding row
  int64_t fill_row = 0;        // an input row read before the kernel window is complete
  int64_t conv_row = 0;        // an input row that completes a row of output (reads only)
  int64_t bottom_pad_row = 0;  // a bottom padding row (reads only)
  int64_t output_row = 0;      // writing one output row (all channels, all passes)
  int64_t conv_row_count = 0;  // how many input rows complete an output row

  // Terms (all add up to `total`).
  int64_t flatten_adjust = 0;   // one extra cycle in hardware flatten mode
  int64_t pre_read = 0;         // MAX78000 pool-last multi-pass kernel-offset pre-read
  int64_t pad_reads = 0;        // read slots spent on padding positions
  int64_t pad_tram_writes = 0;  // TRAM writes of padding positions
  int64_t data_reads = 0;       // reads of input pixels (pool window x operands x passes)
  int64_t data_tram_writes = 0; // TRAM writes of input pixels
  int64_t row_steps = 0;        // write-state cycles of positions that do not complete an output
  int64_t output_writes = 0;    // output writes: channels x columns x passes per output row
  int64_t passthrough_writes = 0;  // passthrough: passes x time slots per pixel
  int64_t subtotal = 0;         // the layer without the streaming factor
  int64_t streaming_extra = 0;  // izer's streaming guess: subtotal x 1.5 (rounded up) - subtotal
  int64_t pipeline_stalls = 0;  // pipeline on: data reads x kPipelineStallTenthsPerRead / 10
  int64_t total = 0;
  bool estimated = false;       // true for streaming layers (izer marks them "(est)")

  std::vector<CycleTerm> terms() const;  // the non-zero terms, named, in the order above
};

// The cycles of one layer. For MAX78000 this is izer's estimate exactly.
LayerCycles estimate_layer_cycles(const CycleLayerInput& in);

// ---- networks --------------------------------------------------------------------------------

// How streaming layers are counted.
enum class StreamingModel {
  IzerEstimate,  // izer: 1.5 x the non-streaming count, rounded up (MAX78000 parity)
  FifoFeed,      // ai8xsim: compute cycles, bounded below by the input FIFO feed (docs)
};

struct CycleOptions {
  double clock_mhz = 0;  // CNN clock; 0: the device default (default_cnn_clock_mhz)
  StreamingModel streaming = StreamingModel::IzerEstimate;
  // FifoFeed only: CNN clocks between two input FIFO words (one pixel of up to 4 channels per
  // FIFO). 0: the FIFO is always full (the producer is never the bottleneck).
  double fifo_cycles_per_word = 0;
  // The CNN pipeline (izer's --pipeline / --no-pipeline): on by default where the device has
  // one (MAX78002); ignored on a device without one (MAX78000).
  bool pipeline = true;
};

struct NetworkLayerCycles {
  int layer = 0;  // YAML layer index
  CycleLayerInput input;
  LayerCycles cycles;
};

struct NetworkCycles {
  Device device = Device::MAX78000;
  double clock_mhz = 0;
  int64_t startup = 1;   // izer counts one cycle to start the accelerator
  std::vector<NetworkLayerCycles> layers;  // in execution order
  int64_t stream_wait = 0;  // FifoFeed: cycles the streaming layers wait for input
  // FifoFeed: cycles still to run once the last input word has arrived: the streaming
  // layers' tails (last input row, bottom padding) and every layer that does not stream.
  int64_t after_feed = 0;
  int64_t total = 0;        // startup + every layer (+ stream_wait)
  bool estimated = false;   // any streaming layer, or a device izer does not estimate
  bool pipeline = false;    // the pipeline term was applied
  double microseconds() const { return clock_mhz > 0 ? total / clock_mhz : 0; }
};

// The CNN clock izer configures by default: MAX78000 50 MHz (APB clock, no PLL), MAX78002
// 200 MHz (PLL, pipeline on).
double default_cnn_clock_mhz(Device device);

// The hardware-level inputs of YAML layer `layer` of a resolved network (as izer derives
// them in its backend).
CycleLayerInput cycle_input_for(const Network& net, int layer);

// Every layer in execution order, the startup cycle and the total.
NetworkCycles estimate_network_cycles(const Network& net, double clock_mhz = 0);
NetworkCycles estimate_network_cycles(const Network& net, const CycleOptions& options);

}  // namespace ai8xsim
