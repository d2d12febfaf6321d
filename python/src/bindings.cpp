// ai8xsim._ai8xsim: thin pybind11 bindings around the C++ facade (include/ai8xsim/ai8xsim.h).
// numpy in without copies (any integer dtype and strides, read in place and checked as the
// library checks samples), numpy out without copies (each result tensor's buffer is handed to
// numpy; a batch fills one array), the GIL released while simulating,
// ai8xsim::Error raised as ai8xsim.Error (a RuntimeError) with the same message and `.kind`.
// The Python package (python/ai8xsim/*.py) builds the user-facing API on top of this.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ai8xsim/ai8xsim.h"
#include "ai8xsim/cost.h"
#include "ai8xsim/cycles.h"
#include "ai8xsim/evaluate.h"
#include "ai8xsim/memmap.h"
#include "ai8xsim/memory.h"
#include "ai8xsim/plan.h"
#include "report/plan_text.h"

namespace py = pybind11;
using namespace ai8xsim;

namespace {

// ---- numpy -> Tensor ---------------------------------------------------------------------

// The library's dtype for a numpy dtype (kind + item size); false when it has none.
bool library_dtype(const py::dtype& dt, DType& out) {
  const char k = dt.kind();
  const auto n = dt.itemsize();
  static const DType ints[] = {DType::I8, DType::I16, DType::I32, DType::I64};
  static const DType uints[] = {DType::U8, DType::U16, DType::U32, DType::U64};
  const int i = n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : n == 8 ? 3 : -1;
  if (k == 'b' && n == 1) out = DType::Bool;
  else if (k == 'i' && i >= 0) out = ints[i];
  else if (k == 'u' && i >= 0) out = uints[i];
  else if (k == 'f' && n == 2) out = DType::F16;
  else if (k == 'f' && n == 4) out = DType::F32;
  else if (k == 'f' && n == 8) out = DType::F64;
  else return false;
  return true;
}

// `a`, or a copy of it in the machine's byte order when it is big-endian.
py::array native_order(const py::array& a) {
  if (a.dtype().byteorder() != '>') return a;
  return a.attr("astype")(a.dtype().attr("newbyteorder")("=")).cast<py::array>();
}

// The array read in place as the library's SampleArray (no copy): its dtype, shape and
// strides, checked by the library (integers; a sample C x H x W or C x L, a batch with N in
// front), so that a bad array gets the message the CLI gives for the same data in a .npy file.
// Values are checked as each sample is read. `keep` holds a byte-swapped copy when the array is
// not in the machine's byte order.
SampleArray sample_array(const py::array& a, bool batch, const std::string& what,
                         py::object& keep) {
  const py::array arr = native_order(a);
  if (!arr.is(a)) keep = arr;
  DType dt;
  if (!library_dtype(arr.dtype(), dt))
    fail(ErrorKind::Input, what + ": dtype " + py::str(arr.dtype()).cast<std::string>() + "; " +
                               (batch ? "samples must be" : "a sample must hold") +
                               " integers in [-128, 127] (int8 .. int64)");
  std::vector<int64_t> shape(arr.shape(), arr.shape() + arr.ndim());
  SampleArray s = SampleArray::c_order(static_cast<const char*>(arr.data()), dt, shape, batch,
                                       what);
  // NumPy's own strides (a view, a transposed or sliced array: no copy).
  const size_t first = batch ? 0 : 1;  // a single sample has no batch axis
  s.strides[0] = 0;
  for (py::ssize_t d = 0; d < arr.ndim(); ++d) s.strides[first + d] = arr.strides(d);
  if (arr.ndim() == (batch ? 3 : 2)) s.strides[3] = static_cast<int64_t>(arr.itemsize());
  return s;
}

// ---- Tensor -> numpy (no copy: numpy owns the moved tensor) -------------------------------

py::array_t<int32_t> to_numpy(Tensor&& t) {
  auto* owned = new Tensor(std::move(t));
  py::capsule free_it(owned, [](void* p) { delete static_cast<Tensor*>(p); });
  const std::vector<py::ssize_t> shape{owned->c, owned->h, owned->w};
  return py::array_t<int32_t>(shape, owned->data.data(), free_it);
}

// ---- the facade ---------------------------------------------------------------------------

// The load options of load() and plan() (Python's keyword arguments, as the CLI's options).
LoadOptions load_options(const std::string& device, const std::vector<int>& no_bias,
                         bool avg_pool_rounding, bool fifo, bool fast_fifo, bool overlap_data) {
  LoadOptions o;
  o.device = parse_device(device);
  o.no_bias = no_bias;
  o.avg_pool_rounding = avg_pool_rounding;
  o.fifo = fifo;
  o.fast_fifo = fast_fifo;
  o.overlap_data = overlap_data;
  return o;
}

Simulator load(const std::string& config, const std::string& checkpoint,
               const std::string& device, const std::vector<int>& no_bias,
               bool avg_pool_rounding, bool fifo, bool fast_fifo, bool overlap_data,
               const std::map<int, int>& weight_bits, const std::string& kernels) {
  LoadOptions o = load_options(device, no_bias, avg_pool_rounding, fifo, fast_fifo, overlap_data);
  o.quantize.weight_bits = weight_bits;
  o.kernels = parse_kernel_set(kernels, "kernels");
  py::gil_scoped_release release;
  return Simulator::load(config, checkpoint, o);
}

// memory_fed: every layer that reads data memory takes its input from the memory image
// (ai8xsim/memory.h run_memory_fed), as `ai8xsim run --kat` runs; otherwise the fast path.
int thread_count(const py::object& threads);

py::tuple run(const Simulator& sim, const py::array& x, bool keep_layers, bool memory_fed,
              const py::object& threads_arg) {
  const int threads = thread_count(threads_arg);
  py::object keep;
  const SampleArray sample = sample_array(x, false, "input", keep);
  RunResult r;
  {
    py::gil_scoped_release release;
    const Network& net = sim.network(sample.shape);  // the shape checked before the data
    thread_local Tensor input;  // keeps its allocation from call to call
    sample.load(0, input);
    r = memory_fed ? run_memory_fed(net, input, keep_layers)
                   : sim.run(input, keep_layers, threads);
  }
  if (!keep_layers) return py::make_tuple(to_numpy(std::move(r.output)), py::none());
  py::dict layers;
  for (size_t i = 0; i < r.layers.size(); ++i)
    if (r.layers[i]) layers[py::int_(i)] = to_numpy(std::move(*r.layers[i]));
  return py::make_tuple(to_numpy(std::move(r.output)), layers);
}

// The final output of one sample, as little around the engine as it takes: net.run's common
// call, where a small network's whole run is a few microseconds.
py::array_t<int32_t> run_output(const Simulator& sim, const py::array& x,
                                const py::object& threads_arg) {
  const int threads = thread_count(threads_arg);
  py::object keep;
  const SampleArray sample = sample_array(x, false, "input", keep);
  Tensor out;
  {
    py::gil_scoped_release release;
    out = sim.run(sample, threads);
  }
  return to_numpy(std::move(out));
}

// `threads` as Python gives it: any integer (usable_threads() bounds it by the cores; a
// count beyond 64 bits is as many as the machine has), else ai8xsim.Error.
int thread_count(const py::object& threads) {
  if (py::isinstance<py::bool_>(threads) || !PyIndex_Check(threads.ptr()))
    fail(ErrorKind::Input, "threads: found " + py::repr(threads).cast<std::string>() +
                               "; give 0 (all cores) or a positive integer");
  const py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(threads.ptr()));
  if (!index) throw py::error_already_set();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow < 0) return usable_threads(-1);
  return usable_threads(overflow > 0 ? std::numeric_limits<int64_t>::max() : v);
}

