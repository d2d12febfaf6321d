#include "ai8xsim/network.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "ai8xsim/error.h"
#include "sim/model/checkpoint.h"
#include "sim/model/checks.h"
#include "ai8xsim/device.h"

namespace ai8xsim {

int64_t Layer::macs() const {
  if (!is_conv()) return 0;
  const int64_t per_output =
      int64_t{weight_in_channels() / groups} * kernel[0] * kernel[1];
  return per_output * out_channels * output_dim[0] * output_dim[1];
}

bool Layer::reads_buffer() const {
  return std::find(in_sequences.begin(), in_sequences.end(), kBufferSequence) !=
         in_sequences.end();
}

int64_t Network::total_macs() const {
  int64_t total = 0;
  for (int ll : order) total += layers[ll].macs();
  return total;
}

namespace {

std::string dim_str(const Dim2& d) {
  return "[" + std::to_string(d[0]) + ", " + std::to_string(d[1]) + "]";
}

class Resolver {
 public:
  Resolver(const NetworkConfig& cfg, const std::vector<LayerWeights>& weights,
           const InputShape& input, const ResolveOptions& opt)
      : cfg_(cfg), weights_(weights), input_(input), opt_(opt), spec_(device_spec(opt.device)) {}

  Network run() {
    net_.config_file = cfg_.file;
    static_cast<NetworkOptions&>(net_) = opt_;
    net_.input = input_;
    copy_yaml_parameters();
    apply_weights();
    if (opt_.enforce_limits) refuse_depthwise_early();
    check_buffer_layers();
    in_from_weights_.assign(cfg_.layers.size(), false);
    try {
      establish_sequence();
    } catch (const Error& e) {
      // A sample with the wrong channel count makes every later layer's channels disagree with
      // its weights; say so rather than blame the layer where the counts stopped adding up.
      // (Other refusals of the trace, such as next_sequence on MAX78000, keep their message.)
      if (e.kind() == ErrorKind::Checkpoint) refuse_mismatched_input();
      throw;
    }
    check_final_layer();
    if (opt_.enforce_limits) {
      const std::vector<Violation> v = find_violations(net_);
      if (!v.empty()) fail(ErrorKind::Capacity, where(v.front().layer) + v.front().message);
    }
    return std::move(net_);
  }

 private:
  // "file:line: " of a layer's YAML entry ("file: " for the whole network).
  std::string where(int ll) const {
    std::string s = cfg_.file;
    if (ll >= 0 && ll < static_cast<int>(cfg_.layers.size()) && cfg_.layers[ll].yaml_line > 0)
      s += ":" + std::to_string(cfg_.layers[ll].yaml_line);
    return s + ": ";
  }

  // The network input against what the first layer reads: its `in_channels` when given, else
  // the channels its `processors` take in one pass (up to 64).
  void refuse_mismatched_input() const {
    if (cfg_.layers.empty() || cfg_.layers[0].in_sequences) return;
    const LayerConfig& lc = cfg_.layers[0];
    const int operands = std::max(lc.operands, 1);
    const int procs = static_cast<int>(__builtin_popcountll(lc.processors));
    std::string reads;
    int expected = 0;
    if (lc.in_channels) {
      expected = *lc.in_channels * operands;
      reads = "`in_channels: " + std::to_string(*lc.in_channels) + "`";
    } else if (procs < spec_.max_proc && input_.c <= spec_.max_proc * operands) {
      expected = procs * operands;
      reads = "`processors` 0x" + hex64(lc.processors) + " (" + std::to_string(procs) +
              " processor" + (procs == 1 ? "" : "s") + ", one channel each)";
    }
    if (expected == 0 || expected == input_.c) return;
    const std::string shape = std::to_string(input_.c) + "x" + std::to_string(input_.h) +
                              (lc.op == Operator::Conv1d ? "" : "x" + std::to_string(input_.w));
    layer_error(0, ErrorKind::Input,
                "the sample input has " + std::to_string(input_.c) + " channels (shape " +
                    shape + "), but layer 0 reads " + std::to_string(expected) + " by its " +
                    reads + "; give a sample with " + std::to_string(expected) + " channel" +
                    (expected == 1 ? "" : "s") + " (" + std::to_string(expected) +
                    shape.substr(shape.find('x')) + "), or the YAML and checkpoint written for "
                    "this data");
  }

  static std::string hex64(uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
  }

