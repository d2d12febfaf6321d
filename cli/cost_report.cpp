// The cost options (--clock-mhz, --load-clock-mhz, --no-pipeline, --riscv, --no-mexpress,
// --no-fifo-wait) and
// the cost figures `run` and `check` print and write to --report: per layer cycles, us and uJ;
// totals for inference, input load, weight load, first inference from power-up and each
// inference with the weights retained (ai8xsim/cost.h, docs/cycle-model.md §7).
#include <iomanip>
#include <ostream>

#include "cli/commands.h"

namespace ai8xsim::cli {

void add_cost_options(CLI::App* cmd, CostArgs& a) {
  CostArgs* args = &a;
  cmd->add_option("--clock-mhz", a.clock_mhz,
                  "CNN clock for inference (default: MAX78000 50, MAX78002 200)")
      ->each([args](const std::string&) { args->clock_given = true; });
  cmd->add_option("--load-clock-mhz", a.load_clock_mhz,
                  "CNN clock while weights and input are loaded (default 50: MAX78000 APB, "
                  "MAX78002 PLL/4)")
      ->each([args](const std::string&) { args->load_clock_given = true; });
  cmd->add_flag("--no-pipeline", a.no_pipeline,
                "MAX78002: the CNN pipeline off (izer's --no-pipeline)");
  cmd->add_flag("--riscv", a.riscv, "the RISC-V core loads weights and input (izer's --riscv)");
  cmd->add_flag("--no-mexpress", a.no_mexpress,
                "plain kernel loader, 4 words per kernel row (izer's --no-mexpress)");
  cmd->add_flag("--no-fifo-wait", a.no_fifo_wait,
                "FIFO input: no FIFO status read before each word (izer's --no-fifo-wait)");
}

CostOptions cost_options(const CostArgs& a) {
  if (a.clock_given) check_clock_mhz(a.clock_mhz, "--clock-mhz");
  if (a.load_clock_given) check_clock_mhz(a.load_clock_mhz, "--load-clock-mhz");
  CostOptions o;
  o.cycles.clock_mhz = a.clock_mhz;
  o.cycles.pipeline = !a.no_pipeline;
  o.load_clock_mhz = a.load_clock_mhz;
  o.riscv = a.riscv;
  o.mexpress = !a.no_mexpress;
  o.fifo_wait = !a.no_fifo_wait;
  return o;
}

namespace {
void cost_line(std::ostream& os, const char* what, const Cost& c) {
  os << "  " << std::left << std::setw(40) << what << std::right << std::fixed
     << std::setprecision(1) << std::setw(12) << c.us << " us" << std::setw(12) << c.uj
     << " uJ\n";
}
nlohmann::json cost_pair(const Cost& c) { return {{"us", c.us}, {"uj", c.uj}}; }
}  // namespace

void print_cost_totals(const NetworkCost& c, std::ostream& os) {
  os << std::defaultfloat << std::setprecision(6) << "cost (" << device_name(c.cycles.device) << ", inference at "
     << c.cycles.clock_mhz
     << " MHz" << (c.cycles.pipeline ? " with pipeline" : "") << ", loads at "
     << c.load_clock_mhz << " MHz by the " << (c.riscv ? "RISC-V" : "Arm") << " core):\n";
  cost_line(os, "inference", c.inference);
  cost_line(os, c.words.fifo ? "input load (FIFO feed, overlaps inference)" : "input load",
            c.input_load);
  if (c.words.fifo) cost_line(os, "run after the last FIFO word", c.after_feed);
  cost_line(os, "weight load", c.weight_load);
  cost_line(os, "bias and configuration load", c.bias_config);
  cost_line(os, "first inference from power-up", c.first_inference);
  cost_line(os, "each inference, weights retained", c.retained_inference);
}

nlohmann::json cost_json(const NetworkCost& c) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const LayerCost& l = c.layers[i];
    nlohmann::json terms = nlohmann::json::object();
    for (const CycleTerm& t : c.cycles.layers[i].cycles.terms()) terms[t.name] = t.cycles;
    layers.push_back({{"layer", l.layer},
                      {"processors", l.processors},
                      {"passes", l.passes},
                      {"cycles", l.cycles},
                      {"us", l.microseconds},
                      {"uj", l.microjoules},
                      {"cycle_terms", terms}});
  }
  return {{"clock_mhz", c.cycles.clock_mhz},
          {"total_cycles", c.cycles.total},
          {"load_clock_mhz", c.load_clock_mhz},
          {"pipeline", c.cycles.pipeline},
          {"riscv", c.riscv},
          {"fifo", c.words.fifo},
          {"words",
           {{"weights", c.words.weight_words},
            {"weight_blocks", c.words.weight_blocks},
            {"bias", c.words.bias_words},
            {"config", c.words.config_words},
            {"input", c.words.input_words}}},
          {"layers", layers},
          {"inference", cost_pair(c.inference)},
          {"input_load", cost_pair(c.input_load)},
          {"weight_load", cost_pair(c.weight_load)},
          {"bias_config_load", cost_pair(c.bias_config)},
          {"after_feed", cost_pair(c.after_feed)},
          {"first_inference", cost_pair(c.first_inference)},
          {"retained_inference", cost_pair(c.retained_inference)}};
}

}  // namespace ai8xsim::cli
