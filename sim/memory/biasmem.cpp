// ai8xsim: bias memory placement (izer kbias.py). docs/weight-memory.md explains the rules.
#include "sim/memory/biasmem.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>

#include "ai8xsim/error.h"
#include "sim/model/bits.h"
#include "ai8xsim/device.h"
#include "sim/io/c_source.h"

namespace ai8xsim {

// ---- BiasMemory -------------------------------------------------------------------------------

BiasMemory::BiasMemory(Device d) : device(d) {
  bytes.resize(static_cast<size_t>(device_spec(d).p_numgroups));
}

int64_t BiasMemory::bytes_used() const {
  int64_t n = 0;
  for (const auto& g : bytes) n += static_cast<int64_t>(g.size());
  return n;
}

uint32_t BiasMemory::address(int group, int offset) const {
  const DeviceSpec& spec = device_spec(device);
  return spec.apb_base + spec.c_group_offs * static_cast<uint32_t>(group) + spec.c_bram_base +
         static_cast<uint32_t>(offset) * 4u;
}

int BiasAllocation::bytes() const {
  int n = 0;
  for (int l : lengths) n += l;
  return n;
}

const BiasAllocation* BiasLayout::find(int layer) const {
  for (const BiasAllocation& a : layers)
    if (a.layer == layer) return &a;
  return nullptr;
}


namespace {

constexpr int64_t kUnset = std::numeric_limits<int64_t>::min();  // a byte nobody wrote

int pymod(int a, int b) { return ((a % b) + b) % b; }

std::string list_str(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

int izer_layer_count(const Network& net) {
  if (net.order.empty()) return static_cast<int>(net.layers.size());
  return std::min(*std::max_element(net.order.begin(), net.order.end()) + 1,
                  static_cast<int>(net.layers.size()));
}

class BiasAllocator {
 public:
  BiasAllocator(const Network& net, const BiasGroupMap& bias_groups)
      : net_(net), spec_(device_spec(net.device)), groups_(bias_groups),
        layers_(izer_layer_count(net)) {
    values_.assign(static_cast<size_t>(spec_.p_numgroups),
                   std::vector<int64_t>(static_cast<size_t>(spec_.bias_size), kUnset));
    used_.assign(static_cast<size_t>(spec_.p_numgroups), 0);
    out_.memory = BiasMemory(net.device);
  }

  BiasLayout run() {
    const int G = spec_.p_numgroups;
    if (layers_ <= 0 || net_.final_layer < 0 ||
        net_.final_layer >= static_cast<int>(net_.layers.size()))
      return finish(true, {});
    // Deduplication: a bias equal to an earlier layer's is not stored again.
    std::vector<int> source(static_cast<size_t>(layers_), -1);
    for (int ll = 0; ll < layers_; ++ll) {
      const Layer& L = layer(ll);
      if (L.bias.empty()) continue;
      for (int j = 0; j < ll; ++j)
        if (!layer(j).bias.empty() && source[static_cast<size_t>(j)] < 0 && layer(j).bias == L.bias) {
          source[static_cast<size_t>(ll)] = j;
          break;
        }
    }
    // Groups the network uses: any processor of any layer, or of the final output map.
    uint64_t procs = net_.layers[static_cast<size_t>(net_.final_layer)].output_processors;
    for (int ll = 0; ll < layers_; ++ll) procs |= layer(ll).processors;
    std::vector<int> groups_used;
    for (int g = 0; g < G; ++g)
      if (procs >> (g * spec_.p_numpro) & mask16()) groups_used.push_back(g);

    for (int ll = 0; ll < layers_; ++ll) {
      BiasAllocation a;
      a.layer = ll;
      a.offsets.assign(static_cast<size_t>(G), -1);
      a.lengths.assign(static_cast<size_t>(G), 0);
      records_.push_back(a);
    }

    struct Block {
      int ll;
      std::vector<int> groups;
      int len;
      bool flatten;
    };
    std::vector<Block> blocks;
    // Depthwise layers first: bound to the groups of their processors.
    for (int ll = 0; ll < layers_; ++ll) {
      const Layer& L = layer(ll);
      if (L.bias.empty() || source[static_cast<size_t>(ll)] >= 0) continue;
      if (static_cast<int>(L.bias.size()) != L.out_channels) {
        violation(ll, "bias-count", "bias values",
                  "output channel count " + std::to_string(L.out_channels) +
                      " does not match the number of bias values " +
                      std::to_string(L.bias.size()),
                  static_cast<int64_t>(L.bias.size()), L.out_channels);
        return finish(false, source);
      }
      if (std::all_of(L.bias.begin(), L.bias.end(), [](int64_t b) { return b == 0; })) continue;
      const LayerPasses ps = layer_passes(net_, L);
      if (L.processors == 0 || ps.out_expand < 1) continue;  // refused by the other rules
      if (L.groups == 1) {
        int len = L.out_channels + pymod(ffs64(L.output_processors), spec_.p_shared) * ps.out_expand;
        if (ll == 0 && L.streaming && !spec_.support_stream_bias) ++len;
        const auto& bg = ll < static_cast<int>(groups_.size()) ? groups_[static_cast<size_t>(ll)]
                                                               : std::optional<std::vector<int>>{};
        blocks.push_back({ll, bg ? *bg : groups_used, len, L.flatten});
        continue;
      }
      if (!depthwise(L, ps)) return finish(false, source);
    }

    // The others: first fit decreasing (stable): flatten layers first where the device wants
    // them first, then layers with one allowed group, then by decreasing length.
    auto key = [&](const Block& b) {
      if (spec_.require_flatten_bias_first && b.flatten) return -1;
      if (b.groups.size() == 1) return 0;
      return spec_.bias_size - b.len;
    };
    std::stable_sort(blocks.begin(), blocks.end(),
                     [&](const Block& x, const Block& y) { return key(x) < key(y); });
    for (const Block& b : blocks) {
      if (b.groups.empty()) {
        violation(b.ll, "bias-memory", "bias memory bytes", "no group to hold the bias");
        return finish(false, source);
      }
      for (int g : b.groups)
        if (g < 0 || g >= G) {
          violation(b.ll, "bias-memory", "bias memory bytes",
                    "bias_group " + std::to_string(g) + " does not exist (groups 0.." +
                        std::to_string(G - 1) + ")");
          return finish(false, source);
        }
      const bool x4 = layer(b.ll).calcx4;
      auto fill = [&](int g) { return x4 ? round4(used_[static_cast<size_t>(g)]) : used_[static_cast<size_t>(g)]; };
      int group = b.groups[0];
      for (int g : b.groups)
        if (fill(g) < fill(group)) group = g;
      int& used = used_[static_cast<size_t>(group)];
      if (x4) used = round4(used);
      if (used + b.len > spec_.bias_size) {
        violation(b.ll, "bias-memory", "bias memory bytes",
                  "bias memory capacity exhausted - available groups: " + list_str(b.groups) +
                      ", used so far: " + list_str(used_) + ", needed: " +
                      std::to_string(b.len) + " bytes, best available: group " +
                      std::to_string(group) + " with " + std::to_string(spec_.bias_size - used) +
                      " bytes available (" + std::to_string(used + b.len - spec_.bias_size) +
                      " bytes short)",
                  used + b.len, spec_.bias_size);
        return finish(false, source);
      }
      BiasAllocation& r = records_[static_cast<size_t>(b.ll)];
      r.group = group;
      for (int g = 0; g < G; ++g) r.offsets[static_cast<size_t>(g)] = used;
      r.lengths[static_cast<size_t>(group)] = b.len;
      used += b.len;
    }
    // Their values: after the leading gap bytes, one byte per output channel.
    for (int ll = 0; ll < layers_; ++ll) {
      const Layer& L = layer(ll);
      const BiasAllocation& r = records_[static_cast<size_t>(ll)];
      if (L.bias.empty() || source[static_cast<size_t>(ll)] >= 0 || L.groups > 1 || r.group < 0)
        continue;
      const LayerPasses ps = layer_passes(net_, L);
      int at = r.offsets[static_cast<size_t>(r.group)] +
               pymod(ffs64(L.output_processors), spec_.p_shared) * ps.out_expand;
      auto& mem = values_[static_cast<size_t>(r.group)];
      if (ll == 0 && L.streaming && !spec_.support_stream_bias) {
        mem[static_cast<size_t>(r.offsets[static_cast<size_t>(r.group)])] = 0;
        ++at;
      }
      for (int i = 0; i < L.out_channels; ++i) mem[static_cast<size_t>(at + i)] = L.bias[static_cast<size_t>(i)] & 0xff;
    }
    return finish(true, source);
  }

 private:
  const Layer& layer(int ll) const { return net_.layers[static_cast<size_t>(ll)]; }
  uint64_t mask16() const { return (uint64_t{1} << spec_.p_numpro) - 1; }
  static int round4(int v) { return (v + 3) & ~3; }

  void violation(int ll, const std::string& rule, const std::string& resource,
                 const std::string& what, int64_t needed = 0, int64_t available = 0) {
    Violation v;
    v.layer = ll;
    v.rule = rule;
    v.resource = resource;
    v.needed = needed;
    v.available = available;
    v.message = "layer " + std::to_string(ll) + ": " + what;
    out_.violations.push_back(std::move(v));
  }

  // A depthwise layer: bytes in every group its processors touch, one per processor and
  // output pass (izer lays them out so that each processor finds its channel's bias).
  bool depthwise(const Layer& L, const LayerPasses& ps) {
    const int ll = L.index, G = spec_.p_numgroups, P = spec_.p_numpro;
    const bool broadcast = L.processors == L.output_processors;
    BiasAllocation& r = records_[static_cast<size_t>(ll)];
    int used_groups = 0;
    for (int g = 0; g < G; ++g)
      if (L.processors >> (g * P) & mask16()) {
        if (broadcast) used_[static_cast<size_t>(g)] = round4(used_[static_cast<size_t>(g)]);
        r.offsets[static_cast<size_t>(g)] = used_[static_cast<size_t>(g)];
        ++used_groups;
      }
    uint64_t map_used = L.processors;
    if (!broadcast) {  // the first group's processors move down to its first processor
      const int start = ffs64(map_used), fg = start / P;
      map_used &= ~(mask16() << (fg * P));
      map_used |= (L.processors & (mask16() << (fg * P))) >> (start % P);
    }
    int start_proc = ffs64(map_used), last_proc = fls64(map_used);
    if (broadcast) last_proc = ((last_proc + 16) & ~0x0f) - 1;
    // izer clears the low P_NUMPRO bits (not log2 of them): the start becomes processor 0.
    if (broadcast || used_groups > 1) start_proc &= ~static_cast<int>(mask16());

    // izer's bias_pad: out_expand rows; unused processors get empty slots.
    const int per_pass = ps.out_expand_thresh;
    if (int64_t{ps.out_expand} * per_pass < static_cast<int64_t>(L.bias.size()) ||
        per_pass != popcount64(L.processors)) {
      violation(ll, "bias-memory", "bias values",
                "depthwise bias: " + std::to_string(L.bias.size()) + " values do not fit " +
                    std::to_string(ps.out_expand) + " passes of the layer's " +
                    std::to_string(popcount64(L.processors)) + " processors");
      return false;
    }
    std::vector<std::vector<int64_t>> pad(static_cast<size_t>(ps.out_expand),
                                          std::vector<int64_t>(static_cast<size_t>(per_pass), kUnset));
    for (size_t i = 0; i < L.bias.size(); ++i)
      pad[i / static_cast<size_t>(per_pass)][i % static_cast<size_t>(per_pass)] = L.bias[i];
    for (int proc = start_proc; proc <= last_proc; ++proc) {
      if (map_used >> proc & 1) continue;
      // izer inserts at column `proc` (not proc - start_proc)
      if (proc > static_cast<int>(pad[0].size())) {
        violation(ll, "bias-memory", "bias values",
                  "depthwise bias layout: izer cannot place processor " + std::to_string(proc) +
                      "'s slot (izer fails here)");
        return false;
      }
      for (auto& row : pad) row.insert(row.begin() + proc, kUnset);
    }
    int group = -1;
    std::vector<int> added(static_cast<size_t>(G), 0);
    const std::vector<int> start = used_;
    int over_group = -1;
    for (int e = 0; e < ps.out_expand; ++e)
      for (int p = start_proc; p <= last_proc; ++p) {
        group = p / P;
        const int src = broadcast ? (p & ~0x0f) + (p % 4) * 4 + (p % 16) / 4 : p;
        const size_t col = static_cast<size_t>(src - start_proc);
        const int64_t val = col < pad[static_cast<size_t>(e)].size() ? pad[static_cast<size_t>(e)][col] : kUnset;
        int& used = used_[static_cast<size_t>(group)];
        if (used >= spec_.bias_size && over_group < 0) over_group = group;
        if (over_group < 0 && val != kUnset)
          values_[static_cast<size_t>(group)][static_cast<size_t>(used)] = val & 0xff;
        ++used;
        ++added[static_cast<size_t>(group)];
      }
    if (over_group >= 0) {
      const int used = used_[static_cast<size_t>(over_group)];
      violation(ll, "bias-memory", "bias memory bytes",
                "bias memory capacity for group " + std::to_string(over_group) +
                    " exhausted, used so far: " + std::to_string(spec_.bias_size) +
                    " (the layer needs " + std::to_string(used) + " bytes there, " +
                    std::to_string(used - spec_.bias_size) + " more than the " +
                    std::to_string(spec_.bias_size) + " available)",
                used, spec_.bias_size);
      return false;
    }
    if (group >= 0) {  // drop trailing empty slots of the last group
      int& used = used_[static_cast<size_t>(group)];
      while (used > 0 && values_[static_cast<size_t>(group)][static_cast<size_t>(used - 1)] == kUnset) {
        --used;
        --added[static_cast<size_t>(group)];
      }
    }
    // Groups without processors of the layer may still receive (zero) padding bytes: the
    // layout starts at processor 0 when the layer spans groups or broadcasts.
    for (int g = 0; g < G; ++g) {
      r.lengths[static_cast<size_t>(g)] = std::max(0, added[static_cast<size_t>(g)]);
      if (r.offsets[static_cast<size_t>(g)] < 0 && added[static_cast<size_t>(g)] > 0)
        r.offsets[static_cast<size_t>(g)] = start[static_cast<size_t>(g)];
    }
    r.group = -1;
    return true;
  }

  BiasLayout finish(bool ok, const std::vector<int>& source) {
    if (ok) {
      for (int g = 0; g < spec_.p_numgroups; ++g) {
        auto& bytes = out_.memory.bytes[static_cast<size_t>(g)];
        for (int i = 0; i < used_[static_cast<size_t>(g)]; ++i) {
          const int64_t v = values_[static_cast<size_t>(g)][static_cast<size_t>(i)];
          bytes.push_back(v == kUnset ? 0 : static_cast<uint8_t>(v));
        }
      }
      for (int ll = 0; ll < static_cast<int>(records_.size()); ++ll) {
        BiasAllocation r = records_[static_cast<size_t>(ll)];
        const int src = ll < static_cast<int>(source.size()) ? source[static_cast<size_t>(ll)] : -1;
        if (src >= 0) {
          r = records_[static_cast<size_t>(src)];
          r.layer = ll;
          r.source = src;
        }
        if (r.bytes() > 0 || r.group >= 0) out_.layers.push_back(r);
      }
    }
    return std::move(out_);
  }

  const Network& net_;
  const DeviceSpec& spec_;
  const BiasGroupMap& groups_;
  int layers_;
  std::vector<std::vector<int64_t>> values_;  // [group][byte]
  std::vector<int> used_;                     // [group]: bytes used (izer's group_bias_max)
  std::vector<BiasAllocation> records_;       // [layer]
  BiasLayout out_;
};

}  // namespace

BiasLayout allocate_bias(const Network& net, const BiasGroupMap* bias_groups) {
  BiasGroupMap from_layers;
  if (!bias_groups) {
    for (const Layer& L : net.layers) from_layers.push_back(L.bias_group);
    bias_groups = &from_layers;
  }
  return BiasAllocator(net, *bias_groups).run();
}

BiasMemory bias_memory_from_c(const std::string& cnn_c, const std::string& weights_h,
                              Device device) {
  const DeviceSpec& spec = device_spec(device);
  BiasMemory mem(device);
  const CSource src = read_c_source(cnn_c, "cnn.c");
  const auto body = c_function_body(src, "cnn_load_bias");
  if (!body) return mem;
  const auto arrays = c_define_arrays(read_c_source(weights_h, "weights.h"));
  for (size_t i = body->first; i < body->second; ++i) {
    std::vector<const CToken*> c;
    if (!c_match(src.tokens, i,
                 {"memcpy_8to32", "(", "(", "uint32_t", "*", ")", "#", ",", "$", ",", "sizeof",
                  "(", "uint8_t", ")", "*", "#", ")"},
                 &c))
      continue;
    const uint64_t addr64 = *c_integer(*c[0]);
    std::string array = c[1]->text;
    const uint64_t len64 = *c_integer(*c[2]);
    const int64_t rel = static_cast<int64_t>(addr64 & 0xffffffffull) - spec.apb_base -
                        spec.c_bram_base;
    const int64_t group = rel / spec.c_group_offs;
    const int64_t offset = (rel - group * spec.c_group_offs) / 4;
    if (addr64 > 0xffffffffull || rel < 0 || group >= spec.p_numgroups ||
        (rel - group * spec.c_group_offs) % 4 != 0 ||
        len64 > static_cast<uint64_t>(spec.bias_size) ||
        offset + static_cast<int64_t>(len64) > spec.bias_size)
      fail(ErrorKind::Input, "cnn.c line " + std::to_string(c[0]->line) +
                                 ": cnn_load_bias() writes outside bias memory at " +
                                 c[0]->text + " (" + std::to_string(len64) + " bytes)");
    const int len = static_cast<int>(len64);
    std::transform(array.begin(), array.end(), array.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const auto found = arrays.find(array);
    const std::vector<uint64_t>* values = found == arrays.end() ? nullptr : &found->second;
    if (!values || static_cast<int>(values->size()) < len)
      fail(ErrorKind::Input, "weights.h: `" + array + "` missing or shorter than " +
                                 std::to_string(len) + " bytes");
    auto& bytes = mem.bytes[static_cast<size_t>(group)];
    if (static_cast<int64_t>(bytes.size()) < offset + len) bytes.resize(static_cast<size_t>(offset + len), 0);
    for (int k = 0; k < len; ++k)
      bytes[static_cast<size_t>(offset + k)] = static_cast<uint8_t>((*values)[static_cast<size_t>(k)]);
  }
  return mem;
}

}  // namespace ai8xsim