  // izer refuses `groups` > 1 on a device without depthwise convolutions among its checks that
  // need no shapes (docs/izer-checks.md C7), before it traces channels and dimensions; here the
  // channel trace would otherwise fail first, on channel counts that only make sense for a
  // depthwise layer. The earlier rules of that list (readahead, calcx4, bypass, binary weights,
  // next_sequence) and izer's streaming rules keep their place: when one of them may apply, the
  // usual order reports it.
  void refuse_depthwise_early() const {
    if (spec_.support_depthwise) return;
    for (size_t i = 0; i < cfg_.layers.size(); ++i) {
      const Layer& L = net_.layers[i];
      const LayerConfig& lc = cfg_.layers[i];
      if (L.readahead || L.calcx4 || L.bypass || L.quantization == -1 || L.streaming ||
          (lc.next_sequence && *lc.next_sequence != -1 &&
           *lc.next_sequence != static_cast<int>(i) + 1))
        return;
    }
    for (const Layer& L : net_.layers)
      if (L.groups > 1 && L.is_conv())
        layer_error(L.index, ErrorKind::Capacity,
                    "groups: found " + std::to_string(L.groups) +
                        "; convolution groups > 1 (depthwise) are not supported on " +
                        device_name(opt_.device) + " (MAX78002 only)");
  }

  [[noreturn]] void layer_error(int ll, ErrorKind kind, const std::string& what) const {
    std::ostringstream m;
    m << cfg_.file;
    if (ll >= 0 && ll < static_cast<int>(cfg_.layers.size()) && cfg_.layers[ll].yaml_line > 0)
      m << ":" << cfg_.layers[ll].yaml_line;
    m << ": layer " << ll << ": " << what;
    fail(kind, m.str());
  }

  // izer's YAML defaults give every layer without `pad` one shared [1, 1] list, and a Conv1d
  // layer without `pad` sets its second element to 0: every default-padded layer then pads
  // [1, 0]. Reproduced because izer's results (and so its KAT) depend on it.
  bool shared_default_pad_mutated() const {
    for (const auto& lc : cfg_.layers)
      if (lc.op == Operator::Conv1d && !lc.padding_given && uses_shared_default_pad(lc))
        return true;
    return false;
  }
  static bool uses_shared_default_pad(const LayerConfig& lc) {
    // `op: add` and friends (passthrough), Linear and passthrough set their own [0, 0].
    return !lc.padding_given && lc.op != Operator::Passthrough && lc.op != Operator::Linear;
  }

  // YAML features izer has that ai8xsim does not simulate: refused, never silently ignored.
  void refuse_unsimulated_features() const {
    for (size_t i = 0; i < cfg_.layers.size(); ++i)
      if (cfg_.layers[i].simulated_sequence)
        layer_error(static_cast<int>(i), ErrorKind::Config,
                    "`simulated_sequence`: ai8xsim does not simulate this izer test feature "
                    "yet; remove it to simulate the network");
  }

  // izer's rules for the rolling data buffer (yamlcfg.py, izer.py, its simulation), and the
  // combinations izer's simulation cannot run (it crashes or mixes up the buffer's axes), which
  // ai8xsim refuses with a message.
  void check_buffer_layers() const {
    const std::string name =
        cfg_.data_buffer ? "`" + cfg_.data_buffer->name + "`" : std::string("the data buffer");
    if (net_.buffer && net_.buffer->channels > __builtin_popcountll(net_.buffer->processors))
      fail(ErrorKind::Config,
           cfg_.file + ":" + std::to_string(net_.buffer->yaml_line) + ": `data_buffer` entry 0: "
           "key `channels`: found " + std::to_string(net_.buffer->channels) + " for " +
           std::to_string(__builtin_popcountll(net_.buffer->processors)) +
           " processors; allowed: at most one channel per processor of `processors` (ai8xsim "
           "lays the buffer out in one pass)");
    for (const Layer& L : net_.layers) {
      const bool reads = L.reads_buffer();
      if ((reads || L.buffer_shift || L.buffer_insert) && !net_.buffer) {
        const std::string key = reads ? "in_sequences" : L.buffer_shift ? "buffer_shift"
                                                                        : "buffer_insert";
        layer_error(L.index, ErrorKind::Config,
                    key + ": the layer uses the data buffer, but the file has no `data_buffer` "
                          "entry; add one (processors, dim, channels, offset, name)");
      }
      if (reads && (L.in_sequences.size() != 1 || L.operands > 1))
        layer_error(L.index, ErrorKind::Config,
                    "in_sequences: " + name + " read together with other inputs or as an "
                    "element-wise operand; allowed: `in_sequences: " +
                        (cfg_.data_buffer ? cfg_.data_buffer->name : std::string("<buffer>")) +
                        "` alone (izer's simulation cannot combine the buffer with other data)");
      if (L.buffer_shift) {
        if (L.op != Operator::Passthrough)
          layer_error(L.index, ErrorKind::Config,
                      std::string("buffer_shift: found on a ") + operator_name(L.op) +
                          " layer; buffer shift can only be used in a passthrough layer "
                          "(`operation: passthrough`)");
        if (!reads)
          layer_error(L.index, ErrorKind::Config,
                      "buffer_shift: the layer does not read the data buffer; set "
                      "`in_sequences: " + cfg_.data_buffer->name + "`");
        if (L.pool[0] > 1 || L.pool[1] > 1 || L.pool_stride[0] > 1 || L.pool_stride[1] > 1)
          layer_error(L.index, ErrorKind::Config,
                      "buffer_shift: found with pooling; a buffer shift is a plain passthrough "
                      "(remove `max_pool`/`avg_pool`/`pool_stride`)");
      }
      if (L.buffer_insert && L.output_width != 8)
        layer_error(L.index, ErrorKind::Config,
                    "buffer_insert: found with output_width 32; the data buffer holds 8-bit "
                    "data (use output_width 8)");
    }
  }

