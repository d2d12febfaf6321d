#include "sim/memory/datamem.h"
#include "sim/memory/databuffer.h"

#include <algorithm>
#include <bitset>
#include <cstdio>
#include <sstream>

#include "ai8xsim/error.h"
#include "sim/model/checks.h"

namespace ai8xsim {

namespace {

int popcount(uint64_t v) { return static_cast<int>(std::bitset<64>(v).count()); }

// Index of the lowest set bit (v != 0).
int lowest_bit(uint64_t v) {
  int i = 0;
  while (!(v >> i & 1)) ++i;
  return i;
}

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

std::string hex64(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%016llx", static_cast<unsigned long long>(v));
  return b;
}

[[noreturn]] void layer_fail(const Network& net, int ll, ErrorKind kind, const std::string& what) {
  fail(kind, net.config_file + ": layer " + std::to_string(ll) + ": " + what);
}

uint32_t lane_mask(int lane) { return 0xffu << (8 * lane); }

// The first layer in execution order (izer's start layer).
const Layer& first_layer(const Network& net) {
  if (net.order.empty()) fail(ErrorKind::Internal, "data memory: the network has no layers");
  return net.layers[net.order.front()];
}

// Pixels a layer reads: in_dim plus the cropped rows.
std::array<int, 2> read_dims(const Layer& L) {
  return {L.input_dim[0] + L.in_crop[0] + L.in_crop[1], L.input_dim[1]};
}

// The channel-per-lane layout of an HWC layer input: for each memory instance (block of four
// processors) with an enabled processor, the rank of each enabled lane among all enabled
// processors. Channel c of pass e sits at the lane whose rank is c - e * T.
struct Block {
  int proc = 0;                          // first processor of the instance
  std::array<int, 4> rank{-1, -1, -1, -1};
};

std::vector<Block> hwc_blocks(uint64_t processors) {
  std::vector<Block> blocks;
  int rank = 0;
  for (int b = 0; b < 16; ++b) {
    const uint64_t lanes = processors >> (4 * b) & 0xf;
    if (!lanes) continue;
    Block blk;
    blk.proc = 4 * b;
    for (int i = 0; i < 4; ++i)
      if (lanes >> i & 1) blk.rank[i] = rank++;
    blocks.push_back(blk);
  }
  return blocks;
}

// Words of an HWC input layout: pixels x passes x operands per instance, word index
// (pixel * passes * operands) * (gap + 1) + pass * operands + operand.
void hwc_input_layout(const Network& net, const Layer& L, int layer, uint32_t offset, int gap,
                      int rows, int cols, const WordVisitor& visit) {
  const DeviceSpec& spec = device_spec(net.device);
  const LayerPasses p = layer_passes(net, L);
  const int C = L.in_channels;
  const int ops = std::max(L.operands, 1);
  const std::vector<Block> blocks = hwc_blocks(L.processors);
  const int pixels = rows * cols;
  WordAccess w;
  w.layer = layer;
  w.kind = layer == kInputLoader ? WordAccess::Kind::Load : WordAccess::Kind::Read;
  for (const Block& b : blocks)
    for (int px = 0; px < pixels; ++px)
      for (int e = 0; e < p.in_expand; ++e)
        for (int k = 0; k < ops; ++k) {
          w.pixel = px;
          w.row = px / cols;
          w.col = px % cols;
          w.pass = e;
          w.operand = k;
          w.channel_base = k * C;
          w.lanes = 0;
          bool any = false;
          for (int i = 0; i < 4; ++i) {
            w.channel[i] = -1;
            if (b.rank[i] < 0) continue;
            const int c = e * p.in_expand_thresh + b.rank[i];
            if (b.rank[i] >= p.in_expand_thresh || c >= C) continue;
            w.channel[i] = c;
            w.lanes |= lane_mask(i);
            any = true;
          }
          // load_input() copies whole words (zeros where no channel is); a layer reads only
          // the lanes that hold its channels.
          if (!any && w.kind != WordAccess::Kind::Load) continue;
          const int64_t word = int64_t{px} * p.in_expand * ops * (gap + 1) + int64_t{e} * ops + k;
          w.address = DataMemory::processor_address(spec, b.proc,
                                                    static_cast<uint32_t>(offset + 4 * word));
          w.check_mask = w.lanes;
          w.write_mask = w.kind == WordAccess::Kind::Load ? 0xffffffffu : w.lanes;
          visit(w);
        }
}

// Words of a CHW (big data) input: channel c in its own instance, four pixels per word.
void chw_input_layout(const Network& net, const Layer& L, int layer, uint32_t offset, int rows,
                      int cols, const WordVisitor& visit) {
  const DeviceSpec& spec = device_spec(net.device);
  const LayerPasses p = layer_passes(net, L);
  if (p.in_expand > 1)
    layer_fail(net, L.index, ErrorKind::Config,
               "data_format CHW with more than 64 input channels (multi-pass) is not supported "
               "by izer's input loader");
  if (L.operands > 1)
    layer_fail(net, L.index, ErrorKind::Config,
               "data_format CHW with element-wise operands is not supported by izer's input "
               "loader");
  std::vector<int> procs;
  for (int i = 0; i < 64; ++i)
    if (L.processors >> i & 1) procs.push_back(i);
  const int pixels = rows * cols;
  WordAccess w;
  w.layer = layer;
  w.kind = layer == kInputLoader ? WordAccess::Kind::Load : WordAccess::Kind::Read;
  w.chw = true;
  for (int c = 0; c < L.in_channels && c < static_cast<int>(procs.size()); ++c) {
    for (int px = 0; px < pixels; px += 4) {
      w.pixel = px;
      w.row = px / cols;
      w.col = px % cols;
      w.channel = {c, -1, -1, -1};
      w.lanes = 0;
      for (int i = 0; i < 4 && px + i < pixels; ++i) w.lanes |= lane_mask(i);
      w.address = DataMemory::processor_address(spec, procs[c], offset + px);
      w.check_mask = w.lanes;
      w.write_mask = w.kind == WordAccess::Kind::Load ? 0xffffffffu : w.lanes;
      visit(w);
    }
  }
}

}  // namespace

// ---- static layouts -----------------------------------------------------------------------

void input_words(const Network& net, const WordVisitor& visit) {
  const Layer& L = first_layer(net);
  const int rows = net.input.h, cols = net.input.w;
  if (L.big_data)
    chw_input_layout(net, L, kInputLoader, static_cast<uint32_t>(L.in_offset), rows, cols, visit);
  else
    hwc_input_layout(net, L, kInputLoader, static_cast<uint32_t>(L.in_offset), 0, rows, cols,
                     visit);
}

void read_words(const Network& net, const Layer& L, const WordVisitor& visit) {
  const std::array<int, 2> d = read_dims(L);
  if (L.big_data)
    chw_input_layout(net, L, L.index, static_cast<uint32_t>(L.in_offset), d[0], d[1], visit);
  else
    hwc_input_layout(net, L, L.index, static_cast<uint32_t>(L.in_offset), L.read_gap, d[0], d[1],
                     visit);
}

void output_words(const Network& net, const Layer& L, const WordVisitor& visit) {
  const DeviceSpec& spec = device_spec(net.device);
  const LayerPasses p = layer_passes(net, L);
  const uint64_t map = L.output_processors;
  if (map == 0) layer_fail(net, L.index, ErrorKind::Config, "output_processors: none enabled");
  const int C = L.out_channels;
  const int T = std::max(p.out_expand_thresh, 1);
  const int out_size = L.output_width / 8;  // bytes per value: 1 or 4
  const int width = p.out_expand * out_size;  // words per pixel (before the gap)
  const int gap = L.write_gap + 1;
  const int start = lowest_bit(map) & ~(spec.p_shared - 1);
  const uint64_t map0 = map >> start;
  const int cols = L.output_dim[1];
  const int pixels = L.output_dim[0] * cols;
  WordAccess w;
  w.layer = L.index;
  w.kind = WordAccess::Kind::Write;
  w.wide = out_size == 4;
  for (int px = 0; px < pixels; ++px) {
    uint64_t this_map = map0;
    int poffs = start;
    int c = 0;
    while (c < C) {
      if (c % T == 0) {
        poffs = start;
        this_map = map0;
      }
      const int this_c = c;
      const int expand = c / T;
      const int proc = poffs & ~(spec.p_shared - 1);
      if (proc >= spec.max_proc)
        layer_fail(net, L.index, ErrorKind::Config,
                   "output_processors " + hex64(map) + " do not hold the " + std::to_string(C) +
                       " output channels in " + std::to_string(p.out_expand) + " pass(es)");
      std::array<int, 4> lane_c{-1, -1, -1, -1};
      for (int i = 0; i < 4; ++i) {
        if (this_map & 1) {
          if (c < C) lane_c[i] = c;
          ++c;
        }
        this_map >>= 1;
      }
      poffs += 4;
      if (c == this_c) continue;  // no enabled processor in this instance
      const int n = std::min(c - this_c, C - this_c);
      const int first = lowest_bit(map >> proc) % 4;
      const uint64_t m = ((uint64_t{1} << (8 * std::min(n, 4))) - 1) << (8 * first);
      const uint32_t check = static_cast<uint32_t>(m);
      const int64_t word = (int64_t{px} * width + int64_t{expand} * out_size) * gap;
      const uint32_t base = DataMemory::processor_address(
          spec, proc, static_cast<uint32_t>(L.out_offset + 4 * word));
      w.pixel = px;
      w.row = px / cols;
      w.col = px % cols;
      w.pass = expand;
      if (!w.wide) {
        w.address = base;
        w.channel = lane_c;
        w.lanes = 0;
        for (int i = 0; i < 4; ++i)
          if (lane_c[i] >= 0) w.lanes |= lane_mask(i);
        w.write_mask = w.lanes;
        w.check_mask = check;
        visit(w);
      } else {
        // 32-bit output: the processor in lane i writes word i of the four.
        int rank = 0;
        for (int i = 0; i < 4; ++i) {
          if (lane_c[i] < 0) continue;
          w.address = base + 4 * i;
          w.lane = i;
          w.rank = rank++;
          w.channel = {lane_c[i], -1, -1, -1};
          w.lanes = w.write_mask = w.check_mask = 0xffffffffu;
          visit(w);
        }
      }
    }
  }
}

uint32_t pack_word(const WordAccess& w, const Tensor& t) {
  const size_t hw = static_cast<size_t>(t.h) * t.w;
  auto value = [&](int ch, int px) -> int32_t {
    const size_t c = static_cast<size_t>(w.channel_base + ch);
    if (c >= static_cast<size_t>(t.c) || px < 0 || static_cast<size_t>(px) >= hw)
      fail(ErrorKind::Internal, "data memory: word " + hex32(w.address) + " refers to channel " +
                                    std::to_string(c) + " pixel " + std::to_string(px) +
                                    " outside the tensor " + t.shape_str());
    return t.data[c * hw + static_cast<size_t>(px)];
  };
  if (w.wide) return static_cast<uint32_t>(value(w.channel[0], w.pixel));
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    if (!(w.lanes & lane_mask(i))) continue;
    const int32_t x = w.chw ? value(w.channel[0], w.pixel + i) : value(w.channel[i], w.pixel);
    v |= (static_cast<uint32_t>(x) & 0xffu) << (8 * i);
  }
  return v;
}

