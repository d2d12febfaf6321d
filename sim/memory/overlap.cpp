#include "sim/memory/overlap.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <unordered_map>

#include "ai8xsim/error.h"
#include "sim/memory/datamem.h"
#include "ai8xsim/device.h"

namespace ai8xsim {

namespace {

// One protected word: who wrote it (izer's datamem entry: layer, channel, row, column).
struct Entry {
  int layer = kInputLoader;
  int channel = 0, row = 0, col = 0;
};

using WordMap = std::unordered_map<uint32_t, Entry>;
using MapRef = std::shared_ptr<WordMap>;

// izer's combine(a, b): words a lacks are taken from b (a keeps its own writers).
void combine(WordMap& a, const WordMap& b) {
  for (const auto& [addr, e] : b) a.emplace(addr, e);
}

// Collects the first finding per (layer, kind) and counts the words.
class Findings {
 public:
  void add(const OverlapFinding& f) {
    const auto key = std::make_pair(f.layer, static_cast<int>(f.kind));
    const auto it = index_.find(key);
    if (it != index_.end()) {
      ++list_[it->second].words;
      return;
    }
    index_[key] = list_.size();
    list_.push_back(f);
  }
  std::vector<OverlapFinding> take() { return std::move(list_); }

 private:
  std::map<std::pair<int, int>, size_t> index_;
  std::vector<OverlapFinding> list_;
};

// The words izer's input loader records (load.py): every word input_words() lists, except that
// for the passes after the first izer's map leaves out in_offset (it adds in_offset to the
// first pass's address only; the generated memcpy32() still copies to the right words).
MapRef loader_map(const Network& net, Findings& found) {
  auto map = std::make_shared<WordMap>();
  if (net.fifo || net.order.empty()) return map;  // the FIFOs: no data memory
  const Layer& first = net.layers[net.order.front()];
  const DeviceSpec& spec = device_spec(net.device);
  try {
    input_words(net, [&](const WordAccess& w) {
      const uint32_t addr =
          w.pass > 0 ? w.address - static_cast<uint32_t>(first.in_offset) : w.address;
      Entry e;
      e.channel = w.channel_base + std::max(w.channel[0], 0);
      e.row = w.row;
      e.col = w.col;
      const auto [it, fresh] = map->emplace(addr, e);
      if (!fresh) {
        OverlapFinding f;
        f.kind = OverlapFinding::Kind::Loader;
        f.layer = first.index;
        f.processor = DataMemory::locate(spec, addr).first_processor;
        f.address = addr;
        f.channel = e.channel;
        f.row = e.row;
        f.col = e.col;
        f.earlier_layer = kInputLoader;
        f.earlier_channel = it->second.channel;
        f.earlier_row = it->second.row;
        f.earlier_col = it->second.col;
        found.add(f);
      }
    });
  } catch (const Error&) {
    // A layout izer's loader does not make (reported by the run); no map to check against.
  }
  return map;
}

}  // namespace

std::vector<OverlapFinding> find_overlaps(const Network& net) {
  Findings found;
  const DeviceSpec& spec = device_spec(net.device);
  MapRef in_map = loader_map(net, found);
  MapRef all_outputs;  // izer's all_outputs_map (may be the same map as in_map)
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    auto out_map = std::make_shared<WordMap>();
    if (!L.streaming) {
      WordMap layer_words;
      try {
        output_words(net, L, [&](const WordAccess& w) {
          // izer addresses the k-th 32-bit value of an instance at base + 4k.
          const uint32_t addr =
              w.wide ? w.address - 4 * static_cast<uint32_t>(w.lane - w.rank) : w.address;
          Entry e;
          e.layer = ll;
          // izer names the first channel of the instance's word (32-bit: of its four words)
          e.channel = w.wide ? w.channel[0] - w.rank : w.channel[0];
          for (int c : w.channel)
            if (!w.wide && c >= 0) {
              e.channel = c;
              break;
            }
          e.row = w.row;
          e.col = w.col;
          auto report = [&](OverlapFinding::Kind kind, const Entry& old) {
            OverlapFinding f;
            f.kind = kind;
            f.layer = ll;
            f.processor = DataMemory::locate(spec, addr).first_processor;
            f.address = addr;
            f.channel = e.channel;
            f.row = e.row;
            f.col = e.col;
            f.earlier_layer = old.layer;
            f.earlier_channel = old.channel;
            f.earlier_row = old.row;
            f.earlier_col = old.col;
            f.earlier_is_output = old.layer >= 0 && net.layers[old.layer].output_layer;
            found.add(f);
          };
          if (const auto it = in_map->find(addr); it != in_map->end())
            report(OverlapFinding::Kind::Protected, it->second);
          if (const auto it = layer_words.find(addr); it != layer_words.end())
            report(OverlapFinding::Kind::Twice, it->second);
          layer_words[addr] = e;
        });
      } catch (const Error&) {
        layer_words.clear();  // a processor map other rules refuse: nothing to check
      }
      out_map->swap(layer_words);
    }
    // izer's bookkeeping after the layer (max7800x.py), map sharing included.
    if (L.next >= 0 && net.layers[L.next].streaming) {
      combine(*in_map, *out_map);
    } else if (L.output_layer) {
      if (!all_outputs) all_outputs = out_map;
      else combine(*all_outputs, *out_map);
      in_map = all_outputs;
    } else if (!all_outputs) {
      in_map = out_map;
    } else {
      in_map = std::make_shared<WordMap>(*all_outputs);
      combine(*in_map, *out_map);
    }
  }
  return found.take();
}

