// ai8xsim fast kernels: the SIMD row kernels, compiled once per x86 instruction set (and a
// portable scalar fallback) by Highway's foreach_target.h and chosen at run time.
//
// Dense convolution ("oc lanes"): a vector holds `lanes` output channels of one output pixel
// as int32 accumulators. The input is repacked by the driver as HWC bytes u = x + 128 (so
// u is in [0, 255]; padding and ConvTranspose2d's inserted zeros are u = 128, i.e. x = 0) and
// the weights as int8 [oc block][tap][channel quad][lane][4]. One step takes 4 consecutive
// input channels of one pixel (a broadcast 32-bit word) against 4 channels x `lanes` output
// channels of weights and adds the 4 products per lane into the int32 accumulator:
//   AVX3_DL (AVX-512 VNNI): one VPDPBUSD (u8 x s8, non-saturating);
//   other x86 targets: two PMADDWD on 16-bit halves. The weights were split at prepare time
//   (DenseWeightLayout() == 1: per quad, the even channels' int16 pairs of every lane, then
//   the odd ones'), and the driver splits the input the same way before the layer
//   (SplitInput16: per quad, u0 u2 then u1 u3 as int16), so a step broadcasts two words;
//   scalar targets: plain integer arithmetic.
// On the x86 targets without VNNI, a layer whose inputs are all >= 0 (after a ReLU: most
// layers) takes a second kernel that multiplies the bytes themselves, PMADDUBSW then PMADDWD
// with ones (see DotNonNeg: why it cannot saturate). It needs no +128 offset. Where the
// layer's weights are small enough (many trained layers' are; see ConvPlan::pair16), it adds
// two quads' PMADDUBSW results in int16 before widening (DotNonNeg2).
// The accumulator then holds sum((x + 128) * w) = sum(x * w) + 128 * sum(w); the driver
// precomputes 128 * sum(w) per output channel and tap (wsum128), and the epilogue subtracts
// it for exactly the taps that were summed.
//
// Why int32 cannot overflow: |x| <= 128 and |w| <= 128, so |x * w| <= 2^14 and the true dot
// product of K = channels * taps terms is below K * 2^14, which fits int32 for K < 2^17 =
// 131072. The raw VNNI accumulator (u <= 255) may pass 2^31 for K > 65793, but every SIMD add
// wraps modulo 2^32, and the true value after subtracting the (also wrapped) offset is exact
// whenever it is itself in int32 range: so K < 131072 is the condition. The driver only sends
// layers with K below that here (and bias in int64 or, when the epilogue requantizes, only
// when K * 2^14 + |bias128| < 2^30); others go to the reference.
//
// Grouped/depthwise convolution ("channel lanes"): lane o is output channel o, which reads
// its own input channels o * ipg .. o * ipg + ipg - 1; the input is repacked int8 with those
// channels interleaved by lane, the weights widened to int32, and each step is an int32
// multiply-add (|x * w| <= 2^14, the same bound).
#include "kernels/fast_simd.h"

#include <algorithm>
#include <cstring>
#include <vector>

#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL 1  // compile the AVX-512 VNNI (Ice Lake / Zen 4) target too
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/fast_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace ai8xsim::fast::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#undef AI8X_VNNI512
#undef AI8X_GENERIC
#if HWY_TARGET == HWY_AVX3_DL && HWY_COMPILER_GCC_ACTUAL
// Highway 1.0.3's AVX3_DL target string lacks avx512vnni; the CPU check for AVX3_DL includes
// it (VNNI is part of the AVX3_DL group), so enabling it here is safe.
#pragma GCC target("avx512vnni")
#define AI8X_VNNI512 1
#else
#define AI8X_VNNI512 0
#endif

#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128 || !HWY_ARCH_X86
#define AI8X_GENERIC 1
#else
#define AI8X_GENERIC 0
#endif

using D32 = hn::ScalableTag<int32_t>;
using V32 = hn::Vec<D32>;

// An empty volatile asm that "changes" v: volatile asms keep their order, so a computation
// that reads v after one cannot move above it. It changes no value and emits no instruction.
// The tiles use it to keep GCC from hoisting every pixel's products ahead of the accumulation
// (it then runs out of registers and spills the accumulators to the stack).
template <class V>
HWY_INLINE void OrderBarrier(V& v) {
#if !AI8X_GENERIC && !AI8X_VNNI512  // (the VNNI tiles use zmm16-31 too: left alone)
  asm volatile("" : "+v"(v.raw));  // v: any vector register the target has
#else
  (void)v;
#endif
}

// ---- the 4-byte dot product step ---------------------------------------------------------------
#if AI8X_VNNI512
struct WPrep {
  V32 w;
};
struct XPrep {
  V32 x;
};
HWY_INLINE WPrep PrepW(const int8_t* p) {
  const hn::ScalableTag<int8_t> d8;
  return {hn::BitCast(D32(), hn::LoadU(d8, p))};
}
HWY_INLINE XPrep PrepX(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return {hn::Set(D32(), v)};
}
HWY_INLINE V32 Dot(V32 acc, const XPrep& x, const WPrep& w) {
  return V32{_mm512_dpbusd_epi32(acc.raw, x.x.raw, w.w.raw)};
}
#elif !AI8X_GENERIC
// x86 without VNNI: 16-bit halves and PMADDWD (exact: every product and pair sum fits).
using D16 = hn::Repartition<int16_t, D32>;
using V16 = hn::Vec<D16>;
struct WPrep {
  V16 e, o;
};
struct XPrep {
  V16 e, o;
};
// p: one quad of the split layout, L * 8 bytes (the even halves, then the odd ones).
HWY_INLINE WPrep PrepW(const int8_t* p) {
  const D16 d16;
  const int16_t* q = reinterpret_cast<const int16_t*>(p);
  return {hn::LoadU(d16, q), hn::LoadU(d16, q + hn::Lanes(d16))};
}
// p: one quad of the split input (SplitInput16), 8 bytes: (u0, u2) and (u1, u3), broadcast.
HWY_INLINE XPrep PrepX(const uint8_t* p) {
  int32_t e, o;
  std::memcpy(&e, p, 4);
  std::memcpy(&o, p + 4, 4);
  return {hn::BitCast(D16(), hn::Set(D32(), e)), hn::BitCast(D16(), hn::Set(D32(), o))};
}
HWY_INLINE V32 Dot(V32 acc, const XPrep& x, const WPrep& w) {
  V32 unused = hn::Zero(D32());  // x86's ReorderWidenMulAccumulate is PMADDWD; sum1 unused
  acc = hn::ReorderWidenMulAccumulate(D32(), x.e, w.e, acc, unused);
  return hn::ReorderWidenMulAccumulate(D32(), x.o, w.o, acc, unused);
}
#else
// Portable fallback: lane by lane (wrapping unsigned arithmetic, as the SIMD adds).
struct WPrep {
  const int8_t* p;
};
struct XPrep {
  const uint8_t* p;
};
HWY_INLINE WPrep PrepW(const int8_t* p) { return {p}; }
HWY_INLINE XPrep PrepX(const uint8_t* p) { return {p}; }
HWY_INLINE V32 Dot(V32 acc, const XPrep& x, const WPrep& w) {
  const D32 d;
  HWY_ALIGN int32_t a[hn::MaxLanes(d)];
  hn::Store(acc, d, a);
  for (size_t l = 0; l < hn::Lanes(d); ++l) {
    uint32_t s = static_cast<uint32_t>(a[l]);
    for (int b = 0; b < 4; ++b)
      s += static_cast<uint32_t>(int32_t{x.p[b]} * int32_t{w.p[l * 4 + b]});
    a[l] = static_cast<int32_t>(s);
  }
  return hn::Load(d, a);
}
#endif