  // izer inserts the layer's output, in HWC order, as `channels` rows of the buffer's second
  // dimension (numpy reshape to (1, channels, -1)), broadcast over the `buffer_insert` newest
  // entries; a size that does not fit is izer's "Buffer insertion unsuccessful".
  void check_buffer_insert(int ll) const {
    const Layer& L = net_.layers[ll];
    if (!L.buffer_insert || !net_.buffer) return;
    const DataBufferConfig& b = *net_.buffer;
    const int64_t size = int64_t{L.out_channels} * L.output_dim[0] * L.output_dim[1];
    if (size != int64_t{b.channels} * b.dim[1] && size != b.channels)
      layer_error(ll, ErrorKind::Config,
                  "buffer_insert: the layer's output " + std::to_string(L.out_channels) + "x" +
                      std::to_string(L.output_dim[0]) + "x" + std::to_string(L.output_dim[1]) +
                      " (" + std::to_string(size) + " values) does not fit an entry of the "
                      "data buffer `" + b.name + "` (" + std::to_string(b.channels) +
                      " channels x " + std::to_string(b.dim[1]) +
                      "); buffer insertion needs the output dimensions to match the buffer's "
                      "`channels` and `dim`");
  }

  void copy_yaml_parameters() {
    refuse_unsimulated_features();
    net_.buffer = cfg_.data_buffer;
    const bool mutated = shared_default_pad_mutated();
    net_.layers.resize(cfg_.layers.size());
    for (size_t i = 0; i < cfg_.layers.size(); ++i) {
      const LayerConfig& lc = cfg_.layers[i];
      Layer& L = net_.layers[i];
      L.index = static_cast<int>(i);
      L.op = lc.op;
      L.eltwise = lc.eltwise;
      L.operands = lc.operands;
      L.pool_first = lc.pool_first;
      if (lc.in_sequences) L.in_sequences = *lc.in_sequences;
      L.in_crop = lc.in_crop;
      L.pool = lc.pool;
      L.pool_stride = lc.pool_stride;
      L.pool_dilation = lc.pool_dilation;
      L.pool_average = lc.pool_average;
      L.kernel = lc.kernel_size;
      L.padding = lc.padding;
      if (mutated && uses_shared_default_pad(lc)) L.padding = {1, 0};
      L.stride = lc.stride;
      L.dilation = lc.dilation;
      L.output_padding = lc.output_padding;
      L.groups = lc.groups;
      L.flatten = lc.flatten;
      L.bypass = lc.bypass;
      L.activation = lc.activation;
      L.output_width = lc.output_width;
      L.processors = lc.processors;
      L.output_processors = lc.output_processors.value_or(0);
      L.out_offset = lc.out_offset;
      L.write_gap = lc.write_gap;
      L.read_gap = lc.read_gap;
      L.streaming = lc.streaming;
      L.big_data = lc.big_data;
      L.output_layer = lc.output;
      L.readahead = lc.readahead;
      L.calcx4 = lc.calcx4;
      L.bias_group = lc.bias_group;
      L.buffer_shift = lc.buffer_shift.value_or(0);
      L.buffer_insert = lc.buffer_insert.value_or(0);
      if (L.one_d()) {
        L.padding[1] = 0;
        L.pool[1] = 1;
        L.pool_stride[1] = 1;
        L.stride[1] = 1;
        L.dilation[1] = 1;
        L.pool_dilation[1] = 1;
      }
    }
  }

