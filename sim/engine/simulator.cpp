#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <map>
#include <optional>
#include <mutex>
#include <system_error>
#include <thread>

#include "ai8xsim/ai8xsim.h"
#include "kernels/fast.h"
#include "sim/engine/engine.h"
#include "sim/model/checkpoint.h"
#include "sim/model/checks.h"
#include "sim/model/quantize.h"
#include "sim/engine/thread_pool.h"
#include "sim/io/npy.h"

namespace ai8xsim {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Widths asked for a checkpoint that holds quantized weights: they would be ignored.
std::string weight_bits_refused(const std::string& file) {
  return "weight_bits (widths per layer) given, but " + file +
         " holds quantized weights already; widths apply when ai8xsim quantizes a float "
         "checkpoint: give ai8x-training's float (or QAT) checkpoint instead";
}

// A .pth.tar: quantized first (as quantize.py) when it holds float weights.
// A width given for a layer (o.quantize.weight_bits) is that layer's `quantization` too, as
// if the YAML said so: izer packs the kernels at the YAML's width, so a precision sweep's
// kernel memory follows the width it quantized with.
std::vector<LayerWeights> load_torch_weights(const std::string& file, NetworkConfig& cfg,
                                             const LoadOptions& o,
                                             std::vector<std::string>& notes) {
  TorchCheckpoint ckpt = read_torch_checkpoint(file, weight_file_limits(cfg, o.device));
  if (needs_quantization(ckpt, cfg)) {
    QuantizeSummary summary;
    ckpt = quantize_checkpoint(ckpt, file, cfg, o.quantize, &summary);
    notes.push_back(summary.describe(file));
    for (const QuantizedLayer& q : summary.layers)
      if (q.yaml_layer >= 0 && o.quantize.weight_bits.count(q.yaml_layer))
        cfg.layers[static_cast<size_t>(q.yaml_layer)].quantization = q.bits;
  } else if (!o.quantize.weight_bits.empty()) {
    fail(ErrorKind::Config, weight_bits_refused(file));
  }
  return weights_from_checkpoint(ckpt, file, cfg, o.device, o.no_bias);
}

ResolveOptions resolve_options(const LoadOptions& o) {
  ResolveOptions ro;
  static_cast<NetworkOptions&>(ro) = o;
  return ro;
}
}  // namespace

// The samples of a batch, one at a time: sample i, either where it is (a tensor of the caller)
// or converted into `scratch` (a tensor of the worker thread, reused).
using SampleSource = std::function<const Tensor&(size_t i, Tensor& scratch)>;

struct Simulator::Impl {
  NetworkConfig config;
  std::vector<LayerWeights> weights;
  LoadOptions options;
  std::vector<std::string> notes;
  mutable std::mutex mutex;
  struct Resolved {
    Network net;
    PreparedNetwork prepared;  // the layer plans on the options' kernel set, once per network
    std::optional<InputShape> output;  // the final output's shape (guarded by `mutex`)
  };
  mutable std::map<std::tuple<int, int, int>, std::unique_ptr<Resolved>> networks;

  const Resolved& resolved(const InputShape& input) const {
    std::lock_guard<std::mutex> lock(mutex);
    auto key = std::make_tuple(input.c, input.h, input.w);
    auto it = networks.find(key);
    if (it != networks.end()) return *it->second;
    auto r = std::make_unique<Resolved>();
    r->net = resolve_network(config, weights, input, resolve_options(options));
    r->prepared = prepare_network(r->net, options.kernels);
    return *networks.emplace(key, std::move(r)).first->second;
  }

  // n samples on `threads` threads (0: all cores), samples in parallel, one per thread; with
  // fewer samples than threads (one sample, say) each sample's large layers are split over the
  // threads left. Each output goes to `sink` from the thread that computed it.
  // `sink` may take the output tensor (move from it).
  void run_samples(const Resolved& r, size_t n, const SampleSource& source,
                   const std::function<void(size_t, Tensor&)>& sink, int threads,
                   const std::function<void(size_t)>& progress) const;
};

