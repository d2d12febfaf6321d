// ai8xsim command line: izer's argument names.
//   ai8xsim run --config-file NET.yaml --checkpoint-file CKPT --sample-input IN.npy
//               --device MAX78000 --output OUT.npy [--dump-layers DIR] ...
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "ai8xsim/ai8xsim.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"ai8xsim: bit-accurate simulator of the MAX78000/MAX78002 CNN accelerators"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ai8xsim 0.1.0");
  ai8xsim::cli::RunArgs run_args;
  ai8xsim::cli::add_run_command(app, run_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (app.got_subcommand("run")) return ai8xsim::cli::run_command(run_args);
  } catch (const ai8xsim::Error& e) {
    std::cerr << "ai8xsim: error: " << e.what() << "\n";
    return e.kind() == ai8xsim::ErrorKind::Internal ? 3 : 1;
  } catch (const std::exception& e) {
    std::cerr << "ai8xsim: internal error (please report): " << e.what() << "\n";
    return 3;
  }
  return 0;
}
