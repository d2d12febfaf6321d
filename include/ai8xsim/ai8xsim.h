// ai8xsim: the public C++ API. One facade: load a synthesized network (izer YAML + quantized
// checkpoint or weights.npz), run it on samples, report per layer.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ai8xsim/config.h"
#include "ai8xsim/error.h"
#include "ai8xsim/ndarray.h"
#include "kernels/tensor.h"
#include "sim/checks.h"
#include "sim/engine.h"
#include "sim/network.h"
#include "sim/quantize.h"

namespace ai8xsim {

struct LayerWeights;

struct LoadOptions {
  Device device = Device::MAX78000;
  std::vector<int> no_bias;        // --no-bias: layers whose bias izer ignores
  bool avg_pool_rounding = false;  // --avg-pool-rounding
  bool fifo = false;               // --fifo
  bool fast_fifo = false;          // --fast-fifo
  bool overlap_data = false;       // --overlap-data
  // A checkpoint with float weights (ai8x-training's output) is quantized as ai8x-synthesis's
  // quantize.py does; these settings (per-layer widths) apply then.
  QuantizeSettings quantize;
};

class Simulator {
 public:
  // Reads the YAML and the weights; throws ai8xsim::Error with a precise message.
  static Simulator load(const std::string& config_file, const std::string& checkpoint_file,
                        const LoadOptions& options);

  // The network resolved for an input shape (izer derives the first layer's dimensions from
  // the sample); cached per shape.
  const Network& network(const InputShape& input) const;

  // Runs one sample (C x H x W, 1-D: C x L x 1).
  RunResult run(const Tensor& input, bool keep_layers = true) const;

  // Runs many samples of one shape on `threads` threads (0: all cores; usable_threads()). A
  // thread the system refuses to start is an Error. `progress`, when
  // given, is called (from one thread at a time) with the number of samples done so far:
  // 1, 2, ... n, in that order.
  std::vector<Tensor> run_batch(const std::vector<Tensor>& inputs, int threads = 0,
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
