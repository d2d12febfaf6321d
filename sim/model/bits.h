// ai8xsim: the bit operations on processor and channel masks (64 processors: one bit each).
#pragma once
#include <cstdint>

namespace ai8xsim {

// Number of set bits.
inline int popcount64(uint64_t v) { return __builtin_popcountll(v); }
// Index of the lowest set bit; -1 for 0 (izer's ffs()).
inline int ffs64(uint64_t v) { return v ? __builtin_ctzll(v) : -1; }
// Index of the highest set bit; -1 for 0 (izer's fls()).
inline int fls64(uint64_t v) { return v ? 63 - __builtin_clzll(v) : -1; }

}  // namespace ai8xsim
