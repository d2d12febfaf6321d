// Batches read in place: SampleArray (any integer dtype, any strides, values checked per
// sample), Simulator::run_batch with an output sink, NpyFile (a mapped .npy, header first) and
// OutputFile (an output written in place, committed with the others).
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <mutex>
#include <fstream>

#include "ai8xsim/ai8xsim.h"
#include "ai8xsim/files.h"
#include "sim/io/npy.h"
#include "support.h"

using namespace ai8xsim;
using ai8xsim::testing::catch_error;

namespace {

const std::string kEcg = AI8XSIM_SOURCE_DIR "/examples/ecg/";

Simulator ecg() {
  LoadOptions o;
  o.device = Device::MAX78002;
  return Simulator::load(kEcg + "ecg.yaml", kEcg + "weights.npz", o);
}

// n samples of the ECG example's shape (1 x 128), each the example plus a per-sample offset,
// clipped to [-128, 127].
std::vector<Tensor> ecg_samples(int n) {
  const NdArray a = read_npy(kEcg + "sample_ecg_1x128.npy");
  std::vector<Tensor> out;
  for (int s = 0; s < n; ++s) {
    Tensor t(1, 128, 1);
    for (size_t i = 0; i < t.data.size(); ++i)
      t.data[i] = std::clamp(static_cast<int32_t>(a.values[i]) + (s * 7) % 61 - 30, -128, 127);
    out.push_back(t);
  }
  return out;
}

std::string temp_dir() {
  const std::string d = ai8xsim::testing::temp_dir();
  REQUIRE(!d.empty());
  return d;
}

}  // namespace

TEST_CASE("SampleArray: every integer dtype and any strides give the C-order values") {
  // 2 samples of 2 x 3 x 4, values -12 .. 11 and 0 .. 23 (uint) in C order.
  const std::vector<int64_t> shape{2, 2, 3, 4};
  auto check = [&](const SampleArray& a, int first) {
    Tensor t;
    for (int s = 0; s < 2; ++s) {
      a.load(s, t);
      REQUIRE(t.c == 2);
      REQUIRE(t.h == 3);
      REQUIRE(t.w == 4);
      for (int i = 0; i < 24; ++i) CHECK(t.data[i] == first + s * 24 + i);
    }
  };
  auto typed = [&](auto zero, DType dt, int first) {
    using T = decltype(zero);
    std::vector<T> v(48);
    for (int i = 0; i < 48; ++i) v[i] = static_cast<T>(first + i);
    check(SampleArray::c_order(reinterpret_cast<const char*>(v.data()), dt, shape, true, "x"),
          first);
  };
  typed(int8_t{}, DType::I8, -24);
  typed(uint8_t{}, DType::U8, 0);
  typed(int16_t{}, DType::I16, -24);
  typed(uint16_t{}, DType::U16, 0);
  typed(int32_t{}, DType::I32, -24);
  typed(uint32_t{}, DType::U32, 0);
  typed(int64_t{}, DType::I64, -24);
  typed(uint64_t{}, DType::U64, 0);
  // The same values stored W-major (as a transposed NumPy view): element (s, c, y, x) at
  // s*24 + x*6 + c*3 + y int16s.
  std::vector<int16_t> wmajor(48);
  for (int s = 0; s < 2; ++s)
    for (int c = 0; c < 2; ++c)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 4; ++x) wmajor[s * 24 + x * 6 + c * 3 + y] = -24 + s * 24 + c * 12 + y * 4 + x;
  SampleArray a = SampleArray::c_order(reinterpret_cast<const char*>(wmajor.data()), DType::I16,
                                       shape, true, "x");
  a.strides = {48, 6, 2, 12};
  check(a, -24);
  // Every other sample of a batch of 4 (a sliced view), backwards.
  std::vector<int8_t> four(96);
  for (int i = 0; i < 96; ++i) four[i] = static_cast<int8_t>(i % 24 - 24 + (i / 48) * 24);
  SampleArray b = SampleArray::c_order(reinterpret_cast<const char*>(four.data() + 48), DType::I8,
                                       shape, true, "x");
  b.strides[0] = -48;
  Tensor t;
  b.load(1, t);  // sample 0 of the four
  for (int i = 0; i < 24; ++i) CHECK(t.data[i] == i - 24);
}

