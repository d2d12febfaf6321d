// ai8xsim: `plan`: choose every layer's processors, output processors and data memory offsets
// for a network YAML that lacks them (or has wrong ones), using the device rules of
// sim/model/checks.h as the oracle and the cycle model (ai8xsim/cycles.h) as the cost. docs/plan.md.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ai8xsim/ai8xsim.h"

namespace ai8xsim {

enum class PlanObjective {
  Latency,  // fewest cycles (the cycle model); offsets packed lowest first
  Memory,   // the least data memory (highest byte used in any instance) of the searches
};

struct PlanOptions {
  LoadOptions load;
  std::optional<InputShape> input;  // unset: the YAML's in_channels / in_dim
  PlanObjective objective = PlanObjective::Latency;
  // Keys whose values the YAML gives are kept and planned around: any of `processors`,
  // `output_processors`, `in_offset`, `out_offset`.
  std::vector<std::string> keep;
};

// One layer of the planned network, as the report shows it.
struct PlannedLayer {
  int layer = 0;
  int channels_in = 0;              // input channels x operands
  int passes = 1;                   // input passes
  uint64_t processors = 0;
  std::vector<int> reads;           // the layers it reads (-1: the input); empty: the previous
  int channels_out = 0;
  uint64_t output_processors = 0;
  int64_t in_bytes = 0, out_bytes = 0;
  int in_offset = 0, out_offset = 0;
  std::vector<int> in_instances, out_instances;  // data memory instances read and written
  int kernel_first_row = 0, kernel_rows = 0;    // kernel memory rows (0 rows: none)
  std::optional<int64_t> cycles, original_cycles;  // the cycle model, planned / as written
};

struct PlanResult {
  bool ok = false;             // a placement passing every device rule was found
  std::string yaml;            // the planned YAML text (ok only)
  std::string config_file;
  Device device = Device::MAX78000;
  InputShape input;
  PlanObjective objective = PlanObjective::Latency;
  std::vector<PlannedLayer> layers;  // in execution order
  int instance_bytes = 0;      // bytes of one data memory instance
  int64_t cycles = 0;          // the cycle model's total for the planned placement
  int64_t original_cycles = -1;  // ... for the YAML's own placement, when it had one that fits
  int64_t data_bytes = 0;      // highest data memory byte used in any instance
  std::vector<Violation> violations;  // !ok: what makes the best placement found illegal
};

// Throws ai8xsim::Error for input errors (the YAML, the weights, --keep, the input shape).
PlanResult plan_network(const std::string& config_file, const std::string& checkpoint_file,
                        const PlanOptions& options);

// "latency" / "memory"; throws a Config error naming the value otherwise.
PlanObjective parse_plan_objective(const std::string& s);

}  // namespace ai8xsim
