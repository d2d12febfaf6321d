#include "ai8xsim/evaluate.h"

#include <chrono>
#include <mutex>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "kernels/fast.h"

namespace ai8xsim {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(int64_t num, int64_t den) {
  return den == 0 ? kNaN : static_cast<double>(num) / static_cast<double>(den);
}

std::string num(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return std::to_string(v);
}

nlohmann::json number_or_null(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

template <typename T>
nlohmann::json vec_json(const std::vector<T>& v) {
  nlohmann::json j = nlohmann::json::array();
  for (const T& x : v) j.push_back(x);
  return j;
}

// A 1-D vector of non-negative integer class indices (labels, reference predictions).
std::vector<int> class_vector(const NdArray& a, const std::string& what, const char* noun) {
  if (!dtype_is_integer(a.dtype))
    fail(ErrorKind::Input, what + ": dtype " + dtype_name(a.dtype) + "; " + noun +
                               " must be integers (save them as an integer array)");
  std::vector<int> out;
  out.reserve(a.values.size());
  for (size_t i = 0; i < a.values.size(); ++i) {
    const double v = a.values[i];
    if (v < 0 || v > std::numeric_limits<int>::max())
      fail(ErrorKind::Input, what + ": element " + std::to_string(i) + " is " + num(v) + "; " +
                                 noun + " must be class indices >= 0");
    out.push_back(static_cast<int>(v));
  }
  return out;
}

// The same from the typed elements of a .npy (no decoding to doubles: a segmentation set's
// label maps are millions of values).
template <typename T>
std::vector<int> class_values(const char* data, size_t count, const std::string& what,
                              const char* noun) {
  std::vector<int> out(count);
  bool ok = true;
  for (size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, data + i * sizeof(T), sizeof v);
    ok &= !(v < T(0)) && static_cast<uint64_t>(v) <= uint64_t{std::numeric_limits<int>::max()};
    out[i] = static_cast<int>(v);
  }
  if (ok) return out;
  for (size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, data + i * sizeof(T), sizeof v);
    if (v < T(0) || static_cast<uint64_t>(v) > uint64_t{std::numeric_limits<int>::max()})
      fail(ErrorKind::Input, what + ": element " + std::to_string(i) + " is " +
                                 std::to_string(v) + "; " + noun +
                                 " must be class indices >= 0");
  }
  return out;
}

std::vector<int> class_vector(const NpyData& a, const std::string& what, const char* noun) {
  switch (a.dtype) {
    case DType::Bool:
    case DType::U8: return class_values<uint8_t>(a.data, a.count, what, noun);
    case DType::I8: return class_values<int8_t>(a.data, a.count, what, noun);
    case DType::I16: return class_values<int16_t>(a.data, a.count, what, noun);
    case DType::U16: return class_values<uint16_t>(a.data, a.count, what, noun);
    case DType::I32: return class_values<int32_t>(a.data, a.count, what, noun);
    case DType::U32: return class_values<uint32_t>(a.data, a.count, what, noun);
    case DType::I64: return class_values<int64_t>(a.data, a.count, what, noun);
    case DType::U64: return class_values<uint64_t>(a.data, a.count, what, noun);
    default:
      fail(ErrorKind::Input, what + ": dtype " + dtype_name(a.dtype) + "; " + noun +
                                 " must be integers (save them as an integer array)");
  }
}

// Shape (N,) or (N, H, W): the labels' n, h and w (the values are not read).
EvalLabels eval_labels_shape(const std::vector<int64_t>& shape, const std::string& what) {
  if (shape.size() != 1 && shape.size() != 3)
    fail(ErrorKind::Input, what + ": shape " + shape_str(shape) +
                               "; labels are one class per sample, shape (N,), or one class "
                               "per output pixel, shape (N, H, W)");
  EvalLabels l;
  if (shape.size() == 3) {
    for (int64_t d : shape)
      if (d <= 0 || d > (int64_t{1} << 24))
        fail(ErrorKind::Input, what + ": shape " + shape_str(shape) +
                                   " has an empty or huge axis");
    l.h = static_cast<int>(shape[1]);
    l.w = static_cast<int>(shape[2]);
  }
  l.n = shape[0];
  l.what = what;
  return l;
}

}  // namespace