TEST_CASE("SampleArray: refusals name the file, the dtype or shape, the sample and element") {
  std::vector<int64_t> v(2 * 128, 0);
  v[128 + 5] = 200;
  const SampleArray a = SampleArray::c_order(reinterpret_cast<const char*>(v.data()), DType::I64,
                                             {2, 1, 128}, true, "b.npy");
  Tensor t;
  a.load(0, t);
  auto c = catch_error([&] { a.load(1, t); });
  CHECK(c.kind == ErrorKind::Input);
  CHECK(c.message == "b.npy: sample 1, element 5 is 200; sample values must lie in [-128, 127] "
                     "(signed 8-bit)");
  const uint64_t huge = 18446744073709551615ull;
  const SampleArray u = SampleArray::c_order(reinterpret_cast<const char*>(&huge), DType::U64,
                                             {1, 1}, false, "one.npy");
  c = catch_error([&] { u.load(0, t); });
  CHECK(c.message == "one.npy: element 0 is 18446744073709551615; sample values must lie in "
                     "[-128, 127] (signed 8-bit)");
  c = catch_error([&] { SampleArray::c_order(nullptr, DType::F32, {1, 2, 3}, true, "f.npy"); });
  CHECK(c.contains("f.npy: dtype float32; samples must be integers"));
  c = catch_error([&] { SampleArray::c_order(nullptr, DType::I8, {4, 4}, true, "s.npy"); });
  CHECK(c.contains("s.npy: shape (4, 4); samples are N x C x H x W"));
  c = catch_error([&] { SampleArray::c_order(nullptr, DType::I8, {0, 1, 4}, true, "e.npy"); });
  CHECK(c.contains("has an empty or huge axis"));
}

TEST_CASE("run_batch on a SampleArray: outputs equal run, sample by sample; first bad sample") {
  const Simulator sim = ecg();
  const std::vector<Tensor> samples = ecg_samples(64);
  std::vector<int8_t> flat;
  for (const Tensor& t : samples) flat.insert(flat.end(), t.data.begin(), t.data.end());
  const SampleArray a = SampleArray::c_order(reinterpret_cast<const char*>(flat.data()),
                                             DType::I8, {64, 1, 128}, true, "x.npy");
  const InputShape os = sim.output_shape(a.shape);
  for (int threads : {1, 2, 3}) {
    std::vector<Tensor> outs(64);
    sim.run_batch(a, [&](size_t i, const Tensor& o) { outs[i] = o; }, threads);
    for (size_t i = 0; i < samples.size(); ++i) {
      const Tensor one = sim.run(samples[i], false).output;
      CHECK(outs[i].data == one.data);
      CHECK((outs[i].c == os.c && outs[i].h == os.h && outs[i].w == os.w));
    }
  }
  // Two bad samples: the lower index is reported, whatever the threads' timing.
  std::vector<int16_t> wide(flat.begin(), flat.end());
  wide[41 * 128 + 3] = 300;
  wide[40 * 128 + 9] = -129;
  const SampleArray bad = SampleArray::c_order(reinterpret_cast<const char*>(wide.data()),
                                               DType::I16, {64, 1, 128}, true, "w.npy");
  for (int r = 0; r < 5; ++r) {
    const auto c = catch_error([&] { sim.run_batch(bad, [](size_t, const Tensor&) {}, 2); });
    CHECK(c.message == "w.npy: sample 40, element 9 is -129; sample values must lie in "
                       "[-128, 127] (signed 8-bit)");
  }
  // 2,048 samples go out in runs of 16 consecutive ones: the bad samples in two runs (held
  // by different threads), the later run's error found first in time or not, the lower one
  // is reported; and every output of a good batch lands at its own index.
  std::vector<int16_t> many;
  for (int k = 0; k < 32; ++k) many.insert(many.end(), flat.begin(), flat.end());
  const int16_t keep1 = many[1900 * 128 + 1], keep2 = many[1000 * 128 + 2];
  many[1900 * 128 + 1] = 128;
  many[1000 * 128 + 2] = -200;
  const SampleArray big = SampleArray::c_order(reinterpret_cast<const char*>(many.data()),
                                               DType::I16, {2048, 1, 128}, true, "m.npy");
  for (int r = 0; r < 5; ++r) {
    const auto c = catch_error([&] { sim.run_batch(big, [](size_t, const Tensor&) {}, 2); });
    CHECK(c.message.find("m.npy: sample 1000, element 2 is -200") == 0);
  }
  many[1900 * 128 + 1] = keep1;
  many[1000 * 128 + 2] = keep2;
  std::vector<int> seen(2048, 0);
  std::mutex m;
  sim.run_batch(big, [&](size_t i, const Tensor& o) {
    const Tensor one = sim.run(samples[i % 64], false).output;  // sample i is sample i % 64
    std::lock_guard<std::mutex> lock(m);
    seen[i] += o.data == one.data ? 1 : 100;
  }, 2);
  CHECK(std::count(seen.begin(), seen.end(), 1) == 2048);
}

