// ai8xsim: the data, kernel and bias memory models as the front ends use them (the models
// themselves are sim/memory/; docs/memory.md, docs/weight-memory.md). Every function takes a
// network resolved by Simulator::network() and a sample as Simulator::run takes it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ai8xsim/ai8xsim.h"
#include "ai8xsim/files.h"

namespace ai8xsim {

// One sample run memory-fed: every layer that reads data memory takes its input from the data
// memory image (the input loaded as the chip loads it, each output written where the chip
// writes it), as `ai8xsim run --kat` runs.
RunResult run_memory_fed(const Network& net, const Tensor& input, bool keep_layers);

// `run --kat FILE`: the memory-fed run, then data memory compared with izer's known-answer
// records (sampleoutput.h or .h.gz, read before the run so that a missing file fails first).
struct KatRun {
  RunResult result;
  bool ok = true;      // every known-answer word equal
  std::string report;  // which layers read memory, matched/total, a line per mismatch
};
KatRun run_with_kat(const Network& net, const Tensor& input, bool keep_layers,
                    const std::string& kat_file, size_t mismatch_lines);

// `explain-address ADDRESS`: the group, instance, processors and offset of a data memory
// address (as the bus or the CNN sees it), who writes and reads the word, and with `run` the
// value the sample leaves there. `mapped` false: the address is not in data memory (the text
// says what the address is instead). An address that is not a 32-bit number is an Error.
struct AddressExplanation {
  bool mapped = false;
  std::string text;
};
AddressExplanation explain_address(const Network& net, const Tensor& input,
                                   const std::string& address, bool run);

// `check-memory`: the memory model checked on one sample against izer's generated code and
// the engine: the loaded input against sampledata.h + load_input() (both files or neither),
// every layer's input read from memory against the engine's tensors, cnn_unload() against the
// outputs, the known-answer records, a board's memory dump.
struct MemoryCheckOptions {
  std::string sample_data, load_code;  // izer's sampledata.h, its main.c (load_input())
  std::string kat_file;                // sampleoutput.h[.gz]
  size_t mismatch_lines = 50;          // lines per list of differences (0: all)
  std::string dump_file, dump_base;    // a board's dump; the base address of a .bin/.npy one
  bool read_from_memory = false;       // also a memory-fed run, equal to the tensor run
};
struct MemoryCheck {
  bool ok = true;
  std::string report;
};
MemoryCheck check_memory(const Network& net, const Tensor& input, const MemoryCheckOptions& o);

// `kat`: izer's known-answer files for samples. One sample: sampledata.h and sampleoutput.h
// exactly as izer writes them; `harness` (any number of samples): kat_samples.h and
// kat_main.c, a main() that checks every sample on the board. `max_checklines`: izer's option
// (-1: no limit). Files are returned, not written.
struct KatFiles {
  std::vector<PendingFile> files;  // paths under `dir`
  size_t checked_words = 0;        // per sample
  size_t input_arrays = 0;         // per sample
};
KatFiles kat_files(const Network& net, const std::vector<Tensor>& inputs, long max_checklines,
                   bool harness, const std::string& dir);

// Kernel and bias memory as izer's loaders allocate them.
struct LayerMemoryUse {
  int kernel_rows = 0;                   // rows this layer writes (0 when shared)
  std::optional<int> kernel_first_row;   // none: no kernels
  std::optional<int> kernel_shared_with; // the layer whose kernels it reuses
  int bias_bytes = 0;                    // bytes this layer writes (0 when shared)
  std::optional<int> bias_group;         // none: no bias
};
struct MemoryUse {
  std::map<int, LayerMemoryUse> layers;  // by YAML index, every layer of net.order
  int64_t kernel_rows_written = 0;
  int64_t bias_bytes_used = 0;
  std::vector<std::string> violations;   // the limits broken (izer's errors)
};
MemoryUse memory_use(const Network& net);

}  // namespace ai8xsim
