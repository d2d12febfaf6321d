// ai8xsim command line: usage errors as one `ai8xsim: error:` line (exit 1), options given an
// empty value, and izer's options that only change the C code izer generates.
#include <algorithm>
#include <iostream>
#include <sstream>

#include "cli/commands.h"

namespace ai8xsim::cli {

namespace {

// izer's options (izer/commandline.py) that change only the generated C code, project files,
// logging or the RTL simulation files — nothing the simulator computes. Pasted from izer's
// demo scripts they are accepted and named in one note. Options that change the arithmetic,
// the memory layout or the checks (--simple1b, --output-width, --no-greedy-kernel,
// --streaming-layers, --ignore-*, --start-layer, --input-offset, --clock-divider, ...) are not
// among them: they are refused as unknown.
const char* const kIzerCodeFlags[] = {
    "--softmax", "--display-checkpoint", "-e,--embedded-code", "--compact-data",
    "--no-compact-data", "--compact-weights", "--mexpress", "--no-mexpress", "--mlator",
    "--unload", "--no-unload", "--no-kat", "--no-wfi", "--no-timer", "--energy", "--overwrite",
    "--pipeline", "--no-pipeline", "--pll", "--no-pll,--apb", "--balance-speed", "--max-speed",
    "--riscv", "--riscv-flash", "--no-riscv-flash", "--riscv-cache", "--no-riscv-cache",
    "--riscv-debug", "--riscv-exclusive", "-v,--verbose", "-L,--log", "--no-log",
    "--no-progress", "--log-intermediate", "--log-pooling",
    "--short-log,--log-last-only,--verbose-all", "-D,--debug", "--debug-computation",
    "--debug-latency", "--no-deduplicate-weights", "--no-warn-zero", "--no-version-check",
    "--powerdown", "--deepsleep", "--verify-writes", "--verify-kernels", "--mlator-noverify",
    "--write-zero-registers", "--init-tram", "--zero-sram", "--pretend-zero-sram",
    "--zero-unused", "--ignore-energy-warning", "--ignore-mlator-warning",
    "--new-kernel-loader", "--old-kernel-loader", "--rtl-preload-weights"};
const char* const kIzerCodeOptions[] = {  // each takes one value
    "--timer", "--prefix", "--test-dir", "--board-name", "--debugwait", "--define",
    "--define-default-arm", "--define-default-riscv", "--eclipse-includes",
    "--eclipse-variables", "--eclipse-openocd-args", "--unroll-mlator", "--unroll-8bit",
    "--unroll-wide", "--boost", "--switch-delay", "--c-filename", "--api-filename",
    "--weight-filename", "--sample-filename", "--sample-output-filename",
    "--sample-numpy-filename", "--log-filename", "--max-verify-length,--max-checklines",
    "--version-check-interval", "--upstream", "--yamllint"};
const char* const kIzerGroup = "izer code generation (accepted, no effect on the simulation)";

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The candidate `word` most likely meant: a prefix either way, else within two edits.
std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 3;
  for (const std::string& c : candidates) {
    if (word.size() > 2 && (c.rfind(word, 0) == 0 || word.rfind(c, 0) == 0) && c.size() > 2)
      return c;
    const size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

std::string one_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

std::vector<std::string> option_names(const CLI::App* cmd) {
  std::vector<std::string> out;
  for (const CLI::Option* o : cmd->get_options())
    if (o->get_group() != kIzerGroup)
      for (const std::string& n : o->get_lnames()) out.push_back("--" + n);
  return out;
}

}  // namespace

void add_izer_code_options(CLI::App& app) {
  for (CLI::App* cmd : app.get_subcommands({})) {
    if (!cmd->get_option_no_throw("--config-file")) continue;
    // A command may give one of them a meaning of its own (kat's --max-checklines).
    auto taken = [&](const std::string& names) {
      for (size_t at = 0; at != std::string::npos;) {
        const size_t comma = names.find(',', at);
        const std::string n = names.substr(at, comma == std::string::npos ? comma : comma - at);
        if (cmd->get_option_no_throw(n)) return true;
        at = comma == std::string::npos ? comma : comma + 1;
      }
      return false;
    };
    for (const char* f : kIzerCodeFlags)
      if (!taken(f)) cmd->add_flag(f)->group(kIzerGroup);
    for (const char* o : kIzerCodeOptions)
      if (!taken(o))
        cmd->add_option(o)->group(kIzerGroup)->multi_option_policy(
            CLI::MultiOptionPolicy::TakeLast);
  }
}

std::string usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::vector<const CLI::App*> parsed;
  std::vector<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands({})) {
    commands.push_back(sub->get_name());
    if (sub->parsed()) parsed.push_back(sub);
  }
  std::string all;
  for (const std::string& c : commands) all += (all.empty() ? "" : ", ") + c;
  if (parsed.empty()) {  // no command recognised
    const std::string first = argc > 1 ? argv[1] : "";
    if (first.empty() || first[0] == '-')
      return "no command given; give one of " + all + " (see ai8xsim --help)";
    const std::string near = closest(first, commands);
    return "unknown command '" + first + "'" +
           (near.empty() ? "" : "; did you mean '" + near + "'?") + " Commands: " + all +
           " (see ai8xsim --help)";
  }
  const CLI::App* cmd = parsed.back();
  const std::string help = " (see ai8xsim " + cmd->get_name() + " --help)";
  const std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    const std::vector<std::string> extra = cmd->remaining();
    std::string list, hint;
    for (const std::string& x : extra) {
      list += (list.empty() ? "" : " ") + x;
      if (hint.empty() && x.rfind("--", 0) == 0) {
        const std::string near = closest(x, option_names(cmd));
        if (!near.empty()) hint = "; did you mean " + near + "?";
      }
    }
    return "ai8xsim " + cmd->get_name() + ": unexpected argument" +
           (extra.size() == 1 ? " " : "s ") + (list.empty() ? one_line(what) : list) + hint +
           help;
  }
  const std::string convert = "Could not convert: ";
  if (what.rfind(convert, 0) == 0) {  // "Could not convert: --threads = abc"
    const std::string rest = what.substr(convert.size());
    const size_t eq = rest.find(" = ");
    if (eq != std::string::npos)
      return rest.substr(0, eq) + ": found '" + one_line(rest.substr(eq + 3)) +
             "', expected a number" + help;
  }
  const size_t at_most = what.find(": At Most 1 required but received ");
  if (at_most != std::string::npos)
    return what.substr(0, at_most) + ": given " +
           one_line(what.substr(at_most + std::string(": At Most 1 required but received ").size())) +
           " times; give it once" + help;
  return one_line(what) + help;
}

