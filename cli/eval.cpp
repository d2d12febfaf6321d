// `ai8xsim eval`: accuracy on a labelled data set. Every sample runs bit-exactly
// (Simulator::run_batch); the prediction is the argmax of the final output. Prints accuracy,
// per-class accuracy and the confusion matrix; with --reference the agreement with another
// model's predictions; --report writes it all as JSON. The arithmetic is ai8xsim/evaluate.h.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "ai8xsim/ai8xsim.h"
#include "cli/commands.h"
#include "ai8xsim/evaluate.h"
#include "ai8xsim/files.h"
#include "ai8xsim/npy.h"

namespace ai8xsim::cli {


namespace {

struct EvalArgs {
  NetworkArgs net;
  std::string samples, labels, reference, report, outputs;
  int threads = 0;
  bool quiet = false;
};

std::string pct(double v) {
  if (std::isnan(v)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << 100.0 * v << "%";
  return s.str();
}

std::string duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  const long s = std::lround(seconds);
  std::ostringstream o;
  if (s >= 3600) o << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60;
  else o << s / 60;
  o << ":" << std::setw(2) << std::setfill('0') << s % 60;
  return o.str();
}

// A one-line progress bar on stderr, redrawn at most ten times a second.
class ProgressBar {
 public:
  explicit ProgressBar(size_t total) : total_(total), start_(Clock::now()), last_(start_) {}

  void update(size_t done) {
    const auto now = Clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : -1;
    const int width = 30;
    const int filled = total_ ? static_cast<int>(width * done / total_) : width;
    std::ostringstream line;
    line << "\reval [" << std::string(filled, '#') << std::string(width - filled, '-') << "] "
         << done << "/" << total_ << " " << std::fixed << std::setprecision(1)
         << (total_ ? 100.0 * done / total_ : 100.0) << "% " << rate << " samples/s ETA "
         << duration(eta) << "   ";
    width_ = line.str().size();
    std::cerr << line.str() << std::flush;
  }

  // Erase the bar (the summary goes to stdout, which may be the same terminal).
  void finish() {
    if (width_) std::cerr << "\r" << std::string(width_, ' ') << "\r" << std::flush;
  }