// ---- the step for non-negative inputs (x86 without VNNI) ---------------------------------------
// When every input value x is >= 0 (the bytes u = x + 128 are all >= 128, as after a ReLU),
// x = u ^ 0x80 is in [0, 127] (the driver converts the input once, ToSignedBytes) and PMADDUBSW
// (u8 x s8 -> pairs summed in int16) is exact: a pair
// x0 * w0 + x1 * w1 lies in [2 * 127 * -128, 2 * 127 * 127] = [-32512, 32258], inside int16,
// so the saturation never happens. PMADDWD with ones then sums the two pairs of a lane into
// int32: 4 products in 2 multiplies instead of PMADDWD's 2 plus the byte split, and the +128
// offset is gone (nothing to subtract). Weights: the int8 layout [lane][4].
#if !AI8X_VNNI512 && !AI8X_GENERIC
#define AI8X_U8_STEP 1
using D8 = hn::Repartition<int8_t, D32>;

// PMADDUBSW: per int16 lane, the two products of x's bytes (unsigned) and w's (signed), summed.
HWY_INLINE V16 PairSums(V32 x, V32 w) {
#if HWY_TARGET <= HWY_AVX3  // AVX3 or, built by a compiler without the VNNI path, AVX3_DL
  return V16{_mm512_maddubs_epi16(x.raw, w.raw)};
#elif HWY_TARGET == HWY_AVX2
  return V16{_mm256_maddubs_epi16(x.raw, w.raw)};
#else
  return V16{_mm_maddubs_epi16(x.raw, w.raw)};
#endif
}

// acc + the two int16 pair sums of each int32 lane (PMADDWD with ones, then the add).
HWY_INLINE V32 AddPairs(V32 acc, V16 pairs) {
  V32 unused = hn::Zero(D32());  // (as in Dot: sum1 is not used on x86)
  return hn::ReorderWidenMulAccumulate(D32(), pairs, hn::Set(D16(), 1), acc, unused);
}

HWY_INLINE V32 DotNonNeg(V32 acc, V32 x, V32 w) { return AddPairs(acc, PairSums(x, w)); }

// Two quads at once, for layers whose weights allow it (ConvPlan::pair16): the int16 pair sums
// of both quads are added in int16 (wrapping, but the driver checked that every such sum of 4
// products lies in [-32768, 32767] for any inputs in [0, 127]) and widened once: 3 multiplies
// for 8 products per lane instead of 4.
HWY_INLINE V32 DotNonNeg2(V32 acc, V32 x0, V32 w0, V32 x1, V32 w1) {
  return AddPairs(acc, hn::Add(PairSums(x0, w0), PairSums(x1, w1)));
}
#else
#define AI8X_U8_STEP 0
#endif

// Weight bytes per lane and channel quad: int8 x 4, or (split layout) int16 x 4; the input's
// bytes per channel quad likewise (the split layout's input is split too).
#if !AI8X_VNNI512 && !AI8X_GENERIC
constexpr int kWeightLayout = 1;
constexpr int kTargetQuadBytes = 8;
#else
constexpr int kWeightLayout = 0;
constexpr int kTargetQuadBytes = 4;
#endif

// ---- register tiles: M output-channel vectors x N pixels ---------------------------------------
enum class Kernel { Dense, DenseNonNeg, DenseNonNeg2, Grouped };

// The largest tile: M output-channel vectors x MaxN(kernel, M) pixels, all accumulators (and
// the operands of one step) in registers.
#if AI8X_VNNI512
constexpr int kMaxM = 4;
constexpr int MaxN(Kernel, int m) { return m <= 2 ? 12 : m == 3 ? 8 : 6; }  // <= 29 of 32 zmm
#elif HWY_TARGET <= HWY_AVX3  // (AVX3_DL too when the VNNI path is not compiled)
constexpr int kMaxM = 2;
constexpr int MaxN(Kernel, int m) { return m == 1 ? 12 : 8; }
#elif !AI8X_GENERIC
// 16 registers: the split kernel's step needs 2 more than the byte kernel's, the two-quad
// step more again (there 2 x 5 spilled and 2 x 4 measured slower than 2 x 3).
constexpr int kMaxM = 2;
constexpr int MaxN(Kernel k, int m) {
  return k == Kernel::Dense          ? (m == 1 ? 8 : 4)
         : k == Kernel::DenseNonNeg2 ? (m == 1 ? 8 : 3)
                                     : (m == 1 ? 10 : 5);
}
#else
constexpr int kMaxM = 1;
constexpr int MaxN(Kernel, int) { return 4; }
#endif

struct Tap {
  ptrdiff_t in_off;  // bytes from the pixel's base in the input buffer
  ptrdiff_t w_off;   // dense: bytes into an oc block's weights; grouped: int32 elements
};

