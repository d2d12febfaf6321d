// ai8xsim: loading time and energy (docs/cycle-model.md §7). Shapes in; no tensor data.
#include "ai8xsim/cost.h"

#include <algorithm>

#include "sim/model/bits.h"
#include "sim/model/device.h"
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
    const int64_t pixels = int64_t{first.input_dim[0]} * first.input_dim[1];
    w.input_words = first.big_data ? (pixels + 3) / 4 : pixels;  // per FIFO, in parallel
  } else {
    w.input_words = input_memory_words(first);
  }
  return w;
}

double default_load_clock_mhz(Device device) {
  const DeviceSpec& spec = device_spec(device);
  return spec.support_pll ? spec.pll_speed / 4.0 : spec.apb_speed;
}

double load_microseconds(int64_t words, double load_clock_mhz, bool riscv) {
  const double clocks = riscv ? kRiscvLoadClocksPerWord : kArmLoadClocksPerWord;
  return load_clock_mhz > 0 ? words * clocks / load_clock_mhz : 0;
}

double load_microjoules(double us) { return kLoadPowerMw * us * 1e-3; }

double inference_microjoules(int64_t cycles, int processors, int passes) {
  const double per_processor =
      kInferenceProcessorPjPerCycle + kInferenceProcessorPassPjPerCycle * passes;
  return cycles * (kInferenceBasePjPerCycle + per_processor * processors) * 1e-6;
}

NetworkCost estimate_network_cost(const Network& net, const CostOptions& options) {
  NetworkCost c;
  c.load_clock_mhz =
      options.load_clock_mhz > 0 ? options.load_clock_mhz : default_load_clock_mhz(net.device);
  c.riscv = options.riscv;
  c.words = load_words(net, options.mexpress);
  c.cycles = estimate_network_cycles(net, options.cycles);
  const double mhz = c.cycles.clock_mhz;
  for (const NetworkLayerCycles& lc : c.cycles.layers) {
    LayerCost l;
    l.layer = lc.layer;
    l.processors = popcount64(net.layers[lc.layer].processors);
    l.passes = lc.input.passes;
    l.cycles = lc.cycles.total;
    l.microseconds = l.cycles / mhz;
    l.microjoules = inference_microjoules(l.cycles, l.processors, l.passes);
    c.inference.uj += l.microjoules;
    c.layers.push_back(l);
  }
  c.inference.us = c.cycles.microseconds();
  const bool rv = options.riscv;
  c.weight_load.us =
      load_microseconds(c.words.weight_words + c.words.weight_blocks, c.load_clock_mhz, rv);
  c.bias_config.us =
      load_microseconds(c.words.bias_words + c.words.config_words, c.load_clock_mhz, rv);
  if (c.words.fifo) {
    CycleOptions feed = options.cycles;
    feed.streaming = StreamingModel::FifoFeed;
    const NetworkCycles f = estimate_network_cycles(net, feed);
    c.after_feed.us = f.after_feed / f.clock_mhz;
    // The energy share of those cycles: the run's energy per cycle.
    c.after_feed.uj = c.cycles.total > 0 ? c.inference.uj * f.after_feed / c.cycles.total : 0;
  }
  c.input_load.us = load_microseconds(c.words.input_words, c.load_clock_mhz, rv);
  for (Cost* k : {&c.weight_load, &c.bias_config, &c.input_load}) k->uj = load_microjoules(k->us);
  // FIFO input: the CNN runs while the core feeds it; the longer of the two sets the time.
  c.retained_inference = {c.words.fifo ? std::max(c.input_load.us, c.inference.us)
                                       : c.input_load.us + c.inference.us,
                          c.input_load.uj + c.inference.uj};
  c.first_inference = {c.weight_load.us + c.bias_config.us + c.retained_inference.us,
                       c.weight_load.uj + c.bias_config.uj + c.retained_inference.uj};
  return c;
}

}  // namespace ai8xsim