// ---- the memory image -----------------------------------------------------------------------

DataMemory::DataMemory(Device device, bool track)
    : spec_(&device_spec(device)),
      track_(track),
      words_per_instance_(static_cast<size_t>(spec_->instance_width) * 4) {
  const size_t instances = static_cast<size_t>(spec_->p_numgroups) * spec_->p_numpro /
                           spec_->p_shared;
  data_.assign(instances * words_per_instance_, 0);
  written_.assign(data_.size(), 0);
  if (track_) owners_.assign(data_.size() * 4, LaneOwner{});
}

MemLocation DataMemory::locate(const DeviceSpec& spec, uint32_t address) {
  MemLocation loc;
  const uint64_t base = uint64_t{spec.apb_base} + spec.c_sram_base;
  if (address < base) return loc;
  const uint64_t a = address - base;
  const uint64_t group = a / spec.c_group_offs;
  const uint64_t rem = a % spec.c_group_offs;
  const uint64_t stride = uint64_t{static_cast<uint32_t>(spec.instance_size)} * 16;
  const uint64_t instance = rem / stride;
  const uint64_t offset = rem % stride;
  loc.group = static_cast<int>(std::min<uint64_t>(group, 1 << 20));
  loc.instance = static_cast<int>(std::min<uint64_t>(instance, 1 << 20));
  loc.offset = static_cast<uint32_t>(offset);
  loc.first_processor = loc.group * spec.p_numpro + loc.instance * spec.p_shared;
  loc.sub_instance = spec.datainstance_from_offs(static_cast<int64_t>(offset));
  loc.mapped = group < static_cast<uint64_t>(spec.p_numgroups) &&
               instance < static_cast<uint64_t>(spec.p_numpro / spec.p_shared) &&
               offset < static_cast<uint64_t>(spec.instance_width) * 16;
  return loc;
}