struct TileArgs {
  const ConvPlan* p;
  const uint8_t* in;   // input buffer at the first pixel's base
  ptrdiff_t pix_step;  // bytes between the tile's pixels in the input buffer
  const Tap* taps;
  int nt;
  int ob0;             // first oc block
  const int32_t* corr;  // [opad] offset to subtract (dense), zeros (grouped)
  int32_t* out;         // output at the first pixel (int32 epilogues)
  ptrdiff_t out_step;   // int32 elements between the tile's pixels in the output
  uint8_t* out8;        // U8: output at the first pixel
  ptrdiff_t out_step8;  // U8: bytes between the tile's pixels in the output
};

// The epilogue: true dot product -> stored value (see Epilogue). Output channels o .. o+L-1 of
// tile pixel n.
HWY_INLINE void Finish(const ConvPlan& p, V32 acc, const int32_t* corr, const int32_t* bias,
                       const TileArgs& a, int n, int o) {
  const D32 d;
  V32 v = hn::Sub(acc, hn::LoadU(d, corr));
  if (p.mode == Epilogue::Raw) {
    hn::StoreU(v, d, a.out + n * a.out_step + o);
    return;
  }
  v = hn::Add(v, hn::LoadU(d, bias));  // Wide: wraps as the int64 -> int32 truncation does
  if (p.mode != Epilogue::Wide) {
    // |v| < 2^30 here (the driver's condition), so the rounding add cannot overflow.
    const int s = 7 - p.shift;
    if (s > 0) {
      v = hn::ShiftRightSame(hn::Add(v, hn::Set(d, int32_t{1} << (s - 1))), s);  // floor
    } else {
      // Clamping to +-2^22 first changes nothing after the final clamp, and keeps v << 8 exact.
      v = hn::Min(hn::Max(v, hn::Set(d, -(1 << 22))), hn::Set(d, 1 << 22));
      v = hn::ShiftLeftSame(v, -s);
    }
    v = hn::Min(hn::Max(v, hn::Set(d, -128)), hn::Set(d, 127));
  }
  if (p.act == Activation::ReLU) {  // ReLU: clamp to [0, 127]
    v = hn::Min(hn::Max(v, hn::Zero(d)), hn::Set(d, 127));
  } else if (p.act == Activation::Abs) {  // Abs: clamp(|v|, 0, 127); |INT32_MIN| stays negative -> 0
    v = hn::Min(hn::Max(hn::Abs(v), hn::Zero(d)), hn::Set(d, 127));
  }
  if (p.mode == Epilogue::U8) {
    // Bytes value + 128; the channels past out_cs belong to the next pixel: not written.
    const hn::Rebind<uint8_t, D32> d8;
    const auto b = hn::DemoteTo(d8, hn::Add(v, hn::Set(d, 128)));
    uint8_t* dst = a.out8 + n * a.out_step8 + o;
    const int count = p.out_cs - o;
    if (count >= static_cast<int>(hn::Lanes(d8))) {
      hn::StoreU(b, d8, dst);
    } else {
      HWY_ALIGN uint8_t tmp[hn::MaxLanes(d8)];
      hn::Store(b, d8, tmp);
      std::memcpy(dst, tmp, static_cast<size_t>(count));
    }
    return;
  }
  hn::StoreU(v, d, a.out + n * a.out_step + o);
}

// The dense kernels' step as the tile uses it: kQuads channel quads (4 channels each) at a
// time; where the weights are, the weights of the step's quads (W: p is the first quad's, the
// next quad's are qstep bytes on), the input words of one pixel (X), the multiply-add (Mac);
// Single: the step for the quads left over (kQuads 1: the step itself).
struct StepTarget {  // the target's own step (Dot above); weights in DenseWeightLayout()
  using Single = StepTarget;
  static constexpr int kQuads = 1;
  static constexpr int kQuadBytes = kTargetQuadBytes;
  static constexpr int kInQuadBytes = kTargetQuadBytes;  // the input as PrepX reads it
  const int8_t* weights(const ConvPlan& p) const { return p.w; }
  WPrep W(const int8_t* p, ptrdiff_t) const { return PrepW(p); }
  XPrep X(const uint8_t* p) const { return PrepX(p); }
  V32 Mac(V32 acc, const XPrep& x, const WPrep& w) const { return Dot(acc, x, w); }
};

#if AI8X_U8_STEP
struct StepNonNeg {  // inputs >= 0 (DotNonNeg); weights p.w8, int8 [ocb][tap][c4][lanes][4]
  using Single = StepNonNeg;
  static constexpr int kQuads = 1;
  static constexpr int kQuadBytes = 4;
  static constexpr int kInQuadBytes = 4;
  const int8_t* weights(const ConvPlan& p) const { return p.w8; }
  V32 W(const int8_t* p, ptrdiff_t) const { return hn::BitCast(D32(), hn::LoadU(D8(), p)); }
  V32 X(const uint8_t* p) const {  // the input as x = u - 128 (ToSignedBytes), in [0, 127]
    int32_t v;
    std::memcpy(&v, p, 4);
    V32 x = hn::Set(D32(), v);
    OrderBarrier(x);
    return x;
  }
  V32 Mac(V32 acc, V32 x, V32 w) const { return DotNonNeg(acc, x, w); }
};

// StepNonNeg two quads at a time (DotNonNeg2; ConvPlan::pair16), one at a time for an odd last.
struct StepNonNeg2 : StepNonNeg {
  using Single = StepNonNeg;
  static constexpr int kQuads = 2;
  struct Two {
    V32 a, b;
  };
  Two W(const int8_t* p, ptrdiff_t qstep) const {
    return {Single().W(p, qstep), Single().W(p + qstep, qstep)};
  }
  Two X(const uint8_t* p) const { return {Single().X(p), Single().X(p + kInQuadBytes)}; }
  V32 Mac(V32 acc, const Two& x, const Two& w) const {
    return DotNonNeg2(acc, x.a, w.a, x.b, w.b);
  }
};
#endif

// Quads k .. k1 - 1 of one tap into the tile's accumulators, Step::kQuads at a time; returns
// the first quad not done (fewer than kQuads left).
template <class Step, int M, int N>
HWY_INLINE int TapSteps(V32 (&acc)[M][N], const uint8_t* ip, const int8_t* wp, ptrdiff_t pix_step,
                        ptrdiff_t qstep, ptrdiff_t wblk, int k, int k1) {
  const Step step;
  for (; k + Step::kQuads <= k1; k += Step::kQuads) {
    decltype(step.W(wp, qstep)) wv[M];
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) wv[m] = step.W(wp + m * wblk + k * qstep, qstep);
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
      const auto x = step.X(ip + n * pix_step + Step::kInQuadBytes * k);
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m) {
        acc[m][n] = step.Mac(acc[m][n], x, wv[m]);
        OrderBarrier(acc[m][n]);
      }
    }
  }
  return k;
}