void Simulator::Impl::run_samples(const Resolved& r, size_t n, const SampleSource& source,
                                  const std::function<void(size_t, Tensor&)>& sink, int threads,
                                  const std::function<void(size_t)>& progress) const {
  if (n == 0) return;
  const size_t wanted = static_cast<size_t>(usable_threads(threads));
  const size_t n_threads = std::min(wanted, n);
  const int per_sample = static_cast<int>(std::max<size_t>(1, wanted / n_threads));
  // Samples are handed out in runs of consecutive indices: a thread's outputs then come in
  // order (a file sink writes them together), and the shared counter is touched once a run.
  // A run is short enough that the threads end together: n / (64 x threads), at most 64.
  const size_t run = std::clamp<size_t>(n / (64 * n_threads), 1, 64);
  std::atomic<size_t> next{0};
  size_t done = 0;  // guarded by progress_mutex
  std::mutex progress_mutex;
  // The error of the lowest sample index: runs are handed out in order and every thread
  // finishes the samples it holds below the first error found, so that is the first bad
  // sample whatever the timing.
  std::exception_ptr error;
  std::atomic<size_t> error_index{n};
  std::mutex error_mutex;
  auto worker = [&] {
    Tensor scratch;
    for (size_t first; (first = next.fetch_add(run)) < n;) {
      const size_t last = std::min(first + run, n);
      for (size_t i = first; i < last && i < error_index.load(); ++i) {
        try {
          const Tensor& input = source(i, scratch);
          RunResult result = run_network(r.net, input, false, nullptr, &r.prepared, per_sample);
          sink(i, result.output);
          if (progress) {
            // Counted under the lock so that the calls see 1, 2, ... n in order: a count
            // taken before the lock could reach the callback after a larger one.
            std::lock_guard<std::mutex> lock(progress_mutex);
            progress(++done);  // may throw (e.g. a cancelled notebook cell): ends the batch
          }
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (i < error_index.load()) {
            error = std::current_exception();
            error_index = i;
          }
          next = n;
          return;
        }
      }
    }
  };
  std::vector<std::thread> pool;
  try {
    const WorkerSignalMask mask;  // the workers never take the command line's signals
    for (size_t t = 1; t < n_threads; ++t) pool.emplace_back(worker);
  } catch (const std::system_error& e) {  // the system refuses another thread (ulimit -u)
    next = n;
    for (auto& th : pool) th.join();
    fail(ErrorKind::Input, "threads: cannot start thread " + std::to_string(pool.size() + 1) +
                               " of " + std::to_string(n_threads) + " (" + e.what() +
                               "); give fewer threads");
  }
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

Simulator::Simulator() : impl_(std::make_unique<Impl>()) {}
Simulator::Simulator(Simulator&&) noexcept = default;
Simulator& Simulator::operator=(Simulator&&) noexcept = default;
Simulator::~Simulator() = default;

Simulator Simulator::load(const std::string& config_file, const std::string& checkpoint_file,
                          const LoadOptions& options) {
  Simulator s;
  s.impl_->options = options;
  s.impl_->config = load_network_config(config_file, options.device);
  const int layers = static_cast<int>(s.impl_->config.layers.size());
  for (int ll : options.no_bias)
    if (ll < 0 || ll >= layers)
      fail(ErrorKind::Config, "no_bias (--no-bias): found layer " + std::to_string(ll) + "; " +
                                  config_file + " has layers 0.." + std::to_string(layers - 1) +
                                  "; give YAML layer indices");
  for (const auto& [ll, bits] : options.quantize.weight_bits)
    if (ll < 0 || ll >= layers)
      fail(ErrorKind::Config, "weight_bits: found layer " + std::to_string(ll) + "; " +
                                  config_file + " has layers 0.." + std::to_string(layers - 1) +
                                  "; give YAML layer indices");
  if (ends_with(checkpoint_file, ".npz") && !options.quantize.weight_bits.empty())
    fail(ErrorKind::Config, weight_bits_refused(checkpoint_file));
  if (ends_with(checkpoint_file, ".npz"))
    s.impl_->weights = load_weights_npz(checkpoint_file, s.impl_->config, options.device);
  else
    s.impl_->weights = load_torch_weights(checkpoint_file, s.impl_->config, options,
                                          s.impl_->notes);
  return s;
}

const Network& Simulator::network(const InputShape& input) const {
  return impl_->resolved(input).net;
}

RunResult Simulator::run(const Tensor& input, bool keep_layers, int threads) const {
  const Impl::Resolved& r = impl_->resolved(InputShape{input.c, input.h, input.w});
  return run_network(r.net, input, keep_layers, nullptr, &r.prepared,
                     usable_threads(threads));
}

Tensor Simulator::run(const SampleArray& sample, int threads) const {
  const Impl::Resolved& r = impl_->resolved(sample.shape);  // the shape checked first
  thread_local Tensor input;  // keeps its allocation from call to call
  sample.load(0, input);
  return run_network(r.net, input, false, nullptr, &r.prepared, usable_threads(threads)).output;
}

InputShape Simulator::output_shape(const InputShape& input) const {
  const Impl::Resolved& r = impl_->resolved(input);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (r.output) return *r.output;
  }
  const Tensor out =
      run_network(r.net, Tensor(input.c, input.h, input.w), false, nullptr, &r.prepared).output;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const_cast<Impl::Resolved&>(r).output = InputShape{out.c, out.h, out.w};
  return *r.output;
}