uint32_t DataMemory::address_of(const DeviceSpec& spec, int group, int instance,
                                uint32_t offset) {
  return spec.apb_base + spec.c_sram_base + static_cast<uint32_t>(group) * spec.c_group_offs +
         static_cast<uint32_t>(instance) * static_cast<uint32_t>(spec.instance_size) * 16 +
         offset;
}

uint32_t DataMemory::processor_address(const DeviceSpec& spec, int proc, uint32_t offset) {
  return address_of(spec, proc / spec.p_numpro, (proc % spec.p_numpro) / spec.p_shared, offset);
}

size_t DataMemory::index_of(uint32_t address) const {
  const MemLocation loc = locate(address);
  if (!loc.mapped || (address & 3))
    fail(ErrorKind::Capacity,
         "data memory: address " + hex32(address) +
             (address & 3 ? " is not word aligned"
                          : " is outside the data memory instances of the " +
                                std::string(spec_->partnum)));
  return (static_cast<size_t>(loc.group) * (spec_->p_numpro / spec_->p_shared) + loc.instance) *
             words_per_instance_ +
         loc.offset / 4;
}

uint32_t DataMemory::address_at(size_t index) const {
  const size_t instances_per_group = static_cast<size_t>(spec_->p_numpro / spec_->p_shared);
  const size_t inst = index / words_per_instance_;
  const uint32_t offset = static_cast<uint32_t>(index % words_per_instance_) * 4;
  return address_of(*spec_, static_cast<int>(inst / instances_per_group),
                    static_cast<int>(inst % instances_per_group), offset);
}

uint32_t DataMemory::read(uint32_t address) const { return data_[index_of(address)]; }

void DataMemory::write(uint32_t address, uint32_t value, uint32_t byte_mask) {
  const size_t i = index_of(address);
  data_[i] = (data_[i] & ~byte_mask) | (value & byte_mask);
  for (int lane = 0; lane < 4; ++lane)
    if (byte_mask & lane_mask(lane)) written_[i] |= static_cast<uint8_t>(1u << lane);
}

void DataMemory::write(const WordAccess& w, uint32_t value) {
  write(w.address, value, w.write_mask);
  if (!track_) return;
  const size_t i = index_of(w.address);
  for (int lane = 0; lane < 4; ++lane) {
    if (!(w.write_mask & lane_mask(lane))) continue;
    LaneOwner& o = owners_[i * 4 + lane];
    o.layer = static_cast<int16_t>(w.layer);
    const bool data = (w.lanes & lane_mask(lane)) != 0;
    o.channel = static_cast<int16_t>(!data ? -1 : w.wide || w.chw ? w.channel[0] : w.channel[lane]);
    o.pixel = w.chw ? w.pixel + lane : w.pixel;
    o.row = static_cast<uint16_t>(w.chw ? 0 : w.row);
    o.col = static_cast<uint16_t>(w.chw ? 0 : w.col);
    o.pass = static_cast<uint8_t>(w.pass);
    o.operand = static_cast<uint8_t>(w.operand);
    o.wide = w.wide;
  }
}

