#include "sim/memory/databuffer.h"

#include <algorithm>

#include "ai8xsim/error.h"
#include "ai8xsim/device.h"

namespace ai8xsim {

Tensor empty_buffer(const DataBufferConfig& b) { return Tensor(b.dim[0], b.channels, b.dim[1]); }

Tensor buffer_pixels(const Tensor& buffer) {
  const int entries = buffer.c, channels = buffer.h, cols = buffer.w;
  Tensor t(channels, entries * cols, 1);
  for (int i = 0; i < entries; ++i)
    for (int c = 0; c < channels; ++c)
      for (int j = 0; j < cols; ++j) t.at(c, j * entries + i, 0) = buffer.at(i, c, j);
  return t;
}

Tensor buffer_input(const Layer& L, const Tensor& buffer) {
  return L.one_d() ? buffer_pixels(buffer) : buffer;
}

Tensor shift_buffer(const Tensor& buffer, int n) {
  Tensor out(buffer.c, buffer.h, buffer.w);  // zero
  const size_t entry = static_cast<size_t>(buffer.h) * buffer.w;
  if (n < buffer.c)
    std::copy(buffer.data.begin() + n * entry, buffer.data.end(), out.data.begin());
  return out;
}

void insert_into_buffer(Tensor& buffer, const Tensor& output, int n) {
  const int channels = buffer.h, cols = buffer.w;
  const size_t size = output.size();
  // The output in HWC order, read as channels rows of `per_row` values (numpy's reshape to
  // (1, channels, -1)); one value per row is broadcast over the columns.
  const size_t per_row = size / static_cast<size_t>(channels);
  if (size % static_cast<size_t>(channels) != 0 ||
      (per_row != static_cast<size_t>(cols) && per_row != 1))
    fail(ErrorKind::Config, "buffer_insert: an output of " + output.shape_str() +
                                " does not fit the data buffer's entries (" +
                                std::to_string(channels) + " x " + std::to_string(cols) + ")");
  std::vector<int32_t> hwc(size);
  size_t k = 0;
  for (int y = 0; y < output.h; ++y)
    for (int x = 0; x < output.w; ++x)
      for (int c = 0; c < output.c; ++c) hwc[k++] = output.at(c, y, x);
  const int first = std::max(0, buffer.c - n);
  for (int i = first; i < buffer.c; ++i)
    for (int c = 0; c < channels; ++c)
      for (int j = 0; j < cols; ++j)
        buffer.at(i, c, j) = hwc[c * per_row + (per_row == 1 ? 0 : static_cast<size_t>(j))];
}

namespace {

// `count` pixels of the memory view of `buffer` from pixel `first`, as channels x in_dim.
Tensor pixel_range(const Layer& L, const Tensor& buffer, int first) {
  const Tensor px = buffer_pixels(buffer);
  const int h = L.input_dim[0], w = L.input_dim[1];
  Tensor t(px.c, h, w);
  const int count = h * w;
  for (int c = 0; c < px.c; ++c)
    for (int p = 0; p < count && first + p < px.h; ++p)
      t.data[static_cast<size_t>(c) * count + p] = px.at(c, first + p, 0);
  return t;
}

}  // namespace

Tensor shift_read_view(const Layer& L, const Tensor& buffer) {
  return pixel_range(L, buffer, L.buffer_shift);
}

Tensor shift_written_view(const Layer& L, const Tensor& shifted) {
  return pixel_range(L, shifted, 0);
}

Tensor shift_input_from_memory(const Layer& L, const Tensor& buffer, const Tensor& read) {
  const int entries = buffer.c, channels = buffer.h, cols = buffer.w;
  Tensor out = buffer;
  const size_t count = static_cast<size_t>(read.h) * read.w;
  for (int c = 0; c < std::min(channels, read.c); ++c)
    for (size_t q = 0; q < count; ++q) {
      const size_t p = q + static_cast<size_t>(L.buffer_shift);
      if (p >= static_cast<size_t>(entries) * cols) break;
      out.at(static_cast<int>(p % entries), c, static_cast<int>(p / entries)) =
          read.data[c * count + q];
    }
  return out;
}

void buffer_words(const Network& net, const WordVisitor& visit) {
  if (!net.buffer) return;
  const DataBufferConfig& b = *net.buffer;
  const DeviceSpec& spec = device_spec(net.device);
  const int pixels = b.dim[0] * b.dim[1];
  // channel of each processor (-1: none)
  std::vector<int> channel_of(static_cast<size_t>(spec.max_proc), -1);
  int k = 0;
  for (int p = 0; p < spec.max_proc && k < b.channels; ++p)
    if ((b.processors >> p) & 1) channel_of[static_cast<size_t>(p)] = k++;
  for (int first = 0; first < spec.max_proc; first += spec.p_shared) {
    WordAccess w;
    w.kind = WordAccess::Kind::Load;
    w.layer = kInputLoader;
    for (int lane = 0; lane < spec.p_shared && lane < 4; ++lane) {
      w.channel[static_cast<size_t>(lane)] = channel_of[static_cast<size_t>(first + lane)];
      if (w.channel[static_cast<size_t>(lane)] >= 0) w.lanes |= 0xffu << (8 * lane);
    }
    if (!w.lanes) continue;
    w.write_mask = w.lanes;
    for (int p = 0; p < pixels; ++p) {
      w.pixel = p;
      w.row = p % b.dim[0];
      w.col = p / b.dim[0];
      w.address =
          DataMemory::processor_address(spec, first, static_cast<uint32_t>(b.offset + 4 * p));
      visit(w);
    }
  }
}

std::string describe_buffer_word(const Network& net, uint32_t address) {
  std::string out;
  buffer_words(net, [&](const WordAccess& w) {
    if (!out.empty() || w.address != (address & ~3u)) return;
    out = "data buffer `" + net.buffer->name + "`: entry " + std::to_string(w.row);
    if (net.buffer->dim[1] > 1) out += ", column " + std::to_string(w.col);
    out += ", channels [";
    bool first = true;
    for (int lane = 0; lane < 4; ++lane)
      if (w.channel[static_cast<size_t>(lane)] >= 0) {
        out += std::string(first ? "" : ", ") + "lane " + std::to_string(lane) + ": ch " +
               std::to_string(w.channel[static_cast<size_t>(lane)]);
        first = false;
      }
    out += "] (zero at the start of izer's run; kept from one inference to the next)";
  });
  return out;
}

}  // namespace ai8xsim
