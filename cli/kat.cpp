// ai8xsim command line: known-answer files for the board.
//   ai8xsim kat --config-file NET.yaml --checkpoint-file CKPT --sample-input X.npy -o DIR
//       DIR/sampledata.h and DIR/sampleoutput.h in izer's format, for this sample
//   ai8xsim kat ... --samples XS.npy -o DIR
//       DIR/kat_samples.h (N inputs and expected outputs) and DIR/kat_main.c, a main() that
//       runs every sample through the izer-generated cnn.c and prints PASS/FAIL per sample
#include <iostream>
#include <sstream>

#include "ai8xsim/ai8xsim.h"
#include "ai8xsim/evaluate.h"
#include "ai8xsim/files.h"
#include "ai8xsim/memory.h"
#include "ai8xsim/npy.h"
#include "cli/commands.h"

namespace ai8xsim::cli {

namespace {

struct KatArgs {
  NetworkArgs net;
  std::string sample_input, samples, output_dir = ".";
  long max_checklines = -1;  // -1: no limit
  CLI::Option* checklines = nullptr;
  bool quiet = false;
};

int kat_command(const KatArgs& a) {
  if (a.sample_input.empty() == a.samples.empty())
    fail(ErrorKind::Config,
         "kat: give either --sample-input X.npy (one sample: sampledata.h, sampleoutput.h) or "
         "--samples XS.npy (N samples: kat_samples.h, kat_main.c)");
  if (a.checklines && a.checklines->count() && a.max_checklines < 0)
    fail(ErrorKind::Config, "kat: --max-checklines: found " + std::to_string(a.max_checklines) +
                                "; give 0 or a positive number of words (izer's option)");
  const Simulator sim = load_network(a.net, load_options(a.net));
  std::vector<Tensor> inputs;
  if (!a.sample_input.empty())
    inputs.push_back(sample_to_tensor(read_npy(a.sample_input), a.sample_input));
  else
    inputs = samples_from_array(read_npy(a.samples), "--samples " + a.samples);
  const Network& net = sim.network(InputShape{inputs[0].c, inputs[0].h, inputs[0].w});

  const std::string dir = a.output_dir.empty() ? "." : a.output_dir;
  const KatFiles k = kat_files(net, inputs, a.max_checklines, a.sample_input.empty(), dir);
  write_files_atomically(k.files, dir);
  if (!a.quiet) {
    std::cout << "ai8xsim kat " << device_name(net.device) << ": " << inputs.size()
              << " sample(s) (" << inputs[0].shape_str() << "), " << k.checked_words
              << " checked words each, " << k.input_arrays << " input array(s)"
              << (net.fifo ? " (FIFO)" : "") << "\n";
    for (const PendingFile& f : k.files) std::cout << "wrote " << f.path << "\n";
  }
  return 0;
}

}  // namespace

Command add_kat_command(CLI::App& app) {
  auto a = std::make_shared<KatArgs>();
  CLI::App* c = app.add_subcommand(
      "kat",
      "Known-answer files for the board: izer's sampledata.h and sampleoutput.h for your "
      "sample, or (--samples) N samples and a main() that checks them all on the board");
  add_network_options(c, a->net);
  c->add_option("--sample-input", a->sample_input, "one sample .npy (C x H x W or C x L)");
  c->add_option("--samples", a->samples, "N samples .npy (N x C x H x W or N x C x L)");
  c->add_option("-o,--output-dir", a->output_dir, "where to write the files")
      ->capture_default_str();
  a->checklines = c->add_option(
      "--max-checklines", a->max_checklines,
      "check at most this many output words (izer's option; it keeps one more)");
  c->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  return {c, [a] { return kat_command(*a); }};
}

}  // namespace ai8xsim::cli
