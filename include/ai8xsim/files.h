// ai8xsim: whole-file reads, gzip decompression and atomic writes.
// Every failure is an ai8xsim::Error (IO) that names the file and the reason.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace ai8xsim {

// The whole file as bytes.
std::string read_file(const std::string& path);
// The same, refused before reading when the file holds more than `max_bytes` (`basis` says
// why in the message).
std::string read_file(const std::string& path, uint64_t max_bytes, const std::string& basis);

// Decompress gzip data (one or more members). `what` names the data for messages.
std::string gunzip(const std::string& data, const std::string& what);

// Read a .gz file and return its decompressed contents.
std::string gunzip_file(const std::string& path);

// Write `contents` to `path` so that readers see either the old file or the complete new one:
// the bytes go to a temporary file in the same directory, which is then renamed over `path`.
void write_file_atomically(const std::string& path, const std::string& contents);

struct PendingFile {
  std::string path;
  std::string contents;
  std::string option = {};  // where the path came from, for messages ("--output"); may be empty
  // When set, the contents are already in this temporary file next to `path` (from
  // OutputFile::finish); committing renames it.
  std::string written = {};
};

// A large output written in place as it is produced, then committed with the others: a
// temporary file next to `path` with `size` bytes reserved up front (a full disk fails here, not
// later); any thread may write() distinct byte ranges, straight from its own buffer (positional
// writes: no mapping, no page faults, no copy of ours). finish() reports the first failed write
// and hands the temporary over (as PendingFile::written); without finish() the destructor
// removes it.
class OutputFile {
 public:
  OutputFile(const std::string& path, size_t size);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  // `bytes` bytes at `offset` (offset + bytes <= size). Thread-safe for distinct ranges; a
  // failure is kept and reported by finish().
  void write(size_t offset, const void* data, size_t bytes);
  PendingFile finish();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  size_t size_ = 0;
  std::atomic<int> error_{0};
};

// All files or none, through an OutputTransaction (ai8xsim/outputs.h); `directory`, when not
// empty, is created (with its parents) for them.
void write_files_atomically(const std::vector<PendingFile>& files,
                            const std::string& directory = "");

}  // namespace ai8xsim