uint32_t DataMemory::written_mask(uint32_t address) const {
  return written_at(index_of(address));
}

uint32_t DataMemory::written_at(size_t index) const {
  uint32_t m = 0;
  for (int lane = 0; lane < 4; ++lane)
    if (written_[index] >> lane & 1) m |= lane_mask(lane);
  return m;
}

std::array<LaneOwner, 4> DataMemory::owner(uint32_t address) const {
  std::array<LaneOwner, 4> o{};
  if (!track_) return o;
  const size_t i = index_of(address);
  for (int lane = 0; lane < 4; ++lane) o[lane] = owners_[i * 4 + lane];
  return o;
}

void DataMemory::clear() {
  std::fill(data_.begin(), data_.end(), 0);
  std::fill(written_.begin(), written_.end(), 0);
  if (track_) std::fill(owners_.begin(), owners_.end(), LaneOwner{});
}

// ---- loading, writing, reading ----------------------------------------------------------------

void load_input(const Network& net, const Tensor& input, DataMemory& mem) {
  const Layer& L = first_layer(net);
  const int expected_c = L.in_channels * std::max(L.operands, 1);
  if (input.c != expected_c || input.h != net.input.h || input.w != net.input.w)
    fail(ErrorKind::Input, "data memory: the input " + input.shape_str() +
                               " does not match the network's input (" +
                               std::to_string(expected_c) + "x" + std::to_string(net.input.h) +
                               "x" + std::to_string(net.input.w) + ")");
  input_words(net, [&](const WordAccess& w) { mem.write(w, pack_word(w, input)); });
}

void write_layer_output(const Network& net, const Layer& L, const Tensor& output,
                        DataMemory& mem) {
  if (output.c != L.out_channels || output.h != L.output_dim[0] || output.w != L.output_dim[1])
    layer_fail(net, L.index, ErrorKind::Internal,
               "data memory: the output " + output.shape_str() + " does not match " +
                   std::to_string(L.out_channels) + "x" + std::to_string(L.output_dim[0]) + "x" +
                   std::to_string(L.output_dim[1]));
  output_words(net, L, [&](const WordAccess& w) { mem.write(w, pack_word(w, output)); });
}

Tensor read_layer_input(const Network& net, const Layer& L, const DataMemory& mem) {
  const std::array<int, 2> d = read_dims(L);
  Tensor t(L.in_channels * std::max(L.operands, 1), d[0], d[1]);
  const size_t hw = static_cast<size_t>(d[0]) * d[1];
  read_words(net, L, [&](const WordAccess& w) {
    const uint32_t v = mem.read(w.address);
    for (int i = 0; i < 4; ++i) {
      if (!(w.lanes & lane_mask(i))) continue;
      const int32_t byte = static_cast<int8_t>(v >> (8 * i) & 0xff);
      const int ch = w.channel_base + (w.chw ? w.channel[0] : w.channel[i]);
      const size_t px = static_cast<size_t>(w.chw ? w.pixel + i : w.pixel);
      t.data[static_cast<size_t>(ch) * hw + px] = byte;
    }
  });
  return t;
}

std::vector<std::vector<uint32_t>> fifo_streams(const Network& net, const Tensor& input) {
  const Layer& L = first_layer(net);
  if (L.operands > 1)
    layer_fail(net, L.index, ErrorKind::Config,
               "--fifo: element-wise operands in the first layer are not supported by izer's "
               "FIFO loader");
  const int C = input.c;
  const int pixels = input.h * input.w;
  const uint64_t P = L.processors;
  std::vector<std::vector<uint32_t>> fifos(4);
  auto byte = [&](int c, int px) {
    return static_cast<uint32_t>(input.data[static_cast<size_t>(c) * pixels + px]) & 0xffu;
  };
  auto push = [&](int fifo, uint32_t v) {
    if (fifo < 0 || fifo >= 4)
      layer_fail(net, L.index, ErrorKind::Config,
                 "--fifo: processors " + hex64(P) + " do not map the input to the four FIFOs");
    fifos[fifo].push_back(v);
  };
  if (L.big_data) {
    // One channel per FIFO (the first processor of a group), four pixels per word.
    for (int px = 0; px < pixels; px += 4) {
      uint64_t pmap = 0;
      int fifo = 0;
      for (int c = 0; c < C; ++c) {
        if (pmap == 0) {
          pmap = P;
          fifo = 0;
        }
        while (!(pmap & 1)) {
          if (pmap == 0) push(-1, 0);
          pmap >>= 16;
          ++fifo;
        }
        uint32_t v = 0;
        for (int b = 0; b < 4 && px + b < pixels; ++b) v |= byte(c, px + b) << (8 * b);
        push(fifo, v);
        pmap >>= 16;
        ++fifo;
      }
    }
  } else {
    // Up to four channels per word, one word per pixel for each FIFO in use.
    for (int px = 0; px < pixels; ++px) {
      uint64_t pmap = 0;
      int fifo = 0;
      for (int c = 0; c < C; c += 4) {
        if (pmap == 0) {
          pmap = P;
          fifo = 0;
        }
        while (!(pmap & 0xf)) {
          if (pmap == 0) push(-1, 0);
          pmap >>= 16;
          ++fifo;
        }
        uint32_t v = 0;
        for (int b = 0; b < 4; ++b) {
          if ((pmap & 1) && c + b < C) v |= byte(c + b, px) << (8 * b);
          pmap >>= 1;
        }
        push(fifo, v);
        pmap >>= 12;
        ++fifo;
      }
    }
  }
  while (!fifos.empty() && fifos.back().empty()) fifos.pop_back();
  return fifos;
}

