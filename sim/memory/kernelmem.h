// ai8xsim: the kernel (weight) memory of the CNN accelerator, filled as izer fills it.
//
// Every processor owns a kernel memory of 72-bit rows (9 bytes, one 3x3 8-bit kernel per row;
// DeviceSpec::mask_width(p) rows). izer's allocator (kernels.py, with its defaults: greedy
// allocation, the "new" kernel loader, express loading) places each layer's kernels at one start
// row that is free on all of the layer's processors, packs 1x1 and 1/2/4-bit kernels into the
// rows, leaves rows for output-processor gaps and writes the rows through cnn_load_weights().
// `allocate_kernels` reproduces the placement and the bytes of every written row;
// docs/weight-memory.md describes the layout.
//
// Limits (kernel rows per processor, bias bytes per group) come back as Violation records
// (sim/model/checks.h); `memory_violations` gathers both memories' for sim/model/checks.cpp.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/model/checks.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

// One kernel memory row: the 9 bytes in the order izer's loader writes them (byte 0 first).
using KernelRow = std::array<uint8_t, 9>;

struct KernelMemory {
  Device device = Device::MAX78000;
  // [processor][row]: mask_width(p) rows per processor (0..63).
  std::vector<std::vector<KernelRow>> rows;
  // [processor][row]: 1 when the loader writes the row (izer writes only the rows it uses).
  std::vector<std::vector<uint8_t>> written;

  explicit KernelMemory(Device d = Device::MAX78000);
  int processors() const { return static_cast<int>(rows.size()); }
  int width(int proc) const { return static_cast<int>(rows[static_cast<size_t>(proc)].size()); }
  bool is_written(int proc, int row) const;
  const KernelRow& row(int proc, int row) const;
  void write(int proc, int row, const KernelRow& bytes);
  int64_t rows_written() const;
  // APB address of a row as the non-express loader addresses it (16 bytes per row).
  uint32_t address(int proc, int row) const;
  // Same rows written with the same bytes.
  bool operator==(const KernelMemory& o) const { return written == o.written && same_bytes(o); }
  bool operator!=(const KernelMemory& o) const { return !(*this == o); }

 private:
  bool same_bytes(const KernelMemory& o) const;
};

// Where one layer's kernels went (izer's kern_offs / kern_len / kern_count / kern_ochan).
struct KernelAllocation {
  int layer = -1;          // YAML layer index
  int source = -1;         // izer's weight deduplication: the layer whose kernels are reused
                           // (this layer writes nothing); -1 when the layer has its own
  uint64_t processors = 0; // processors holding the kernels (the layer's input processors)
  int first_row = 0;       // start row on every processor (kern_offs; calcx4: before the x4
                           // row interleave the loader applies)
  int rows = 0;            // rows izer counts for the layer (kern_len)
  int rows_used = 0;       // rows from first_row up to the last row written on any processor
                           // (includes the rows skipped for an unaligned first output processor)
  int count = 0;           // kernels per processor the hardware runs (kern_count)
  int ochan = 0;           // kern_ochan (output channel count register)
  bool from_top = false;   // placed by the downward search from the top of a large memory
  bool calcx4 = false;
};

struct KernelLayout {
  // The rows written; after a violation, those of the layers placed before it.
  KernelMemory memory;
  std::vector<KernelAllocation> layers;  // in placement order (izer's order)
  // izer stops at its first error: at most one violation, and the layout then stops there.
  std::vector<Violation> violations;
  // The layer that ran out of rows (kernel memory exhausted): the rows it would take from
  // first_row on its processors, past the end of the memory included; layer -1 when none.
  KernelAllocation overflow;
  const KernelAllocation* find(int layer) const;
};

// Place and pack every layer's kernels as izer does for this network.
KernelLayout allocate_kernels(const Network& net);

// The kernel memory image cnn_load_weights() writes: `weights_h` is the text of izer's
// weights.h (the KERNELS array: address, length, data ... 0), `express` tells whether the
// loader is the express one (cnn.c writes "Set address" before each block; izer's default)
// or the plain one (4 words per row). Throws Error(Input) on a malformed array.
KernelMemory kernel_memory_from_weights_h(const std::string& weights_h, bool express,
                                          Device device);

// Every kernel and bias memory limit broken (kernel rows per processor, bias bytes per group,
// bias count), kernel memory first: what izer reports is the first.
std::vector<Violation> memory_violations(const Network& net);

}  // namespace ai8xsim
