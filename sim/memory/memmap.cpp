#include "ai8xsim/memmap.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "ai8xsim/error.h"
#include "sim/memory/biasmem.h"
#include "sim/memory/databuffer.h"
#include "sim/memory/datamem.h"
#include "ai8xsim/device.h"
#include "sim/memory/kernelmem.h"
#include "sim/memory/overlap.h"

namespace ai8xsim {

namespace {

const char* kind_name(DataRegion::Kind k) {
  switch (k) {
    case DataRegion::Kind::Load: return "load";
    case DataRegion::Kind::Write: return "write";
    case DataRegion::Kind::Read: return "read";
    case DataRegion::Kind::Buffer: return "buffer";
  }
  return "";
}

const char* overlap_kind(OverlapFinding::Kind k) {
  switch (k) {
    case OverlapFinding::Kind::Protected: return "overwrites protected data";
    case OverlapFinding::Kind::Twice: return "writes a word twice";
    case OverlapFinding::Kind::Loader: return "input loader writes a word twice";
  }
  return "";
}

// Collects the words of one (layer, kind) by instance into extents.
class Extents {
 public:
  Extents(const DeviceSpec& spec, int layer, DataRegion::Kind kind)
      : spec_(spec), layer_(layer), kind_(kind) {}
  void add(uint32_t address) {
    const MemLocation loc = DataMemory::locate(spec_, address);
    if (!loc.mapped) {
      ++unmapped_;
      return;
    }
    DataRegion& r = regions_[{loc.group, loc.instance}];
    const uint32_t off = loc.offset & ~3u;
    if (r.words == 0) {
      r.group = loc.group;
      r.instance = loc.instance;
      r.start = off;
      r.end = off + 4;
    }
    r.start = std::min(r.start, off);
    r.end = std::max(r.end, off + 4);
    ++r.words;
  }
  size_t unmapped() const { return unmapped_; }
  void emit(std::vector<DataRegion>& out, bool streamed) {
    for (auto& [key, r] : regions_) {
      r.kind = kind_;
      r.layer = layer_;
      r.streamed = streamed;
      out.push_back(r);
    }
  }

 private:
  const DeviceSpec& spec_;
  int layer_;
  DataRegion::Kind kind_;
  std::map<std::pair<int, int>, DataRegion> regions_;
  size_t unmapped_ = 0;
};

std::string who(int layer) {
  return layer < 0 ? std::string("the input loader") : "layer " + std::to_string(layer);
}

}  // namespace

MemoryMap memory_map(const Network& net) {
  const DeviceSpec& spec = device_spec(net.device);
  MemoryMap m;
  m.device = net.device;
  m.config_file = net.config_file;
  m.order = net.order;
  m.overlap_data = net.overlap_data;
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    LayerInfo i;
    i.layer = ll;
    i.what = std::string(operator_name(L.op)) + " " + std::to_string(L.in_channels * L.operands) +
             "->" + std::to_string(L.out_channels) + ", " + std::to_string(L.output_dim[0]) +
             "x" + std::to_string(L.output_dim[1]) + (L.output_width == 32 ? " @32" : "");
    i.in_offset = L.in_offset;
    i.out_offset = L.out_offset;
    i.output = L.output_layer;
    m.layers.push_back(i);
  }

