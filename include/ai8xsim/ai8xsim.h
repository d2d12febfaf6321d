// ai8xsim: the public C++ API. One facade: load a synthesized network (izer YAML + quantized
// checkpoint or weights.npz), run it on samples, report per layer.
#pragma once
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ai8xsim/config.h"
#include "ai8xsim/error.h"
#include "ai8xsim/ndarray.h"
#include "ai8xsim/weights.h"
#include "ai8xsim/checks.h"   // Violation, LayerPasses
#include "ai8xsim/device.h"   // DeviceSpec
#include "ai8xsim/network.h"  // Network, Layer
#include "ai8xsim/result.h"   // RunResult
#include "ai8xsim/tensor.h"   // Tensor

namespace ai8xsim {

// The network options (config.h) and what loading adds to them.
struct LoadOptions : NetworkOptions {
  std::vector<int> no_bias;        // --no-bias: layers whose bias izer ignores
  // A checkpoint with float weights (ai8x-training's output) is quantized as ai8x-synthesis's
  // quantize.py does; these settings (per-layer widths) apply then.
  QuantizeSettings quantize;
};

// Samples read where they are stored (a memory-mapped .npy file, a NumPy array), converted one
// at a time by the thread that runs it: `n` samples of `shape` (1-D: C x L x 1), integers of
// `dtype` (little-endian), element (s, c, y, x) at data + s*strides[0] + c*strides[1] +
// y*strides[2] + x*strides[3] bytes (strides may be any, as NumPy's).
struct SampleArray {
  const char* data = nullptr;
  DType dtype = DType::I8;
  int64_t n = 0;
  InputShape shape;
  std::array<int64_t, 4> strides{};
  std::string what;    // names the source in messages ("--samples x.npy", "batch")
  bool batch = true;   // messages say "sample S, element I" (a batch) or "element I"

  // The C-order array `shape` (a batch N x C x H x W or N x C x L when `batch`, else one sample
  // C x H x W or C x L) at `data`. Checks the dtype (integers) and the shape; the values are
  // checked as each sample is read.
  static SampleArray c_order(const char* data, DType dtype, const std::vector<int64_t>& shape,
                             bool batch, const std::string& what);
  // Sample s as the engine's input (`out` keeps its allocation): every value checked to lie in
  // [-128, 127], the message naming the sample and element otherwise.
  void load(int64_t s, Tensor& out) const;
};

// Receives sample i's final output, from the thread that ran it (several threads at once, each
// with its own samples).
using OutputSink = std::function<void(size_t index, const Tensor& output)>;

class Simulator {
 public:
  // Reads the YAML and the weights; throws ai8xsim::Error with a precise message.
  static Simulator load(const std::string& config_file, const std::string& checkpoint_file,
                        const LoadOptions& options);

  // The network resolved for an input shape (izer derives the first layer's dimensions from
  // the sample); cached per shape.
  const Network& network(const InputShape& input) const;

  // Runs one sample (C x H x W, 1-D: C x L x 1). threads > 1 splits the rows of its large
  // layers over that many threads (0: all cores).
  RunResult run(const Tensor& input, bool keep_layers = true, int threads = 1) const;
  // The final output of one sample read in place (`sample`: one sample, batch false): its
  // shape checked against the network before any value is read, each value as it is read.
  Tensor run(const SampleArray& sample, int threads = 1) const;

  // The shape of the final output (C x H x W) for an input shape (from a run on zeros, once per
  // shape).
  InputShape output_shape(const InputShape& input) const;

  // Runs many samples of one shape on `threads` threads (0: all cores; usable_threads()). A
  // thread the system refuses to start is an Error. `progress`, when
  // given, is called (from one thread at a time) with the number of samples done so far:
  // 1, 2, ... n, in that order.
  std::vector<Tensor> run_batch(const std::vector<Tensor>& inputs, int threads = 0,
                                const std::function<void(size_t)>& progress = {}) const;
  // The same on samples read in place, each output handed to `sink` as soon as it is computed:
  // memory stays a few samples per thread whatever the batch size. An error (a value out of
  // range, a throwing sink or progress) ends the batch; the one of the lowest sample index is
  // thrown.
  void run_batch(const SampleArray& inputs, const OutputSink& sink, int threads = 0,
                 const std::function<void(size_t)>& progress = {}) const;

  // Runs samples of one shape in order as a sequence of inferences, as a temporal network
  // (izer's rolling `data_buffer`) runs on the chip: each run starts from the data buffer the
  // previous one left (the first from `buffer`, or zero as izer's single-sample run). Every
  // step's final output, in order; `final_buffer`, when given, receives the buffer after the
  // last step. A network without a data buffer runs each sample on its own.
  std::vector<Tensor> run_sequence(const std::vector<Tensor>& inputs,
                                   const Tensor* buffer = nullptr,
                                   Tensor* final_buffer = nullptr) const;

  // Resolve for an input shape without refusing: every device rule the network breaks.
  struct CheckResult {
    Network network;
    std::vector<Violation> violations;
  };
  CheckResult check(const InputShape& input) const;

  // The input shape the YAML and weights imply when no sample is at hand: channels from the
  // first layer's `in_channels` or its processors (x operands, up to 64), rows and columns
  // from its `in_dim`. Throws a Config error saying what to give when they do not tell.
  InputShape inferred_input_shape() const;
  // The input channels alone (0 when the YAML does not tell: all 64 processors, no
  // `in_channels`).
  int inferred_input_channels() const;

  const NetworkConfig& config() const;
  const LoadOptions& options() const;
  // The weights as loaded (quantized first when the checkpoint held float weights), one entry
  // per YAML layer: what `weights.npz` stores (docs/checkpoint-format.md).
  const std::vector<LayerWeights>& weights() const;
  // What load() did beyond reading, one line each (e.g. that it quantized the checkpoint).
  const std::vector<std::string>& notes() const;

  Simulator(Simulator&&) noexcept;
  Simulator& operator=(Simulator&&) noexcept;
  ~Simulator();

 private:
  Simulator();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The threads a batch runs on for `requested` (0: all cores): at most the machine's cores,
// since the work is compute-bound (run_batch also uses no more threads than samples).
// A negative count is an Error.
int usable_threads(int64_t requested);

// A sample array (.npy contents) as the engine's input tensor: integer values in [-128, 127],
// shape C x H x W or C x L. `what` names the file for messages.
Tensor sample_to_tensor(const NdArray& a, const std::string& what);

}  // namespace ai8xsim