template <class Step, int M, int N>
HWY_NOINLINE void DenseTile(const TileArgs& a) {
  const D32 d;
  const Step step;
  const ConvPlan& p = *a.p;
  const int L = static_cast<int>(hn::Lanes(d));
  const int c4 = p.c4;
  const ptrdiff_t qstep = static_cast<ptrdiff_t>(L) * Step::kQuadBytes;
  const ptrdiff_t wblk = static_cast<ptrdiff_t>(p.kh) * p.kw * c4 * qstep;
  const int8_t* wbase = step.weights(p) + a.ob0 * wblk;
  V32 acc[M][N];
#pragma GCC unroll 16
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) acc[m][n] = hn::Zero(d);
  for (int t = 0; t < a.nt; ++t) {
    const uint8_t* ip = a.in + a.taps[t].in_off;
    const int8_t* wp = wbase + a.taps[t].w_off;
    const int k = TapSteps<Step, M, N>(acc, ip, wp, a.pix_step, qstep, wblk, 0, c4);
    if constexpr (Step::kQuads > 1)
      TapSteps<typename Step::Single, M, N>(acc, ip, wp, a.pix_step, qstep, wblk, k, c4);
  }
#pragma GCC unroll 16
  for (int m = 0; m < M; ++m) {
    const int o = (a.ob0 + m) * L;
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) Finish(p, acc[m][n], a.corr + o, p.bias32 + o, a, n, o);
  }
}

template <int M, int N>
HWY_NOINLINE void GroupedTile(const TileArgs& a) {
  const D32 d;
  const hn::Rebind<int8_t, D32> d8;
  const ConvPlan& p = *a.p;
  const int L = static_cast<int>(hn::Lanes(d));
  const int opad = p.ocb * L;
  V32 acc[M][N];
#pragma GCC unroll 16
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) acc[m][n] = hn::Zero(d);
  for (int t = 0; t < a.nt; ++t) {
    const int8_t* ip = reinterpret_cast<const int8_t*>(a.in + a.taps[t].in_off) + a.ob0 * L;
    const int32_t* wp = p.wg + a.taps[t].w_off + a.ob0 * L;
    for (int ci = 0; ci < p.ipg; ++ci) {
      V32 wv[M];
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m) wv[m] = hn::LoadU(d, wp + ci * opad + m * L);
#pragma GCC unroll 16
      for (int n = 0; n < N; ++n)
#pragma GCC unroll 16
        for (int m = 0; m < M; ++m) {
          const V32 x = hn::PromoteTo(d, hn::LoadU(d8, ip + n * a.pix_step + ci * opad + m * L));
          acc[m][n] = hn::Add(acc[m][n], x * wv[m]);
        }
    }
  }
#pragma GCC unroll 16
  for (int m = 0; m < M; ++m) {
    const int o = (a.ob0 + m) * L;
#pragma GCC unroll 16
    for (int n = 0; n < N; ++n) Finish(p, acc[m][n], a.corr + o, p.bias32 + o, a, n, o);
  }
}

// Run the M x n tile, n <= MaxN(kK, M), instantiating only the needed sizes.
template <Kernel kK, int M, int N = 1>
HWY_INLINE void TileN(int n, const TileArgs& a) {
  if constexpr (N < MaxN(kK, M)) {
    if (n != N) return TileN<kK, M, N + 1>(n, a);
  }
  if constexpr (kK == Kernel::Grouped) {
    GroupedTile<M, N>(a);
  } else if constexpr (kK == Kernel::DenseNonNeg) {
#if AI8X_U8_STEP
    DenseTile<StepNonNeg, M, N>(a);
#endif
  } else if constexpr (kK == Kernel::DenseNonNeg2) {
#if AI8X_U8_STEP
    DenseTile<StepNonNeg2, M, N>(a);
#endif
  } else {
    DenseTile<StepTarget, M, N>(a);
  }
}

template <Kernel kK, int M = 1>
HWY_INLINE void TileMN(int m, int n, const TileArgs& a) {
  if constexpr (M < kMaxM) {
    if (m != M) return TileMN<kK, M + 1>(m, n, a);
  }
  TileN<kK, M>(n, a);
}

int FloorMod(int a, int b) {
  const int r = a % b;
  return r < 0 ? r + b : r;
}

