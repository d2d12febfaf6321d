#include "sim/model/checks.h"

#include <algorithm>
#include <bitset>
#include <cstdio>
#include <sstream>

#include "ai8xsim/device.h"
#include "sim/memory/kernelmem.h"
#include "sim/memory/overlap.h"

namespace ai8xsim {

namespace {

int popcount(uint64_t v) { return static_cast<int>(std::bitset<64>(v).count()); }
int ffs(uint64_t v) {  // index of the lowest set bit (-1 for none)
  for (int i = 0; i < 64; ++i)
    if (v >> i & 1) return i;
  return -1;
}
std::string hex16(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%016llx", static_cast<unsigned long long>(v));
  return b;
}
std::string hex4(int64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%04llx", static_cast<long long>(v));
  return b;
}
std::string plural(int n, const std::string& word, const std::string& suffix = "s") {
  return std::to_string(n) + " " + word + (n == 1 ? "" : suffix);
}

class Checker {
 public:
  Checker(const Network& net, bool memory)
      : net_(net), spec_(device_spec(net.device)), memory_(memory) {}

  std::vector<Violation> run() {
    network_rules();
    for (const Layer& L : net_.layers)
      if (ran(L.index)) layer_rules(L);
    for (const Layer& L : net_.layers)
      if (ran(L.index)) processor_rules(L);
    // Kernel and bias memory: izer's allocators run after the processor checks.
    if (out_.empty() && memory_)
      for (Violation& v : memory_violations(net_)) out_.push_back(std::move(v));
    // izer finds these while simulating, after every rule above: the input loader's own
    // overwrites, then per layer its input channels and its output's overlaps (sim/memory/overlap.h;
    // with the memory checks).
    const std::vector<Violation> overlaps =
        memory_ ? overlap_violations(net_) : std::vector<Violation>{};
    for (const Violation& v : overlaps)
      if (v.rule == "input-overwrite") out_.push_back(v);
    for (int ll : net_.order) {
      input_channels_rule(net_.layers[ll]);
      for (const Violation& v : overlaps)
        if (v.layer == ll && v.rule != "input-overwrite") out_.push_back(v);
    }
    return std::move(out_);
  }

 private:
  bool ran(int ll) const {
    return std::find(net_.order.begin(), net_.order.end(), ll) != net_.order.end();
  }

  void add(int layer, const std::string& rule, const std::string& resource,
           const std::string& what, int64_t needed = 0, int64_t available = 0) {
    Violation v;
    v.layer = layer;
    v.rule = rule;
    v.resource = resource;
    v.needed = needed;
    v.available = available;
    v.message = (layer >= 0 ? "layer " + std::to_string(layer) + ": " : std::string()) + what;
    out_.push_back(std::move(v));
  }

  void unsupported(int layer, const std::string& feature, const std::string& hint) {
    add(layer, "device-feature", "device feature",
        feature + " is not supported on " + device_name(net_.device) + hint);
  }

  // ---- whole-network rules (izer's backend, before its layer loops) --------------------------
  void network_rules() {
    const Layer& first = net_.layers[net_.order.front()];
    for (const Layer& L : net_.layers) {
      if (L.readahead && !spec_.support_read_ahead) {
        unsupported(L.index, "`readahead`", " (MAX78002 only)");
        break;
      }
    }
    for (const Layer& L : net_.layers) {
      if (L.calcx4 && !spec_.support_calcx4) {
        unsupported(L.index, "`calcx4`", " (MAX78002 only)");
        break;
      }
    }
    fifo_rules(first);
    streaming_rules();
    for (int ll : net_.order)
      if (net_.layers[ll].bypass && !spec_.support_kernel_bypass) {
        unsupported(ll, "kernel `bypass`", " (MAX78002 only)");
        break;
      }
    for (int ll : net_.order)
      if (net_.layers[ll].quantization == -1 && !spec_.support_binary_weights) {
        unsupported(ll, "binary weights (quantization: binary, -1/+1)", " (MAX78002 only)");
        break;
      }
    int hw_layers = static_cast<int>(net_.layers.size());
    for (int ll : net_.order)
      if (avgpool_reset_layer(net_.layers[ll])) ++hw_layers;
    if (hw_layers > spec_.max_layers)
      add(-1, "layers", "layers",
          "the network needs " + std::to_string(hw_layers) + " hardware layers" +
              " (including the passthrough layers MAX78002 inserts after element-wise layers "
              "followed by average pooling); the device has " +
              std::to_string(spec_.max_layers),
          hw_layers, spec_.max_layers);
  }

