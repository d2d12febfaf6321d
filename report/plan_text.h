// ai8xsim front ends' text: the `plan` report (ai8xsim/plan.h's PlanResult) as the CLI prints
// it and ai8xsim.plan() returns it: one line per layer (what was chosen), then the totals and
// the verdict. It reads the result only.
#pragma once
#include <string>

#include "ai8xsim/plan.h"

namespace ai8xsim {

std::string plan_report(const PlanResult& plan);

}  // namespace ai8xsim
