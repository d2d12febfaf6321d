// ai8xsim: NumPy .npy and .npz files.
// Reads any bool / signed / unsigned / float dtype stored little-endian (or byte-order free),
// format versions 1.0, 2.0 and 3.0, C order. Writes int32 / int64 arrays (C order, version 1.0)
// through an atomic write. Errors name the file and what is wrong:
//   "file X: .npy header key 'descr': found '>i4', expected little-endian ('<', '|' or '=')".
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ai8xsim/error.h"
#include "ai8xsim/ndarray.h"
#include "sim/io/zip.h"

namespace ai8xsim {

// Parse .npy bytes. `what` names the source in messages ("file x.npy" or "file a.npz, entry
// b.npy"). Bytes after the array data are ignored, as numpy.load ignores them.
NdArray parse_npy(const std::string& bytes, const std::string& what,
                  ErrorKind kind = ErrorKind::Input);
NdArray read_npy(const std::string& path, ErrorKind kind = ErrorKind::Input);

// A .npy array located in its bytes, nothing decoded: dtype, shape, and `count` elements of
// dtype_size(dtype) bytes each, little-endian, C order, at `data` (checked to be present).
struct NpyData {
  DType dtype = DType::I64;
  std::vector<int64_t> shape;
  const char* data = nullptr;
  size_t count = 0;
};
NpyData locate_npy(std::string_view bytes, const std::string& what,
                   ErrorKind kind = ErrorKind::Input);

// A .npy file read in place: memory-mapped (read-only) when it is a regular file, else read
// into memory. Only the header is parsed when it opens, so the shape can be checked before any
// data is touched; the pages are read when the data is. Copies share the mapping.
class NpyFile : public NpyData {
 public:
  static NpyFile open(const std::string& path, ErrorKind kind = ErrorKind::Input);
  std::string what;  // "file PATH", for messages

 private:
  struct Storage;
  std::shared_ptr<Storage> storage_;
};

// .npz: a zip (stored or deflated) of .npy files; keys are the entry names without ".npy".
NdArrayMap read_npz(const std::string& path, ErrorKind kind = ErrorKind::Checkpoint);
// The same held to `limits.max_bytes` (the file and the entries inflated) and
// `limits.max_elements`; `refuse(key)`, when given, is asked about every entry's key before
// the entry is inflated and returns why the key is not allowed (empty: allowed).
NdArrayMap read_npz(const std::string& path, ErrorKind kind, const LoadLimits& limits,
                    const std::function<std::string(const std::string& key)>& refuse);
// The same from bytes in memory; `name` stands for the file in messages.
NdArrayMap parse_npz(std::string bytes, const std::string& name,
                     ErrorKind kind = ErrorKind::Checkpoint);
NdArrayMap parse_npz(std::string bytes, const std::string& name, ErrorKind kind,
                     const LoadLimits& limits,
                     const std::function<std::string(const std::string& key)>& refuse);

// Element decoding shared with the torch checkpoint reader: the size of one element and
// `count` little-endian elements at `data` appended to `out` as doubles.
size_t dtype_size(DType t);
void decode_values(DType t, const char* data, size_t count, std::vector<double>& out);

// The header of an int32 .npy of this shape (version 1.0, C order, little-endian); the data
// follows it directly.
std::string npy_header_int32(const std::vector<int64_t>& shape);

// .npy bytes (version 1.0 header, C order, little-endian).
std::string encode_npy_int32(const std::vector<int64_t>& shape, const std::vector<int32_t>& data);
std::string encode_npy_int64(const std::vector<int64_t>& shape, const std::vector<int64_t>& data);

// Encode and write atomically (temporary file in the same directory, then rename).
void write_npy_int32(const std::string& path, const std::vector<int64_t>& shape,
                     const std::vector<int32_t>& data);
void write_npy_int64(const std::string& path, const std::vector<int64_t>& shape,
                     const std::vector<int64_t>& data);

}  // namespace ai8xsim
