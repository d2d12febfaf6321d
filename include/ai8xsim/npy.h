// ai8xsim: NumPy .npy files as the front ends use them: a sample file read (or mapped in
// place), int32 outputs encoded and written. Any bool / signed / unsigned / float dtype stored
// little-endian, format versions 1.0, 2.0 and 3.0, C order; errors name the file and what is
// wrong. The .npz reader and the decoding inside are sim/io/npy.h.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ai8xsim/error.h"
#include "ai8xsim/ndarray.h"

namespace ai8xsim {

// The whole file read and decoded (every element as a double).
NdArray read_npy(const std::string& path, ErrorKind kind = ErrorKind::Input);

// A .npy array located in its bytes, nothing decoded: dtype, shape, and `count` elements of
// dtype_size(dtype) bytes each, little-endian, C order, at `data` (checked to be present).
struct NpyData {
  DType dtype = DType::I64;
  std::vector<int64_t> shape;
  const char* data = nullptr;
  size_t count = 0;
};

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