void ConvRowsImpl(const ConvPlan& p, int y0, int y1) {
  const D32 d;
  const int L = static_cast<int>(hn::Lanes(d));
  const int opad = p.ocb * L;
  const int phases = p.uw < p.ow ? p.uw : p.ow;
  // The non-negative-input kernel: its int8 weights, no +128 offset to subtract.
  const bool nonneg = AI8X_U8_STEP && !p.grouped && p.w8 != nullptr;
  const int quad_bytes = nonneg ? 4 : kTargetQuadBytes;  // (StepNonNeg's, StepTarget's)
  // Taps (offsets relative to the output pixel's base) and their +128 offsets per column phase.
  // Without upsampling every tap counts on every row: computed once, not per row.
  std::vector<Tap> taps(static_cast<size_t>(p.kh) * p.kw * phases);
  std::vector<int> ntaps(phases);
  std::vector<int32_t> corr(static_cast<size_t>(opad) * phases, 0);
  std::vector<int> rtaps(p.kh), ctaps(p.kw);
  const bool per_row = p.uh > 1 || p.uw > 1;
  auto make_taps = [&](int y) {
    int nr = 0;
    for (int i = 0; i < p.kh; ++i)
      if (FloorMod(y * p.sh + i * p.dh - p.pbh, p.uh) == 0) rtaps[nr++] = i;
    for (int r = 0; r < phases; ++r) {
      Tap* tp = taps.data() + static_cast<size_t>(r) * p.kh * p.kw;
      int32_t* cr = corr.data() + static_cast<size_t>(r) * opad;
      int nc = 0;
      for (int j = 0; j < p.kw; ++j)
        if (FloorMod(r * p.sw + j * p.dw - p.pbw, p.uw) == 0) ctaps[nc++] = j;
      int nt = 0;
      for (int ii = 0; ii < nr; ++ii)
        for (int jj = 0; jj < nc; ++jj) {
          const int i = rtaps[ii], j = ctaps[jj];
          const int t = i * p.kw + j;
          tp[nt].in_off = static_cast<ptrdiff_t>(i * p.dh) * p.in_row +
                          static_cast<ptrdiff_t>(j * p.dw) * p.in_pix;
          tp[nt].w_off = p.grouped ? static_cast<ptrdiff_t>(t) * p.ipg * opad
                                   : static_cast<ptrdiff_t>(t) * p.c4 * L * quad_bytes;
          ++nt;
        }
      ntaps[r] = nt;
      if (!p.grouped && !nonneg) {  // the +128 offset of exactly these taps
        std::fill(cr, cr + opad, 0);
        for (int ii = 0; ii < nr; ++ii)
          for (int jj = 0; jj < nc; ++jj) {
            const int32_t* ws = p.wsum128 + static_cast<size_t>(rtaps[ii] * p.kw + ctaps[jj]) * opad;
            for (int o = 0; o < opad; o += L)
              hn::StoreU(hn::Add(hn::LoadU(d, cr + o), hn::LoadU(d, ws + o)), d, cr + o);
          }
      }
    }
  };
  if (!per_row && y0 < y1) make_taps(y0);
  for (int y = y0; y < y1; ++y) {
    if (per_row) make_taps(y);
    const uint8_t* row_in = p.in + static_cast<ptrdiff_t>(y) * p.sh * p.in_row;
    for (int r = 0; r < phases; ++r) {
      const int npix = (p.ow - r + p.uw - 1) / p.uw;  // x = r, r + uw, ...
      TileArgs a;
      a.p = &p;
      a.pix_step = static_cast<ptrdiff_t>(p.uw) * p.sw * p.in_pix;
      a.taps = taps.data() + static_cast<size_t>(r) * p.kh * p.kw;
      a.nt = ntaps[r];
      a.corr = corr.data() + static_cast<size_t>(r) * opad;
      a.out_step = static_cast<ptrdiff_t>(p.uw) * opad;
      a.out_step8 = static_cast<ptrdiff_t>(p.uw) * p.out_cs;
      a.out = nullptr;
      a.out8 = nullptr;
      for (int ob0 = 0; ob0 < p.ocb; ob0 += kMaxM) {
        const int m = p.ocb - ob0 < kMaxM ? p.ocb - ob0 : kMaxM;
        const Kernel kind = p.grouped ? Kernel::Grouped
                            : nonneg  ? (p.pair16 ? Kernel::DenseNonNeg2 : Kernel::DenseNonNeg)
                                      : Kernel::Dense;
        const int nmax = MaxN(kind, m);
        a.ob0 = ob0;
        for (int q = 0; q < npix; q += nmax) {
          const int n = npix - q < nmax ? npix - q : nmax;
          const int x = r + q * p.uw;
          a.in = row_in + static_cast<ptrdiff_t>(x) * p.sw * p.in_pix;
          if (p.mode == Epilogue::U8) {
            a.out8 = p.out8 + (static_cast<size_t>(y) * p.ow + x) * p.out_cs;
          } else {
            a.out = p.out + (static_cast<size_t>(y) * p.ow + x) * opad;
          }
          if (kind == Kernel::Grouped) {
            TileMN<Kernel::Grouped>(m, n, a);
          } else if (kind == Kernel::DenseNonNeg) {
            TileMN<Kernel::DenseNonNeg>(m, n, a);
          } else if (kind == Kernel::DenseNonNeg2) {
            TileMN<Kernel::DenseNonNeg2>(m, n, a);
          } else {
            TileMN<Kernel::Dense>(m, n, a);
          }
        }
      }
    }
  }
}

int LanesImpl() { return static_cast<int>(hn::Lanes(D32())); }
int DenseWeightLayoutImpl() { return kWeightLayout; }
const char* TargetNameImpl() { return hwy::TargetName(HWY_TARGET); }

void EltwiseIntoImpl(int32_t* a, const int32_t* b, size_t n, Eltwise op) {
  const D32 d;
  const size_t L = hn::Lanes(d);
  size_t i = 0;
  for (; i + L <= n; i += L) {
    const V32 x = hn::LoadU(d, a + i), y = hn::LoadU(d, b + i);
    V32 r = x;
    switch (op) {
      case Eltwise::Add: r = hn::Add(x, y); break;  // wraps, as the reference does on int32 overflow
      case Eltwise::Sub: r = hn::Sub(x, y); break;
      case Eltwise::Or: r = hn::Or(x, y); break;
      case Eltwise::Xor: r = hn::Xor(x, y); break;
      default: break;
    }
    hn::StoreU(r, d, a + i);
  }
  for (; i < n; ++i) {
    const uint32_t x = static_cast<uint32_t>(a[i]), y = static_cast<uint32_t>(b[i]);
    switch (op) {
      case Eltwise::Add: a[i] = static_cast<int32_t>(x + y); break;
      case Eltwise::Sub: a[i] = static_cast<int32_t>(x - y); break;
      case Eltwise::Or: a[i] = static_cast<int32_t>(x | y); break;
      case Eltwise::Xor: a[i] = static_cast<int32_t>(x ^ y); break;
      default: break;
    }
  }
}

bool AllNonNegativeU8Impl(const uint8_t* p, size_t n) {
  const hn::ScalableTag<uint8_t> d8;
  const size_t L8 = hn::Lanes(d8);
  auto mn = hn::Set(d8, 255);
  size_t i = 0;
  for (; i + L8 <= n; i += L8) mn = hn::Min(mn, hn::LoadU(d8, p + i));
  HWY_ALIGN uint8_t lanes[hn::MaxLanes(d8)];
  hn::Store(mn, d8, lanes);
  uint8_t low = 255;
  for (size_t l = 0; l < L8; ++l) low = lanes[l] < low ? lanes[l] : low;
  for (; i < n; ++i) low = p[i] < low ? p[i] : low;
  return low >= 128;
}

void Clamp8Impl(int32_t* a, size_t n) {
  const D32 d;
  const size_t L = hn::Lanes(d);
  size_t i = 0;
  for (; i + L <= n; i += L)
    hn::StoreU(hn::Min(hn::Max(hn::LoadU(d, a + i), hn::Set(d, -128)), hn::Set(d, 127)), d,
               a + i);
  for (; i < n; ++i) a[i] = a[i] < -128 ? -128 : a[i] > 127 ? 127 : a[i];
}

