#include <chrono>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "ai8xsim/ai8xsim.h"
#include "cli/commands.h"
#include "sim/cycles.h"
#include "sim/device.h"
#include "sim/evaluate.h"
#include "sim/memmap.h"
#include <nlohmann/json.hpp>
#include "sim/io/files.h"
#include "sim/io/npy.h"

namespace ai8xsim::cli {

void add_network_options(CLI::App* cmd, NetworkArgs& a) {
  cmd->add_option("--config-file", a.config_file, "izer network YAML")->required();
  cmd->add_option("--checkpoint-file", a.checkpoint_file,
                  "quantized checkpoint (*-q.pth.tar) or weights.npz")
      ->required();
  cmd->add_option("--device", a.device, "MAX78000 or MAX78002")->capture_default_str();
  cmd->add_option("--no-bias", a.no_bias, "layers whose bias izer ignores")->delimiter(',');
  cmd->add_flag("--avg-pool-rounding", a.avg_pool_rounding, "round average pooling");
  cmd->add_flag("--fifo", a.fifo, "load the input through the FIFOs (streaming)");
  cmd->add_flag("--fast-fifo", a.fast_fifo, "use the fast FIFO");
  cmd->add_flag("--overlap-data", a.overlap_data, "allow a layer's output to overlap its input");
}

LoadOptions load_options(const NetworkArgs& a) {
  LoadOptions opt;
  opt.device = parse_device(a.device);
  opt.no_bias = a.no_bias;
  opt.avg_pool_rounding = a.avg_pool_rounding;
  opt.fifo = a.fifo || a.fast_fifo;
  opt.fast_fifo = a.fast_fifo;
  opt.overlap_data = a.overlap_data;
  return opt;
}

namespace {

std::string shape3(int c, const Dim2& d) {
  return std::to_string(c) + "x" + std::to_string(d[0]) + "x" + std::to_string(d[1]);
}

std::string pool_str(const Layer& L) {
  if (L.pool[0] <= 1 && L.pool[1] <= 1) return "-";
  std::string s = (L.pool_average ? "avg " : "max ") + std::to_string(L.pool[0]);
  if (!L.one_d()) s += "x" + std::to_string(L.pool[1]);
  return s + "/" + std::to_string(L.pool_stride[0]);
}

std::string op_str(const Layer& L) {
  std::string s = operator_name(L.op);
  if (L.eltwise != Eltwise::None)
    s = std::string(eltwise_name(L.eltwise)) + "x" + std::to_string(L.operands) +
        (L.op == Operator::Passthrough ? "" : "+" + s);
  if (L.flatten) s += "(flat)";
  return s;
}

void print_table(const Network& net, const NetworkCycles& cyc, std::ostream& os) {
  os << std::left << std::setw(6) << "layer" << std::setw(20) << "op" << std::setw(14) << "input"
     << std::setw(12) << "pool" << std::setw(14) << "output" << std::setw(6) << "shift"
     << std::setw(7) << "act" << std::right << std::setw(12) << "MACs" << std::setw(10)
     << "cycles" << std::setw(10) << "us" << std::setw(9) << "MAC/cyc" << "\n";
  for (const NetworkLayerCycles& lc : cyc.layers) {
    const Layer& L = net.layers[lc.layer];
    const int in_c = L.in_channels * L.operands;
    const int64_t cycles = lc.cycles.total;
    os << std::left << std::setw(6) << L.index << std::setw(20) << op_str(L) << std::setw(14)
       << shape3(in_c, L.input_dim) << std::setw(12) << pool_str(L) << std::setw(14)
       << shape3(L.out_channels, L.output_dim) + (L.output_width == 32 ? "@32" : "")
       << std::setw(6) << (L.is_conv() ? std::to_string(L.output_shift) : "-") << std::setw(7)
       << (L.activation == Activation::None ? "-" : activation_name(L.activation)) << std::right
       << std::setw(12) << L.macs() << std::setw(10) << cycles << std::setw(10) << std::fixed
       << std::setprecision(1) << cycles / cyc.clock_mhz << std::setw(9) << std::setprecision(1)
       << (cycles > 0 ? static_cast<double>(L.macs()) / cycles : 0.0)
       << (lc.cycles.estimated ? " est." : "") << "\n";
  }
  os << "total: " << net.total_macs() << " MACs, " << cyc.total << " cycles, " << std::fixed
     << std::setprecision(1) << cyc.microseconds() << " us at " << cyc.clock_mhz << " MHz"
     << (cyc.estimated ? " (estimated: streaming layers or a device izer does not estimate)"
                       : "")
     << "\n";
}

// --report: the run's per-layer figures as JSON (cycle model, MACs, shapes) and the memory map.
std::string report_json(const Network& net, const NetworkCycles& cyc, const MemoryMap& map) {
  nlohmann::json j = {{"device", device_name(net.device)},
                      {"config_file", net.config_file},
                      {"clock_mhz", cyc.clock_mhz},
                      {"total_cycles", cyc.total},
                      {"latency_us", cyc.microseconds()},
                      {"estimated", cyc.estimated},
                      {"total_macs", net.total_macs()},
                      {"layers", nlohmann::json::array()}};
  for (const NetworkLayerCycles& lc : cyc.layers) {
    const Layer& L = net.layers[lc.layer];
    nlohmann::json terms = nlohmann::json::object();
    for (const CycleTerm& t : lc.cycles.terms()) terms[t.name] = t.cycles;
    j["layers"].push_back({{"layer", L.index},
                           {"op", operator_name(L.op)},
                           {"output", {L.out_channels, L.output_dim[0], L.output_dim[1]}},
                           {"macs", L.macs()},
                           {"cycles", lc.cycles.total},
                           {"estimated", lc.cycles.estimated},
                           {"cycle_terms", terms}});
  }
  j["memory_map"] = memory_map_json(map);
  return j.dump(2) + "\n";
}

std::vector<int64_t> tensor_shape(const Tensor& t) { return {t.c, t.h, t.w}; }

std::string layer_file(const std::string& dir, int ll) {
  std::ostringstream s;
  s << dir << "/layer_" << std::setw(3) << std::setfill('0') << ll << ".npy";
  return s.str();
}

}  // namespace

namespace {
struct RunArgs {
  NetworkArgs net;
  KatOptions kat;
  std::string sample_input, output, dump_layers, report, memory_map;
  double clock_mhz = 0;
  int threads = 0;
  bool quiet = false;
};

// A sample array holds a batch when it has one axis more than a sample: N x C x H x W, or
// N x C x L for a network whose first layer is Conv1d (a 1-D sample may also come as
// C x L x 1, as izer accepts it: a last axis of 1 means one sample).
bool is_batch(const std::vector<int64_t>& shape, const Simulator& sim) {
  const auto& first = sim.config().layers.front();
  return shape.size() == 4 || (shape.size() == 3 && first.op == Operator::Conv1d && shape[2] != 1);
}

// --report (with the memory map) and --memory-map FILE.svg.
void add_memory_files(const RunArgs& a, const Network& net, const NetworkCycles& cyc,
                      std::vector<PendingFile>& files) {
  if (a.report.empty() && a.memory_map.empty()) return;
  const MemoryMap map = memory_map(net);
  if (!a.report.empty()) files.push_back({a.report, report_json(net, cyc, map)});
  if (!a.memory_map.empty()) files.push_back({a.memory_map, memory_map_svg(map)});
}

// The network resolved for a sample's shape; when the network cannot take that shape, the
// message names the sample file too (the resolver only knows the YAML).
const Network& network_for_sample(const Simulator& sim, const InputShape& shape,
                                  const std::string& file) {
  try {
    return sim.network(shape);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Input) throw;
    fail(ErrorKind::Input, file + ": " + e.what());
  }
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string rate(double samples, double seconds) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(3) << seconds << " s, " << std::setprecision(1)
    << (seconds > 0 ? samples / seconds : 0.0) << " samples/s";
  return s.str();
}

}  // namespace