std::vector<Tensor> Simulator::run_batch(const std::vector<Tensor>& inputs, int threads,
                                         const std::function<void(size_t)>& progress) const {
  std::vector<Tensor> out(inputs.size());
  if (inputs.empty()) return out;
  for (const Tensor& t : inputs)
    if (t.c != inputs[0].c || t.h != inputs[0].h || t.w != inputs[0].w)
      fail(ErrorKind::Input, "batch: every sample must have the shape of the first (" +
                                 inputs[0].shape_str() + "), found " + t.shape_str());
  const Impl::Resolved& r = impl_->resolved(InputShape{inputs[0].c, inputs[0].h, inputs[0].w});
  impl_->run_samples(
      r, inputs.size(), [&](size_t i, Tensor&) -> const Tensor& { return inputs[i]; },
      [&](size_t i, Tensor& o) { out[i] = std::move(o); }, threads, progress);
  return out;
}

void Simulator::run_batch(const SampleArray& inputs, const OutputSink& sink, int threads,
                          const std::function<void(size_t)>& progress) const {
  if (inputs.n <= 0) return;
  const Impl::Resolved& r = impl_->resolved(inputs.shape);
  impl_->run_samples(
      r, static_cast<size_t>(inputs.n),
      [&](size_t i, Tensor& scratch) -> const Tensor& {
        inputs.load(static_cast<int64_t>(i), scratch);
        return scratch;
      },
      [&](size_t i, Tensor& o) { sink(i, o); }, threads, progress);
}

int usable_threads(int64_t requested) {
  if (requested < 0)
    fail(ErrorKind::Input, "threads: found " + std::to_string(requested) +
                               "; give 0 (all cores) or a positive number");
  // Asked once: hardware_concurrency() is a system call, and a single sample's run asks.
  static const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(requested == 0 ? cores : std::min(requested, cores));
}

std::vector<Tensor> Simulator::run_sequence(const std::vector<Tensor>& inputs,
                                            const Tensor* buffer, Tensor* final_buffer) const {
  std::vector<Tensor> out;
  out.reserve(inputs.size());
  std::optional<Tensor> carried;
  if (buffer) carried = *buffer;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (t.c != inputs[0].c || t.h != inputs[0].h || t.w != inputs[0].w)
      fail(ErrorKind::Input, "sequence: every sample must have the shape of the first (" +
                                 inputs[0].shape_str() + "), found " + t.shape_str() +
                                 " at step " + std::to_string(i));
    const Impl::Resolved& r = impl_->resolved(InputShape{t.c, t.h, t.w});
    RunResult res = run_network(r.net, t, false, nullptr, &r.prepared, 1,
                                carried ? &*carried : nullptr);
    carried = std::move(res.buffer);
    out.push_back(std::move(res.output));
  }
  if (final_buffer && carried) *final_buffer = std::move(*carried);
  return out;
}

Simulator::CheckResult Simulator::check(const InputShape& input) const {
  ResolveOptions ro = resolve_options(impl_->options);
  ro.enforce_limits = false;
  CheckResult r{resolve_network(impl_->config, impl_->weights, input, ro), {}};
  r.violations = find_violations(r.network);
  // A layer whose input does not hold what it expects, the size taken from the sample: the
  // sample's size is named first (what resolve_network throws when it enforces the limits).
  for (const Violation& v : r.violations) {
    if (v.rule != "input-channels") continue;
    const std::string hint =
        input_size_hint(impl_->config, impl_->weights, input, ro, v.message);
    if (!hint.empty()) {
      Violation size;
      size.layer = 0;
      size.rule = "input-size";
      size.resource = "input";
      size.message = "layer 0: " + hint;
      r.violations.insert(r.violations.begin(), size);
    }
    break;
  }
  return r;
}

int Simulator::inferred_input_channels() const {
  const NetworkConfig& cfg = impl_->config;
  if (cfg.layers.empty()) return 0;
  const LayerConfig& first = cfg.layers.front();
  int procs = 0;
  for (uint64_t p = first.processors; p; p &= p - 1) ++procs;
  if (first.in_channels) return *first.in_channels * first.operands;
  if (procs < 64) return procs * first.operands;
  return 0;
}

