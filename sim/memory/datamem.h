// ai8xsim: the CNN data memory (data SRAM) of the MAX78000/MAX78002 and where the accelerator
// puts activations in it.
//
// Four groups ("quadrants") of 16 processors; the four processors 4i..4i+3 of a group share one
// memory instance of 32-bit words, so a group has four instances and the device sixteen
// (MAX78000: 16 x 32 KiB = 512 KiB, MAX78002: 16 x 80 KiB = 1280 KiB). Addresses are the ones
// the Arm core uses (cnn.c, sampleoutput.h): APB base + C_SRAM_BASE + group * C_GROUP_OFFS +
// instance * (INSTANCE_SIZE * 16) + byte offset. docs/memory.md describes the layout and the
// rules below; they follow the addressing of izer's input loader (load.py), of its
// known-answer check (unload.py verify) and of its cnn_unload() generator.
//
// The model is used in three ways:
//  - statically (no data): which words the input loader, a layer's output stage and a layer's
//    input fetch touch, and what each byte lane holds (input_words, output_words, read_words);
//  - as a memory image (DataMemory) filled during a run through the engine's LayerHook
//    (MemoryRun), checked against izer's known-answer records (sim/memory/kat.h);
//  - to unload results as cnn_unload() does and to read a layer's input back from memory.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ai8xsim/tensor.h"
#include "ai8xsim/device.h"
#include "sim/engine/engine.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

constexpr int kInputLoader = -1;  // "layer" of the words load_input() writes
constexpr int kUnwritten = -2;    // a lane nothing has written

// Where a bus address falls.
struct MemLocation {
  bool mapped = false;      // inside one of the 16 instances (not in a hole)
  int group = 0;            // 0..3
  int instance = 0;         // 0..3 inside the group
  int first_processor = 0;  // group * 16 + instance * 4: processors first .. first+3 share it
  int sub_instance = 0;     // the RAM inside the instance (MAX78002: 5 x 16 KiB; MAX78000: 0)
  uint32_t offset = 0;      // byte offset inside the instance (what in_offset/out_offset count)
};

// One 32-bit word the input loader or a layer writes, or a layer reads, and what each of its
// four byte lanes holds (lane i = bits 8i..8i+7 = processor first_processor + i).
struct WordAccess {
  enum class Kind { Load, Write, Read };
  Kind kind = Kind::Load;    // the input loader, a layer's output stage, a layer's input fetch
  uint32_t address = 0;
  int layer = kInputLoader;  // YAML layer index, or kInputLoader
  int pixel = 0;             // linear pixel (row * cols + col) of lane 0
  int row = 0, col = 0;      // the same pixel as row/column (1-D data: col 0)
  int pass = 0;              // multi-pass index
  int operand = 0;           // element-wise operand (inputs only)
  int channel_base = 0;      // operand * channels per operand: tensor channel = base + channel
  bool wide = false;         // output_width 32: the word is one value of channel[0]
  bool chw = false;          // CHW: lanes hold pixels pixel .. pixel+3 of channel[0]
  int lane = 0;              // 32-bit output: the processor lane (0..3) writing the word,
  int rank = 0;              // and k for the k-th value of its instance at this pixel and pass
                             // (izer's overlap check takes it at address - 4 * lane + 4 * rank)
  std::array<int, 4> channel{-1, -1, -1, -1};  // per lane; -1: lane not used
  uint32_t lanes = 0;        // byte mask of the lanes that hold data
  uint32_t write_mask = 0;   // bytes written: the data lanes; the loader writes whole words
  uint32_t check_mask = 0;   // outputs: the mask izer's check_output() applies to this word
};

using WordVisitor = std::function<void(const WordAccess&)>;

