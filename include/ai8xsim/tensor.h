// ai8xsim: the integer tensor the engine and the kernels pass around.
// Layout is izer's: C x H x W, C order. 1-D data is C x L x 1.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ai8xsim {

template <typename T>
struct Tensor3 {
  int c = 0, h = 0, w = 0;
  std::vector<T> data;

  Tensor3() = default;
  Tensor3(int c_, int h_, int w_, T fill = T(0))
      : c(c_), h(h_), w(w_), data(static_cast<size_t>(c_) * h_ * w_, fill) {}

  size_t size() const { return data.size(); }
  T& at(int ci, int y, int x) { return data[(static_cast<size_t>(ci) * h + y) * w + x]; }
  const T& at(int ci, int y, int x) const {
    return data[(static_cast<size_t>(ci) * h + y) * w + x];
  }
  // Same elements, other shape (C-order reinterpretation, as numpy's reshape).
  Tensor3 reshaped(int c_, int h_, int w_) const {
    Tensor3 t;
    t.c = c_; t.h = h_; t.w = w_;
    t.data = data;
    return t;
  }
  std::string shape_str() const {
    return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
  }
};

// Activations as they sit in data memory: 8-bit values (or 32-bit for output_width 32),
// held in int32 so that one type serves both widths.
using Tensor = Tensor3<int32_t>;
// Full-precision accumulators before scaling.
using AccTensor = Tensor3<int64_t>;

}  // namespace ai8xsim