// Raised from the progress callback to end a batch (the Python exception is kept aside).
struct BatchCancelled {};

// Progress and Ctrl-C for a batch run with the GIL released (run_batch, evaluate). The
// library calls operator()(done) from one thread at a time; `progress(done)` is called with
// the GIL held at most every `every` samples and at the end. Ctrl-C: the main thread, which
// runs samples too, checks for signals (PyErr_CheckSignals) after its samples, at most every
// 50 ms; a Python exception there or in `progress` (KeyboardInterrupt, say) stops the workers
// after the samples they hold, and run() raises it.
class BatchProgress {
 public:
  BatchProgress(py::object progress, size_t every, size_t n)
      : progress_(std::move(progress)), every_(std::max<size_t>(every, 1)), n_(n),
        main_thread_(std::this_thread::get_id()), last_check_(Clock::now()) {}

  void operator()(size_t done) {
    const bool report = !progress_.is_none() && (done - last_ >= every_ || done == n_);
    const bool check = std::this_thread::get_id() == main_thread_ &&
                       Clock::now() - last_check_ > std::chrono::milliseconds(50);
    if (!report && !check) return;
    py::gil_scoped_acquire gil;
    try {
      if (check) {
        last_check_ = Clock::now();
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      }
      if (report) {
        last_ = done;
        progress_(done);
      }
    } catch (py::error_already_set& e) {
      pending_ = std::make_unique<py::error_already_set>(std::move(e));
      throw BatchCancelled{};
    }
  }