  bool avgpool_reset_layer(const Layer& L) const {
    return spec_.require_passthrough_avgpool_after_eltwise && L.index > 0 && L.prev >= 0 &&
           net_.layers[L.prev].operands > 1 && L.pool_average;
  }

  void fifo_rules(const Layer& first) {
    const NetworkOptions& o = net_;
    if (!o.fifo) {
      if (first.streaming)
        add(first.index, "streaming-fifo", "FIFO",
            "streaming in the first layer requires the input FIFOs: run with --fifo");
      return;
    }
    const int in_c = first.in_channels * first.operands;
    if (in_c > 16 || (first.big_data && in_c > 4))
      add(first.index, "fifo-channels", "FIFO",
          "the FIFOs carry at most 4 channels (CHW) or 16 channels (HWC); this input has " +
              std::to_string(in_c),
          in_c, first.big_data ? 4 : 16);
    const uint64_t allowed = first.big_data ? 0x0001000100010001ull : 0x000f000f000f000full;
    if (first.processors & ~allowed)
      add(first.index, "fifo-processors", "processors",
          "with --fifo the first layer may use processors 0, 16, 32, 48 (CHW) or 0-3, 16-19, "
          "32-35, 48-51 (HWC); `processors` is " + hex16(first.processors));
    if (o.fast_fifo) {
      if (first.big_data && in_c > 1)
        add(first.index, "fast-fifo", "FIFO", "the fast FIFO carries one CHW channel only");
      if (!first.big_data && in_c > 4)
        add(first.index, "fast-fifo", "FIFO", "the fast FIFO carries at most 4 HWC channels");
      if (first.output_width != 8)
        add(first.index, "fast-fifo", "FIFO", "the fast FIFO needs output_width 8");
      if (!first.is_conv())
        add(first.index, "fast-fifo", "FIFO", "the fast FIFO needs a convolution in layer 0");
    }
  }

  void streaming_rules() {
    int counted = 0;
    for (int ll : net_.order) {
      if (counted++ > spec_.max_stream_layers) break;
      const Layer& L = net_.layers[ll];
      if (!L.streaming) continue;
      if (L.next != -1 && L.next != ll + 1)
        add(ll, "streaming-next", "layer sequence",
            "a streaming layer must be followed by layer " + std::to_string(ll + 1) +
                "; next_sequence is " + std::to_string(L.next));
      const bool last_streaming = L.next == -1 || !net_.layers[L.next].streaming;
      const bool padded = !(L.padding[0] == 0 || L.padding[1] == 0) ||
                          (L.kernel[0] == 1 && L.kernel[1] == 1 &&
                           spec_.emulate_1x1_streaming &&
                           (L.op == Operator::Conv2d || L.op == Operator::ConvTranspose2d));
      if (!spec_.support_stream_nonpad_final && last_streaming && !padded)
        add(ll, "streaming-pad", "padding",
            "pad: found " + std::to_string(L.padding[0]) +
                "; the last streaming layer needs a non-zero pad on this device");
      if (!spec_.support_streaming_passthrough && !L.is_conv())
        add(ll, "streaming-passthrough", "device feature",
            "passthrough layers cannot stream on this device");
    }
  }

