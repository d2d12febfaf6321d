#include "sim/engine/engine.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <sstream>
#include <system_error>
#include <cstdio>

#include "ai8xsim/error.h"
#include "kernels/fast.h"
#include "kernels/kernels.h"
#include "sim/memory/databuffer.h"

namespace ai8xsim {

namespace {

[[noreturn]] void run_error(const Network& net, int ll, const std::string& what) {
  fail(ErrorKind::Config, net.config_file + ": layer " + std::to_string(ll) + ": " + what);
}

// izer keeps one slot per layer: a layer's output goes to the slot of the layer that runs
// next, and `in_sequences: [i]` reads slot i + 1 (the same as layer i's output when the
// sequence runs in order; see docs/izer-checks.md for link layers).
class Slots {
 public:
  explicit Slots(size_t layers) : slot_(layers + 1), ref_(layers + 1, nullptr) {}
  void put(int index, Tensor t) {
    slot_.at(static_cast<size_t>(index)) = std::move(t);
    ref_[index] = nullptr;
  }
  // A tensor that outlives the run (the input): kept by reference.
  void put_ref(int index, const Tensor& t) {
    slot_.at(static_cast<size_t>(index)).reset();
    ref_[index] = &t;
  }
  const Tensor& get(const Network& net, int reader, int index) const {
    if (index >= 0 && static_cast<size_t>(index) < slot_.size() && ref_[index]) return *ref_[index];
    if (index < 0 || static_cast<size_t>(index) >= slot_.size() || !slot_[index])
      run_error(net, reader, "in_sequences: the data it reads (slot " + std::to_string(index) +
                                 ") has not been produced before this layer runs");
    return *slot_[index];
  }

