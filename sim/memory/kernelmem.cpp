// ai8xsim: kernel memory placement and packing (izer kernels.py, default settings).
// docs/weight-memory.md explains the rules; the comments here name izer's quantities.
#include "sim/memory/kernelmem.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>
#include <optional>

#include "ai8xsim/error.h"
#include "sim/memory/biasmem.h"
#include "sim/model/bits.h"
#include "ai8xsim/device.h"
#include "sim/io/c_source.h"

namespace ai8xsim {

// ---- KernelMemory -----------------------------------------------------------------------------

KernelMemory::KernelMemory(Device d) : device(d) {
  const DeviceSpec& spec = device_spec(d);
  rows.resize(static_cast<size_t>(spec.max_proc));
  written.resize(static_cast<size_t>(spec.max_proc));
  for (int p = 0; p < spec.max_proc; ++p) {
    rows[static_cast<size_t>(p)].assign(static_cast<size_t>(spec.mask_width(p)), KernelRow{});
    written[static_cast<size_t>(p)].assign(static_cast<size_t>(spec.mask_width(p)), 0);
  }
}

bool KernelMemory::is_written(int proc, int r) const {
  return written[static_cast<size_t>(proc)][static_cast<size_t>(r)] != 0;
}

const KernelRow& KernelMemory::row(int proc, int r) const {
  return rows[static_cast<size_t>(proc)][static_cast<size_t>(r)];
}

void KernelMemory::write(int proc, int r, const KernelRow& bytes) {
  if (proc < 0 || proc >= processors() || r < 0 || r >= width(proc))
    fail(ErrorKind::Internal, "kernel memory: row " + std::to_string(r) + " of processor " +
                                  std::to_string(proc) + " does not exist");
  rows[static_cast<size_t>(proc)][static_cast<size_t>(r)] = bytes;
  written[static_cast<size_t>(proc)][static_cast<size_t>(r)] = 1;
}

int64_t KernelMemory::rows_written() const {
  int64_t n = 0;
  for (const auto& w : written) n += std::count(w.begin(), w.end(), uint8_t{1});
  return n;
}

uint32_t KernelMemory::address(int proc, int r) const {
  const DeviceSpec& spec = device_spec(device);
  return spec.apb_base + spec.c_group_offs * static_cast<uint32_t>(proc / spec.p_numpro) +
         spec.c_mram_base +
         static_cast<uint32_t>(proc % spec.p_numpro) * static_cast<uint32_t>(spec.mask_offs) * 16u +
         static_cast<uint32_t>(r) * 16u;
}

bool KernelMemory::same_bytes(const KernelMemory& o) const {
  if (rows.size() != o.rows.size()) return false;
  for (size_t p = 0; p < rows.size(); ++p) {
    if (rows[p].size() != o.rows[p].size()) return false;
    for (size_t r = 0; r < rows[p].size(); ++r)
      if (written[p][r] && rows[p][r] != o.rows[p][r]) return false;
  }
  return true;
}

const KernelAllocation* KernelLayout::find(int layer) const {
  for (const KernelAllocation& a : layers)
    if (a.layer == layer) return &a;
  return nullptr;
}

namespace {

constexpr int kFree = -1;  // kernel map entry of an unused row
constexpr int64_t kFatal = std::numeric_limits<int64_t>::min();  // a violation was recorded


std::string hex4(int64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%04llx", static_cast<long long>(v));
  return b;
}

// Layers izer's backend works on: up to the highest layer the sequence reaches.
int izer_layer_count(const Network& net) {
  if (net.order.empty()) return static_cast<int>(net.layers.size());
  return std::min(*std::max_element(net.order.begin(), net.order.end()) + 1,
                  static_cast<int>(net.layers.size()));
}

// The kernels a layer hands to izer's allocator (max7800x.py's hw_kernel): the loaded kernels,
// 1x1 kernels widened to 3x3 where streaming needs it, dilated Conv1d kernels stretched or
// moved onto 3x3 Conv2d kernels.
struct HwKernel {
  bool present = false;
  std::vector<int64_t> values;  // rows x kh x kw
  int kh = 1, kw = 1;
  std::vector<int64_t> shape;   // izer's array shape (deduplication compares it)
};

HwKernel hw_kernel(const Network& net, const Layer& L, const DeviceSpec& spec, int layers) {
  HwKernel k;
  if (!L.has_weights()) return k;
  k.present = true;
  k.kh = L.kernel[0];
  k.kw = L.kernel[1];
  k.values.assign(L.weights.begin(), L.weights.end());
  const int64_t per = int64_t{k.kh} * k.kw;
  int64_t rows = static_cast<int64_t>(k.values.size()) / std::max<int64_t>(per, 1);
  if (L.op == Operator::Linear)
    k.shape = {1, L.out_channels, L.weight_in_channels()};
  else if (L.one_d())
    k.shape = {rows, k.kh};
  else
    k.shape = {rows, k.kh, k.kw};

  // 1x1 convolutions next to a streaming layer run on the 3x3 hardware (the weight in the
  // center); izer does this for the first max_stream_layers + 1 layers.
  const bool near_stream = L.streaming || (L.prev >= 0 && net.layers[L.prev].streaming);
  if (spec.emulate_1x1_streaming && L.index < std::min(spec.max_stream_layers + 1, layers) &&
      k.kh == 1 && k.kw == 1 &&
      (L.op == Operator::Conv2d || L.op == Operator::ConvTranspose2d) && near_stream) {
    std::vector<int64_t> v(static_cast<size_t>(rows) * 9, 0);
    for (int64_t r = 0; r < rows; ++r) v[static_cast<size_t>(r * 9 + 4)] = k.values[r];
    k.values = std::move(v);
    k.kh = k.kw = 3;
    k.shape = {rows, 3, 3};
  }

  if (L.one_d() && L.dilation[0] > 1) {
    const int len = k.kh, d = L.dilation[0];
    if ((len - 1) * d < 9) {  // stretch: insert d - 1 zeros between the taps
      const int len2 = (len - 1) * d + 1;
      std::vector<int64_t> v(static_cast<size_t>(rows * len2), 0);
      for (int64_t r = 0; r < rows; ++r)
        for (int s = 0; s < len; ++s) v[static_cast<size_t>(r * len2 + s * d)] = k.values[r * len + s];
      k.values = std::move(v);
      k.kh = len2;
      k.shape = {rows, len2};
    } else if (len <= spec.max_dilation_1d_kernel) {  // Conv2d hardware: taps in column 1
      const int top = len == 3 ? 0 : 1;
      std::vector<int64_t> v(static_cast<size_t>(rows) * 9, 0);
      for (int64_t r = 0; r < rows; ++r)
        for (int s = 0; s < len; ++s) v[static_cast<size_t>(r * 9 + (top + s) * 3 + 1)] = k.values[r * len + s];
      k.values = std::move(v);
      k.kh = k.kw = 3;
      k.shape = {rows, 3, 3};
    }
  }
  return k;
}

class KernelAllocator {
 public:
  explicit KernelAllocator(const Network& net)
      : net_(net), spec_(device_spec(net.device)), layers_(izer_layer_count(net)) {
    const size_t procs = static_cast<size_t>(spec_.max_proc);
    const size_t large = static_cast<size_t>(spec_.mask_width_large);
    map_.assign(procs, std::vector<int>(large, kFree));
    used_.assign(procs, std::vector<uint8_t>(large, 0));
    data_.assign(procs, std::vector<KernelRow>(large, KernelRow{}));
    kern_offs_.assign(static_cast<size_t>(layers_), 0);
    out_.memory = KernelMemory(net.device);
  }