  void apply_weights() {
    if (weights_.size() != cfg_.layers.size())
      fail(ErrorKind::Checkpoint,
           cfg_.file + ": the weights hold " + std::to_string(weights_.size()) +
               " layers, the YAML has " + std::to_string(cfg_.layers.size()));
    for (size_t i = 0; i < weights_.size(); ++i) {
      const LayerWeights& w = weights_[i];
      Layer& L = net_.layers[i];
      const LayerConfig& lc = cfg_.layers[i];
      L.quantization = lc.quantization.value_or(
          (!L.bypass && L.op != Operator::Passthrough) ? 8 : 0);
      if (w.has_weights) {
        L.weights = w.weights;
        L.quantization = w.quantization;
      }
      if (w.has_bias) L.bias = w.bias;
      // izer's default output_shift is 0, or 7 for a kernel-bypass layer.
      L.output_shift = (!w.has_weights && !lc.output_shift && L.bypass) ? 7 : w.output_shift;
      if (L.output_shift < -15 || L.output_shift > 15) {
        const std::string what = "output_shift: found " + std::to_string(L.output_shift) +
                                 "; the hardware allows -15..15";
        // A shift the YAML did not give is the weights file's: name that file and key.
        if (lc.output_shift || w.output_shift_source.empty())
          layer_error(L.index, ErrorKind::Capacity, what);
        fail(ErrorKind::Capacity, w.output_shift_source + ": layer " +
                                      std::to_string(L.index) + ": " + what);
      }
    }
  }

  // Channels a layer's weights imply, given its input channels (izer takes them from the
  // weights' shape; weights.npz and izer's flattened kernels keep out x in/groups rows).
  int weight_rows(int ll) const {
    const Layer& L = net_.layers[ll];
    const int64_t per_row = int64_t{L.kernel[0]} * L.kernel[1];
    return static_cast<int>(L.weights.size() / std::max<int64_t>(per_row, 1));
  }

  // The weights' kernel shape (izer's (rows, kh, kw) or (rows, k)) against the YAML's.
  void check_kernel_shape(int ll) const {
    const Layer& L = net_.layers[ll];
    const auto& shape = weights_[ll].weight_shape;
    if (!weights_[ll].has_weights || L.op == Operator::Linear) return;
    Dim2 k{0, 0};
    if (shape.size() == 3) k = {static_cast<int>(shape[1]), static_cast<int>(shape[2])};
    else if (shape.size() == 2) k = {static_cast<int>(shape[1]), 1};
    else return;
    if (k != L.kernel)
      layer_error(ll, ErrorKind::Checkpoint,
                  "kernel_size: the YAML configures " + std::to_string(L.kernel[0]) + "x" +
                      std::to_string(L.kernel[1]) + " kernels, the weights are " +
                      std::to_string(k[0]) + "x" + std::to_string(k[1]));
  }

  // Output channels from the number of kernels: out x (in / groups) rows.
  int out_channels_from_weights(int ll, int64_t in_channels) const {
    const Layer& L = net_.layers[ll];
    const int64_t rows = weight_rows(ll);
    const int64_t prod = rows * L.groups;
    if (in_channels <= 0 || prod % in_channels != 0)
      layer_error(ll, ErrorKind::Checkpoint,
                  "the weights hold " + std::to_string(rows) + " kernels of " +
                      std::to_string(L.kernel[0]) + "x" + std::to_string(L.kernel[1]) +
                      ", which is not a whole number of output channels for " +
                      std::to_string(in_channels) + " input channels and " +
                      std::to_string(L.groups) + " groups");
    return static_cast<int>(prod / in_channels);
  }

  int sequence_input_channels(int ll, int prev) const {
    const Layer& L = net_.layers[ll];
    if (!L.in_sequences.empty()) {
      auto out_of = [&](int e) {
        return e == -1 ? input_.c : e == kBufferSequence ? net_.buffer->channels
                                                         : net_.layers[e].out_channels;
      };
      if (L.eltwise == Eltwise::None) {
        int sum = 0;
        for (int e : L.in_sequences) sum += out_of(e);
        return sum;
      }
      return out_of(L.in_sequences[0]);
    }
    if (prev < 0) return input_.c / std::max(L.operands, 1);
    return net_.layers[prev].out_channels;
  }

  void check_in_sequences(int ll) const {
    const Layer& L = net_.layers[ll];
    const int n = static_cast<int>(net_.layers.size());
    for (int e : L.in_sequences) {
      if (e == kBufferSequence && net_.buffer) continue;  // check_buffer_layers()
      if (e < -1 || e >= n)
        layer_error(ll, ErrorKind::Config,
                    "in_sequences: found " + std::to_string(e) + "; allowed: -1 (the input) .. " +
                        std::to_string(n - 1));
      if (!spec_.support_link_layer && e >= ll)
        layer_error(ll, ErrorKind::Config,
                    "in_sequences: found " + std::to_string(e) +
                        "; on this device a layer can only read earlier layers (< " +
                        std::to_string(ll) + ")");
    }
    if (L.eltwise != Eltwise::None && L.in_sequences.size() > 1) {
      const int chan = net_.layers[ll].in_sequences[0] == -1
                           ? input_.c
                           : net_.layers[L.in_sequences[0]].out_channels;
      for (int e : L.in_sequences) {
        const int c = e == -1 ? input_.c : net_.layers[e].out_channels;
        if (c != chan)
          layer_error(ll, ErrorKind::Config,
                      "in_sequences: the element-wise inputs have different channel counts (" +
                          std::to_string(chan) + " vs " + std::to_string(c) + ")");
      }
    }
  }