  // Runs `batch` with the GIL released; raises the Python exception that ended it, if any.
  template <class F>
  void run(F&& batch) {
    try {
      py::gil_scoped_release release;
      batch();
    } catch (const BatchCancelled&) {
    }
    if (pending_) throw std::move(*pending_);
  }

 private:
  using Clock = std::chrono::steady_clock;
  py::object progress_;
  size_t every_, n_, last_ = 0;
  std::thread::id main_thread_;
  Clock::time_point last_check_;
  std::unique_ptr<py::error_already_set> pending_;
};

// The batch read in place and run with the GIL released, the outputs written by the worker
// threads into one array allocated first (progress and Ctrl-C: BatchProgress).
py::array_t<int32_t> run_batch(const Simulator& sim, const py::array& xs,
                               const py::object& threads_arg, const py::object& progress,
                               size_t every) {
  const int threads = thread_count(threads_arg);
  if (xs.ndim() > 0 && xs.shape(0) == 0)  // as the command line: an empty batch is a mistake
    fail(ErrorKind::Input, "batch: no samples (shape " +
                               py::str(py::tuple(py::cast(std::vector<py::ssize_t>(
                                           xs.shape(), xs.shape() + xs.ndim()))))
                                   .cast<std::string>() +
                               "); give at least one sample");
  py::object keep;
  const SampleArray inputs = sample_array(xs, true, "batch", keep);
  const size_t n = static_cast<size_t>(inputs.n);
  InputShape os;
  {
    py::gil_scoped_release release;
    os = sim.output_shape(inputs.shape);
  }
  py::array_t<int32_t> out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n), os.c, os.h,
                                                    os.w});
  int32_t* dst = out.mutable_data();
  const size_t per = static_cast<size_t>(os.c) * os.h * os.w;
  BatchProgress cb(progress, every, n);
  cb.run([&] {
    sim.run_batch(
        inputs,
        [&](size_t i, const Tensor& o) { std::copy(o.data.begin(), o.data.end(), dst + i * per); },
        threads, std::ref(cb));
  });
  return out;
}

// A sequence of inferences carrying the rolling data buffer (Simulator::run_sequence):
// (outputs stacked N x C x H x W, the buffer after the last step or None). `buffer`: the
// buffer to start from (entries x channels x columns), None for zero.
py::tuple run_sequence(const Simulator& sim, const py::array& xs, const py::object& buffer) {
  py::object keep, keep_buffer;
  const SampleArray frames = sample_array(xs, true, "sequence", keep);
  std::optional<Tensor> start;
  if (!buffer.is_none()) {
    start.emplace();
    sample_array(py::array(buffer), false, "buffer", keep_buffer).load(0, *start);
  }
  Tensor last;
  std::vector<Tensor> outs;
  {
    py::gil_scoped_release release;
    std::vector<Tensor> inputs(static_cast<size_t>(frames.n));
    for (int64_t i = 0; i < frames.n; ++i) frames.load(i, inputs[static_cast<size_t>(i)]);
    outs = sim.run_sequence(inputs, start ? &*start : nullptr, &last);
  }
  const InputShape os = outs.empty() ? InputShape{0, 0, 0}
                                     : InputShape{outs[0].c, outs[0].h, outs[0].w};
  py::array_t<int32_t> stacked(std::vector<py::ssize_t>{static_cast<py::ssize_t>(outs.size()),
                                                        os.c, os.h, os.w});
  int32_t* dst = stacked.mutable_data();
  for (const Tensor& t : outs) dst = std::copy(t.data.begin(), t.data.end(), dst);
  py::object buf = last.size() ? py::object(to_numpy(std::move(last))) : py::none();
  return py::make_tuple(stacked, buf);
}

InputShape input_shape(const std::vector<int>& s) {
  if (s.size() != 2 && s.size() != 3)
    fail(ErrorKind::Input, "input shape: " + std::to_string(s.size()) +
                               " values; give (C, H, W) or (C, L)");
  return InputShape{s[0], s[1], s.size() == 3 ? s[2] : 1};
}

// ---- cycle and memory models ----------------------------------------------------------------

