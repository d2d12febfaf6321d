// The engine's two paths agree: runs a network on random samples through the fast path
// (activations in the kernels' layout, prepared weights; and split over 2 threads) and through
// the int32-tensor path (no prepared weights: the engine steps one by one), and compares every
// layer. Exit 0 when all agree, 1 when a layer differs, 2 on a load or argument error.
// Samples: the given one, then random ones in four styles (uniform, small, extremes, sparse).
//
//   engine_paths --config-file NET.yaml --checkpoint-file W.npz --device MAX78000 [--fifo ...]
//                --sample-input input.npy [--samples 8] [--seed 1]
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "ai8xsim/ai8xsim.h"
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
    const PreparedNetwork prepared = prepare_network(net);
    std::mt19937_64 g(seed);
    for (int s = 0; s <= samples; ++s) {
      const Tensor in = s == 0 ? input : random_like(input, g, s % 4);
      const RunResult slow = run_network(net, in, true, nullptr, nullptr);
      const RunResult fast1 = run_network(net, in, true, nullptr, &prepared, 1);
      const RunResult fast2 = run_network(net, in, true, nullptr, &prepared, 2);
      for (const RunResult* r : {&fast1, &fast2}) {
        const std::string d = first_difference(*r, slow, net);
        if (!d.empty()) {
          std::cout << config << ": sample " << s << " (threads " << (r == &fast1 ? 1 : 2)
                    << "): " << d << "\n";
          return 1;
        }
      }
    }
    std::cout << config << ": " << samples + 1 << " samples, every layer equal\n";
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