int argmax(const int32_t* values, size_t n) {
  if (n == 0) fail(ErrorKind::Input, "argmax of an empty output");
  // The largest value (a SIMD reduction), then its first position: the first block of 64
  // holding it (a vectorisable test per block), then the place in it.
  const int32_t top = fast::max_value(values, n);
  size_t best = 0;
  for (; best + 64 <= n; best += 64) {
    int hit = 0;
    for (size_t i = 0; i < 64; ++i) hit |= values[best + i] == top;
    if (hit) break;
  }
  while (values[best] != top) ++best;
  return static_cast<int>(best);
}

int argmax(const std::vector<int32_t>& values) { return argmax(values.data(), values.size()); }

int argmax(const std::vector<double>& values) {
  if (values.empty()) fail(ErrorKind::Input, "argmax of an empty vector");
  size_t best = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) return static_cast<int>(i);  // numpy: the first NaN
    if (values[i] > values[best]) best = i;
  }
  return static_cast<int>(best);
}

EvalResult score(const std::vector<int>& predictions, const std::vector<int>& labels,
                 int classes, const std::vector<int>* reference) {
  if (classes <= 0)
    fail(ErrorKind::Input, "evaluate: the final output has " + std::to_string(classes) +
                               " elements; it needs at least one class");
  if (labels.size() != predictions.size())
    fail(ErrorKind::Input, "labels: found " + std::to_string(labels.size()) +
                               " labels for " + std::to_string(predictions.size()) +
                               " samples; give one label per sample");
  if (reference && reference->size() != predictions.size())
    fail(ErrorKind::Input, "reference: found " + std::to_string(reference->size()) +
                               " predictions for " + std::to_string(predictions.size()) +
                               " samples; give one per sample");
  EvalResult r;
  r.samples = static_cast<int64_t>(predictions.size());
  r.classes = classes;
  r.labels = labels;
  r.predictions = predictions;
  r.class_samples.assign(classes, 0);
  r.class_correct.assign(classes, 0);
  r.confusion.assign(classes, std::vector<int64_t>(classes, 0));
  for (size_t i = 0; i < labels.size(); ++i) {
    const int t = labels[i], p = predictions[i];
    if (t < 0 || t >= classes)
      fail(ErrorKind::Input, "labels: element " + std::to_string(i) + " is " +
                                 std::to_string(t) + "; the network's final output has " +
                                 std::to_string(classes) + " elements, so labels lie in [0, " +
                                 std::to_string(classes - 1) + "]");
    if (p < 0 || p >= classes)
      fail(ErrorKind::Internal, "prediction " + std::to_string(p) + " outside [0, " +
                                    std::to_string(classes) + ")");
    ++r.class_samples[t];
    ++r.confusion[t][p];
    if (p == t) {
      ++r.correct;
      ++r.class_correct[t];
    } else {
      r.misclassified.push_back(static_cast<int64_t>(i));
    }
  }
  r.accuracy = ratio(r.correct, r.samples);
  for (int k = 0; k < classes; ++k)
    r.class_accuracy.push_back(ratio(r.class_correct[k], r.class_samples[k]));
  if (reference) {
    r.has_reference = true;
    r.reference = *reference;
    for (size_t i = 0; i < predictions.size(); ++i) {
      if ((*reference)[i] == predictions[i]) ++r.agreements;
      else r.disagreements.push_back(static_cast<int64_t>(i));
      if ((*reference)[i] == labels[i]) ++r.reference_correct;
    }
    r.agreement = ratio(r.agreements, r.samples);
    r.reference_accuracy = ratio(r.reference_correct, r.samples);
  }
  return r;
}

std::vector<int> predictions_from_outputs(const std::vector<Tensor>& outputs) {
  std::vector<int> p;
  p.reserve(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].size() != outputs[0].size())
      fail(ErrorKind::Input, "outputs: output " + std::to_string(i) + " is " +
                                 outputs[i].shape_str() + ", output 0 is " +
                                 outputs[0].shape_str() + "; all must have one size");
    p.push_back(argmax(outputs[i].data));
  }
  return p;
}