InputShape Simulator::inferred_input_shape() const {
  const NetworkConfig& cfg = impl_->config;
  if (cfg.layers.empty()) fail(ErrorKind::Config, cfg.file + ": no layers");
  const LayerConfig& first = cfg.layers.front();
  InputShape s;
  s.c = inferred_input_channels();
  if (s.c <= 0 || !first.in_dim)
    fail(ErrorKind::Config,
         cfg.file + ": layer 0: the input shape is not in the YAML (" +
             (first.in_dim ? std::string("`in_channels` missing and all 64 processors used")
                           : std::string("no `in_dim`")) +
             "); give --sample-input or --input-shape C,H,W");
  s.h = (*first.in_dim)[0];
  s.w = (*first.in_dim)[1];
  return s;
}

const NetworkConfig& Simulator::config() const { return impl_->config; }
const LoadOptions& Simulator::options() const { return impl_->options; }
const std::vector<std::string>& Simulator::notes() const { return impl_->notes; }

const std::vector<LayerWeights>& Simulator::weights() const { return impl_->weights; }

Tensor sample_to_tensor(const NdArray& a, const std::string& what) {
  if (!dtype_is_integer(a.dtype))
    fail(ErrorKind::Input, what + ": dtype " + dtype_name(a.dtype) +
                               "; a sample must hold integers in [-128, 127] (scale and "
                               "round float data as training's normalization does, then save "
                               "as int8 or int64)");
  if (a.shape.size() != 2 && a.shape.size() != 3)
    fail(ErrorKind::Input, what + ": shape " + a.shape_str() +
                               "; a sample is C x H x W (2-D) or C x L (1-D)");
  for (int64_t d : a.shape)
    if (d <= 0 || d > (1 << 20))
      fail(ErrorKind::Input, what + ": shape " + a.shape_str() + " has an empty or huge axis");
  Tensor t(static_cast<int>(a.shape[0]), static_cast<int>(a.shape[1]),
           a.shape.size() == 3 ? static_cast<int>(a.shape[2]) : 1);
  for (size_t i = 0; i < a.values.size(); ++i) {
    const double v = a.values[i];
    if (v < -128 || v > 127) {
      char found[64];  // an integer (integer dtype), but maybe beyond long long (uint64)
      std::snprintf(found, sizeof found, std::fabs(v) < 0x1p53 ? "%.0f" : "%.6g", v);
      fail(ErrorKind::Input, what + ": element " + std::to_string(i) + " is " + found +
                                 "; sample values must lie in [-128, 127] (signed 8-bit)");
    }
    t.data[i] = static_cast<int32_t>(v);
  }
  return t;
}

// ---- samples read in place ----------------------------------------------------------------

namespace {

constexpr int64_t kMaxAxis = int64_t{1} << 24;
constexpr int64_t kMaxElements = int64_t{1} << 31;

template <typename T>
int32_t value_of(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::is_same_v<T, bool>) return v ? 1 : 0;
  else return static_cast<int32_t>(v);
}

template <typename T>
bool in_range(T v) {
  if constexpr (std::is_same_v<T, bool>) return true;
  else if constexpr (std::is_signed_v<T>) return v >= T(-128) && v <= T(127);
  else return v <= T(127);
}

template <typename T>
std::string value_text(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::is_same_v<T, bool>) return v ? "1" : "0";
  else return std::to_string(v);
}

// n elements at `p`, `step` bytes apart, into `out`; false when one is outside [-128, 127].
template <typename T>
bool convert_run(const char* p, int64_t step, int64_t n, int32_t* out) {
  bool ok = true;
  if (step == static_cast<int64_t>(sizeof(T))) {  // contiguous: a loop the compiler vectorises
    const T* q = reinterpret_cast<const T*>(p);
    if (reinterpret_cast<uintptr_t>(p) % alignof(T) == 0) {
      // int64 (NumPy's default integer): a SIMD kernel; the scalar loop does not vectorise
      // for the baseline target.
      if constexpr (std::is_same_v<T, int64_t>) return fast::narrow_int64(q, n, out);
      for (int64_t i = 0; i < n; ++i) {
        ok &= in_range(q[i]);
        out[i] = static_cast<int32_t>(q[i]);
      }
      return ok;
    }
  }
  for (int64_t i = 0; i < n; ++i, p += step) {
    T v;
    std::memcpy(&v, p, sizeof v);
    ok &= in_range(v);
    out[i] = static_cast<int32_t>(v);
  }
  return ok;
}

