// Reference vs fast kernels on representative layer shapes, in MAC/s (multiply-accumulates of
// the convolution per second; pooling and element-wise report elements/s).
//   ref/...        ref::conv2d + ref::output_stage (what the engine ran before)
//   fast/...       fast::conv2d + fast::output_stage (the drop-in kernels: weights repacked
//                  on every call, int64 accumulators materialised)
//   prepared/...   PreparedConv::conv2d_output (weights packed once, output stage fused)
//   prepared2t/... the same with threads = 2 (rows split inside one sample)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "kernels/fast.h"
#include "kernels/reference.h"

using namespace ai8xsim;
using ref::ConvGeometry;

namespace {

struct Shape {
  const char* name;
  int c, h, w, o;
  ConvGeometry g;
  bool relu_input = false;  // input values in [0, 127] (a ReLU layer's output), else [-128, 127]
};

ConvGeometry geo(ref::Pair k, ref::Pair pad, int groups = 1) {
  ConvGeometry g;
  g.kernel = k;
  g.pad_before = pad;
  g.pad_after = pad;
  g.groups = groups;
  return g;
}

ConvGeometry transposed3x3s2() {  // ConvTranspose2d k3 s2 pad 1 output_padding 1
  ConvGeometry g;
  g.kernel = {3, 3};
  g.upsample = {2, 2};
  g.pad_before = {1, 1};
  g.pad_after = {2, 2};
  return g;
}

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> s = {
      {"conv3x3_64to64_32x32", 64, 32, 32, 64, geo({3, 3}, {1, 1})},
      {"conv3x3_16to32_32x32", 16, 32, 32, 32, geo({3, 3}, {1, 1})},
      {"conv3x3_128to128_8x8", 128, 8, 8, 128, geo({3, 3}, {1, 1})},
      {"conv1x1_256to256_8x8", 256, 8, 8, 256, geo({1, 1}, {0, 0})},
      {"conv1d_128to128_k3_L128", 128, 128, 1, 128, geo({3, 1}, {1, 0})},
      {"conv1d_100to96_k3_L32", 100, 32, 1, 96, geo({3, 1}, {1, 0})},
      {"linear_1024to10", 1024, 1, 1, 10, geo({1, 1}, {0, 0})},
      {"depthwise3x3_64_32x32", 64, 32, 32, 64, geo({3, 3}, {1, 1}, 64)},
      {"convT3x3s2_64to32_16x16", 64, 16, 16, 32, transposed3x3s2()},
      {"conv3x3_64to64_32x32_reluin", 64, 32, 32, 64, geo({3, 3}, {1, 1}), true},
      {"conv3x3_128to128_8x8_reluin", 128, 8, 8, 128, geo({3, 3}, {1, 1}), true},
      {"conv1x1_256to256_8x8_reluin", 256, 8, 8, 256, geo({1, 1}, {0, 0}), true},
      {"conv1d_128to128_k3_L128_reluin", 128, 128, 1, 128, geo({3, 1}, {1, 0}), true},
  };
  return s;
}

struct Case {
  Tensor in;
  std::vector<int8_t> w;
  std::vector<int64_t> bias;
  double macs = 0;
};

Case make_case(const Shape& s) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> d8(-128, 127);
  Case k;
  k.in = Tensor(s.c, s.h, s.w);
  for (auto& v : k.in.data) v = s.relu_input ? std::max(0, d8(rng)) : d8(rng);
  const int ipg = s.c / s.g.groups;
  k.w.resize(static_cast<size_t>(s.o) * ipg * s.g.kernel[0] * s.g.kernel[1]);
  for (auto& v : k.w) v = static_cast<int8_t>(d8(rng));
  for (int o = 0; o < s.o; ++o) k.bias.push_back(int64_t{d8(rng)} * 128);
  const AccTensor probe = ref::conv2d(k.in, k.w.data(), s.o, k.bias, s.g);
  // MACs of the layer as the hardware counts them (ConvTranspose2d: the non-zero taps only).
  k.macs = static_cast<double>(probe.size()) * ipg * s.g.kernel[0] * s.g.kernel[1] /
           (static_cast<double>(s.g.upsample[0]) * s.g.upsample[1]);
  return k;
}