// ---- cnn_unload() -------------------------------------------------------------------------

std::vector<int> unload_layers(const Network& net) {
  std::vector<bool> ran(net.layers.size(), false);
  for (int ll : net.order) ran[ll] = true;
  std::vector<int> out;
  for (const Layer& L : net.layers)
    if (L.output_layer && ran[L.index]) out.push_back(L.index);
  if (out.empty()) out.push_back(net.final_layer);
  return out;
}

namespace {

// One read of cnn_unload(): the byte address (relative to the data memory base) and, for 8-bit
// unloads, the byte lane.
struct Emit {
  int64_t offs;
  int shift;
};

bool all_wide(const Network& net, const std::vector<int>& layers) {
  for (int ll : layers)
    if (net.layers[ll].output_width == 8) return false;
  return true;
}

// The reads cnn_unload() makes for layer L, in its order (izer's unload generator).
std::vector<Emit> unload_emits(const Network& net, const Layer& L, bool words32) {
  const DeviceSpec& spec = device_spec(net.device);
  const LayerPasses p = layer_passes(net, L);
  const uint64_t map = L.output_processors;
  std::vector<Emit> list;
  if (map == 0) return list;
  const int C = L.out_channels;
  const int T = std::max(p.out_expand_thresh, 1);
  const int out_size = L.output_width / 8;
  const int width = p.out_expand * out_size;
  const int gap = L.write_gap + 1;
  const int start = lowest_bit(map) & ~(spec.p_shared - 1);
  const uint64_t map_init = map >> start;
  uint64_t next_map = map_init;
  int poffs = start;
  const int pixels = L.output_dim[0] * L.output_dim[1];
  int c = 0;
  while (c < C) {
    if (c % T == 0) {
      poffs = start;
      next_map = map_init;
    }
    const int expand = c / T;
    const int proc = poffs & ~(spec.p_shared - 1);
    if (proc >= spec.max_proc)
      layer_fail(net, L.index, ErrorKind::Config,
                 "cnn_unload: output_processors " + hex64(map) + " do not hold the channels");
    const int64_t inst = int64_t{proc % spec.p_numpro} * spec.instance_size +
                         int64_t{proc / spec.p_numpro} * spec.c_group_offs / 4;
    for (int px = 0; px < pixels; ++px) {
      uint64_t this_map = next_map;
      // izer's unload multiplies the instance base by (write_gap + 1) as well.
      int64_t offs =
          L.out_offset + (inst + int64_t{px} * width + int64_t{expand} * out_size) * gap * 4;
      for (int shift = 0; shift < 4; ++shift) {
        if (this_map & 1) {
          if (words32) {
            list.push_back({offs, 0});
            offs += 4;
          } else if (out_size == 4) {
            for (int k = 0; k < 4; ++k) list.push_back({offs + 4 * shift, k});
          } else {
            list.push_back({offs, shift});
          }
        }
        this_map >>= 1;
      }
    }
    poffs += 4;
    c += popcount(next_map & 0xf);
    next_map >>= 4;
  }
  return list;
}

}  // namespace

