// ai8xsim: the network description as the izer YAML file states it.
// This is the loader's output: values as written (with izer's defaults), no derived shapes.
// The resolver (sim/model/network.*) turns it into a runnable network model.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ai8xsim {

enum class Device { MAX78000, MAX78002 };
enum class Operator { Conv1d, Conv2d, ConvTranspose2d, Passthrough, Linear };
enum class Eltwise { None, Add, Sub, Or, Xor };
enum class Activation { None, ReLU, Abs };
// The kernels the engine runs on, chosen when a network is loaded (as TensorFlow Lite Micro
// swaps its kernels): Fast = the SIMD kernels (kernels/fast.h) on activations kept in their
// byte layout; Reference = the readable definitions alone (kernels/reference.h), scalar, slow.
// Both give the same results bit for bit (tests/parity/test_engine_paths.py).
enum class KernelSet { Fast, Reference };

const char* device_name(Device d);
const char* operator_name(Operator o);
const char* eltwise_name(Eltwise e);
const char* activation_name(Activation a);
const char* kernel_set_name(KernelSet k);  // "fast", "reference"
// "fast" or "reference"; throws Error(Input) naming `what` (e.g. "--kernels"), the value and
// the accepted spellings.
KernelSet parse_kernel_set(const std::string& name, const std::string& what);
// "MAX78000"/"MAX78002" in any case, also "ai85"/"ai87" and "85"/"87". Throws
// Error(Config) naming the value and the accepted spellings.
Device parse_device(const std::string& name);

// How a network is resolved and run, as izer's command line says it (--device,
// --avg-pool-rounding, --fifo, --fast-fifo, --overlap-data). Defined once: LoadOptions
// (ai8xsim.h) and ResolveOptions (ai8xsim/network.h) add their own settings to it, and a
// resolved Network carries the options it was resolved under.
struct NetworkOptions {
  Device device = Device::MAX78000;
  bool avg_pool_rounding = false;  // round average pooling
  bool fifo = false;               // the input through the FIFOs; a resolved network has it set
                                   // for the fast FIFO too (resolve_network, the one place)
  bool fast_fifo = false;          // the fast FIFO
  bool overlap_data = false;       // allow an output over data izer protects
  // The kernels the engine runs the network on (every run: batches, memory-fed, kat); the
  // results are the same either way.
  KernelSet kernels = KernelSet::Fast;
};

// One entry of the YAML `layers:` list (izer's yamlcfg.parse settings for one layer).
struct LayerConfig {
  int yaml_line = 0;          // 1-based line of this layer in the YAML file (for messages)
  uint64_t processors = 0;    // `processors` (required, 1 .. 2^64-1)
  std::optional<uint64_t> output_processors;
  std::array<int, 2> pool{1, 1};
  bool pooling_enabled = false;
  bool pool_average = false;            // avg_pool given
  std::array<int, 2> pool_stride{1, 1};  // default 1 (izer: None -> [1, 1])
  bool pool_stride_given = false;
  std::array<int, 2> pool_dilation{1, 1};
  std::optional<int> quantization;  // 1, 2, 4, 8, or -1 for binary; unset: izer's default
  std::optional<int> output_shift;
  std::optional<int> in_channels;
  std::optional<std::array<int, 2>> in_dim;  // an int N means [N, 1]
  std::array<int, 2> in_crop{0, 0};
  int read_gap = 0;  // `read_gap` / `in_skip`
  int in_channel_skip = 0;
  std::optional<int> in_offset;
  std::optional<int> out_channels;
  int out_offset = 0;
  bool out_offset_given = false;
  Activation activation = Activation::None;
  Operator op = Operator::Conv2d;
  bool op_given = false;
  Eltwise eltwise = Eltwise::None;
  int operands = 1;
  std::array<int, 2> padding{1, 1};
  bool padding_given = false;  // `pad` present (see izer's shared-default quirk, docs/izer-checks.md)
  std::array<int, 2> output_padding{0, 0};
  std::array<int, 2> dilation{1, 1};
  std::array<int, 2> kernel_size{3, 3};  // Conv1d: {k, 1}; Linear and passthrough: {1, 1}
  int groups = 1;
  std::array<int, 2> stride{1, 1};
  bool streaming = false;
  bool flatten = false;
  bool pool_first = true;
  std::optional<std::vector<int>> in_sequences;  // -1 is the network input
  std::optional<int> next_sequence;              // -1 is `stop`
  std::optional<int> simulated_sequence;
  std::optional<int> snoop_sequence;
  int write_gap = 0;
  bool bypass = false;
  std::optional<std::vector<int>> bias_group;
  bool calcx4 = false;
  bool readahead = false;
  std::optional<bool> tcalc;
  bool output = false;
  std::optional<std::string> name;
  std::optional<int> weight_source;
  std::optional<int> buffer_shift;
  std::optional<int> buffer_insert;
  bool big_data = false;  // data_format: CHW
  int output_width = 8;   // 8 or 32
};

// The top-level `data_buffer` entry (izer's rolling buffer, README "Rolling Buffers"): a region
// of data memory kept from one inference to the next. izer holds it as an array of
// dim[0] entries x channels x dim[1] (`dim: N` means [N, 1]).
struct DataBufferConfig {
  int yaml_line = 0;
  uint64_t processors = 0;
  std::array<int, 2> dim{1, 1};
  int channels = 0;
  int offset = 0;  // byte offset in each processor's memory instance, like in_offset
  std::string name;
};

struct NetworkConfig {
  std::string file;     // path of the YAML file, for messages
  std::string arch;
  std::string dataset;
  std::optional<uint64_t> output_map;  // top-level `output_map`
  std::vector<LayerConfig> layers;     // indexed by layer sequence
  // `unload`, `data_buffer`, `snoop`, `weights`, `bias` top-level keys are parsed and kept raw:
  bool has_unload = false;
  bool has_data_buffer = false;
  std::optional<DataBufferConfig> data_buffer;  // the (one) `data_buffer` entry
};

// Parse an izer network YAML. Throws ai8xsim::Error (Config) naming file, line, layer, key,
// value and what is allowed. `device` bounds the values (layers, processors).
NetworkConfig load_network_config(const std::string& path, Device device);

// How a float checkpoint (ai8x-training's output) is quantized on loading (sim/model/quantize.h).
struct QuantizeSettings {
  // Weight bits (1, 2, 4 or 8) per YAML layer index, overriding the YAML and the checkpoint;
  // the checkpoint's `<layer>.weight_bits` is then set to the same width.
  std::map<int, int> weight_bits;
};

}  // namespace ai8xsim