 private:
  std::vector<std::optional<Tensor>> slot_;
  std::vector<const Tensor*> ref_;
};

// Concatenate the in_sequences outputs along channels; where their pixel counts differ,
// izer concatenates along the pixels instead and reshapes to the layer's in_dim.
Tensor concatenate(const Network& net, const Layer& L, const std::vector<const Tensor*>& parts) {
  const Tensor& first = *parts[0];
  bool same_dims = true;
  int channels = 0;
  for (const Tensor* p : parts) {
    same_dims &= p->h == first.h && p->w == first.w;
    channels += p->c;
  }
  if (same_dims) {
    Tensor out(channels, first.h, first.w);
    size_t at = 0;
    for (const Tensor* p : parts) {
      std::copy(p->data.begin(), p->data.end(), out.data.begin() + at);
      at += p->data.size();
    }
    return out;
  }
  // Pixel concatenation: every part needs the same channel count.
  size_t pixels = 0;
  for (const Tensor* p : parts) {
    if (p->c != first.c)
      run_error(net, L.index, "in_sequences: cannot concatenate outputs " + p->shape_str() +
                                  " and " + first.shape_str());
    pixels += static_cast<size_t>(p->h) * p->w;
  }
  if (pixels != static_cast<size_t>(L.input_dim[0]) * L.input_dim[1])
    run_error(net, L.index, "in_sequences: the inputs' pixels do not fill in_dim");
  Tensor out(first.c, L.input_dim[0], L.input_dim[1]);
  size_t col = 0;
  for (const Tensor* p : parts) {
    const size_t n = static_cast<size_t>(p->h) * p->w;
    for (int c = 0; c < p->c; ++c)
      std::copy(p->data.begin() + c * n, p->data.begin() + (c + 1) * n,
                out.data.begin() + c * pixels + col);
    col += n;
  }
  return out;
}

// The layer's input: the slot it reads (no copy), or the concatenation, made in `storage`.
const Tensor& gather_input(const Network& net, const Layer& L, const Slots& slots,
                           Tensor& storage) {
  if (L.in_sequences.empty()) return slots.get(net, L.index, L.index);
  if (L.in_sequences.size() == 1) return slots.get(net, L.index, L.in_sequences[0] + 1);
  std::vector<const Tensor*> parts;
  for (int e : L.in_sequences) parts.push_back(&slots.get(net, L.index, e + 1));
  storage = concatenate(net, L, parts);
  return storage;
}

// Split the gathered input into the element-wise operands (equal channel blocks).
std::vector<Tensor> split_operands(const Network& net, const Layer& L, const Tensor& data) {
  if (L.operands <= 1) return {data};
  if (data.c % L.operands != 0)
    run_error(net, L.index, "the input has " + std::to_string(data.c) +
                                " channels, which do not split into " +
                                std::to_string(L.operands) + " operands");
  const int c = data.c / L.operands;
  const size_t n = static_cast<size_t>(c) * data.h * data.w;
  std::vector<Tensor> ops;
  for (int k = 0; k < L.operands; ++k) {
    Tensor t(c, data.h, data.w);
    std::copy(data.data.begin() + k * n, data.data.begin() + (k + 1) * n, t.data.begin());
    ops.push_back(std::move(t));
  }
  return ops;
}

Tensor crop_rows(const Network& net, const Layer& L, const Tensor& t) {
  if (L.in_crop[0] == 0 && L.in_crop[1] == 0) return t;
  const int rows = t.h - L.in_crop[0] - L.in_crop[1];
  if (L.in_crop[1] == 0 || rows <= 0)
    run_error(net, L.index, "in_crop: found [" + std::to_string(L.in_crop[0]) + ", " +
                                std::to_string(L.in_crop[1]) + "] for " +
                                std::to_string(t.h) +
                                " rows; izer needs both values and at least one row left");
  Tensor out(t.c, rows, t.w);
  for (int c = 0; c < t.c; ++c)
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < t.w; ++x) out.at(c, y, x) = t.at(c, y + L.in_crop[0], x);
  return out;
}

// Reinterpret the input as the layer's in_dim (izer's reshape: 1-D <-> 2-D, W/L changes).
Tensor reshape_to_in_dim(const Network& net, const Layer& L, const Tensor& t) {
  const int64_t area = int64_t{L.input_dim[0]} * (L.one_d() ? 1 : L.input_dim[1]);
  if (area <= 0 || static_cast<int64_t>(t.size()) % area != 0)
    run_error(net, L.index, "in_dim: the input " + t.shape_str() + " does not reshape to " +
                                std::to_string(L.input_dim[0]) + "x" +
                                std::to_string(L.input_dim[1]));
  const int c = static_cast<int>(static_cast<int64_t>(t.size()) / area);
  return L.one_d() ? t.reshaped(c, L.input_dim[0], 1)
                   : t.reshaped(c, L.input_dim[0], L.input_dim[1]);
}

Tensor pool_input(const Network& net, const Layer& L, const Tensor& t) {
  const bool pooling = L.pool[0] > 1 || L.pool[1] > 1;
  if (!pooling) return kernels::subsample(t, L.pool_stride);
  if (L.one_d())
    return kernels::pool1d(t, L.pool[0], L.pool_stride[0], L.pool_dilation[0], L.pool_average);
  return kernels::pool2d(t, L.pool, L.pool_stride, L.pool_dilation, L.pool_average,
                         net.avg_pool_rounding);
}

void check_pooled(const Network& net, const Layer& L, const Tensor& t) {
  if (t.c != L.in_channels || t.h != L.pooled_dim[0] || t.w != L.pooled_dim[1])
    run_error(net, L.index,
              "input dimensions do not match: expected " + std::to_string(L.in_channels) + "x" +
                  std::to_string(L.pooled_dim[0]) + "x" + std::to_string(L.pooled_dim[1]) +
                  " after pooling, got " + t.shape_str() +
                  " (check in_channels, in_dim and the previous layer's output)");
}

kernels::ConvGeometry geometry(const Layer& L) {
  kernels::ConvGeometry g;
  g.kernel = L.kernel;
  g.stride = L.stride;
  g.dilation = L.dilation;
  g.groups = L.groups;
  g.pad_before = L.padding;
  g.pad_after = L.padding;
  if (L.op == Operator::ConvTranspose2d) {
    // A transposed convolution is a convolution of the input stretched by the stride, padded
    // by dilation * (kernel - 1) - pad, plus output_pad at the bottom and right.
    g.upsample = L.stride;
    g.stride = {1, 1};
    for (int a = 0; a < 2; ++a) {
      g.pad_before[a] = L.dilation[a] * (L.kernel[a] - 1) - L.padding[a];
      g.pad_after[a] = g.pad_before[a] + L.output_padding[a];
    }
  }
  return g;
}

// The layer's kernels as the convolution reads them: its weights, or ones for kernel bypass.
std::vector<int8_t> layer_kernels(const Layer& L, int in_channels) {
  if (!L.bypass) return L.weights;
  return std::vector<int8_t>(
      static_cast<size_t>(L.out_channels) * (in_channels / L.groups) * L.kernel[0] * L.kernel[1],
      1);
}

std::vector<int64_t> bias_x128(const Layer& L) {
  std::vector<int64_t> b;
  for (int64_t v : L.bias) b.push_back(v * 128);
  return b;
}

Tensor convolve(const Network& net, const Layer& L, const Tensor& pooled,
                const kernels::PreparedConv* prepared) {
  Tensor flat;
  const Tensor* in = &pooled;
  if (L.flatten) {
    flat.c = static_cast<int>(pooled.size());
    flat.h = flat.w = 1;
    flat.data = pooled.data;  // (only the flatten layers copy: their input is small)
    in = &flat;
  }
  const int in_per_group = in->c / L.groups;
  if (L.groups > 1 && int64_t{L.out_channels} * in_per_group > in->c)
    run_error(net, L.index, "groups: " + std::to_string(L.groups) + " groups with " +
                                std::to_string(L.out_channels) +
                                " output channels read past the input channels");
  const bool wide = L.output_width == 32;
  if (prepared && prepared->in_channels() == in->c)
    return prepared->conv2d_output(*in, L.output_shift, wide, L.activation);
  const std::vector<int8_t> w = layer_kernels(L, in->c);
  const AccTensor acc = kernels::conv2d(*in, w.data(), L.out_channels, bias_x128(L), geometry(L));
  return kernels::output_stage(acc, L.output_shift, wide, L.activation);
}

bool trivial_pool(const Layer& L) {
  return L.pool[0] <= 1 && L.pool[1] <= 1 && L.pool_stride[0] == 1 && L.pool_stride[1] == 1;
}

// crop, reshape to in_dim and pool one operand; copies only where a step changes the data.
Tensor prepare_operand(const Network& net, const Layer& L, const Tensor& t) {
  const bool crop = L.in_crop[0] != 0 || L.in_crop[1] != 0;
  Tensor cropped;
  if (crop) cropped = crop_rows(net, L, t);
  const Tensor& c = crop ? cropped : t;
  const int64_t area = int64_t{L.input_dim[0]} * (L.one_d() ? 1 : L.input_dim[1]);
  const int want_w = L.one_d() ? 1 : L.input_dim[1];
  const bool same_shape = c.h == L.input_dim[0] && c.w == want_w;
  if (same_shape && area > 0) {
    if (trivial_pool(L)) return crop ? std::move(cropped) : c;
    return pool_input(net, L, c);
  }
  Tensor r = reshape_to_in_dim(net, L, c);
  if (trivial_pool(L)) return r;
  return pool_input(net, L, r);
}

Tensor run_layer(const Network& net, const Layer& L, const Tensor& gathered,
                 const kernels::PreparedConv* prepared) {
  const bool elt_wide = L.op == Operator::Passthrough && L.output_width == 32;
  if (L.operands <= 1) {
    // The common case: one operand, no copies unless a step changes the data.
    const bool crop = L.in_crop[0] != 0 || L.in_crop[1] != 0;
    const int want_w = L.one_d() ? 1 : L.input_dim[1];
    if (!crop && trivial_pool(L) && gathered.h == L.input_dim[0] && gathered.w == want_w &&
        L.input_dim[0] > 0 && want_w > 0) {
      check_pooled(net, L, gathered);
      if (L.op == Operator::Passthrough) return gathered;
      return convolve(net, L, gathered, prepared);
    }
    const Tensor pooled = prepare_operand(net, L, gathered);
    check_pooled(net, L, pooled);
    if (L.op == Operator::Passthrough) return pooled;
    return convolve(net, L, pooled, prepared);
  }
  std::vector<Tensor> ops = split_operands(net, L, gathered);
  // An element-wise layer keeps 32 bits when it is pure element-wise with output_width 32.
  if (L.operands > 1 && !L.pool_first) ops = {kernels::eltwise(ops, L.eltwise, elt_wide)};
  for (Tensor& t : ops) t = pool_input(net, L, reshape_to_in_dim(net, L, crop_rows(net, L, t)));
  if (L.operands > 1 && L.pool_first) {
    if (L.one_d() && (L.pool[0] > 1))
      run_error(net, L.index,
                "element-wise operands with 1-D pooling are not supported (izer fails here)");
    ops = {kernels::eltwise(ops, L.eltwise, elt_wide)};
  }
  const Tensor& pooled = ops[0];
  check_pooled(net, L, pooled);
  if (L.op == Operator::Passthrough) return pooled;
  return convolve(net, L, pooled, prepared);
}

// The data buffer at the start of a run: `given`, or zero (izer's run); checked against the
// network's buffer shape.
std::optional<Tensor> start_buffer(const Network& net, const Tensor* given) {
  if (!net.buffer) return std::nullopt;
  const Tensor zero = empty_buffer(*net.buffer);
  if (!given) return zero;
  if (given->c != zero.c || given->h != zero.h || given->w != zero.w)
    fail(ErrorKind::Input, net.config_file + ": the data buffer carried into the run is " +
                               given->shape_str() + "; the network's `data_buffer` `" +
                               net.buffer->name + "` is " + zero.shape_str() +
                               " (entries x channels x columns)");
  return *given;
}

// Layer L on the tensors with the data buffer: a buffer shift returns the shifted buffer (its
// input is the buffer, which it passes through) and the buffer becomes that; an insertion
// writes the layer's output into the buffer's newest entries.
Tensor run_layer_buffered(const Network& net, const Layer& L, const Tensor& gathered,
                          const kernels::PreparedConv* prepared, std::optional<Tensor>& buffer) {
  if (!L.buffer_shift) {
    Tensor out = run_layer(net, L, gathered, prepared);
    if (L.buffer_insert) insert_into_buffer(*buffer, out, L.buffer_insert);
    return out;
  }
  if (gathered.c != buffer->c || gathered.h != buffer->h || gathered.w != buffer->w)
    run_error(net, L.index, "buffer_shift: the input " + gathered.shape_str() +
                                " is not the data buffer (" + buffer->shape_str() + ")");
  Tensor out = shift_buffer(gathered, L.buffer_shift);
  *buffer = out;
  if (L.buffer_insert) insert_into_buffer(*buffer, out, L.buffer_insert);
  return out;
}

// ---- the fast path: activations in the kernels' layout --------------------------------------------

// One slot's data: the kernels' 8-bit layout and/or an int32 tensor, each made from the other
// when asked (and kept); or the run's input, by reference.
struct Value {
  bool has_act = false, has_tensor = false;
  fast::Act act;
  Tensor tensor;
  const Tensor* ext = nullptr;