  // ---- per-layer rules (izer's first layer loop) -------------------------------------------
  void layer_rules(const Layer& L) {
    const int ll = L.index;
    const LayerPasses p = layer_passes(net_, L);
    if (L.quantization == 1 && any_binary())
      add(ll, "quantization", "weights", "binary and 1-bit weights cannot be combined");
    if (L.big_data) chw_instance_rule(L);
    data_memory_input_rule(L, p);
    if (L.one_d()) {
      if (L.operands > 1)
        add(ll, "conv1d-eltwise", "operator",
            "element-wise operations cannot be combined with Conv1d");
      if (!spec_.support_multipass_padded_conv1d && L.padding[0] > 0 && p.in_expand > 1)
        add(ll, "conv1d-multipass-pad", "padding",
            "pad: found " + std::to_string(L.padding[0]) + "; this device does not support "
            "padded Conv1d with input expansion > 1 (" + std::to_string(L.in_channels) +
            " input channels need " + plural(p.in_expand, "pass", "es") + ")");
    }
    if (!L.pool_first && L.operands > spec_.max_pool_last_elements &&
        (L.pool[0] > 1 || L.pool[1] > 1))
      add(ll, "pool-last-operands", "operands",
          "pool_first: False supports at most " + std::to_string(spec_.max_pool_last_elements) +
              " element-wise operands; found " + std::to_string(L.operands));
    dilation_rules(L);
    data_memory_output_rule(L, p);
    if (!L.is_conv()) passthrough_rules(L, p);
    else conv_rules(L);
    if (L.read_gap != 0 && !spec_.support_multipass_stride)
      add(ll, "read-gap", "device feature",
          "read_gap: found " + std::to_string(L.read_gap) + "; must be 0 on this device");
    else if (L.read_gap != 0 && p.in_expand > 1 && !spec_.support_multipass_read_stride)
      add(ll, "read-gap", "device feature",
          "read_gap: found " + std::to_string(L.read_gap) +
              "; must be 0 with more than 64 channels (multi-pass) on this device");
    for (int d : L.pool_dilation)
      if (d < 1 || d > spec_.max_pool_dilation) {
        add(ll, "pool-dilation", "pooling",
            "pool_dilation: found " + std::to_string(d) + "; allowed on this device: 1.." +
                std::to_string(spec_.max_pool_dilation));
        break;
      }
    eltwise_map_rule(L);
    if (L.output_width != 8 && !L.is_conv())
      add(ll, "passthrough-width", "output width",
          "output_width: found 32; a passthrough layer writes 8-bit data");
  }

  bool any_binary() const {
    for (int ll : net_.order)
      if (net_.layers[ll].quantization == -1) return true;
    return false;
  }

  void chw_instance_rule(const Layer& L) {
    uint64_t p = L.processors >> (ffs(L.processors) & ~(spec_.p_shared - 1));
    for (; p; p >>= spec_.p_shared)
      if (popcount(p & (spec_.p_shared - 1)) > 1) {
        add(L.index, "chw-processors", "processors",
            "data_format CHW puts one channel per memory instance, but `processors` " +
                hex16(L.processors) + " has several channels in one instance");
        return;
      }
  }

  void data_memory_input_rule(const Layer& L, const LayerPasses& p) {
    const int64_t in_size = input_data_size(net_, L);
    const int64_t limit = spec_.instance_bytes();
    if (!L.streaming && in_size + L.in_offset > limit)
      add(L.index, "data-memory-input", "data memory instance",
          std::string(L.big_data ? "1 channel/word " : "4 channels/word ") +
              std::to_string(L.input_dim[0]) + "x" + std::to_string(L.input_dim[1]) +
              " input (size " + std::to_string(in_size) + ") at in_offset " +
              hex4(L.in_offset) + " with " + plural(p.in_expand, "pass", "es") +
              " exceeds the data memory instance size of " + std::to_string(limit) + " by " +
              std::to_string(in_size + L.in_offset - limit),
          in_size + L.in_offset, limit);
  }