namespace {

std::string hex(uint32_t v, int digits) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%0*x", digits, v);
  return b;
}

std::string chw(int c, int row, int col) {
  return "CHW=" + std::to_string(c) + "," + std::to_string(row) + "," + std::to_string(col);
}

std::string where(const DeviceSpec& spec, const OverlapFinding& f) {
  const MemLocation loc = DataMemory::locate(spec, f.address);
  return "processor " + std::to_string(f.processor) + ", address " + hex(f.address, 8) +
         ": group " + std::to_string(loc.group) + " instance " + std::to_string(loc.instance) +
         " offset " + hex(loc.offset, 4);
}

// Why izer protects the word the layer overwrites.
std::string why(const Network& net, const OverlapFinding& f) {
  const auto pos = std::find(net.order.begin(), net.order.end(), f.layer);
  const int prev = pos == net.order.begin() || pos == net.order.end() ? kInputLoader : *(pos - 1);
  if (f.earlier_is_output)
    return "an `output: true` result, which izer keeps for cnn_unload()";
  if (f.earlier_layer == prev) return "this layer's input";
  return "data izer keeps while streaming layers run";
}

}  // namespace

std::vector<Violation> overlap_violations(const Network& net) {
  const DeviceSpec& spec = device_spec(net.device);
  std::vector<Violation> out;
  for (const OverlapFinding& f : find_overlaps(net)) {
    if (f.kind != OverlapFinding::Kind::Loader && net.overlap_data) continue;
    Violation v;
    v.layer = f.layer;
    v.resource = "data memory";
    v.needed = static_cast<int64_t>(f.words);
    const std::string n = std::to_string(f.words) + (f.words == 1 ? " word" : " words");
    const std::string hint = "; --overlap-data allows it, as in izer";
    const std::string prefix = "layer " + std::to_string(f.layer) + ": ";
    switch (f.kind) {
      case OverlapFinding::Kind::Protected: {
        v.rule = "data-overlap";
        const std::string by =
            f.earlier_layer == kInputLoader
                ? std::string("the input loader")
                : "layer " + std::to_string(f.earlier_layer) + " (" +
                      chw(f.earlier_channel, f.earlier_row, f.earlier_col) + ")";
        v.message = prefix + "output for " + chw(f.channel, f.row, f.col) + " (" +
                    where(spec, f) + ") overwrites data written by " + by + ", " +
                    why(net, f) + " (out_offset " + hex(static_cast<uint32_t>(
                                                        net.layers[f.layer].out_offset), 4) +
                    "; " + n + " of the output overlap it): move out_offset or "
                    "output_processors off those words" + hint;
        break;
      }
      case OverlapFinding::Kind::Twice:
        v.rule = "data-overwrite";
        v.message = prefix + "output for " + chw(f.channel, f.row, f.col) + " (" +
                    where(spec, f) + ") overwrites the layer's own output for " +
                    chw(f.earlier_channel, f.earlier_row, f.earlier_col) + " (" + n +
                    " written twice; check write_gap, out_offset and output_processors)" + hint;
        break;
      case OverlapFinding::Kind::Loader:
        v.rule = "input-overwrite";
        v.message = prefix + "the input loader writes " + chw(f.channel, f.row, f.col) + " (" +
                    where(spec, f) + ") over its own " +
                    chw(f.earlier_channel, f.earlier_row, f.earlier_col) + " (" + n +
                    (layer_passes(net, net.layers[f.layer]).in_expand > 1
                         ? "; izer's loader places the passes after the first without in_offset " +
                               hex(static_cast<uint32_t>(net.layers[f.layer].in_offset), 4)
                         : std::string()) +
                    "); izer refuses this even with --overlap-data";
        break;
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace ai8xsim