// The words load_input() writes for the first layer (memcpy32 into data memory; not --fifo).
void input_words(const Network& net, const WordVisitor& visit);
// The words layer L's output stage writes (output_processors, out_offset, out_expand passes,
// write_gap, output_width 32), in izer's order. Uses L.out_channels x L.output_dim.
void output_words(const Network& net, const Layer& L, const WordVisitor& visit);
// The words layer L reads as its input (processors, in_offset, in_expand passes, operands,
// read_gap; CHW for a big_data first layer). Pixels: in_dim plus the in_crop rows.
void read_words(const Network& net, const Layer& L, const WordVisitor& visit);

// The word `w` describes, built from `t` (the tensor the access is about: the sample input for
// the loader, the layer output for writes). 8-bit lanes take the value's low byte.
uint32_t pack_word(const WordAccess& w, const Tensor& t);

// What one byte lane of memory holds after a run.
struct LaneOwner {
  int16_t layer = kUnwritten;
  int16_t channel = -1;  // per operand
  int32_t pixel = 0;
  uint16_t row = 0, col = 0;
  uint8_t pass = 0, operand = 0;
  bool wide = false;
};

class DataMemory {
 public:
  // `track`: remember which layer/channel/pixel wrote every byte lane (for reports).
  explicit DataMemory(Device device, bool track = true);

  const DeviceSpec& spec() const { return *spec_; }
  Device device() const { return spec_->device; }

  static MemLocation locate(const DeviceSpec& spec, uint32_t address);
  MemLocation locate(uint32_t address) const { return locate(*spec_, address); }
  // The bus address of byte `offset` of instance `instance` of group `group`.
  static uint32_t address_of(const DeviceSpec& spec, int group, int instance, uint32_t offset);
  // The bus address of byte `offset` in the instance of processor `proc` (0..63).
  static uint32_t processor_address(const DeviceSpec& spec, int proc, uint32_t offset);
  bool mapped(uint32_t address) const { return locate(address).mapped; }

  uint32_t read(uint32_t address) const;  // an unmapped address is an Error
  // Writes the bytes of `value` selected by `byte_mask`.
  void write(uint32_t address, uint32_t value, uint32_t byte_mask = 0xffffffffu);
  // Writes `value` for the lanes of `w` and records w as their owner.
  void write(const WordAccess& w, uint32_t value);
  // Bytes written since construction / clear().
  uint32_t written_mask(uint32_t address) const;
  // Who wrote the four lanes of the word (all kUnwritten without tracking).
  std::array<LaneOwner, 4> owner(uint32_t address) const;
  bool tracking() const { return track_; }
  void clear();

  // Every mapped word: index 0 .. words()-1 and its address.
  size_t words() const { return data_.size(); }
  uint32_t address_at(size_t index) const;
  uint32_t word_at(size_t index) const { return data_[index]; }
  uint32_t written_at(size_t index) const;

 private:
  size_t index_of(uint32_t address) const;  // throws on unmapped addresses
  const DeviceSpec* spec_;
  bool track_;
  size_t words_per_instance_;
  std::vector<uint32_t> data_;
  std::vector<uint8_t> written_;      // bit i: byte lane i written
  std::vector<LaneOwner> owners_;     // 4 per word when tracking
};

// Loads the sample input as load_input() does (HWC or CHW, passes, operands, in_offset).
void load_input(const Network& net, const Tensor& input, DataMemory& mem);
// Writes layer L's output where the hardware writes it.
void write_layer_output(const Network& net, const Layer& L, const Tensor& output,
                        DataMemory& mem);
// Reads layer L's input from memory: (in_channels * operands) x rows x cols with rows x cols
// = the in_dim pixels (in_crop rows included), 1-D: L x 1. Values are sign-extended bytes.
Tensor read_layer_input(const Network& net, const Layer& L, const DataMemory& mem);

// The words the FIFO loader (--fifo) pushes into each of the four FIFOs, in order.
std::vector<std::vector<uint32_t>> fifo_streams(const Network& net, const Tensor& input);

