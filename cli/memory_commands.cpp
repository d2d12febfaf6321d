// ai8xsim command line: the data memory commands.
//   ai8xsim run ... --kat generated/sampleoutput.h[.gz]
//       a memory-fed run (layers read their input from the data memory image), then the data
//       memory compared with izer's known-answer records
//   ai8xsim explain-address ADDRESS --config-file ... --checkpoint-file ... --sample-input ...
//       which group/instance/processors/offset an address is, who writes and reads it
//   ai8xsim check-memory --config-file ... [--sample-data F --load-code main.c] [--kat F]
//       the input image vs. izer's load_input(), every layer's memory input vs. the engine's
//       tensors, cnn_unload() vs. the outputs, and the known-answer check
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "ai8xsim/ai8xsim.h"
#include "cli/commands.h"
#include "sim/memory/databuffer.h"
#include "sim/memory/datamem.h"
#include "sim/model/device.h"
#include "sim/memory/kat.h"
#include "sim/io/npy.h"

namespace ai8xsim::cli {

namespace {

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

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

uint32_t parse_address(const std::string& s, const DeviceSpec& spec,
                       const std::string& option = "explain-address") {
  size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &used, 0);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty() || v > 0xffffffffull)
    fail(ErrorKind::Config, option + ": found `" + s +
                                "`; give a 32-bit address such as 0x50400000 (hex or decimal)");
  uint32_t a = static_cast<uint32_t>(v);
  if (a < spec.apb_base) a += spec.apb_base;  // an address as the CNN sees it (no APB base)
  return a;
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

MemoryFedRun run_with_kat(const Network& net, const Tensor& input, bool keep_layers,
                          const KatOptions& k) {
  const std::vector<KatRecord> records = read_sample_output(k.file);
  MemoryRunOptions opt;
  opt.compare_reads = false;
  opt.read_inputs = true;
  MemoryRun mem_run(net, opt);
  MemoryFedRun out;
  out.result = run_network(net, input, keep_layers, &mem_run);
  const KatResult r = check_kat(mem_run.memory(), records);
  std::ostringstream s;
  s << "memory-fed run: " << mem_run.memory_fed_layers().size()
    << " layer(s) read their input from data memory";
  for (int ll : mem_run.quirk_layers())
    s << "; " << izer_read_quirk(net, net.layers[ll]) << ": it takes izer's input";
  s << "\n" << kat_report(net, mem_run.memory(), r, k.lines);
  out.kat_ok = r.ok();
  out.report = s.str();
  return out;
}

namespace {

struct ExplainArgs {
  NetSample in;
  std::string address;
  bool run = false;
};

int explain_address(const ExplainArgs& a) {
  Loaded l = load(a.in);
  const Network& net = *l.net;
  const DeviceSpec& spec = device_spec(net.device);
  const uint32_t addr = parse_address(a.address, spec);
  const MemLocation loc = DataMemory::locate(spec, addr);
  std::ostringstream s;
  s << "address " << hex32(addr) << " (" << spec.partnum << ")";
  if (!loc.mapped) {
    const uint32_t base = spec.apb_base + spec.c_sram_base;
    s << ": not in data memory";
    if (addr >= base && loc.group < spec.p_numgroups) {
      s << " (group " << loc.group << ", ";
      if (loc.instance >= spec.p_numpro / spec.p_shared)
        s << "past the last instance of the group";
      else
        s << "instance " << loc.instance << " offset 0x" << std::hex << loc.offset << std::dec
          << " is past the instance's " << spec.instance_width * 16 << " bytes";
      s << ")";
    }
    s << "; data memory is " << hex32(base) << " + group * " << hex32(spec.c_group_offs)
      << " + instance * " << hex32(static_cast<uint32_t>(spec.instance_size) * 16)
      << " + offset, offset < " << hex32(static_cast<uint32_t>(spec.instance_width) * 16)
      << "\n";
    std::cout << s.str();
    return 1;
  }
  s << ": group " << loc.group << ", instance " << loc.instance << " (processors "
    << loc.first_processor << "-" << loc.first_processor + spec.p_shared - 1 << ")";
  if (spec.instance_count > 1) s << ", RAM " << loc.sub_instance;
  s << ", byte offset 0x" << std::hex << (loc.offset & ~3u) << " (word 0x" << loc.offset / 4
    << ")" << std::dec << "\n";
  const uint32_t word = addr & ~3u;
  if (word != addr) s << "  (not word aligned: the word at " << hex32(word) << ")\n";
  const std::string in_buffer = describe_buffer_word(net, word);
  if (!in_buffer.empty()) s << in_buffer << "\n";

  std::vector<std::string> writes, reads;
  auto collect = [&](std::vector<std::string>& out, const WordAccess& w) {
    if (w.address == word) out.push_back(describe_access(net, w));
  };
  if (!net.options.fifo) input_words(net, [&](const WordAccess& w) { collect(writes, w); });
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    const bool fifo_fed = net.options.fifo && ll == net.order.front();
    if (!fifo_fed) read_words(net, L, [&](const WordAccess& w) { collect(reads, w); });
    output_words(net, L, [&](const WordAccess& w) { collect(writes, w); });
  }
  s << "written by (in execution order):\n";
  if (writes.empty()) s << "  nothing\n";
  for (const std::string& w : writes) s << "  " << w << "\n";
  s << "read by:\n";
  if (reads.empty()) s << "  nothing\n";
  for (const std::string& r : reads) s << "  " << r << "\n";
  if (net.options.fifo)
    s << "(--fifo: the input goes through the FIFOs; layer " << net.order.front()
      << " reads no data memory)\n";
  if (kat_layout(net).count(word)) s << "check_output() verifies this word (output layer)\n";