// The final outputs of a batch written into `path` as they are computed (OutputMapping): an
// int32 .npy of N x C x H x W, nothing held in memory.
BatchOutputFile::BatchOutputFile(const std::string& path, int64_t n, const InputShape& shape)
    : per_(static_cast<size_t>(shape.c) * shape.h * shape.w) {
  if (path.empty()) return;
  const std::string header = npy_header_int32({n, shape.c, shape.h, shape.w});
  file_.emplace(path, header.size() + static_cast<size_t>(n) * per_ * sizeof(int32_t));
  std::memcpy(file_->data(), header.data(), header.size());
  // The header is a multiple of 64 bytes long: the data is aligned.
  data_ = reinterpret_cast<int32_t*>(file_->data() + header.size());
}

void BatchOutputFile::put(size_t index, const Tensor& output) {
  if (data_) std::copy(output.data.begin(), output.data.end(), data_ + index * per_);
}

void BatchOutputFile::finish(std::vector<PendingFile>& files) {
  if (file_) files.push_back(file_->finish());
}

namespace {

// Batch input: N results into one output array, no per-layer dumps. The samples are read from
// the mapped file and the outputs written to the mapped output as the threads go.
int run_batch_command(const RunArgs& a, const Simulator& sim, const NpyFile& file,
                      Clock::time_point t0) {
  NdArray described;
  described.shape = file.shape;
  if (!a.kat.file.empty())
    fail(ErrorKind::Input, a.sample_input + ": --kat takes one sample; this file holds " +
                               std::to_string(file.shape[0]) + " (shape " +
                               described.shape_str() + ")");
  if (!a.dump_layers.empty())
    fail(ErrorKind::Input, a.sample_input + ": --dump-layers takes one sample; this file holds " +
                               std::to_string(file.shape[0]) + " (shape " +
                               described.shape_str() + ")");
  const SampleArray samples =
      SampleArray::c_order(file.data, file.dtype, file.shape, true, a.sample_input);
  // The shape is checked against the network before any data is read.
  const Network& net = network_for_sample(sim, samples.shape, a.sample_input);
  const InputShape out_shape = sim.output_shape(samples.shape);
  BatchOutputFile out(a.output, samples.n, out_shape);
  const auto c0 = Clock::now();
  sim.run_batch(samples, [&](size_t i, const Tensor& o) { out.put(i, o); }, a.threads);
  const double compute = seconds_since(c0);
  std::vector<PendingFile> files;
  out.finish(files);
  const NetworkCycles cyc = estimate_network_cycles(
      net, a.clock_mhz > 0 ? a.clock_mhz : default_cnn_clock_mhz(sim.options().device));
  add_memory_files(a, net, cyc, files);
  write_files_atomically(files);
  const double total = seconds_since(t0);
  if (!a.quiet) {
    std::cout << "ai8xsim " << device_name(sim.options().device) << ": " << a.net.config_file
              << "\n";
    print_table(net, cyc, std::cout);
    std::cout << "output: " << samples.n << " x " << out_shape.c << "x" << out_shape.h << "x"
              << out_shape.w;
    if (!a.output.empty()) std::cout << " -> " << a.output;
    std::cout << "\n";
    const double n = static_cast<double>(samples.n);
    std::cout << "time: " << rate(n, total)
              << " end to end (reading the samples to the last output written); compute only: "
              << rate(n, compute) << "\n";
  }
  return 0;
}

int run_command(const RunArgs& a) {
  const LoadOptions opt = load_options(a.net);
  const Simulator sim = Simulator::load(a.net.config_file, a.net.checkpoint_file, opt);
  const auto t0 = Clock::now();
  const NpyFile file = NpyFile::open(a.sample_input);
  if (is_batch(file.shape, sim)) return run_batch_command(a, sim, file, t0);
  const SampleArray sample =
      SampleArray::c_order(file.data, file.dtype, file.shape, false, a.sample_input);
  const Network& net = network_for_sample(sim, sample.shape, a.sample_input);
  Tensor input;
  sample.load(0, input);
  // With --kat the run works on the data memory image (sim/datamem.h); else the fast path,
  // its large layers split over --threads.
  std::optional<MemoryFedRun> fed;
  if (!a.kat.file.empty()) fed = run_with_kat(net, input, !a.dump_layers.empty(), a.kat);
  const RunResult r =
      fed ? std::move(fed->result) : sim.run(input, !a.dump_layers.empty(), a.threads);

  std::vector<PendingFile> files;
  if (!a.output.empty()) files.push_back({a.output, encode_npy_int32(tensor_shape(r.output),
                                                                     r.output.data)});
  if (!a.dump_layers.empty())
    for (int ll : net.order)
      if (r.layers[ll])
        files.push_back({layer_file(a.dump_layers, ll),
                         encode_npy_int32(tensor_shape(*r.layers[ll]), r.layers[ll]->data)});
  const NetworkCycles cyc = estimate_network_cycles(
      net, a.clock_mhz > 0 ? a.clock_mhz : default_cnn_clock_mhz(opt.device));
  add_memory_files(a, net, cyc, files);
  write_files_atomically(files, a.dump_layers);

  if (!a.quiet) {
    std::cout << "ai8xsim " << device_name(opt.device) << ": " << a.net.config_file << "\n";
    print_table(net, cyc, std::cout);
    std::cout << "output: " << r.output.shape_str();
    if (!a.output.empty()) std::cout << " -> " << a.output;
    std::cout << "\n";
  }
  if (fed && !fed->kat_ok) {
    std::cerr << fed->report;
    return 2;
  }
  if (fed && !a.quiet) std::cout << fed->report;
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand("run", "Run a synthesized network on a sample");
  add_network_options(run, a->net);
  run->add_option("--sample-input", a->sample_input,
                  "sample .npy: C x H x W or C x L; or a batch N x C x H x W (N x C x L for a "
                  "Conv1d network), then --output holds N results")
      ->required();
  run->add_option("--output", a->output, "write the final layer's output here (.npy, int32)");
  run->add_option("--dump-layers", a->dump_layers,
                  "write every layer's output as DIR/layer_NNN.npy (NNN: YAML layer index)");
  run->add_option("--report", a->report,
                  "write per-layer cycles, latency and MACs as JSON (total_cycles, latency_us, "
                  "clock_mhz, layers[i].cycles, layers[i].macs) and the memory map (memory_map)");
  run->add_option("--memory-map", a->memory_map,
                  "write the memory map as SVG: data memory per instance (what each layer "
                  "loads, writes, reads), kernel rows per processor, bias bytes per group");
  run->add_option("--clock-mhz", a->clock_mhz,
                  "CNN clock for latency (default: MAX78000 50, MAX78002 200)");
  run->add_option("--threads", a->threads,
                  "threads (default: all cores): a batch runs samples in parallel, one sample "
                  "splits the rows of its large layers");
  run->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  add_kat_options(run, a->kat);
  return {run, [a] { return run_command(*a); }};
}

}  // namespace ai8xsim::cli
