// `ai8xsim plan`: processors, output processors and data memory offsets chosen for the user
// (include/ai8xsim/plan.h, docs/plan.md).
#include <iostream>
#include <memory>

#include "ai8xsim/plan.h"
#include "cli/commands.h"
#include "ai8xsim/files.h"
#include "ai8xsim/npy.h"
#include "report/plan_text.h"

namespace ai8xsim::cli {

namespace {

struct PlanArgs {
  NetworkArgs net;
  std::string sample_input, output, objective = "latency";
  std::string input_shape;
  std::vector<std::string> keep;
};

int plan_command(const PlanArgs& a) {
  PlanOptions opt;
  opt.load = load_options(a.net);
  opt.objective = parse_plan_objective(a.objective);
  opt.keep = a.keep;
  if (!a.sample_input.empty()) {
    const Tensor t = sample_to_tensor(read_npy(a.sample_input), a.sample_input);
    opt.input = InputShape{t.c, t.h, t.w};
  } else if (!a.input_shape.empty()) {
    opt.input = parse_input_shape(a.input_shape);
  }
  const PlanResult r = plan_network(a.net.config_file, a.net.checkpoint_file, opt);
  std::cout << plan_report(r);
  if (!r.ok) return 2;
  write_files_atomically({{a.output, r.yaml, "--output"}});
  std::cout << "wrote " << a.output << "\n";
  return 0;
}

}  // namespace

Command add_plan_command(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "plan", "Choose processors, output processors and data memory offsets for every layer");
  add_network_options(cmd, a->net);
  cmd->add_option("--sample-input", a->sample_input, "a sample .npy, for the input shape");
  cmd->add_option("--input-shape", a->input_shape,
                  "the input shape C,H,W or C,L (also CxHxW, CxL as the tool prints shapes)");
  cmd->add_option("--output", a->output, "the planned network YAML")->required();
  cmd->add_option("--objective", a->objective, "latency (fewest cycles) or memory (least data memory)");
  cmd->add_option("--keep", a->keep,
                  "keep the YAML's values of these keys: processors, output_processors, "
                  "in_offset, out_offset")
      ->delimiter(',');
  return {cmd, [a] { return plan_command(*a); }};
}

}  // namespace ai8xsim::cli