void PoolMaxU8Impl(const uint8_t* in, ptrdiff_t in_row, int cs, int oh, int ow, int ph, int pw,
                   int sh, int sw, int dh, int dw, uint8_t* out) {
  const hn::ScalableTag<uint8_t> d8;
  const int L8 = static_cast<int>(hn::Lanes(d8));
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      const uint8_t* p0 = in + static_cast<ptrdiff_t>(y) * sh * in_row +
                          static_cast<ptrdiff_t>(x) * sw * cs;
      uint8_t* q = out + (static_cast<size_t>(y) * ow + x) * cs;
      int c = 0;
      for (; c + L8 <= cs; c += L8) {
        auto m = hn::LoadU(d8, p0 + c);
        for (int i = 0; i < ph; ++i)
          for (int j = 0; j < pw; ++j)
            m = hn::Max(m, hn::LoadU(d8, p0 + i * dh * in_row +
                                             static_cast<ptrdiff_t>(j) * dw * cs + c));
        hn::StoreU(m, d8, q + c);
      }
#if HWY_TARGET != HWY_SCALAR
      const hn::Full128<uint8_t> d16;  // 128-bit vectors exist on every target but scalar
      for (; c + 16 <= cs; c += 16) {
        auto m = hn::LoadU(d16, p0 + c);
        for (int i = 0; i < ph; ++i)
          for (int j = 0; j < pw; ++j)
            m = hn::Max(m, hn::LoadU(d16, p0 + i * dh * in_row +
                                              static_cast<ptrdiff_t>(j) * dw * cs + c));
        hn::StoreU(m, d16, q + c);
      }
#endif
      for (; c < cs; ++c) {
        uint8_t m = p0[c];
        for (int i = 0; i < ph; ++i)
          for (int j = 0; j < pw; ++j) {
            const uint8_t v = p0[i * dh * in_row + static_cast<ptrdiff_t>(j) * dw * cs + c];
            m = v > m ? v : m;
          }
        q[c] = m;
      }
    }
}

void ToSignedBytesImpl(const uint8_t* src, size_t n, uint8_t* dst) {
  const hn::ScalableTag<uint8_t> d8;
  const size_t L = hn::Lanes(d8);
  const auto k80 = hn::Set(d8, 0x80);
  size_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(hn::Xor(hn::LoadU(d8, src + i), k80), d8, dst + i);
  for (; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ 0x80);
}

void SplitInput16Impl(const uint8_t* src, size_t n, int16_t* dst) {
  size_t i = 0;
#if !AI8X_GENERIC
  // 16 bytes (4 quads) -> 32: a byte shuffle that puts a zero byte above each one.
  const hn::Full128<uint8_t> d8;
  HWY_ALIGN static constexpr uint8_t kLo[16] = {0, 0x80, 2, 0x80, 1, 0x80, 3, 0x80,
                                                4, 0x80, 6, 0x80, 5, 0x80, 7, 0x80};
  HWY_ALIGN static constexpr uint8_t kHi[16] = {8,  0x80, 10, 0x80, 9,  0x80, 11, 0x80,
                                                12, 0x80, 14, 0x80, 13, 0x80, 15, 0x80};
  const auto lo = hn::Load(d8, kLo), hi = hn::Load(d8, kHi);
  uint8_t* out = reinterpret_cast<uint8_t*>(dst);
  for (; i + 16 <= n; i += 16) {
    const auto v = hn::LoadU(d8, src + i);
    hn::StoreU(hn::TableLookupBytesOr0(v, lo), d8, out + 2 * i);
    hn::StoreU(hn::TableLookupBytesOr0(v, hi), d8, out + 2 * i + 16);
  }
#endif
  for (; i + 4 <= n; i += 4) {
    dst[i] = src[i];
    dst[i + 1] = src[i + 2];
    dst[i + 2] = src[i + 1];
    dst[i + 3] = src[i + 3];
  }
}

bool ToActU8Impl(const int32_t* src, size_t plane, int channels, int cs, uint8_t* dst) {
  const D32 d;
  const size_t L = hn::Lanes(d);
  if (plane < L) {  // a few pixels of many channels (1-D data, a flattened input): by pixel
    int32_t lo = 0, hi = 0;
    for (size_t p = 0; p < plane; ++p) {
      uint8_t* o = dst + p * cs;
      for (int c = 0; c < channels; ++c) {
        const int32_t v = src[c * plane + p];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        o[c] = static_cast<uint8_t>(v + 128);
      }
      for (int c = channels; c < cs; ++c) o[c] = 128;
    }
    return lo >= -128 && hi <= 127;
  }
  V32 vmin = hn::Zero(d), vmax = hn::Zero(d);
  int32_t lo = 0, hi = 0;
  HWY_ALIGN int32_t tmp[hn::MaxLanes(d)];
  // A quad of channels per pass: each pixel's 4 bytes built as one int32 lane.
  for (int c = 0; c < cs; c += 4) {
    const int nc = channels - c < 4 ? channels - c : 4;
    size_t p = 0;
    for (; p + L <= plane; p += L) {
      V32 w = hn::Zero(d);
      for (int k = 0; k < 4; ++k) {
        const V32 v = k < nc ? hn::LoadU(d, src + (c + k) * plane + p) : hn::Zero(d);
        vmin = hn::Min(vmin, v);
        vmax = hn::Max(vmax, v);
        const V32 b = hn::And(hn::Add(v, hn::Set(d, 128)), hn::Set(d, 0xFF));
        w = hn::Or(w, hn::ShiftLeftSame(b, 8 * k));
      }
      if (cs == 4) {
        hn::StoreU(w, d, tmp);
        std::memcpy(dst + p * 4, tmp, L * 4);
      } else {
        hn::Store(w, d, tmp);
        for (size_t i = 0; i < L; ++i) std::memcpy(dst + (p + i) * cs + c, &tmp[i], 4);
      }
    }
    for (; p < plane; ++p)
      for (int k = 0; k < 4; ++k) {
        const int32_t v = k < nc ? src[(c + k) * plane + p] : 0;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        dst[p * cs + c + k] = static_cast<uint8_t>(v + 128);
      }
  }
  lo = hn::GetLane(hn::MinOfLanes(d, vmin)) < lo ? hn::GetLane(hn::MinOfLanes(d, vmin)) : lo;
  hi = hn::GetLane(hn::MaxOfLanes(d, vmax)) > hi ? hn::GetLane(hn::MaxOfLanes(d, vmax)) : hi;
  return lo >= -128 && hi <= 127;
}