  void resolve_channels(int ll, int prev) {
    Layer& L = net_.layers[ll];
    const LayerConfig& lc = cfg_.layers[ll];
    check_in_sequences(ll);
    check_kernel_shape(ll);
    L.in_channels = sequence_input_channels(ll, prev);
    const LayerWeights& w = weights_[ll];
    if (w.has_weights && w.weight_shape.size() == 3 && L.op == Operator::Linear &&
        w.weight_shape[0] == 1) {
      // Linear weights keep their (1, out, in) shape.
      L.out_channels = static_cast<int>(w.weight_shape[1]);
      L.in_channels = static_cast<int>(w.weight_shape[2]);
    }
    in_from_weights_[ll] = L.out_channels > 0;
    if (lc.in_channels) L.in_channels = *lc.in_channels;
    if (L.in_channels <= 0)
      layer_error(ll, ErrorKind::Config, "in_channels: cannot be derived; set `in_channels`");
    if (L.out_channels <= 0 && lc.out_channels) L.out_channels = *lc.out_channels;
    // A flattening layer's output count needs its pooled area: derived in flatten_layer().
    if (L.flatten && L.out_channels <= 0 && L.has_weights()) return;
    if (L.out_channels <= 0 && L.has_weights()) {
      L.out_channels = out_channels_from_weights(ll, L.in_channels);
    } else if (L.out_channels <= 0 && L.bypass && !L.bias.empty()) {
      L.out_channels = static_cast<int>(L.bias.size());
    }
    if (L.out_channels <= 0) L.out_channels = L.in_channels;
    if (lc.out_channels) L.out_channels = *lc.out_channels;
  }

  // izer.py: default next layers, channel counts, the final layer, default output maps.
  void establish_sequence() {
    const int n = static_cast<int>(net_.layers.size());
    for (int ll = 0; ll < n; ++ll) {
      const auto& ns = cfg_.layers[ll].next_sequence;
      net_.layers[ll].next = ns ? *ns : (ll + 1 < n ? ll + 1 : -1);
      if (net_.layers[ll].next >= n) net_.layers[ll].next = -1;  // izer: past the end = stop
    }
    int prev = -1;
    int ll = 0;
    std::vector<bool> seen(n, false);
    while (ll >= 0 && ll < n) {
      if (seen[ll])
        layer_error(ll, ErrorKind::Config, "next_sequence: the layer sequence loops back to " +
                                               std::to_string(ll));
      seen[ll] = true;
      Layer& L = net_.layers[ll];
      if (L.next != -1 && L.next != ll + 1 && !spec_.support_link_layer)
        layer_error(ll, ErrorKind::Config,
                    "next_sequence: found " + std::to_string(L.next) +
                        "; this device runs layers in order only (supported on MAX78002)");
      resolve_channels(ll, prev);
      L.prev = prev;
      trace_layer(ll);
      if (L.output_processors == 0 && L.next != -1)
        L.output_processors = cfg_.layers[L.next].processors;
      net_.order.push_back(ll);
      prev = ll;
      if (L.next == -1) break;
      ll = L.next;
    }
    net_.final_layer = net_.order.back();
    Layer& F = net_.layers[net_.final_layer];
    if (cfg_.output_map) {
      F.output_processors = *cfg_.output_map;
    } else if (F.output_processors == 0) {
      const int expand = (F.out_channels + spec_.max_proc - 1) / spec_.max_proc;
      int chunk = (F.out_channels + expand - 1) / expand;
      if (F.out_channels > spec_.max_proc)
        chunk = std::min((chunk + spec_.p_shared - 1) & ~(spec_.p_shared - 1), spec_.max_proc);
      F.output_processors = chunk >= 64 ? ~uint64_t{0} : (uint64_t{1} << chunk) - 1;
    }
    bool any_output = false;
    for (const Layer& L : net_.layers) any_output |= L.output_layer;
    if (!any_output) F.output_layer = true;
  }

