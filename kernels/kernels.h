// ai8xsim: the kernels the engine calls. Today every step is the reference definition
// (kernels/reference.h); fast kernels replace individual steps here and are tested against it.
#pragma once
#include "kernels/reference.h"

namespace ai8xsim::kernels {
using namespace ai8xsim::ref;  // NOLINT: the reference kernels are the default implementation
}  // namespace ai8xsim::kernels
