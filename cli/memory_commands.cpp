// ai8xsim command line: the data memory commands.
//   ai8xsim run ... --kat generated/sampleoutput.h[.gz]
//       a memory-fed run (layers read their input from the data memory image), then the data
//       memory compared with izer's known-answer records
//   ai8xsim explain-address ADDRESS --config-file ... --checkpoint-file ... --sample-input ...
//       which group/instance/processors/offset an address is, who writes and reads it
//   ai8xsim check-memory --config-file ... [--sample-data F --load-code main.c] [--kat F]
//       the input image vs. izer's load_input(), every layer's memory input vs. the engine's
//       tensors, cnn_unload() vs. the outputs, and the known-answer check
#include <iostream>

#include "ai8xsim/ai8xsim.h"
#include "ai8xsim/memory.h"
#include "ai8xsim/npy.h"
#include "cli/commands.h"

namespace ai8xsim::cli {

namespace {

struct NetSample {
  NetworkArgs net;
  std::string sample_input;
  bool quiet = false;
};

void add_sample_options(CLI::App* c, NetSample& a) {
  add_network_options(c, a.net);
  c->add_option("--sample-input", a.sample_input,
                "sample .npy (izer derives the dimensions from it)")
      ->required();
  c->add_flag("-q,--quiet", a.quiet, "print nothing but errors");
}


struct Loaded {
  Simulator sim;
  Tensor input;
  const Network* net = nullptr;
};

Loaded load(const NetSample& a) {
  Loaded l{load_network(a.net, load_options(a.net)),
           Tensor{}, nullptr};
  l.input = sample_to_tensor(read_npy(a.sample_input), a.sample_input);
  l.net = &l.sim.network(InputShape{l.input.c, l.input.h, l.input.w});
  return l;
}

}  // namespace

void add_kat_options(CLI::App* cmd, KatOptions& k) {
  cmd->add_option("--kat", k.file,
                  "run with every layer reading its input from the data memory image, then "
                  "compare data memory with izer's known-answer records "
                  "(generated/sampleoutput.h or .h.gz); exit 2 when a word differs");
  cmd->add_option("--kat-lines", k.lines, "mismatches to list with --kat (0: all)")
      ->capture_default_str();
}

namespace {

struct ExplainArgs {
  NetSample in;
  std::string address;
  bool run = false;
};

int explain_address_command(const ExplainArgs& a) {
  const Loaded l = load(a.in);
  const AddressExplanation e = explain_address(*l.net, l.input, a.address, a.run);
  std::cout << e.text;
  return e.mapped ? 0 : 1;
}

struct CheckArgs {
  NetSample in;
  std::string sample_data, load_code;
  KatOptions kat;
  std::string dump, dump_base;  // a board's data memory dump
  bool read_from_memory = false;
};

int check_memory_command(const CheckArgs& a) {
  const Loaded l = load(a.in);
  MemoryCheckOptions o;
  o.sample_data = a.sample_data;
  o.load_code = a.load_code;
  o.kat_file = a.kat.file;
  o.mismatch_lines = a.kat.lines;
  o.dump_file = a.dump;
  o.dump_base = a.dump_base;
  o.read_from_memory = a.read_from_memory;
  const MemoryCheck c = check_memory(*l.net, l.input, o);
  if (!a.in.quiet || !c.ok) (c.ok ? std::cout : std::cerr) << c.report;
  return c.ok ? 0 : 2;
}

}  // namespace


Command add_explain_address_command(CLI::App& app) {
  auto a = std::make_shared<ExplainArgs>();
  CLI::App* c = app.add_subcommand(
      "explain-address",
      "What a data memory address is: group, instance, processors, offset, and which layers "
      "write and read it");
  c->add_option("address", a->address, "bus address, e.g. 0x50400000")->required();
  add_sample_options(c, a->in);
  c->add_flag("--run", a->run, "also run the sample and show the word it leaves there");
  return {c, [a] { return explain_address_command(*a); }};
}

Command add_check_memory_command(CLI::App& app) {
  auto a = std::make_shared<CheckArgs>();
  CLI::App* c = app.add_subcommand(
      "check-memory",
      "Check the data memory model on a sample: the loaded input against izer's sampledata.h "
      "and load_input(), every layer's input read from memory against the engine's tensors, "
      "cnn_unload() against the outputs, and (with --kat) the known-answer records");
  add_sample_options(c, a->in);
  c->add_option("--sample-data", a->sample_data, "izer's sampledata.h[.gz]");
  c->add_option("--load-code", a->load_code, "the generated main.c (or cnn.c) with load_input()");
  c->add_option("--kat", a->kat.file, "izer's sampleoutput.h[.gz]");
  c->add_option("--kat-lines", a->kat.lines, "mismatches to list (0: all)")
      ->capture_default_str();
  c->add_option("--dump", a->dump,
                "a data memory dump read from the board after running this sample: text "
                "`ADDRESS: WORD ...` lines, or with --dump-base a .bin (little-endian words) or "
                "1-D .npy; every word the run writes is compared");
  c->add_option("--dump-base", a->dump_base, "address of the first word of a .bin/.npy dump");
  c->add_flag("--read-from-memory", a->read_from_memory,
              "feed every layer from data memory and require the same outputs as the tensor run");
  return {c, [a] { return check_memory_command(*a); }};
}

}  // namespace ai8xsim::cli