  // Dilated Conv1d: stretched kernels up to 9 taps, or the Conv2d hardware for longer spans.
  void dilation_rules(const Layer& L) {
    const int ll = L.index;
    if (L.dilation[0] <= 1) return;
    if (!L.one_d()) {
      add(ll, "dilation", "operator", "dilation: found " + std::to_string(L.dilation[0]) +
                                          "; dilation > 1 is supported for Conv1d only");
      return;
    }
    if (L.kernel[0] == 1)
      add(ll, "dilation", "kernel", "dilation > 1 needs a kernel longer than 1");
    if ((L.kernel[0] - 1) * L.dilation[0] < 9) return;
    if (L.kernel[0] > spec_.max_dilation_1d_kernel) {
      add(ll, "dilation", "kernel",
          "kernel_size: found " + std::to_string(L.kernel[0]) + "; dilation " +
              std::to_string(L.dilation[0]) + " needs a kernel of at most " +
              std::to_string(spec_.max_dilation_1d_kernel));
      return;
    }
    if (L.pool[0] != 1) add(ll, "dilation", "pooling", "dilation > 4 needs pooling 1");
    if (L.padding[0] > spec_.max_dilation_1d_pad)
      add(ll, "dilation", "padding",
          "pad: found " + std::to_string(L.padding[0]) + "; dilation > 4 allows at most " +
              std::to_string(spec_.max_dilation_1d_pad));
    if (L.operands != 1) add(ll, "dilation", "operands", "dilation > 4 needs one operand");
    if (L.bypass || L.flatten || L.readahead || L.streaming)
      add(ll, "dilation", "operator",
          "bypass, flatten, readahead and streaming must be off to use dilation > 4");
    if (L.dilation[0] > spec_.max_dilation_1d)
      add(ll, "dilation", "operator",
          "dilation: found " + std::to_string(L.dilation[0]) + "; at most " +
              std::to_string(spec_.max_dilation_1d));
    const LayerPasses p = layer_passes(net_, L);
    if (L.kernel[0] == 3 && L.out_offset < 4 * L.dilation[0] * p.out_expand)
      add(ll, "dilation", "data memory",
          "out_offset: found " + hex4(L.out_offset) + "; dilation " +
              std::to_string(L.dilation[0]) + " needs at least " +
              hex4(4 * L.dilation[0] * p.out_expand));
  }

  int terminating_layer() const { return net_.final_layer; }

  void data_memory_output_rule(const Layer& L, const LayerPasses& p) {
    const int64_t out_size = output_data_size(net_, L);
    const int64_t limit = spec_.instance_bytes();
    if ((!L.streaming || L.index == terminating_layer()) && out_size + L.out_offset > limit)
      add(L.index, "data-memory-output", "data memory instance",
          "HWC (4 channels/word) " + std::to_string(L.output_width) + "-bit " +
              std::to_string(L.output_dim[0]) + "x" + std::to_string(L.output_dim[1]) +
              " output (size " + std::to_string(out_size) + ") at out_offset " +
              hex4(L.out_offset) + " with " + plural(p.out_expand, "pass", "es") +
              " exceeds the data memory instance size of " + std::to_string(limit) + " by " +
              std::to_string(out_size + L.out_offset - limit),
          out_size + L.out_offset, limit);
  }

  void passthrough_rules(const Layer& L, const LayerPasses& p) {
    if (L.output_shift != 0)
      add(L.index, "passthrough-shift", "output shift",
          "output_shift: found " + std::to_string(L.output_shift) +
              "; must be 0 for a passthrough layer");
    const bool pooling = L.pool[0] > 1 || L.pool[1] > 1;
    if (pooling && p.in_expand > spec_.max_pool_passes &&
        (L.pooled_dim[0] > 1 || L.pooled_dim[1] > 1))
      add(L.index, "passthrough-pool-passes", "passes",
          "pooling in a passthrough layer uses " + plural(p.in_expand, "pass", "es") +
              " (" + std::to_string(L.in_channels) + " channels), which exceeds the maximum of " +
              std::to_string(spec_.max_pool_passes) + " on this device",
          p.in_expand, spec_.max_pool_passes);
    if (L.flatten)
      add(L.index, "flatten", "operator", "flatten needs a convolution (not a passthrough)");
  }

