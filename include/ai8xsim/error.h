// ai8xsim: one error type for everything a user can get wrong.
// Every message names the file, the layer or YAML position, the key, the value found and what
// is allowed. The CLI prints what() and exits non-zero; Python raises it as ai8xsim.Error.
#pragma once
#include <stdexcept>
#include <string>

namespace ai8xsim {

enum class ErrorKind {
  Config,      // the network YAML (keys, values, layer chaining)
  Checkpoint,  // the checkpoint / weights file (format, shapes, ranges, quantization)
  Input,       // the sample input (.npy): shape, dtype, range
  Capacity,    // the network does not fit / breaks a device rule that izer enforces
  IO,          // a file cannot be read or written
  Internal,    // a bug in ai8xsim
};

const char* error_kind_name(ErrorKind k);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail(ErrorKind kind, const std::string& message) {
  throw Error(kind, message);
}

}  // namespace ai8xsim
