// ai8xsim: the cycle model (docs/cycle-model.md). Shapes in, cycles out; no tensor data.
//
// The layer count is written twice on purpose: once as the per-row "frame equation"
// (layer_subtotal: rows x row cost, as izer states its estimate) and once as a census of grid
// positions (add_position_terms: how many padding positions, input pixels, row steps and
// output writes the sequencer visits, times what each costs). Both must agree; the unit tests
// check that they do for a sweep of shapes, so a slip in either shows.
#include "ai8xsim/cycles.h"

#include <algorithm>
#include <cmath>

#include "ai8xsim/error.h"
#include "sim/model/bits.h"
#include "sim/model/checks.h"
#include "ai8xsim/device.h"
#include "sim/memory/kernelmem.h"

namespace ai8xsim {

namespace {

// Unit costs of the sequencer's states, one cycle each.
constexpr int64_t kReadSlot = 1;   // one read state (one data memory read per pool tap)
constexpr int64_t kTramWrite = 1;  // writing the (pooled) value into the TRAM
constexpr int64_t kWriteStep = 1;  // the write state that ends a position not producing output

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t pool_area(const CycleLayerInput& in) { return int64_t{in.pool[0]} * in.pool[1]; }

// ---- per-position costs ------------------------------------------------------------------------

// Read slots of one padding position. Pooling first: every pass reads every operand once.
// Pooling last: the operands are combined before pooling, one read slot per pass.
int64_t pad_position_reads(const CycleLayerInput& in) {
  return in.pool_first ? int64_t{in.passes} * in.operands * kReadSlot : in.passes * kReadSlot;
}
int64_t pad_position_tram(const CycleLayerInput& in) {
  return in.pool_first ? int64_t{in.passes} * in.operands * kTramWrite : in.passes * kTramWrite;
}
// Read slots of one input pixel: the whole pool window, for every operand and pass.
int64_t data_position_reads(const CycleLayerInput& in) {
  return int64_t{in.passes} * in.operands * pool_area(in) * kReadSlot;
}
// TRAM writes of one input pixel: one per operand and pass when pooling first (each pooled
// operand is written), one per pass when pooling last (the combined value is written).
int64_t data_position_tram(const CycleLayerInput& in) {
  return in.pool_first ? int64_t{in.passes} * in.operands * kTramWrite : in.passes * kTramWrite;
}
int64_t pad_position(const CycleLayerInput& in) {
  return pad_position_reads(in) + pad_position_tram(in);
}
int64_t data_position(const CycleLayerInput& in) {
  return data_position_reads(in) + data_position_tram(in);
}
// Pooling last walks a row's columns once per pass; pooling first handles every pass at
// each column.
int64_t column_group(const CycleLayerInput& in) { return in.pool_first ? 1 : in.passes; }

// ---- per-row costs (the frame equation's rows) ------------------------------------------------

int64_t col_pad(const CycleLayerInput& in) { return in.padding[1]; }
int64_t row_pad(const CycleLayerInput& in) { return in.padding[0]; }
// Columns read before the kernel window first spans a full kernel width.
int64_t lead_columns(const CycleLayerInput& in) { return in.kernel[1] - 1 - col_pad(in); }
// Columns at which an output is computed, without the right padding.
int64_t output_columns(const CycleLayerInput& in) { return in.output_dim[1] - col_pad(in); }
// Input rows read before the kernel window first spans a full kernel height.
int64_t fill_row_count(const CycleLayerInput& in) { return in.kernel[0] - 1 - row_pad(in); }
int64_t conv_row_count(const CycleLayerInput& in) {
  return in.pooled_dim[0] - fill_row_count(in);
}

// Left and right padding of a row that produces no output: both sides with a write step.
int64_t side_pad_cycles(const CycleLayerInput& in) {
  return 2 * col_pad(in) * (pad_position(in) + kWriteStep);
}
int64_t pad_row_cycles(const CycleLayerInput& in) {
  return side_pad_cycles(in) +
         column_group(in) * in.pooled_dim[1] * (pad_position(in) + kWriteStep);
}
int64_t fill_row_cycles(const CycleLayerInput& in) {
  return side_pad_cycles(in) +
         column_group(in) * in.pooled_dim[1] * (data_position(in) + kWriteStep);
}
// A row that completes output: left padding and the lead columns end in a write step, the
// output columns and the right padding do not (the output write takes their place).
int64_t conv_row_cycles(const CycleLayerInput& in) {
  return col_pad(in) * (pad_position(in) + kWriteStep) +
         column_group(in) * lead_columns(in) * (data_position(in) + kWriteStep) +
         column_group(in) * output_columns(in) * data_position(in) +
         pad_position(in) * col_pad(in);
}
int64_t bottom_pad_row_cycles(const CycleLayerInput& in) {
  return col_pad(in) * (pad_position(in) + kWriteStep) +
         column_group(in) * lead_columns(in) * (pad_position(in) + kWriteStep) +
         column_group(in) * output_columns(in) * pad_position(in) +
         pad_position(in) * col_pad(in);
}
// A single output channel in a single pass costs one more write per column row.
bool single_channel_single_pass(const CycleLayerInput& in) {
  return in.output_channels == 1 && in.passes == 1;
}
int64_t output_row_cycles(const CycleLayerInput& in) {
  return int64_t{in.passes} * in.output_dim[1] * in.output_channels +
         (single_channel_single_pass(in) ? in.output_channels : 0);
}

int64_t flatten_adjust_cycles(const CycleLayerInput& in) { return in.flatten ? 1 : 0; }

// The pipeline: every data read of the layer stalls the sequencer (a fitted average, rounded
// to whole cycles per layer).
int64_t pipeline_stall_cycles(const CycleLayerInput& in, int64_t data_reads) {
  return in.pipeline ? (data_reads * kPipelineStallTenthsPerRead + 5) / 10 : 0;
}

// MAX78000, pooling last with several passes or operands: the kernel-offset multi-write
// re-reads the padded border once per kernel memory row before the layer's kernels. (The
// row/column pairing below is the hardware's formula as izer states it.)
bool has_pre_read(const CycleLayerInput& in) {
  return !in.pool_first && device_spec(in.device).require_mp_kernoff_multiwrite &&
         (in.passes > 1 || in.operands > 1);
}
int64_t pre_read_cycles(const CycleLayerInput& in) {
  if (!has_pre_read(in)) return 0;
  const int64_t rp = row_pad(in), cp = col_pad(in);
  const int64_t border = (in.pooled_dim[0] + 2 * rp - in.kernel[1] + 1) * cp +
                         (in.pooled_dim[1] + 2 * cp - in.kernel[0] + 1) * rp - rp * cp;
  return border * in.kernel_offset;
}

// Passthrough: every pooled pixel is read (all operands, all passes) and written once per
// pass and output time slot.
int64_t passthrough_subtotal(const CycleLayerInput& in) {
  const int64_t pixels = int64_t{in.pooled_dim[0]} * in.pooled_dim[1];
  return pixels * (data_position(in) + int64_t{in.passes} * in.timeslots);
}

int64_t convolution_subtotal(const CycleLayerInput& in) {
  const int64_t rp = row_pad(in);
  return flatten_adjust_cycles(in) + pre_read_cycles(in) + rp * pad_row_cycles(in) +
         fill_row_count(in) * fill_row_cycles(in) +
         (conv_row_cycles(in) + output_row_cycles(in)) * conv_row_count(in) +
         rp * (bottom_pad_row_cycles(in) + output_row_cycles(in));
}

// izer's streaming guess: 1.5 x, rounded up to the next cycle.
int64_t streaming_estimate(int64_t subtotal) { return floor_div(15 * subtotal + 9, 10); }

// ---- the census of positions ------------------------------------------------------------------

struct PositionCensus {
  int64_t pad_stepped = 0;   // padding positions ending in a write step
  int64_t pad_plain = 0;     // padding positions without one
  int64_t data_stepped = 0;  // input pixels ending in a write step
  int64_t data_plain = 0;    // input pixels without one
  int64_t output_rows = 0;   // output rows written
};

// What one row of each kind visits (columns already multiplied by the column group).
PositionCensus row_census_top_pad(const CycleLayerInput& in) {
  PositionCensus c;
  c.pad_stepped = 2 * col_pad(in) + column_group(in) * in.pooled_dim[1];
  return c;
}
PositionCensus row_census_fill(const CycleLayerInput& in) {
  PositionCensus c;
  c.pad_stepped = 2 * col_pad(in);
  c.data_stepped = column_group(in) * in.pooled_dim[1];
  return c;
}
PositionCensus row_census_conv(const CycleLayerInput& in) {
  PositionCensus c;
  c.pad_stepped = col_pad(in);
  c.pad_plain = col_pad(in);
  c.data_stepped = column_group(in) * lead_columns(in);
  c.data_plain = column_group(in) * output_columns(in);
  c.output_rows = 1;
  return c;
}
PositionCensus row_census_bottom_pad(const CycleLayerInput& in) {
  PositionCensus c;
  c.pad_stepped = col_pad(in) + column_group(in) * lead_columns(in);
  c.pad_plain = column_group(in) * output_columns(in) + col_pad(in);
  c.output_rows = 1;
  return c;
}

void accumulate(PositionCensus& total, const PositionCensus& row, int64_t rows) {
  total.pad_stepped += row.pad_stepped * rows;
  total.pad_plain += row.pad_plain * rows;
  total.data_stepped += row.data_stepped * rows;
  total.data_plain += row.data_plain * rows;
  total.output_rows += row.output_rows * rows;
}

PositionCensus frame_census(const CycleLayerInput& in) {
  PositionCensus c;
  accumulate(c, row_census_top_pad(in), row_pad(in));
  accumulate(c, row_census_fill(in), fill_row_count(in));
  accumulate(c, row_census_conv(in), conv_row_count(in));
  accumulate(c, row_census_bottom_pad(in), row_pad(in));
  return c;
}

void add_position_terms(const CycleLayerInput& in, LayerCycles& out) {
  if (in.passthrough) {
    const int64_t pixels = int64_t{in.pooled_dim[0]} * in.pooled_dim[1];
    out.data_reads = pixels * data_position_reads(in);
    out.data_tram_writes = pixels * data_position_tram(in);
    out.passthrough_writes = pixels * in.passes * in.timeslots;
    return;
  }
  const PositionCensus c = frame_census(in);
  const int64_t pads = c.pad_stepped + c.pad_plain;
  const int64_t pixels = c.data_stepped + c.data_plain;
  out.flatten_adjust = flatten_adjust_cycles(in);
  out.pre_read = pre_read_cycles(in);
  out.pad_reads = pads * pad_position_reads(in);
  out.pad_tram_writes = pads * pad_position_tram(in);
  out.data_reads = pixels * data_position_reads(in);
  out.data_tram_writes = pixels * data_position_tram(in);
  out.row_steps = (c.pad_stepped + c.data_stepped) * kWriteStep;
  out.output_writes = c.output_rows * output_row_cycles(in);
}

}  // namespace

std::vector<CycleTerm> LayerCycles::terms() const {
  const std::pair<const char*, int64_t> all[] = {
      {"flatten adjust", flatten_adjust},
      {"pre-read (kernel offset)", pre_read},
      {"padding reads", pad_reads},
      {"padding TRAM writes", pad_tram_writes},
      {"data reads (pool window x operands x passes)", data_reads},
      {"data TRAM writes", data_tram_writes},
      {"row steps (write state)", row_steps},
      {"output writes (channels x columns x passes)", output_writes},
      {"passthrough writes (passes x time slots)", passthrough_writes},
      {"streaming factor", streaming_extra},
      {"pipeline stalls", pipeline_stalls},
  };
  std::vector<CycleTerm> out;
  for (const auto& t : all)
    if (t.second != 0) out.push_back({t.first, t.second});
  return out;
}

LayerCycles estimate_layer_cycles(const CycleLayerInput& in) {
  if (in.passes < 1 || in.operands < 1 || in.timeslots < 1 || in.kernel[0] < 1 ||
      in.kernel[1] < 1 || in.pool[0] < 1 || in.pool[1] < 1 || in.padding[0] < 0 ||
      in.padding[1] < 0 || in.output_channels < 0)
    fail(ErrorKind::Internal,
         "cycle model: passes, operands, time slots, kernel and pool must be at least 1, "
         "padding and output channels at least 0");
  LayerCycles out;
  out.pad_position = pad_position(in);
  out.data_position = data_position(in);
  out.column_group = column_group(in);
  if (!in.passthrough) {
    out.pad_row = pad_row_cycles(in);
    out.fill_row = fill_row_cycles(in);
    out.conv_row = conv_row_cycles(in);
    out.bottom_pad_row = bottom_pad_row_cycles(in);
    out.output_row = output_row_cycles(in);
    out.conv_row_count = conv_row_count(in);
  }
  out.subtotal = in.passthrough ? passthrough_subtotal(in) : convolution_subtotal(in);
  add_position_terms(in, out);
  out.total = out.subtotal;
  if (in.streaming) {
    out.total = streaming_estimate(out.subtotal);
    out.streaming_extra = out.total - out.subtotal;
    out.estimated = true;
  }
  out.pipeline_stalls = pipeline_stall_cycles(in, out.data_reads);
  out.total += out.pipeline_stalls;
  return out;
}

// ---- from the resolved network ----------------------------------------------------------------

namespace {

int lowest_bit(uint64_t v) {  // -1 for none
  for (int i = 0; i < 64; ++i)
    if (v >> i & 1) return i;
  return -1;
}
int highest_bit(uint64_t v) {  // -1 for none
  for (int i = 63; i >= 0; --i)
    if (v >> i & 1) return i;
  return -1;
}

bool is_streamed_1x1(const Network& net, const Layer& L) {
  const DeviceSpec& spec = device_spec(net.device);
  if (!spec.emulate_1x1_streaming) return false;
  if (L.index > spec.max_stream_layers) return false;  // izer looks at the first 9 YAML layers
  if (L.kernel != Dim2{1, 1}) return false;
  if (L.op != Operator::Conv2d && L.op != Operator::ConvTranspose2d) return false;
  return L.streaming || (L.prev >= 0 && net.layers[L.prev].streaming);
}

// The number of kernels the kernel loader programs for a layer (izer's kern_count): the span
// of output processors (gaps included) per output pass, shifted by the first output
// processor's column within its memory instance, for every input pass. Depth-wise layers use
// one kernel per input pass. Flattened layers count one kernel per flattened input group.
int64_t kernel_count(const Network& net, const Layer& L, const LayerPasses& p) {
  if (!L.is_conv() || L.bypass || !L.has_weights()) return 0;
  const DeviceSpec& spec = device_spec(net.device);
  const uint64_t map = L.output_processors;
  if (map == 0) return 0;
  const int start_col = lowest_bit(map) % spec.p_shared;
  const int first_out = lowest_bit(map) - (p.out_expand > 1 ? start_col : 0);
  const int64_t in_exp = L.flatten ? 1 : p.in_expand;
  int64_t count;
  if (L.groups == 1)
    count = int64_t{1 + highest_bit(map) - first_out} * p.out_expand * in_exp +
            int64_t{start_col} * p.out_expand * in_exp;
  else
    count = in_exp + int64_t{start_col} * in_exp;
  if (L.flatten) {
    const int64_t per_group_rows =
        int64_t{L.out_channels} * p.in_expand_thresh * L.kernel[0] * L.kernel[1];
    const int64_t kernels_per_output =
        per_group_rows > 0 ? static_cast<int64_t>(L.weights.size()) / per_group_rows : 0;
    count *= kernels_per_output;
    count -= (int64_t{p.out_expand} * popcount64(map) - L.out_channels) * kernels_per_output;
  }
  return count;
}

// Passthrough output time slots: per x16 group, one slot per four (8-bit) output channels;
// the layer takes the most any group needs.
int passthrough_timeslots(const Layer& L, const DeviceSpec& spec) {
  int most = 0;
  for (int g = 0; g < spec.p_numgroups; ++g) {
    const uint64_t group_bits =
        (L.processors >> (g * spec.p_numpro)) & ((uint64_t{1} << spec.p_numpro) - 1);
    const int pop = popcount64(group_bits);
    if (pop != 0) most = std::max(most, (pop * L.output_width / 8 - 1) / 4);
  }
  return most + 1;
}

// The kernel memory row where the layer's kernels start (izer's kern_offs), only where it
// counts (the MAX78000 pool-last pre-read): it needs the whole network's kernel placement.
int kernel_offset_if_needed(const Network& net, int layer, const CycleLayerInput& in) {
  if (!has_pre_read(in)) return 0;
  const KernelLayout layout = allocate_kernels(net);
  const KernelAllocation* a = layout.find(layer);
  return a != nullptr ? a->first_row : 0;
}

}  // namespace

namespace {

// Streamed 1x1 kernels run as 3x3 with pad 1 (same output size).
void apply_streamed_1x1(const Network& net, const Layer& L, CycleLayerInput& in) {
  if (!is_streamed_1x1(net, L)) return;
  in.kernel = {3, 3};
  in.padding = {1, 1};
}

// Dilated Conv1d: a short span stretches the kernel with zeros; a long one runs as a 3x3
// Conv2d, pad 1, over rows of `dilation` columns.
void apply_dilated_conv1d(const Layer& L, const DeviceSpec& spec, CycleLayerInput& in) {
  if (L.op != Operator::Conv1d || L.dilation[0] <= 1) return;
  const int k = L.kernel[0], d = L.dilation[0];
  if ((k - 1) * d < 9) {
    in.kernel = {(k - 1) * d + 1, 1};
  } else if (k <= spec.max_dilation_1d_kernel) {
    in.input_dim = {(L.input_dim[0] + d - 1) / d, d};
    in.pooled_dim = in.input_dim;
    in.output_dim = in.input_dim;
    in.padding = {1, 1};
    in.kernel = {3, 3};
  }
}

// ConvTranspose2d walks the upsampled grid with the padding flipped to the hardware's sense.
void apply_transpose(const Layer& L, CycleLayerInput& in) {
  if (L.op != Operator::ConvTranspose2d) return;
  for (int a = 0; a < 2; ++a) {
    in.padding[a] = L.dilation[a] * (L.kernel[a] - 1) - L.padding[a];
    in.pooled_dim[a] = L.pooled_dim[a] * L.stride[a];
  }
}

// Flatten walks (and writes) the pooled grid; hardware flatten mode from 16 pass-pixels on.
void apply_flatten(const Layer& L, const LayerPasses& p, CycleLayerInput& in) {
  if (!L.flatten) return;
  in.input_dim = {L.input_dim[0] * L.pool[0], L.input_dim[1] * L.pool[1]};
  in.output_dim = {L.output_dim[0] * L.pooled_dim[0], L.output_dim[1] * L.pooled_dim[1]};
  in.flatten = p.in_expand * L.pooled_dim[0] * L.pooled_dim[1] - 1 >= 16;
}

// Input passes; a pooling passthrough with several output passes runs 2 x passes - 1 on
// devices that write each pass twice.
int layer_pass_count(const Layer& L, const LayerPasses& p, const DeviceSpec& spec) {
  if (spec.require_2x_mp_passthrough && !L.is_conv() && p.out_expand > 1 &&
      (L.pool[0] > 1 || L.pool[1] > 1))
    return 2 * p.in_expand - 1;
  return p.in_expand;
}

// Convolutions: kernels per input pass (flatten: per input pass and pooled pixel).
int conv_output_channels(const Network& net, const Layer& L, const LayerPasses& p) {
  const int64_t divisor =
      L.flatten ? int64_t{p.in_expand} * L.pooled_dim[0] * L.pooled_dim[1] : p.in_expand;
  return static_cast<int>(kernel_count(net, L, p) / std::max<int64_t>(divisor, 1));
}

}  // namespace

CycleLayerInput cycle_input_for(const Network& net, int layer) {
  if (layer < 0 || layer >= static_cast<int>(net.layers.size()))
    fail(ErrorKind::Internal, "cycle model: layer " + std::to_string(layer) + " does not exist");
  const Layer& L = net.layers[layer];
  const DeviceSpec& spec = device_spec(net.device);
  const LayerPasses p = layer_passes(net, L);

  CycleLayerInput in;
  in.device = net.device;
  in.input_channels = L.in_channels;
  in.input_dim = L.input_dim;
  in.pool = L.pool;
  in.pool_stride = L.pool_stride;
  in.pooled_dim = L.pooled_dim;
  in.output_dim = L.output_dim;
  in.kernel = L.kernel;
  in.padding = L.padding;
  in.operands = L.operands;
  in.pool_first = L.pool_first;
  in.passthrough = !L.is_conv();
  in.streaming = L.streaming;
  apply_streamed_1x1(net, L, in);
  apply_dilated_conv1d(L, spec, in);
  apply_transpose(L, in);
  apply_flatten(L, p, in);
  in.passes = layer_pass_count(L, p, spec);
  if (in.passthrough) {
    in.output_channels = L.out_channels;  // (does not enter the passthrough count)
    in.timeslots = passthrough_timeslots(L, spec);
  } else {
    in.output_channels = conv_output_channels(net, L, p);
    in.timeslots = 1;  // unused for convolutions
    in.kernel_offset = kernel_offset_if_needed(net, layer, in);
  }
  return in;
}

double default_cnn_clock_mhz(Device device) {
  const DeviceSpec& spec = device_spec(device);
  return spec.support_pll ? spec.pll_speed : spec.apb_speed;
}

namespace {

// MAX78002 inserts a one-pixel passthrough layer before an average-pooling layer that reads
// an element-wise result (izer's avgpool_reset_layer); ai8xsim counts it like any passthrough.
bool needs_avgpool_reset(const Network& net, const Layer& L) {
  const DeviceSpec& spec = device_spec(net.device);
  return spec.require_passthrough_avgpool_after_eltwise && L.prev >= 0 &&
         net.layers[L.prev].operands > 1 && L.pool_average;
}

CycleLayerInput avgpool_reset_input(Device device) {
  CycleLayerInput in;
  in.device = device;
  in.passthrough = true;
  return in;  // 1x1, one pass, one operand, one time slot
}

// FifoFeed: the words one input FIFO receives. The FIFOs (up to four) fill in parallel. HWC:
// a word is one pixel of up to four channels; CHW: a word is four pixels of one channel.
int64_t fifo_words(const Layer& first) {
  const int64_t pixels = int64_t{first.input_dim[0]} * first.input_dim[1];
  return first.big_data ? (pixels + 3) / 4 : pixels;
}

// FifoFeed: the cycles a streaming layer still has to do after its last input row arrived:
// the last input row and the bottom padding rows.
int64_t stream_tail(const CycleLayerInput& in, const LayerCycles& c) {
  if (in.passthrough) return c.subtotal / std::max(1, in.pooled_dim[0]);
  return c.conv_row + c.output_row + row_pad(in) * (c.bottom_pad_row + c.output_row);
}

}  // namespace

NetworkCycles estimate_network_cycles(const Network& net, double clock_mhz) {
  CycleOptions o;
  o.clock_mhz = clock_mhz;
  return estimate_network_cycles(net, o);
}

NetworkCycles estimate_network_cycles(const Network& net, const CycleOptions& options) {
  NetworkCycles out;
  out.device = net.device;
  out.clock_mhz = options.clock_mhz > 0 ? options.clock_mhz : default_cnn_clock_mhz(net.device);
  out.estimated = !device_spec(net.device).support_latency_calc;
  out.pipeline = options.pipeline && device_spec(net.device).support_pipeline;
  out.total = out.startup;
  const bool feed = options.streaming == StreamingModel::FifoFeed;
  int64_t stream_compute = 0, stream_tail_cycles = 0;
  int first_stream = -1;
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    if (needs_avgpool_reset(net, L)) {
      NetworkLayerCycles r;
      r.layer = ll;
      r.input = avgpool_reset_input(net.device);
      r.input.pipeline = out.pipeline;
      r.cycles = estimate_layer_cycles(r.input);
      if (feed) out.after_feed += r.cycles.total;
      out.total += r.cycles.total;
      out.layers.push_back(std::move(r));
    }
    NetworkLayerCycles e;
    e.layer = ll;
    e.input = cycle_input_for(net, ll);
    e.input.pipeline = out.pipeline;
    if (feed && e.input.streaming) {
      e.input.streaming = false;  // count the work; the feed bound is added below
      e.cycles = estimate_layer_cycles(e.input);
      e.cycles.estimated = true;
      e.input.streaming = true;
      if (first_stream < 0) first_stream = ll;
      stream_compute += e.cycles.total;
      stream_tail_cycles += stream_tail(e.input, e.cycles);
      out.after_feed += stream_tail(e.input, e.cycles);
    } else {
      e.cycles = estimate_layer_cycles(e.input);
      if (feed) out.after_feed += e.cycles.total;
    }
    out.estimated |= e.cycles.estimated;
    out.total += e.cycles.total;
    out.layers.push_back(std::move(e));
  }
  if (feed && first_stream >= 0 && options.fifo_cycles_per_word > 0) {
    const int64_t feed_cycles = static_cast<int64_t>(std::ceil(
        fifo_words(net.layers[first_stream]) * options.fifo_cycles_per_word));
    out.stream_wait = std::max<int64_t>(0, feed_cycles + stream_tail_cycles - stream_compute);
    out.total += out.stream_wait;
  }
  return out;
}

}  // namespace ai8xsim