std::vector<uint32_t> unload(const Network& net, const DataMemory& mem, size_t* unmapped_reads) {
  const DeviceSpec& spec = device_spec(net.device);
  const std::vector<int> layers = unload_layers(net);
  const bool words32 = all_wide(net, layers);
  const uint32_t sram = spec.apb_base + spec.c_sram_base;
  std::vector<uint32_t> out32;
  std::vector<uint8_t> out8;
  int64_t written = 0;  // bytes
  int64_t out_addr = 0; // izer's generator's idea of where `addr` points (0: unknown)
  int64_t addr = 0;      // the generated code's `addr` pointer (kept across layers)
  size_t unmapped = 0;
  auto read_word = [&](int64_t offs) -> uint32_t {
    const int64_t a = int64_t{sram} + offs;
    if (a < 0 || a > 0xffffffffll || (a & 3) || !mem.mapped(static_cast<uint32_t>(a))) {
      ++unmapped;  // cnn_unload() reads outside data memory: model the read as 0
      return 0;
    }
    return mem.read(static_cast<uint32_t>(a));
  };
  for (int ll : layers) {
    const Layer& L = net.layers[ll];
    const std::vector<Emit> e = unload_emits(net, L, words32);
    const int64_t xy = int64_t{L.output_dim[0]} * L.output_dim[1];
    if (words32) {
      size_t idx = 0;
      while (idx < e.size()) {
        const int64_t delta = idx + 1 < e.size() ? e[idx + 1].offs - e[idx].offs : 4;
        // izer compares the deltas at the start of the list, not at idx.
        size_t run = 0;
        while (idx + run + 1 < e.size() && e[run + 1].offs - e[run].offs == delta) ++run;
        if (out_addr == 0 || out_addr != sram + e[idx].offs) {
          addr = e[idx].offs;
          out_addr = sram + e[idx].offs;
        }
        for (size_t r = 0; r <= run; ++r) {
          out32.push_back(read_word(addr));
          addr += delta;
        }
        out_addr += static_cast<int64_t>(run + 1);  // izer counts words here, not bytes
        idx += run + 1;
      }
    } else {
      const bool short_write = xy == 1;
      const size_t need = static_cast<size_t>(written + int64_t{L.out_channels} * xy *
                                                            L.output_width / 8);
      if (out8.size() < need) out8.resize(need, 0);
      int64_t offs = 0;
      int64_t ptr = written;  // *out_buf++ position for short writes
      size_t idx = 0;
      auto put = [&](int64_t at, uint8_t v) {
        if (at < 0) return;
        if (static_cast<size_t>(at) >= out8.size()) out8.resize(static_cast<size_t>(at) + 1, 0);
        out8[static_cast<size_t>(at)] = v;
      };
      while (idx < e.size()) {
        const int64_t read_addr = e[idx].offs;
        std::vector<int> shifts;
        size_t sc = 0;
        while (idx + sc < e.size() && e[idx + sc].offs == read_addr) shifts.push_back(e[idx + sc++].shift);
        const int64_t delta = idx + sc < e.size() ? e[idx + sc].offs - e[idx].offs : 4;
        size_t run = 0;
        while (idx + sc * (run + 1) < e.size() &&
               e[idx + sc * (run + 1)].offs - e[idx + sc * run].offs == delta)
          ++run;
        if (out_addr == 0 || out_addr != sram + read_addr) {
          addr = read_addr;
          out_addr = sram + read_addr;
        }
        for (size_t r = 0; r <= run; ++r) {
          const uint32_t val = read_word(addr);
          addr += delta;
          for (int s : shifts) {
            const uint8_t b = static_cast<uint8_t>(val >> (8 * s) & 0xff);
            if (!short_write) put(written + offs + xy * s, b);
            else put(ptr++, b);
          }
          if (!short_write) ++offs;
        }
        out_addr += 4 * static_cast<int64_t>(run + 1);
        idx += (run + 1) * sc;
        if (!short_write && idx < e.size() && sc > 1) offs += xy * static_cast<int64_t>(sc - 1);
      }
    }
    written += int64_t{L.out_channels} * xy * L.output_width / 8;
  }
  if (unmapped_reads) *unmapped_reads = unmapped;
  if (words32) return out32;
  // Bytes stored past the buffer (lanes of processors past the last channel) are dropped.
  out8.resize(static_cast<size_t>(written), 0);
  std::vector<uint32_t> words((out8.size() + 3) / 4, 0);
  for (size_t i = 0; i < out8.size(); ++i) words[i / 4] |= uint32_t{out8[i]} << (8 * (i % 4));
  return words;
}

std::vector<std::string> unload_quirks(const Network& net) {
  const DeviceSpec& spec = device_spec(net.device);
  std::vector<std::string> q;
  for (int ll : unload_layers(net)) {
    const Layer& L = net.layers[ll];
    const uint64_t map = L.output_processors;
    if (map == 0) continue;
    const int first = lowest_bit(map);
    bool partial = false;
    for (int b = 0; b < 16; ++b) {
      const uint64_t lanes = map >> (4 * b) & 0xf;
      if (lanes && (lanes & (lanes + 1))) partial = true;  // not 0b0001, 0b0011, 0b0111, 0b1111
    }
    if (first % spec.p_shared != 0 || partial)
      q.push_back("layer " + std::to_string(ll) + ": output_processors " + hex64(map) +
                  " leave the first byte lanes of an instance unused; cnn_unload() places "
                  "channels by processor lane, not by channel");
    const int last = 63 - __builtin_clzll(map);
    if (L.write_gap > 0 && last >= spec.p_shared)
      q.push_back("layer " + std::to_string(ll) + ": write_gap " + std::to_string(L.write_gap) +
                  " with processors past the first instance; cnn_unload() multiplies the "
                  "instance base address by write_gap + 1 too");
  }
  return q;
}

std::vector<uint32_t> expected_unload(const Network& net,
                                      const std::vector<std::optional<Tensor>>& outputs) {
  const DeviceSpec& spec = device_spec(net.device);
  const std::vector<int> layers = unload_layers(net);
  const bool words32 = all_wide(net, layers);
  std::vector<uint32_t> out32;
  std::vector<uint8_t> out8;
  for (int ll : layers) {
    const Layer& L = net.layers[ll];
    if (ll >= static_cast<int>(outputs.size()) || !outputs[ll])
      layer_fail(net, ll, ErrorKind::Internal, "expected_unload: no output tensor");
    const Tensor& t = *outputs[ll];
    if (words32) {
      // Blocks of up to four channels (one memory instance), then pixels, then lanes.
      const LayerPasses p = layer_passes(net, L);
      const int T = std::max(p.out_expand_thresh, 1);
      const int start = lowest_bit(L.output_processors) & ~(spec.p_shared - 1);
      const uint64_t map_init = L.output_processors >> start;
      uint64_t next_map = map_init;
      int c = 0;
      int guard = 0;
      while (c < t.c && guard++ < 4096) {
        if (c % T == 0) next_map = map_init;
        const int n = popcount(next_map & 0xf);
        for (int px = 0; px < t.h * t.w; ++px)
          for (int i = 0; i < n; ++i)
            out32.push_back(c + i < t.c ? static_cast<uint32_t>(
                                              t.data[static_cast<size_t>(c + i) * t.h * t.w + px])
                                        : 0u);
        c += n;
        next_map >>= 4;
      }
    } else {
      for (int32_t v : t.data) {
        if (L.output_width == 8) {
          out8.push_back(static_cast<uint8_t>(v & 0xff));
        } else {
          for (int k = 0; k < 4; ++k) out8.push_back(static_cast<uint8_t>(v >> (8 * k) & 0xff));
        }
      }
    }
  }
  if (words32) return out32;
  std::vector<uint32_t> words((out8.size() + 3) / 4, 0);
  for (size_t i = 0; i < out8.size(); ++i) words[i / 4] |= uint32_t{out8[i]} << (8 * (i % 4));
  return words;
}

