#include "sim/memory/kat.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <set>
#include <sstream>

#include "ai8xsim/error.h"
#include "sim/io/c_source.h"
#include "ai8xsim/files.h"
#include "sim/io/npy.h"

namespace ai8xsim {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::string read_text_file(const std::string& path) {
  return ends_with(path, ".gz") ? gunzip_file(path) : read_file(path);
}

std::map<std::string, std::vector<uint32_t>> parse_c_arrays(const std::string& text,
                                                            const std::string& what) {
  return c_define_words(read_c_source(text, what));
}

std::vector<KatRecord> parse_sample_output(const std::string& text, const std::string& what) {
  const auto arrays = parse_c_arrays(text, what);
  const auto it = arrays.find("SAMPLE_OUTPUT");
  if (it == arrays.end()) fail(ErrorKind::IO, what + ": no `#define SAMPLE_OUTPUT { ... }`");
  const std::vector<uint32_t>& a = it->second;
  std::vector<KatRecord> records;
  size_t i = 0;
  while (true) {
    if (i >= a.size())
      fail(ErrorKind::IO, what + ": SAMPLE_OUTPUT ends without the terminating 0 address");
    const uint32_t address = a[i++];
    if (address == 0) break;
    if (i + 2 > a.size())
      fail(ErrorKind::IO, what + ": SAMPLE_OUTPUT: the record at " + c_hex32(address) +
                              " has no mask/count");
    KatRecord r;
    r.address = address;
    r.mask = a[i++];
    const uint32_t count = a[i++];
    if (i + count > a.size())
      fail(ErrorKind::IO, what + ": SAMPLE_OUTPUT: the record at " + c_hex32(address) + " needs " +
                              std::to_string(count) + " words, " +
                              std::to_string(a.size() - i) + " are left");
    r.words.assign(a.begin() + static_cast<std::ptrdiff_t>(i),
                   a.begin() + static_cast<std::ptrdiff_t>(i + count));
    i += count;
    records.push_back(std::move(r));
  }
  return records;
}

std::vector<KatRecord> read_sample_output(const std::string& path) {
  return parse_sample_output(read_text_file(path), path);
}

KatResult check_kat(const DataMemory& mem, const std::vector<KatRecord>& records) {
  KatResult res;
  res.records = records.size();
  for (const KatRecord& r : records) {
    for (size_t k = 0; k < r.words.size(); ++k) {
      const uint32_t address = r.address + static_cast<uint32_t>(4 * k);
      ++res.words;
      KatMismatch m;
      m.address = address;
      m.mask = r.mask;
      m.expected = r.words[k];
      m.mapped = mem.mapped(address) && (address & 3) == 0;
      m.found = m.mapped ? mem.read(address) & r.mask : 0;
      if (m.mapped && m.found == m.expected) {
        ++res.matched;
        continue;
      }
      res.mismatches.push_back(m);
    }
  }
  return res;
}

std::map<uint32_t, WordAccess> kat_layout(const Network& net) {
  std::map<uint32_t, WordAccess> out;
  std::vector<bool> ran(net.layers.size(), false);
  for (int ll : net.order) ran[ll] = true;
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    if (!(L.output_layer || ll == net.final_layer)) continue;
    output_words(net, L, [&](const WordAccess& w) { out[w.address] = w; });
  }
  return out;
}

