// The small helpers of ai8xsim/ndarray.h.
#include "ai8xsim/ndarray.h"

#include <cmath>

namespace ai8xsim {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::I8: return "int8";
    case DType::U8: return "uint8";
    case DType::I16: return "int16";
    case DType::U16: return "uint16";
    case DType::I32: return "int32";
    case DType::U32: return "uint32";
    case DType::I64: return "int64";
    case DType::U64: return "uint64";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    case DType::F32: return "float32";
    case DType::F64: return "float64";
  }
  return "?";
}

bool dtype_is_integer(DType t) {
  return t != DType::F16 && t != DType::BF16 && t != DType::F32 && t != DType::F64;
}

int64_t NdArray::size() const { return static_cast<int64_t>(values.size()); }

bool NdArray::all_integral() const {
  for (double v : values)
    if (!std::isfinite(v) || v != std::floor(v)) return false;
  return true;
}

std::string NdArray::shape_str() const { return ai8xsim::shape_str(shape); }

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace ai8xsim