  void conv_rules(const Layer& L) {
    const int ll = L.index;
    if (L.op == Operator::ConvTranspose2d) {
      auto supported = [](const std::vector<int>& v, int x) {
        return std::find(v.begin(), v.end(), x) != v.end();
      };
      for (int a = 0; a < 2; ++a) {
        const int hw_pad = L.dilation[a] * (L.kernel[a] - 1) - L.padding[a];
        if (!supported(spec_.supported_x2d_pads, hw_pad)) {
          add(ll, "convtranspose-pad", "padding",
              "pad: found " + std::to_string(L.padding[a]) +
                  "; not supported for ConvTranspose2d on this device");
          break;
        }
      }
      for (int a = 0; a < 2; ++a)
        if (!supported(spec_.supported_x2d_output_pads, L.output_padding[a])) {
          add(ll, "convtranspose-output-pad", "padding",
              "output_pad: found " + std::to_string(L.output_padding[a]) +
                  "; not supported for ConvTranspose2d on this device");
          break;
        }
    } else if (L.output_padding[0] != 0 || L.output_padding[1] != 0) {
      add(ll, "output-pad", "padding", "output_pad must be 0 for this operator");
    }
    if (L.in_channels % L.groups != 0 || L.out_channels % L.groups != 0)
      add(ll, "groups", "channels",
          "groups: " + std::to_string(L.groups) + " does not divide the input (" +
              std::to_string(L.in_channels) + ") or output (" +
              std::to_string(L.out_channels) + ") channels");
    if (L.flatten && (L.pool[0] > 1 || L.pool[1] > 1))
      add(ll, "flatten", "pooling", "flatten cannot be combined with pooling");
    if (L.flatten && L.streaming)
      add(ll, "flatten", "streaming", "flatten cannot be combined with streaming");
    if (L.groups > 1) {
      if (!spec_.support_depthwise)
        add(ll, "groups", "device feature",
            "groups: found " + std::to_string(L.groups) +
                "; convolution groups > 1 (depthwise) are not supported on " +
                device_name(net_.device) + " (MAX78002 only)");
      if (L.groups != L.in_channels || L.groups != L.out_channels)
        add(ll, "groups", "channels",
            "groups: found " + std::to_string(L.groups) +
                "; depthwise convolutions need groups = input channels (" +
                std::to_string(L.in_channels) + ") = output channels (" +
                std::to_string(L.out_channels) + ")");
      if (L.flatten) add(ll, "groups", "operator", "groups > 1 cannot be combined with flatten");
      if (L.bias_group)
        add(ll, "groups", "bias", "bias_group is not supported for depthwise layers");
    }
  }

  void eltwise_map_rule(const Layer& L) {
    if (L.in_sequences.empty() || L.operands <= 1) return;
    uint64_t seen = 0;
    for (int lt : L.in_sequences) {
      const uint64_t emap = lt == -1 ? net_.layers[net_.order.front()].processors
                                     : net_.layers[lt].output_processors;
      if (seen != 0 && seen != emap) {
        add(L.index, "eltwise-processors", "processors",
            "in_sequences: the element-wise inputs were written by different output processor "
            "maps (" + hex16(seen) + " vs " + hex16(emap) + " of layer " + std::to_string(lt) +
            ")");
        return;
      }
      seen = emap;
    }
  }