  void clear() {
    has_act = has_tensor = false;
    ext = nullptr;
  }
  bool produced() const { return has_act || has_tensor || ext; }
  const Tensor& as_tensor() {
    if (ext) return *ext;
    if (!has_tensor) {
      fast::from_act(act.view(), tensor);
      has_tensor = true;
    }
    return tensor;
  }
  // nullptr when the data is not 8-bit (32-bit output of a wide layer).
  const fast::Act* as_act() {
    if (!has_act) {
      if (!fast::to_act(ext ? *ext : tensor, act)) return nullptr;
      has_act = true;
    }
    return &act;
  }
};

// Layers with fewer MACs run on one thread even when the sample is split (a hand-off to the
// other threads costs about as much as a million MACs take).
constexpr int64_t kParallelMacs = int64_t{1} << 20;

// A layer's buffers, kept from sample to sample.
struct LayerScratch {
  fast::Act gathered, pooled;
  fast::ConvScratch conv;
  Value out;  // the layer writes here; then it is swapped into the slot it goes to
};

// Everything a thread needs to run one network, kept between samples: after the first sample
// no layer allocates (its buffers have their sizes) and padded input buffers keep their borders.
struct Workspace {
  uint64_t id = 0;
  std::vector<Value> slots;
  std::vector<LayerScratch> layers;
};

Workspace& workspace(const PreparedNetwork& prepared, const Network& net) {
  // A few per thread (several networks may alternate on one thread), most recent first.
  thread_local std::vector<std::unique_ptr<Workspace>> cache;
  for (size_t i = 0; i < cache.size(); ++i)
    if (cache[i]->id == prepared.id && cache[i]->layers.size() == net.layers.size()) {
      std::rotate(cache.begin(), cache.begin() + i, cache.begin() + i + 1);
      return *cache.front();
    }
  if (cache.size() >= 4) cache.pop_back();
  auto ws = std::make_unique<Workspace>();
  ws->id = prepared.id;
  ws->slots.resize(net.layers.size() + 1);
  ws->layers.resize(net.layers.size());
  cache.insert(cache.begin(), std::move(ws));
  return *cache.front();
}

Value& slot_value(const Network& net, Workspace& ws, int reader, int index) {
  if (index < 0 || static_cast<size_t>(index) >= ws.slots.size() ||
      !ws.slots[index].produced())
    run_error(net, reader, "in_sequences: the data it reads (slot " + std::to_string(index) +
                               ") has not been produced before this layer runs");
  return ws.slots[index];
}

// Runs layer L on the kernels' layout into `out`. false (out untouched) where a step is not
// covered (element-wise operands, pixel concatenation, a reshape, izer's edge-case pooling, a
// convolution the SIMD kernels do not take, data that is not 8-bit, anything izer refuses):
// the caller then runs the layer on int32 tensors, which gives the same result or the error.
bool run_layer_act(const Network& net, const Layer& L, Workspace& ws, LayerScratch& ls,
                   const PreparedNetwork& prepared, fast::ThreadPool* pool, Value& out) {
  if (L.operands > 1 || L.reads_buffer() || L.buffer_shift || L.buffer_insert) return false;
  fast::ActView in;
  if (L.in_sequences.size() <= 1) {
    const int index = L.in_sequences.empty() ? L.index : L.in_sequences[0] + 1;
    const fast::Act* a = slot_value(net, ws, L.index, index).as_act();
    if (!a) return false;
    in = a->view();
  } else {
    std::vector<fast::ActView> parts;
    for (int e : L.in_sequences) {
      const fast::Act* a = slot_value(net, ws, L.index, e + 1).as_act();
      if (!a) return false;
      parts.push_back(a->view());
      if (a->h != parts[0].h || a->w != parts[0].w) return false;  // pixel concatenation
    }
    fast::concat_channels_act(parts, ls.gathered);
    in = ls.gathered.view();
  }
  if (L.in_crop[0] != 0 || L.in_crop[1] != 0) {
    const int rows = in.h - L.in_crop[0] - L.in_crop[1];
    if (L.in_crop[1] == 0 || rows <= 0 || L.in_crop[0] < 0 || L.in_crop[1] < 0) return false;
    in.data += L.in_crop[0] * in.row();
    in.h = rows;
  }
  const int want_w = L.one_d() ? 1 : L.input_dim[1];
  if (in.h != L.input_dim[0] || in.w != want_w || in.h <= 0 || want_w <= 0)
    return false;  // a reshape to in_dim (C-order): on int32 tensors
  bool pooled_own = false;
  if (L.pool[0] > 1 || L.pool[1] > 1) {
    if (!fast::pool_act(in, ls.pooled, L.pool, L.pool_stride, L.pool_dilation, L.pool_average,
                           net.avg_pool_rounding, L.one_d()))
      return false;
    in = ls.pooled.view();
    pooled_own = true;
  } else if (L.pool_stride[0] != 1 || L.pool_stride[1] != 1) {
    if (!fast::subsample_act(in, ls.pooled, L.pool_stride)) return false;
    in = ls.pooled.view();
    pooled_own = true;
  }
  if (in.c != L.in_channels || in.h != L.pooled_dim[0] || in.w != L.pooled_dim[1]) return false;
  if (L.op == Operator::Passthrough) {
    if (pooled_own) {
      std::swap(out.act, ls.pooled);
    } else {
      out.act.reshape(in.c, in.h, in.w);
      std::copy(in.data, in.data + out.act.data.size(), out.act.data.begin());
    }
    out.has_act = true;
    return true;
  }
  if (L.groups > 1 && int64_t{L.out_channels} * (in.c / L.groups) > in.c) return false;
  const kernels::PreparedConv* conv = nullptr;
  if (L.flatten) {
    // The pooled activations as one pixel, channels in HWC order (the weights are so ordered).
    if (!prepared.flat_convs[L.index]) return false;
    conv = &*prepared.flat_convs[L.index];
    const int flat = in.h * in.w * in.cs;
    in = fast::ActView{in.data, flat, 1, 1, flat};
  } else {
    if (!prepared.convs[L.index]) return false;
    conv = &*prepared.convs[L.index];
  }
  if (conv->in_channels() != in.c) return false;
  // Rows split over the pool only where a layer is large enough to repay the hand-off.
  fast::ThreadPool* p = L.macs() >= kParallelMacs ? pool : nullptr;
  if (L.output_width == 32) {
    if (!conv->run_act_wide(in, L.output_shift, L.activation, out.tensor, ls.conv, p))
      return false;
    out.has_tensor = true;
  } else {
    if (!conv->run_act(in, L.output_shift, L.activation, out.act, ls.conv, p)) return false;
    out.has_act = true;
  }
  return true;
}

RunResult run_fast(const Network& net, const Tensor& input, bool keep_layers,
                   const PreparedNetwork& prepared, int threads, const Tensor* start) {
  RunResult result;
  result.layers.resize(net.layers.size());
  std::optional<Tensor> buffer = start_buffer(net, start);
  Workspace& ws = workspace(prepared, net);
  for (Value& v : ws.slots) v.clear();
  ws.slots[0].ext = &input;
  // The threads splitting this sample's layers: kept by the calling thread from run to run.
  thread_local std::unique_ptr<fast::ThreadPool> pool_cache;
  fast::ThreadPool* pool = nullptr;
  if (threads > 1) {
    if (!pool_cache || pool_cache->threads() != threads) {
      pool_cache.reset();
      try {
        pool_cache = std::make_unique<fast::ThreadPool>(threads);
      } catch (const std::system_error& e) {
        fail(ErrorKind::Input, "threads: cannot start " + std::to_string(threads - 1) +
                                   " more threads for one sample (" + e.what() +
                                   "); give fewer threads");
      }
    }
    pool = pool_cache.get();
  }
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    LayerScratch& ls = ws.layers[ll];
    Value& out = ls.out;
    out.clear();
    if (!run_layer_act(net, L, ws, ls, prepared, pool, out)) {
      // The same layer on int32 tensors (engine steps above; same results, same errors).
      Tensor storage;
      const Tensor* gathered = &storage;
      if (L.reads_buffer()) {
        storage = buffer_input(L, *buffer);
      } else if (L.in_sequences.empty()) {
        gathered = &slot_value(net, ws, L.index, L.index).as_tensor();
      } else if (L.in_sequences.size() == 1) {
        gathered = &slot_value(net, ws, L.index, L.in_sequences[0] + 1).as_tensor();
      } else {
        std::vector<const Tensor*> parts;
        for (int e : L.in_sequences) parts.push_back(&slot_value(net, ws, L.index, e + 1).as_tensor());
        storage = concatenate(net, L, parts);
      }
      const kernels::PreparedConv* prep = prepared.convs[ll] ? &*prepared.convs[ll] : nullptr;
      out.tensor = run_layer_buffered(net, L, *gathered, prep, buffer);
      out.has_tensor = true;
    }
    if (keep_layers) result.layers[ll] = out.as_tensor();
    if (L.next == -1) {
      // Written once, straight into the result (no copy through the layer's buffers).
      if (out.has_tensor)
        result.output = keep_layers ? out.tensor : std::move(out.tensor);
      else
        fast::from_act(out.act.view(), result.output);
      break;
    }
    std::swap(ws.slots.at(static_cast<size_t>(L.next)), out);
  }
  result.buffer = std::move(buffer);
  return result;
}