  if (a.run) {
    MemoryRunOptions opt;
    opt.compare_reads = false;
    MemoryRun mr(net, opt);
    run_network(net, l.input, false, &mr);
    const DataMemory& mem = mr.memory();
    s << "after the run: " << hex32(mem.read(word)) << " (lanes written: "
      << hex32(mem.written_mask(word)) << ")\n";
    const auto own = mem.owner(word);
    for (int lane = 0; lane < 4; ++lane)
      s << "  lane " << lane << ": " << describe_owner(net, own[lane]) << "\n";
  }
  std::cout << s.str();
  return 0;
}

struct CheckArgs {
  NetSample in;
  std::string sample_data, load_code;
  KatOptions kat;
  std::string dump, dump_base;  // a board's data memory dump (sim/memory/kat.h)
  bool read_from_memory = false;
};

int check_memory(const CheckArgs& a) {
  std::vector<DumpWord> dump;  // read first: a bad dump fails before the run
  if (!a.dump.empty()) {
    std::optional<uint32_t> base;
    if (!a.dump_base.empty())
      base = parse_address(a.dump_base, device_spec(parse_device(a.in.net.device)), "--dump-base");
    dump = read_memory_dump(a.dump, base);
  } else if (!a.dump_base.empty()) {
    fail(ErrorKind::Config, "check-memory: --dump-base " + a.dump_base +
                                " without --dump; give the dump file with --dump");
  }
  Loaded l = load(a.in);
  const Network& net = *l.net;
  bool ok = true;
  std::ostringstream s;

  // 1. The input image (or the FIFO streams) against izer's sampledata.h + load_input().
  if (!a.sample_data.empty() || !a.load_code.empty()) {
    if (a.sample_data.empty() || a.load_code.empty())
      fail(ErrorKind::Config, "check-memory: --sample-data and --load-code go together");
    const auto arrays = parse_c_arrays(read_text_file(a.sample_data), a.sample_data);
    const InputLoadCode code = parse_load_input(read_text_file(a.load_code), a.load_code);
    ImageComparison cmp;
    std::string what;
    if (net.options.fifo) {
      cmp = compare_fifo_streams(fifo_streams(net, l.input), arrays, code);
      what = "input (FIFO streams)";
    } else {
      DataMemory mem(net.device);
      load_input(net, l.input, mem);
      cmp = compare_loaded_image(net, mem, arrays, code);
      what = "input (data memory image)";
    }
    s << what << ": " << cmp.matched << "/" << cmp.words << " words match\n";
    for (const std::string& d : cmp.differences) s << "  " << d << "\n";
    ok &= cmp.ok() && cmp.differences.empty();
  }

  // 2. Every layer's input as read from memory against the engine's tensors.
  MemoryRunOptions opt;
  opt.compare_reads = true;
  MemoryRun mr(net, opt);
  const RunResult r = run_network(net, l.input, true, &mr);
  s << "reads: " << mr.layers_compared() - static_cast<int>(mr.read_differences().size()) << "/"
    << mr.layers_compared() << " layer inputs read from data memory equal the engine's\n";
  for (const ReadDifference& d : mr.read_differences()) {
    s << "  layer " << d.layer << ": " << d.differing << "/" << d.total << " values differ; "
      << d.detail << "\n";
    if (!d.quirk.empty()) s << "  expected (izer's simulation): " << d.quirk << "\n";
    ok &= !d.quirk.empty();
  }
  for (int ll : net.order)
    if (const std::string q = izer_read_quirk(net, net.layers[ll]); !q.empty())
      s << "  note: " << q << "; memory is compared with the hardware's reading\n";

  // 3. With --read-from-memory: a run where every layer takes its input from data memory
  // gives the same outputs as the run on tensors.
  if (a.read_from_memory) {
    MemoryRunOptions fed;
    fed.compare_reads = false;
    fed.read_inputs = true;
    fed.track = false;
    MemoryRun mf(net, fed);
    const RunResult rf = run_network(net, l.input, true, &mf);
    int equal = 0, total = 0;
    std::string first;
    for (int ll : net.order) {
      if (!rf.layers[ll] || !r.layers[ll]) continue;
      ++total;
      if (rf.layers[ll]->data == r.layers[ll]->data) ++equal;
      else if (first.empty()) first = "first differing layer: " + std::to_string(ll);
    }
    s << "memory-fed run: " << equal << "/" << total << " layers equal the tensor run ("
      << mf.memory_fed_layers().size() << " read their input from data memory";
    if (!mf.quirk_layers().empty())
      s << ", " << mf.quirk_layers().size() << " take izer's input (see above)";
    s << ")\n";
    if (!first.empty()) s << "  " << first << "\n";
    ok &= equal == total;
  }

  // 4. cnn_unload() against the output tensors.
  size_t unmapped = 0;
  const std::vector<uint32_t> got = unload(net, mr.memory(), &unmapped);
  const std::vector<uint32_t> want = expected_unload(net, r.layers);
  const std::vector<std::string> quirks = unload_quirks(net);
  size_t same = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) same += got[i] == want[i];
  s << "unload: " << same << "/" << std::max(got.size(), want.size())
    << " words of cnn_unload() equal the outputs";
  if (unmapped) s << " (" << unmapped << " reads outside data memory)";
  s << "\n";
  if (same != got.size() || got.size() != want.size()) {
    for (size_t i = 0; i < std::max(got.size(), want.size()); ++i)
      if (i >= got.size() || i >= want.size() || got[i] != want[i]) {
        s << "  first difference at word " << i << ": unload "
          << (i < got.size() ? hex32(got[i]) : std::string("-")) << ", outputs "
          << (i < want.size() ? hex32(want[i]) : std::string("-")) << "\n";
        break;
      }
    if (quirks.empty()) ok = false;
    for (const std::string& q : quirks) s << "  expected (izer's cnn_unload()): " << q << "\n";
  }

  // 5. The known-answer records.
  if (!a.kat.file.empty()) {
    const KatResult k = check_kat(mr.memory(), read_sample_output(a.kat.file));
    s << kat_report(net, mr.memory(), k, a.kat.lines);
    ok &= k.ok();
  }

  // 6. A board's data memory dump against the simulation of the same sample.
  if (!a.dump.empty()) {
    const DumpComparison d = compare_dump(net, mr.memory(), dump, a.kat.lines);
    s << d.report;
    ok &= d.ok();
  }

  if (!a.in.quiet || !ok) (ok ? std::cout : std::cerr) << s.str();
  return ok ? 0 : 2;
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
  return {c, [a] { return explain_address(*a); }};
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
  return {c, [a] { return check_memory(*a); }};
}

}  // namespace ai8xsim::cli
