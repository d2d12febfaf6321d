// ai8xsim: accuracy of a network on a labelled data set, run bit-exactly.
//
// One function, `evaluate`, runs every sample through Simulator::run_batch and scores the final
// outputs; the scoring arithmetic underneath (argmax, accuracy, per-class accuracy, confusion
// matrix, agreement with another model's predictions) is exposed separately so that the CLI
// (`ai8xsim eval`), the Python binding (`net.evaluate`) and the unit tests share it.
//
// Conventions (numpy's):
//   * the prediction for a sample is the argmax of its final output, flattened in C order
//     (C x H x W); ties go to the lowest index, as numpy.argmax;
//   * the number of classes K is the number of elements of the final output;
//   * confusion[t][p] counts samples of true class t predicted as p (rows: truth);
//   * top-5: the label is among the 5 largest elements (ties ranked as argmax ranks them);
//   * segmentation (labels N x H x W, a class per pixel, for an output C x H x W): the
//     prediction of a pixel is the argmax over its C channels; accuracy, per-class figures and
//     the confusion matrix count pixels; per-class IoU = TP / (TP + FP + FN), NaN without
//     any pixel of the class in labels or predictions; mean IoU over the classes not NaN;
//   * classification takes at most kMaxClasses classes (the confusion matrix is K x K); each
//     output is scored as it comes, so memory is bounded by the labels given;
//   * per-class accuracy is correct / samples of that class, NaN when a class has no sample
//     (null in JSON); accuracy of an empty set is NaN as well.
// Errors are ai8xsim::Error (Input) naming the file / argument, the value found and what is
// allowed.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ai8xsim/ai8xsim.h"
#include "ai8xsim/ndarray.h"
#include "ai8xsim/npy.h"
#include "ai8xsim/tensor.h"

namespace ai8xsim {

// Index of the largest element; ties -> the lowest index. Throws Error(Input) when `n` == 0.
int argmax(const int32_t* values, size_t n);
int argmax(const std::vector<int32_t>& values);
int argmax(const std::vector<double>& values);  // a NaN wins (the first one), as in numpy

// Classification: at most this many classes (a K x K confusion matrix of 8 MB).
constexpr int kMaxClasses = 1024;

struct EvalResult {
  int64_t samples = 0;
  bool segmentation = false;            // labels are N x H x W class maps
  int classes = 0;                      // K: elements of the final output
  std::vector<int> labels;              // N, as given
  std::vector<int> predictions;         // N, argmax of each final output
  int64_t correct = 0;
  double accuracy = 0;                  // correct / samples (NaN when samples == 0)
  std::vector<int64_t> class_samples;   // K: samples whose label is k
  std::vector<int64_t> class_correct;   // K
  std::vector<double> class_accuracy;   // K: class_correct / class_samples, NaN if no sample
  std::vector<std::vector<int64_t>> confusion;  // K x K, [label][prediction]
  std::vector<int64_t> misclassified;   // sample indices with prediction != label, ascending
                                        // (segmentation: with any pixel wrong)
  int64_t top5_correct = 0;             // classification: label among the 5 largest
  double top5_accuracy = 0;
  // Segmentation: counts above are pixels; `pixels` = N x H x W.
  int64_t pixels = 0;
  int map_h = 0, map_w = 0;
  std::vector<double> class_iou;        // K
  double mean_iou = 0;
  std::vector<double> sample_accuracy;  // N: each sample's pixel accuracy

  // With a reference (another model's predictions for the same samples):
  bool has_reference = false;
  std::vector<int> reference;           // N reference predictions
  int64_t agreements = 0;               // samples where prediction == reference
  double agreement = 0;                 // agreements / samples
  std::vector<int64_t> disagreements;   // sample indices where they differ, ascending
  int64_t reference_correct = 0;        // samples where reference == label
  double reference_accuracy = 0;

