#include "sim/evaluate.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

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

}  // namespace

int argmax(const int32_t* values, size_t n) {
  if (n == 0) fail(ErrorKind::Input, "argmax of an empty output");
  size_t best = 0;
  for (size_t i = 1; i < n; ++i)
    if (values[i] > values[best]) best = i;
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
  if (samples.n <= 0) fail(ErrorKind::Input, "samples: no sample to evaluate");
  const size_t total = static_cast<size_t>(samples.n);
  if (labels.size() != total)
    fail(ErrorKind::Input, "labels: found " + std::to_string(labels.size()) +
                               " labels for " + std::to_string(total) +
                               " samples; give one label per sample");
  if (reference && reference->size() != total)
    fail(ErrorKind::Input, "reference: found " + std::to_string(reference->size()) +
                               " predictions for " + std::to_string(total) +
                               " samples; give one per sample");
  // The class count is the final output's size: known from the network, so that a bad label
  // is found before the (long) batch run.
  const InputShape out = sim.output_shape(samples.shape);
  const int64_t classes = int64_t{out.c} * out.h * out.w;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      fail(ErrorKind::Input, "labels: element " + std::to_string(i) + " is " +
                                 std::to_string(labels[i]) + "; the network's final output has " +
                                 std::to_string(classes) + " elements, so labels lie in [0, " +
                                 std::to_string(classes - 1) + "]");
  std::function<void(size_t)> cb;
  if (progress) cb = [&](size_t done) { progress(done, total); };
  std::vector<int> predictions(total);
  const auto t0 = std::chrono::steady_clock::now();
  sim.run_batch(
      samples,
      [&](size_t i, const Tensor& o) {
        predictions[i] = argmax(o.data);
        if (outputs) outputs(i, o);
      },
      threads, cb);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EvalResult r = score(predictions, labels, static_cast<int>(classes), reference);
  r.seconds = seconds;
  r.samples_per_second = seconds > 0 ? static_cast<double>(total) / seconds : 0;
  r.threads = threads > 0 ? threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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