std::string kat_report(const Network& net, const DataMemory& mem, const KatResult& result,
                       size_t max_lines) {
  std::ostringstream s;
  s << "KAT: " << result.matched << "/" << result.words << " words match";
  if (!result.ok()) s << " (" << result.mismatches.size() << " differ)";
  s << "\n";
  if (result.mismatches.empty()) return s.str();
  const std::map<uint32_t, WordAccess> layout = kat_layout(net);
  size_t shown = 0;
  for (const KatMismatch& m : result.mismatches) {
    if (max_lines && shown++ >= max_lines) {
      s << "  ... " << result.mismatches.size() - max_lines << " more\n";
      break;
    }
    s << "  " << c_hex32(m.address) << ": expected " << c_hex32(m.expected) << ", found "
      << c_hex32(m.found) << " (mask " << c_hex32(m.mask) << ")";
    if (!m.mapped) {
      s << "; the address is outside data memory\n";
      continue;
    }
    const MemLocation loc = mem.locate(m.address);
    s << "; group " << loc.group << " instance " << loc.instance << " offset 0x" << std::hex
      << loc.offset << std::dec;
    const auto it = layout.find(m.address);
    int expected_layer = kUnwritten;
    if (it != layout.end()) {
      s << "; holds " << describe_access(net, it->second);
      expected_layer = it->second.layer;
    } else {
      s << "; no output layer writes this address";
    }
    // Who wrote the checked lanes last, when that is not the expected layer.
    if (mem.tracking()) {
      const std::array<LaneOwner, 4> own = mem.owner(m.address);
      std::set<std::string> others;
      for (int lane = 0; lane < 4; ++lane) {
        if (!(m.mask >> (8 * lane) & 0xff)) continue;
        if (own[lane].layer != expected_layer) others.insert(describe_owner(net, own[lane]));
      }
      if (!others.empty()) {
        s << "; last written by ";
        size_t i = 0;
        for (const std::string& o : others) s << (i++ ? ", " : "") << o;
      }
    }
    s << "\n";
  }
  return s.str();
}

// ---- load_input() -------------------------------------------------------------------------

InputLoadCode parse_load_input(const std::string& c_text, const std::string& what) {
  InputLoadCode code;
  const CSource src = read_c_source(c_text, what);
  const auto body = c_function_body(src, "load_input");
  if (!body) fail(ErrorKind::IO, what + ": no load_input() function");
  const std::vector<CToken>& t = src.tokens;

  // input_n -> SAMPLE_INPUT_n (`static const uint32_t input_n[] = SAMPLE_INPUT_n;`)
  std::map<std::string, std::string> alias;
  for (size_t i = 0; i < t.size(); ++i) {
    std::vector<const CToken*> c;
    if (c_match(t, i, {"static", "const", "uint32_t", "$", "[", "]", "=", "$", ";"}, &c))
      alias[c[0]->text] = c[1]->text;
  }
  auto define_of = [&](const std::string& var) {
    const auto a = alias.find(var);
    return a == alias.end() ? var : a->second;
  };

  std::map<std::string, std::string> pointer;  // in0 -> input_0
  std::vector<std::string> pushed;             // the pointers pushed, in order
  for (size_t i = body->first; i < body->second; ++i) {
    std::vector<const CToken*> c;
    if (c_match(t, i, {"memcpy32", "(", "(", "uint32_t", "*", ")", "#", ",", "$", ",", "#", ")"},
                &c)) {
      InputLoadCode::Copy copy;
      copy.address = static_cast<uint32_t>(*c_integer(*c[0]));
      copy.array = define_of(c[1]->text);
      copy.count = static_cast<size_t>(*c_integer(*c[2]));
      code.copies.push_back(copy);
    } else if (c_match(t, i, {"const", "uint32_t", "*", "$", "=", "$", ";"}, &c)) {
      pointer[c[0]->text] = c[1]->text;
    } else if (c_match(t, i,
                       {"*", "(", "(", "volatile", "uint32_t", "*", ")", "#", ")", "=", "*", "$",
                        "++", ";"},
                       &c)) {
      // FIFO n is the n-th pointer load_input() pushes (izer writes FIFO 0, 1, ... in order)
      const auto p = pointer.find(c[1]->text);
      if (p == pointer.end())
        fail(ErrorKind::IO, what + " line " + std::to_string(c[1]->line) +
                                ": load_input() pushes `" + c[1]->text +
                                "`, which it does not declare");
      if (std::find(pushed.begin(), pushed.end(), c[1]->text) == pushed.end()) {
        code.fifo_arrays[static_cast<int>(pushed.size())] = define_of(p->second);
        pushed.push_back(c[1]->text);
      }
    }
  }
  if (code.copies.empty() && code.fifo_arrays.empty())
    fail(ErrorKind::IO, what + ": load_input() neither copies to data memory nor writes FIFOs");
  return code;
}