  // Filled by `evaluate` (0 for `score`): wall time of the batch run.
  double seconds = 0;
  double samples_per_second = 0;
  int threads = 0;
};

// The scoring arithmetic alone. `labels` must lie in [0, classes); `reference`, when given,
// must have one entry per sample (its values may be any class index).
EvalResult score(const std::vector<int>& predictions, const std::vector<int>& labels,
                 int classes, const std::vector<int>* reference = nullptr);

// Argmax of each output (C x H x W flattened). All outputs must have the same size.
std::vector<int> predictions_from_outputs(const std::vector<Tensor>& outputs);

// score(predictions_from_outputs(outputs), ...), K from the outputs' size.
EvalResult score_outputs(const std::vector<Tensor>& outputs, const std::vector<int>& labels,
                         const std::vector<int>* reference = nullptr);

// Labels for `evaluate`: one class per sample (h = w = 0) or one per pixel (N x h x w maps).
struct EvalLabels {
  std::vector<int> values;
  int64_t n = 0;
  int h = 0, w = 0;
  std::string what = "labels";  // names the labels in messages ("--labels y.npy")
  bool maps() const { return h > 0; }
};

// Scores outputs one at a time (any order, from any threads at once: add() locks only its
// counting), keeping only counts: memory is bounded by the labels. The first output fixes K
// and, for maps, is checked against the labels' H x W.
class EvalScorer {
 public:
  EvalScorer(EvalLabels labels, const std::vector<int>* reference = nullptr);
  // sample in [0, n), each once; from any threads at once (a classifier's output is scored
  // without a lock, a label map's counts under one).
  void add(size_t sample, const Tensor& output);
  EvalResult result() const;                      // every sample must have been added
  // The class count and shape checks for an output shape, before any run.
  void check_output(int c, int h, int w) const;

 private:
  void init(int c, int h, int w);
  EvalLabels labels_;
  std::vector<int> reference_;
  bool has_reference_ = false;
  EvalResult r_;
  std::vector<char> added_;
  struct Shared {  // (held by pointer: the scorer stays movable)
    std::mutex mutex;                // init, and a label map's counts
    std::atomic<bool> ready{false};  // init done: r_'s sizes are fixed
    std::atomic<int64_t> top5{0};    // a classifier's top-5 hits
  };
  std::unique_ptr<Shared> shared_ = std::make_unique<Shared>();
};

// Called from one thread at a time with the samples done so far and the total.
using EvalProgress = std::function<void(size_t done, size_t total)>;

// Runs every sample bit-exactly (Simulator::run_batch on `threads` threads, 0 = all cores),
// read in place, and scores the final outputs as they come (memory: one int per sample).
// `labels.size()` must equal `samples.n`; `reference` (nullable) likewise. `outputs`, when
// given, receives every final output too (from the worker threads, as Simulator::run_batch).
// `seconds` and `samples_per_second` time the batch run alone.
EvalResult evaluate(const Simulator& sim, const SampleArray& samples,
                    const std::vector<int>& labels, const std::vector<int>* reference = nullptr,
                    int threads = 0, const EvalProgress& progress = {},
                    const OutputSink& outputs = {});

// The same for class labels or class maps (segmentation: per-pixel accuracy, per-class IoU).
EvalResult evaluate(const Simulator& sim, const SampleArray& samples, const EvalLabels& labels,
                    const std::vector<int>* reference = nullptr, int threads = 0,
                    const EvalProgress& progress = {}, const OutputSink& outputs = {});

// ---- array conversions (the .npy files of `ai8xsim eval`) -----------------------------------
// `what` names the source in messages ("file X.npy" / "--samples X.npy").

// N x C x H x W (2-D samples) or N x C x L (1-D) integers in [-128, 127] -> N tensors.
std::vector<Tensor> samples_from_array(const NdArray& a, const std::string& what);
// One integer per sample (shape (N,)), each >= 0.
std::vector<int> labels_from_array(const NdArray& a, const std::string& what);
// Shape (N,): one class per sample; (N, H, W): a class per pixel (segmentation).
EvalLabels eval_labels_from_array(const NdArray& a, const std::string& what);
// The same from a .npy's typed elements in place (NpyFile, or a NumPy array's buffer): no
// decoding to doubles, for label maps of millions of pixels.
EvalLabels eval_labels_from_npy(const NpyData& a, const std::string& what);
// Another model's results for the same samples: shape (N,) of predicted classes (integers
// >= 0), or N x K (or N x ...) scores whose argmax per row is the prediction.
std::vector<int> reference_from_array(const NdArray& a, const std::string& what);

// The result as JSON: samples, classes, correct, accuracy, per_class[], confusion,
// misclassified, predictions, labels, reference{...} (null without), seconds,
// samples_per_second, threads. NaN becomes null.
nlohmann::json eval_result_json(const EvalResult& r);

}  // namespace ai8xsim
