// ai8xsim: the resolved network model. The YAML (NetworkConfig) and the weights
// (LayerWeights) become a list of layers with every shape and parameter the engine, the
// memory model and the cycle model need, derived as izer derives them (izer.py's sequence and
// dimension tracing). Nothing here touches activation data.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ai8xsim/config.h"

namespace ai8xsim {

struct LayerWeights;  // ai8xsim/weights.h

using Dim2 = std::array<int, 2>;

// `in_sequences` entry naming the data buffer (izer's find_layer returns -2 for it).
constexpr int kBufferSequence = -2;

struct Layer {
  int index = 0;  // YAML layer index
  Operator op = Operator::Conv2d;
  Eltwise eltwise = Eltwise::None;
  int operands = 1;
  bool pool_first = true;

  // Chaining
  std::vector<int> in_sequences;  // empty: the previous layer in the sequence (-1: the input,
                                  // kBufferSequence: the data buffer)
  int prev = -1;                  // previous layer in execution order (-1: none)
  int next = -1;                  // next layer in execution order (-1: stop)

  // Channels: in_channels is per operand; for `flatten` it is the per-pixel channel count
  // (izer divides the flattened count by the pooled area).
  int in_channels = 0;
  int out_channels = 0;

  // Shapes (rows, columns); 1-D layers use {length, 1}.
  Dim2 input_dim{0, 0};
  Dim2 pooled_dim{0, 0};
  Dim2 output_dim{0, 0};
  Dim2 in_crop{0, 0};

  // Pooling
  Dim2 pool{1, 1};
  Dim2 pool_stride{1, 1};
  Dim2 pool_dilation{1, 1};
  bool pool_average = false;

  // Convolution
  Dim2 kernel{3, 3};
  Dim2 padding{1, 1};
  Dim2 stride{1, 1};
  Dim2 dilation{1, 1};
  Dim2 output_padding{0, 0};
  int groups = 1;
  bool flatten = false;
  bool bypass = false;

  // Output stage
  Activation activation = Activation::None;
  int output_shift = 0;
  int output_width = 8;
  int quantization = 8;  // weight bits, -1 binary, 0 no weights

  // Weights: out_channels x (in_channels_total / groups) x kh x kw (Conv1d: kw = 1),
  // ConvTranspose2d already flipped as izer loads it. Bias as loaded (the engine adds x128).
  std::vector<int8_t> weights;
  std::vector<int64_t> bias;  // empty: no bias

  // Memory layout (used by the memory model and the checks)
  uint64_t processors = 0;
  uint64_t output_processors = 0;
  int in_offset = 0;
  int out_offset = 0;
  int write_gap = 0;
  int read_gap = 0;
  bool streaming = false;
  bool big_data = false;
  bool output_layer = false;
  bool readahead = false;
  bool calcx4 = false;
  std::optional<std::vector<int>> bias_group;  // izer's bias_group (bias_quadrant), as given

  // Rolling data buffer (izer's buffer_shift / buffer_insert; 0: not used)
  int buffer_shift = 0;
  int buffer_insert = 0;

  bool has_weights() const { return !weights.empty(); }
  bool reads_buffer() const;
  bool is_conv() const { return op != Operator::Passthrough; }
  bool one_d() const { return op == Operator::Conv1d; }
  // Input channels the weights see (flatten: channels x pooled pixels).
  int weight_in_channels() const {
    return flatten ? in_channels * pooled_dim[0] * pooled_dim[1] : in_channels;
  }
  int64_t macs() const;
};

struct InputShape {
  int c = 0, h = 0, w = 1;  // a 1-D sample C x L is {C, L, 1}
};

struct ResolveOptions : NetworkOptions {
  // Refuse the network at the first broken device rule (sim/model/checks.h). `ai8xsim check`
  // turns this off to list every rule broken.
  bool enforce_limits = true;
};

// The options (device, FIFO, ...) are the network's own: net.device, net.fifo.
struct Network : NetworkOptions {
  std::string config_file;
  InputShape input;               // the sample input the network was resolved for
  std::vector<Layer> layers;      // by YAML index
  std::vector<int> order;         // execution order (izer's layer_order)
  std::optional<DataBufferConfig> buffer;  // the rolling data buffer (`data_buffer`), if any
  int final_layer = 0;

  int64_t total_macs() const;
};

// Resolve a parsed YAML and its loaded weights (one entry per YAML layer) for an input shape.
// Throws ai8xsim::Error naming the layer and the rule for anything izer refuses at this stage.
Network resolve_network(const NetworkConfig& cfg, const std::vector<LayerWeights>& weights,
                        const InputShape& input, const ResolveOptions& options);

// The first layer without `in_dim` takes the sample's rows and columns; a sample of another
// size than the network was made for shows only further down, where the layers' shapes stop
// agreeing (a flatten layer's weights, say). Given that failure's message, the sentence for
// layer 0: the size taken, the failure at that size and the nearest size at which every
// layer's shapes agree (the device's limits aside; resolve_network throws it as an Input
// error). Empty when the first layer states in_dim, the shapes agree at `input`, or at no size
// tried.
std::string input_size_hint(const NetworkConfig& cfg, const std::vector<LayerWeights>& weights,
                            const InputShape& input, const ResolveOptions& options,
                            const std::string& failure);

}  // namespace ai8xsim
