// ai8xsim: loading time and energy (docs/cycle-model.md §7). Shapes in; no tensor data.
#include "ai8xsim/cost.h"

#include <algorithm>

#include "sim/model/bits.h"
#include "ai8xsim/device.h"
#include "sim/memory/kernelmem.h"

namespace ai8xsim {

int64_t kernel_block_words(int64_t rows, bool mexpress) {
  return mexpress ? (rows * 9 + 3) / 4 : rows * 4;
}

namespace {

// Runs of consecutive written rows of every processor's kernel memory.
void count_kernel_blocks(const KernelMemory& mem, bool mexpress, LoadWords& w) {
  for (int p = 0; p < mem.processors(); ++p) {
    int64_t run = 0;
    for (int r = 0; r <= mem.width(p); ++r) {
      if (r < mem.width(p) && mem.is_written(p, r)) {
        ++run;
        continue;
      }
      if (run > 0) {
        w.weight_words += kernel_block_words(run, mexpress);
        ++w.weight_blocks;
      }
      run = 0;
    }
  }
}

// Memory instances (quads of processors) that hold a layer's input processors.
int memory_instances(uint64_t processors, int per_instance) {
  int n = 0;
  for (int q = 0; q < 64; q += per_instance)
    if ((processors >> q) & ((uint64_t{1} << per_instance) - 1)) ++n;
  return n;
}

}  // namespace

int64_t input_memory_words(const Layer& first) {
  const int64_t pixels = int64_t{first.input_dim[0]} * first.input_dim[1];
  if (first.big_data) return int64_t{first.in_channels} * ((pixels + 3) / 4);
  const int passes = std::max(1, (first.in_channels + 63) / 64);
  return pixels * passes * memory_instances(first.processors, 4);
}

LoadWords load_words(const Network& net, bool mexpress) {
  LoadWords w;
  count_kernel_blocks(allocate_kernels(net).memory, mexpress, w);
  const DeviceSpec& spec = device_spec(net.device);
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    w.bias_words += static_cast<int64_t>(L.bias.size());
    w.config_words += int64_t{kConfigWordsPerLayerGroup} * spec.p_numgroups;
  }
  const Layer& first = net.layers[net.order.empty() ? 0 : net.order.front()];
  w.fifo = net.fifo;
  if (w.fifo) {
    // load_input() writes one word to each FIFO in turn: HWC a pixel of up to four channels
    // per FIFO, CHW four pixels of one channel per FIFO (one FIFO a channel).
    const int64_t pixels = int64_t{first.input_dim[0]} * first.input_dim[1];
    w.fifos = first.big_data ? first.in_channels : (first.in_channels + 3) / 4;
    w.input_words = w.fifos * (first.big_data ? (pixels + 3) / 4 : pixels);
  } else {
    w.input_words = input_memory_words(first);
  }
  return w;
}

double default_load_clock_mhz(Device device) {
  const DeviceSpec& spec = device_spec(device);
  return spec.support_pll ? spec.pll_speed / 4.0 : spec.apb_speed;
}

double access_nanoseconds(double cnn_clock_mhz, bool riscv) {
  const double core = riscv ? kRiscvAccessNs : kArmAccessNs;
  return core + (cnn_clock_mhz > 0 ? 1000.0 * kAccessCnnClocks / cnn_clock_mhz : 0);
}

double load_microseconds(int64_t words, double load_clock_mhz, bool riscv) {
  return load_clock_mhz > 0 ? words * access_nanoseconds(load_clock_mhz, riscv) * 1e-3 : 0;
}

double load_microjoules(double us, double load_clock_mhz) {
  return kLoadCorePowerMw * us * 1e-3 + kLoadPjPerCnnClock * us * load_clock_mhz * 1e-6;
}

double inference_microjoules(int64_t cycles, int processors, int passes) {
  const double per_processor =
      kInferenceProcessorPjPerCycle + kInferenceProcessorPassPjPerCycle * passes;
  return cycles * (kInferenceBasePjPerCycle + per_processor * processors) * 1e-6;
}

namespace {

// Per-layer inference energy of a cycle count.
std::vector<LayerCost> layer_costs(const Network& net, const NetworkCycles& cycles) {
  std::vector<LayerCost> out;
  for (const NetworkLayerCycles& lc : cycles.layers) {
    LayerCost l;
    l.layer = lc.layer;
    l.processors = popcount64(net.layers[lc.layer].processors);
    l.passes = lc.input.passes;
    l.cycles = lc.cycles.total;
    l.microseconds = l.cycles / cycles.clock_mhz;
    l.microjoules = inference_microjoules(l.cycles, l.processors, l.passes);
    out.push_back(l);
  }
  return out;
}

double total_microjoules(const std::vector<LayerCost>& layers) {
  double uj = 0;
  for (const LayerCost& l : layers) uj += l.microjoules;
  return uj;
}

}  // namespace

NetworkCost estimate_network_cost(const Network& net, const CostOptions& options) {
  NetworkCost c;
  c.load_clock_mhz =
      options.load_clock_mhz > 0 ? options.load_clock_mhz : default_load_clock_mhz(net.device);
  c.riscv = options.riscv;
  c.words = load_words(net, options.mexpress);
  c.cycles = estimate_network_cycles(net, options.cycles);
  c.layers = layer_costs(net, c.cycles);
  c.inference = {c.cycles.microseconds(), total_microjoules(c.layers)};
  const bool rv = options.riscv;
  const double load_mhz = c.load_clock_mhz;
  c.weight_load.us = load_microseconds(c.words.weight_words + c.words.weight_blocks, load_mhz, rv);
  c.bias_config.us = load_microseconds(c.words.bias_words + c.words.config_words, load_mhz, rv);
  for (Cost* k : {&c.weight_load, &c.bias_config}) k->uj = load_microjoules(k->us, load_mhz);
  if (!c.words.fifo) {
    c.input_load.us = load_microseconds(c.words.input_words, load_mhz, rv);
    c.input_load.uj = load_microjoules(c.input_load.us, load_mhz);
    c.retained_inference = {c.input_load.us + c.inference.us, c.input_load.uj + c.inference.uj};
  } else {
    // izer's code starts the CNN at the inference clock, then feeds the FIFOs: each access at
    // that clock. The streaming layers wait for the feed (FifoFeed, docs/cycle-model.md §6).
    const double mhz = c.cycles.clock_mhz;
    const int accesses = options.fifo_wait ? kFifoWaitAccessesPerWord : 1;
    c.input_load.us = c.words.input_words * accesses * access_nanoseconds(mhz, rv) * 1e-3;
    c.input_load.uj = kLoadCorePowerMw * c.input_load.us * 1e-3;  // the CNN clock: the run's
    CycleOptions feed = options.cycles;
    feed.streaming = StreamingModel::FifoFeed;
    feed.fifo_cycles_per_word =
        c.input_load.us * mhz * c.words.fifos / std::max<int64_t>(1, c.words.input_words);
    const NetworkCycles f = estimate_network_cycles(net, feed);
    const double run_uj = total_microjoules(layer_costs(net, f)) +
                          kInferenceBasePjPerCycle * f.stream_wait * 1e-6;
    c.after_feed.us = f.after_feed / f.clock_mhz;
    c.after_feed.uj = f.total > 0 ? run_uj * f.after_feed / f.total : 0;
    c.retained_inference = {f.microseconds(), run_uj + c.input_load.uj};
  }
  c.first_inference = {c.weight_load.us + c.bias_config.us + c.retained_inference.us,
                       c.weight_load.uj + c.bias_config.uj + c.retained_inference.uj};
  return c;
}

}  // namespace ai8xsim