  KernelLayout run() {
    // izer's kernel arrays and their deduplication (identical kernels, shape, quantization
    // and processors share one copy).
    std::vector<HwKernel> hw(static_cast<size_t>(layers_));
    std::vector<int> source(static_cast<size_t>(layers_), -1);
    for (int ll = 0; ll < layers_; ++ll) {
      const Layer& L = net_.layers[static_cast<size_t>(ll)];
      hw[static_cast<size_t>(ll)] = hw_kernel(net_, L, spec_, layers_);
      const HwKernel& k = hw[static_cast<size_t>(ll)];
      if (!k.present) continue;
      for (int j = 0; j < ll; ++j) {
        const HwKernel& o = hw[static_cast<size_t>(j)];
        const Layer& J = net_.layers[static_cast<size_t>(j)];
        if (o.present && source[static_cast<size_t>(j)] < 0 && o.shape == k.shape &&
            J.quantization == L.quantization && J.processors == L.processors &&
            o.values == k.values) {
          source[static_cast<size_t>(ll)] = j;
          break;
        }
      }
    }

    // Placement order: layers using all 64 processors first, then the rest, by index.
    std::vector<int> order;
    for (int pass = 0; pass < 2; ++pass)
      for (int ll = 0; ll < layers_; ++ll) {
        const bool all = net_.layers[static_cast<size_t>(ll)].processors == ~uint64_t{0};
        if (all == (pass == 0)) order.push_back(ll);
      }
    for (int ll : order) {
      const Layer& L = net_.layers[static_cast<size_t>(ll)];
      if (L.op == Operator::Passthrough || L.bypass) continue;
      if (!hw[static_cast<size_t>(ll)].present || source[static_cast<size_t>(ll)] >= 0) continue;
      if (!place(L, hw[static_cast<size_t>(ll)])) return finish(false, source);
    }
    return finish(true, source);
  }