  Dim2 pooled_size(const Layer& L, bool two_d) const {
    auto ext = [&](int a) {
      const int num = L.input_dim[a] + L.pool_stride[a] - L.pool[a] - L.pool_dilation[a] + 1;
      return num >= 0 ? num / L.pool_stride[a] : -1;
    };
    return two_d ? Dim2{ext(0), ext(1)} : Dim2{ext(0), 1};
  }

  void derive_input_dim(int ll) {
    Layer& L = net_.layers[ll];
    const LayerConfig& lc = cfg_.layers[ll];
    if (L.prev < 0) {
      L.input_dim = lc.in_dim ? *lc.in_dim : Dim2{input_.h, input_.w};
      L.in_offset = lc.in_offset.value_or(0);
      return;
    }
    L.in_offset = lc.in_offset.value_or(net_.layers[L.prev].out_offset);
    auto dim_of = [&](int e) {
      return e == -1 ? Dim2{input_.h, input_.w} : net_.layers[e].output_dim;
    };
    int64_t pixels = 0;
    Dim2 automatic = net_.layers[L.prev].output_dim;
    if (L.reads_buffer()) {
      // izer requires in_dim (yamlcfg: in_offset, out_offset, in_dim, in_channels) and reads
      // the buffer however in_dim says: a shift reads dim - shift entries.
      L.input_dim = lc.in_dim.value_or(Dim2{net_.buffer->dim[0] * net_.buffer->dim[1], 1});
      return;
    }
    if (!L.in_sequences.empty()) {
      automatic = dim_of(L.in_sequences[0]);
      for (int e : L.in_sequences) {
        const Dim2 d = dim_of(e);
        if (d != automatic && !lc.in_dim)
          layer_error(ll, ErrorKind::Config,
                      "in_sequences: cannot concatenate outputs of different dimensions (" +
                          dim_str(automatic) + " vs " + dim_str(d) + ") without `in_dim`");
        pixels += int64_t{d[0]} * d[1];
      }
    }
    if (!lc.in_dim) {
      L.input_dim = automatic;
      return;
    }
    const int64_t count =
        int64_t{(*lc.in_dim)[0] + L.in_crop[0] + L.in_crop[1]} * (*lc.in_dim)[1];
    if (pixels > 0 && count != pixels)
      layer_error(ll, ErrorKind::Config,
                  "in_dim: found " + dim_str(*lc.in_dim) + " (" + std::to_string(count) +
                      " pixels with in_crop); the layer's in_sequences hold " +
                      std::to_string(pixels) + " pixels");
    L.input_dim = *lc.in_dim;
  }

  void trace_layer_dimensions(int ll) {
    Layer& L = net_.layers[ll];
    derive_input_dim(ll);
    const bool two_d = L.op != Operator::Conv1d &&
                       (L.op != Operator::Passthrough || L.input_dim[1] != 1);
    if (!two_d) L.pool[1] = 1;
    if (two_d && L.pool_stride[0] != L.pool_stride[1])
      layer_error(ll, ErrorKind::Config,
                  "pool_stride: found " + dim_str(L.pool_stride) + "; " +
                      operator_name(L.op) + " needs a square pooling stride");
    L.pooled_dim = pooled_size(L, two_d);
    if (L.pooled_dim[0] <= 0 || L.pooled_dim[1] <= 0)
      layer_error(ll, ErrorKind::Config,
                  "pooling or zero-padding leaves a zero data dimension (input " +
                      dim_str(L.input_dim) + ", pooled " + dim_str(L.pooled_dim) + ")");
    auto conv_out = [&](int a) {
      return (L.pooled_dim[a] - L.dilation[a] * (L.kernel[a] - 1) - 1 + 2 * L.padding[a]) /
                 L.stride[a] + 1;
    };
    if (two_d) {
      if (L.stride[0] != L.stride[1])
        layer_error(ll, ErrorKind::Config,
                    "stride: found " + dim_str(L.stride) + "; " + operator_name(L.op) +
                        " needs a square stride");
      if (L.op != Operator::ConvTranspose2d && L.stride[0] != 1)
        layer_error(ll, ErrorKind::Config,
                    "stride: found " + std::to_string(L.stride[0]) + "; " +
                        operator_name(L.op) + " supports stride 1 only");
      if (L.op == Operator::ConvTranspose2d) {
        for (int a = 0; a < 2; ++a)
          L.output_dim[a] = (L.pooled_dim[a] - 1) * L.stride[a] - 2 * L.padding[a] +
                            L.dilation[a] * (L.kernel[a] - 1) + L.output_padding[a] + 1;
      } else {
        L.output_dim = {conv_out(0), conv_out(1)};
      }
      if (L.flatten) flatten_layer(ll);
    } else {
      if (L.stride[0] != 1 && !spec_.support_arbitrary_stride)
        layer_error(ll, ErrorKind::Config,
                    "stride: found " + std::to_string(L.stride[0]) + "; " +
                        operator_name(L.op) + " supports stride 1 only");
      L.output_dim = {conv_out(0), 1};
    }
    if (L.padding[0] >= 3 && !spec_.support_arbitrary_padding)
      layer_error(ll, ErrorKind::Config,
                  "pad: found " + std::to_string(L.padding[0]) + "; allowed: 0, 1, 2");
    if (L.op == Operator::Passthrough && (L.padding[0] > 0 || L.padding[1] > 0))
      layer_error(ll, ErrorKind::Config,
                  "pad: found " + dim_str(L.padding) +
                      "; padding needs a convolution (this layer has none)");
    if (L.padding[0] >= L.kernel[0] || L.padding[1] >= L.kernel[1])
      layer_error(ll, ErrorKind::Config,
                  "pad: found " + dim_str(L.padding) + "; must be smaller than the kernel " +
                      dim_str(L.kernel));
    for (const Dim2* d : {&L.input_dim, &L.output_dim}) {
      const char* what = d == &L.input_dim ? "input" : "output";
      if ((*d)[0] > spec_.max_row_col || (*d)[1] > spec_.max_row_col)
        layer_error(ll, ErrorKind::Capacity,
                    std::string(what) + " dimension " + dim_str(*d) +
                        " exceeds the device maximum of " + std::to_string(spec_.max_row_col));
      if ((*d)[0] <= 0 || (*d)[1] <= 0)
        layer_error(ll, ErrorKind::Config,
                    std::string(what) + " dimension " + dim_str(*d) + " is zero");
    }
    if (L.activation != Activation::None && L.op == Operator::Passthrough)
      layer_error(ll, ErrorKind::Config,
                  std::string("activate: found ") + activation_name(L.activation) +
                      "; a passthrough layer has no activation");
  }