bool NarrowI64Impl(const int64_t* src, size_t n, int32_t* dst) {
  int64_t lo = 0, hi = 0;
  size_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<int64_t> d64;
  const hn::Repartition<int32_t, decltype(d64)> d32;  // the same bytes as 2L int32 lanes
  const size_t L = hn::Lanes(d64);
  auto vmin = hn::Zero(d64), vmax = hn::Zero(d64);
  for (; i + 2 * L <= n; i += 2 * L) {
    const auto a = hn::LoadU(d64, src + i), b = hn::LoadU(d64, src + i + L);
    vmin = hn::Min(vmin, hn::Min(a, b));
    vmax = hn::Max(vmax, hn::Max(a, b));
    // The low halves (little-endian: the even int32 lanes), a's first: the values themselves
    // when they pass the range check.
    hn::StoreU(hn::ConcatEven(d32, hn::BitCast(d32, b), hn::BitCast(d32, a)), d32, dst + i);
  }
  lo = hn::GetLane(hn::MinOfLanes(d64, vmin));
  hi = hn::GetLane(hn::MaxOfLanes(d64, vmax));
#endif
  for (; i < n; ++i) {
    lo = src[i] < lo ? src[i] : lo;
    hi = src[i] > hi ? src[i] : hi;
    dst[i] = static_cast<int32_t>(src[i]);
  }
  return lo >= -128 && hi <= 127;
}

void PixelArgmaxImpl(const int32_t* map, int channels, size_t plane, int32_t* top,
                     int32_t* best) {
  std::copy(map, map + plane, top);
  std::fill(best, best + plane, 0);
  const D32 d;
  const size_t L = hn::Lanes(d);
  for (int ch = 1; ch < channels; ++ch) {
    const int32_t* v = map + static_cast<size_t>(ch) * plane;
    const V32 c = hn::Set(d, ch);
    size_t p = 0;
    for (; p + L <= plane; p += L) {
      const V32 x = hn::LoadU(d, v + p), t = hn::LoadU(d, top + p);
      const auto larger = hn::Gt(x, t);  // strictly: a tie keeps the lower channel
      hn::StoreU(hn::IfThenElse(larger, x, t), d, top + p);
      hn::StoreU(hn::IfThenElse(larger, c, hn::LoadU(d, best + p)), d, best + p);
    }
    for (; p < plane; ++p) {
      const bool larger = v[p] > top[p];
      top[p] = larger ? v[p] : top[p];
      best[p] = larger ? ch : best[p];
    }
  }
}

void MinMaxImpl(const int32_t* a, size_t n, int32_t* mn, int32_t* mx) {
  const D32 d;
  const size_t L = hn::Lanes(d);
  V32 vmin = hn::Set(d, INT32_MAX), vmax = hn::Set(d, INT32_MIN);
  size_t i = 0;
  for (; i + L <= n; i += L) {
    const V32 v = hn::LoadU(d, a + i);
    vmin = hn::Min(vmin, v);
    vmax = hn::Max(vmax, v);
  }
  int32_t lo = hn::GetLane(hn::MinOfLanes(d, vmin)), hi = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i) {
    lo = a[i] < lo ? a[i] : lo;
    hi = a[i] > hi ? a[i] : hi;
  }
  *mn = lo;
  *mx = hi;
}


// int64 accumulators -> int32 outputs (== ref::output_stage), n elements.
void OutputStage64Impl(const int64_t* a, size_t n, int shift, int wide, Activation act,
                       int32_t* out) {
  const hn::ScalableTag<int64_t> d64;
  const hn::RebindToUnsigned<decltype(d64)> du64;
  const hn::Rebind<uint32_t, decltype(d64)> du32;
  const hn::Rebind<int32_t, decltype(d64)> d32;
  const size_t L = hn::Lanes(d64);
  const int s = 7 - shift;
  const int64_t lim = int64_t{1} << 40;  // clamping to +-2^40 changes no requantized result
  auto finish = [&](hn::Vec<decltype(d32)> v) {
    if (act == Activation::ReLU) v = hn::Min(hn::Max(v, hn::Zero(d32)), hn::Set(d32, 127));
    if (act == Activation::Abs) v = hn::Min(hn::Max(hn::Abs(v), hn::Zero(d32)), hn::Set(d32, 127));
    return v;
  };
  size_t i = 0;
  for (; i + L <= n; i += L) {
    auto v = hn::LoadU(d64, a + i);
    if (!wide) {
      v = hn::Min(hn::Max(v, hn::Set(d64, -lim)), hn::Set(d64, lim));
      v = s > 0 ? hn::ShiftRightSame(hn::Add(v, hn::Set(d64, int64_t{1} << (s - 1))), s)
                : hn::ShiftLeftSame(v, -s);
      v = hn::Min(hn::Max(v, hn::Set(d64, -128)), hn::Set(d64, 127));
    }
    const auto v32 = hn::BitCast(d32, hn::TruncateTo(du32, hn::BitCast(du64, v)));
    hn::StoreU(finish(v32), d32, out + i);
  }
  for (; i < n; ++i) {
    int64_t v = a[i];
    if (!wide) {
      v = v < -lim ? -lim : v > lim ? lim : v;
      v = s > 0 ? (v + (int64_t{1} << (s - 1))) >> s : v * (int64_t{1} << -s);
      v = v < -128 ? -128 : v > 127 ? 127 : v;
    }
    int32_t r = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
    if (act == Activation::ReLU) r = r < 0 ? 0 : r > 127 ? 127 : r;
    if (act == Activation::Abs) {
      r = r < 0 ? static_cast<int32_t>(0u - static_cast<uint32_t>(r)) : r;
      r = r < 0 ? 0 : r > 127 ? 127 : r;
    }
    out[i] = r;
  }
}

