#include "sim/engine/engine.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "ai8xsim/error.h"
#include "sim/engine/thread_pool.h"
#include "sim/memory/databuffer.h"

namespace ai8xsim {

namespace {

using kernels::KernelTable;

[[noreturn]] void run_error(const Network& net, int ll, const std::string& what) {
  fail(ErrorKind::Config, net.config_file + ": layer " + std::to_string(ll) + ": " + what);
}

// ---- the slots ------------------------------------------------------------------------------------
// izer keeps one slot per layer: a layer's output goes to the slot of the layer that runs
// next, and `in_sequences: [i]` reads slot i + 1 (the same as layer i's output when the
// sequence runs in order; see docs/izer-checks.md for link layers). Slot 0 is the input.

// One slot's data: the Fast set's byte layout and/or an int32 tensor, each made from the other
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

  Workspace(uint64_t id_, size_t layers_) : id(id_), slots(layers_ + 1), layers(layers_) {}
  Value& slot(const Network& net, int reader, int index) {
    if (index < 0 || static_cast<size_t>(index) >= slots.size() || !slots[index].produced())
      run_error(net, reader, "in_sequences: the data it reads (slot " + std::to_string(index) +
                                 ") has not been produced before this layer runs");
    return slots[index];
  }
};

Workspace& cached_workspace(const PreparedNetwork& prepared, const Network& net) {
  // A few per thread (several networks may alternate on one thread), most recent first.
  thread_local std::vector<std::unique_ptr<Workspace>> cache;
  for (size_t i = 0; i < cache.size(); ++i)
    if (cache[i]->id == prepared.id && cache[i]->layers.size() == net.layers.size()) {
      std::rotate(cache.begin(), cache.begin() + i, cache.begin() + i + 1);
      return *cache.front();
    }
  if (cache.size() >= 4) cache.pop_back();
  cache.insert(cache.begin(), std::make_unique<Workspace>(prepared.id, net.layers.size()));
  return *cache.front();
}

// ---- the steps on int32 tensors (every kernel set) -----------------------------------------------

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

// The layer's input: the data buffer, the slot it reads (no copy), or the concatenation of
// its in_sequences, made in `storage`.
const Tensor& gather(const Network& net, const Layer& L, Workspace& ws,
                     const std::optional<Tensor>& buffer, Tensor& storage) {
  if (L.reads_buffer()) {
    storage = buffer_input(L, *buffer);
    return storage;
  }
  if (L.in_sequences.empty()) return ws.slot(net, L.index, L.index).as_tensor();
  if (L.in_sequences.size() == 1) return ws.slot(net, L.index, L.in_sequences[0] + 1).as_tensor();
  std::vector<const Tensor*> parts;
  for (int e : L.in_sequences) parts.push_back(&ws.slot(net, L.index, e + 1).as_tensor());
  storage = concatenate(net, L, parts);
  return storage;
}

// Split the gathered input into the element-wise operands (equal channel blocks).
std::vector<Tensor> split_operands(const Network& net, const Layer& L, const Tensor& data) {
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

// in_crop: the rows a layer keeps of an input of `rows` rows (in_crop[0] dropped at the top,
// in_crop[1] at the bottom). The one check of in_crop, for both layouts.
struct KeptRows {
  int first = 0, count = 0;
};
KeptRows kept_rows(const Network& net, const Layer& L, int rows) {
  const int count = rows - L.in_crop[0] - L.in_crop[1];
  if (L.in_crop[0] < 0 || L.in_crop[1] <= 0 || count <= 0)
    run_error(net, L.index, "in_crop: found [" + std::to_string(L.in_crop[0]) + ", " +
                                std::to_string(L.in_crop[1]) + "] for " + std::to_string(rows) +
                                " rows; izer needs both values and at least one row left");
  return {L.in_crop[0], count};
}

Tensor crop(const Tensor& t, KeptRows k) {
  Tensor out(t.c, k.count, t.w);
  for (int c = 0; c < t.c; ++c)
    for (int y = 0; y < k.count; ++y)
      for (int x = 0; x < t.w; ++x) out.at(c, y, x) = t.at(c, y + k.first, x);
  return out;
}

// Reinterpret the input as the layer's in_dim (izer's reshape: 1-D <-> 2-D, W/L changes).
Tensor reshape_to_in_dim(const Network& net, const Layer& L, const LayerPlan& P, const Tensor& t) {
  const int64_t area = int64_t{P.in_rows} * P.in_cols;
  if (area <= 0 || static_cast<int64_t>(t.size()) % area != 0)
    run_error(net, L.index, "in_dim: the input " + t.shape_str() + " does not reshape to " +
                                std::to_string(L.input_dim[0]) + "x" +
                                std::to_string(L.input_dim[1]));
  return t.reshaped(static_cast<int>(static_cast<int64_t>(t.size()) / area), P.in_rows,
                    P.in_cols);
}

Tensor pool(const Network& net, const Layer& L, const LayerPlan& P, const KernelTable& k,
            const Tensor& t) {
  if (!P.pools) return k.subsample(t, L.pool_stride);
  if (L.one_d())
    return k.pool1d(t, L.pool[0], L.pool_stride[0], L.pool_dilation[0], L.pool_average);
  return k.pool2d(t, L.pool, L.pool_stride, L.pool_dilation, L.pool_average,
                  net.avg_pool_rounding);
}

// Crop, reshape to in_dim and pool one operand, each step only where it changes the data:
// the result is `t` itself or made in `storage`.
const Tensor& shape_operand(const Network& net, const Layer& L, const LayerPlan& P,
                            const KernelTable& k, const Tensor& t, Tensor& storage) {
  const Tensor* x = &t;
  if (L.in_crop[0] != 0 || L.in_crop[1] != 0) {
    storage = crop(t, kept_rows(net, L, t.h));
    x = &storage;
  }
  if (x->h != P.in_rows || x->w != P.in_cols || P.in_rows <= 0 || P.in_cols <= 0) {
    storage = reshape_to_in_dim(net, L, P, *x);
    x = &storage;
  }
  if (P.pools || P.strides) {
    storage = pool(net, L, P, k, *x);
    x = &storage;
  }
  return *x;
}

void check_pooled(const Network& net, const Layer& L, const Tensor& t) {
  if (t.c != L.in_channels || t.h != L.pooled_dim[0] || t.w != L.pooled_dim[1])
    run_error(net, L.index,
              "input dimensions do not match: expected " + std::to_string(L.in_channels) + "x" +
                  std::to_string(L.pooled_dim[0]) + "x" + std::to_string(L.pooled_dim[1]) +
                  " after pooling, got " + t.shape_str() +
                  " (check in_channels, in_dim and the previous layer's output)");
}

Tensor convolve(const Layer& L, const LayerPlan& P, const KernelTable& k, const Tensor& pooled) {
  Tensor flat;
  const Tensor* in = &pooled;
  if (L.flatten) {
    flat.c = static_cast<int>(pooled.size());
    flat.h = flat.w = 1;
    flat.data = pooled.data;  // (only the flatten layers copy: their input is small)
    in = &flat;
  }
  if (P.prepared) return P.prepared->conv2d_output(*in, L.output_shift, P.wide, L.activation);
  const AccTensor acc = k.conv2d(*in, P.weights.data(), L.out_channels, P.bias128, P.geometry);
  return k.output_stage(acc, L.output_shift, P.wide, L.activation);
}

// The layer on int32 tensors: operands, pooling, the convolution.
Tensor run_layer(const Network& net, const Layer& L, const LayerPlan& P, const KernelTable& k,
                 const Tensor& gathered) {
  if (L.operands <= 1) {
    Tensor storage;
    const Tensor& pooled = shape_operand(net, L, P, k, gathered, storage);
    check_pooled(net, L, pooled);
    if (!P.conv) return pooled;
    return convolve(L, P, k, pooled);
  }
  std::vector<Tensor> ops = split_operands(net, L, gathered);
  if (!L.pool_first) ops = {k.eltwise(ops, L.eltwise, P.eltwise_wide)};
  for (Tensor& t : ops) {
    Tensor storage;
    if (&shape_operand(net, L, P, k, t, storage) == &storage) t = std::move(storage);
  }
  if (L.pool_first) {
    if (L.one_d() && (L.pool[0] > 1))
      run_error(net, L.index,
                "element-wise operands with 1-D pooling are not supported (izer fails here)");
    ops = {k.eltwise(ops, L.eltwise, P.eltwise_wide)};
  }
  const Tensor& pooled = ops[0];
  check_pooled(net, L, pooled);
  if (!P.conv) return pooled;
  return convolve(L, P, k, pooled);
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
Tensor run_layer_buffered(const Network& net, const Layer& L, const LayerPlan& P,
                          const KernelTable& k, const Tensor& gathered,
                          std::optional<Tensor>& buffer) {
  if (!L.buffer_shift) {
    Tensor out = run_layer(net, L, P, k, gathered);
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

// ---- the Fast set: the layer on activations in the kernels' byte layout ---------------------------

// Layers with fewer MACs run on one thread even when the sample is split (a hand-off to the
// other threads costs about as much as a million MACs take).
constexpr int64_t kParallelMacs = int64_t{1} << 20;

// Runs layer L in the byte layout into `out`. false (out untouched) where a step is not covered
// (element-wise operands, the data buffer, pixel concatenation, a reshape, izer's edge-case
// pooling, a convolution the SIMD kernels do not take, data that is not 8-bit): the caller
// then runs the layer on int32 tensors, which gives the same result or the error.
bool run_layer_act(const Network& net, const Layer& L, const LayerPlan& P, Workspace& ws,
                   LayerScratch& ls, ThreadPool* threads, Value& out) {
  if (L.operands > 1 || L.reads_buffer() || L.buffer_shift || L.buffer_insert) return false;
  fast::ActView in;
  if (L.in_sequences.size() <= 1) {
    const int index = L.in_sequences.empty() ? L.index : L.in_sequences[0] + 1;
    const fast::Act* a = ws.slot(net, L.index, index).as_act();
    if (!a) return false;
    in = a->view();
  } else {
    std::vector<fast::ActView> parts;
    for (int e : L.in_sequences) {
      const fast::Act* a = ws.slot(net, L.index, e + 1).as_act();
      if (!a) return false;
      parts.push_back(a->view());
      if (a->h != parts[0].h || a->w != parts[0].w) return false;  // pixel concatenation
    }
    fast::concat_channels_act(parts, ls.gathered);
    in = ls.gathered.view();
  }
  if (L.in_crop[0] != 0 || L.in_crop[1] != 0) {
    const KeptRows k = kept_rows(net, L, in.h);
    in.data += k.first * in.row();
    in.h = k.count;
  }
  if (in.h != P.in_rows || in.w != P.in_cols || in.h <= 0 || in.w <= 0)
    return false;  // a reshape to in_dim (C-order): on int32 tensors
  bool pooled_own = false;
  if (P.pools) {
    if (!fast::pool_act(in, ls.pooled, L.pool, L.pool_stride, L.pool_dilation, L.pool_average,
                        net.avg_pool_rounding, L.one_d()))
      return false;
    in = ls.pooled.view();
    pooled_own = true;
  } else if (P.strides) {
    if (!fast::subsample_act(in, ls.pooled, L.pool_stride)) return false;
    in = ls.pooled.view();
    pooled_own = true;
  }
  if (in.c != L.in_channels || in.h != L.pooled_dim[0] || in.w != L.pooled_dim[1]) return false;
  if (!P.conv) {
    if (pooled_own) {
      std::swap(out.act, ls.pooled);
    } else {
      out.act.reshape(in.c, in.h, in.w);
      std::copy(in.data, in.data + out.act.data.size(), out.act.data.begin());
    }
    out.has_act = true;
    return true;
  }
  const fast::PreparedConv* conv = nullptr;
  if (L.flatten) {
    // The pooled activations as one pixel, channels in HWC order (the weights are so ordered).
    if (!P.prepared_flat) return false;
    conv = &*P.prepared_flat;
    const int flat = in.h * in.w * in.cs;
    in = fast::ActView{in.data, flat, 1, 1, flat};
  } else {
    if (!P.prepared) return false;
    conv = &*P.prepared;
  }
  if (conv->in_channels() != in.c) return false;
  // Rows split over the threads only where a layer is large enough to repay the hand-off.
  ThreadPool* split = L.macs() >= kParallelMacs ? threads : nullptr;
  if (P.wide) {
    if (!conv->run_act_wide(in, L.output_shift, L.activation, out.tensor, ls.conv, split))
      return false;
    out.has_tensor = true;
  } else {
    if (!conv->run_act(in, L.output_shift, L.activation, out.act, ls.conv, split)) return false;
    out.has_act = true;
  }
  return true;
}

// The threads splitting one sample's layers, kept by the calling thread from run to run
// (nullptr for threads <= 1).
ThreadPool* sample_threads(int threads) {
  thread_local std::unique_ptr<ThreadPool> cached;
  if (threads <= 1) return nullptr;
  if (!cached || cached->threads() != threads) {
    cached.reset();
    try {
      cached = std::make_unique<ThreadPool>(threads);
    } catch (const std::system_error& e) {
      fail(ErrorKind::Input, "threads: cannot start " + std::to_string(threads - 1) +
                                 " more threads for one sample (" + e.what() +
                                 "); give fewer threads");
    }
  }
  return cached.get();
}

// ---- preparing ------------------------------------------------------------------------------------

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

// A flatten layer's weights for the byte layout: weight (o, c * P + q) -> (o, q * cs + c), the
// HWC order of the pooled activations. nullopt where the layout does not apply.
std::optional<fast::PreparedConv> prepare_flat(const Layer& L, const std::vector<int8_t>& w,
                                               const std::vector<int64_t>& bias128) {
  if (!L.flatten || L.groups != 1 || L.kernel != Dim2{1, 1} || L.in_channels <= 0)
    return std::nullopt;
  const int C = L.in_channels, P = L.pooled_dim[0] * L.pooled_dim[1];
  const int cs = fast::Act::stride_for(C);
  if (P <= 0 || static_cast<int64_t>(w.size()) != int64_t{L.out_channels} * C * P)
    return std::nullopt;
  std::vector<int8_t> hwc(static_cast<size_t>(L.out_channels) * P * cs, 0);
  for (int o = 0; o < L.out_channels; ++o)
    for (int c = 0; c < C; ++c)
      for (int q = 0; q < P; ++q)
        hwc[(static_cast<size_t>(o) * P + q) * cs + c] =
            w[(static_cast<size_t>(o) * C + c) * P + q];
  kernels::ConvGeometry g;
  g.kernel = {1, 1};
  g.pad_before = g.pad_after = {0, 0};
  return fast::PreparedConv(hwc.data(), L.out_channels, P * cs, bias128, g);
}

LayerPlan plan_layer(const Network& net, const Layer& L, KernelSet set) {
  LayerPlan P;
  P.in_rows = L.input_dim[0];
  P.in_cols = L.one_d() ? 1 : L.input_dim[1];
  P.pools = L.pool[0] > 1 || L.pool[1] > 1;
  P.strides = !P.pools && (L.pool_stride[0] != 1 || L.pool_stride[1] != 1);
  P.wide = L.output_width == 32;
  P.eltwise_wide = L.op == Operator::Passthrough && P.wide;
  P.conv = L.op != Operator::Passthrough;
  if (!P.conv) return P;
  const int in_c = L.weight_in_channels();
  if (L.groups > 1 && int64_t{L.out_channels} * (in_c / L.groups) > in_c)
    run_error(net, L.index, "groups: " + std::to_string(L.groups) + " groups with " +
                                std::to_string(L.out_channels) +
                                " output channels read past the input channels");
  P.geometry = geometry(L);
  std::vector<int8_t> w = layer_kernels(L, in_c);
  for (int64_t v : L.bias) P.bias128.push_back(v * 128);
  if (set == KernelSet::Fast) {
    P.prepared.emplace(w.data(), L.out_channels, in_c, P.bias128, P.geometry);
    P.prepared_flat = prepare_flat(L, w, P.bias128);
  } else {
    P.weights = std::move(w);
  }
  return P;
}

std::atomic<uint64_t> next_prepared_id{1};

}  // namespace

PreparedNetwork prepare_network(const Network& net, const kernels::KernelTable& kernels) {
  PreparedNetwork p;
  p.id = next_prepared_id.fetch_add(1);
  p.kernels = &kernels;
  p.layers.resize(net.layers.size());
  for (int ll : net.order) p.layers[ll] = plan_layer(net, net.layers[ll], kernels.set);
  return p;
}

PreparedNetwork prepare_network(const Network& net, KernelSet set) {
  return prepare_network(net, kernels::kernel_table(set));
}

RunResult run_network(const Network& net, const Tensor& input, bool keep_layers,
                      LayerHook* hook, const PreparedNetwork* prepared, int threads,
                      const Tensor* start) {
  // Without a prepared network: one for this run, with its own workspace.
  std::optional<PreparedNetwork> own;
  std::unique_ptr<Workspace> own_ws;
  if (!prepared) {
    own = prepare_network(net, net.kernels);
    prepared = &*own;
    own_ws = std::make_unique<Workspace>(prepared->id, net.layers.size());
  }
  if (prepared->layers.size() != net.layers.size() || !prepared->kernels)
    throw std::invalid_argument("run_network: the prepared network is not this network's");
  const KernelTable& k = *prepared->kernels;
  // The byte layout: the Fast set, when no hook needs to see the tensors.
  const bool bytes = k.set == KernelSet::Fast && !hook;
  ThreadPool* pool = bytes ? sample_threads(threads) : nullptr;

  RunResult result;
  if (keep_layers) result.layers.resize(net.layers.size());  // (else empty: no allocation)
  std::optional<Tensor> buffer = start_buffer(net, start);
  Workspace& ws = own_ws ? *own_ws : cached_workspace(*prepared, net);
  for (Value& v : ws.slots) v.clear();
  ws.slots[0].ext = &input;
  if (hook) hook->begin(net, input);  // data-memory hook
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    const LayerPlan& P = prepared->layers[ll];
    LayerScratch& ls = ws.layers[ll];
    Value& out = ls.out;
    out.clear();
    if (!bytes || !run_layer_act(net, L, P, ws, ls, pool, out)) {
      Tensor storage;
      const Tensor* gathered = &gather(net, L, ws, buffer, storage);
      if (hook) {  // data-memory hook: it may replace the input
        if (gathered != &storage) storage = *gathered;
        hook->before_layer(L, storage);
        gathered = &storage;
      }
      out.tensor = run_layer_buffered(net, L, P, k, *gathered, buffer);
      out.has_tensor = true;
    }
    if (hook) hook->after_layer(L, out.as_tensor());  // data-memory hook
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

}  // namespace ai8xsim