  // ---- data memory ----
  const int per_group = spec.p_numpro / spec.p_shared;
  for (int g = 0; g < spec.p_numgroups; ++g)
    for (int i = 0; i < per_group; ++i) {
      DataInstanceUse u;
      u.group = g;
      u.instance = i;
      u.first_processor = g * spec.p_numpro + i * spec.p_shared;
      u.capacity = spec.instance_bytes();
      m.instances.push_back(u);
    }
  std::set<uint32_t> stored;  // distinct words loaded or written (mapped)
  auto collect = [&](int layer, DataRegion::Kind kind, bool streamed,
                     const std::function<void(const WordVisitor&)>& walk) {
    Extents ext(spec, layer, kind);
    try {
      walk([&](const WordAccess& w) {
        ext.add(w.address);
        if (kind != DataRegion::Kind::Read && DataMemory::locate(spec, w.address).mapped)
          stored.insert(w.address & ~3u);
      });
    } catch (const Error& e) {
      m.notes.push_back(who(layer) + ": " + kind_name(kind) + " not shown: " + e.what());
      return;
    }
    if (ext.unmapped())
      m.notes.push_back(who(layer) + ": " + std::to_string(ext.unmapped()) + " " +
                        kind_name(kind) + " words fall outside data memory");
    ext.emit(m.data, streamed);
  };
  if (!net.order.empty()) {
    if (net.fifo)
      m.notes.push_back("--fifo: the input goes through the FIFOs; layer " +
                        std::to_string(net.order.front()) + " reads no data memory");
    else
      collect(kInputLoader, DataRegion::Kind::Load, false,
              [&](const WordVisitor& v) { input_words(net, v); });
  }
  if (net.buffer) {
    const size_t first = m.data.size();
    collect(kInputLoader, DataRegion::Kind::Buffer, false,
            [&](const WordVisitor& v) { buffer_words(net, v); });
    for (size_t i = first; i < m.data.size(); ++i) m.data[i].name = net.buffer->name;
  }
  for (int ll : net.order) {
    const Layer& L = net.layers[ll];
    const bool streamed = streamed_output(net, L);
    collect(ll, DataRegion::Kind::Write, streamed,
            [&](const WordVisitor& v) { output_words(net, L, v); });
    if (memory_input(net, L))
      collect(ll, DataRegion::Kind::Read, false,
              [&](const WordVisitor& v) { read_words(net, L, v); });
    else if (L.streaming)
      m.notes.push_back("layer " + std::to_string(ll) +
                        " streams: it reads the previous layer's rollover buffer, not shown as "
                        "a read");
  }
  for (uint32_t a : stored) {
    const MemLocation loc = DataMemory::locate(spec, a);
    m.instances[static_cast<size_t>(loc.group * per_group + loc.instance)].used += 4;
  }
  for (const DataRegion& r : m.data) {
    DataInstanceUse& u = m.instances[static_cast<size_t>(r.group * per_group + r.instance)];
    u.high_water = std::max<int64_t>(u.high_water, r.end);
  }
  m.overlaps = find_overlaps(net);
  for (const OverlapFinding& f : m.overlaps) {
    const MemLocation loc = DataMemory::locate(device_spec(net.device), f.address);
    m.overlap_spots.push_back({loc.mapped, loc.group, loc.instance, loc.offset});
  }

  // ---- kernel memory ----
  const KernelLayout k = allocate_kernels(net);
  for (int p = 0; p < spec.max_proc; ++p) {
    KernelProcessorUse u;
    u.processor = p;
    u.capacity = spec.mask_width(p);
    if (p < k.memory.processors())
      for (int r = 0; r < k.memory.width(p); ++r) u.written += k.memory.is_written(p, r) ? 1 : 0;
    m.processors.push_back(u);
  }
  for (const KernelAllocation& a : k.layers) {
    if (a.rows_used <= 0 && a.rows <= 0) continue;
    for (int p = 0; p < spec.max_proc; ++p) {
      if (!(a.processors >> p & 1)) continue;
      KernelRegion r;
      r.layer = a.layer;
      r.processor = p;
      r.first_row = a.first_row;
      r.rows = std::max(a.rows_used, a.rows);
      r.shared_from = a.source;
      m.kernel.push_back(r);
    }
  }
  if (k.overflow.layer >= 0)
    for (int p = 0; p < spec.max_proc; ++p) {
      if (!(k.overflow.processors >> p & 1)) continue;
      KernelRegion r;
      r.layer = k.overflow.layer;
      r.processor = p;
      r.first_row = k.overflow.first_row;
      r.rows = k.overflow.rows;
      r.overflow = true;
      m.kernel.push_back(r);
    }
  for (const Violation& v : k.violations) m.notes.push_back("kernel memory: " + v.message);

  // ---- bias memory ----
  const BiasLayout b = allocate_bias(net);
  for (int g = 0; g < spec.p_numgroups; ++g) {
    BiasGroupUse u;
    u.group = g;
    u.capacity = spec.bias_size;
    u.used = g < b.memory.groups() ? b.memory.used(g) : 0;
    m.bias_groups.push_back(u);
  }
  for (const BiasAllocation& a : b.layers) {
    for (size_t g = 0; g < a.offsets.size() && g < a.lengths.size(); ++g) {
      if (a.offsets[g] < 0 || a.lengths[g] <= 0) continue;
      BiasRegion r;
      r.layer = a.layer;
      r.group = static_cast<int>(g);
      r.offset = a.offsets[g];
      r.length = a.lengths[g];
      r.shared_from = a.source;
      m.bias.push_back(r);
    }
  }
  for (const Violation& v : b.violations) m.notes.push_back("bias memory: " + v.message);
  return m;
}

namespace {
// The sum of one field over a list of uses (the totals below).
template <class T, class F>
int64_t total(const std::vector<T>& uses, F T::*field) {
  int64_t n = 0;
  for (const T& u : uses) n += u.*field;
  return n;
}
}  // namespace