 private:
  int width(int p) const { return spec_.mask_width(p); }
  bool calcx4(int ll) const {
    return ll >= 0 && ll < static_cast<int>(net_.layers.size()) &&
           net_.layers[static_cast<size_t>(ll)].calcx4;
  }

  void exhausted(int ll, int p, int64_t offs, int64_t length) {
    // Where the layer would go: from its start row when it has one (the rows are being filled)
    // to the end of what it needs.
    KernelAllocation& o = out_.overflow;
    o.layer = ll;
    o.processors = net_.layers[static_cast<size_t>(ll)].processors;
    o.first_row = static_cast<int>(placing_offs_ >= 0 ? placing_offs_ : offs);
    o.rows = static_cast<int>(
        std::max(offs + length, placing_offs_ >= 0 ? placing_offs_ + placing_len_ : 0) -
        o.first_row);
    Violation v;
    v.layer = ll;
    v.rule = "kernel-memory";
    v.resource = "kernel memory rows";
    v.needed = offs + length;
    v.available = width(p);
    v.message = "layer " + std::to_string(ll) + ": kernel memory exhausted at processor " +
                std::to_string(p) + "; offset: " + std::to_string(offs) + " (" + hex4(offs) +
                "), needed: " + std::to_string(length) + " (rows up to " +
                std::to_string(offs + length) + ", the processor has " +
                std::to_string(width(p)) + ": " + std::to_string(offs + length - width(p)) +
                " too many)";
    out_.violations.push_back(std::move(v));
  }

  void refused(int ll, const std::string& resource, const std::string& what, int64_t needed = 0,
               int64_t available = 0) {
    Violation v;
    v.layer = ll;
    v.rule = "kernel-memory";
    v.resource = resource;
    v.needed = needed;
    v.available = available;
    v.message = "layer " + std::to_string(ll) + ": " + what;
    out_.violations.push_back(std::move(v));
  }

  // izer's check_kernel_mem: is there room for `length` rows at `offs` on processor `p`?
  bool room(int ll, int p, int64_t offs, int64_t length, bool reverse, bool error) {
    const bool bad = reverse ? offs < 0 : offs + length > width(p);
    if (bad && error) exhausted(ll, p, offs, length);
    return !bad;
  }

  // Rows of a memory instance around row `x` (izer's kernel_mem_mask), for the MAX78002 rule
  // that a depthwise layer's kernels stay inside one instance.
  int64_t instance_mask(int64_t x) const {
    return x + 1 >= spec_.mask_width_small ? spec_.mask_instance_small - 1
                                           : spec_.mask_instance_large - 1;
  }