py::dict layer_cycles(const NetworkLayerCycles& lc) {
  py::dict terms;
  for (const CycleTerm& t : lc.cycles.terms()) terms[py::str(t.name)] = t.cycles;
  py::dict d;
  d["total"] = lc.cycles.total;
  d["estimated"] = lc.cycles.estimated;
  d["terms"] = terms;
  return d;
}

// estimate_network_cycles as plain Python data (the package wraps it in ai8xsim.Cycles).
py::dict cycles(const Simulator& sim, const std::vector<int>& shape, double clock_mhz) {
  const Network& net = sim.network(input_shape(shape));
  NetworkCycles c;
  {
    py::gil_scoped_release release;
    c = estimate_network_cycles(net, clock_mhz);
  }
  py::dict layers;
  for (const NetworkLayerCycles& lc : c.layers) layers[py::int_(lc.layer)] = layer_cycles(lc);
  py::dict d;
  d["device"] = device_name(c.device);
  d["clock_mhz"] = c.clock_mhz;
  d["startup"] = c.startup;
  d["stream_wait"] = c.stream_wait;
  d["total"] = c.total;
  d["estimated"] = c.estimated;
  d["microseconds"] = c.microseconds();
  d["layers"] = layers;
  return d;
}

py::dict cost_pair(const Cost& c) {
  py::dict d;
  d["us"] = c.us;
  d["uj"] = c.uj;
  return d;
}

// estimate_network_cost as plain Python data (the package wraps it in ai8xsim.Cost).
py::dict cost(const Simulator& sim, const std::vector<int>& shape, double clock_mhz,
              double load_clock_mhz, bool pipeline, bool riscv, bool mexpress, bool fifo_wait) {
  if (clock_mhz < 0 || load_clock_mhz < 0)
    fail(ErrorKind::Input, "cost: clock_mhz / load_clock_mhz: found a negative clock; give "
                           "MHz > 0 (0: the device default)");
  const Network& net = sim.network(input_shape(shape));
  CostOptions o;
  o.cycles.clock_mhz = clock_mhz;
  o.cycles.pipeline = pipeline;
  o.load_clock_mhz = load_clock_mhz;
  o.riscv = riscv;
  o.mexpress = mexpress;
  o.fifo_wait = fifo_wait;
  NetworkCost c;
  {
    py::gil_scoped_release release;
    c = estimate_network_cost(net, o);
  }
  py::list layers;
  for (const LayerCost& l : c.layers) {
    py::dict e;
    e["layer"] = l.layer;
    e["processors"] = l.processors;
    e["passes"] = l.passes;
    e["cycles"] = l.cycles;
    e["us"] = l.microseconds;
    e["uj"] = l.microjoules;
    layers.append(e);
  }
  py::dict d;
  d["device"] = device_name(c.cycles.device);
  d["clock_mhz"] = c.cycles.clock_mhz;
  d["load_clock_mhz"] = c.load_clock_mhz;
  d["pipeline"] = c.cycles.pipeline;
  d["riscv"] = c.riscv;
  d["fifo"] = c.words.fifo;
  d["total_cycles"] = c.cycles.total;
  d["layers"] = layers;
  d["inference"] = cost_pair(c.inference);
  d["input_load"] = cost_pair(c.input_load);
  d["weight_load"] = cost_pair(c.weight_load);
  d["bias_config_load"] = cost_pair(c.bias_config);
  d["after_feed"] = cost_pair(c.after_feed);
  d["first_inference"] = cost_pair(c.first_inference);
  d["retained_inference"] = cost_pair(c.retained_inference);
  return d;
}

// Per layer: kernel memory rows and bias bytes as izer allocates them, plus the totals and
// any limit broken (izer's first error).
py::dict memory(const Simulator& sim, const std::vector<int>& shape) {
  const Network& net = sim.network(input_shape(shape));
  MemoryUse m;
  {
    py::gil_scoped_release release;
    m = memory_use(net);
  }
  py::dict layers;
  for (const auto& [ll, u] : m.layers) {
    py::dict d;
    d["kernel_rows"] = u.kernel_rows;
    d["kernel_first_row"] = py::cast(u.kernel_first_row);
    d["kernel_shared_with"] = py::cast(u.kernel_shared_with);
    d["bias_bytes"] = u.bias_bytes;
    d["bias_group"] = py::cast(u.bias_group);
    layers[py::int_(ll)] = d;
  }
  py::dict out;
  out["layers"] = layers;
  out["kernel_rows_written"] = m.kernel_rows_written;
  out["bias_bytes_used"] = m.bias_bytes_used;
  out["violations"] = m.violations;
  return out;
}

