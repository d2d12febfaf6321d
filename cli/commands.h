// ai8xsim command line: each subcommand registers its options and returns how to run it.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ai8xsim/ai8xsim.h"
#include "sim/io/files.h"

namespace ai8xsim::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the exit code; throws ai8xsim::Error
};

Command add_run_command(CLI::App& app);
Command add_check_command(CLI::App& app);
Command add_eval_command(CLI::App& app);

// Shared options of the commands that load a network.
struct NetworkArgs {
  std::string config_file, checkpoint_file, device = "MAX78000";
  std::vector<int> no_bias;
  bool avg_pool_rounding = false, fifo = false, fast_fifo = false, overlap_data = false;
};
void add_network_options(CLI::App* cmd, NetworkArgs& a);
// The library's load options for those command-line options (cli/run.cpp).
LoadOptions load_options(const NetworkArgs& a);

// `run` and `eval`'s --output/--outputs for a batch (cli/run.cpp): an int32 .npy of
// N x C x H x W written in place as the outputs come (put() from any thread, each its own
// index), then handed to the commit of the command's files. An empty path writes nothing.
class BatchOutputFile {
 public:
  BatchOutputFile(const std::string& path, int64_t n, const InputShape& shape);
  void put(size_t index, const Tensor& output);
  void finish(std::vector<PendingFile>& files);

 private:
  size_t per_;
  std::optional<OutputMapping> file_;
  int32_t* data_ = nullptr;
};

// ---- data memory commands (cli/memory_commands.cpp) ----
// `run --kat sampleoutput.h[.gz]`: the run is memory-fed (every layer that reads data memory
// takes its input from the memory image) and the memory after it is checked against izer's
// known-answer records (exit 2 when a word differs).
struct KatOptions {
  std::string file;
  size_t lines = 50;  // mismatches to list (0: all)
};
void add_kat_options(CLI::App* cmd, KatOptions& k);
struct MemoryFedRun {
  RunResult result;
  bool kat_ok = true;
  std::string report;  // the KAT report (matched/total, one line per mismatch)
};
// Reads the known-answer file first (a missing file fails before the run).
MemoryFedRun run_with_kat(const Network& net, const Tensor& input, bool keep_layers,
                          const KatOptions& k);
Command add_explain_address_command(CLI::App& app);
Command add_check_memory_command(CLI::App& app);
// `kat` (cli/kat.cpp): izer's known-answer files for any sample, and many samples' harness.
Command add_kat_command(CLI::App& app);

}  // namespace ai8xsim::cli
