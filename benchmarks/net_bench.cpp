// Whole-network throughput of ai8xsim: loads a network as `ai8xsim run` does, runs the given
// sample once (its layers written to --dump-layers DIR as layer_NNN.npy and output.npy, for the
// caller to compare with izer's), runs a batch of copies (every output must equal the single
// run's), then times Simulator::run_batch alone (load, resolution and weight packing excluded: one
// warm-up batch runs first) and prints one JSON object. With --geometry it also writes every
// layer's geometry (what benchmarks/networks.py needs to build the same network in PyTorch).
//
//   net_bench --config-file NET.yaml --checkpoint-file W.npz --device MAX78000 [--fifo ...]
//             --sample-input input.npy [--dump-layers DIR] [--samples 256] [--threads 2]
//             [--repeat 5] [--min-time 0.2] [--geometry geo.json]
// --min-time: the batch grows (from --samples, up to 65536 samples and 512 MB of inputs) until
// one batch takes at least this many seconds, so that small networks are not timed on a few
// microseconds of work.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <ctime>
#include <vector>

#include <nlohmann/json.hpp>

#include "ai8xsim/ai8xsim.h"
#include "kernels/fast.h"
#include "sim/io/npy.h"

using namespace ai8xsim;
using nlohmann::json;

namespace {

json layer_geometry(const Layer& L) {
  return {{"layer", L.index},
          {"op", operator_name(L.op)},
          {"eltwise", eltwise_name(L.eltwise)},
          {"operands", L.operands},
          {"pool_first", L.pool_first},
          {"in_sequences", L.in_sequences},
          {"next", L.next},
          {"in_channels", L.in_channels},
          {"out_channels", L.out_channels},
          {"input_dim", L.input_dim},
          {"pooled_dim", L.pooled_dim},
          {"output_dim", L.output_dim},
          {"in_crop", L.in_crop},
          {"pool", L.pool},
          {"pool_stride", L.pool_stride},
          {"pool_dilation", L.pool_dilation},
          {"avg", L.pool_average},
          {"kernel", L.kernel},
          {"pad", L.padding},
          {"stride", L.stride},
          {"dilation", L.dilation},
          {"output_padding", L.output_padding},
          {"groups", L.groups},
          {"flatten", L.flatten},
          {"bypass", L.bypass},
          {"weight_in_channels", L.weight_in_channels()},
          {"activation", activation_name(L.activation)},
          {"output_shift", L.output_shift},
          {"output_width", L.output_width},
          {"macs", L.macs()}};
}

int usage() {
  std::cerr << "usage: net_bench --config-file Y --checkpoint-file W --device D --sample-input S"
               " [--dump-layers DIR] [--samples N] [--threads T] [--repeat R] [--geometry G.json]"
               " [--no-bias L,..] [--avg-pool-rounding] [--fifo] [--fast-fifo] [--overlap-data]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config, checkpoint, device = "MAX78000", sample, dump, geometry;
  int samples = 256, threads = 0, repeat = 5;
  double min_time = 0;
  LoadOptions opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--config-file") config = value();
    else if (a == "--checkpoint-file") checkpoint = value();
    else if (a == "--device") device = value();
    else if (a == "--sample-input") sample = value();
    else if (a == "--dump-layers") dump = value();
    else if (a == "--geometry") geometry = value();
    else if (a == "--samples") samples = std::stoi(value());
    else if (a == "--threads") threads = std::stoi(value());
    else if (a == "--repeat") repeat = std::stoi(value());
    else if (a == "--min-time") min_time = std::stod(value());
    else if (a == "--avg-pool-rounding") opt.avg_pool_rounding = true;
    else if (a == "--fifo") opt.fifo = true;
    else if (a == "--fast-fifo") opt.fifo = opt.fast_fifo = true;
    else if (a == "--overlap-data") opt.overlap_data = true;
    else if (a == "--no-bias") {
      std::string v = value();
      for (size_t p = 0; p < v.size();) {
        size_t q = v.find(',', p);
        if (q == std::string::npos) q = v.size();
        opt.no_bias.push_back(std::stoi(v.substr(p, q - p)));
        p = q + 1;
      }
    } else return usage();
  }
  if (config.empty() || checkpoint.empty() || sample.empty() || samples < 1 || repeat < 1)
    return usage();
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  try {
    opt.device = device == "MAX78002" ? Device::MAX78002 : Device::MAX78000;
    const Simulator sim = Simulator::load(config, checkpoint, opt);
    const Tensor input = sample_to_tensor(read_npy(sample), sample);
    const Network& net = sim.network(InputShape{input.c, input.h, input.w});

    // Correctness: the single run's layers go to --dump-layers (networks.py compares them with
    // izer's expected.npz); every output of the batch must equal the single run's output.
    const RunResult single = sim.run(input, !dump.empty());
    json check = json::object();
    bool all_equal = true;
    if (!dump.empty()) {
      for (size_t ll = 0; ll < single.layers.size(); ++ll)
        if (single.layers[ll]) {
          const Tensor& t = *single.layers[ll];
          char name[32];
          std::snprintf(name, sizeof name, "/layer_%03zu.npy", ll);
          write_npy_int32(dump + name, {t.c, t.h, t.w}, t.data);
        }
      const Tensor& o = single.output;
      write_npy_int32(dump + "/output.npy", {o.c, o.h, o.w}, o.data);
    }
    std::vector<Tensor> batch(static_cast<size_t>(samples), input);
    // Warm-up (threads' buffers), then grow the batch to --min-time.
    auto timed = [&](std::vector<Tensor>& outs) {
      const auto t0 = std::chrono::steady_clock::now();
      outs = sim.run_batch(batch, threads);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    std::vector<Tensor> outs;
    double t = timed(outs);
    const size_t max_samples = std::min<size_t>(
        65536, std::max<size_t>(1, (size_t{512} << 20) / (input.size() * sizeof(int32_t) + 1)));
    while (min_time > 0 && t < min_time && batch.size() < max_samples) {
      const double grow = std::min(16.0, 1.2 * min_time / std::max(t, 1e-6));
      const size_t n = std::min(max_samples, static_cast<size_t>(batch.size() * grow) + 1);
      batch.resize(n, input);
      t = timed(outs);
    }
    samples = static_cast<int>(batch.size());
    size_t batch_equal = 0;
    for (const Tensor& o : outs) batch_equal += o.data == single.output.data;
    check["batch_equal_single"] = batch_equal == outs.size();
    all_equal = all_equal && batch_equal == outs.size();
    check["all_equal"] = all_equal;
    std::vector<double> secs, cpu;
    auto cpu_now = [] {
      timespec ts{};
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
      return ts.tv_sec + ts.tv_nsec * 1e-9;
    };
    for (int r = 0; r < repeat; ++r) {
      const double c0 = cpu_now();
      secs.push_back(timed(outs));
      cpu.push_back(cpu_now() - c0);
    }
    // One sample at a time (run_batch of 1: on `threads` threads its large convolutions are
    // split by rows), median latency over enough runs.
    auto latency = [&](int t) {
      const std::vector<Tensor> one(1, input);
      std::vector<double> l;
      sim.run_batch(one, t);
      const auto start = std::chrono::steady_clock::now();
      while (l.size() < 5 || (l.size() < 200 && std::chrono::duration<double>(
                                                     std::chrono::steady_clock::now() - start)
                                                         .count() < 0.3)) {
        const auto t0 = std::chrono::steady_clock::now();
        sim.run_batch(one, t);
        l.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(l.begin(), l.end());
      return l[l.size() / 2];
    };
    const double latency1 = latency(1), latency_t = threads > 1 ? latency(threads) : latency1;
    std::vector<double> sorted = secs;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2], best = sorted.front();
    const int64_t macs = net.total_macs();
    json j = {{"config_file", config},
              {"device", device},
              {"simd_target", fast::simd_target()},
              {"threads", threads},
              {"samples", samples},
              {"repeat", repeat},
              {"seconds", secs},
              {"cpu_seconds", cpu},  // process CPU time per batch (all threads)
              {"median_s", median},
              {"best_s", best},
              {"samples_per_s", samples / median},
              {"samples_per_s_best", samples / best},
              {"macs_per_sample", macs},
              {"latency_1thread_s", latency1},
              {"latency_threads_s", latency_t},
              {"gmac_per_s", samples * static_cast<double>(macs) / median / 1e9},
              {"check", check}};
    std::cout << j.dump() << "\n";
    if (!geometry.empty()) {
      json g = {{"input", {input.c, input.h, input.w}},
                {"order", net.order},
                {"final_layer", net.final_layer},
                {"avg_pool_rounding", net.avg_pool_rounding},
                {"layers", json::array()}};
      for (int ll : net.order) g["layers"].push_back(layer_geometry(net.layers[ll]));
      std::ofstream(geometry) << g.dump(1) << "\n";
    }
    return all_equal ? 0 : 1;  // 1: a batch output differs from the single run
  } catch (const std::exception& e) {
    std::cerr << "net_bench: " << e.what() << "\n";
    return 2;
  }
}