// Output layers in the order cnn_unload() takes them (the `output: true` layers, else the last).
std::vector<int> unload_layers(const Network& net);
// cnn_unload(): the words it stores into its out_buf (8-bit outputs: bytes, packed little-endian
// into words; all-32-bit outputs: one word per value).
// Reads cnn_unload() makes outside data memory (izer bugs, see unload_quirks) read as 0 and are
// counted in *unmapped_reads.
std::vector<uint32_t> unload(const Network& net, const DataMemory& mem,
                             size_t* unmapped_reads = nullptr);
// Configurations for which izer's generated cnn_unload() does not return the outputs in CHW
// order (one sentence each); empty when unload() must equal expected_unload().
std::vector<std::string> unload_quirks(const Network& net);
// What unload() returns when memory holds `outputs` (by YAML layer index), without memory.
std::vector<uint32_t> expected_unload(const Network& net,
                                      const std::vector<std::optional<Tensor>>& outputs);

// ---- running with the memory -------------------------------------------------------------

// Layer L's output feeds a streaming layer: the hardware keeps it in a rollover (circular)
// buffer whose size comes from izer's streaming registers; the model does not write it.
bool streamed_output(const Network& net, const Layer& L);
// Layer L reads its input from data memory (not from the FIFOs or a rollover buffer).
bool memory_input(const Network& net, const Layer& L);

struct MemoryRunOptions {
  bool load_input = true;     // false with --fifo: the input goes through the FIFOs
  bool read_inputs = false;   // layers that read data memory take their input from it, not
                              // from the tensors (except where izer_read_quirk says why not)
  bool compare_reads = true;  // note where data memory and the engine's tensors differ
  bool track = true;          // owner tracking (for reports)
};

struct ReadDifference {
  int layer = 0;
  size_t differing = 0, total = 0;
  std::string detail;  // the first difference, or the shape mismatch
  // Not empty: izer's simulation feeds the layer otherwise (izer_read_quirk) and the memory
  // could not be compared with the operands as the hardware reads them: an expected difference.
  // (Where it can, a quirk layer's memory is compared with the hardware's view instead.)
  std::string quirk;
};

// When izer's simulation gives layer L another input than the one the hardware reads from data
// memory, the sentence saying why; empty otherwise. (An element-wise layer whose operands all
// come from one earlier layer: izer splits that layer's output into blocks of channels, the
// hardware reads the operands as consecutive words, i.e. interleaved pixels, as izer's
// --legacy-test simulation does.) A memory-fed run gives such a layer izer's input, so that
// the known-answer check compares like with like.
std::string izer_read_quirk(const Network& net, const Layer& L);

class MemoryRun : public LayerHook {
 public:
  MemoryRun(const Network& net, const MemoryRunOptions& options);
  void begin(const Network& net, const Tensor& input) override;
  void before_layer(const Layer& L, Tensor& input) override;
  void after_layer(const Layer& L, const Tensor& output) override;

  DataMemory& memory() { return mem_; }
  const DataMemory& memory() const { return mem_; }
  // Layers whose memory input differed from the engine's (compare_reads), izer's quirks
  // included (ReadDifference::quirk set).
  const std::vector<ReadDifference>& read_differences() const { return diffs_; }
  // Layers whose input was compared (not FIFO-fed).
  int layers_compared() const { return compared_; }
  // read_inputs: the layers that took their input from data memory, and those that kept the
  // engine's because of izer_read_quirk.
  const std::vector<int>& memory_fed_layers() const { return fed_; }
  const std::vector<int>& quirk_layers() const { return quirk_fed_; }

 private:
  void shift_before_layer(const Layer& L, Tensor& input);
  const Network& net_;
  MemoryRunOptions opt_;
  DataMemory mem_;
  std::vector<ReadDifference> diffs_;
  std::vector<int> fed_, quirk_fed_;
  int compared_ = 0;
};

// Human-readable description of a lane owner / access ("layer 3 channel 5 pixel (2, 7) pass 1").
std::string describe_owner(const Network& net, const LaneOwner& o);
std::string describe_access(const Network& net, const WordAccess& w);

}  // namespace ai8xsim