  // The channels the layer's input data holds once reshaped to in_dim, against in_channels.
  void input_channels_rule(const Layer& L) {
    std::vector<int> sources = L.in_sequences;
    if (sources.empty()) sources = {L.prev};
    int64_t elements = 0;
    int rows = 0;
    // A layer reading the data buffer reads it through its in_dim (a buffer shift reads part
    // of it); izer's simulation then checks the shape against in_channels.
    if (L.reads_buffer()) return;
    for (int e : sources) {
      const bool input = e < 0;
      const int c = input ? net_.input.c : net_.layers[e].out_channels;
      const int h = input ? net_.input.h : net_.layers[e].output_dim[0];
      const int w = input ? net_.input.w : net_.layers[e].output_dim[1];
      elements += int64_t{c} * h * w;
      rows = h;
    }
    elements /= std::max(L.operands, 1);
    if ((L.in_crop[0] || L.in_crop[1]) && rows > 0)
      elements = elements / rows * (rows - L.in_crop[0] - L.in_crop[1]);
    const int64_t area = int64_t{L.input_dim[0]} * (L.one_d() ? 1 : L.input_dim[1]);
    if (area <= 0 || elements % area != 0 || elements / area != L.in_channels)
      add(L.index, "input-channels", "channels",
          "input dimensions do not match: the layer expects " +
              plural(L.in_channels, "input channel") + " of " +
              std::to_string(L.input_dim[0]) + "x" + std::to_string(L.input_dim[1]) +
              ", its input holds " + std::to_string(elements) +
              " values per operand (check in_channels, in_dim and the layer before it)",
          L.in_channels, area > 0 ? elements / area : 0);
  }

  // ---- processor maps (izer's second layer loop) -------------------------------------------
  void processor_rules(const Layer& L) {
    const int ll = L.index;
    const LayerPasses p = layer_passes(net_, L);
    const std::string fl = L.flatten ? " (before flattening)" : "";
    if (L.in_channels > spec_.max_channels)
      add(ll, "channels", "channels",
          std::to_string(L.in_channels) + " input channels" + fl + " exceed the maximum of " +
              std::to_string(spec_.max_channels),
          L.in_channels, spec_.max_channels);
    if (L.out_channels > spec_.max_channels)
      add(ll, "channels", "channels",
          std::to_string(L.out_channels) + " output channels exceed the maximum of " +
              std::to_string(spec_.max_channels),
          L.out_channels, spec_.max_channels);
    const bool quad = net_.fast_fifo && false;
    if (!quad && popcount(L.processors) != p.in_expand_thresh)
      add(ll, "processors", "processors",
          plural(L.in_channels, "input channel") + fl + " using " +
              plural(p.in_expand, "pass", "es") + " and " + plural(L.operands, "operand") +
              " need " + std::to_string(p.in_expand_thresh) +
              " processors per pass, but `processors` " + hex16(L.processors) + " enables " +
              std::to_string(popcount(L.processors)),
          p.in_expand_thresh, popcount(L.processors));
    if (popcount(L.output_processors) != p.out_expand_thresh)
      add(ll, "output-processors", "processors",
          plural(L.out_channels, "output channel") + " using " +
              plural(p.out_expand, "pass", "es") + " need " +
              std::to_string(p.out_expand_thresh) +
              " processors per pass, but `output_processors` " + hex16(L.output_processors) +
              " enables " + std::to_string(popcount(L.output_processors)) +
              next_layer_processors(L),
          p.out_expand_thresh, popcount(L.output_processors));
    if (!L.is_conv()) packed_passthrough_rule(L);
    if (L.groups > 1) depthwise_alignment_rule(L);
    if (spec_.emulate_eltwise_mp && L.operands > 1 && p.in_expand > 1 &&
        L.operands * p.in_expand != L.operands + p.in_expand &&
        (L.is_conv() || L.pool[0] > 1 || L.pool[1] > 1 || L.pool_stride[0] > 1 ||
         L.pool_stride[1] > 1))
      add(ll, "eltwise-multipass", "passes",
          "the element-wise operation uses " + plural(p.in_expand, "pass", "es") +
              " (more than 2) and so cannot be combined with pooling or convolution on "
              "this device");
  }

