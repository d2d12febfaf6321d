// ai8xsim: a read-only zip archive reader (the container of .npz files and of zip-format
// torch checkpoints). Reads the central directory, supports stored and deflated entries and
// ZIP64 extra fields, and checks every entry's CRC-32. Errors are ai8xsim::Error naming the
// archive, the entry and what is wrong.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ai8xsim/error.h"

namespace ai8xsim {

// Bounds on what a loader takes from a file, derived from the network it loads for (see
// weight_file_limits in sim/model/checkpoint.h). Each is checked before the memory is taken: a zip
// entry's declared size before inflating it, a pickle's opcodes as they are read, tensor
// elements before they are decoded. `basis` says where the numbers come from, for messages.
struct LoadLimits {
  uint64_t max_bytes = UINT64_MAX;       // the file, and all zip entries read (inflated)
  uint64_t max_pickle_ops = UINT64_MAX;  // opcodes of a checkpoint's data.pkl
  uint64_t max_elements = UINT64_MAX;    // tensor elements decoded, in all
  std::string basis;
};

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint16_t flags = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

class ZipArchive {
 public:
  // Reads the whole file. `kind` is the ErrorKind for format errors (IO errors stay IO).
  static ZipArchive open(const std::string& path, ErrorKind kind = ErrorKind::Checkpoint);
  // As open(); the file and the entries read are held to `limits.max_bytes` in all.
  static ZipArchive open(const std::string& path, ErrorKind kind, const LoadLimits& limits);
  // An archive held in memory; `name` is used in messages.
  static ZipArchive from_bytes(std::string bytes, const std::string& name,
                               ErrorKind kind = ErrorKind::Checkpoint);

  // True when `bytes` begin like a zip archive (a local file header or an empty archive).
  static bool looks_like_zip(const std::string& bytes);

  const std::string& name() const { return name_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& entry_name) const;
  // Entries read from now on count against `max_bytes` in all (their declared sizes, checked
  // before inflating): an Error naming the entry, its size and the limit beyond it.
  void limit(uint64_t max_bytes, const std::string& basis);
  // The entry's bytes, decompressed and CRC-checked.
  std::string read(const ZipEntry& entry) const;
  // As above; an Error when the archive has no such entry.
  std::string read(const std::string& entry_name) const;

 private:
  ZipArchive() = default;
  void parse();
  void read_end_record(uint64_t& entries, uint64_t& cd_offset, uint64_t& cd_size) const;
  ZipEntry read_central_entry(uint64_t& pos, uint64_t cd_end, uint64_t index) const;
  [[noreturn]] void error(const std::string& what) const;
  [[noreturn]] void entry_error(const ZipEntry& e, const std::string& what) const;
  uint64_t data_offset(const ZipEntry& e) const;

  std::string name_;
  std::string bytes_;
  ErrorKind kind_ = ErrorKind::Checkpoint;
  std::vector<ZipEntry> entries_;
  mutable uint64_t budget_ = UINT64_MAX;  // bytes entries may still inflate to
  std::string basis_;
};

}  // namespace ai8xsim
