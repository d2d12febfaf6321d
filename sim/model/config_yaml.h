// ai8xsim: the izer network YAML loader on text held in memory (the fuzz target and tests use
// it; load_network_config in ai8xsim/config.h reads a file). `name` stands for the file in
// messages. Throws ai8xsim::Error exactly as load_network_config does.
#pragma once
#include <string>

#include "ai8xsim/config.h"

namespace ai8xsim {

NetworkConfig parse_network_config(const std::string& text, const std::string& name,
                                   Device device);

}  // namespace ai8xsim