ImageComparison compare_loaded_image(const Network& net, const DataMemory& mem,
                                     const std::map<std::string, std::vector<uint32_t>>& arrays,
                                     const InputLoadCode& code) {
  ImageComparison cmp;
  DataMemory ref(net.device, false);
  for (const InputLoadCode::Copy& c : code.copies) {
    const auto a = arrays.find(c.array);
    if (a == arrays.end()) {
      cmp.differences.push_back("load_input() copies " + c.array + ", which sampledata.h lacks");
      ++cmp.words;
      continue;
    }
    if (a->second.size() < c.count)
      cmp.differences.push_back(c.array + " has " + std::to_string(a->second.size()) +
                                " words, load_input() copies " + std::to_string(c.count));
    for (size_t k = 0; k < c.count && k < a->second.size(); ++k)
      ref.write(c.address + static_cast<uint32_t>(4 * k), a->second[k]);
  }
  for (size_t i = 0; i < ref.words(); ++i) {
    const bool in_ref = ref.written_at(i) != 0, in_mem = mem.written_at(i) != 0;
    if (!in_ref && !in_mem) continue;
    ++cmp.words;
    if (in_ref && in_mem && ref.word_at(i) == mem.word_at(i)) {
      ++cmp.matched;
      continue;
    }
    if (cmp.differences.size() < 20) {
      std::string d = c_hex32(ref.address_at(i)) + ": ";
      if (!in_ref) d += "ai8xsim loads " + c_hex32(mem.word_at(i)) + ", load_input() nothing";
      else if (!in_mem) d += "load_input() writes " + c_hex32(ref.word_at(i)) + ", ai8xsim nothing";
      else d += "load_input() writes " + c_hex32(ref.word_at(i)) + ", ai8xsim " +
                c_hex32(mem.word_at(i));
      if (mem.tracking() && in_mem) {
        const auto own = mem.owner(ref.address_at(i));
        for (const LaneOwner& o : own)
          if (o.layer != kUnwritten) {
            d += " (" + describe_owner(net, o) + ")";
            break;
          }
      }
      cmp.differences.push_back(d);
    }
  }
  return cmp;
}

ImageComparison compare_fifo_streams(const std::vector<std::vector<uint32_t>>& streams,
                                     const std::map<std::string, std::vector<uint32_t>>& arrays,
                                     const InputLoadCode& code) {
  ImageComparison cmp;
  std::set<int> fifos;
  for (const auto& [f, name] : code.fifo_arrays) fifos.insert(f);
  for (size_t f = 0; f < streams.size(); ++f)
    if (!streams[f].empty()) fifos.insert(static_cast<int>(f));
  for (int f : fifos) {
    static const std::vector<uint32_t> none;
    const auto fa = code.fifo_arrays.find(f);
    const std::vector<uint32_t>* ref = &none;
    if (fa != code.fifo_arrays.end()) {
      const auto a = arrays.find(fa->second);
      if (a != arrays.end()) ref = &a->second;
      else cmp.differences.push_back("FIFO " + std::to_string(f) + ": sampledata.h lacks " +
                                     fa->second);
    }
    const std::vector<uint32_t>& got =
        static_cast<size_t>(f) < streams.size() ? streams[static_cast<size_t>(f)] : none;
    const size_t n = std::max(ref->size(), got.size());
    cmp.words += n;
    for (size_t k = 0; k < n; ++k) {
      if (k < ref->size() && k < got.size() && (*ref)[k] == got[k]) {
        ++cmp.matched;
        continue;
      }
      if (cmp.differences.size() < 20)
        cmp.differences.push_back(
            "FIFO " + std::to_string(f) + " word " + std::to_string(k) + ": load_input() " +
            (k < ref->size() ? c_hex32((*ref)[k]) : std::string("nothing")) + ", ai8xsim " +
            (k < got.size() ? c_hex32(got[k]) : std::string("nothing")));
    }
  }
  return cmp;
}

}  // namespace ai8xsim

