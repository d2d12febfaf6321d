// `ai8xsim check`: will the network fit? Per layer: processors, passes, channels and shapes,
// data memory at in_offset/out_offset, MACs; every device rule broken, the first one named.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ai8xsim/ai8xsim.h"
#include "cli/commands.h"
#include "ai8xsim/files.h"
#include "ai8xsim/memmap.h"
#include "report/memmap_svg.h"
#include "ai8xsim/npy.h"

namespace ai8xsim::cli {

namespace {

struct CheckArgs {
  NetworkArgs net;
  std::string sample_input, report, memory_map;
  std::string input_shape;
  CostArgs cost;
};

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << std::setw(16) << std::setfill('0') << v;
  return s.str();
}

InputShape input_shape_for(const Simulator& sim, const CheckArgs& a) {
  if (!a.sample_input.empty()) {
    const Tensor t = sample_to_tensor(read_npy(a.sample_input), a.sample_input);
    return {t.c, t.h, t.w};
  }
  if (!a.input_shape.empty()) return parse_input_shape(a.input_shape);
  return sim.inferred_input_shape();
}

nlohmann::json layer_json(const Network& net, const Layer& L) {
  const LayerPasses p = layer_passes(net, L);
  return {{"layer", L.index},
          {"op", operator_name(L.op)},
          {"processors", hex(L.processors)},
          {"output_processors", hex(L.output_processors)},
          {"in_channels", L.in_channels * L.operands},
          {"out_channels", L.out_channels},
          {"passes", p.in_expand},
          {"input", {L.input_dim[0], L.input_dim[1]}},
          {"output", {L.output_dim[0], L.output_dim[1]}},
          {"in_offset", L.in_offset},
          {"out_offset", L.out_offset},
          {"input_data_bytes", input_data_size(net, L)},
          {"output_data_bytes", output_data_size(net, L)},
          {"macs", L.macs()}};
}

nlohmann::json violation_json(const Violation& v) {
  return {{"layer", v.layer},         {"rule", v.rule},           {"resource", v.resource},
          {"needed", v.needed},       {"available", v.available}, {"message", v.message}};
}

void print_layers(const Network& net, std::ostream& os) {
  const DeviceSpec& spec = device_spec(net.device);
  os << std::left << std::setw(6) << "layer" << std::setw(20) << "processors" << std::setw(8)
     << "passes" << std::setw(12) << "channels" << std::setw(12) << "in" << std::setw(12)
     << "out" << std::setw(22) << "data in (offset)" << std::setw(22) << "data out (offset)"
     << std::right << std::setw(12) << "MACs" << "\n";
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    const LayerPasses p = layer_passes(net, L);
    auto dims = [](const Dim2& d) { return std::to_string(d[0]) + "x" + std::to_string(d[1]); };
    auto mem = [](int64_t size, int offset) {
      std::ostringstream s;
      s << size << " (0x" << std::hex << offset << ")";
      return s.str();
    };
    os << std::left << std::setw(6) << ll << std::setw(20) << hex(L.processors) << std::setw(8)
       << p.in_expand << std::setw(12)
       << (std::to_string(L.in_channels * L.operands) + "->" + std::to_string(L.out_channels))
       << std::setw(12) << dims(L.input_dim) << std::setw(12) << dims(L.output_dim)
       << std::setw(22) << mem(input_data_size(net, L), L.in_offset) << std::setw(22)
       << mem(output_data_size(net, L), L.out_offset) << std::right << std::setw(12)
       << L.macs() << "\n";
  }
  os << "layers: " << net.order.size() << " of " << spec.max_layers
     << "; data memory instance: " << spec.instance_bytes() << " bytes; total MACs "
     << net.total_macs() << "\n";
  if (net.buffer) {
    const DataBufferConfig& b = *net.buffer;
    std::vector<std::string> shift, insert, read;
    for (int ll : net.order) {
      const Layer& L = net.layers[ll];
      if (L.buffer_shift) shift.push_back(std::to_string(ll) + " (" + std::to_string(L.buffer_shift) + ")");
      if (L.buffer_insert) insert.push_back(std::to_string(ll) + " (" + std::to_string(L.buffer_insert) + ")");
      if (L.reads_buffer() && !L.buffer_shift) read.push_back(std::to_string(ll));
    }
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const std::string& e : v) s += (s.empty() ? "" : ", ") + e;
      return s.empty() ? std::string("none") : s;
    };
    std::ostringstream range;
    range << std::hex << "0x" << b.offset << "-0x" << b.offset + 4 * b.dim[0] * b.dim[1];
    os << "data buffer `" << b.name << "`: " << b.dim[0] << " entries x " << b.channels
       << " channels" << (b.dim[1] > 1 ? " x " + std::to_string(b.dim[1]) + " columns" : "")
       << " on processors " << hex(b.processors) << ", bytes " << range.str()
       << " of their instances (zero at the start; kept from one inference to the next); "
          "shifted by layer "
       << list(shift) << ", inserted by layer " << list(insert) << ", read by layer "
       << list(read) << "\n";
  }
}

