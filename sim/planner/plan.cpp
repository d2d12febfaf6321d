// ai8xsim: `plan`: processors, output processors and data memory offsets chosen for the user
// (include/ai8xsim/plan.h, docs/plan.md).
//
// The planner never restates a device rule. It derives the *shape* of a placement from the
// network's data flow (which layer's output lands at which channel position of which reader),
// chooses the free parameters (the first processor of each linked group of layers, the offset of
// each region of data memory) by a greedy search whose costs are the cycle model's
// (ai8xsim/cycles.h) and a kernel-row estimate, and then asks the device rules (sim/model/checks.h, which
// include the kernel and bias allocators and the overlap rule) whether the YAML it writes fits.
#include "ai8xsim/plan.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

#include "sim/model/checks.h"
#include "ai8xsim/cycles.h"
#include "ai8xsim/device.h"
#include "ai8xsim/files.h"
#include "sim/memory/kernelmem.h"
#include "sim/planner/plan_yaml.h"

namespace ai8xsim {

PlanObjective parse_plan_objective(const std::string& s) {
  if (s == "latency") return PlanObjective::Latency;
  if (s == "memory") return PlanObjective::Memory;
  fail(ErrorKind::Config, "--objective: found '" + s + "'; allowed: latency, memory");
}

namespace {

const char* const kKeys[] = {"processors", "output_processors", "in_offset", "out_offset"};

std::string hex16(uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << std::setw(16) << std::setfill('0') << v;
  return s.str();
}
std::string hex4(int64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << std::setw(4) << std::setfill('0') << v;
  return s.str();
}
int popcount(uint64_t v) { return __builtin_popcountll(v); }
uint64_t block(int start, int count) {
  if (count <= 0) return 0;
  const uint64_t ones = count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
  return ones << start;
}
// The processors of ranks [r0, r0 + n) of `mask` (0 when it has fewer bits).
uint64_t rank_slice(uint64_t mask, int r0, int n) {
  uint64_t out = 0;
  int rank = 0;
  for (int p = 0; p < 64 && n > 0; ++p) {
    if (!(mask >> p & 1)) continue;
    if (rank >= r0) {
      out |= uint64_t{1} << p;
      --n;
    }
    ++rank;
  }
  return n > 0 ? 0 : out;
}

// A temporary YAML next to nothing the user owns; removed when it goes out of scope.
struct TempYaml {
  std::string path;
  explicit TempYaml(const std::string& text) {
    static std::atomic<int> counter{0};
    path = (std::filesystem::temp_directory_path() /
            ("ai8xsim-plan-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".yaml"))
               .string();
    std::ofstream f(path, std::ios::binary);
    f << text;
    if (!f) fail(ErrorKind::IO, path + ": cannot write a temporary file for plan");
  }
  ~TempYaml() { std::remove(path.c_str()); }
};

// Messages about the temporary file name the user's file.
[[noreturn]] void rethrow_as(const Error& e, const std::string& tmp, const std::string& file) {
  std::string m = e.what();
  for (size_t at; (at = m.find(tmp)) != std::string::npos;) m.replace(at, tmp.size(), file);
  throw Error(e.kind(), m);
}

// Union-find with offsets: value(b) = value(a) + delta for linked a, b.
struct DeltaUF {
  std::vector<int> parent;
  std::vector<int> d;  // value(x) = value(parent) + d[x]
  explicit DeltaUF(int n) : parent(static_cast<size_t>(n)), d(static_cast<size_t>(n), 0) {
    for (int i = 0; i < n; ++i) parent[static_cast<size_t>(i)] = i;
  }
  int find(int x) {
    if (parent[x] == x) return x;
    const int r = find(parent[x]);
    d[x] += d[parent[x]];
    parent[x] = r;
    return r;
  }
  int rel(int x) { find(x); return d[x]; }
  // value(b) = value(a) + delta; false when that contradicts earlier links.
  bool link(int a, int b, int delta) {
    const int ra = find(a), rb = find(b);
    if (ra == rb) return d[b] == d[a] + delta;
    parent[rb] = ra;
    d[rb] = d[a] + delta - d[b];
    return true;
  }
};

enum class Shape { Block, Chw, FifoChw, FifoHwc };

struct Use {
  int port = 0;   // the reader's port
  int r0 = 0;     // first rank of the reader's processors the source's channels take
  int delta = 0;  // bytes from the reader's in_offset to the source's out_offset
};

class Planner {
 public:
  Planner(Network& net, const std::vector<std::optional<uint64_t>>& keep_proc,
          const std::vector<std::optional<uint64_t>>& keep_oproc,
          const std::vector<std::optional<int>>& keep_in,
          const std::vector<std::optional<int>>& keep_out)
      : net_(net), spec_(device_spec(net.device)), keep_proc_(keep_proc),
        keep_oproc_(keep_oproc), keep_in_(keep_in), keep_out_(keep_out) {}

  // Returns "" or why no placement could be made (the planner's own limit).
  enum class Mode { Cycles, Kernels, Memory };
  std::string run(Mode mode, bool in_place) {
    mode_ = mode;
    in_place_ = in_place;
    if (std::string e = build(); !e.empty()) return e;
    choose_processors();
    apply_processors();
    return place_offsets();
  }

  std::vector<std::string> notes;  // per layer: why

 private:
  Network& net_;
  const DeviceSpec& spec_;
  const std::vector<std::optional<uint64_t>>& keep_proc_;
  const std::vector<std::optional<uint64_t>>& keep_oproc_;
  const std::vector<std::optional<int>>& keep_in_;
  const std::vector<std::optional<int>>& keep_out_;
  Mode mode_ = Mode::Cycles;
  bool in_place_ = false;

  int nl_ = 0;
  std::vector<int> pos_;                    // execution position per layer (-1 unvisited)
  std::vector<int> t_in_, t_out_;           // processors per pass
  std::vector<std::vector<Use>> uses_;      // per source (index s + 1; 0 = the input)
  std::vector<bool> is_port_;               // port: nl_ + s is the sink of layer s
  std::vector<int> port_t_;                 // processors of a port
  std::vector<Shape> shape_;                // per proc-group root
  std::vector<int> start_;                  // per proc-group root
  std::vector<std::optional<uint64_t>> fixed_mask_;  // per proc-group root (kept processors)
  std::unique_ptr<DeltaUF> proc_uf_, off_uf_;

  int sink_port(int s) const { return nl_ + s; }
  std::vector<Use>& uses(int src) { return uses_[static_cast<size_t>(src + 1)]; }

  int src_channels(int s) const { return s < 0 ? net_.input.c : net_.layers[s].out_channels; }

  std::string build() {
    nl_ = static_cast<int>(net_.layers.size());
    pos_.assign(static_cast<size_t>(nl_), -1);
    for (size_t i = 0; i < net_.order.size(); ++i) pos_[net_.order[i]] = static_cast<int>(i);
    t_in_.assign(nl_, 1);
    t_out_.assign(nl_, 1);
    for (int l = 0; l < nl_; ++l) {
      const LayerPasses p = layer_passes(net_, net_.layers[l]);
      t_in_[l] = p.in_expand_thresh;
      t_out_[l] = p.out_expand_thresh;
    }
    uses_.assign(static_cast<size_t>(nl_ + 1), {});
    is_port_.assign(static_cast<size_t>(2 * nl_), false);
    port_t_.assign(static_cast<size_t>(2 * nl_), 1);
    proc_uf_ = std::make_unique<DeltaUF>(2 * nl_);
    off_uf_ = std::make_unique<DeltaUF>(2 * nl_);
    for (int l : net_.order) {
      const Layer& L = net_.layers[l];
      is_port_[l] = true;
      port_t_[l] = t_in_[l];
      const LayerPasses p = layer_passes(net_, L);
      std::vector<int> src = L.in_sequences;
      if (src.empty()) src.push_back(L.prev);
      const bool elt = L.operands > 1;
      int c0 = 0;
      for (size_t k = 0; k < src.size(); ++k) {
        const int s = src[k];
        if (s < -1 || s >= nl_) return "layer " + std::to_string(l) + " reads a source plan cannot place";
        Use u;
        u.port = l;
        if (elt) {
          u.delta = 4 * static_cast<int>(k);
        } else {
          const int e0 = c0 / t_in_[l];
          u.r0 = c0 % t_in_[l];
          u.delta = 4 * e0 * L.operands;
          const int width = s < 0 ? std::min(src_channels(s), t_in_[l]) : std::min(t_out_[s], t_in_[l]);
          if (u.r0 + width > t_in_[l])
            return "layer " + std::to_string(l) + ": the channels of " +
                   (s < 0 ? std::string("the input") : "layer " + std::to_string(s)) +
                   " start inside an input pass (channel " + std::to_string(c0) + " of " +
                   std::to_string(p.in_expand) + " passes of " + std::to_string(t_in_[l]) +
                   "); plan places concatenations whose parts fill whole passes or share one";
          c0 += src_channels(s);
        }
        uses(s).push_back(u);
      }
    }
    // Sinks: layers whose output no layer reads.
    for (int s : net_.order)
      if (uses(s).empty()) {
        const int q = sink_port(s);
        is_port_[q] = true;
        port_t_[q] = t_out_[s];
        uses(s).push_back({q, 0, 0});
      }
    // Every source's readers see it at one place.
    for (int s = -1; s < nl_; ++s) {
      const std::vector<Use>& us = uses(s);
      for (size_t i = 1; i < us.size(); ++i) {
        if (!proc_uf_->link(us[0].port, us[i].port, us[0].r0 - us[i].r0) ||
            !off_uf_->link(us[0].port, us[i].port, us[0].delta - us[i].delta))
          return "the output of " + (s < 0 ? std::string("the input") : "layer " + std::to_string(s)) +
                 " is read at places that contradict each other (layers " +
                 std::to_string(us[0].port) + " and " + std::to_string(us[i].port) + ")";
      }
    }
    // A passthrough layer writes its channels to the processors it reads them from (izer's
    // rule: output processors per x16 group packed like the input's).
    for (int l : net_.order) {
      const Layer& L = net_.layers[l];
      if (L.is_conv() || uses(l).empty()) continue;
      const Use& u = uses(l)[0];
      if (!proc_uf_->link(l, u.port, -u.r0))
        return "layer " + std::to_string(l) + " (passthrough): its output cannot sit on its input processors";
    }
    // Group shapes and kept processors.
    shape_.assign(static_cast<size_t>(2 * nl_), Shape::Block);
    start_.assign(static_cast<size_t>(2 * nl_), 0);
    fixed_mask_.assign(static_cast<size_t>(2 * nl_), std::nullopt);
    const int first = net_.order.empty() ? -1 : net_.order[0];
    for (const Use& u : uses(-1)) {
      const Layer& F = net_.layers[first];
      Shape sh = Shape::Block;
      if (net_.fifo) sh = F.big_data ? Shape::FifoChw : Shape::FifoHwc;
      else if (F.big_data) sh = Shape::Chw;
      if (sh != Shape::Block) {
        const int r = proc_uf_->find(u.port);
        for (int q = 0; q < 2 * nl_; ++q)
          if (is_port_[q] && proc_uf_->find(q) == r && (proc_uf_->rel(q) != proc_uf_->rel(u.port)))
            return "layer " + std::to_string(first) +
                   ": its input processors (CHW or FIFO) are linked to other layers' at an offset";
        shape_[r] = sh;
      }
    }
    for (int l : net_.order)
      if (keep_proc_[l]) {
        const int r = proc_uf_->find(l);
        const int lowest = __builtin_ctzll(*keep_proc_[l]);
        const uint64_t contiguous = block(lowest, popcount(*keep_proc_[l]));
        if (contiguous == *keep_proc_[l] && shape_[r] == Shape::Block) {
          start_[r] = lowest - proc_uf_->rel(l);
          fixed_mask_[r] = *keep_proc_[l];  // marks the group as fixed
        } else {
          fixed_mask_[r] = *keep_proc_[l];
          shape_[r] = Shape::Block;
          start_[r] = INT_MIN;  // literal mask
        }
      }
    return "";
  }

  uint64_t shape_mask(Shape sh, int start, int t) const {
    uint64_t m = 0;
    for (int i = 0; i < t; ++i) {
      int bit = 0;
      switch (sh) {
        case Shape::Block: bit = start + i; break;
        case Shape::Chw: bit = start + 4 * i; break;
        case Shape::FifoChw: bit = 16 * i; break;
        case Shape::FifoHwc: bit = 16 * (i / 4) + i % 4; break;
      }
      if (bit < 0 || bit >= 64) return 0;
      m |= uint64_t{1} << bit;
    }
    return m;
  }

  uint64_t port_mask(int q) {
    const int r = proc_uf_->find(q);
    if (start_[r] == INT_MIN) return *fixed_mask_[r];
    return shape_mask(shape_[r], start_[r] + proc_uf_->rel(q), port_t_[q]);
  }

  // Sets the processors of every port of group `r` and the output processors of the sources
  // whose data lands there.
  void apply_group(int r) {
    for (int q = 0; q < 2 * nl_; ++q) {
      if (!is_port_[q] || proc_uf_->find(q) != r) continue;
      if (q < nl_) net_.layers[q].processors = port_mask(q);
    }
    for (int s = 0; s < nl_; ++s) {
      if (uses(s).empty()) continue;
      const Use& u = uses(s)[0];
      if (proc_uf_->find(u.port) != r) continue;
      net_.layers[s].output_processors = rank_slice(port_mask(u.port), u.r0, t_out_[s]);
    }
  }

  void apply_processors() {
    for (int q = 0; q < 2 * nl_; ++q)
      if (is_port_[q] && proc_uf_->find(q) == q) apply_group(q);
    for (int l = 0; l < nl_; ++l) {
      Layer& L = net_.layers[l];
      if (pos_[l] < 0) {  // not reached by the chain: izer still checks it
        L.processors = block(0, t_in_[l]);
        L.output_processors = block(0, t_out_[l]);
      }
      if (keep_proc_[l]) L.processors = *keep_proc_[l];
      if (keep_oproc_[l]) L.output_processors = *keep_oproc_[l];
    }
  }

  // Kernel rows a layer needs per processor (an estimate to steer the search; the kernel
  // allocator decides).
  int64_t kernel_rows(int l) const {
    const Layer& L = net_.layers[l];
    if (!L.has_weights() || !L.is_conv() || L.bypass) return 0;
    const LayerPasses p = layer_passes(net_, L);
    int64_t kc = L.groups > 1 ? p.in_expand
                              : int64_t{t_out_[l]} * p.out_expand * (L.flatten ? 1 : p.in_expand);
    if (L.flatten) kc *= int64_t{L.pooled_dim[0]} * L.pooled_dim[1] * p.in_expand;
    const int q = std::abs(L.quantization == -1 ? 1 : L.quantization);
    return (kc * L.kernel[0] * L.kernel[1] * std::max(q, 1) + 71) / 72;
  }

  struct Sky {
    std::vector<int64_t> h = std::vector<int64_t>(64, 0);
    int64_t over = 0, top = 0;
    void put(uint64_t mask, int64_t rows, const DeviceSpec& spec) {
      if (rows <= 0 || mask == 0) return;
      int64_t at = 0;
      for (int p = 0; p < 64; ++p)
        if (mask >> p & 1) at = std::max(at, h[p]);
      at = (at + 3) & ~int64_t{3};
      for (int p = 0; p < 64; ++p)
        if (mask >> p & 1) {
          h[p] = at + rows;
          over += std::max<int64_t>(0, h[p] - spec.mask_width(p));
          top = std::max(top, h[p]);
        }
    }
  };

  // The groups' first processors, greedily in execution order; costs: kernel rows over the
  // device's, then the cycle model's count of the layers the group touches (objective
  // latency), then the tallest kernel stack, then the lowest start.
  void choose_processors() {
    std::vector<int> roots;
    std::set<int> seen;
    std::vector<int> ports;
    for (int l : net_.order) ports.push_back(l);
    for (int s : net_.order) ports.push_back(sink_port(s));
    for (int q : ports) {
      if (!is_port_[q]) continue;
      const int r = proc_uf_->find(q);
      if (seen.insert(r).second) roots.push_back(r);
    }
    Sky sky;
    // izer places layers using all 64 processors first.
    for (int l : net_.order)
      if (t_in_[l] == 64) sky.put(~uint64_t{0}, kernel_rows(l), spec_);
    for (int r : roots) {
      std::vector<int> members;
      int lo = 0, hi = 64;
      for (int q = 0; q < 2 * nl_; ++q)
        if (is_port_[q] && proc_uf_->find(q) == r) {
          members.push_back(q);
          lo = std::max(lo, -proc_uf_->rel(q));
          hi = std::min(hi, 64 - proc_uf_->rel(q) - port_t_[q]);
        }
      std::vector<int> starts;
      if (fixed_mask_[r]) {
        starts.push_back(start_[r]);
      } else if (shape_[r] == Shape::FifoChw || shape_[r] == Shape::FifoHwc) {
        starts.push_back(0);
      } else {
        for (int s = std::max(lo, 0); s <= hi; ++s) starts.push_back(s);
        if (starts.empty()) starts.push_back(std::max(lo, 0));
      }
      std::vector<int> touched;  // layers whose cycles depend on this group
      for (int q : members)
        if (q < nl_ && t_in_[q] != 64) touched.push_back(q);
      for (int s = 0; s < nl_; ++s)
        if (!uses(s).empty() && proc_uf_->find(uses(s)[0].port) == r) touched.push_back(s);
      std::sort(touched.begin(), touched.end());
      touched.erase(std::unique(touched.begin(), touched.end()), touched.end());

      using Cost = std::array<int64_t, 6>;
      Cost best{};
      int best_s = starts[0];
      Sky best_sky = sky;
      bool have = false;
      for (int s : starts) {
        start_[r] = s;
        apply_group(r);
        Sky k = sky;
        for (int q : members)
          if (q < nl_ && t_in_[q] != 64 && net_.layers[q].processors != 0)
            k.put(net_.layers[q].processors, kernel_rows(q), spec_);
        int64_t cyc = 0;
        for (int l : touched) {
          if (net_.layers[l].processors == 0 || net_.layers[l].output_processors == 0) continue;
          cyc += estimate_layer_cycles(cycle_input_for(net_, l)).total;
        }
        bool bad = false;
        for (int q : members)
          if (q < nl_ && net_.layers[q].processors == 0) bad = true;
        const int64_t misaligned = (s % 4) != 0;
        Cost c{};  // (every mode sets it; zeroed for the compiler)
        switch (mode_) {
          case Mode::Cycles: c = Cost{bad, k.over, cyc, k.top, misaligned, 0}; break;
          case Mode::Kernels: c = Cost{bad, k.over, k.top, cyc, misaligned, 0}; break;
          case Mode::Memory: c = Cost{bad, k.over, shared_instances(touched), cyc, k.top, misaligned}; break;
        }
        if (!have || c < best) {
          best = c;
          best_s = s;
          best_sky = k;
          have = true;
        }
      }
      start_[r] = best_s;
      apply_group(r);
      sky = best_sky;
    }
  }

  // Data memory instances a layer's input and output share (then they cannot both start at
  // the same offset).
  int64_t shared_instances(const std::vector<int>& layers) const {
    int64_t n = 0;
    for (int l : layers) {
      const Layer& L = net_.layers[l];
      if (L.processors == 0 || L.output_processors == 0) continue;
      uint32_t a = 0, b = 0;
      for (int p = 0; p < 64; ++p) {
        if (L.processors >> p & 1) a |= 1u << (p / spec_.p_shared);
        if (L.output_processors >> p & 1) b |= 1u << (p / spec_.p_shared);
      }
      n += __builtin_popcount(a & b);
    }
    return n;
  }

  // ---- data memory -------------------------------------------------------------------------

  // A streaming layer reads a rollover buffer of a few input rows, not its whole input. The
  // size follows the shape of izer's rollover (the producer's kernel rows and this layer's
  // pooling rows, of padded input width, in 32-bit words; docs/plan.md); ai8xsim does not
  // check izer's streaming-buffer rules (docs/izer-checks.md G9), so this is an estimate.
  int64_t streamed_extent(const Layer& L, int64_t full) const {
    const int k_prev = L.prev >= 0 ? net_.layers[L.prev].kernel[0] : L.kernel[0];
    const int rows = k_prev + 2 * L.pool[0];
    const int in_expand = layer_passes(net_, L).in_expand;
    int64_t words = int64_t{rows} * (L.input_dim[1] + 2) * L.operands;
    words = (words + in_expand - 1) / in_expand * in_expand;
    return std::min(full, 4 * words);
  }

  struct Region {
    int root = 0;
    int64_t lo = 0, hi = 0;      // bytes relative to the root's offset
    uint32_t instances = 0;      // bit per data memory instance
    int live_from = INT_MAX, live_to = INT_MIN;
    bool streams = false;          // read or written by a streaming layer
    std::optional<int64_t> fixed;  // the root's offset, from a kept value
    int64_t offset = 0;
    std::vector<int> readers;
  };

  std::string place_offsets() {
    std::map<int, Region> regions;
    const int end = static_cast<int>(net_.order.size());
    auto region = [&](int q) -> Region& {
      const int r = off_uf_->find(q);
      Region& g = regions[r];
      g.root = r;
      return g;
    };
    auto instances_of = [&](uint64_t mask) {
      uint32_t m = 0;
      for (int p = 0; p < 64; ++p)
        if (mask >> p & 1) m |= 1u << (p / spec_.p_shared);
      return m;
    };
    const int first = net_.order.empty() ? -1 : net_.order[0];
    for (int q = 0; q < 2 * nl_; ++q) {
      if (!is_port_[q]) continue;
      Region& g = region(q);
      const int rel = off_uf_->rel(q);
      const uint64_t mask = port_mask(q);
      g.instances |= instances_of(mask);
      if (q < nl_) {
        const Layer& L = net_.layers[q];
        int64_t ext = input_data_size(net_, L) * (L.read_gap + 1);
        if (L.streaming) ext = streamed_extent(L, ext);
        if (q == first && net_.fifo) ext = 0;
        g.lo = std::min<int64_t>(g.lo, rel);
        g.hi = std::max<int64_t>(g.hi, rel + ext);
        g.live_to = std::max(g.live_to, pos_[q]);
        g.readers.push_back(q);
        if (L.streaming) g.streams = true;
        if (keep_in_[q]) g.fixed = *keep_in_[q] - rel;
      } else {
        g.live_to = INT_MAX;
      }
    }
    for (int s = -1; s < nl_; ++s)
      for (const Use& u : uses(s)) {
        Region& g = region(u.port);
        const int rel = off_uf_->rel(u.port) + u.delta;
        if (s < 0) {
          g.live_from = std::min(g.live_from, -1);
          continue;
        }
        const Layer& S = net_.layers[s];
        int64_t ext = output_data_size(net_, S) * (S.write_gap + 1);
        if (u.port < nl_ && net_.layers[u.port].streaming && S.streaming)
          ext = streamed_extent(net_.layers[u.port], ext);
        g.lo = std::min<int64_t>(g.lo, rel);
        g.hi = std::max<int64_t>(g.hi, rel + ext);
        g.live_from = std::min(g.live_from, pos_[s]);
        if (S.streaming) g.streams = true;
        if (S.output_layer || s == net_.final_layer) g.live_to = INT_MAX;
        if (keep_out_[s]) g.fixed = *keep_out_[s] - rel;
      }
    // Streaming layers run together: their buffers (and the output they end in) are live from
    // the first streaming layer to the last.
    int stream_first = INT_MAX, stream_last = INT_MIN;
    for (int l : net_.order)
      if (net_.layers[l].streaming) {
        stream_first = std::min(stream_first, pos_[l]);
        stream_last = std::max(stream_last, pos_[l]);
      }
    std::vector<Region*> order;
    for (auto& [r, g] : regions) {
      if (g.live_from == INT_MAX) g.live_from = -1;
      if (g.live_to == INT_MIN) g.live_to = end;
      if (g.streams) {
        g.live_from = std::min(g.live_from, stream_first);
        g.live_to = std::max(g.live_to, stream_last);
      }
      order.push_back(&g);
    }
    std::stable_sort(order.begin(), order.end(), [](const Region* a, const Region* b) {
      if (a->fixed.has_value() != b->fixed.has_value()) return a->fixed.has_value();
      if (a->live_from != b->live_from) return a->live_from < b->live_from;
      return a->hi - a->lo > b->hi - b->lo;
    });
    const int64_t ib = spec_.instance_bytes();
    std::vector<Region*> placed;
    std::string problem;
    for (Region* g : order) {
      auto conflicts = [&](const Region* o) {
        if ((o->instances & g->instances) == 0) return false;
        if (in_place_)  // --overlap-data: an output may take the bytes of its own layer's input
          return o->live_from < g->live_to && g->live_from < o->live_to;
        return o->live_from <= g->live_to && g->live_from <= o->live_to;
      };
      auto fits_at = [&](int64_t base) {
        if (base + g->lo < 0 || base + g->hi > ib) return false;
        for (const Region* o : placed) {
          if (!conflicts(o) || o->hi == o->lo || g->hi == g->lo) continue;
          if (base + g->lo < o->offset + o->hi && o->offset + o->lo < base + g->hi) return false;
        }
        return true;
      };
      if (g->fixed) {
        g->offset = *g->fixed;
        placed.push_back(g);
        continue;
      }
      std::vector<int64_t> cands{-g->lo};
      for (const Region* o : placed)
        if (conflicts(o)) cands.push_back(((o->offset + o->hi + 3) & ~int64_t{3}) - g->lo);
      std::sort(cands.begin(), cands.end());
      bool done = false;
      for (int64_t c : cands) {
        c = (c + 3) & ~int64_t{3};
        if (fits_at(c)) {
          g->offset = c;
          done = true;
          break;
        }
      }
      if (!done) {
        g->offset = -g->lo;
        if (problem.empty()) {
          int64_t needed = g->hi - g->lo;
          for (const Region* o : placed)
            if (conflicts(o)) needed += o->hi - o->lo;
          const int who = g->readers.empty() ? -1 : g->readers.front();
          problem = "layer " + std::to_string(who) +
                    ": data memory instance: its input and the data still needed while it is "
                    "read take " + std::to_string(needed) + " bytes in one instance; the device has " +
                    std::to_string(ib);
        }
      }
      placed.push_back(g);
    }
    // Write the offsets.
    for (int q = 0; q < 2 * nl_; ++q) {
      if (!is_port_[q] || q >= nl_) continue;
      net_.layers[q].in_offset = static_cast<int>(region(q).offset + off_uf_->rel(q));
    }
    for (int s = 0; s < nl_; ++s) {
      if (uses(s).empty()) continue;
      const Use& u = uses(s)[0];
      net_.layers[s].out_offset = static_cast<int>(region(u.port).offset + off_uf_->rel(u.port) + u.delta);
    }
    for (int l = 0; l < nl_; ++l) {
      if (pos_[l] < 0) net_.layers[l].in_offset = net_.layers[l].out_offset = 0;
      if (keep_in_[l]) net_.layers[l].in_offset = *keep_in_[l];
      if (keep_out_[l]) net_.layers[l].out_offset = *keep_out_[l];
    }
    data_bytes = 0;
    for (const Region* g : placed) data_bytes = std::max(data_bytes, g->offset + g->hi);
    return problem;
  }

 public:
  int64_t data_bytes = 0;
};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(ErrorKind::IO, path + ": cannot read the network YAML");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The item index of each YAML layer, from the line the loader recorded.
std::vector<int> items_of_layers(const NetworkConfig& cfg,
                                 const std::vector<std::pair<int, int>>& item_lines) {
  std::vector<int> out;
  for (const LayerConfig& lc : cfg.layers) {
    int found = -1;
    for (size_t i = 0; i < item_lines.size(); ++i)
      if (lc.yaml_line >= item_lines[i].first && lc.yaml_line <= item_lines[i].second)
        found = static_cast<int>(i);
    out.push_back(found);
  }
  return out;
}

struct Checked {
  Simulator sim;
  InputShape shape;
  Simulator::CheckResult result;
};

Checked load_and_check(const std::string& text, const std::string& file, const std::string& checkpoint,
                       const PlanOptions& opt) {
  TempYaml tmp(text);
  try {
    Simulator sim = Simulator::load(tmp.path, checkpoint, opt.load);
    InputShape shape = opt.input ? *opt.input : sim.inferred_input_shape();
    Simulator::CheckResult r = sim.check(shape);
    return {std::move(sim), shape, std::move(r)};
  } catch (const Error& e) {
    rethrow_as(e, tmp.path, file);
  }
}

// The data memory instances a processor map's data lives in.
std::vector<int> instances(const Network& net, uint64_t mask) {
  const int shared = device_spec(net.device).p_shared;
  std::vector<int> inst;
  for (int p = 0; p < 64; ++p)
    if ((mask >> p & 1) && (inst.empty() || inst.back() != p / shared)) inst.push_back(p / shared);
  return inst;
}

PlannedLayer planned_layer(const Network& net, const Layer& L, const KernelLayout& kl) {
  PlannedLayer p;
  p.layer = L.index;
  p.channels_in = L.in_channels * L.operands;
  p.passes = layer_passes(net, L).in_expand;
  p.processors = L.processors;
  p.reads = L.in_sequences;
  p.channels_out = L.out_channels;
  p.output_processors = L.output_processors;
  p.in_bytes = input_data_size(net, L);
  p.out_bytes = output_data_size(net, L);
  p.in_offset = L.in_offset;
  p.out_offset = L.out_offset;
  p.in_instances = instances(net, L.processors);
  p.out_instances = instances(net, L.output_processors);
  if (const KernelAllocation* a = kl.find(L.index); a && a->rows > 0) {
    p.kernel_first_row = a->first_row;
    p.kernel_rows = a->rows;
  }
  return p;
}

}  // namespace

PlanResult plan_network(const std::string& config_file, const std::string& checkpoint_file,
                        const PlanOptions& opt) {
  for (const std::string& k : opt.keep)
    if (std::find(std::begin(kKeys), std::end(kKeys), k) == std::end(kKeys))
      fail(ErrorKind::Config, "--keep: found '" + k +
                                  "'; allowed: processors, output_processors, in_offset, out_offset");
  auto kept = [&](const std::string& k) {
    return std::find(opt.keep.begin(), opt.keep.end(), k) != opt.keep.end();
  };
  const std::string text = read_text(config_file);
  // A rolling data buffer ties the offsets of the layers that shift, insert and read it to the
  // buffer's place; the planner does not place such a network.
  if (text.rfind("data_buffer:", 0) == 0 || text.find("\ndata_buffer:") != std::string::npos)
    fail(ErrorKind::Config, config_file +
                                ": key `data_buffer`: found a rolling data buffer; allowed: plan "
                                "networks without one (the offsets of the layers that shift, "
                                "insert and read the buffer are tied to it: place them by hand)");
  const LayerYamlText yaml(text, config_file);
  const int items = yaml.items();

  // Which keys the YAML gives (for --keep and for the original placement's cycles); their
  // values are read by the YAML loader, as izer reads them.
  std::vector<std::array<bool, 4>> user(static_cast<size_t>(items));
  bool complete = true;
  for (int i = 0; i < items; ++i)
    for (int k = 0; k < 4; ++k) {
      user[i][k] = yaml.value(i, kKeys[k]).has_value();
      if (k == 0 && !user[i][k]) complete = false;
    }

  if (!opt.input && items > 0 && !user[0][0] && !yaml.value(0, "in_channels"))
    fail(ErrorKind::Config, config_file +
                                ": layer 0: neither `processors` nor `in_channels` tells the input "
                                "channels; give --sample-input or --input-shape C,H,W");

  // 1. Resolve the network with provisional values for everything the planner chooses.
  std::vector<LayerYamlText::KeyValues> provisional(static_cast<size_t>(items));
  for (int i = 0; i < items; ++i)
    for (int k = 0; k < 4; ++k) {
      if (kept(kKeys[k]) && user[i][k]) continue;
      // Without a sample, the first layer's processors (as written) tell the input channels.
      if (i == 0 && k == 0 && !opt.input && user[i][k]) continue;
      provisional[i].push_back({kKeys[k], k < 2 ? "0x0000000000000001" : "0x0000"});
    }
  std::vector<std::pair<int, int>> item_lines;
  const std::string prov_text = yaml.with(provisional, &item_lines);
  Checked base = load_and_check(prov_text, config_file, checkpoint_file, opt);
  Network net = base.result.network;
  const std::vector<int> item_of = items_of_layers(base.sim.config(), item_lines);
  const int nl = static_cast<int>(net.layers.size());
  std::vector<std::optional<uint64_t>> kp(nl), ko(nl);
  std::vector<std::optional<int>> ki(nl), kout(nl);
  for (int l = 0; l < nl; ++l) {
    const int it = l < static_cast<int>(item_of.size()) ? item_of[l] : -1;
    if (it < 0) continue;
    const LayerConfig& lc = base.sim.config().layers[static_cast<size_t>(l)];
    if (kept("processors") && user[it][0]) kp[l] = lc.processors;
    if (kept("output_processors") && user[it][1]) ko[l] = lc.output_processors;
    if (kept("in_offset") && user[it][2]) ki[l] = lc.in_offset;
    if (kept("out_offset") && user[it][3]) kout[l] = lc.out_offset;
  }

  // 2. Plan: two searches (cycles first, kernel memory first); the first that fits wins.
  PlanResult res;
  std::string limit;
  Network best;
  std::vector<Violation> best_v;
  int64_t best_bytes = 0;
  bool have = false;
  using Mode = Planner::Mode;
  std::vector<std::pair<Mode, bool>> attempts = {{Mode::Cycles, false}, {Mode::Kernels, false},
                                                 {Mode::Memory, false}};
  if (opt.objective == PlanObjective::Memory) std::swap(attempts[0], attempts[2]);
  if (opt.load.overlap_data)
    for (size_t i = 0, n = attempts.size(); i < n; ++i) attempts.push_back({attempts[i].first, true});
  for (const auto& [mode, in_place] : attempts) {
    Network cand = net;
    Planner p(cand, kp, ko, ki, kout);
    const std::string why = p.run(mode, in_place);
    std::vector<Violation> v = find_violations(cand);
    if (!why.empty()) v.insert(v.begin(), Violation{-1, "plan", "data memory instance", 0, 0, why});
    const bool better = !have || v.size() < best_v.size() ||
                        (v.empty() && best_v.empty() && opt.objective == PlanObjective::Memory &&
                         p.data_bytes < best_bytes);
    if (better) {
      best = cand;
      best_v = v;
      best_bytes = p.data_bytes;
      have = true;
    }
    if (v.empty() && opt.objective == PlanObjective::Latency) break;
  }

  // 3. The planned YAML, re-read and checked like any other.
  std::vector<LayerYamlText::KeyValues> planned(static_cast<size_t>(items));
  for (int l = 0; l < nl; ++l) {
    const int it = l < static_cast<int>(item_of.size()) ? item_of[l] : -1;
    if (it < 0) continue;
    const Layer& L = best.layers[l];
    const std::string vals[4] = {hex16(L.processors), hex16(L.output_processors), hex4(L.in_offset),
                                 hex4(L.out_offset)};
    for (int k = 0; k < 4; ++k) {
      if (kept(kKeys[k]) && user[it][k]) continue;
      planned[it].push_back({kKeys[k], vals[k]});
    }
  }
  res.yaml = yaml.with(planned);
  Checked fin = load_and_check(res.yaml, config_file, checkpoint_file, opt);
  const Network& pn = fin.result.network;
  res.violations = fin.result.violations;
  // The device rules' words first; the planner's own limit (data still needed by a later
  // layer, which izer's overlap rule does not protect) when they find nothing.
  for (const Violation& v : best_v)
    if (v.rule == "plan") res.violations.push_back(v);
  res.ok = res.violations.empty();
  res.data_bytes = best_bytes;
  const NetworkCycles nc = estimate_network_cycles(pn);
  res.cycles = nc.total;

  // 4. The user's own placement, when the YAML had one that fits.
  std::optional<NetworkCycles> oc;
  if (complete) {
    try {
      Checked orig = load_and_check(text, config_file, checkpoint_file, opt);
      if (orig.result.violations.empty()) {
        oc = estimate_network_cycles(orig.result.network);
        res.original_cycles = oc->total;
      }
    } catch (const Error&) {
    }
  }

  // 5. What the report shows.
  res.config_file = config_file;
  res.device = pn.device;
  res.input = fin.shape;
  res.objective = opt.objective;
  res.instance_bytes = device_spec(pn.device).instance_bytes();
  const KernelLayout kl = allocate_kernels(pn);
  std::map<int, int64_t> cyc, ocyc;
  for (const auto& l : nc.layers) cyc[l.layer] = l.cycles.total;
  if (oc)
    for (const auto& l : oc->layers) ocyc[l.layer] = l.cycles.total;
  for (int l : pn.order) {
    PlannedLayer p = planned_layer(pn, pn.layers[l], kl);
    if (cyc.count(l)) p.cycles = cyc[l];
    if (ocyc.count(l)) p.original_cycles = ocyc[l];
    res.layers.push_back(std::move(p));
  }
  return res;
}

}  // namespace ai8xsim