template <typename T>
void load_sample(const SampleArray& a, int64_t s, Tensor& out) {
  const InputShape& sh = a.shape;
  out.c = sh.c;
  out.h = sh.h;
  out.w = sh.w;
  out.data.resize(static_cast<size_t>(sh.c) * sh.h * sh.w);
  const char* base = a.data + s * a.strides[0];
  const int64_t item = static_cast<int64_t>(sizeof(T));
  const bool contiguous = a.strides[3] == item && a.strides[2] == item * sh.w &&
                          a.strides[1] == item * sh.w * sh.h;
  bool ok = true;
  if (contiguous) {
    ok = convert_run<T>(base, item, static_cast<int64_t>(out.data.size()), out.data.data());
  } else {
    int32_t* o = out.data.data();
    for (int c = 0; c < sh.c; ++c)
      for (int y = 0; y < sh.h; ++y, o += sh.w)
        ok &= convert_run<T>(base + c * a.strides[1] + y * a.strides[2], a.strides[3], sh.w, o);
  }
  if (ok) return;
  // Name the first value out of range, as the sample's C-order element index.
  size_t i = 0;
  const char* p = nullptr;
  for (int c = 0; c < sh.c && !p; ++c)
    for (int y = 0; y < sh.h && !p; ++y)
      for (int x = 0; x < sh.w; ++x, ++i) {
        const char* q = base + c * a.strides[1] + y * a.strides[2] + x * a.strides[3];
        T v;
        std::memcpy(&v, q, sizeof v);
        if (!in_range(v)) {
          p = q;
          break;
        }
      }
  fail(ErrorKind::Input, a.what + ": " +
                             (a.batch ? "sample " + std::to_string(s) + ", " : std::string()) +
                             "element " + std::to_string(i) + " is " + value_text<T>(p) +
                             "; sample values must lie in [-128, 127] (signed 8-bit)");
}

}  // namespace

SampleArray SampleArray::c_order(const char* data, DType dtype, const std::vector<int64_t>& shape,
                                 bool batch, const std::string& what) {
  if (!dtype_is_integer(dtype))
    fail(ErrorKind::Input, what + ": dtype " + dtype_name(dtype) + "; " +
                               (batch ? "samples must be" : "a sample must hold") +
                               " integers in [-128, 127] (scale and round float data as "
                               "training's normalization does, then save as int8 or int64)");
  const size_t axes = shape.size() - (batch ? 1 : 0);
  if ((batch && shape.empty()) || (axes != 2 && axes != 3))
    fail(ErrorKind::Input, what + ": shape " + shape_str(shape) +
                               (batch ? "; samples are N x C x H x W (2-D) or N x C x L (1-D)"
                                      : "; a sample is C x H x W (2-D) or C x L (1-D)"));
  // (the network checks the sample's shape before any sample is read: see network())
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] <= 0 || (shape[i] > kMaxAxis && !(batch && i == 0)))
      fail(ErrorKind::Input, what + ": shape " + shape_str(shape) +
                                 " has an empty or huge axis");
  SampleArray a;
  a.data = data;
  a.dtype = dtype;
  a.batch = batch;
  a.what = what;
  const size_t b = batch ? 1 : 0;
  a.n = batch ? shape[0] : 1;
  a.shape = InputShape{static_cast<int>(shape[b]), static_cast<int>(shape[b + 1]),
                       axes == 3 ? static_cast<int>(shape[b + 2]) : 1};
  const int64_t per = int64_t{a.shape.c} * a.shape.h * a.shape.w;  // < 2^72: may overflow
  if (int64_t{a.shape.c} * a.shape.h > kMaxElements || per > kMaxElements)
    fail(ErrorKind::Input, what + ": shape " + shape_str(shape) +
                               ": a sample of more than 2^31 elements is too large");
  const int64_t item = static_cast<int64_t>(dtype_size(dtype));
  a.strides = {per * item, int64_t{a.shape.h} * a.shape.w * item, int64_t{a.shape.w} * item,
               item};
  return a;
}

void SampleArray::load(int64_t s, Tensor& out) const {
  switch (dtype) {
    case DType::Bool: return load_sample<bool>(*this, s, out);
    case DType::I8: return load_sample<int8_t>(*this, s, out);
    case DType::U8: return load_sample<uint8_t>(*this, s, out);
    case DType::I16: return load_sample<int16_t>(*this, s, out);
    case DType::U16: return load_sample<uint16_t>(*this, s, out);
    case DType::I32: return load_sample<int32_t>(*this, s, out);
    case DType::U32: return load_sample<uint32_t>(*this, s, out);
    case DType::I64: return load_sample<int64_t>(*this, s, out);
    case DType::U64: return load_sample<uint64_t>(*this, s, out);
    default:
      fail(ErrorKind::Input, what + ": dtype " + dtype_name(dtype) +
                                 "; samples must be integers in [-128, 127]");
  }
}

}  // namespace ai8xsim
