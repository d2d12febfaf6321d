// ai8xsim front ends' drawing: the memory map (ai8xsim/memmap.h) as a standalone SVG document:
// one column per data memory instance, per kernel memory processor and per bias group, one
// colored rectangle per region (class "region", data-* attributes naming it), a legend and
// the totals. Used by `run` and `check` (--memory-map); it reads the map only.
#pragma once
#include <string>

#include "ai8xsim/memmap.h"

namespace ai8xsim {

std::string memory_map_svg(const MemoryMap& map);

}  // namespace ai8xsim