  // izer's search_kernel_mem: the first row (downward: the highest) from `offs` where `len`
  // rows are free on every processor of `map`. -1 when none; kFatal after a violation.
  int64_t search(int ll, int64_t offs, int64_t len, int groups, uint64_t map, bool reverse,
                 bool error) {
    const int first = ffs64(map), last = fls64(map);
    const int64_t large = spec_.mask_width_large;
    int p = first;
    while (map_[static_cast<size_t>(p)][static_cast<size_t>(offs)] != kFree) {
      offs += reverse ? -spec_.p_shared : spec_.p_shared;
      if (!room(ll, p, offs, len, reverse, error)) return error ? kFatal : -1;
    }
    const bool one_instance = spec_.require_weight_mask && groups > 1;
    while (p <= last) {
      if (!(map >> p & 1)) {
        ++p;
        continue;
      }
      int64_t begin, end, step;
      if (!reverse) {
        if (one_instance) {
          int64_t m = instance_mask(offs + 1);
          if (((offs + 1) & ~m) != ((offs + len) & ~m)) offs = ((offs + m) & ~m) - 1;
          m = instance_mask(offs + 1);
          if (((offs + 1) & ~m) != ((offs + len) & ~m)) return -1;
        }
        begin = offs, end = offs + len, step = 1;
      } else {
        if (one_instance) {
          const int64_t m = instance_mask(offs - 1);
          if (((offs - 1) & ~m) != ((offs - len) & ~m)) offs &= ~m;
        }
        begin = offs, end = offs - len, step = -1;
      }
      bool restart = false;
      for (int64_t i = begin; i != end; i += step) {
        if (i < 0) return -1;  // below row 0 (izer would index from the top): no room
        if (i >= large) {      // beyond every memory (izer: index error)
          if (error) exhausted(ll, p, offs, len);
          return error ? kFatal : -1;
        }
        if (map_[static_cast<size_t>(p)][static_cast<size_t>(i)] != kFree) {
          offs = reverse ? ((i - 1) & ~int64_t{spec_.p_shared - 1})
                         : ((i + spec_.p_shared) & ~int64_t{spec_.p_shared - 1});
          if (!room(ll, p, offs, len, false, error)) return error ? kFatal : -1;
          restart = true;
          break;
        }
      }
      p = restart ? first : p + 1;
    }
    return offs;
  }

  // izer's add_kernel_data: the next byte `b` of processor `p` at column `col_target`
  // (relative to the layer's start row). Returns the next column, or kFatal.
  int64_t add(int ll, int p, int64_t col_target, int64_t b) {
    const int64_t col = kern_offs_[static_cast<size_t>(ll)] + col_target;
    if (col < 0 || !room(ll, p, col, 1, false, true)) {
      if (col < 0) refused(ll, "kernel memory rows", "kernel row " + std::to_string(col) + " below row 0");
      return kFatal;
    }
    auto& used = used_[static_cast<size_t>(p)][static_cast<size_t>(col)];
    auto& owner = map_[static_cast<size_t>(p)][static_cast<size_t>(col)];
    if (used == 0) {
      if (owner != kFree) {
        refused(ll, "kernel memory rows",
                "kernel row " + std::to_string(col) + " of processor " + std::to_string(p) +
                    " already holds layer " + std::to_string(owner) + "'s kernels");
        return kFatal;
      }
      owner = ll;
    }
    if (used >= 9) {
      refused(ll, "kernel memory rows",
              "kernel row " + std::to_string(col) + " of processor " + std::to_string(p) +
                  " is already full (layer " + std::to_string(owner) + ")");
      return kFatal;
    }
    data_[static_cast<size_t>(p)][static_cast<size_t>(col)][static_cast<size_t>(8 - used)] =
        static_cast<uint8_t>(b & 0xff);
    ++used;
    return used == 9 ? col_target + 1 : col_target;
  }