// dst[o * pixels + p] = src[p * opad + o] for o < channels (HWC -> CHW), 4x4 blocks.
void TransposeOutImpl(const int32_t* src, size_t pixels, int opad, int channels, int32_t* dst) {
  size_t p = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::Full128<int32_t> d;
  const hn::Full128<int64_t> d64;
  const int o4 = channels & ~3;
  constexpr size_t kBlk = 64;
  // Blocks of kBlk pixels: every channel row of dst gets whole 64-byte lines per block
  // (a 4-pixel walk over all channels would write with the plane's stride and thrash L1).
  for (; p + kBlk <= pixels; p += kBlk) {
    int o = 0;
    for (; o < o4; o += 4) {
      for (size_t pp = p; pp < p + kBlk; pp += 4) {
        const int32_t* s0 = src + pp * opad + o;
        const auto r0 = hn::LoadU(d, s0), r1 = hn::LoadU(d, s0 + opad);
        const auto r2 = hn::LoadU(d, s0 + 2 * opad), r3 = hn::LoadU(d, s0 + 3 * opad);
        const auto t0 = hn::BitCast(d64, hn::InterleaveLower(d, r0, r1));
        const auto t1 = hn::BitCast(d64, hn::InterleaveLower(d, r2, r3));
        const auto t2 = hn::BitCast(d64, hn::InterleaveUpper(d, r0, r1));
        const auto t3 = hn::BitCast(d64, hn::InterleaveUpper(d, r2, r3));
        int32_t* q = dst + static_cast<size_t>(o) * pixels + pp;
        hn::StoreU(hn::BitCast(d, hn::InterleaveLower(d64, t0, t1)), d, q);
        hn::StoreU(hn::BitCast(d, hn::InterleaveUpper(d64, t0, t1)), d, q + pixels);
        hn::StoreU(hn::BitCast(d, hn::InterleaveLower(d64, t2, t3)), d, q + 2 * pixels);
        hn::StoreU(hn::BitCast(d, hn::InterleaveUpper(d64, t2, t3)), d, q + 3 * pixels);
      }
    }
    for (; o < channels; ++o)
      for (size_t k = p; k < p + kBlk; ++k) dst[static_cast<size_t>(o) * pixels + k] = src[k * opad + o];
  }
#endif
  for (; p < pixels; ++p)
    for (int o = 0; o < channels; ++o) dst[static_cast<size_t>(o) * pixels + p] = src[p * opad + o];
}
}  // namespace HWY_NAMESPACE
}  // namespace ai8xsim::fast::detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ai8xsim::fast::detail {
HWY_EXPORT(ConvRowsImpl);
HWY_EXPORT(LanesImpl);
HWY_EXPORT(DenseWeightLayoutImpl);
HWY_EXPORT(TargetNameImpl);
HWY_EXPORT(EltwiseIntoImpl);
HWY_EXPORT(Clamp8Impl);
HWY_EXPORT(AllNonNegativeU8Impl);
HWY_EXPORT(MinMaxImpl);
HWY_EXPORT(PixelArgmaxImpl);
HWY_EXPORT(NarrowI64Impl);
HWY_EXPORT(PoolMaxU8Impl);
HWY_EXPORT(ToActU8Impl);
HWY_EXPORT(SplitInput16Impl);
HWY_EXPORT(ToSignedBytesImpl);
HWY_EXPORT(OutputStage64Impl);
HWY_EXPORT(TransposeOutImpl);

void ConvRows(const ConvPlan& p, int y0, int y1) { HWY_DYNAMIC_DISPATCH(ConvRowsImpl)(p, y0, y1); }
int Lanes() { return HWY_DYNAMIC_DISPATCH(LanesImpl)(); }
int DenseWeightLayout() { return HWY_DYNAMIC_DISPATCH(DenseWeightLayoutImpl)(); }
const char* TargetName() { return HWY_DYNAMIC_DISPATCH(TargetNameImpl)(); }
void EltwiseInto(int32_t* a, const int32_t* b, size_t n, Eltwise op) {
  HWY_DYNAMIC_DISPATCH(EltwiseIntoImpl)(a, b, n, op);
}
void Clamp8(int32_t* a, size_t n) { HWY_DYNAMIC_DISPATCH(Clamp8Impl)(a, n); }
bool AllNonNegativeU8(const uint8_t* p, size_t n) {
  return HWY_DYNAMIC_DISPATCH(AllNonNegativeU8Impl)(p, n);
}
void MinMax(const int32_t* a, size_t n, int32_t* mn, int32_t* mx) {
  HWY_DYNAMIC_DISPATCH(MinMaxImpl)(a, n, mn, mx);
}
void PixelArgmax(const int32_t* map, int channels, size_t plane, int32_t* top, int32_t* best) {
  HWY_DYNAMIC_DISPATCH(PixelArgmaxImpl)(map, channels, plane, top, best);
}
bool NarrowI64(const int64_t* src, size_t n, int32_t* dst) {
  return HWY_DYNAMIC_DISPATCH(NarrowI64Impl)(src, n, dst);
}
void PoolMaxU8(const uint8_t* in, ptrdiff_t in_row, int cs, int oh, int ow, int ph, int pw,
               int sh, int sw, int dh, int dw, uint8_t* out) {
  HWY_DYNAMIC_DISPATCH(PoolMaxU8Impl)(in, in_row, cs, oh, ow, ph, pw, sh, sw, dh, dw, out);
}
void ToSignedBytes(const uint8_t* src, size_t n, uint8_t* dst) {
  HWY_DYNAMIC_DISPATCH(ToSignedBytesImpl)(src, n, dst);
}
void SplitInput16(const uint8_t* src, size_t n, int16_t* dst) {
  HWY_DYNAMIC_DISPATCH(SplitInput16Impl)(src, n, dst);
}
bool ToActU8(const int32_t* src, size_t plane, int channels, int cs, uint8_t* dst) {
  return HWY_DYNAMIC_DISPATCH(ToActU8Impl)(src, plane, channels, cs, dst);
}
void OutputStage64(const int64_t* acc, size_t n, int shift, bool wide, Activation act,
                   int32_t* out) {
  HWY_DYNAMIC_DISPATCH(OutputStage64Impl)(acc, n, shift, wide ? 1 : 0, act, out);
}
void TransposeOut(const int32_t* src, size_t pixels, int opad, int channels, int32_t* dst) {
  HWY_DYNAMIC_DISPATCH(TransposeOutImpl)(src, pixels, opad, channels, dst);
}
}  // namespace ai8xsim::fast::detail
#endif  // HWY_ONCE
