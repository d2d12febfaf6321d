// ai8xsim: izer's data memory overlap check, made statically (no data) from the words the
// input loader and each layer's output stage write (sim/memory/datamem.h).
//
// izer keeps a map of protected data memory words while it generates the known-answer test:
//  - it starts as the words the input loader writes (nothing with --fifo);
//  - each layer, in execution order, must not write a protected word ("layer L output for
//    CHW=c,row,col is overwriting input at offset X that was created by layer K / the input
//    loader") nor the same word twice; streaming layers are not checked;
//  - after a layer: when the next layer streams, its output words are added to the map;
//    otherwise the map becomes the output words of every earlier `output: true` layer plus
//    this layer's output (which the next layer reads).
// `--overlap-data` turns both layer checks off (izer's overwrite_ok). The input loader checks
// its own words in every case (a word written twice). docs/memory.md describes the rule and
// where it differs from "data a later layer still needs".
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ai8xsim/memmap.h"
#include "sim/model/checks.h"
#include "ai8xsim/network.h"

namespace ai8xsim {

// OverlapFinding (what izer's check finds): ai8xsim/memmap.h, where the memory map carries it.

// Every conflict izer's check finds, the first word of each (layer, kind), in izer's order;
// whether or not --overlap-data is given. Layers whose words cannot be laid out (a broken
// processor map, which other rules report) are left out.
std::vector<OverlapFinding> find_overlaps(const Network& net);

// The findings izer refuses: Loader always, the others unless net.overlap_data.
// Rules: "input-overwrite" (the loader), "data-overlap", "data-overwrite".
std::vector<Violation> overlap_violations(const Network& net);

}  // namespace ai8xsim