// ---- running with the memory --------------------------------------------------------------

MemoryRun::MemoryRun(const Network& net, const MemoryRunOptions& options)
    : net_(net), opt_(options), mem_(net.device, options.track) {}

bool streamed_output(const Network& net, const Layer& L) {
  return L.next >= 0 && net.layers[L.next].streaming;
}

bool memory_input(const Network& net, const Layer& L) {
  if (L.streaming) return false;  // FIFOs or the previous layer's rollover buffer
  if (!net.fifo) return true;
  if (L.index == net.order.front()) return false;
  return std::find(L.in_sequences.begin(), L.in_sequences.end(), -1) == L.in_sequences.end();
}

namespace {

// The operands of an element-wise layer as the hardware reads them when one earlier layer's
// output `src` is all of its input: operand k, pixel p = src pixel operands * p + k (shaped as
// `like`, the memory read). nullopt when src does not hold in_channels channels of that size.
std::optional<Tensor> interleaved_operands(const Layer& L, const Tensor& src, const Tensor& like) {
  const int ops = L.operands;
  const size_t P = static_cast<size_t>(like.h) * like.w;
  if (src.c != L.in_channels || like.c != L.in_channels * ops ||
      static_cast<size_t>(src.h) * src.w != P * ops)
    return std::nullopt;
  Tensor t(like.c, like.h, like.w);
  for (int k = 0; k < ops; ++k)
    for (int c = 0; c < L.in_channels; ++c)
      for (size_t p = 0; p < P; ++p)
        t.data[(static_cast<size_t>(k) * L.in_channels + c) * P + p] =
            src.data[static_cast<size_t>(c) * P * ops + p * ops + k];
  return t;
}

}  // namespace

std::string izer_read_quirk(const Network& net, const Layer& L) {
  if (L.reads_buffer() && !L.one_d() && !L.buffer_shift)
    return "layer " + std::to_string(L.index) +
           ": izer's simulation reshapes the data buffer's array (entries x channels x "
           "columns) as it is to the layer's input; the hardware reads channels x pixels";
  if (L.operands <= 1 || net.order.empty() || L.index == net.order.front()) return "";
  const size_t sources = L.in_sequences.empty() ? 1 : L.in_sequences.size();
  if (sources == static_cast<size_t>(L.operands)) return "";
  return "layer " + std::to_string(L.index) + ": the " + std::to_string(L.operands) +
         " element-wise operands come from " +
         (sources == 1 ? std::string("one layer's output")
                       : std::to_string(sources) + " layers' outputs") +
         "; izer's simulation splits it into blocks of channels, the hardware reads the "
         "operands from data memory as consecutive words (interleaved pixels, as izer's "
         "--legacy-test simulates)";
}

void MemoryRun::begin(const Network& net, const Tensor& input) {
  mem_.clear();
  diffs_.clear();
  fed_.clear();
  quirk_fed_.clear();
  compared_ = 0;
  if (opt_.load_input && !net.fifo) load_input(net, input, mem_);
}

void MemoryRun::before_layer(const Layer& L, Tensor& input) {
  if (!opt_.compare_reads && !opt_.read_inputs) return;
  if (!memory_input(net_, L)) return;
  if (L.buffer_shift) {
    shift_before_layer(L, input);
    return;
  }
  Tensor got = read_layer_input(net_, L, mem_);
  const std::string quirk = izer_read_quirk(net_, L);
  if (opt_.compare_reads) {
    ++compared_;
    ReadDifference d;
    d.layer = L.index;
    d.total = input.size();
    // Where izer's simulation splits the operands otherwise, memory must hold what the
    // hardware reads: the one source's pixels interleaved over the operands.
    std::optional<Tensor> hw_view;
    if (!quirk.empty()) hw_view = interleaved_operands(L, input, got);
    if (!quirk.empty() && !hw_view) d.quirk = quirk;  // no hardware view to compare with
    const Tensor& want = hw_view ? *hw_view : input;
    if (hw_view) d.detail = "(compared with the operands as the hardware reads them) ";
    if (got.size() != want.size() || got.c != want.c) {
      d.differing = input.size();
      d.detail += "data memory holds " + got.shape_str() + " for the layer's input, the engine " +
                  input.shape_str();
      diffs_.push_back(d);
    } else {
      const size_t hw = static_cast<size_t>(got.h) * got.w;
      for (size_t i = 0; i < got.size(); ++i) {
        if (got.data[i] == want.data[i]) continue;
        if (d.differing++ == 0) {
          const size_t c = i / hw, px = i % hw;
          d.detail += "first at channel " + std::to_string(c) + " pixel (" +
                      std::to_string(px / got.w) + ", " + std::to_string(px % got.w) +
                      "): memory " + std::to_string(got.data[i]) + ", engine " +
                      std::to_string(want.data[i]);
        }
      }
      if (d.differing) diffs_.push_back(d);
    }
  }
  if (!opt_.read_inputs) return;
  if (!quirk.empty()) {
    quirk_fed_.push_back(L.index);  // izer's input, which its known-answer test is made from
    return;
  }
  fed_.push_back(L.index);
  input = std::move(got);
}