InputShape parse_input_shape(const std::string& text) {
  // C,H,W or CxHxW (as the tool prints shapes), or C,L / CxL.
  std::vector<int> v;
  std::string part;
  bool ok = true;
  for (size_t i = 0; i <= text.size() && ok; ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c != ',' && c != 'x' && c != 'X') {
      part += c;
      continue;
    }
    ok = !part.empty() && part.size() <= 7 &&
         part.find_first_not_of("0123456789") == std::string::npos && std::stoi(part) > 0;
    if (ok) v.push_back(std::stoi(part));
    part.clear();
  }
  if (!ok || v.size() < 2 || v.size() > 3)
    fail(ErrorKind::Input, "--input-shape: found '" + text +
                               "'; give C,H,W or C,L (or CxHxW, CxL) with positive sizes");
  return {v[0], v[1], v.size() == 3 ? v[2] : 1};
}

void check_clock_mhz(double mhz, const std::string& option) {
  if (!(mhz > 0 && mhz <= 1e6)) {
    std::ostringstream found;
    found << mhz;
    fail(ErrorKind::Input, option + ": found " + found.str() +
                               "; give the clock in MHz, a positive number (or leave it out "
                               "for the device's default)");
  }
}

void check_threads(int threads) {
  if (threads < 0)
    fail(ErrorKind::Input, "--threads: found " + std::to_string(threads) +
                               "; give 0 (all cores) or a positive number");
}

void check_option_values(const CLI::App& app) {
  for (const CLI::App* cmd : app.get_subcommands({})) {
    if (!cmd->parsed()) continue;
    std::vector<std::string> ignored;
    bool quiet = false;
    for (const CLI::Option* o : cmd->get_options()) {
      if (o->count() == 0) continue;
      if (o->get_name() == "--quiet" || o->check_lname("quiet")) quiet = true;
      if (o->get_group() == kIzerGroup) {
        ignored.push_back(o->get_name());
        continue;
      }
      if (o->get_type_size() == 0) continue;  // a flag
      for (const std::string& r : o->results())
        if (r.empty())
          fail(ErrorKind::Input, o->get_name() + ": an empty value; give a value, or leave " +
                                     o->get_name() + " out");
    }
    if (!ignored.empty() && !quiet) {
      std::string list;
      for (const std::string& n : ignored) list += (list.empty() ? "" : ", ") + n;
      std::cerr << "ai8xsim: note: " << list << (ignored.size() == 1 ? " changes" : " change")
                << " only the C code izer generates, not the simulation; ignored\n";
    }
  }
}

}  // namespace ai8xsim::cli
