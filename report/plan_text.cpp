// ai8xsim: the `plan` report as text (report/plan_text.h).
#include "report/plan_text.h"

#include <iomanip>
#include <sstream>

namespace ai8xsim {

namespace {

std::string hex(uint64_t v, int digits) {
  std::ostringstream s;
  s << "0x" << std::hex << std::setw(digits) << std::setfill('0') << v;
  return s.str();
}

// Instance numbers as ranges: "0-3,8"; "none" when empty.
std::string ranges(const std::vector<int>& v) {
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(v[i]) + (j > i ? "-" + std::to_string(v[j]) : "");
    i = j + 1;
  }
  return out.empty() ? "none" : out;
}

void layer_line(std::ostream& o, const PlannedLayer& p) {
  o << "layer " << p.layer << ": " << p.channels_in << " channels in " << p.passes
    << " pass(es) -> processors " << hex(p.processors, 16) << " ("
    << __builtin_popcountll(p.processors) << " per pass)";
  if (!p.reads.empty()) {
    o << ", reading";
    for (int s : p.reads) o << " " << (s < 0 ? std::string("input") : std::to_string(s));
  }
  o << "; output " << p.channels_out << " channels -> output_processors "
    << hex(p.output_processors, 16) << "; reads " << p.in_bytes << " bytes at in_offset "
    << hex(static_cast<uint64_t>(p.in_offset), 4) << " of instances " << ranges(p.in_instances)
    << ", writes " << p.out_bytes << " bytes at out_offset "
    << hex(static_cast<uint64_t>(p.out_offset), 4) << " of instances "
    << ranges(p.out_instances);
  if (p.kernel_rows > 0)
    o << "; kernel rows " << p.kernel_first_row << ".." << p.kernel_first_row + p.kernel_rows - 1;
  if (p.cycles) {
    o << "; " << *p.cycles << " cycles";
    if (p.original_cycles) o << " (as written: " << *p.original_cycles << ")";
  }
  o << "\n";
}

}  // namespace

std::string plan_report(const PlanResult& r) {
  std::ostringstream o;
  o << "ai8xsim plan " << device_name(r.device) << ": " << r.config_file << " (input "
    << r.input.c << "x" << r.input.h << "x" << r.input.w << "), objective "
    << (r.objective == PlanObjective::Memory ? "memory" : "latency") << "\n";
  for (const PlannedLayer& p : r.layers) layer_line(o, p);
  o << "data memory: highest byte used " << r.data_bytes << " of " << r.instance_bytes
    << " per instance\n";
  o << "cycles: " << r.cycles;
  if (r.original_cycles >= 0) o << " (as written: " << r.original_cycles << ")";
  o << "\n";
  if (r.ok) {
    o << "fits: every device limit holds\n";
  } else if (!r.violations.empty()) {
    o << "no placement found: " << r.violations.front().message << "\n";
    for (size_t i = 1; i < r.violations.size(); ++i)
      o << "  also: " << r.violations[i].message << "\n";
  }
  return o.str();
}

}  // namespace ai8xsim