int64_t MemoryMap::data_bytes_used() const { return total(instances, &DataInstanceUse::used); }
int64_t MemoryMap::data_bytes() const { return total(instances, &DataInstanceUse::capacity); }
int64_t MemoryMap::kernel_rows_used() const {
  return total(processors, &KernelProcessorUse::written);
}
int64_t MemoryMap::kernel_rows() const { return total(processors, &KernelProcessorUse::capacity); }
int64_t MemoryMap::bias_bytes_used() const { return total(bias_groups, &BiasGroupUse::used); }
int64_t MemoryMap::bias_bytes() const { return total(bias_groups, &BiasGroupUse::capacity); }

nlohmann::json memory_map_json(const MemoryMap& m) {
  using nlohmann::json;
  const DeviceSpec& spec = device_spec(m.device);
  json data = {{"instance_bytes", spec.instance_bytes()},
               {"used_bytes", m.data_bytes_used()},
               {"capacity_bytes", m.data_bytes()},
               {"instances", json::array()},
               {"regions", json::array()}};
  for (const DataInstanceUse& u : m.instances)
    data["instances"].push_back({{"group", u.group},
                                 {"instance", u.instance},
                                 {"processors", {u.first_processor,
                                                 u.first_processor + spec.p_shared - 1}},
                                 {"address", DataMemory::address_of(spec, u.group, u.instance, 0)},
                                 {"capacity_bytes", u.capacity},
                                 {"used_bytes", u.used},
                                 {"high_water", u.high_water}});
  for (const DataRegion& r : m.data)
    data["regions"].push_back({{"layer", r.layer},
                               {"kind", kind_name(r.kind)},
                               {"group", r.group},
                               {"instance", r.instance},
                               {"start", r.start},
                               {"end", r.end},
                               {"words", r.words},
                               {"streamed", r.streamed}});
  for (size_t i = 0; i < m.data.size(); ++i)
    if (!m.data[i].name.empty()) data["regions"][i]["name"] = m.data[i].name;
  json kernel = {{"used_rows", m.kernel_rows_used()},
                 {"capacity_rows", m.kernel_rows()},
                 {"processors", json::array()},
                 {"regions", json::array()}};
  for (const KernelProcessorUse& u : m.processors)
    kernel["processors"].push_back(
        {{"processor", u.processor}, {"capacity_rows", u.capacity}, {"written_rows", u.written}});
  for (const KernelRegion& r : m.kernel) {
    json j = {{"layer", r.layer},
              {"processor", r.processor},
              {"first_row", r.first_row},
              {"rows", r.rows}};
    if (r.shared_from >= 0) j["shared_from"] = r.shared_from;
    if (r.overflow) j["overflow"] = true;
    kernel["regions"].push_back(j);
  }
  json bias = {{"used_bytes", m.bias_bytes_used()},
               {"capacity_bytes", m.bias_bytes()},
               {"groups", json::array()},
               {"regions", json::array()}};
  for (const BiasGroupUse& u : m.bias_groups)
    bias["groups"].push_back(
        {{"group", u.group}, {"capacity_bytes", u.capacity}, {"used_bytes", u.used}});
  for (const BiasRegion& r : m.bias) {
    json j = {{"layer", r.layer}, {"group", r.group}, {"offset", r.offset}, {"length", r.length}};
    if (r.shared_from >= 0) j["shared_from"] = r.shared_from;
    bias["regions"].push_back(j);
  }
  json overlaps = json::array();
  for (const OverlapFinding& f : m.overlaps)
    overlaps.push_back({{"layer", f.layer},
                        {"kind", overlap_kind(f.kind)},
                        {"address", f.address},
                        {"processor", f.processor},
                        {"earlier_layer", f.earlier_layer},
                        {"words", f.words},
                        {"refused", f.kind == OverlapFinding::Kind::Loader || !m.overlap_data}});
  json layers = json::array();
  for (const LayerInfo& i : m.layers)
    layers.push_back({{"layer", i.layer},
                      {"what", i.what},
                      {"in_offset", i.in_offset},
                      {"out_offset", i.out_offset},
                      {"output", i.output}});
  return {{"device", device_name(m.device)},
          {"order", m.order},
          {"layers", layers},
          {"data", data},
          {"kernel", kernel},
          {"bias", bias},
          {"overlaps", overlaps},
          {"totals",
           {{"data_bytes_used", m.data_bytes_used()},
            {"data_bytes", m.data_bytes()},
            {"kernel_rows_used", m.kernel_rows_used()},
            {"kernel_rows", m.kernel_rows()},
            {"bias_bytes_used", m.bias_bytes_used()},
            {"bias_bytes", m.bias_bytes()}}},
          {"notes", m.notes}};
}

}  // namespace ai8xsim