// `ai8xsim check`'s verdict without refusing: every device rule broken (messages, the first is
// izer's) and the kernel / bias memory the network takes as izer allocates it.
py::dict check(const Simulator& sim, const std::vector<int>& shape) {
  const InputShape in = input_shape(shape);
  std::optional<Simulator::CheckResult> r;
  std::optional<MemoryMap> map;
  {
    py::gil_scoped_release release;
    r = sim.check(in);
    map = memory_map(r->network);
  }
  py::dict out;
  out["fits"] = r->violations.empty();
  py::list violations;
  for (const Violation& v : r->violations) violations.append(py::str(v.message));
  out["violations"] = violations;
  out["kernel_rows_used"] = map->kernel_rows_used();
  out["kernel_rows"] = map->kernel_rows();
  out["bias_bytes_used"] = map->bias_bytes_used();
  out["bias_bytes"] = map->bias_bytes();
  return out;
}

// The weights as loaded, per YAML layer, in weights.npz's terms (docs/checkpoint-format.md):
// {"weights": int8 array of izer's shape or None, "bias": int64 or None, "output_shift",
// "quantization"}.
py::list weights(const Simulator& sim) {
  py::list out;
  for (const LayerWeights& w : sim.weights()) {
    py::dict d;
    if (w.has_weights) {
      std::vector<py::ssize_t> shape(w.weight_shape.begin(), w.weight_shape.end());
      py::array_t<int8_t> a(shape);
      std::copy(w.weights.begin(), w.weights.end(), a.mutable_data());
      d["weights"] = a;
    } else {
      d["weights"] = py::none();
    }
    if (w.has_bias) {
      py::array_t<int64_t> b(static_cast<py::ssize_t>(w.bias.size()));
      std::copy(w.bias.begin(), w.bias.end(), b.mutable_data());
      d["bias"] = b;
    } else {
      d["bias"] = py::none();
    }
    d["output_shift"] = w.output_shift;
    d["quantization"] = w.has_weights ? w.quantization : 0;
    out.append(d);
  }
  return out;
}

// ---- the resolved network ------------------------------------------------------------------

py::tuple dim(const Dim2& d) { return py::make_tuple(d[0], d[1]); }

py::object weights_array(const Layer& L) {
  if (L.weights.empty()) return py::none();
  py::array_t<int8_t> w(static_cast<py::ssize_t>(L.weights.size()), L.weights.data());
  const int64_t per_out = static_cast<int64_t>(L.weights.size()) / std::max(L.out_channels, 1);
  const int64_t k = int64_t{L.kernel[0]} * L.kernel[1];
  if (L.out_channels > 0 && per_out * L.out_channels == static_cast<int64_t>(L.weights.size()) &&
      k > 0 && per_out % k == 0)
    return w.reshape({static_cast<py::ssize_t>(L.out_channels),
                      static_cast<py::ssize_t>(per_out / k),
                      static_cast<py::ssize_t>(L.kernel[0]),
                      static_cast<py::ssize_t>(L.kernel[1])});
  return std::move(w);
}

py::object bias_array(const Layer& L) {
  if (L.bias.empty()) return py::none();
  return py::array_t<int64_t>(static_cast<py::ssize_t>(L.bias.size()), L.bias.data());
}

