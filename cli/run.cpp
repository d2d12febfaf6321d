#include <chrono>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ai8xsim/ai8xsim.h"
#include "ai8xsim/cycles.h"
#include "ai8xsim/evaluate.h"
#include "ai8xsim/files.h"
#include "ai8xsim/memmap.h"
#include "ai8xsim/memory.h"
#include "ai8xsim/npy.h"
#include "ai8xsim/outputs.h"
#include "cli/commands.h"
#include "report/memmap_svg.h"

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

void add_kernels_option(CLI::App* cmd, NetworkArgs& a) {
  cmd->add_option("--kernels", a.kernels,
                  "fast (SIMD) or reference (the readable definitions, slow); same results")
      ->capture_default_str();
}

LoadOptions load_options(const NetworkArgs& a) {
  LoadOptions opt;
  opt.device = parse_device(a.device);
  opt.no_bias = a.no_bias;
  opt.avg_pool_rounding = a.avg_pool_rounding;
  opt.fifo = a.fifo;
  opt.fast_fifo = a.fast_fifo;
  opt.overlap_data = a.overlap_data;
  opt.kernels = parse_kernel_set(a.kernels, "--kernels");
  return opt;
}

Simulator load_network(const NetworkArgs& a, const LoadOptions& opt) {
  Simulator sim = Simulator::load(a.config_file, a.checkpoint_file, opt);
  for (const std::string& note : sim.notes()) std::cerr << "ai8xsim: note: " << note << "\n";
  return sim;
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

void print_table(const Network& net, const NetworkCost& cost, std::ostream& os) {
  const NetworkCycles& cyc = cost.cycles;
  os << std::left << std::setw(6) << "layer" << std::setw(20) << "op" << std::setw(14) << "input"
     << std::setw(12) << "pool" << std::setw(14) << "output" << std::setw(6) << "shift"
     << std::setw(7) << "act" << std::right << std::setw(12) << "MACs" << std::setw(10)
     << "cycles" << std::setw(10) << "us" << std::setw(10) << "uJ" << std::setw(9) << "MAC/cyc"
     << "\n";
  for (size_t i = 0; i < cyc.layers.size(); ++i) {
    const NetworkLayerCycles& lc = cyc.layers[i];
    const Layer& L = net.layers[lc.layer];
    const int in_c = L.in_channels * L.operands;
    const int64_t cycles = lc.cycles.total;
    os << std::left << std::setw(6) << L.index << std::setw(20) << op_str(L) << std::setw(14)
       << shape3(in_c, L.input_dim) << std::setw(12) << pool_str(L) << std::setw(14)
       << shape3(L.out_channels, L.output_dim) + (L.output_width == 32 ? "@32" : "")
       << std::setw(6) << (L.is_conv() ? std::to_string(L.output_shift) : "-") << std::setw(7)
       << (L.activation == Activation::None ? "-" : activation_name(L.activation)) << std::right
       << std::setw(12) << L.macs() << std::setw(10) << cycles << std::setw(10) << std::fixed
       << std::setprecision(1) << cost.layers[i].microseconds << std::setw(10)
       << std::setprecision(2) << cost.layers[i].microjoules << std::setw(9) << std::setprecision(1)
       << (cycles > 0 ? static_cast<double>(L.macs()) / cycles : 0.0)
       << (lc.cycles.estimated ? " est." : "") << "\n";
  }
  std::string streaming;
  for (const NetworkLayerCycles& lc : cyc.layers)
    if (lc.cycles.estimated) streaming += (streaming.empty() ? "" : ", ") + std::to_string(lc.layer);
  os << "total: " << net.total_macs() << " MACs, " << cyc.total << " cycles, " << std::fixed
     << std::setprecision(1) << cyc.microseconds() << " us at " << cyc.clock_mhz << " MHz";
  if (cyc.estimated)
    os << " (estimated: "
       << (!streaming.empty() ? "streaming layers " + streaming + " use izer's flat guess"
                              : std::string("izer estimates no latency for this device; the "
                                            "cycle model's count"))
       << ")";
  os << "\n";
  print_cost_totals(cost, os);
  bool wide = false;
  for (const Layer& L : net.layers) wide = wide || L.output_width == 32;
  if (wide) os << "@32: the layer's output is 32-bit (output_width: 32: the accumulator, not brought to 8 bits)\n";
}

// The final output's values (the first 16) and, for a class vector, the predicted class.
void print_output(const Tensor& out, std::ostream& os) {
  os << "values:";
  for (size_t i = 0; i < out.data.size() && i < 16; ++i) os << " " << out.data[i];
  if (out.data.size() > 16) os << " ... (" << out.data.size() << " values)";
  if (out.h * out.w == 1 && out.c > 1)
    os << "; predicted class " << argmax(out.data.data(), out.data.size()) << " (argmax)";
  os << "\n";
}

// --report: the run's per-layer figures as JSON (cycle model, MACs, shapes) and the memory map.
std::string report_json(const Network& net, const NetworkCost& cost, const MemoryMap& map) {
  const NetworkCycles& cyc = cost.cycles;
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
  j["cost"] = cost_json(cost);
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
  CostArgs cost;
  int threads = 0;
  bool quiet = false;
  bool sequence = false;  // --sequence: the batch is one sequence carrying the data buffer
};

// A sample array holds a batch when it has one axis more than a sample: N x C x H x W, or
// N x C x L for a network whose first layer is Conv1d (a 1-D sample may also come as
// C x L x 1, as izer accepts it: a last axis of 1 means one sample).
bool is_batch(const std::vector<int64_t>& shape, const Simulator& sim) {
  const auto& first = sim.config().layers.front();
  return shape.size() == 4 || (shape.size() == 3 && first.op == Operator::Conv1d && shape[2] != 1);
}

// --report (with the memory map) and --memory-map FILE.svg.
void add_memory_files(const RunArgs& a, const Network& net, const NetworkCost& cyc,
                      OutputTransaction& out) {
  if (a.report.empty() && a.memory_map.empty()) return;
  const MemoryMap map = memory_map(net);
  if (!a.report.empty()) out.add("--report", a.report, report_json(net, cyc, map));
  if (!a.memory_map.empty()) out.add("--memory-map", a.memory_map, memory_map_svg(map));
}

// The names --dump-layers writes (layer_NNN.npy): any other such file in the directory is
// from an earlier run and is removed when this run's files are in place.
bool is_layer_file(const std::string& name) {
  if (name.size() < 11 || name.compare(0, 6, "layer_") != 0 ||
      name.compare(name.size() - 4, 4, ".npy") != 0)
    return false;
  for (size_t i = 6; i + 4 < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
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

// The final outputs of a batch written to `path` as they are computed (OutputFile): an int32
// .npy of N x C x H x W. A thread's consecutive small outputs gather in its stage (at most
// kStageBytes) and go to the file in one write; a large one is written from its tensor.
BatchOutputFile::BatchOutputFile(const std::string& path, int64_t n, const InputShape& shape)
    : bytes_(static_cast<size_t>(shape.c) * shape.h * shape.w * sizeof(int32_t)) {
  if (path.empty()) return;
  const std::string header = npy_header_int32({n, shape.c, shape.h, shape.w});
  file_.emplace(path, header.size() + static_cast<size_t>(n) * bytes_);
  file_->write(0, header.data(), header.size());
  header_ = header.size();
}

void BatchOutputFile::put(size_t index, const Tensor& output) {
  if (!file_) return;
  const char* data = reinterpret_cast<const char*>(output.data.data());
  if (bytes_ >= kDirectBytes) {
    file_->write(header_ + index * bytes_, data, bytes_);
    return;
  }
  Stage* s;
  {
    std::lock_guard<std::mutex> lock(stages_mutex_);
    s = &stages_[std::this_thread::get_id()];  // (a map: the reference stays valid)
  }
  if (s->count && (index != s->first + s->count || s->bytes.size() + bytes_ > kStageBytes))
    flush(*s);
  if (!s->count) s->first = index;
  s->bytes.insert(s->bytes.end(), data, data + bytes_);
  ++s->count;
}

void BatchOutputFile::flush(Stage& s) {
  if (s.count) file_->write(header_ + s.first * bytes_, s.bytes.data(), s.bytes.size());
  s.bytes.clear();
  s.count = 0;
}

void BatchOutputFile::finish(OutputTransaction& files, const std::string& option) {
  if (!file_) return;
  for (auto& [thread, stage] : stages_) flush(stage);
  const PendingFile f = file_->finish();
  files.add_written(option, f.path, f.written);
}

namespace {

// Batch input: N results into one output array, no per-layer dumps. The samples are read from
// the mapped file and the outputs written to the output file as the threads go.
int run_batch_command(const RunArgs& a, const Simulator& sim, const NpyFile& file,
                      Clock::time_point t0) {
  if (!a.kat.file.empty())
    fail(ErrorKind::Input, a.sample_input + ": --kat takes one sample; this file holds " +
                               std::to_string(file.shape[0]) + " (shape " +
                               shape_str(file.shape) + ")");
  if (!a.dump_layers.empty())
    fail(ErrorKind::Input, a.sample_input + ": --dump-layers takes one sample; this file holds " +
                               std::to_string(file.shape[0]) + " (shape " +
                               shape_str(file.shape) + ")");
  const SampleArray samples =
      SampleArray::c_order(file.data, file.dtype, file.shape, true, a.sample_input);
  // The shape is checked against the network before any data is read.
  const Network& net = network_for_sample(sim, samples.shape, a.sample_input);
  const InputShape out_shape = sim.output_shape(samples.shape);
  BatchOutputFile out(a.output, samples.n, out_shape);
  const auto c0 = Clock::now();
  if (a.sequence) {  // in order, each step from the data buffer the one before left
    std::vector<Tensor> frames(static_cast<size_t>(samples.n));
    for (int64_t i = 0; i < samples.n; ++i) samples.load(i, frames[static_cast<size_t>(i)]);
    const std::vector<Tensor> outs = sim.run_sequence(frames);
    for (size_t i = 0; i < outs.size(); ++i) out.put(i, outs[i]);
  } else {
    sim.run_batch(samples, [&](size_t i, const Tensor& o) { out.put(i, o); }, a.threads);
  }
  const double compute = seconds_since(c0);
  OutputTransaction files;
  out.finish(files, "--output");
  const NetworkCost cyc = estimate_network_cost(net, cost_options(a.cost));
  add_memory_files(a, net, cyc, files);
  files.commit();
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
  cost_options(a.cost);  // refuse a bad option before the run
  check_threads(a.threads);
  const LoadOptions opt = load_options(a.net);
  const Simulator sim = load_network(a.net, opt);
  const auto t0 = Clock::now();
  const NpyFile file = NpyFile::open(a.sample_input);
  if (is_batch(file.shape, sim)) return run_batch_command(a, sim, file, t0);
  const SampleArray sample =
      SampleArray::c_order(file.data, file.dtype, file.shape, false, a.sample_input);
  const Network& net = network_for_sample(sim, sample.shape, a.sample_input);
  Tensor input;
  sample.load(0, input);
  // With --kat the run works on the data memory image (ai8xsim/memory.h); else the fast path,
  // its large layers split over --threads.
  std::optional<KatRun> fed;
  if (!a.kat.file.empty())
    fed = run_with_kat(net, input, !a.dump_layers.empty(), a.kat.file, a.kat.lines);
  const RunResult r =
      fed ? std::move(fed->result) : sim.run(input, !a.dump_layers.empty(), a.threads);

  OutputTransaction files;
  if (!a.output.empty())
    files.add("--output", a.output, encode_npy_int32(tensor_shape(r.output), r.output.data));
  if (!a.dump_layers.empty()) {
    files.add_directory("--dump-layers", a.dump_layers, is_layer_file);
    for (int ll : net.order)
      if (r.layers[ll])
        files.add("--dump-layers", layer_file(a.dump_layers, ll),
                  encode_npy_int32(tensor_shape(*r.layers[ll]), r.layers[ll]->data));
  }
  const NetworkCost cyc = estimate_network_cost(net, cost_options(a.cost));
  add_memory_files(a, net, cyc, files);
  files.commit();

  if (!a.quiet) {
    std::cout << "ai8xsim " << device_name(opt.device) << ": " << a.net.config_file << "\n";
    print_table(net, cyc, std::cout);
    std::cout << "output: " << r.output.shape_str();
    if (!a.output.empty()) std::cout << " -> " << a.output;
    std::cout << "\n";
    print_output(r.output, std::cout);
  }
  if (fed && !fed->ok) {
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
  add_kernels_option(run, a->net);
  run->add_option("--sample-input", a->sample_input,
                  "sample .npy: C x H x W or C x L; or a batch N x C x H x W (N x C x L for a "
                  "Conv1d network), then --output holds N results")
      ->required();
  run->add_option("--output", a->output, "write the final layer's output here (.npy, int32)");
  run->add_option("--dump-layers", a->dump_layers,
                  "write every layer's output as DIR/layer_NNN.npy (NNN: YAML layer index)");
  run->add_option("--report", a->report,
                  "write per-layer cycles, latency and MACs as JSON (total_cycles, latency_us, "
                  "clock_mhz, layers[i].cycles, layers[i].macs) the memory map (memory_map) and the cost (cost: per layer us/uJ, load and inference totals)");
  run->add_option("--memory-map", a->memory_map,
                  "write the memory map as SVG: data memory per instance (what each layer "
                  "loads, writes, reads), kernel rows per processor, bias bytes per group");
  add_cost_options(run, a->cost);
  run->add_option("--threads", a->threads,
                  "threads (default: all cores): a batch runs samples in parallel, one sample "
                  "splits the rows of its large layers");
  run->add_flag("--sequence", a->sequence,
                "run a batch in order as one sequence of inferences, each starting from the "
                "rolling data buffer (`data_buffer`) the one before left (the first from zero)");
  run->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  add_kat_options(run, a->kat);
  return {run, [a] { return run_command(*a); }};
}

}  // namespace ai8xsim::cli
