// The engine on its two kernel sets agrees: runs a network on samples on the Fast set (SIMD
// kernels, activations in their byte layout; on one thread and with rows split over 2) and on
// the Reference set (kernels/reference.h alone: scalar, no SIMD, nothing of kernels/fast*),
// and compares every layer's output. Exit 0 when all agree, 1 when a layer differs, 2 on a
// load or argument error.
// Samples: the given one, then random ones in four styles (uniform, small, extremes, sparse).
// --budget-macs N: when the network's MACs times the samples exceed N, only the given sample
// runs (the line printed says so). --inject-difference: the Reference set's output stage adds
// 1 to its first value (proves the comparison can fail; tests/parity/test_engine_paths.py).
//
//   engine_paths --config-file NET.yaml --checkpoint-file W.npz --device MAX78000 [--fifo ...]
//                --sample-input input.npy [--samples 8] [--seed 1] [--budget-macs N]
//                [--inject-difference]
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "ai8xsim/ai8xsim.h"
#include "kernels/reference.h"
#include "sim/engine/engine.h"
#include "sim/io/npy.h"

using namespace ai8xsim;

namespace {

Tensor random_like(const Tensor& shape, std::mt19937_64& g, int style) {
  Tensor t(shape.c, shape.h, shape.w);
  std::uniform_int_distribution<int> any(-128, 127), small(-8, 8), coin(0, 1);
  for (auto& v : t.data) {
    if (style == 0) v = any(g);
    else if (style == 1) v = small(g);
    else if (style == 2) v = coin(g) ? -128 : 127;
    else v = coin(g) ? any(g) : 0;
  }
  return t;
}

// The Reference set with a wrong output stage (--inject-difference).
Tensor off_by_one_output_stage(const AccTensor& acc, int shift, bool wide, Activation act) {
  Tensor out = ref::output_stage(acc, shift, wide, act);
  if (!out.data.empty()) out.data[0] += 1;
  return out;
}

std::string first_difference(const RunResult& a, const RunResult& b, const Network& net) {
  for (int ll : net.order) {
    const auto& x = a.layers[ll];
    const auto& y = b.layers[ll];
    if (x.has_value() != y.has_value()) return "layer " + std::to_string(ll) + ": ran in one only";
    if (!x) continue;
    if (x->c != y->c || x->h != y->h || x->w != y->w)
      return "layer " + std::to_string(ll) + ": shape " + x->shape_str() + " vs " + y->shape_str();
    for (size_t i = 0; i < x->data.size(); ++i)
      if (x->data[i] != y->data[i])
        return "layer " + std::to_string(ll) + " element " + std::to_string(i) + ": " +
               std::to_string(x->data[i]) + " vs " + std::to_string(y->data[i]);
  }
  if (a.output.data != b.output.data) return "output";
  return "";
}

int run(int argc, char** argv) {
  std::string config, checkpoint, device = "MAX78000", sample;
  int samples = 8;
  uint64_t seed = 1;
  int64_t budget = -1;
  bool inject = false;
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
    else if (a == "--samples") samples = std::stoi(value());
    else if (a == "--seed") seed = std::stoull(value());
    else if (a == "--budget-macs") budget = std::stoll(value());
    else if (a == "--inject-difference") inject = true;
    else if (a == "--avg-pool-rounding") opt.avg_pool_rounding = true;
    else if (a == "--fifo") opt.fifo = true;
    else if (a == "--fast-fifo") opt.fifo = opt.fast_fifo = true;
    else if (a == "--overlap-data") opt.overlap_data = true;
    else if (a == "--no-bias") {
      const std::string v = value();
      for (size_t p = 0; p < v.size();) {
        size_t q = v.find(',', p);
        if (q == std::string::npos) q = v.size();
        opt.no_bias.push_back(std::stoi(v.substr(p, q - p)));
        p = q + 1;
      }
    } else {
      std::cerr << "engine_paths: unknown argument " << a << "\n";
      return 2;
    }
  }
  {
    opt.device = device == "MAX78002" ? Device::MAX78002 : Device::MAX78000;
    const Simulator sim = Simulator::load(config, checkpoint, opt);
    const Tensor input = sample_to_tensor(read_npy(sample), sample);
    const Network& net = sim.network(InputShape{input.c, input.h, input.w});
    const PreparedNetwork fast = prepare_network(net, KernelSet::Fast);
    kernels::KernelTable wrong = kernels::kernel_table(KernelSet::Reference);
    wrong.output_stage = off_by_one_output_stage;
    const PreparedNetwork reference =
        inject ? prepare_network(net, wrong) : prepare_network(net, KernelSet::Reference);
    int64_t macs = 0;
    for (int ll : net.order) macs += net.layers[ll].macs();
    const bool within = budget < 0 || macs * (samples + 1) <= budget;
    const int runs = within ? samples + 1 : 1;
    std::mt19937_64 g(seed);
    for (int s = 0; s < runs; ++s) {
      const Tensor in = s == 0 ? input : random_like(input, g, s % 4);
      const RunResult ref = run_network(net, in, true, nullptr, &reference);
      const RunResult fast1 = run_network(net, in, true, nullptr, &fast, 1);
      const RunResult fast2 = run_network(net, in, true, nullptr, &fast, 2);
      for (const RunResult* r : {&fast1, &fast2}) {
        const std::string d = first_difference(*r, ref, net);
        if (!d.empty()) {
          std::cout << config << ": sample " << s << " (Fast set, threads "
                    << (r == &fast1 ? 1 : 2) << " vs Reference set): " << d << "\n";
          return 1;
        }
      }
    }
    std::cout << config << ": " << runs << " samples, every layer equal (" << macs
              << " MACs per sample" << (within ? "" : ", over the budget: the given sample only")
              << ")\n";
    return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "engine_paths: " << e.what() << "\n";
    return 2;
  }
}