  void flatten_layer(int ll) {
    Layer& L = net_.layers[ll];
    const int area = L.pooled_dim[0] * L.pooled_dim[1];
    if (area > 256)
      layer_error(ll, ErrorKind::Capacity,
                  "flatten: the pooled input " + dim_str(L.pooled_dim) + " has " +
                      std::to_string(area) + " pixels; at most 256 can be flattened");
    L.output_dim = {1, 1};
    if (in_from_weights_[ll]) {
      // izer takes the flattened count from the weights and divides by the pooled area.
      L.in_channels /= area;
      if (L.in_channels <= 0)
        layer_error(ll, ErrorKind::Config,
                    "flatten: the weights have fewer inputs than the pooled input has pixels");
    }
    if (L.out_channels <= 0)
      L.out_channels = out_channels_from_weights(ll, int64_t{L.in_channels} * area);
  }

  void check_final_layer() {
    const Layer& F = net_.layers[net_.final_layer];
    if (!spec_.support_arbitrary_output_width && F.output_width != 8 &&
        F.activation != Activation::None)
      layer_error(F.index, ErrorKind::Config,
                  "output_width: found 32 with an activation; this device needs 8 there");
  }

  void trace_layer(int ll) {
    const Layer& L = net_.layers[ll];
    if (L.prev >= 0) {
      if (L.streaming && !net_.layers[L.prev].streaming)
        layer_error(ll, ErrorKind::Config,
                    "streaming: this layer streams but the layer before it (" +
                        std::to_string(L.prev) + ") does not");
      if (L.big_data)
        layer_error(ll, ErrorKind::Config, "data_format: CHW can only be set for the first layer");
    }
    trace_layer_dimensions(ll);
    check_weights_match(ll);
    check_buffer_insert(ll);
  }

  void check_weights_match(int ll) const {
    const Layer& L = net_.layers[ll];
    if (!L.has_weights()) return;
    const int64_t expected = int64_t{L.out_channels} * (L.weight_in_channels() / L.groups) *
                             L.kernel[0] * L.kernel[1];
    if (expected != static_cast<int64_t>(L.weights.size()))
      layer_error(ll, ErrorKind::Checkpoint,
                  "the weights hold " + std::to_string(L.weights.size()) + " values; " +
                      std::to_string(L.out_channels) + " output x " +
                      std::to_string(L.weight_in_channels() / L.groups) + " input channels x " +
                      std::to_string(L.kernel[0]) + "x" + std::to_string(L.kernel[1]) +
                      " kernels need " + std::to_string(expected));
  }