  bool place(const Layer& L, const HwKernel& hk) {
    const int ll = L.index;
    const LayerPasses ps = layer_passes(net_, L);
    // Nothing to place for a layer the other rules already refuse (no processors, no
    // channels); izer never gets here with one.
    if (L.processors == 0 || L.output_processors == 0 || L.out_channels < 1 ||
        L.in_channels < 1 || ps.in_expand < 1 || ps.out_expand < 1 || L.groups < 1)
      return true;
    const int q = std::abs(L.quantization);
    if (q != 1 && q != 2 && q != 4 && q != 8) {
      refused(ll, "weights", "quantization " + std::to_string(L.quantization) +
                                 " has no kernel packing (1, 2, 4, 8 or binary)");
      return false;
    }
    const int qf = 8 / q;
    const int out = L.out_channels;
    const int ksize = hk.kh * hk.kw;

    // izer's kernel_reshaped: `rows` rows of `row_len` values.
    std::vector<int64_t> values;
    int64_t rows = 0, row_len = ksize;
    int in_exp = ps.in_expand, in_chan = L.in_channels;
    if (L.flatten) {
      const int64_t in_total = L.weight_in_channels();
      const int64_t ie = ps.in_expand, iet = ps.in_expand_thresh;
      if (ie <= 0 || iet <= 0 || in_total % ie != 0 || in_total % iet != 0) {
        refused(ll, "weights",
                "flatten: " + std::to_string(in_total) + " weights per output channel do not "
                "split into " + std::to_string(ie) + " passes of " + std::to_string(iet) +
                " processors (izer cannot reshape them)");
        return false;
      }
      const int64_t per_pass = in_total / ie;
      row_len = in_total / iet;
      rows = int64_t{out} * iet;
      values.resize(hk.values.size());
      for (int64_t o = 0; o < out; ++o)
        for (int64_t j = 0; j < per_pass; ++j)
          for (int64_t e = 0; e < ie; ++e)
            values[static_cast<size_t>(o * in_total + j * ie + e)] =
                hk.values[static_cast<size_t>(o * in_total + e * per_pass + j)];
      in_exp = 1;
      in_chan = ps.in_expand_thresh;
    } else if (L.calcx4) {
      if (out % 4 != 0) {
        refused(ll, "output channels", "calcx4 needs a multiple of 4 output channels, found " +
                                           std::to_string(out));
        return false;
      }
      const int64_t block = static_cast<int64_t>(hk.values.size()) / out;
      values.resize(hk.values.size());
      for (int64_t i = 0; i < out / 4; ++i)
        for (int64_t j = 0; j < 4; ++j)
          std::copy_n(hk.values.begin() + (i * 4 + j) * block, block,
                      values.begin() + (j * (out / 4) + i) * block);
      rows = static_cast<int64_t>(values.size()) / ksize;
    } else {
      values = hk.values;
      rows = static_cast<int64_t>(values.size()) / ksize;
    }
    if (L.quantization == -1)  // binary: -1 -> bit 1, +1 -> bit 0
      for (int64_t& v : values) v = std::clamp<int64_t>(v, -1, 0);

    const uint64_t proc_map = L.processors;
    const int first_proc = ffs64(proc_map), last_proc = fls64(proc_map);
    const uint64_t next_map = L.output_processors;
    int first_out = ffs64(next_map);
    const int start_col = first_out % spec_.p_shared;
    if (ps.out_expand > 1) first_out -= start_col;

    int64_t kc, count, ochan;
    if (L.groups == 1) {
      kc = int64_t{1 + fls64(next_map) - first_out} * ps.out_expand * in_exp;
      count = ochan = kc + int64_t{start_col} * ps.out_expand * in_exp;
    } else {
      kc = in_exp;
      count = kc + int64_t{start_col} * in_exp;
      ochan = int64_t{1 + fls64(next_map) - first_out} * in_exp + int64_t{start_col} * in_exp;
    }
    if (L.flatten) {
      const int64_t unused = int64_t{ps.out_expand} * popcount64(next_map) - out;
      kc = kc * row_len - unused * row_len;
      count = count * row_len - unused * row_len;
      ochan = count;
    }
    // 72-bit rows; low-bit kernels that do not fill their last byte reserve its padding.
    const int64_t res = (kc % qf) * ksize * (qf - 1);
    int64_t kern_len = (kc * ksize * q + res + 71) / 72;
    if (kern_len < 1 || rows < 1) return true;  // nothing to store (inconsistent shapes)
    placing_offs_ = -1;
    placing_len_ = kern_len;

    // Find the start row.
    int64_t search_col = -1;
    bool from_top = false;
    const bool x4_switch = ll > 0 && L.calcx4 && !calcx4(ll - 1);
    if (!x4_switch && spec_.mask_width_large > spec_.mask_width_small) {
      bool large_only = true;
      for (int p = first_proc; p <= last_proc; ++p)
        if ((proc_map >> p & 1) && !spec_.mask_large(p)) large_only = false;
      if (large_only && (!spec_.require_weight_mask || L.groups == 1 ||
                         kern_len <= spec_.mask_instance_small)) {
        search_col = search(ll, spec_.mask_width_large - 1, kern_len, L.groups, proc_map, true,
                            false);
        from_top = search_col != -1;
      }
    }
    int64_t kern_offs;
    if (search_col == -1) {
      search_col = search(ll, 0, kern_len, L.groups, proc_map, false, true);
      if (search_col == kFatal) return false;
      if (search_col == -1) {
        refused(ll, "kernel memory instance",
                "the depthwise kernels (" + std::to_string(kern_len) +
                    " rows) do not fit inside one kernel memory instance of the processors "
                    "still free");
        return false;
      }
      kern_offs = search_col;
      if (x4_switch) kern_offs *= 4;
      kern_offs = (kern_offs + spec_.p_shared - 1) & ~int64_t{spec_.p_shared - 1};
    } else {
      kern_offs = (search_col - (kern_len - 1)) & ~int64_t{spec_.p_shared - 1};
    }
    if (!room(ll, last_proc, kern_offs, kern_len, false, true)) return false;
    kern_offs_[static_cast<size_t>(ll)] = kern_offs;
    placing_offs_ = kern_offs;

    // Fill the rows, processor by processor.
    const uint64_t proc_mask = (uint64_t{1} << qf) - 1;
    const uint64_t map_init = next_map >> std::max(ffs64(next_map), 0);
    const int64_t qmask = (int64_t{1} << q) - 1;
    int64_t ch = 0, max_target = 0;
    for (int p = first_proc; p <= last_proc; ++p) {
      if (!(proc_map >> p & 1)) continue;
      int64_t m = 0;
      int64_t col_target = int64_t{start_col} * ksize * in_exp / 9;
      const int64_t col_bytes = int64_t{start_col} * ksize * in_exp % 9;
      for (int64_t z = 0; z < col_bytes / qf; ++z)
        if ((col_target = add(ll, p, col_target, 0)) == kFatal) return false;

      const int out_range = L.groups == 1 ? ps.out_expand : 1;
      for (int expand = 0; expand < out_range; ++expand) {
        uint64_t this_map = map_init;
        int64_t col, stop_col;
        if (L.groups == 1) {
          col = int64_t{expand} * ps.out_expand_thresh;
          stop_col = col + ps.out_expand_thresh;
        } else {
          col = expand;
          stop_col = expand + 1;
        }
        while (col < stop_col) {
          if (this_map != 0)
            while ((this_map & proc_mask) == 0) {  // output processor gap: skip a row
              ++col_target;
              this_map >>= qf;
            }
          this_map >>= qf;
          const int64_t in_ch = L.flatten ? int64_t{in_chan} * qf : in_chan;
          const int64_t src_offs = ch + m * in_ch;
          for (int ie = 0; ie < in_exp; ++ie) {
            if (int64_t{ie} * ps.in_expand_thresh + ch < in_ch && src_offs < rows) {
              std::vector<int64_t> k;
              if (!L.flatten) k.assign(static_cast<size_t>(ksize), 0);
              int64_t n = 0;
              for (int i = 0; i < qf; ++i) {
                if (m < out) {
                  const int64_t idx = n + int64_t{ie} * qf;
                  const int64_t koffs =
                      src_offs + (idx % in_exp) * ps.in_expand_thresh + (idx / in_exp) * in_chan;
                  if (koffs < rows) {
                    const int64_t* r = values.data() + koffs * row_len;
                    if (!L.flatten) {
                      for (int64_t j = 0; j < ksize; ++j)
                        k[static_cast<size_t>(j)] |= (r[j] & qmask) << (i * q);
                    } else {
                      for (int64_t j = 0; j < row_len; ++j) k.push_back(r[j] & qmask);
                    }
                  }
                  ++n;
                }
              }
              if (L.flatten) {
                while (k.size() % static_cast<size_t>(qf) != 0) k.push_back(0);
                for (size_t i = 0; i < k.size(); i += static_cast<size_t>(qf)) {
                  int64_t e = k[i];
                  for (int j = 1; j < qf; ++j) e |= k[i + static_cast<size_t>(j)] << (j * q);
                  if ((col_target = add(ll, p, col_target, e)) == kFatal) return false;
                }
              } else {
                for (int64_t i = 0; i < ksize; ++i)
                  if ((col_target = add(ll, p, col_target, k[static_cast<size_t>(ksize - i - 1)])) ==
                      kFatal)
                    return false;
              }
            } else {  // no input channel here (multi-pass padding): zero kernels
              for (int64_t z = 0; z < ksize / qf; ++z)
                if ((col_target = add(ll, p, col_target, 0)) == kFatal) return false;
            }
          }
          const int step = L.flatten ? 1 : qf;
          col += step;
          m += step;
        }
      }
      // Close a partly filled row, then pad with zero bytes up to the layer's row count.
      const int64_t here = kern_offs + col_target;
      if (here < width(p) && used_[static_cast<size_t>(p)][static_cast<size_t>(here)] > 0)
        ++col_target;
      while (col_target - start_col < kern_len)
        if ((col_target = add(ll, p, col_target, 0)) == kFatal) return false;
      if (L.flatten) kern_len = col_target;
      max_target = std::max(max_target, col_target);
      ++ch;
    }

    KernelAllocation a;
    a.layer = ll;
    a.processors = proc_map;
    a.first_row = static_cast<int>(kern_offs);
    a.rows = static_cast<int>(kern_len);
    a.rows_used = static_cast<int>(max_target);
    a.count = static_cast<int>(count);
    a.ochan = static_cast<int>(ochan);
    a.from_top = from_top;
    a.calcx4 = L.calcx4;
    out_.layers.push_back(a);
    return true;
  }