EvalResult score_outputs(const std::vector<Tensor>& outputs, const std::vector<int>& labels,
                         const std::vector<int>* reference) {
  const int classes = outputs.empty() ? 0 : static_cast<int>(outputs[0].size());
  return score(predictions_from_outputs(outputs), labels, classes, reference);
}

EvalResult evaluate(const Simulator& sim, const SampleArray& samples,
                    const std::vector<int>& labels, const std::vector<int>* reference,
                    int threads, const EvalProgress& progress, const OutputSink& outputs) {
  EvalLabels l;
  l.values = labels;
  l.n = static_cast<int64_t>(labels.size());
  return evaluate(sim, samples, l, reference, threads, progress, outputs);
}

namespace {

// Position of the label among the output's elements ranked as argmax ranks them (larger
// first, ties to the lower index): 0 for the argmax.
size_t rank_of(const int32_t* v, size_t n, size_t label) {
  // Two counts the compiler vectorises: before the label, values >= it; after, values > it.
  const int32_t x = v[label];
  size_t rank = 0;
  for (size_t i = 0; i < label; ++i) rank += v[i] >= x;
  for (size_t i = label + 1; i < n; ++i) rank += v[i] > x;
  return rank;
}

std::string hw(int h, int w) { return std::to_string(h) + " x " + std::to_string(w); }

}  // namespace

EvalScorer::EvalScorer(EvalLabels labels, const std::vector<int>* reference)
    : labels_(std::move(labels)), added_(static_cast<size_t>(labels_.n), 0) {
  if (labels_.n <= 0) fail(ErrorKind::Input, "labels: no label to evaluate against");
  if (reference) {
    if (labels_.maps())
      fail(ErrorKind::Input, "reference: a reference is one class per sample; with label "
                             "maps (N x H x W) compare models by their maps' accuracy instead");
    if (reference->size() != static_cast<size_t>(labels_.n))
      fail(ErrorKind::Input, "reference: found " + std::to_string(reference->size()) +
                                 " predictions for " + std::to_string(labels_.n) +
                                 " samples; give one per sample");
    reference_ = *reference;
    has_reference_ = true;
  }
}

void EvalScorer::check_output(int c, int h, int w) const {
  const int64_t k = int64_t{c} * h * w;
  const std::string shape = std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
  if (labels_.maps()) {
    if (h != labels_.h || w != labels_.w)
      fail(ErrorKind::Input, labels_.what + ": maps of " + hw(labels_.h, labels_.w) +
                                 " pixels, but the network's output is " + shape +
                                 " (C x H x W); give labels of shape (N, " + std::to_string(h) +
                                 ", " + std::to_string(w) + "), a class in [0, " +
                                 std::to_string(c - 1) + "] per output pixel");
    for (size_t i = 0; i < labels_.values.size(); ++i)
      if (labels_.values[i] < 0 || labels_.values[i] >= c) {
        const size_t per = static_cast<size_t>(h) * w;
        fail(ErrorKind::Input, labels_.what + ": sample " + std::to_string(i / per) + ", pixel (" +
                                   std::to_string(i % per / w) + ", " +
                                   std::to_string(i % per % w) + ") is " +
                                   std::to_string(labels_.values[i]) +
                                   "; the network's output has " + std::to_string(c) +
                                   " channels (classes), so labels lie in [0, " +
                                   std::to_string(c - 1) + "]");
      }
    return;
  }
  if (k > kMaxClasses) {
    std::string hint = "; classification takes an output of at most " +
                       std::to_string(kMaxClasses) + " elements (classes)";
    if (h * w > 1 && c > 1)
      hint += ". For a network that classifies each pixel (segmentation), give labels of "
              "shape (N, " + std::to_string(h) + ", " + std::to_string(w) +
              "): a class in [0, " + std::to_string(c - 1) + "] per output pixel";
    fail(ErrorKind::Input, labels_.what + ": one class per sample, but the network's output is " + shape +
                               " (" + std::to_string(k) + " elements)" + hint);
  }
  for (size_t i = 0; i < labels_.values.size(); ++i)
    if (labels_.values[i] < 0 || labels_.values[i] >= k)
      fail(ErrorKind::Input, labels_.what + ": element " + std::to_string(i) + " is " +
                                 std::to_string(labels_.values[i]) +
                                 "; the network's final output has " + std::to_string(k) +
                                 " elements, so labels lie in [0, " + std::to_string(k - 1) +
                                 "]");
}