  const NetworkConfig& cfg_;
  const std::vector<LayerWeights>& weights_;
  InputShape input_;
  ResolveOptions opt_;
  const DeviceSpec& spec_;
  Network net_;
  std::vector<bool> in_from_weights_;  // in/out channels came from a Linear (1, out, in) shape
};

}  // namespace

namespace {

ResolveOptions own_options(const ResolveOptions& options) {
  ResolveOptions o = options;
  o.fifo = o.fifo || o.fast_fifo;  // the fast FIFO is a FIFO: net.fifo says both
  return o;
}

std::string shape_str(const InputShape& s, bool one_d) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + (one_d ? "" : "x" + std::to_string(s.w));
}

// At `input` the layers' shapes agree: the trace (channels, dimensions, weights) succeeds and
// every layer's input holds what its in_channels and in_dim say. The device's limits aside.
bool shapes_agree(const NetworkConfig& cfg, const std::vector<LayerWeights>& weights,
                  const InputShape& input, const ResolveOptions& o) {
  ResolveOptions trace = o;
  trace.enforce_limits = false;
  try {
    const Network net = Resolver(cfg, weights, input, trace).run();
    for (const Violation& v : find_violations(net, false))
      if (v.rule == "input-channels") return false;
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

std::string input_size_hint(const NetworkConfig& cfg, const std::vector<LayerWeights>& weights,
                            const InputShape& input, const ResolveOptions& options,
                            const std::string& failure) {
  if (cfg.layers.empty() || cfg.layers[0].in_dim || cfg.layers[0].in_sequences ||
      cfg.data_buffer || input.c <= 0 || input.h <= 0 || input.w <= 0)
    return "";
  const ResolveOptions o = own_options(options);
  if (shapes_agree(cfg, weights, input, o)) return "";
  const bool one_d = cfg.layers[0].op == Operator::Conv1d;
  // Candidate sizes by distance (rows changed plus columns changed) from the sample's: rows
  // or columns alone at distance m, both at once when m is even; at most twice the size and
  // 512 traces (a failure that no size mends costs them all).
  const bool two_d = input.w > 1;
  const int reach = std::min(std::max(input.h, input.w), 1024);
  auto at = [&](std::pair<int, int> s, int d) {
    return InputShape{input.c, input.h + s.first * d, input.w + s.second * d};
  };
  int budget = 512;
  auto valid = [](const InputShape& s) { return s.h >= 1 && s.w >= 1; };
  auto agree = [&](const InputShape& s) {
    return valid(s) && budget-- > 0 && shapes_agree(cfg, weights, s, o);
  };
  for (int m = 1; m <= 2 * reach && budget > 0; ++m) {
    std::vector<std::pair<std::pair<int, int>, int>> tries;  // (step, distance in steps)
    if (m <= reach) {
      tries.push_back({{1, 0}, m});
      if (two_d) tries.push_back({{0, 1}, m});
    }
    if (two_d && m % 2 == 0) tries.push_back({{1, 1}, m / 2});
    for (const auto& [s, k] : tries)
      for (int d : {k, -k}) {
        if (!agree(at(s, d))) continue;
        // The sizes next to it that agree too (at most 64 each way).
        budget += 128;
        int low = d, high = d;
        for (int n = 0; n < 64 && agree(at(s, low - 1)); ++n) --low;
        for (int n = 0; n < 64 && agree(at(s, high + 1)); ++n) ++high;
        // The failure without its "file:line: " (it is the same file).
        std::string why = failure;
        const size_t layer_at = why.find(": layer ");
        if (why.rfind(cfg.file, 0) == 0 && layer_at != std::string::npos)
          why = why.substr(layer_at + 2);
        const std::string size = one_d ? std::to_string(input.h)
                                       : std::to_string(input.h) + "x" + std::to_string(input.w);
        return "the input is " + shape_str(input, one_d) +
               " and layer 0 states no `in_dim`, so the network takes the input's " + size +
               "; at that size " + why + ". This network expects " +
               shape_str(at(s, low), one_d) +
               (high != low ? " (its layers agree with " + shape_str(at(s, low), one_d) +
                                  " to " + shape_str(at(s, high), one_d) + ")"
                            : std::string()) +
               ": give a sample of that size";
      }
  }
  return "";
}

Network resolve_network(const NetworkConfig& cfg, const std::vector<LayerWeights>& weights,
                        const InputShape& input, const ResolveOptions& options) {
  const ResolveOptions o = own_options(options);
  try {
    return Resolver(cfg, weights, input, o).run();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Input || e.kind() == ErrorKind::IO ||
        e.kind() == ErrorKind::Internal)
      throw;
    const std::string hint = input_size_hint(cfg, weights, input, o, e.what());
    if (hint.empty()) throw;
    const int line = cfg.layers[0].yaml_line;
    fail(ErrorKind::Input, cfg.file + (line > 0 ? ":" + std::to_string(line) : "") +
                               ": layer 0: " + hint);
  }
}

}  // namespace ai8xsim