std::atomic<uint64_t> next_prepared_id{1};

}  // namespace

PreparedNetwork prepare_network(const Network& net) {
  PreparedNetwork p;
  p.id = next_prepared_id.fetch_add(1);
  p.convs.resize(net.layers.size());
  p.flat_convs.resize(net.layers.size());
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    if (!L.is_conv()) continue;
    const int in_c = L.weight_in_channels();
    const std::vector<int8_t> w = layer_kernels(L, in_c);
    p.convs[ll].emplace(w.data(), L.out_channels, in_c, bias_x128(L), geometry(L));
    if (L.flatten && L.groups == 1 && L.kernel == Dim2{1, 1} && L.in_channels > 0) {
      // Weight (o, c * P + q) -> (o, q * cs + c): the HWC order of the pooled activations.
      const int C = L.in_channels, P = L.pooled_dim[0] * L.pooled_dim[1];
      const int cs = fast::Act::stride_for(C);
      if (P <= 0 || static_cast<int64_t>(w.size()) != int64_t{L.out_channels} * C * P) continue;
      std::vector<int8_t> hwc(static_cast<size_t>(L.out_channels) * P * cs, 0);
      for (int o = 0; o < L.out_channels; ++o)
        for (int c = 0; c < C; ++c)
          for (int q = 0; q < P; ++q)
            hwc[(static_cast<size_t>(o) * P + q) * cs + c] =
                w[(static_cast<size_t>(o) * C + c) * P + q];
      kernels::ConvGeometry g;
      g.kernel = {1, 1};
      g.pad_before = g.pad_after = {0, 0};
      p.flat_convs[ll].emplace(hwc.data(), L.out_channels, P * cs, bias_x128(L), g);
    }
  }
  return p;
}