 private:
  using Clock = std::chrono::steady_clock;
  size_t total_;
  Clock::time_point start_, last_;
  size_t width_ = 0;  // characters of the last line drawn; 0 = nothing drawn
};

std::string index_list(const std::vector<int64_t>& v, size_t max_shown = 20) {
  std::ostringstream s;
  for (size_t i = 0; i < v.size() && i < max_shown; ++i) s << (i ? ", " : "") << v[i];
  if (v.size() > max_shown) s << ", ...";
  return s.str();
}

// One top-level key per line, each value compact (long index lists stay readable).
std::string report_text(const nlohmann::json& j) {
  std::string s = "{\n";
  size_t i = 0;
  for (auto it = j.begin(); it != j.end(); ++it, ++i)
    s += "  " + nlohmann::json(it.key()).dump() + ": " + it.value().dump() +
         (i + 1 < j.size() ? ",\n" : "\n");
  return s + "}\n";
}

// `total`: seconds from reading the samples to the last file written.
void print_result(const EvalResult& r, double total, std::ostream& os) {
  if (r.segmentation) {
    os << "pixel accuracy: " << pct(r.accuracy) << " (" << r.correct << " of " << r.pixels
       << " pixels), mean IoU " << pct(r.mean_iou) << "\n";
  } else {
    os << "accuracy: " << pct(r.accuracy) << " (" << r.correct << " of " << r.samples
       << "), top-5 " << pct(r.top5_accuracy) << "\n";
  }
  const char* unit = r.segmentation ? "pixels" : "samples";
  os << "per class:\n" << std::setw(7) << "class" << std::setw(12) << unit << std::setw(12)
     << "correct" << std::setw(11) << "accuracy" << (r.segmentation ? "        IoU" : "")
     << "\n";
  for (int k = 0; k < r.classes; ++k) {
    os << std::setw(7) << k << std::setw(12) << r.class_samples[k] << std::setw(12)
       << r.class_correct[k] << std::setw(11) << pct(r.class_accuracy[k]);
    if (r.segmentation) os << std::setw(11) << pct(r.class_iou[k]);
    os << "\n";
  }
  if (r.classes <= 32) {
    os << "confusion (rows: label, columns: prediction):\n" << std::setw(7) << "";
    int w = 6;
    for (const auto& row : r.confusion)
      for (int64_t v : row) w = std::max<int>(w, static_cast<int>(std::to_string(v).size()) + 1);
    for (int k = 0; k < r.classes; ++k) os << std::setw(w) << k;
    os << "\n";
    for (int t = 0; t < r.classes; ++t) {
      os << std::setw(7) << t;
      for (int p = 0; p < r.classes; ++p) os << std::setw(w) << r.confusion[t][p];
      os << "\n";
    }
  } else {
    os << "confusion: " << r.classes << " x " << r.classes << " (in --report)\n";
  }
  os << (r.segmentation ? "samples with a wrong pixel: " : "misclassified: ")
     << r.misclassified.size();
  if (!r.misclassified.empty()) os << " (" << index_list(r.misclassified) << ")";
  os << "\n";
  if (r.has_reference) {
    os << "reference: agreement " << pct(r.agreement) << " (" << r.agreements << " of "
       << r.samples << "), reference accuracy " << pct(r.reference_accuracy) << "; differ: "
       << r.disagreements.size();
    if (!r.disagreements.empty()) os << " (" << index_list(r.disagreements) << ")";
    os << "\n";
  }
  const double n = static_cast<double>(r.samples);
  os << "time: " << std::fixed << std::setprecision(3) << total << " s, " << std::setprecision(1)
     << (total > 0 ? n / total : 0.0)
     << " samples/s end to end (reading the samples to the last file written); compute only: "
     << std::setprecision(3) << r.seconds << " s, " << std::setprecision(1)
     << r.samples_per_second << " samples/s; on " << r.threads
     << (r.threads == 1 ? " thread" : " threads") << "\n";
}

int eval_command(const EvalArgs& a) {
  check_threads(a.threads);
  const LoadOptions opt = load_options(a.net);
  const Simulator sim = load_network(a.net, opt);
  const auto t0 = std::chrono::steady_clock::now();
  // The samples read in place (memory-mapped), each converted by the thread that runs it.
  const NpyFile samples_file = NpyFile::open(a.samples);
  const SampleArray samples = SampleArray::c_order(samples_file.data, samples_file.dtype,
                                                   samples_file.shape, true, "--samples " + a.samples);
  const EvalLabels labels =
      eval_labels_from_npy(NpyFile::open(a.labels), "--labels " + a.labels);
  std::vector<int> reference;
  if (!a.reference.empty())
    reference = reference_from_array(read_npy(a.reference), "--reference " + a.reference);
  const size_t n = static_cast<size_t>(samples.n);
  if (labels.n != samples.n)
    fail(ErrorKind::Input, "--labels " + a.labels + ": found " + std::to_string(labels.n) +
                               (labels.maps() ? " label maps for " : " labels for ") +
                               std::to_string(n) + " samples in " + a.samples +
                               "; give one label per sample");
  if (!a.reference.empty() && reference.size() != n)
    fail(ErrorKind::Input, "--reference " + a.reference + ": found " +
                               std::to_string(reference.size()) + " predictions for " +
                               std::to_string(n) + " samples in " + a.samples +
                               "; give one per sample");

  std::unique_ptr<ProgressBar> bar;
  EvalProgress progress;
  if (!a.quiet && isatty(STDERR_FILENO)) {
    bar = std::make_unique<ProgressBar>(n);
    progress = [&](size_t done, size_t) { bar->update(done); };
  }
  std::unique_ptr<BatchOutputFile> outputs;
  if (!a.outputs.empty())
    outputs = std::make_unique<BatchOutputFile>(a.outputs, samples.n,
                                                sim.output_shape(samples.shape));
  EvalResult r;
  try {
    r = evaluate(sim, samples, labels, a.reference.empty() ? nullptr : &reference, a.threads,
                 progress,
                 outputs ? OutputSink([&](size_t i, const Tensor& o) { outputs->put(i, o); })
                         : OutputSink());
  } catch (...) {
    if (bar) bar->finish();
    throw;
  }
  if (bar) bar->finish();

  OutputTransaction files;
  if (!a.report.empty()) {
    nlohmann::json j = {{"device", device_name(opt.device)},
                        {"config_file", a.net.config_file},
                        {"checkpoint_file", a.net.checkpoint_file},
                        {"samples_file", a.samples},
                        {"labels_file", a.labels},
                        {"reference_file", a.reference.empty() ? nlohmann::json(nullptr)
                                                               : nlohmann::json(a.reference)},
                        {"input", {samples.shape.c, samples.shape.h, samples.shape.w}}};
    j.update(eval_result_json(r));
    files.add("--report", a.report, report_text(j));
  }
  if (outputs) outputs->finish(files, "--outputs");
  files.commit();
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (!a.quiet) {
    std::cout << "ai8xsim eval " << device_name(opt.device) << ": " << a.net.config_file << ", "
              << r.samples << " samples (" << samples.shape.c << "x" << samples.shape.h << "x"
              << samples.shape.w << "), " << r.classes << " classes"
              << (r.segmentation ? " per pixel" : "") << "\n";
    print_result(r, total, std::cout);
    if (!a.report.empty()) std::cout << "report: " << a.report << "\n";
  }
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd =
      app.add_subcommand("eval", "Accuracy on a labelled data set, every sample run bit-exactly");
  add_network_options(cmd, a->net);
  add_kernels_option(cmd, a->net);
  cmd->add_option("--samples", a->samples, "samples .npy: N x C x H x W or N x C x L, int8 range")
      ->required();
  cmd->add_option("--labels", a->labels,
                  "labels .npy: N class indices, or N x H x W class maps (segmentation)")->required();
  cmd->add_option("--threads", a->threads, "threads (0: all cores)")->capture_default_str();
  cmd->add_option("--reference", a->reference,
                  "another model's results for the same samples: N x K outputs or N classes");
  cmd->add_option("--report", a->report, "write the results as JSON");
  cmd->add_option("--outputs", a->outputs,
                  "write every final output here (.npy, int32, N x C x H x W)");
  cmd->add_flag("-q,--quiet", a->quiet, "print nothing but errors (no progress bar)");
  return {cmd, [a] { return eval_command(*a); }};
}

}  // namespace ai8xsim::cli
