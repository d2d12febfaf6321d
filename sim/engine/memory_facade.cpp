// The memory facade (ai8xsim/memory.h): the memory-fed run, the known-answer check and files,
// explain-address and check-memory, kernel and bias memory use; each runs the engine with the
// data memory model's hook (sim/memory/datamem.h MemoryRun) where it needs a run.
#include <algorithm>
#include <optional>
#include <sstream>

#include "ai8xsim/memory.h"
#include "sim/io/c_source.h"
#include "sim/memory/biasmem.h"
#include "sim/memory/databuffer.h"
#include "sim/memory/datamem.h"
#include "sim/memory/kat.h"
#include "sim/memory/kat_harness.h"
#include "sim/memory/kernelmem.h"
#include "ai8xsim/device.h"

namespace ai8xsim {

namespace {

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

RunResult run_memory_fed(const Network& net, const Tensor& input, bool keep_layers) {
  MemoryRunOptions o;
  o.compare_reads = false;
  o.read_inputs = true;
  o.track = false;
  MemoryRun hook(net, o);
  return run_network(net, input, keep_layers, &hook);
}

KatRun run_with_kat(const Network& net, const Tensor& input, bool keep_layers,
                    const std::string& kat_file, size_t mismatch_lines) {
  const std::vector<KatRecord> records = read_sample_output(kat_file);
  MemoryRunOptions opt;
  opt.compare_reads = false;
  opt.read_inputs = true;
  MemoryRun mem_run(net, opt);
  KatRun out;
  out.result = run_network(net, input, keep_layers, &mem_run);
  const KatResult r = check_kat(mem_run.memory(), records);
  std::ostringstream s;
  s << "memory-fed run: " << mem_run.memory_fed_layers().size()
    << " layer(s) read their input from data memory";
  for (int ll : mem_run.quirk_layers())
    s << "; " << izer_read_quirk(net, net.layers[ll]) << ": it takes izer's input";
  s << "\n" << kat_report(net, mem_run.memory(), r, mismatch_lines);
  out.ok = r.ok();
  out.report = s.str();
  return out;
}

AddressExplanation explain_address(const Network& net, const Tensor& input,
                                   const std::string& address, bool run) {
  const DeviceSpec& spec = device_spec(net.device);
  const uint32_t addr = parse_address(address, spec);
  const MemLocation loc = DataMemory::locate(spec, addr);
  std::ostringstream s;
  s << "address " << c_hex32(addr) << " (" << spec.partnum << ")";
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
    s << "; data memory is " << c_hex32(base) << " + group * " << c_hex32(spec.c_group_offs)
      << " + instance * " << c_hex32(static_cast<uint32_t>(spec.instance_size) * 16)
      << " + offset, offset < " << c_hex32(static_cast<uint32_t>(spec.instance_width) * 16)
      << "\n";
    return {false, s.str()};
  }
  s << ": group " << loc.group << ", instance " << loc.instance << " (processors "
    << loc.first_processor << "-" << loc.first_processor + spec.p_shared - 1 << ")";
  if (spec.instance_count > 1) s << ", RAM " << loc.sub_instance;
  s << ", byte offset 0x" << std::hex << (loc.offset & ~3u) << " (word 0x" << loc.offset / 4
    << ")" << std::dec << "\n";
  const uint32_t word = addr & ~3u;
  if (word != addr) s << "  (not word aligned: the word at " << c_hex32(word) << ")\n";
  const std::string in_buffer = describe_buffer_word(net, word);
  if (!in_buffer.empty()) s << in_buffer << "\n";

  std::vector<std::string> writes, reads;
  auto collect = [&](std::vector<std::string>& out, const WordAccess& w) {
    if (w.address == word) out.push_back(describe_access(net, w));
  };
  if (!net.fifo) input_words(net, [&](const WordAccess& w) { collect(writes, w); });
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    const bool fifo_fed = net.fifo && ll == net.order.front();
    if (!fifo_fed) read_words(net, L, [&](const WordAccess& w) { collect(reads, w); });
    output_words(net, L, [&](const WordAccess& w) { collect(writes, w); });
  }
  s << "written by (in execution order):\n";
  if (writes.empty()) s << "  nothing\n";
  for (const std::string& w : writes) s << "  " << w << "\n";
  s << "read by:\n";
  if (reads.empty()) s << "  nothing\n";
  for (const std::string& r : reads) s << "  " << r << "\n";
  if (net.fifo)
    s << "(--fifo: the input goes through the FIFOs; layer " << net.order.front()
      << " reads no data memory)\n";
  if (kat_layout(net).count(word)) s << "check_output() verifies this word (output layer)\n";

