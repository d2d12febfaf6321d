// ai8xsim fast kernels: the interface between the layer driver (kernels/fast.cpp) and the
// SIMD row kernels (kernels/fast_simd.cpp, compiled once per instruction set by Highway and
// chosen at run time with HWY_DYNAMIC_DISPATCH). Internal: use kernels/fast.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ai8xsim/config.h"

namespace ai8xsim::fast::detail {

// What the row kernel does with a finished accumulator (true dot product, int32):
enum class Epilogue : int {
  Raw = 0,       // store the dot product (bias added later in int64 by the driver)
  Requant8 = 1,  // bias, requantize to 8 bits, activate  (== ref::output_stage, !wide)
  Wide = 2,      // bias, keep the low 32 bits, activate   (== ref::output_stage, wide)
  U8 = 3,        // as Requant8, stored as bytes value + 128 (the kernels' activation layout)
};

// One convolution, ready for the row kernel. Geometry is the (possibly axis-swapped or
// flattened) problem: output pixel (y, x), tap (i, j) reads buffer row y*sh + i*dh, column
// x*sw + j*dw, which is stretched-input position (row - pbh, col - pbw); a tap whose stretched
// position is not a multiple of the upsampling factor is skipped (ConvTranspose2d's inserted
// zeros), every other position outside the input is padding already in the buffer.
struct ConvPlan {
  bool grouped = false;  // false: dense u8 x s8 dot-product kernel; true: channel-lane kernel
  int lanes = 0;         // int32 lanes the weights were packed for (oc per block)
  int ocb = 0;           // output-channel blocks; opad = ocb * lanes
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, uh = 1, uw = 1, pbh = 0, pbw = 0;
  int oh = 0, ow = 0;
  // Input buffer. Dense: uint8 (value + 128; padding 128), HWC, pixel stride in_pix >= 4*c4
  // (bytes past 4*c4 are not read); rows in_row bytes apart. With DenseWeightLayout() == 1
  // and w8 null, that buffer split by SplitInput16 (twice the bytes, in_pix and in_row too);
  // with w8, that buffer as x = u - 128 (ToSignedBytes: int8, all in [0, 127]).
  // Grouped: int8 [row][col][ipg][opad] (lane o of input channel ci is in[o*ipg + ci]).
  const uint8_t* in = nullptr;
  ptrdiff_t in_row = 0, in_pix = 0;
  int c4 = 0;   // dense: input channels / 4 (rounded up)
  int ipg = 0;  // grouped: input channels per output channel
  // Weights. Dense: [ocb][tap][c4] quads in DenseWeightLayout(); wsum128: int32 [tap][opad] =
  // 128 * sum_c w (the offset the +128 input bias adds). Grouped: int32 [tap][ipg][opad].
  const int8_t* w = nullptr;
  const int32_t* wsum128 = nullptr;
  const int32_t* wg = nullptr;
  // Dense, DenseWeightLayout() == 1 only: the same weights as int8 [ocb][tap][c4][lanes][4],
  // given when every input value is >= 0 (AllNonNegativeU8): the kernel then multiplies bytes
  // (PMADDUBSW) and wsum128 is not used. Null: the split-layout kernel on w.
  const int8_t* w8 = nullptr;
  // With w8: for every lane, tap, quad pair (2k, 2k+1) and byte pair (0-1, 2-3), the 4 products
  // of those weights with any inputs in [0, 127] sum inside int16 (the driver checked the
  // weights): the kernel then adds two quads' PMADDUBSW pair sums before widening them.
  bool pair16 = false;
  // Epilogue.
  Epilogue mode = Epilogue::Raw;
  int shift = 0;
  Activation act = Activation::None;
  const int32_t* bias32 = nullptr;  // [opad]: Requant8: bias128 (|.| < 2^30); Wide: low 32 bits
  int32_t* out = nullptr;           // Raw, Requant8, Wide: [oh * ow][opad] int32, HWC
  uint8_t* out8 = nullptr;          // U8: [oh * ow][out_cs] bytes, HWC
  int out_cs = 0;                   // U8: bytes per output pixel (channels rounded up to 4);
                                    // channels out_channels..out_cs-1 are written as 128 (zero)
};

int Lanes();              // int32 lanes of the dispatched target
// How the dispatched target wants one quad (4 input channels x `lanes` output channels) of
// dense weights: 0 = int8 [lane][4]; 1 = int16, the pairs (channel 0, 2) of every lane, then
// the pairs (1, 3) of every lane (the operands of PMADDWD, split once at prepare time).
int DenseWeightLayout();
const char* TargetName();  // its name (e.g. "AVX3_DL")
// Rows [y0, y1) of the output. Thread-safe for disjoint row ranges.
void ConvRows(const ConvPlan& p, int y0, int y1);
// Element-wise op of b into a, n elements.
void EltwiseInto(int32_t* a, const int32_t* b, size_t n, Eltwise op);
void Clamp8(int32_t* a, size_t n);
// The input of the split-layout kernel (DenseWeightLayout() == 1): bytes u0 u1 u2 u3 of each
// quad -> int16 u0 u2 u1 u3, zero-extended (the operand pairs of the split weights). n: bytes,
// a multiple of 4; dst: n int16.
void SplitInput16(const uint8_t* src, size_t n, int16_t* dst);
// The input of the byte kernel: bytes u = x + 128 -> x (u ^ 0x80, as int8 bits), n bytes.
void ToSignedBytes(const uint8_t* src, size_t n, uint8_t* dst);
// Whether every byte of p[0, n) is >= 128 (every value x = byte - 128 is >= 0).
bool AllNonNegativeU8(const uint8_t* p, size_t n);
// Max pooling of bytes (the kernels' activation layout; max of value + 128 is max of value):
// out[(y * ow + x) * cs + c] = max over i < ph, j < pw of
// in[(y * sh + i * dh) * in_row + (x * sw + j * dw) * cs + c], for c < cs.
void PoolMaxU8(const uint8_t* in, ptrdiff_t in_row, int cs, int oh, int ow, int ph, int pw,
               int sh, int sw, int dh, int dw, uint8_t* out);
// C x plane int32 (CHW) -> bytes value + 128, HWC with pixel stride cs (= C rounded up to 4;
// the pad channels get 128). false when a value is outside [-128, 127] (dst then unspecified).
bool ToActU8(const int32_t* src, size_t plane, int channels, int cs, uint8_t* dst);
// n int64 -> int32 (dst[i] = src[i]); false when a value is outside [-128, 127] (dst then
// unspecified): a sample file's int64 values read as the engine's.
bool NarrowI64(const int64_t* src, size_t n, int32_t* dst);
// Largest and smallest value of n int32.
void MinMax(const int32_t* a, size_t n, int32_t* mn, int32_t* mx);
// Per pixel of a C x plane int32 map (CHW): the channel of the largest value, the first of
// equal ones, into best[plane]; top[plane] is scratch.
void PixelArgmax(const int32_t* map, int channels, size_t plane, int32_t* top, int32_t* best);

// == ref::output_stage on n accumulators.
void OutputStage64(const int64_t* acc, size_t n, int shift, bool wide, Activation act,
                   int32_t* out);
// HWC -> CHW: dst[o * pixels + p] = src[p * opad + o] for o < channels.
void TransposeOut(const int32_t* src, size_t pixels, int opad, int channels, int32_t* dst);

}  // namespace ai8xsim::fast::detail