TEST_CASE("run on one SampleArray: the output of run on the tensor; shape, then values") {
  const Simulator sim = ecg();
  const std::vector<Tensor> samples = ecg_samples(3);
  for (int s = 0; s < 3; ++s) {
    // sample s as int64, one sample (no batch axis) of 1 x 128
    std::vector<int64_t> v(samples[s].data.begin(), samples[s].data.end());
    const SampleArray a = SampleArray::c_order(reinterpret_cast<const char*>(v.data()),
                                               DType::I64, {1, 128}, false, "x");
    for (int threads : {1, 2}) {
      const Tensor out = sim.run(a, threads);
      const Tensor want = sim.run(samples[s], false).output;
      CHECK(out.data == want.data);
      CHECK((out.c == want.c && out.h == want.h && out.w == want.w));
    }
    v[77] = 128;
    const SampleArray bad = SampleArray::c_order(reinterpret_cast<const char*>(v.data()),
                                                 DType::I64, {1, 128}, false, "x");
    CHECK(catch_error([&] { sim.run(bad); }).message ==
          "x: element 77 is 128; sample values must lie in [-128, 127] (signed 8-bit)");
  }
  // A shape the network does not take is refused before a value is read (null data).
  const SampleArray wrong = SampleArray::c_order(nullptr, DType::I8, {2, 128}, false, "x");
  const auto c = catch_error([&] { sim.run(wrong); });
  CHECK(c.contains("layer 0: the input is 2x128"));
}

TEST_CASE("NpyFile: the header is read first, the data in place, as read_npy") {
  const std::string dir = temp_dir();
  const std::string p = dir + "/m.npy";
  write_npy_int32(p, {2, 3}, {1, -2, 3, -4, 5, -6});
  const NpyFile f = NpyFile::open(p);
  CHECK(f.dtype == DType::I32);
  CHECK(f.shape == std::vector<int64_t>{2, 3});
  REQUIRE(f.count == 6);
  int32_t v[6];
  std::memcpy(v, f.data, sizeof v);
  CHECK(v[5] == -6);
  // A header that promises more than the file holds is refused before anything is read.
  std::string bytes = encode_npy_int32({2, 3}, {1, 2, 3, 4, 5, 6});
  bytes.resize(bytes.size() - 4);
  std::ofstream(dir + "/t.npy", std::ios::binary) << bytes;
  const auto c = catch_error([&] { NpyFile::open(dir + "/t.npy"); });
  CHECK(c.contains("t.npy: .npy data: found 20 bytes, expected 24"));
  CHECK(catch_error([&] { NpyFile::open(dir + "/none.npy"); }).contains("none.npy"));
}

TEST_CASE("OutputFile: written in place, committed by write_files_atomically") {
  const std::string dir = temp_dir();
  const std::string p = dir + "/out.bin";
  {
    OutputFile m(p, 8);
    m.write(4, "efgh", 4);  // in any order
    m.write(0, "abcd", 4);
    write_files_atomically({m.finish(), PendingFile{dir + "/r.txt", "report"}});
  }
  std::ifstream in(p, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(got == "abcdefgh");
  // Not finished (an error during the batch): nothing is left, the old file stays.
  { OutputFile m(p, 4); }
  std::ifstream again(p, std::ios::binary);
  std::string old((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
  CHECK(old == "abcdefgh");
  CHECK(ai8xsim::testing::count_temporaries(dir) == 0);
  // A commit that fails on another file removes the finished temporary too.
  {
    OutputFile m(p, 4);
    m.write(0, "wxyz", 4);
    const auto c = catch_error(
        [&] { write_files_atomically({m.finish(), PendingFile{dir + "/no/such/dir/x", "x"}}); });
    CHECK(c.thrown);
  }
  CHECK(ai8xsim::testing::count_temporaries(dir) == 0);
  std::ifstream kept(p, std::ios::binary);
  std::string k((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  CHECK(k == "abcdefgh");
}

TEST_CASE("OutputFile: a write that fails is reported by finish(), naming the file") {
  // A file-size limit makes a write past it fail (EFBIG) as a full disk would (ENOSPC).
  const std::string dir = temp_dir();
  const std::string p = dir + "/big.npy";
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  const auto previous = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string message;
  {
    OutputFile m(p, 16);
    m.write(0, "abcd", 4);
    m.write(8192, "efgh", 4);  // past the limit
    message = catch_error([&] { m.finish(); }).message;
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous);
  CHECK(message.find("big.npy") != std::string::npos);
  CHECK(message.find("cannot write") != std::string::npos);
  CHECK(ai8xsim::testing::count_temporaries(dir) == 0);
  CHECK_FALSE(std::ifstream(p).good());
}
