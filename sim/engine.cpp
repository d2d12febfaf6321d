#include "sim/engine.h"

#include <algorithm>
#include <sstream>

#include "ai8xsim/error.h"
#include "kernels/kernels.h"

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
  explicit Slots(size_t layers) : slot_(layers + 1) {}
  void put(int index, Tensor t) { slot_.at(static_cast<size_t>(index)) = std::move(t); }
  const Tensor& get(const Network& net, int reader, int index) const {
    if (index < 0 || static_cast<size_t>(index) >= slot_.size() || !slot_[index])
      run_error(net, reader, "in_sequences: the data it reads (slot " + std::to_string(index) +
                                 ") has not been produced before this layer runs");
    return *slot_[index];
  }

 private:
  std::vector<std::optional<Tensor>> slot_;
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

Tensor gather_input(const Network& net, const Layer& L, const Slots& slots) {
  if (L.in_sequences.empty()) return slots.get(net, L.index, L.index);
  if (L.in_sequences.size() == 1) return slots.get(net, L.index, L.in_sequences[0] + 1);
  std::vector<const Tensor*> parts;
  for (int e : L.in_sequences) parts.push_back(&slots.get(net, L.index, e + 1));
  return concatenate(net, L, parts);
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
  Tensor in = pooled;
  if (L.flatten) in = pooled.reshaped(static_cast<int>(pooled.size()), 1, 1);
  const int in_per_group = in.c / L.groups;
  if (L.groups > 1 && int64_t{L.out_channels} * in_per_group > in.c)
    run_error(net, L.index, "groups: " + std::to_string(L.groups) + " groups with " +
                                std::to_string(L.out_channels) +
                                " output channels read past the input channels");
  const bool wide = L.output_width == 32;
  if (prepared && prepared->in_channels() == in.c)
    return prepared->conv2d_output(in, L.output_shift, wide, L.activation);
  const std::vector<int8_t> w = layer_kernels(L, in.c);
  const AccTensor acc = kernels::conv2d(in, w.data(), L.out_channels, bias_x128(L), geometry(L));
  return kernels::output_stage(acc, L.output_shift, wide, L.activation);
}

Tensor run_layer(const Network& net, const Layer& L, const Tensor& gathered,
                 const kernels::PreparedConv* prepared) {
  std::vector<Tensor> ops = split_operands(net, L, gathered);
  // An element-wise layer keeps 32 bits when it is pure element-wise with output_width 32.
  const bool elt_wide = L.op == Operator::Passthrough && L.output_width == 32;
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

}  // namespace

PreparedNetwork prepare_network(const Network& net) {
  PreparedNetwork p;
  p.convs.resize(net.layers.size());
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    if (!L.is_conv()) continue;
    const int in_c = L.weight_in_channels();
    const std::vector<int8_t> w = layer_kernels(L, in_c);
    p.convs[ll].emplace(w.data(), L.out_channels, in_c, bias_x128(L), geometry(L));
  }
  return p;
}

RunResult run_network(const Network& net, const Tensor& input, bool keep_layers,
                      LayerHook* hook, const PreparedNetwork* prepared) {
  RunResult result;
  result.layers.resize(net.layers.size());
  Slots slots(net.layers.size());
  slots.put(0, input);
  if (hook) hook->begin(net, input);  // data-memory hook
  Tensor last;
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    Tensor gathered = gather_input(net, L, slots);
    if (hook) hook->before_layer(L, gathered);  // data-memory hook
    const kernels::PreparedConv* prep =
        prepared && prepared->convs[ll] ? &*prepared->convs[ll] : nullptr;
    Tensor out = run_layer(net, L, gathered, prep);
    if (hook) hook->after_layer(L, out);  // data-memory hook
    if (keep_layers) result.layers[ll] = out;
    if (L.next == -1) {
      last = std::move(out);
      break;
    }
    slots.put(L.next, std::move(out));
  }
  result.output = std::move(last);
  return result;
}

}  // namespace ai8xsim