RunResult run_network(const Network& net, const Tensor& input, bool keep_layers,
                      LayerHook* hook, const PreparedNetwork* prepared, int threads,
                      const Tensor* start) {
  if (prepared && !hook && prepared->convs.size() == net.layers.size())
    return run_fast(net, input, keep_layers, *prepared, threads, start);
  RunResult result;
  result.layers.resize(net.layers.size());
  std::optional<Tensor> buffer = start_buffer(net, start);
  Slots slots(net.layers.size());
  slots.put_ref(0, input);
  if (hook) hook->begin(net, input);  // data-memory hook
  Tensor last;
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    Tensor storage;
    const Tensor* gathered = &storage;
    if (L.reads_buffer())
      storage = buffer_input(L, *buffer);
    else
      gathered = &gather_input(net, L, slots, storage);
    if (hook) {  // data-memory hook: it may replace the input
      if (gathered != &storage) storage = *gathered;
      hook->before_layer(L, storage);
      gathered = &storage;
    }
    const kernels::PreparedConv* prep =
        prepared && prepared->convs[ll] ? &*prepared->convs[ll] : nullptr;
    Tensor out = run_layer_buffered(net, L, *gathered, prep, buffer);
    if (hook) hook->after_layer(L, out);  // data-memory hook
    if (keep_layers) result.layers[ll] = out;
    if (L.next == -1) {
      last = std::move(out);
      break;
    }
    slots.put(L.next, std::move(out));
  }
  result.output = std::move(last);
  result.buffer = std::move(buffer);
  return result;
}

}  // namespace ai8xsim
