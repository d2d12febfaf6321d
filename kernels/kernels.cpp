#include "kernels/kernels.h"

#include "kernels/fast.h"

namespace ai8xsim::kernels {

namespace {

KernelTable reference_table() {
  KernelTable t;
  t.set = KernelSet::Reference;
  t.pool2d = ref::pool2d;
  t.pool1d = ref::pool1d;
  t.subsample = ref::subsample;
  t.eltwise = ref::eltwise;
  t.conv2d = ref::conv2d;
  t.output_stage = ref::output_stage;
  return t;
}

KernelTable fast_table() {
  KernelTable t;
  t.set = KernelSet::Fast;
  t.pool2d = fast::pool2d;
  t.pool1d = fast::pool1d;
  t.subsample = ref::subsample;  // a copy: the engine's Fast path strides in the byte layout
  t.eltwise = fast::eltwise;
  t.conv2d = [](const Tensor& in, const int8_t* w, int out_channels,
                const std::vector<int64_t>& bias128, const ConvGeometry& g) {
    return fast::conv2d(in, w, out_channels, bias128, g);
  };
  t.output_stage = fast::output_stage;
  return t;
}

}  // namespace

const KernelTable& kernel_table(KernelSet set) {
  static const KernelTable reference = reference_table(), fast = fast_table();
  return set == KernelSet::Fast ? fast : reference;
}

}  // namespace ai8xsim::kernels