// A buffer shift's input is the whole buffer; data memory holds the pixels the layer reads
// (sim/memory/databuffer.h): those are compared and, memory-fed, taken from memory.
void MemoryRun::shift_before_layer(const Layer& L, Tensor& input) {
  const Tensor got = read_layer_input(net_, L, mem_);
  if (opt_.compare_reads) {
    ++compared_;
    const Tensor want = shift_read_view(L, input);
    ReadDifference d;
    d.layer = L.index;
    d.total = want.size();
    if (got.size() != want.size()) {
      d.differing = want.size();
      d.detail = "data memory holds " + got.shape_str() + " for the buffer shift's input, the "
                 "engine's buffer " + want.shape_str();
    } else {
      for (size_t i = 0; i < got.size(); ++i)
        if (got.data[i] != want.data[i] && d.differing++ == 0)
          d.detail = "first at channel " + std::to_string(i / (got.size() / got.c)) +
                     " pixel " + std::to_string(i % (got.size() / got.c)) + ": memory " +
                     std::to_string(got.data[i]) + ", engine " + std::to_string(want.data[i]);
    }
    if (d.differing) diffs_.push_back(d);
  }
  if (!opt_.read_inputs) return;
  fed_.push_back(L.index);
  input = shift_input_from_memory(L, input, got);
}

void MemoryRun::after_layer(const Layer& L, const Tensor& output) {
  if (streamed_output(net_, L)) return;  // a rollover buffer the model leaves out
  if (L.buffer_shift) {
    write_layer_output(net_, L, shift_written_view(L, output), mem_);
    return;
  }
  write_layer_output(net_, L, output, mem_);
}

// ---- descriptions -------------------------------------------------------------------------

namespace {

std::string pixel_str(const Network& net, int layer, int pixel, int row, int col) {
  (void)pixel;
  const bool one_d =
      layer >= 0 && layer < static_cast<int>(net.layers.size()) && net.layers[layer].one_d();
  if (one_d) return "position " + std::to_string(row);
  return "pixel (" + std::to_string(row) + ", " + std::to_string(col) + ")";
}

std::string layer_str(int layer) {
  if (layer == kInputLoader) return "input";
  if (layer == kUnwritten) return "nothing";
  return "layer " + std::to_string(layer);
}

}  // namespace

std::string describe_owner(const Network& net, const LaneOwner& o) {
  if (o.layer == kUnwritten) return "unwritten";
  std::string s = layer_str(o.layer);
  if (o.channel < 0) return s + " (no channel: zero fill)";
  if (o.layer == kInputLoader && net.layers[net.order.front()].operands > 1)
    s += " operand " + std::to_string(o.operand);
  s += " channel " + std::to_string(o.channel);
  const int cols = o.layer >= 0 ? net.layers[o.layer].output_dim[1] : net.input.w;
  const int row = cols > 0 ? o.pixel / cols : 0, col = cols > 0 ? o.pixel % cols : 0;
  s += " " + pixel_str(net, o.layer, o.pixel, row, col);
  if (o.pass) s += " pass " + std::to_string(o.pass);
  if (o.wide) s += " (32-bit)";
  return s;
}

std::string describe_access(const Network& net, const WordAccess& w) {
  std::ostringstream s;
  s << layer_str(w.layer);
  if (w.kind == WordAccess::Kind::Write) s << " output";
  else if (w.kind == WordAccess::Kind::Read) s << " input";
  const int ops = net.order.empty() ? 1
                  : w.layer >= 0    ? net.layers[w.layer].operands
                                    : net.layers[net.order.front()].operands;
  if (w.kind != WordAccess::Kind::Write && ops > 1) s << " operand " << w.operand;
  if (w.chw) {
    s << " channel " << w.channel[0] << " pixels " << w.pixel << ".."
      << w.pixel + popcount(w.lanes) / 8 - 1 << " (CHW)";
  } else if (w.wide) {
    s << " channel " << w.channel[0] << " " << pixel_str(net, w.layer, w.pixel, w.row, w.col)
      << " (32-bit)";
  } else {
    std::vector<std::string> lanes;
    for (int i = 0; i < 4; ++i)
      if (w.channel[i] >= 0)
        lanes.push_back("lane " + std::to_string(i) + ": ch " + std::to_string(w.channel[i]));
    s << " channels [";
    for (size_t i = 0; i < lanes.size(); ++i) s << (i ? ", " : "") << lanes[i];
    if (lanes.empty()) s << "none: zero fill";
    s << "] " << pixel_str(net, w.layer, w.pixel, w.row, w.col);
  }
  if (w.pass) s << " pass " << w.pass;
  return s.str();
}

}  // namespace ai8xsim
