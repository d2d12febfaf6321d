// ai8xsim: the device rules izer enforces on a resolved network (processor maps, passes,
// data memory per instance, features a device lacks, ...). One place for every limit: the
// resolver refuses a network with the first violation, `ai8xsim check` lists them all.
// docs/izer-checks.md lists izer's checks and which of them ai8xsim makes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ai8xsim/checks.h"  // Violation, LayerPasses
#include "ai8xsim/network.h"

namespace ai8xsim {

std::vector<Violation> find_violations(const Network& net, bool memory = true);

// Derived per-layer hardware quantities the checks (and the memory and cycle models) use.
}  // namespace ai8xsim