void set_rate(benchmark::State& st, double macs) {
  st.counters["MAC/s"] =
      benchmark::Counter(macs * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
  st.counters["MACs"] = macs;
}

void BM_ref(benchmark::State& st, const Shape* s) {
  const Case k = make_case(*s);
  for (auto _ : st) {
    Tensor out = ref::output_stage(ref::conv2d(k.in, k.w.data(), s->o, k.bias, s->g), 7, false,
                                   Activation::ReLU);
    benchmark::DoNotOptimize(out.data.data());
  }
  set_rate(st, k.macs);
}

void BM_fast(benchmark::State& st, const Shape* s) {
  const Case k = make_case(*s);
  for (auto _ : st) {
    Tensor out = fast::output_stage(fast::conv2d(k.in, k.w.data(), s->o, k.bias, s->g), 7,
                                    false, Activation::ReLU);
    benchmark::DoNotOptimize(out.data.data());
  }
  set_rate(st, k.macs);
}

void BM_prepared(benchmark::State& st, const Shape* s, int threads) {
  const Case k = make_case(*s);
  const fast::PreparedConv pc(k.w.data(), s->o, s->c, k.bias, s->g);
  for (auto _ : st) {
    Tensor out = pc.conv2d_output(k.in, 7, false, Activation::ReLU, threads);
    benchmark::DoNotOptimize(out.data.data());
  }
  set_rate(st, k.macs);
  st.SetLabel(fast::simd_target());
}

Tensor rand_tensor(int c, int h, int w) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> d8(-128, 127);
  Tensor t(c, h, w);
  for (auto& v : t.data) v = d8(rng);
  return t;
}

template <bool kFast>
void BM_maxpool2x2(benchmark::State& st) {
  const Tensor in = rand_tensor(64, 32, 32);
  for (auto _ : st) {
    Tensor out = kFast ? fast::pool2d(in, {2, 2}, {2, 2}, {1, 1}, false, false)
                       : ref::pool2d(in, {2, 2}, {2, 2}, {1, 1}, false, false);
    benchmark::DoNotOptimize(out.data.data());
  }
  st.SetItemsProcessed(st.iterations() * static_cast<int64_t>(in.size()));
}

template <bool kFast>
void BM_avgpool4x4(benchmark::State& st) {
  const Tensor in = rand_tensor(64, 32, 32);
  for (auto _ : st) {
    Tensor out = kFast ? fast::pool2d(in, {4, 4}, {4, 4}, {1, 1}, true, true)
                       : ref::pool2d(in, {4, 4}, {4, 4}, {1, 1}, true, true);
    benchmark::DoNotOptimize(out.data.data());
  }
  st.SetItemsProcessed(st.iterations() * static_cast<int64_t>(in.size()));
}

template <bool kFast>
void BM_eltwise_add3(benchmark::State& st) {
  const std::vector<Tensor> ops = {rand_tensor(64, 32, 32), rand_tensor(64, 32, 32),
                                   rand_tensor(64, 32, 32)};
  for (auto _ : st) {
    Tensor out = kFast ? fast::eltwise(ops, Eltwise::Add, false)
                       : ref::eltwise(ops, Eltwise::Add, false);
    benchmark::DoNotOptimize(out.data.data());
  }
  st.SetItemsProcessed(st.iterations() * static_cast<int64_t>(ops[0].size() * ops.size()));
}

int register_all() {
  for (const Shape& s : shapes()) {
    benchmark::RegisterBenchmark((std::string("ref/") + s.name).c_str(), BM_ref, &s)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("fast/") + s.name).c_str(), BM_fast, &s)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("prepared/") + s.name).c_str(), BM_prepared, &s, 1)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("prepared2t/") + s.name).c_str(), BM_prepared, &s,
                                 2)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("ref/maxpool2x2_64x32x32", BM_maxpool2x2<false>);
  benchmark::RegisterBenchmark("fast/maxpool2x2_64x32x32", BM_maxpool2x2<true>);
  benchmark::RegisterBenchmark("ref/avgpool4x4_round_64x32x32", BM_avgpool4x4<false>);
  benchmark::RegisterBenchmark("fast/avgpool4x4_round_64x32x32", BM_avgpool4x4<true>);
  benchmark::RegisterBenchmark("ref/eltwise_add3_64x32x32", BM_eltwise_add3<false>);
  benchmark::RegisterBenchmark("fast/eltwise_add3_64x32x32", BM_eltwise_add3<true>);
  return 0;
}
const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
