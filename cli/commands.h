// ai8xsim command line: each subcommand registers its options and returns how to run it.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <ostream>

#include "ai8xsim/ai8xsim.h"
#include "ai8xsim/cost.h"
#include "ai8xsim/files.h"
#include "ai8xsim/outputs.h"

namespace ai8xsim::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the exit code; throws ai8xsim::Error
};

// Usage errors (cli/usage.cpp): one line for a CLI11 parse error (unknown command or option
// with "did you mean", a value that is not a number, an option given twice).
std::string usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv);
// After parsing: an option given an empty value is an Error; izer's code-generation options
// that were given are named in one note on stderr.
void check_option_values(const CLI::App& app);
// izer's options that only change the generated C code, added to every command that loads a
// network and does not use the name itself: accepted, without effect.
void add_izer_code_options(CLI::App& app);
// --input-shape: C,H,W or C,L, also CxHxW / CxL as the tool prints shapes (an Error else).
InputShape parse_input_shape(const std::string& text);
// --clock-mhz: a positive finite number; --threads: 0 or more (an Error otherwise).
void check_clock_mhz(double mhz, const std::string& option);
void check_threads(int threads);

Command add_run_command(CLI::App& app);
Command add_check_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_plan_command(CLI::App& app);  // cli/plan.cpp
// cli/sweep.cpp: run python3 -m ai8xsim.sweep / ai8xsim.quantize with every argument.
Command add_sweep_command(CLI::App& app);
Command add_quantize_command(CLI::App& app);

// Shared options of the commands that load a network.
struct NetworkArgs {
  std::string config_file, checkpoint_file, device = "MAX78000";
  std::vector<int> no_bias;
  bool avg_pool_rounding = false, fifo = false, fast_fifo = false, overlap_data = false;
  std::string kernels = "fast";  // --kernels (the commands that run samples: run, eval)
};
void add_network_options(CLI::App* cmd, NetworkArgs& a);
// --kernels {fast,reference}: the kernel set the engine runs on (LoadOptions::kernels).
void add_kernels_option(CLI::App* cmd, NetworkArgs& a);
// The library's load options for those command-line options (cli/run.cpp).
LoadOptions load_options(const NetworkArgs& a);
// Simulator::load with those options; prints the load's notes (e.g. "quantized") on stderr.
Simulator load_network(const NetworkArgs& a, const LoadOptions& opt);

// `run` and `eval`'s --output/--outputs for a batch (cli/run.cpp): an int32 .npy of
// N x C x H x W written to its place in the file as the outputs come (put() from any thread,
// each its own index; a thread's consecutive small outputs are written together), then handed
// to the commit of the command's files. An empty path writes nothing.
class BatchOutputFile {
 public:
  BatchOutputFile(const std::string& path, int64_t n, const InputShape& shape);
  void put(size_t index, const Tensor& output);
  // Hands the complete file to the command's outputs (committed with the others).
  void finish(OutputTransaction& files, const std::string& option);

 private:
  // Outputs smaller than kDirectBytes gather in a stage of at most kStageBytes; larger ones
  // are written from their tensors (a system call is nothing beside copying them).
  static constexpr size_t kStageBytes = size_t{1} << 20, kDirectBytes = size_t{64} << 10;
  struct Stage {
    size_t first = 0, count = 0;  // outputs first .. first + count - 1
    std::vector<char> bytes;
  };
  void flush(Stage& s);
  size_t bytes_, header_ = 0;  // one output's bytes; the .npy header's
  std::optional<OutputFile> file_;
  std::mutex stages_mutex_;
  std::map<std::thread::id, Stage> stages_;
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
// --clock-mhz, --load-clock-mhz, --no-pipeline, --riscv, --no-mexpress (cli/cost_report.cpp).
struct CostArgs {
  double clock_mhz = 0, load_clock_mhz = 0;  // 0: the device's default unless given
  bool clock_given = false, load_clock_given = false;
  bool no_pipeline = false, riscv = false, no_mexpress = false, no_fifo_wait = false;
};
void add_cost_options(CLI::App* cmd, CostArgs& a);
CostOptions cost_options(const CostArgs& a);
// The totals: inference, input load, weight load, bias/configuration, first inference from
// power-up, each inference with the weights retained (us and uJ).
void print_cost_totals(const NetworkCost& c, std::ostream& os);
nlohmann::json cost_json(const NetworkCost& c);

Command add_explain_address_command(CLI::App& app);
Command add_check_memory_command(CLI::App& app);
// `kat` (cli/kat.cpp): izer's known-answer files for any sample, and many samples' harness.
Command add_kat_command(CLI::App& app);

}  // namespace ai8xsim::cli
