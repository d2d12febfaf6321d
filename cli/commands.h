#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace ai8xsim::cli {

struct RunArgs {
  std::string config_file, checkpoint_file, sample_input, device = "MAX78000";
  std::string output, dump_layers;
  std::vector<int> no_bias;
  bool avg_pool_rounding = false, fifo = false, fast_fifo = false, overlap_data = false;
  bool quiet = false;
};

void add_run_command(CLI::App& app, RunArgs& args);
int run_command(const RunArgs& args);

}  // namespace ai8xsim::cli