void bind_layer(py::module_& m) {
  py::class_<Layer>(m, "Layer", "One resolved layer (ai8xsim/network.h), by YAML index.")
      .def_readonly("index", &Layer::index)
      .def_property_readonly("op", [](const Layer& L) { return operator_name(L.op); })
      .def_property_readonly("eltwise", [](const Layer& L) { return eltwise_name(L.eltwise); })
      .def_readonly("operands", &Layer::operands)
      .def_readonly("pool_first", &Layer::pool_first)
      .def_readonly("in_sequences", &Layer::in_sequences)  // -2: the data buffer
      .def_readonly("buffer_shift", &Layer::buffer_shift)  // 0: none
      .def_readonly("buffer_insert", &Layer::buffer_insert)
      .def_readonly("prev", &Layer::prev)
      .def_readonly("next", &Layer::next)
      .def_readonly("in_channels", &Layer::in_channels)
      .def_readonly("out_channels", &Layer::out_channels)
      .def_property_readonly("input_dim", [](const Layer& L) { return dim(L.input_dim); })
      .def_property_readonly("pooled_dim", [](const Layer& L) { return dim(L.pooled_dim); })
      .def_property_readonly("output_dim", [](const Layer& L) { return dim(L.output_dim); })
      .def_property_readonly("in_crop", [](const Layer& L) { return dim(L.in_crop); })
      .def_property_readonly("pool", [](const Layer& L) { return dim(L.pool); })
      .def_property_readonly("pool_stride", [](const Layer& L) { return dim(L.pool_stride); })
      .def_property_readonly("pool_dilation",
                             [](const Layer& L) { return dim(L.pool_dilation); })
      .def_readonly("pool_average", &Layer::pool_average)
      .def_property_readonly("kernel", [](const Layer& L) { return dim(L.kernel); })
      .def_property_readonly("padding", [](const Layer& L) { return dim(L.padding); })
      .def_property_readonly("stride", [](const Layer& L) { return dim(L.stride); })
      .def_property_readonly("dilation", [](const Layer& L) { return dim(L.dilation); })
      .def_property_readonly("output_padding",
                             [](const Layer& L) { return dim(L.output_padding); })
      .def_readonly("groups", &Layer::groups)
      .def_readonly("flatten", &Layer::flatten)
      .def_readonly("bypass", &Layer::bypass)
      .def_property_readonly("activation",
                             [](const Layer& L) {
                               return L.activation == Activation::None
                                          ? std::string("none")
                                          : std::string(activation_name(L.activation));
                             })
      .def_readonly("output_shift", &Layer::output_shift)
      .def_readonly("output_width", &Layer::output_width)
      .def_readonly("quantization", &Layer::quantization)
      .def_property_readonly("weights", &weights_array,
                             "int8, out x in/groups x kh x kw (a copy); None without weights")
      .def_property_readonly("bias", &bias_array,
                             "int64 as loaded (the engine adds bias x 128); None without bias")
      .def_readonly("processors", &Layer::processors)
      .def_readonly("output_processors", &Layer::output_processors)
      .def_readonly("in_offset", &Layer::in_offset)
      .def_readonly("out_offset", &Layer::out_offset)
      .def_readonly("write_gap", &Layer::write_gap)
      .def_readonly("read_gap", &Layer::read_gap)
      .def_readonly("streaming", &Layer::streaming)
      .def_readonly("big_data", &Layer::big_data)
      .def_readonly("output_layer", &Layer::output_layer)
      .def_property_readonly("one_d", &Layer::one_d)
      .def_property_readonly("is_conv", &Layer::is_conv)
      .def_property_readonly("macs", &Layer::macs)
      .def("__repr__", [](const Layer& L) {
        return "<ai8xsim.Layer " + std::to_string(L.index) + " " + operator_name(L.op) + ">";
      });
}

void bind_network(py::module_& m) {
  py::class_<Network>(m, "Network", "The network resolved for one input shape.")
      .def_readonly("config_file", &Network::config_file)
      .def_property_readonly("device", [](const Network& n) { return device_name(n.device); })
      .def_readonly("avg_pool_rounding", &Network::avg_pool_rounding)
      .def_property_readonly("input_shape",
                             [](const Network& n) {
                               return py::make_tuple(n.input.c, n.input.h, n.input.w);
                             })
      .def_property_readonly("layers",
                             [](py::object self) {
                               py::list out;
                               for (const Layer& L : self.cast<const Network&>().layers)
                                 out.append(py::cast(
                                     &L, py::return_value_policy::reference_internal, self));
                               return out;
                             })
      .def_readonly("order", &Network::order)
      .def_readonly("final_layer", &Network::final_layer)
      .def_property_readonly("total_macs", &Network::total_macs)
      .def("__repr__", [](const Network& n) {
        std::string s = "<ai8xsim.Network: " + std::to_string(n.layers.size()) + " layers";
        if (!n.layers.empty()) {
          const Layer& f = n.layers[static_cast<size_t>(n.final_layer)];
          s += ", final layer " + std::to_string(n.final_layer) + " (" +
               std::to_string(f.out_channels) + "x" + std::to_string(f.output_dim[0]) + "x" +
               std::to_string(f.output_dim[1]) + ")";
        }
        return s + ", " + std::to_string(n.total_macs()) + " MACs; .layers for each>";
      });
}

py::object evaluate_batch(const Simulator& sim, const py::array& xs, const py::array& labels,
                          const py::object& reference, const py::object& threads_arg,
                          const py::object& progress, size_t every);  // below