  // The image the loader writes; calcx4 layers' rows are interleaved by the loader (izer's
  // write_kern): the four quarters of the layer's rows go to the four quarters of the memory.
  // After a violation (!ok) the rows of the layers placed before it (the memory map shows them).
  KernelLayout finish(bool ok, const std::vector<int>& source) {
    std::vector<bool> placed(static_cast<size_t>(layers_), false);
    for (const KernelAllocation& a : out_.layers) placed[static_cast<size_t>(a.layer)] = true;
    {
      // Kernel size per calcx4 layer (hw_kernel builds the whole kernel array: once per layer).
      std::vector<int64_t> ksizes(static_cast<size_t>(layers_), 0);
      for (int ll = 0; ll < layers_; ++ll)
        if (calcx4(ll) && placed[static_cast<size_t>(ll)]) {
          const HwKernel hk =
              hw_kernel(net_, net_.layers[static_cast<size_t>(ll)], spec_, layers_);
          ksizes[static_cast<size_t>(ll)] = int64_t{hk.kh} * hk.kw;
        }
      for (int p = 0; p < spec_.max_proc; ++p)
        for (int col = 0; col < width(p); ++col) {
          const int ll = map_[static_cast<size_t>(p)][static_cast<size_t>(col)];
          if (ll == kFree || !placed[static_cast<size_t>(ll)]) continue;
          int64_t idx = col;
          if (calcx4(ll)) {
            const Layer& L = net_.layers[static_cast<size_t>(ll)];
            const int64_t ksize = ksizes[static_cast<size_t>(ll)];
            const int64_t count = int64_t{layer_passes(net_, L).in_expand} * L.out_channels * 9 *
                                  std::abs(L.quantization) / (ksize * 8);
            int64_t start = kern_offs_[static_cast<size_t>(ll)];
            const int64_t quarter = (count + 3) / 4;
            if (quarter <= 0) continue;
            const int64_t rel = col - start;
            const int64_t mem = rel >= 0 ? rel / quarter : -((-rel + quarter - 1) / quarter);
            const int64_t rem = rel - mem * quarter;
            start /= 4;
            if (col < spec_.mask_width_small)
              idx = mem * (spec_.mask_width_small / 4) + rem + start;
            else
              idx = mem * ((spec_.mask_width_large - spec_.mask_width_small) / 4) + rem +
                    spec_.mask_width_small + start;
            if (idx < 0 || idx >= width(p)) {
              if (!ok) continue;  // izer stopped at the first violation
              refused(ll, "kernel memory rows",
                      "calcx4: kernel row " + std::to_string(col) + " of processor " +
                          std::to_string(p) + " maps to row " + std::to_string(idx) +
                          ", outside the memory");
              continue;
            }
          }
          out_.memory.write(p, static_cast<int>(idx), data_[static_cast<size_t>(p)][static_cast<size_t>(col)]);
        }
    }
    if (ok) {
      // Layers sharing another layer's kernels.
      for (int ll = 0; ll < layers_; ++ll) {
        const int src = source[static_cast<size_t>(ll)];
        if (src < 0) continue;
        const Layer& L = net_.layers[static_cast<size_t>(ll)];
        if (L.op == Operator::Passthrough || L.bypass) continue;
        if (const KernelAllocation* s = out_.find(src)) {
          KernelAllocation a = *s;
          a.layer = ll;
          a.source = src;
          out_.layers.push_back(a);
        }
      }
    }
    return std::move(out_);
  }

