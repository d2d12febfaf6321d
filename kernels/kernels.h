// ai8xsim: the kernels the engine calls. Each step is the fast kernel (kernels/fast.h) where
// one exists (bit-exact with the reference, which it calls itself where its fast path does not
// apply) and the reference definition (kernels/reference.h) otherwise. Tested against the
// reference in tests/unit/test_fast_kernels.cpp.
//
// A new reference kernel the engine needs must be named here too (no using-directive, so that
// `kernels::conv2d` is never ambiguous between the fast and the reference one).
#pragma once
#include "kernels/fast.h"
#include "kernels/reference.h"

namespace ai8xsim::kernels {

// Types and scalar steps: the reference definitions.
using ref::activate;
using ref::average_window;
using ref::conv_extent;
using ref::ConvGeometry;
using ref::Pair;
using ref::pooled_extent;
using ref::requantize8;
using ref::subsample;

// The hot steps: the fast kernels.
using fast::conv2d;
using fast::eltwise;
using fast::output_stage;
using fast::pool1d;
using fast::pool2d;
// Weights repacked once per layer, conv + output stage fused (see kernels/fast.h).
using fast::PreparedConv;

}  // namespace ai8xsim::kernels