void bind_simulator(py::module_& m) {
  py::class_<Simulator>(m, "Simulator", "The C++ facade; use ai8xsim.load().")
      .def_static("load", &load, py::arg("config_file"), py::arg("checkpoint_file"),
                  py::arg("device") = "MAX78000", py::arg("no_bias") = std::vector<int>{},
                  py::arg("avg_pool_rounding") = false, py::arg("fifo") = false,
                  py::arg("fast_fifo") = false, py::arg("overlap_data") = false,
                  py::arg("weight_bits") = std::map<int, int>{}, py::arg("kernels") = "fast")
      .def("run", &run, py::arg("x"), py::arg("keep_layers") = true,
           py::arg("memory_fed") = false, py::arg("threads") = py::int_(0),
           "(output, {yaml_index: layer output}) for one sample; memory_fed: layers read "
           "their input from the data memory image; threads: its large layers' rows split "
           "over that many threads (0: all cores)")
      .def("run_output", &run_output, py::arg("x"), py::arg("threads") = py::int_(0),
           "the final output of one sample (run() without the layers)")
      .def("run_batch", &run_batch, py::arg("xs"), py::arg("threads") = py::int_(0),
           py::arg("progress") = py::none(), py::arg("progress_every") = 1)
      .def("evaluate", &evaluate_batch, py::arg("xs"), py::arg("labels"),
           py::arg("reference") = py::none(), py::arg("threads") = py::int_(0),
           py::arg("progress") = py::none(), py::arg("progress_every") = 1,
           "the report of `ai8xsim eval` (as its --report JSON) for N samples and labels")
      .def("run_sequence", &run_sequence, py::arg("xs"), py::arg("buffer") = py::none(),
           "(outputs, buffer): the samples run in order, each starting from the data buffer "
           "the previous one left")
      .def(
          "network",
          [](const Simulator& s, const std::vector<int>& shape) -> const Network& {
            const InputShape in = input_shape(shape);
            py::gil_scoped_release release;
            return s.network(in);
          },
          py::arg("input_shape"), py::return_value_policy::reference_internal)
      .def("cycles", &cycles, py::arg("input_shape"), py::arg("clock_mhz") = 0.0)
      .def("cost", &cost, py::arg("input_shape"), py::arg("clock_mhz") = 0.0,
           py::arg("load_clock_mhz") = 0.0, py::arg("pipeline") = true,
           py::arg("riscv") = false, py::arg("mexpress") = true, py::arg("fifo_wait") = true)
      .def("memory", &memory, py::arg("input_shape"))
      .def("check", &check, py::arg("input_shape"),
           "{fits, violations, kernel_rows_used, kernel_rows, bias_bytes_used, bias_bytes}: "
           "`ai8xsim check`'s verdict and memory use, without refusing")
      .def("weights", &weights,
           "per YAML layer {weights, bias, output_shift, quantization} as loaded (quantized "
           "first for a float checkpoint): weights.npz's contents")
      .def_property_readonly("config_file", [](const Simulator& s) { return s.config().file; })
      .def_property_readonly(
          "input_shape",
          [](const Simulator& s) -> py::object {
            try {
              const InputShape in = s.inferred_input_shape();
              return py::make_tuple(in.c, in.h, in.w);
            } catch (const Error&) {
              return py::none();  // the YAML does not tell
            }
          },
          "(C, H, W) the YAML implies (first layer's channels and in_dim), or None")
      .def_property_readonly(
          "input_channels",
          [](const Simulator& s) -> py::object {
            const int c = s.inferred_input_channels();
            return c > 0 ? py::object(py::int_(c)) : py::object(py::none());
          },
          "the input channels the YAML implies, or None")
      .def_property_readonly("one_d", [](const Simulator& s) {
        return !s.config().layers.empty() && s.config().layers[0].op == Operator::Conv1d;
      })
      .def_property_readonly("notes", &Simulator::notes,
                             "what load() did beyond reading (e.g. quantized the checkpoint)")
      .def_property_readonly("device",
                             [](const Simulator& s) { return device_name(s.options().device); })
      .def_property_readonly("options", [](const Simulator& s) {
        const LoadOptions& o = s.options();
        py::dict d;
        d["no_bias"] = o.no_bias;
        d["avg_pool_rounding"] = o.avg_pool_rounding;
        d["fifo"] = o.fifo;
        d["fast_fifo"] = o.fast_fifo;
        d["overlap_data"] = o.overlap_data;
        d["kernels"] = kernel_set_name(o.kernels);
        return d;
      });
}

// ---- evaluation (net.evaluate) ------------------------------------------------------------