// ---- izer's files for any sample ------------------------------------------------------------

namespace ai8xsim {

std::vector<SampleInputArray> sample_input_arrays(const Network& net, const Tensor& input) {
  std::vector<SampleInputArray> out;
  if (net.order.empty()) fail(ErrorKind::Internal, "kat: the network has no layers");
  const Layer& L = net.layers[net.order.front()];
  if (net.fifo) {
    // izer's code_buffer: one row per FIFO it counts (CHW: a channel each; HWC: four channels
    // each), of (pixels + 3) / 4 (CHW) or pixels (HWC) words; rows no channel reaches stay 0.
    const std::vector<std::vector<uint32_t>> streams = fifo_streams(net, input);
    const int pixels = input.h * input.w;
    const int fifos = L.big_data ? input.c : (input.c + 3) / 4;
    const size_t len = static_cast<size_t>(L.big_data ? (pixels + 3) / 4 : pixels);
    for (int f = 0; f < fifos; ++f) {
      SampleInputArray a;
      a.name = "SAMPLE_INPUT_" + std::to_string(f);
      a.fifo = f;
      if (static_cast<size_t>(f) < streams.size()) a.words = streams[static_cast<size_t>(f)];
      if (a.words.size() < len) a.words.resize(len, 0);
      out.push_back(std::move(a));
    }
    return out;
  }
  // Data memory: the words load_input() copies, one array per instance (HWC) or per channel
  // (CHW), named for the processor that starts it.
  std::vector<int> procs;  // CHW: channel c's processor
  for (int i = 0; i < 64; ++i)
    if (L.processors >> i & 1) procs.push_back(i);
  const DeviceSpec& spec = device_spec(net.device);
  int key = -1;
  input_words(net, [&](const WordAccess& w) {
    const int k = w.chw ? w.channel[0] : DataMemory::locate(spec, w.address).first_processor;
    if (out.empty() || k != key) {
      key = k;
      SampleInputArray a;
      const int proc = w.chw ? procs[static_cast<size_t>(k)] : k;
      a.name = "SAMPLE_INPUT_" + std::to_string(proc);
      a.address = w.address;
      out.push_back(std::move(a));
    }
    out.back().words.push_back(pack_word(w, input));
  });
  return out;
}

std::vector<KatWord> kat_words(const Network& net,
                               const std::vector<std::optional<Tensor>>& outputs,
                               long max_checklines) {
  std::vector<KatWord> words;
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    if (!(L.output_layer || ll == net.final_layer)) continue;
    if (static_cast<size_t>(ll) >= outputs.size() || !outputs[static_cast<size_t>(ll)])
      fail(ErrorKind::Internal, "kat: layer " + std::to_string(ll) + " has no output");
    const Tensor& t = *outputs[static_cast<size_t>(ll)];
    output_words(net, L, [&](const WordAccess& w) {
      KatWord k;
      k.address = w.address;
      k.mask = w.check_mask;
      k.value = pack_word(w, t) & w.check_mask;
      k.access = w;
      words.push_back(std::move(k));
    });
  }
  std::stable_sort(words.begin(), words.end(), [](const KatWord& a, const KatWord& b) {
    if (a.mask != b.mask) return a.mask < b.mask;
    if (a.address != b.address) return a.address < b.address;
    return a.value < b.value;
  });
  if (max_checklines >= 0 && words.size() > static_cast<size_t>(max_checklines) + 1)
    words.resize(static_cast<size_t>(max_checklines) + 1);
  return words;
}

