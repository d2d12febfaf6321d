// ai8xsim: whole-file reads, gzip decompression and atomic writes.
// Every failure is an ai8xsim::Error (IO) that names the file and the reason.
#pragma once
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
  std::string option;  // where the path came from, for messages ("--output"); may be empty
};

// All files or none, through an OutputTransaction (sim/io/outputs.h); `directory`, when not
// empty, is created (with its parents) for them.
void write_files_atomically(const std::vector<PendingFile>& files,
                            const std::string& directory = "");

}  // namespace ai8xsim