  if (run) {
    MemoryRunOptions opt;
    opt.compare_reads = false;
    MemoryRun mr(net, opt);
    run_network(net, input, false, &mr);
    const DataMemory& mem = mr.memory();
    s << "after the run: " << c_hex32(mem.read(word)) << " (lanes written: "
      << c_hex32(mem.written_mask(word)) << ")\n";
    const auto own = mem.owner(word);
    for (int lane = 0; lane < 4; ++lane)
      s << "  lane " << lane << ": " << describe_owner(net, own[lane]) << "\n";
  }
  return {true, s.str()};
}

MemoryCheck check_memory(const Network& net, const Tensor& input, const MemoryCheckOptions& a) {
  std::vector<DumpWord> dump;  // read first: a bad dump fails before the run
  if (!a.dump_file.empty()) {
    std::optional<uint32_t> base;
    if (!a.dump_base.empty())
      base = parse_address(a.dump_base, device_spec(net.device), "--dump-base");
    dump = read_memory_dump(a.dump_file, base);
  } else if (!a.dump_base.empty()) {
    fail(ErrorKind::Config, "check-memory: --dump-base " + a.dump_base +
                                " without --dump; give the dump file with --dump");
  }
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
    if (net.fifo) {
      cmp = compare_fifo_streams(fifo_streams(net, input), arrays, code);
      what = "input (FIFO streams)";
    } else {
      DataMemory mem(net.device);
      load_input(net, input, mem);
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
  const RunResult r = run_network(net, input, true, &mr);
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
    const RunResult rf = run_network(net, input, true, &mf);
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
          << (i < got.size() ? c_hex32(got[i]) : std::string("-")) << ", outputs "
          << (i < want.size() ? c_hex32(want[i]) : std::string("-")) << "\n";
        break;
      }
    if (quirks.empty()) ok = false;
    for (const std::string& q : quirks) s << "  expected (izer's cnn_unload()): " << q << "\n";
  }

  // 5. The known-answer records.
  if (!a.kat_file.empty()) {
    const KatResult k = check_kat(mr.memory(), read_sample_output(a.kat_file));
    s << kat_report(net, mr.memory(), k, a.mismatch_lines);
    ok &= k.ok();
  }

  // 6. A board's data memory dump against the simulation of the same sample.
  if (!a.dump_file.empty()) {
    const DumpComparison d = compare_dump(net, mr.memory(), dump, a.mismatch_lines);
    s << d.report;
    ok &= d.ok();
  }

  return {ok, s.str()};
}


KatFiles kat_files(const Network& net, const std::vector<Tensor>& inputs, long max_checklines,
                   bool harness, const std::string& dir) {
  std::vector<KatSample> runs;
  const PreparedNetwork prepared = prepare_network(net, net.kernels);
  for (const Tensor& in : inputs) {
    const RunResult r = run_network(net, in, true, nullptr, &prepared);
    runs.push_back({sample_input_arrays(net, in), kat_words(net, r.layers, max_checklines)});
  }
  KatFiles out;
  if (runs.empty()) return out;
  if (!harness) {
    out.files.push_back({dir + "/sampledata.h", sampledata_h(runs[0].inputs)});
    out.files.push_back({dir + "/sampleoutput.h", sampleoutput_h(runs[0].words)});
  } else {
    out.files.push_back({dir + "/kat_samples.h", kat_samples_h(net, runs)});
    out.files.push_back({dir + "/kat_main.c", kat_main_c(net)});
  }
  out.checked_words = runs[0].words.size();
  out.input_arrays = runs[0].inputs.size();
  return out;
}

MemoryUse memory_use(const Network& net) {
  const KernelLayout k = allocate_kernels(net);
  const BiasLayout b = allocate_bias(net);
  MemoryUse out;
  for (int ll : net.order) {
    LayerMemoryUse u;
    if (const KernelAllocation* ka = k.find(ll)) {
      u.kernel_rows = ka->source < 0 ? ka->rows : 0;
      u.kernel_first_row = ka->first_row;
      if (ka->source >= 0) u.kernel_shared_with = ka->source;
    }
    if (const BiasAllocation* ba = b.find(ll)) {
      u.bias_bytes = ba->source < 0 ? ba->bytes() : 0;
      u.bias_group = ba->group;
    }
    out.layers[ll] = u;
  }
  out.kernel_rows_written = k.memory.rows_written();
  out.bias_bytes_used = b.memory.bytes_used();
  for (const Violation& v : k.violations) out.violations.push_back(v.message);
  for (const Violation& v : b.violations) out.violations.push_back(v.message);
  return out;
}

}  // namespace ai8xsim
