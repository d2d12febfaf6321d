// ai8xsim: izer's known-answer test and input files, read and compared with the data memory.
//
// sampleoutput.h holds `#define SAMPLE_OUTPUT { ... }`: records `address, mask, count,
// count words...`, ended by a 0 address; check_output() in the generated main.c passes when
// (word at address & mask) == expected for every word. sampledata.h holds the input as
// `#define SAMPLE_INPUT_n { ... }`, and load_input() (main.c) either memcpy32()s each array to
// a data memory address or, with --fifo, pushes the arrays into the FIFOs.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/memory/datamem.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

// Every `#define NAME { 0x..., ... }` array of a C header.
std::map<std::string, std::vector<uint32_t>> parse_c_arrays(const std::string& text,
                                                            const std::string& what);
// A file's text; `.gz` files are decompressed.
std::string read_text_file(const std::string& path);

struct KatRecord {
  uint32_t address = 0;
  uint32_t mask = 0;
  std::vector<uint32_t> words;  // expected values of address, address + 4, ...
};

// The records of SAMPLE_OUTPUT. Throws Error(IO) naming `what` for a malformed list.
std::vector<KatRecord> parse_sample_output(const std::string& text, const std::string& what);
std::vector<KatRecord> read_sample_output(const std::string& path);

struct KatMismatch {
  uint32_t address = 0, mask = 0, expected = 0, found = 0;
  bool mapped = true;  // false: the address is outside data memory
};

struct KatResult {
  size_t records = 0;
  size_t words = 0;
  size_t matched = 0;
  std::vector<KatMismatch> mismatches;
  bool ok() const { return matched == words; }
};

KatResult check_kat(const DataMemory& mem, const std::vector<KatRecord>& records);

// The words izer's check_output() expects for a network: the output words of its output layers
// (`output: true`) and of the final layer, by address (what the report names for a mismatch).
std::map<uint32_t, WordAccess> kat_layout(const Network& net);

// "KAT: 98/100 words match (2 differ)" and one line per mismatch (at most `max_lines`, 0: all):
// address, expected and found (masked) words, what that address should hold (layer, channels,
// pixel, pass) and, when another layer wrote it last, who did.
std::string kat_report(const Network& net, const DataMemory& mem, const KatResult& result,
                       size_t max_lines = 50);

// ---- load_input() -------------------------------------------------------------------------

struct InputLoadCode {
  struct Copy {
    uint32_t address = 0;
    std::string array;  // the SAMPLE_INPUT_n define the copy reads
    size_t count = 0;   // words
  };
  std::vector<Copy> copies;                 // memcpy32(address, input_n, count)
  std::map<int, std::string> fifo_arrays;   // FIFO -> the SAMPLE_INPUT_n define pushed into it
};

// Reads load_input() (and the `static const uint32_t input_n[] = SAMPLE_INPUT_n;` lines) from
// the generated main.c / cnn.c text.
InputLoadCode parse_load_input(const std::string& c_text, const std::string& what);

struct ImageComparison {
  size_t words = 0;     // words either side writes
  size_t matched = 0;
  std::vector<std::string> differences;  // the first few, described
  bool ok() const { return matched == words; }
};

// Compare the data memory image load_input() produces (memcpy32 of the sampledata arrays) with
// `mem` (what ai8xsim's loader wrote): every word either side writes must be equal.
ImageComparison compare_loaded_image(const Network& net, const DataMemory& mem,
                                     const std::map<std::string, std::vector<uint32_t>>& arrays,
                                     const InputLoadCode& code);

// Compare the FIFO streams ai8xsim computes with the arrays load_input() pushes into them.
ImageComparison compare_fifo_streams(const std::vector<std::vector<uint32_t>>& streams,
                                     const std::map<std::string, std::vector<uint32_t>>& arrays,
                                     const InputLoadCode& code);

// ---- izer's files for any sample (`ai8xsim kat`) -------------------------------------------

// One SAMPLE_INPUT_n array of sampledata.h: what load_input() copies to `address` (memcpy32)
// or, with --fifo, pushes into FIFO `fifo`.
struct SampleInputArray {
  std::string name;      // SAMPLE_INPUT_<n>: n the first processor of the instance (HWC), the
                         // channel's processor (CHW), or the FIFO
  uint32_t address = 0;  // data memory (not FIFO)
  int fifo = -1;         // FIFO number, -1: data memory
  std::vector<uint32_t> words;
};
// The arrays izer writes into sampledata.h for `input`, in its order: HWC, one per memory
// instance the first layer reads (pixels x passes x operands, as memcpy32 copies them); CHW,
// one per channel (four pixels a word); --fifo, one per FIFO (izer's FIFO word order).
std::vector<SampleInputArray> sample_input_arrays(const Network& net, const Tensor& input);

// One word check_output() compares: `address`, `mask`, the expected (masked) value, and what
// the word holds (the output layer's WordAccess).
struct KatWord {
  uint32_t address = 0, mask = 0, value = 0;
  WordAccess access;
};
// The words izer's check_output() verifies after a run (outputs: by YAML layer index, as
// RunResult::layers), in izer's order: sorted by mask, then address, then value; at most
// max_checklines + 1 words when max_checklines >= 0 (izer's --max-checklines stops after the
// word that passes the limit).
std::vector<KatWord> kat_words(const Network& net, const std::vector<std::optional<Tensor>>& outputs,
                               long max_checklines = -1);
// izer's grouping of those words into SAMPLE_OUTPUT records (a new record where the mask
// changes or the address does not follow on), ended by a 0 address.
std::vector<uint32_t> sample_output_array(const std::vector<KatWord>& words);

// ---- a board's data memory dump (`check-memory --dump`) -------------------------------------

struct DumpWord {
  uint32_t address = 0, value = 0;
};
// A data memory dump read from a board. Without `base`: text, one `ADDRESS: WORD [WORD ...]`
// line per run of words (hex, `0x` optional; the words at consecutive addresses; a `<symbol>`
// after the address, blank lines and lines starting with # or // are skipped), as gdb's
// `x/Nxw` and OpenOCD's `mdw` print them. With `base`: the words of a 1-D integer .npy array
// (`path` ends in .npy) or of a raw little-endian binary file (OpenOCD `dump_image`, gdb
// `dump binary memory`), the first at `base`. Throws Error(Input) naming the file, the line and
// what was found.
std::vector<DumpWord> read_memory_dump(const std::string& path, const std::optional<uint32_t>& base);

struct DumpComparison {
  size_t words = 0;      // words in the dump
  size_t compared = 0;   // of which the simulation wrote at least one lane
  size_t matched = 0;
  size_t unwritten = 0;  // words no lane of which the run writes (not compared)
  size_t unmapped = 0;   // addresses outside data memory (not compared)
  size_t differing = 0;
  std::string report;    // summary line and one line per differing word (at most max_lines)
  bool ok() const { return differing == 0; }
};
// Compares the written lanes of every dumped word with `mem` (the simulation of the same
// sample), naming for each differing lane the layer, channel and pixel that wrote it last.
DumpComparison compare_dump(const Network& net, const DataMemory& mem,
                            const std::vector<DumpWord>& dump, size_t max_lines = 50);

constexpr const char* kGeneratedHeader = "// This file was @generated automatically\n\n";
// sampledata.h and sampleoutput.h as izer writes them.
std::string sampledata_h(const std::vector<SampleInputArray>& arrays);
std::string sampleoutput_h(const std::vector<KatWord>& words);

}  // namespace ai8xsim
