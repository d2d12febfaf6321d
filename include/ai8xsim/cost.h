// ai8xsim: what a network costs on the chip beyond its CNN cycles: the time to load its
// weights, biases, configuration and input, and the energy of loading and of inference.
// Shapes and placement in, microseconds and microjoules out: never tensor values.
// docs/cycle-model.md §7 names every term; docs/silicon-table.md compares it with AN7664.
#pragma once
#include <cstdint>
#include <vector>

#include "ai8xsim/cycles.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

// ---- named hardware terms (docs/cycle-model.md §7) --------------------------------------------

// One 32-bit access of the core to the accelerator (a kernel, bias or data-memory word, a
// configuration register, a FIFO word or a FIFO status read) takes a share of the core's time,
// in ns, and a share of CNN clocks (the access completes in the accelerator's clock domain): at
// a CNN clock of f MHz, kArmAccessNs + 1000 * kAccessCnnClocks / f ns. Both fitted together on
// AN7664 Table 4 (weight and input loads at a 50 MHz CNN clock) and AN7664 Figures 6-9 (the same
// loads at 50, 100 and 200 MHz; benchmarks/data/an7664_figures.csv).
constexpr double kArmAccessNs = 135.5;
constexpr double kAccessCnnClocks = 7.04;
// The RISC-V core's share of an access. Fitted on the one published RISC-V weight load
// (mnist-riscv).
constexpr double kRiscvAccessNs = 1029;
// izer's FIFO load_input() reads the FIFO's status before each word it writes (unless
// --no-fifo-wait): two accesses per word.
constexpr int kFifoWaitAccessesPerWord = 2;
// Register writes cnn_configure() makes per layer and per x16 group (izer writes each
// layer's registers in every group), counted in izer's generated code.
constexpr int kConfigWordsPerLayerGroup = 14;
// Energy (VCOREA, above idle) while the core writes the accelerator: the core's power, mW, and
// the accelerator's energy per CNN clock, pJ (its clock runs throughout). Fitted: AN7664
// Table 4 load energies and Figures 6-9 (the same loads at 50, 100 and 200 MHz).
constexpr double kLoadCorePowerMw = 9.9;
constexpr double kLoadPjPerCnnClock = 661;
// Inference energy per CNN cycle, picojoules: a base (the accelerator's clock tree and
// sequencer), a share per processor in use (the layer's input processors) and a share per
// processor and input pass (a multi-pass layer reads each pass's own kernels and accumulates
// across passes: our reading, not a documented fact). Fitted: AN7664 Table 4 inference
// energy (benchmarks/silicon_table.py reports the leave-one-out error).
constexpr double kInferenceBasePjPerCycle = 631;
constexpr double kInferenceProcessorPjPerCycle = 16.2;
constexpr double kInferenceProcessorPassPjPerCycle = 3.4;

// ---- the words the CPU writes ----------------------------------------------------------------

struct LoadWords {
  int64_t weight_words = 0;   // kernel data words cnn_load_weights() writes
  int64_t weight_blocks = 0;  // blocks (one per run of rows on a processor): one address write
  int64_t bias_words = 0;     // cnn_load_bias(): one word per bias byte
  int64_t config_words = 0;   // cnn_configure(): register writes
  int64_t input_words = 0;    // load_input(): data-memory words (memcpy) or FIFO words (all FIFOs)
  bool fifo = false;          // the input goes through the FIFOs while the CNN runs
  int fifos = 0;              // FIFO input: the FIFOs written, one word each in turn
};

// Kernel data words of one run of `rows` consecutive kernel-memory rows: express loading packs
// the 9-byte rows into 32-bit words; the plain loader writes 4 words per row.
int64_t kernel_block_words(int64_t rows, bool mexpress);
// Data-memory words of one input: HWC packs 4 channels of a pixel into a word of each memory
// instance the input processors use (per pass); CHW packs 4 pixels of one channel.
int64_t input_memory_words(const Layer& first);
LoadWords load_words(const Network& net, bool mexpress = true);

// ---- time and energy --------------------------------------------------------------------------

struct CostOptions {
  CycleOptions cycles;          // inference clock, pipeline, streaming
  double load_clock_mhz = 0;    // 0: the device default (default_load_clock_mhz)
  bool riscv = false;           // the RISC-V core loads (izer's --riscv)
  bool mexpress = true;         // izer's --mexpress (default) / --no-mexpress
  bool fifo_wait = true;        // FIFO input: izer's status read before each word (--no-fifo-wait)
};

struct LayerCost {
  int layer = 0;            // YAML layer index
  int processors = 0;       // processors in use (the layer's input processors)
  int passes = 1;           // input passes (the cycle model's)
  int64_t cycles = 0;
  double microseconds = 0;
  double microjoules = 0;
};

struct Cost {
  double us = 0;
  double uj = 0;
};

struct NetworkCost {
  NetworkCycles cycles;
  LoadWords words;
  double load_clock_mhz = 0;
  bool riscv = false;
  std::vector<LayerCost> layers;  // the cycle model's entries, in execution order
  Cost inference;      // the CNN's run
  Cost weight_load;    // cnn_load_weights()
  Cost bias_config;    // cnn_load_bias() + cnn_configure()
  Cost input_load;     // load_input() (FIFO: the feed at the inference clock, which overlaps the run)
  Cost first_inference;     // from power-up: weights, biases, configuration, input, inference
  // FIFO input: the run still to go once the last FIFO word is written (izer's FIFO-feed
  // streaming model: the streaming layers' tails and the layers that do not stream).
  Cost after_feed;
  // Each further inference with the weights retained: input load + run. FIFO: the streaming
  // layers wait for the feed (docs/cycle-model.md §6: max(work, feed + tail), then the rest);
  // the energy is the run's, the accelerator's clock while it waits, and the core's feed.
  Cost retained_inference;
};

// The load clock izer's generated code sets while it loads (MAX78002: PLL / 4 = 50 MHz;
// MAX78000: the APB clock, 50 MHz).
double default_load_clock_mhz(Device device);
// Time of one access of the core to the accelerator at a CNN clock of `cnn_clock_mhz`, ns.
double access_nanoseconds(double cnn_clock_mhz, bool riscv);
// Time of `words` writes by the core at the load clock.
double load_microseconds(int64_t words, double load_clock_mhz, bool riscv);
// Energy of the core writing the accelerator for `us` microseconds at that CNN clock.
double load_microjoules(double us, double load_clock_mhz);
// Inference energy of `cycles` CNN cycles with `processors` processors in use over `passes`
// input passes.
double inference_microjoules(int64_t cycles, int processors, int passes);

NetworkCost estimate_network_cost(const Network& net, const CostOptions& options);

}  // namespace ai8xsim