NdArray to_ndarray(const py::array& a, const std::string& what) {
  NdArray nd;
  if (!library_dtype(a.dtype(), nd.dtype))
    fail(ErrorKind::Input, what + ": dtype " + py::str(a.dtype()).cast<std::string>() +
                               "; expected integers (class indices) or numbers (scores)");
  for (py::ssize_t d = 0; d < a.ndim(); ++d) nd.shape.push_back(a.shape(d));
  py::array_t<double, py::array::c_style | py::array::forcecast> v(a);
  nd.values.assign(v.data(), v.data() + v.size());
  return nd;
}

// net.evaluate: the library's evaluate (ai8xsim/evaluate.h, as `ai8xsim eval`) on the samples
// read in place, outputs scored as they come; the report as JSON-shaped Python data.
py::object evaluate_batch(const Simulator& sim, const py::array& xs, const py::array& labels,
                          const py::object& reference, const py::object& threads_arg,
                          const py::object& progress, size_t every) {
  const int threads = thread_count(threads_arg);
  py::object keep;
  const SampleArray inputs = sample_array(xs, true, "X", keep);
  // The labels read in their own dtype (a C-ordered, machine-order copy only when they are
  // not so already): label maps are millions of values.
  const py::array y = py::array::ensure(native_order(labels), py::array::c_style);
  NpyData view;
  if (!y || !library_dtype(y.dtype(), view.dtype))
    fail(ErrorKind::Input, "y: dtype " + py::str(labels.dtype()).cast<std::string>() +
                               "; labels must be integers (class indices)");
  view.shape.assign(y.shape(), y.shape() + y.ndim());
  view.data = static_cast<const char*>(y.data());
  view.count = static_cast<size_t>(y.size());
  const EvalLabels l = eval_labels_from_npy(view, "y");
  std::optional<std::vector<int>> ref;
  if (!reference.is_none())
    ref = reference_from_array(to_ndarray(reference.cast<py::array>(), "reference"),
                               "reference");
  BatchProgress cb(progress, every, static_cast<size_t>(inputs.n));
  EvalResult r;
  cb.run([&] {
    r = evaluate(sim, inputs, l, ref ? &*ref : nullptr, threads,
                 [&](size_t done, size_t) { cb(done); });
  });
  return py::module_::import("json").attr("loads")(eval_result_json(r).dump());
}

void bind_error(py::module_& m) {
  static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
  error.attr("__module__") = "ai8xsim";
  error.attr("__doc__") =
      "An error ai8xsim reports (ai8xsim::Error): the message names the file, layer, key and "
      "value; `kind` is config, checkpoint, input, capacity, io or internal.";
  error.attr("kind") = py::none();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object inst = py::reinterpret_borrow<py::object>(error.ptr())(py::str(e.what()));
      inst.attr("kind") = error_kind_name(e.kind());
      PyErr_SetObject(error.ptr(), inst.ptr());
    }
  });
}

// ai8xsim.plan(): (planned YAML text, report); ai8xsim.Error (capacity) naming the limit when
// no placement exists.
py::tuple plan(const std::string& config, const std::string& checkpoint, const std::string& device,
               std::optional<std::vector<int>> shape, const std::string& objective,
               const std::vector<std::string>& keep, const std::vector<int>& no_bias,
               bool avg_pool_rounding, bool fifo, bool fast_fifo, bool overlap_data) {
  PlanOptions o;
  o.load = load_options(device, no_bias, avg_pool_rounding, fifo, fast_fifo, overlap_data);
  if (shape) o.input = input_shape(*shape);
  o.objective = parse_plan_objective(objective);
  o.keep = keep;
  PlanResult r;
  {
    py::gil_scoped_release release;
    r = plan_network(config, checkpoint, o);
  }
  if (!r.ok) fail(ErrorKind::Capacity, config + ": no placement found: " + r.violations.front().message);
  return py::make_tuple(r.yaml, plan_report(r));
}

}  // namespace

PYBIND11_MODULE(_ai8xsim, m) {
  m.doc() = "ai8xsim C++ bindings (use the ai8xsim package)";
  bind_error(m);
  bind_layer(m);
  bind_network(m);
  bind_simulator(m);
  m.def("plan", &plan, py::arg("config_file"), py::arg("checkpoint_file"),
        py::arg("device") = "MAX78000", py::arg("input_shape") = py::none(),
        py::arg("objective") = "latency", py::arg("keep") = std::vector<std::string>{},
        py::arg("no_bias") = std::vector<int>{}, py::arg("avg_pool_rounding") = false,
        py::arg("fifo") = false, py::arg("fast_fifo") = false, py::arg("overlap_data") = false);
}