  // Where a layer's output processors came from when they are the next layer's `processors`
  // (izer's default when the YAML gives no `output_processors`).
  std::string next_layer_processors(const Layer& L) const {
    if (L.next < 0 || L.index == net_.final_layer ||
        net_.layers[L.next].processors != L.output_processors)
      return "";
    return " (the `processors` of layer " + std::to_string(L.next) +
           ", which reads this output, as no `output_processors` is given)";
  }

  void packed_passthrough_rule(const Layer& L) {
    const int n = spec_.p_numpro;
    const uint64_t group_mask = (uint64_t{1} << n) - 1;
    for (int g = 0; g < spec_.p_numgroups; ++g) {
      const uint64_t in_pro = (uint64_t{1} << popcount(L.processors >> (g * n) & group_mask)) - 1;
      uint64_t out_pro = L.output_processors >> (g * n) & group_mask;
      if (out_pro != 0) out_pro >>= ffs(out_pro);
      if (out_pro != in_pro) {
        add(L.index, "passthrough-processors", "processors",
            "the output processors of a passthrough layer must be a packed version of the "
            "input processors in each group of 16: processors " + hex16(L.processors) +
            ", output_processors " + hex16(L.output_processors));
        return;
      }
    }
  }

  void depthwise_alignment_rule(const Layer& L) {
    if (ffs(L.output_processors) % spec_.p_shared != 0)
      add(L.index, "depthwise-processors", "processors",
          "output_processors of a depthwise convolution must start at a multiple of 4: " +
              hex16(L.output_processors));
    const int first = ffs(L.processors);
    if (first % spec_.p_shared != 0 && (L.processors >> first) >> spec_.p_numpro > 0)
      add(L.index, "depthwise-processors", "processors",
          "a depthwise convolution spanning groups must start at a processor that is a "
          "multiple of 4: " + hex16(L.processors));
  }

  const Network& net_;
  const DeviceSpec& spec_;
  bool memory_ = true;
  std::vector<Violation> out_;
};

}  // namespace

LayerPasses layer_passes(const Network& net, const Layer& L) {
  const DeviceSpec& spec = device_spec(net.device);
  auto round_up_shared = [&](int v) {
    return std::min((v + spec.p_shared - 1) & ~(spec.p_shared - 1), spec.max_proc);
  };
  LayerPasses p;
  p.out_expand = (L.out_channels + spec.max_proc - 1) / spec.max_proc;
  p.out_expand_thresh = (L.out_channels + p.out_expand - 1) / std::max(p.out_expand, 1);
  if (L.out_channels > spec.max_proc) p.out_expand_thresh = round_up_shared(p.out_expand_thresh);
  p.in_expand = (L.in_channels + spec.max_proc - 1) / spec.max_proc;
  p.in_expand_thresh = (L.in_channels + p.in_expand - 1) / std::max(p.in_expand, 1);
  if (L.in_channels > spec.max_proc) p.in_expand_thresh = round_up_shared(p.in_expand_thresh);
  return p;
}

// The extra output pixels a long dilated Conv1d writes when it runs on the Conv2d hardware.
static int dilated_conv1d_out_pad(const Layer& L) {
  if (!L.one_d() || L.dilation[0] <= 1 || (L.kernel[0] - 1) * L.dilation[0] < 9) return 0;
  const int rows = (L.input_dim[0] + L.dilation[0] - 1) / L.dilation[0];
  return rows * L.dilation[0] - L.output_dim[0];
}

int64_t input_data_size(const Network& net, const Layer& L) {
  return int64_t{L.input_dim[0]} * L.input_dim[1] * layer_passes(net, L).in_expand *
         L.operands * (L.big_data ? 1 : 4);
}

int64_t output_data_size(const Network& net, const Layer& L) {
  return (int64_t{L.output_dim[0]} * L.output_dim[1] + dilated_conv1d_out_pad(L)) *
         layer_passes(net, L).out_expand * 4 * L.output_width / 8;
}

std::vector<Violation> find_violations(const Network& net, bool memory) {
  return Checker(net, memory).run();
}

}  // namespace ai8xsim
