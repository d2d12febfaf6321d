// ai8xsim: NumPy .npy and .npz files inside the library (the front ends' part, a sample file
// read and int32 outputs written, is ai8xsim/npy.h). Reads any bool / signed / unsigned / float
// dtype stored little-endian (or byte-order free), format versions 1.0, 2.0 and 3.0, C order.
// Errors name the file and what is wrong:
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
#include "ai8xsim/npy.h"
#include "sim/io/zip.h"

namespace ai8xsim {

// Parse .npy bytes. `what` names the source in messages ("file x.npy" or "file a.npz, entry
// b.npy"). Bytes after the array data are ignored, as numpy.load ignores them.
NdArray parse_npy(const std::string& bytes, const std::string& what,
                  ErrorKind kind = ErrorKind::Input);
// The array located in its bytes, nothing decoded (NpyData, ai8xsim/npy.h).
NpyData locate_npy(std::string_view bytes, const std::string& what,
                   ErrorKind kind = ErrorKind::Input);

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

}  // namespace ai8xsim