void EvalScorer::init(int c, int h, int w) {
  check_output(c, h, w);
  const int k = labels_.maps() ? c : c * h * w;
  r_ = EvalResult{};
  r_.samples = labels_.n;
  r_.classes = k;
  r_.segmentation = labels_.maps();
  r_.map_h = labels_.h;
  r_.map_w = labels_.w;
  r_.class_samples.assign(k, 0);
  r_.class_correct.assign(k, 0);
  if (labels_.maps()) {
    r_.confusion.assign(k, std::vector<int64_t>(k, 0));
    r_.sample_accuracy.assign(static_cast<size_t>(labels_.n), 0);
  } else {
    r_.predictions.assign(static_cast<size_t>(labels_.n), 0);
  }
  shared_->ready.store(true, std::memory_order_release);
}

void EvalScorer::add(size_t sample, const Tensor& out) {
  if (!shared_->ready.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (!shared_->ready.load(std::memory_order_relaxed)) init(out.c, out.h, out.w);
  }
  // From here on the labels, the class count and the map size are fixed: the checks and the
  // argmax read them without the lock; only a label map's counts are updated under it.
  if (sample >= added_.size())
    fail(ErrorKind::Input, "evaluate: sample " + std::to_string(sample) + " beyond the " +
                               std::to_string(labels_.n) + " labels");
  if ((labels_.maps() ? out.c : static_cast<int>(out.size())) != r_.classes ||
      (labels_.maps() && (out.h != labels_.h || out.w != labels_.w)))
    fail(ErrorKind::Input, "evaluate: output " + std::to_string(sample) + " is " +
                               out.shape_str() + ", unlike the first output");
  if (!labels_.maps()) {
    const size_t n = out.size();
    const int label = labels_.values[sample];
    const int predicted = argmax(out.data.data(), n);
    const bool top5 = rank_of(out.data.data(), n, static_cast<size_t>(label)) < 5;
    // (each sample its own elements: no lock; two samples' bytes are distinct objects)
    added_[sample] = 1;
    r_.predictions[sample] = predicted;
    if (top5) shared_->top5.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const size_t plane = static_cast<size_t>(out.h) * out.w;
  thread_local std::vector<int32_t> best;
  fast::pixel_argmax(out, best);
  const int* lab = labels_.values.data() + sample * plane;
  std::lock_guard<std::mutex> lock(shared_->mutex);
  added_[sample] = 1;
  int64_t right = 0;
  for (size_t px = 0; px < plane; ++px) {
    const int t = lab[px];
    ++r_.confusion[t][best[px]];
    ++r_.class_samples[t];
    if (best[px] == t) {
      ++right;
      ++r_.class_correct[t];
    }
  }
  r_.correct += right;
  r_.sample_accuracy[sample] = ratio(right, static_cast<int64_t>(plane));
}

EvalResult EvalScorer::result() const {
  for (size_t i = 0; i < added_.size(); ++i)
    if (!added_[i])
      fail(ErrorKind::Input, "evaluate: no output for sample " + std::to_string(i));
  if (!labels_.maps()) {
    EvalResult r = score(r_.predictions, labels_.values, r_.classes,
                         has_reference_ ? &reference_ : nullptr);
    r.top5_correct = shared_->top5.load();
    r.top5_accuracy = ratio(r.top5_correct, r.samples);
    return r;
  }
  EvalResult r = r_;
  r.pixels = r.samples * r.map_h * r.map_w;
  r.accuracy = ratio(r.correct, r.pixels);
  r.top5_accuracy = kNaN;
  double iou_sum = 0;
  int iou_n = 0;
  for (int k = 0; k < r.classes; ++k) {
    r.class_accuracy.push_back(ratio(r.class_correct[k], r.class_samples[k]));
    int64_t predicted = 0;
    for (int t = 0; t < r.classes; ++t) predicted += r.confusion[t][k];
    const int64_t tp = r.confusion[k][k];
    const double iou = ratio(tp, r.class_samples[k] + predicted - tp);
    r.class_iou.push_back(iou);
    if (!std::isnan(iou)) iou_sum += iou, ++iou_n;
  }
  r.mean_iou = iou_n ? iou_sum / iou_n : kNaN;
  for (size_t i = 0; i < r.sample_accuracy.size(); ++i)
    if (r.sample_accuracy[i] < 1) r.misclassified.push_back(static_cast<int64_t>(i));
  return r;
}

EvalResult evaluate(const Simulator& sim, const SampleArray& samples, const EvalLabels& labels,
                    const std::vector<int>* reference, int threads,
                    const EvalProgress& progress, const OutputSink& outputs) {
  if (samples.n <= 0) fail(ErrorKind::Input, "samples: no sample to evaluate");
  const size_t total = static_cast<size_t>(samples.n);
  if (labels.n != samples.n)
    fail(ErrorKind::Input, "labels: found " + std::to_string(labels.n) +
                               (labels.maps() ? " label maps" : " labels") + " for " +
                               std::to_string(total) + " samples; give one label per sample");
  EvalScorer scorer(labels, reference);
  // The output's shape is known from the network: bad labels are found before the (long)
  // batch run. Outputs are scored as they come (memory: the counts, not the outputs).
  const InputShape out = sim.output_shape(samples.shape);
  scorer.check_output(out.c, out.h, out.w);
  std::function<void(size_t)> cb;
  if (progress) cb = [&](size_t done) { progress(done, total); };
  const auto t0 = std::chrono::steady_clock::now();
  sim.run_batch(
      samples,
      [&](size_t i, const Tensor& o) {
        scorer.add(i, o);  // from the worker threads: add() locks what it counts
        if (outputs) outputs(i, o);
      },
      threads, cb);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EvalResult r = scorer.result();
  r.seconds = seconds;
  r.samples_per_second = seconds > 0 ? static_cast<double>(total) / seconds : 0;
  r.threads = usable_threads(threads);
  r.threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(r.threads), total));
  return r;
}

