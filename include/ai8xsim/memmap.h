// ai8xsim: the memory map of a network: where every layer's data, kernels and biases live.
//
// Data memory (per instance of the 16): the byte range the input loader fills, each layer's
// output stage writes and each layer's input fetch reads (sim/memory/datamem.h); kernel memory (per
// processor): the rows each layer's kernels take (sim/memory/kernelmem.h); bias memory (per group): the
// bytes each layer's biases take (sim/memory/biasmem.h); izer's overlap findings (sim/memory/overlap.h); and
// the totals against the device's sizes. Computed statically (no sample data), never throws for
// a network `ai8xsim check` refuses: what cannot be laid out is left out and named in `notes`.
// memory_map_json() is the `memory_map` object of the JSON reports; the front ends draw it
// (report/memmap_svg.h). docs/memory.md describes both.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ai8xsim/ai8xsim.h"

namespace ai8xsim {

// One conflict of izer's data memory overlap check (sim/memory/overlap.h finds them).
struct OverlapFinding {
  enum class Kind {
    Protected,  // a layer's output word is in izer's protected map
    Twice,      // a layer writes the same word twice
    Loader,     // the input loader writes the same word twice
  };
  Kind kind = Kind::Protected;
  int layer = -1;                   // the writing layer (Loader: the first layer)
  int processor = 0;                // first processor of the instance (izer's "Processor p")
  uint32_t address = 0;             // bus address of the word
  int channel = 0, row = 0, col = 0;           // what the write holds (izer's CHW)
  int earlier_layer = -1;           // who wrote the word first (-1: the input loader)
  int earlier_channel = 0, earlier_row = 0, earlier_col = 0;
  bool earlier_is_output = false;   // the earlier writer is an `output: true` layer
  size_t words = 1;                 // words of this layer with the same kind of conflict
};

struct DataRegion {
  // Buffer: the rolling data buffer (`data_buffer`, layer -1), data kept across inferences.
  enum class Kind { Load, Write, Read, Buffer };
  Kind kind = Kind::Write;
  int layer = -1;            // YAML layer index; -1: the input loader
  int group = 0, instance = 0;
  uint32_t start = 0;        // byte offsets in the instance: [start, end)
  uint32_t end = 0;
  int64_t words = 0;         // words touched in the range (gaps: write_gap, read_gap, passes)
  bool streamed = false;     // Write: the output feeds a streaming layer (the hardware keeps a
                             // rollover buffer there; the full extent is shown)
  std::string name;          // Buffer: the data buffer's name
};

struct DataInstanceUse {
  int group = 0, instance = 0;
  int first_processor = 0;   // processors first .. first + 3 share the instance
  int64_t capacity = 0;      // bytes (DeviceSpec::instance_bytes)
  int64_t used = 0;          // bytes of the distinct words loaded or written
  int64_t high_water = 0;    // end of the highest range loaded, written or read
};

struct KernelRegion {
  int layer = -1;
  int processor = 0;
  int first_row = 0;         // calcx4 layers: before the loader's x4 row interleave
  int rows = 0;
  int shared_from = -1;      // the layer whose kernels this one reuses (it writes nothing)
  bool overflow = false;     // the layer that ran out of rows: the rows it would take (to
                             // first_row + rows, past the processor's end), none written
};

struct KernelProcessorUse {
  int processor = 0;
  int capacity = 0;          // rows (DeviceSpec::mask_width)
  int written = 0;           // rows the loader writes
};

struct BiasRegion {
  int layer = -1;
  int group = 0;
  int offset = 0, length = 0;  // bytes
  int shared_from = -1;
};

struct BiasGroupUse {
  int group = 0;
  int capacity = 0;          // bytes (DeviceSpec::bias_size)
  int used = 0;              // bytes cnn_load_bias() writes
};

struct LayerInfo {
  int layer = 0;
  std::string what;          // e.g. "Conv2d 16->32, 32x32"
  int in_offset = 0, out_offset = 0;
  bool output = false;       // `output: true`
};

struct MemoryMap {
  Device device = Device::MAX78000;
  std::string config_file;
  std::vector<int> order;                 // layers in execution order
  std::vector<LayerInfo> layers;          // the same order
  std::vector<DataRegion> data;           // loader first, then per layer: write, read
  std::vector<DataInstanceUse> instances; // 16, group-major
  std::vector<KernelRegion> kernel;            // the layers placed, then any overflow
  std::vector<KernelProcessorUse> processors;  // 64 (written: the rows of the layers placed)
  std::vector<BiasRegion> bias;
  std::vector<BiasGroupUse> bias_groups;       // 4
  std::vector<OverlapFinding> overlaps;   // izer's findings (whether or not --overlap-data)
  // Where each finding's word is in data memory, in the same order (a drawing needs no
  // address arithmetic).
  struct Spot {
    bool mapped = false;
    int group = 0, instance = 0;
    uint32_t offset = 0;  // byte offset in the instance
  };
  std::vector<Spot> overlap_spots;
  bool overlap_data = false;              // --overlap-data: izer allows the findings
  std::vector<std::string> notes;         // what the map leaves out, and why

  // Totals against the device.
  int64_t data_bytes_used() const;
  int64_t data_bytes() const;
  int64_t kernel_rows_used() const;
  int64_t kernel_rows() const;
  int64_t bias_bytes_used() const;
  int64_t bias_bytes() const;
};

MemoryMap memory_map(const Network& net);
nlohmann::json memory_map_json(const MemoryMap& map);

}  // namespace ai8xsim
