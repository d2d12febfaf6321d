// Display names of the enums in ai8xsim/config.h (izer's spellings where izer has one).
#include "ai8xsim/config.h"
#include "ai8xsim/error.h"

namespace ai8xsim {

const char* device_name(Device d) {
  switch (d) {
    case Device::MAX78000: return "MAX78000";
    case Device::MAX78002: return "MAX78002";
  }
  return "?";
}

const char* operator_name(Operator o) {
  switch (o) {
    case Operator::Conv1d: return "conv1d";
    case Operator::Conv2d: return "conv2d";
    case Operator::ConvTranspose2d: return "convtranspose2d";
    case Operator::Passthrough: return "passthrough";
    case Operator::Linear: return "linear";
  }
  return "?";
}

const char* eltwise_name(Eltwise e) {
  switch (e) {
    case Eltwise::None: return "none";
    case Eltwise::Add: return "add";
    case Eltwise::Sub: return "sub";
    case Eltwise::Or: return "or";
    case Eltwise::Xor: return "xor";
  }
  return "?";
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::None: return "no activation";
    case Activation::ReLU: return "ReLU";
    case Activation::Abs: return "Abs";
  }
  return "?";
}

const char* kernel_set_name(KernelSet k) {
  switch (k) {
    case KernelSet::Fast: return "fast";
    case KernelSet::Reference: return "reference";
  }
  return "?";
}

KernelSet parse_kernel_set(const std::string& name, const std::string& what) {
  for (KernelSet k : {KernelSet::Fast, KernelSet::Reference})
    if (name == kernel_set_name(k)) return k;
  fail(ErrorKind::Input, what + ": found '" + name +
                             "'; allowed: fast (the SIMD kernels, the default) or reference "
                             "(the readable definitions, slow)");
}

}  // namespace ai8xsim

namespace ai8xsim {
const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::Config: return "config";
    case ErrorKind::Checkpoint: return "checkpoint";
    case ErrorKind::Input: return "input";
    case ErrorKind::Capacity: return "capacity";
    case ErrorKind::IO: return "io";
    case ErrorKind::Internal: return "internal";
  }
  return "unknown";
}
}  // namespace ai8xsim
