// ai8xsim: a loaded n-dimensional array as it came from a file (.npy, .npz, torch checkpoint).
// Loaders produce NdArray; the engine converts to its own integer tensors.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ai8xsim {

enum class DType { Bool, I8, U8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64 };

const char* dtype_name(DType t);
bool dtype_is_integer(DType t);  // Bool counts as integer

struct NdArray {
  DType dtype = DType::I64;
  std::vector<int64_t> shape;   // C order
  std::vector<double> values;   // every element, in C order, as read (exact for |v| < 2^53)

  int64_t size() const;
  // True when every value is an integer (no fractional part), whatever the dtype.
  bool all_integral() const;
  std::string shape_str() const;  // "(3, 32, 32)"
};

// A shape as numpy prints it: "(3, 32, 32)", "(5,)".
std::string shape_str(const std::vector<int64_t>& shape);

using NdArrayMap = std::map<std::string, NdArray>;

}  // namespace ai8xsim
