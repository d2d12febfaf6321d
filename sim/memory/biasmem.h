// ai8xsim: the bias memory of the CNN accelerator, filled as izer fills it (kbias.py).
//
// Each group of 16 processors has DeviceSpec::bias_size bytes of bias memory, one 8-bit bias
// per output channel. Depthwise layers take bytes in every group their processors touch, laid
// out per processor; the other layers each take one contiguous block in one group, chosen by
// izer's first-fit-decreasing packing among the groups `bias_group` allows (default: every
// group the network uses). cnn_load_bias() copies bytes [0, used) of each group.
// docs/weight-memory.md describes the layout.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/model/checks.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

struct NetworkConfig;

struct BiasMemory {
  Device device = Device::MAX78000;
  // [group]: the bytes the loader writes (offset 0 up to the group's used size).
  std::vector<std::vector<uint8_t>> bytes;

  explicit BiasMemory(Device d = Device::MAX78000);
  int groups() const { return static_cast<int>(bytes.size()); }
  int used(int group) const { return static_cast<int>(bytes[static_cast<size_t>(group)].size()); }
  int64_t bytes_used() const;
  // APB address of bias byte `offset` of `group` (each byte is one 32-bit word).
  uint32_t address(int group, int offset) const;
  bool operator==(const BiasMemory& o) const { return bytes == o.bytes; }
  bool operator!=(const BiasMemory& o) const { return !(*this == o); }
};

// Where one layer's bias went.
struct BiasAllocation {
  int layer = -1;   // YAML layer index
  int source = -1;  // izer's bias deduplication: the layer whose bias bytes are reused (this
                    // layer writes nothing); -1 when the layer has its own
  int group = -1;   // the group holding the bias; -1 for a depthwise layer (one block per group)
  std::vector<int> offsets;  // [group]: first byte of the layer's block, -1 where none
  std::vector<int> lengths;  // [group]: bytes of the block, 0 where none (a depthwise layer
                             // may pad groups its processors do not use, see the docs)
  // Ordinary layers: the block starts with one zero byte per output pass for an output map
  // that does not start at a multiple of 4 (and one more for a streaming layer 0 on the
  // MAX78000), then one byte per output channel.
  int offset() const { return group >= 0 ? offsets[static_cast<size_t>(group)] : -1; }
  int bytes() const;  // all groups
};

struct BiasLayout {
  BiasMemory memory;
  std::vector<BiasAllocation> layers;  // in YAML order
  // izer stops at its first error: at most one violation (the layout is then incomplete).
  std::vector<Violation> violations;
  const BiasAllocation* find(int layer) const;
};

// izer's `bias_group` (alias `bias_quadrant`) per YAML layer; nullopt where the YAML has none.
using BiasGroupMap = std::vector<std::optional<std::vector<int>>>;

// Place every layer's bias as izer does. `bias_groups`: per YAML layer, the groups allowed;
// when null, each layer's own `bias_group` (Layer::bias_group) is taken.
BiasLayout allocate_bias(const Network& net, const BiasGroupMap* bias_groups = nullptr);

// The bias memory image cnn_load_bias() writes, from izer's cnn.c (the memcpy_8to32 calls:
// address, source array, length) and weights.h (the BIAS_<group> arrays). Throws Error(Input)
// on text it cannot read.
BiasMemory bias_memory_from_c(const std::string& cnn_c, const std::string& weights_h,
                              Device device);

}  // namespace ai8xsim