std::vector<uint32_t> sample_output_array(const std::vector<KatWord>& words) {
  std::vector<uint32_t> out;
  size_t start = 0;
  while (start < words.size()) {
    size_t end = start + 1;
    while (end < words.size() && words[end].mask == words[start].mask &&
           words[end].address == words[end - 1].address + 4)
      ++end;
    out.push_back(words[start].address);
    out.push_back(words[start].mask);
    out.push_back(static_cast<uint32_t>(end - start));
    for (size_t i = start; i < end; ++i) out.push_back(words[i].value);
    start = end;
  }
  out.push_back(0);
  return out;
}

std::string sampledata_h(const std::vector<SampleInputArray>& arrays) {
  std::string s = kGeneratedHeader;
  for (const SampleInputArray& a : arrays) s += c_define_text(a.name, a.words);
  return s;
}

std::string sampleoutput_h(const std::vector<KatWord>& words) {
  return std::string(kGeneratedHeader) +
         c_define_text("SAMPLE_OUTPUT", sample_output_array(words));
}

}  // namespace ai8xsim

// ---- a board's data memory dump -------------------------------------------------------------

namespace ai8xsim {

namespace {

bool is_hex_word(const std::string& t, uint32_t& v) {
  size_t i = t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') ? 2 : 0;
  if (i >= t.size() || t.size() - i > 8) return false;
  uint32_t x = 0;
  for (; i < t.size(); ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(t[i])));
    if (c >= '0' && c <= '9') x = x * 16 + static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') x = x * 16 + static_cast<uint32_t>(c - 'a' + 10);
    else return false;
  }
  v = x;
  return true;
}

std::vector<DumpWord> parse_text_dump(const std::string& text, const std::string& path) {
  std::vector<DumpWord> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#' || line.compare(first, 2, "//") == 0)
      continue;
    const std::string where = path + " line " + std::to_string(n);
    const size_t colon = line.find(':');
    std::istringstream head(colon == std::string::npos ? line : line.substr(0, colon));
    std::string addr_tok, symbol;
    head >> addr_tok >> symbol;  // `0x50400000 <name>` (gdb) or `0x50400000`
    uint32_t address = 0;
    if (colon == std::string::npos || !is_hex_word(addr_tok, address) ||
        (!symbol.empty() && symbol.front() != '<'))
      fail(ErrorKind::Input, where + ": found `" + line.substr(first, 40) +
                                 "`; expected `ADDRESS: WORD [WORD ...]` in hex, e.g. "
                                 "`0x50400000: 0x0012ab00`");
    if (address & 3)
      fail(ErrorKind::Input, where + ": address " + c_hex32(address) +
                                 " is not word aligned; give the address of a 32-bit word");
    std::istringstream rest(line.substr(colon + 1));
    std::string tok;
    int count = 0;
    while (rest >> tok) {
      uint32_t v = 0;
      if (!is_hex_word(tok, v))
        fail(ErrorKind::Input, where + ": found `" + tok.substr(0, 20) +
                                   "` where a 32-bit hex word belongs (at most 8 hex digits)");
      out.push_back({address + 4u * static_cast<uint32_t>(count++), v});
    }
    if (count == 0) fail(ErrorKind::Input, where + ": the address has no word after the colon");
  }
  if (out.empty())
    fail(ErrorKind::Input, path + ": no `ADDRESS: WORD` line; the dump is empty");
  return out;
}

}  // namespace

