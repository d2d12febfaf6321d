// ai8xsim: izer's rolling data buffer (`data_buffer`, `buffer_shift`, `buffer_insert`).
//
// izer holds the buffer as an array of dim[0] entries x channels x dim[1] (the engine keeps it
// as a Tensor with c = entries, h = channels, w = dim[1]), zero at the start of its one-sample
// run (--zero-sram). Per layer of its simulation:
//  - a layer reading the buffer (`in_sequences: <name>`) gets that array; a Conv1d layer
//    transposes it to channels x (dim[1] * dim[0]) (entry index fastest), any other layer
//    reshapes the array as it is to its in_dim (C order);
//  - a `buffer_shift: n` passthrough returns the buffer rolled n entries towards the oldest
//    with the newest n entries zeroed, and the buffer becomes that;
//  - a `buffer_insert: n` layer's output, in HWC order, reshaped to channels x dim[1], becomes
//    each of the newest n entries.
// In data memory (the hardware's view) channel c of the buffer lives on the c-th processor of
// `processors` and pixel p = column * dim[0] + entry at byte `offset` + 4 p of its instance:
// what a Conv1d layer reads there is the transposed array above.
#pragma once
#include <cstdint>
#include <string>

#include "ai8xsim/tensor.h"
#include "sim/memory/datamem.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

// The buffer at the start of izer's single-sample run: all zero.
Tensor empty_buffer(const DataBufferConfig& b);

// What layer L (reading the buffer) gets as its gathered input.
Tensor buffer_input(const Layer& L, const Tensor& buffer);

// izer's shift: roll by n entries towards entry 0, zero the newest n entries.
Tensor shift_buffer(const Tensor& buffer, int n);

// izer's insertion of a layer's output (C x H x W) as the newest n entries.
void insert_into_buffer(Tensor& buffer, const Tensor& output, int n);

// The buffer as data memory holds it: channels x (dim[1] * dim[0]) x 1, pixel = column *
// dim[0] + entry.
Tensor buffer_pixels(const Tensor& buffer);

// A buffer_shift layer in data memory: it reads `in_dim` pixels starting `shift` pixels after
// the buffer's first (in_offset = offset + 4 shift) and writes them at the buffer's first
// (out_offset = offset). shift_read_view: those pixels of `buffer` (channels x in_dim);
// shift_written_view: the first in_dim pixels of the shifted buffer; shift_input_from_memory:
// `buffer` with those pixels replaced by what memory holds (`read`, channels x in_dim).
Tensor shift_read_view(const Layer& L, const Tensor& buffer);
Tensor shift_written_view(const Layer& L, const Tensor& shifted);
Tensor shift_input_from_memory(const Layer& L, const Tensor& buffer, const Tensor& read);

// ---- where the buffer lives in data memory --------------------------------------------------

// The buffer's words (one pass: channel k on the k-th processor of `processors`, pixels at
// `offset` + 4 p), as WordAccess with kind Load and layer kInputLoader (it is data the run
// starts from); `channel` per lane, `pixel` p.
void buffer_words(const Network& net, const WordVisitor& visit);

// For an address in the buffer: "data buffer `name`: entry i, column j, channels [...]
// (kept from one inference to the next)"; empty when the address is not in the buffer.
std::string describe_buffer_word(const Network& net, uint32_t address);

}  // namespace ai8xsim
