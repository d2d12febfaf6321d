// ai8xsim command line: izer's argument names.
//   ai8xsim run   --config-file NET.yaml --checkpoint-file CKPT --sample-input IN.npy ...
//   ai8xsim check --config-file NET.yaml --checkpoint-file CKPT --device MAX78000 ...
#include <CLI/CLI.hpp>

#include <iostream>

#include "ai8xsim/error.h"
#include "cli/commands.h"
#include "ai8xsim/outputs.h"

int main(int argc, char** argv) {
  CLI::App app{"ai8xsim: bit-accurate simulator of the MAX78000/MAX78002 CNN accelerators"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ai8xsim 0.1.0");
  const std::vector<ai8xsim::cli::Command> commands = {
      ai8xsim::cli::add_run_command(app),
      ai8xsim::cli::add_check_command(app),
      ai8xsim::cli::add_plan_command(app),
      ai8xsim::cli::add_eval_command(app),
      ai8xsim::cli::add_explain_address_command(app),
      ai8xsim::cli::add_check_memory_command(app),
      ai8xsim::cli::add_kat_command(app),
      ai8xsim::cli::add_sweep_command(app),
      ai8xsim::cli::add_quantize_command(app),
  };
  ai8xsim::cli::add_izer_code_options(app);
  // Outputs are written all or none; a signal removes what is half written (ai8xsim/outputs.h).
  ai8xsim::install_output_signal_handlers();
  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
      std::cerr << "ai8xsim: error: " << ai8xsim::cli::usage_error(app, e, argc, argv) << "\n";
      return 1;
    }
    ai8xsim::cli::check_option_values(app);
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const ai8xsim::Error& e) {
    std::cerr << "ai8xsim: error: " << e.what() << "\n";
    return e.kind() == ai8xsim::ErrorKind::Internal ? 3 : 1;
  } catch (const std::exception& e) {
    std::cerr << "ai8xsim: internal error (please report): " << e.what() << "\n";
    return 3;
  }
  return 0;
}