std::vector<DumpWord> read_memory_dump(const std::string& path,
                                       const std::optional<uint32_t>& base) {
  const bool npy = ends_with(path, ".npy");
  if (!base) {
    if (npy)
      fail(ErrorKind::Input, path + ": a .npy dump holds words without addresses; give "
                                    "--dump-base with the address of its first word");
    return parse_text_dump(read_text_file(path), path);
  }
  if ((*base & 3) != 0)
    fail(ErrorKind::Input, "--dump-base: " + c_hex32(*base) +
                               " is not word aligned; give the address of a 32-bit word");
  std::vector<DumpWord> out;
  auto add = [&](uint32_t v) {
    const uint64_t a = uint64_t{*base} + 4 * out.size();
    if (a > 0xffffffffull)
      fail(ErrorKind::Input, path + ": the dump runs past address 0xffffffff from --dump-base " +
                                 c_hex32(*base));
    out.push_back({static_cast<uint32_t>(a), v});
  };
  if (npy) {
    const NdArray a = read_npy(path);
    if (!dtype_is_integer(a.dtype) || a.shape.size() != 1)
      fail(ErrorKind::Input, path + ": found a " + std::string(dtype_name(a.dtype)) + " array of "
                                 "shape " + a.shape_str() + "; a dump is a 1-D integer array of "
                                 "32-bit words");
    for (double v : a.values) {
      if (v < -2147483648.0 || v > 4294967295.0)
        fail(ErrorKind::Input, path + ": value " + std::to_string(v) + " is not a 32-bit word");
      add(static_cast<uint32_t>(static_cast<int64_t>(v)));
    }
  } else {
    const std::string bytes = read_file(path);
    if (bytes.size() % 4 != 0)
      fail(ErrorKind::Input, path + ": " + std::to_string(bytes.size()) +
                                 " bytes is not a whole number of 32-bit words (a binary dump "
                                 "holds little-endian words)");
    for (size_t i = 0; i < bytes.size(); i += 4) {
      uint32_t v = 0;
      for (int b = 3; b >= 0; --b)
        v = v << 8 | static_cast<uint8_t>(bytes[i + static_cast<size_t>(b)]);
      add(v);
    }
  }
  if (out.empty()) fail(ErrorKind::Input, path + ": the dump holds no word");
  return out;
}

DumpComparison compare_dump(const Network& net, const DataMemory& mem,
                            const std::vector<DumpWord>& dump, size_t max_lines) {
  DumpComparison c;
  c.words = dump.size();
  std::ostringstream lines;
  size_t shown = 0;
  for (const DumpWord& d : dump) {
    if (!mem.mapped(d.address)) {
      ++c.unmapped;
      continue;
    }
    const uint32_t written = mem.written_mask(d.address);
    if (!written) {
      ++c.unwritten;
      continue;
    }
    ++c.compared;
    const uint32_t sim = mem.read(d.address);
    const uint32_t diff = (sim ^ d.value) & written;
    if (!diff) {
      ++c.matched;
      continue;
    }
    ++c.differing;
    if (max_lines && shown >= max_lines) continue;
    ++shown;
    lines << "  " << c_hex32(d.address) << ": board " << c_hex32(d.value) << ", simulation "
          << c_hex32(sim) << " (lanes written " << c_hex32(written) << ")";
    const std::array<LaneOwner, 4> own = mem.owner(d.address);
    bool whole = true;  // a 32-bit output word: one owner for all lanes
    for (int lane = 1; lane < 4; ++lane)
      whole &= own[lane].wide && own[0].wide && own[lane].layer == own[0].layer &&
               own[lane].channel == own[0].channel && own[lane].pixel == own[0].pixel;
    if (whole && own[0].wide) {
      lines << ": " << describe_owner(net, own[0]);
    } else {
      const char* sep = ": ";
      for (int lane = 0; lane < 4; ++lane) {
        if (!(diff >> (8 * lane) & 0xff)) continue;
        lines << sep << "lane " << lane << ": " << describe_owner(net, own[lane]);
        sep = "; ";
      }
    }
    lines << "\n";
  }
  std::ostringstream s;
  s << "dump: " << c.matched << "/" << c.compared << " words equal the simulation";
  if (c.differing) s << " (" << c.differing << " differ)";
  s << "; " << c.words << " in the dump, " << c.unwritten << " not written by the run";
  if (c.unmapped) s << ", " << c.unmapped << " outside data memory";
  s << " (not compared)\n" << lines.str();
  if (max_lines && c.differing > shown) s << "  ... " << c.differing - shown << " more\n";
  c.report = s.str();
  return c;
}

}  // namespace ai8xsim