std::vector<Tensor> samples_from_array(const NdArray& a, const std::string& what) {
  if (!dtype_is_integer(a.dtype))
    fail(ErrorKind::Input, what + ": dtype " + dtype_name(a.dtype) +
                               "; samples must be integers in [-128, 127] (scale and round "
                               "float data as training's normalization does, then save as "
                               "int8 or int64)");
  if (a.shape.size() != 3 && a.shape.size() != 4)
    fail(ErrorKind::Input, what + ": shape " + a.shape_str() +
                               "; samples are N x C x H x W (2-D) or N x C x L (1-D)");
  for (int64_t d : a.shape)
    if (d <= 0 || d > (int64_t{1} << 24))
      fail(ErrorKind::Input, what + ": shape " + a.shape_str() + " has an empty or huge axis");
  const int64_t n = a.shape[0];
  const int c = static_cast<int>(a.shape[1]), h = static_cast<int>(a.shape[2]);
  const int w = a.shape.size() == 4 ? static_cast<int>(a.shape[3]) : 1;
  const size_t per = static_cast<size_t>(c) * h * w;
  if (per > (size_t{1} << 24))
    fail(ErrorKind::Input, what + ": shape " + a.shape_str() + ": a sample of " +
                               std::to_string(per) + " elements is too large");
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) {
    Tensor t(c, h, w);
    for (size_t i = 0; i < per; ++i) {
      const double v = a.values[static_cast<size_t>(s) * per + i];
      if (v < -128 || v > 127)
        fail(ErrorKind::Input, what + ": sample " + std::to_string(s) + ", element " +
                                   std::to_string(i) + " is " + num(v) +
                                   "; sample values must lie in [-128, 127] (signed 8-bit)");
      t.data[i] = static_cast<int32_t>(v);
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<int> labels_from_array(const NdArray& a, const std::string& what) {
  if (a.shape.size() != 1)
    fail(ErrorKind::Input, what + ": shape " + a.shape_str() +
                               "; labels are one integer per sample, shape (N,)");
  return class_vector(a, what, "labels");
}

EvalLabels eval_labels_from_array(const NdArray& a, const std::string& what) {
  EvalLabels l = eval_labels_shape(a.shape, what);
  l.values = class_vector(a, what, "labels");
  return l;
}

EvalLabels eval_labels_from_npy(const NpyData& a, const std::string& what) {
  EvalLabels l = eval_labels_shape(a.shape, what);
  l.values = class_vector(a, what, "labels");
  return l;
}

std::vector<int> reference_from_array(const NdArray& a, const std::string& what) {
  if (a.shape.empty())
    fail(ErrorKind::Input, what + ": shape " + a.shape_str() +
                               "; a reference is N predicted classes (N,) or N x K outputs");
  if (a.shape.size() == 1) return class_vector(a, what, "reference predictions");
  const int64_t n = a.shape[0];
  if (n <= 0 || a.size() == 0)
    fail(ErrorKind::Input, what + ": shape " + a.shape_str() + " holds no outputs");
  const size_t k = static_cast<size_t>(a.size() / n);
  std::vector<int> out;
  out.reserve(static_cast<size_t>(n));
  std::vector<double> row(k);
  for (int64_t s = 0; s < n; ++s) {
    for (size_t i = 0; i < k; ++i) row[i] = a.values[static_cast<size_t>(s) * k + i];
    out.push_back(argmax(row));
  }
  return out;
}

nlohmann::json eval_result_json(const EvalResult& r) {
  nlohmann::json per_class = nlohmann::json::array();
  for (int k = 0; k < r.classes; ++k)
    per_class.push_back({{"class", k},
                         {"samples", r.class_samples[k]},
                         {"correct", r.class_correct[k]},
                         {"accuracy", number_or_null(r.class_accuracy[k])}});
  nlohmann::json confusion = nlohmann::json::array();
  for (const auto& row : r.confusion) confusion.push_back(vec_json(row));
  nlohmann::json j = {{"samples", r.samples},
                      {"classes", r.classes},
                      {"correct", r.correct},
                      {"accuracy", number_or_null(r.accuracy)},
                      {"per_class", per_class},
                      {"confusion", confusion},
                      {"misclassified", vec_json(r.misclassified)},
                      {"predictions", vec_json(r.predictions)},
                      {"labels", vec_json(r.labels)},
                      {"seconds", r.seconds},
                      {"samples_per_second", r.samples_per_second},
                      {"threads", r.threads}};
  j["top5_accuracy"] = number_or_null(r.top5_accuracy);
  j["top5_correct"] = r.top5_correct;
  if (r.segmentation) {
    nlohmann::json iou = nlohmann::json::array();
    for (double v : r.class_iou) iou.push_back(number_or_null(v));
    nlohmann::json per_sample = nlohmann::json::array();
    for (double v : r.sample_accuracy) per_sample.push_back(number_or_null(v));
    for (int k = 0; k < r.classes; ++k) j["per_class"][static_cast<size_t>(k)]["iou"] = iou[static_cast<size_t>(k)];
    j["segmentation"] = {{"pixels", r.pixels}, {"map", {r.map_h, r.map_w}},
                         {"pixel_accuracy", number_or_null(r.accuracy)},
                         {"class_iou", iou}, {"mean_iou", number_or_null(r.mean_iou)},
                         {"sample_accuracy", per_sample}};
    j["predictions"] = nullptr;
    j["labels"] = nullptr;
  } else {
    j["segmentation"] = nullptr;
  }
  if (r.has_reference)
    j["reference"] = {{"agreements", r.agreements},
                      {"agreement", number_or_null(r.agreement)},
                      {"disagreements", vec_json(r.disagreements)},
                      {"correct", r.reference_correct},
                      {"accuracy", number_or_null(r.reference_accuracy)},
                      {"predictions", vec_json(r.reference)}};
  else
    j["reference"] = nullptr;
  return j;
}

}  // namespace ai8xsim
