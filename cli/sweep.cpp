// `ai8xsim sweep` and `ai8xsim quantize`: the precision sweep and the quantized-checkpoint
// writer live in the Python package (python/ai8xsim/sweeps.py, quantize.py; the sweep runs on
// Dask). These commands hand every argument to `python3 -m ai8xsim._commands NAME` with this
// build's (or installation's) package first on PYTHONPATH, so that the one binary is the
// entry point of every command.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "ai8xsim/error.h"
#include "cli/commands.h"

namespace ai8xsim::cli {

namespace {

bool is_file(const std::string& p) { return access(p.c_str(), R_OK) == 0; }

std::string dir_of(const std::string& p) {
  const size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

// The directory that holds the ai8xsim package this executable belongs to: the build tree's
// BUILD/python (the executable is BUILD/ai8xsim), or, installed by pip, the site directory
// (the executable is SITE/ai8xsim/bin/ai8xsim). Empty when neither is there.
std::string package_root() {
  std::vector<char> buf(4096);
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  const std::string exe(buf.data(), static_cast<size_t>(n));
  const std::string dir = dir_of(exe);
  if (is_file(dir + "/python/ai8xsim/__init__.py")) return dir + "/python";
  const std::string up = dir_of(dir);  // SITE/ai8xsim
  if (is_file(up + "/__init__.py") && is_file(up + "/_commands.py")) return dir_of(up);
  return "";
}

[[noreturn]] void exec_python(const std::string& command, const std::string& module,
                              const std::vector<std::string>& args) {
  const char* env = std::getenv("AI8XSIM_PYTHON");
  const std::string python = env && *env ? env : "/usr/bin/python3";
  if (access(python.c_str(), X_OK) != 0)
    fail(ErrorKind::Config, command + " runs in Python, and " + python +
                                " is not an executable (" + std::strerror(errno) +
                                "); install Python 3 (apt-get install python3) or set "
                                "AI8XSIM_PYTHON to the interpreter to use");
  const std::string root = package_root();
  if (root.empty())
    fail(ErrorKind::Config, command + " runs in Python, and the ai8xsim Python package is not "
                                      "next to this executable (BUILD/python/ai8xsim or "
                                      "ai8xsim/bin/..); build it (cmake --build build) or "
                                      "install with pip");
  const char* old = std::getenv("PYTHONPATH");
  const std::string path = root + (old && *old ? ":" + std::string(old) : "");
  setenv("PYTHONPATH", path.c_str(), 1);
  std::vector<std::string> argv_s = {python, "-m", "ai8xsim._commands", module};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  execv(python.c_str(), argv.data());
  fail(ErrorKind::Config, command + ": cannot run " + python + ": " + std::strerror(errno));
}

Command add_python_command(CLI::App& app, const std::string& name, const std::string& module,
                           const std::string& description) {
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->prefix_command();    // every argument goes to the Python module, which parses them
  cmd->set_help_flag("");   // --help too
  return {cmd, [cmd, name, module] {
            exec_python(name, module, cmd->remaining());
            return 1;
          }};
}

}  // namespace

Command add_sweep_command(CLI::App& app) {
  return add_python_command(
      app, "sweep", "sweep",
      "Precision sweep: weight widths per layer (8/4/2/1) of a float checkpoint, each "
      "quantized, checked and evaluated bit-exactly on labelled samples; Pareto front of "
      "accuracy against kernel memory and latency; on Dask (`sweep --help`)");
}

Command add_quantize_command(CLI::App& app) {
  return add_python_command(
      app, "quantize", "quantize",
      "Write the quantized weights (weights.npz) of a float checkpoint at given widths, as "
      "run/check/eval quantize it (`quantize --help`)");
}

}  // namespace ai8xsim::cli