  const Network& net_;
  const DeviceSpec& spec_;
  int layers_;
  std::vector<std::vector<int>> map_;         // [p][row]: owning layer or kFree
  std::vector<std::vector<uint8_t>> used_;    // [p][row]: bytes filled (0..9)
  std::vector<std::vector<KernelRow>> data_;  // [p][row]: bytes
  std::vector<int64_t> kern_offs_;
  int64_t placing_offs_ = -1, placing_len_ = 0;  // the layer being placed: start row, rows
  KernelLayout out_;
};

}  // namespace

KernelLayout allocate_kernels(const Network& net) { return KernelAllocator(net).run(); }

KernelMemory kernel_memory_from_weights_h(const std::string& weights_h, bool express,
                                          Device device) {
  const DeviceSpec& spec = device_spec(device);
  KernelMemory mem(device);
  const auto arrays = c_define_arrays(read_c_source(weights_h, "weights.h"));
  const auto found = arrays.find("KERNELS");
  if (found == arrays.end()) return mem;
  const std::vector<uint64_t>* words = &found->second;
  const uint32_t span = static_cast<uint32_t>(spec.mask_offs) * 16u;  // one processor
  size_t i = 0;
  auto bad = [&](const std::string& what) {
    fail(ErrorKind::Input, "weights.h: KERNELS word " + std::to_string(i) + ": " + what);
  };
  while (true) {
    if (i >= words->size()) bad("the array ends without the terminating 0");
    const uint32_t addr = static_cast<uint32_t>((*words)[i]);
    if (addr == 0) break;
    if (i + 1 >= words->size()) bad("block without a length");
    const uint64_t len = (*words)[i + 1];
    if (len > words->size() - i - 2) bad("block longer than the array");
    const uint32_t base = addr & ~(span - 1);
    const int64_t rel = int64_t{base} - spec.apb_base - spec.c_mram_base;
    const int64_t group = rel / spec.c_group_offs;
    const int64_t in_group = rel - group * spec.c_group_offs;
    if (rel < 0 || group >= spec.p_numgroups || in_group % span != 0 ||
        in_group / span >= spec.p_numpro)
      bad("address " + hex4(addr) + " is not in kernel memory");
    const int proc = static_cast<int>(group * spec.p_numpro + in_group / span);
    const uint32_t low = addr & (span - 1);
    std::vector<uint8_t> bytes;
    int row0;
    if (express) {
      row0 = static_cast<int>(low / 4);  // the express address holds row * 4
      for (uint64_t k = 0; k < len; ++k) {
        const uint64_t w = (*words)[i + 2 + k];
        for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<uint8_t>(w >> s));
      }
      bytes.resize(bytes.size() / 9 * 9);
    } else {
      row0 = static_cast<int>(low / 16);
      if (len % 4 != 0) bad("plain loader block length not a multiple of 4");
      for (uint64_t k = 0; k < len; k += 4) {
        bytes.push_back(static_cast<uint8_t>((*words)[i + 2 + k]));
        for (int w = 1; w <= 2; ++w)
          for (int s = 24; s >= 0; s -= 8)
            bytes.push_back(static_cast<uint8_t>((*words)[i + 2 + k + static_cast<uint64_t>(w)] >> s));
      }
    }
    for (size_t r = 0; r * 9 < bytes.size(); ++r) {
      KernelRow row;
      std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(r * 9), 9, row.begin());
      const int at = row0 + static_cast<int>(r);
      if (at >= mem.width(proc))
        bad("row " + std::to_string(at) + " beyond processor " + std::to_string(proc) +
            "'s " + std::to_string(mem.width(proc)) + " rows");
      mem.write(proc, at, row);
    }
    i += 2 + len;
  }
  return mem;
}

std::vector<Violation> memory_violations(const Network& net) {
  std::vector<Violation> out = allocate_kernels(net).violations;
  std::vector<Violation> bias = allocate_bias(net).violations;
  out.insert(out.end(), bias.begin(), bias.end());
  return out;
}

}  // namespace ai8xsim