void print_layer_costs(const NetworkCost& c, std::ostream& os) {
  os << std::left << std::setw(6) << "layer" << std::right << std::setw(12) << "cycles"
     << std::setw(12) << "us" << std::setw(12) << "uJ" << "\n";
  for (const LayerCost& l : c.layers)
    os << std::left << std::setw(6) << l.layer << std::right << std::setw(12) << l.cycles
       << std::fixed << std::setprecision(1) << std::setw(12) << l.microseconds
       << std::setprecision(2) << std::setw(12) << l.microjoules << "\n";
}

// Kernel and bias memory use with the headroom of the fullest processor / group.
void print_memory_use(const MemoryMap& m, std::ostream& os) {
  bool kernel_failed = false, bias_failed = false;
  for (const std::string& n : m.notes) {
    kernel_failed = kernel_failed || n.rfind("kernel memory: ", 0) == 0;
    bias_failed = bias_failed || n.rfind("bias memory: ", 0) == 0;
  }
  if (kernel_failed) {
    os << "kernel memory: does not fit (below); " << m.kernel_rows_used() << " of "
       << m.kernel_rows() << " rows placed before\n";
  } else if (!m.processors.empty()) {
    const KernelProcessorUse* top = &m.processors.front();
    for (const KernelProcessorUse& u : m.processors)
      if (u.written * int64_t{top->capacity} > top->written * int64_t{u.capacity}) top = &u;
    os << "kernel memory: " << m.kernel_rows_used() << " of " << m.kernel_rows()
       << " rows; fullest processor " << top->processor << ": " << top->written << " of "
       << top->capacity << " rows (headroom " << top->capacity - top->written << ")\n";
  }
  if (bias_failed) {
    os << "bias memory: does not fit (below)\n";
  } else if (!m.bias_groups.empty()) {
    const BiasGroupUse* top = &m.bias_groups.front();
    for (const BiasGroupUse& u : m.bias_groups)
      if (u.used > top->used) top = &u;
    os << "bias memory: " << m.bias_bytes_used() << " of " << m.bias_bytes()
       << " bytes; fullest group " << top->group << ": " << top->used << " of " << top->capacity
       << " bytes (headroom " << top->capacity - top->used << ")\n";
  }
}

int check_command(const CheckArgs& a) {
  const CostOptions cost_opt = cost_options(a.cost);  // refuse a bad option before loading
  const LoadOptions opt = load_options(a.net);
  const Simulator sim = load_network(a.net, opt);
  const InputShape in = input_shape_for(sim, a);
  const Simulator::CheckResult r = sim.check(in);
  std::cout << "ai8xsim check " << device_name(opt.device) << ": " << a.net.config_file
            << " (input " << in.c << "x" << in.h << "x" << in.w << ")\n";
  print_layers(r.network, std::cout);
  // Time and energy only for a network that fits (the cost needs the kernel placement).
  std::optional<NetworkCost> cost;
  if (r.violations.empty()) {
    cost = estimate_network_cost(r.network, cost_opt);
    print_layer_costs(*cost, std::cout);
    print_cost_totals(*cost, std::cout);
  }
  std::vector<PendingFile> files;
  std::optional<MemoryMap> map;
  map = memory_map(r.network);  // also for the kernel and bias use printed below
  if (!a.memory_map.empty()) files.push_back({a.memory_map, memory_map_svg(*map), "--memory-map"});
  if (!a.report.empty()) {
    nlohmann::json j = {{"device", device_name(opt.device)},
                        {"config_file", a.net.config_file},
                        {"input", {in.c, in.h, in.w}},
                        {"fits", r.violations.empty()},
                        {"layers", nlohmann::json::array()},
                        {"violations", nlohmann::json::array()}};
    for (int ll : r.network.order) j["layers"].push_back(layer_json(r.network, r.network.layers[ll]));
    for (const Violation& v : r.violations) j["violations"].push_back(violation_json(v));
    if (cost) j["cost"] = cost_json(*cost);
    j["memory_map"] = memory_map_json(*map);
    files.push_back({a.report, j.dump(2) + "\n", "--report"});
  }
  write_files_atomically(files);
  print_memory_use(*map, std::cout);
  if (r.violations.empty()) {
    std::cout << "fits: every device limit holds\n";
    return 0;
  }
  std::cout << "does not fit: " << r.violations.front().message << "\n";
  if (r.violations.size() > 1) {
    std::cout << "also:\n";
    for (size_t i = 1; i < r.violations.size(); ++i)
      std::cout << "  " << r.violations[i].message << "\n";
  }
  return 2;
}

}  // namespace

Command add_check_command(CLI::App& app) {
  auto a = std::make_shared<CheckArgs>();
  CLI::App* cmd = app.add_subcommand("check", "Will the network fit the device? (no sample needed)");
  add_network_options(cmd, a->net);
  cmd->add_option("--sample-input", a->sample_input, "a sample .npy, for the input shape");
  cmd->add_option("--input-shape", a->input_shape,
                  "the input shape C,H,W or C,L (also CxHxW, CxL as the tool prints shapes)");
  cmd->add_option("--report", a->report, "write the same as JSON, with the memory map");
  add_cost_options(cmd, a->cost);
  cmd->add_option("--memory-map", a->memory_map,
                  "write the memory map as SVG: data memory per instance (what each layer "
                  "loads, writes, reads), kernel rows per processor, bias bytes per group");
  return {cmd, [a] { return check_command(*a); }};
}

}  // namespace ai8xsim::cli
