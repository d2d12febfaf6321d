// ai8xsim: the memory map (ai8xsim/memmap.h) drawn as a standalone SVG document, by a small writer
// of our own (no dependency). Three panels: data memory (one column per instance, byte offset
// down the column; left part: what is loaded or written, right part: what is read), kernel
// memory (one column per processor, rows down), bias memory (one column per group, bytes
// down). One color per layer (the legend), izer's overlap findings in red, totals on top.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "report/memmap_svg.h"

namespace ai8xsim {

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  std::string s = b;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string hex(int64_t v, int digits = 4) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%0*llx", digits, static_cast<long long>(v));
  return b;
}

// Distinct colors for consecutive layers (golden-angle hues), as #rrggbb.
std::string layer_color(int index) {
  const double h = std::fmod(index * 137.508, 360.0) / 60.0;
  const double s = 0.65, l = 0.48;
  const double c = (1 - std::fabs(2 * l - 1)) * s;
  const double x = c * (1 - std::fabs(std::fmod(h, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(h)) {
    case 0: r = c; g = x; break;
    case 1: r = x; g = c; break;
    case 2: g = c; b = x; break;
    case 3: g = x; b = c; break;
    case 4: r = x; b = c; break;
    default: r = c; b = x; break;
  }
  const double m = l - c / 2;
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", static_cast<int>((r + m) * 255),
                static_cast<int>((g + m) * 255), static_cast<int>((b + m) * 255));
  return buf;
}

class Svg {
 public:
  void rect(double x, double y, double w, double h, const std::string& attrs,
            const std::string& title = "") {
    s_ << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(w)
       << "\" height=\"" << num(h) << "\" " << attrs;
    if (title.empty()) {
      s_ << "/>\n";
    } else {
      s_ << "><title>" << esc(title) << "</title></rect>\n";
    }
  }
  void line(double x1, double y1, double x2, double y2, const std::string& attrs,
            const std::string& title = "") {
    s_ << "<line x1=\"" << num(x1) << "\" y1=\"" << num(y1) << "\" x2=\"" << num(x2)
       << "\" y2=\"" << num(y2) << "\" " << attrs;
    if (title.empty()) s_ << "/>\n";
    else s_ << "><title>" << esc(title) << "</title></line>\n";
  }
  void text(double x, double y, const std::string& t, const std::string& attrs = "") {
    s_ << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\" " << attrs << ">" << esc(t)
       << "</text>\n";
  }
  void raw(const std::string& r) { s_ << r; }
  std::string str() const { return s_.str(); }

 private:
  std::ostringstream s_;
};

constexpr double kLeft = 90;      // y-axis labels
constexpr double kPanelW = 1216;  // width of each panel's columns
constexpr double kDataH = 480, kKernelH = 240, kBiasH = 120;

std::string pct(int64_t a, int64_t b) {
  return b > 0 ? num(100.0 * static_cast<double>(a) / static_cast<double>(b)) + "%" : "-";
}

}  // namespace

std::string memory_map_svg(const MemoryMap& m) {
  const DeviceSpec& spec = device_spec(m.device);
  // Color per layer: by position in the execution order; the input loader gray.
  std::map<int, std::string> color;
  for (size_t i = 0; i < m.order.size(); ++i) color[m.order[i]] = layer_color(static_cast<int>(i));
  auto col_of = [&](int layer) {
    const auto it = color.find(layer);
    return it == color.end() ? std::string("#888888") : it->second;
  };
  std::map<int, size_t> position;
  for (size_t i = 0; i < m.order.size(); ++i) position[m.order[i]] = i;
  auto who = [](int layer) {
    return layer < 0 ? std::string("input loader") : "layer " + std::to_string(layer);
  };

  Svg svg;
  double y = 28;
  svg.text(kLeft, y, std::string("ai8xsim memory map: ") + spec.partnum + " " + m.config_file,
           "class=\"title\" font-size=\"18\" font-weight=\"bold\"");
  y += 22;
  // A memory that could not be allocated is the verdict: said first, in red, not as "0 rows".
  std::vector<std::string> failed;
  for (const std::string& n : m.notes)
    if (n.rfind("kernel memory: ", 0) == 0 || n.rfind("bias memory: ", 0) == 0)
      failed.push_back(n);
  const auto failed_in = [&](const char* what) {
    for (const std::string& n : failed)
      if (n.rfind(what, 0) == 0) return true;
    return false;
  };
  for (const std::string& n : failed) {
    svg.text(kLeft, y, "DOES NOT FIT: " + n,
             "class=\"verdict\" font-size=\"15\" font-weight=\"bold\" fill=\"#cc0000\"");
    y += 20;
  }
  svg.text(kLeft, y,
           "data memory " + std::to_string(m.data_bytes_used()) + " of " +
               std::to_string(m.data_bytes()) + " bytes (" + pct(m.data_bytes_used(), m.data_bytes()) +
               ") in " + std::to_string(m.instances.size()) + " instances of " +
               std::to_string(spec.instance_bytes()) + " bytes; kernel memory " +
               std::to_string(m.kernel_rows_used()) + " of " + std::to_string(m.kernel_rows()) +
               " rows (" + pct(m.kernel_rows_used(), m.kernel_rows()) + ")" +
               (failed_in("kernel memory: ") ? std::string(" placed before the failure") : "") +
               "; bias memory " +
               (failed_in("bias memory: ")
                    ? std::string("not allocated (above)")
                    : std::to_string(m.bias_bytes_used()) + " of " +
                          std::to_string(m.bias_bytes()) + " bytes (" +
                          pct(m.bias_bytes_used(), m.bias_bytes()) + ")"),
           "class=\"totals\" font-size=\"13\"");
  y += 18;
  size_t refused = 0;
  for (const OverlapFinding& f : m.overlaps)
    refused += f.kind == OverlapFinding::Kind::Loader || !m.overlap_data;
  svg.text(kLeft, y,
           m.overlaps.empty()
               ? std::string("izer's overlap check: no layer output overwrites protected data")
               : "izer's overlap check: " + std::to_string(m.overlaps.size()) + " finding(s), " +
                     (refused ? std::to_string(refused) + " refused (red marks)"
                              : std::string("allowed by --overlap-data (red marks)")),
           std::string("font-size=\"13\" fill=\"") + (m.overlaps.empty() ? "#226622" : "#cc0000") +
               "\"");

  // ---- data memory ----
  y += 34;
  svg.text(kLeft, y, "Data memory: byte offset in each instance (left: loaded/written, right: read)",
           "font-size=\"15\" font-weight=\"bold\"");
  const size_t ninst = std::max<size_t>(m.instances.size(), 1);
  const double cw = kPanelW / static_cast<double>(ninst);
  const double dy0 = y + 40;
  // The axis runs to the highest byte used, rounded up to an eighth of the instance (the
  // whole instance when more is used), so that small layouts stay legible.
  int64_t high = 0;
  for (const DataInstanceUse& u : m.instances) high = std::max(high, u.high_water);
  const int64_t eighth = std::max(spec.instance_bytes() / 8, 1);
  const double cap = static_cast<double>(
      std::min<int64_t>(spec.instance_bytes(), std::max<int64_t>(1, (high + eighth - 1) / eighth) * eighth));
  if (cap < spec.instance_bytes())
    svg.text(kLeft + kPanelW - 4, y, "offsets 0x0000-" + hex(static_cast<int64_t>(cap)) + " of " +
                                         hex(spec.instance_bytes()) + " per instance shown",
             "font-size=\"11\" text-anchor=\"end\" fill=\"#555\"");
  for (size_t i = 0; i < m.instances.size(); ++i) {
    const DataInstanceUse& u = m.instances[i];
    const double x = kLeft + cw * static_cast<double>(i);
    svg.text(x + 2, dy0 - 22, "G" + std::to_string(u.group) + " I" + std::to_string(u.instance),
             "font-size=\"11\"");
    svg.text(x + 2, dy0 - 8,
             "P" + std::to_string(u.first_processor) + "-" +
                 std::to_string(u.first_processor + spec.p_shared - 1),
             "font-size=\"10\" fill=\"#555\"");
    svg.rect(x, dy0, cw - 10, kDataH, "fill=\"#f4f4f4\" stroke=\"#999\" stroke-width=\"0.5\"");
    svg.text(x + 2, dy0 + kDataH + 14, pct(u.used, u.capacity), "font-size=\"10\"");
  }
  for (int t = 0; t <= 8; ++t) {
    const double ty = dy0 + kDataH * t / 8.0;
    svg.text(kLeft - 6, ty + 4, hex(static_cast<int64_t>(cap * t / 8)),
             "font-size=\"10\" text-anchor=\"end\"");
    svg.line(kLeft - 3, ty, kLeft, ty, "stroke=\"#666\"");
  }
  const int per_group = spec.p_numpro / spec.p_shared;
  for (const DataRegion& r : m.data) {
    const size_t idx = static_cast<size_t>(r.group * per_group + r.instance);
    const double x = kLeft + cw * static_cast<double>(idx);
    const double w_store = (cw - 10) * 0.62, w_read = (cw - 10) * 0.3;
    const double ry = dy0 + kDataH * r.start / cap;
    const double rh = std::max(1.5, kDataH * (r.end - r.start) / cap);
    const bool read = r.kind == DataRegion::Kind::Read;
    const size_t pos = r.layer < 0 ? 0 : position[r.layer] + 1;
    const double shift = read ? 0 : static_cast<double>(pos % 4) * 2.5;
    const double rx = read ? x + (cw - 10) - w_read - 1 : x + 1 + shift;
    const double rw = read ? w_read : w_store - 7.5;
    const std::string c = col_of(r.layer);
    const bool buffer = r.kind == DataRegion::Kind::Buffer;
    const char* kind = r.kind == DataRegion::Kind::Load ? "load"
                       : buffer                         ? "buffer"
                       : read                           ? "read"
                                                        : "write";
    std::string attrs = "class=\"region data " + std::string(kind) + "\" data-memory=\"data\" " +
                        "data-kind=\"" + kind + "\" data-layer=\"" + std::to_string(r.layer) +
                        "\" data-instance=\"" + std::to_string(idx) + "\" fill=\"" + c +
                        "\" fill-opacity=\"" + (read ? "0.4" : r.streamed ? "0.2" : "0.55") +
                        "\" stroke=\"" + c + "\" stroke-width=\"0.8\"" +
                        (r.streamed ? " stroke-dasharray=\"3,2\"" : "");
    svg.rect(rx, ry, rw, rh, attrs,
             (buffer ? "data buffer `" + r.name + "` (kept across inferences) holds"
                     : who(r.layer) + " " + kind + "s") +
                 " " + hex(r.start) + "-" + hex(r.end) + " (" +
                 std::to_string(r.words) + " words) in group " + std::to_string(r.group) +
                 " instance " + std::to_string(r.instance) +
                 (r.streamed ? "; streamed: a rollover buffer on the chip" : ""));
  }
  for (size_t i = 0; i < m.overlaps.size() && i < m.overlap_spots.size(); ++i) {
    const OverlapFinding& f = m.overlaps[i];
    const MemoryMap::Spot& loc = m.overlap_spots[i];
    if (!loc.mapped) continue;
    const size_t idx = static_cast<size_t>(loc.group * per_group + loc.instance);
    const double x = kLeft + cw * static_cast<double>(idx);
    const double ly = dy0 + kDataH * loc.offset / cap;
    svg.line(x - 3, ly, x + cw - 7, ly, "class=\"overlap\" stroke=\"#e00000\" stroke-width=\"2\"",
             "layer " + std::to_string(f.layer) + " output at " + hex(loc.offset) +
                 " overwrites data of " + who(f.earlier_layer) + " (" + std::to_string(f.words) +
                 " words; izer's overlap check)");
  }

  // ---- kernel memory ----
  y = dy0 + kDataH + 50;
  svg.text(kLeft, y, "Kernel memory: rows per processor (72-bit rows)",
           "font-size=\"15\" font-weight=\"bold\"");
  const double ky0 = y + 24;
  int max_rows = 1, top_row = 0;
  for (const KernelProcessorUse& u : m.processors) max_rows = std::max(max_rows, u.capacity);
  int overflow_end = 0;  // the end of the rows the layer that ran out would take
  for (const KernelRegion& r : m.kernel) {
    top_row = std::max(top_row, r.first_row + r.rows);
    if (r.overflow) overflow_end = std::max(overflow_end, r.first_row + r.rows);
  }
  const int capacity_rows = max_rows;
  {  // as for data: up to the highest row used, in quarters of the largest memory; past its
     // end when a layer ran out of rows (the overflow is drawn there)
    const int quarter = std::max(max_rows / 4, 1);
    const int shown = std::min(max_rows, std::max(1, (top_row + quarter - 1) / quarter) * quarter);
    if (shown < max_rows)
      svg.text(kLeft + kPanelW - 4, y, "rows 0-" + std::to_string(shown) + " of " +
                                           std::to_string(max_rows) + " shown",
               "font-size=\"11\" text-anchor=\"end\" fill=\"#555\"");
    max_rows = shown;
    if (overflow_end > max_rows)  // room for the overflow: to its end, at least 1/30 more
      max_rows = std::max(overflow_end, max_rows + std::max(max_rows / 30, 1));
  }
  const double kw = kPanelW / static_cast<double>(std::max<size_t>(m.processors.size(), 1));
  for (size_t i = 0; i < m.processors.size(); ++i) {
    const KernelProcessorUse& u = m.processors[i];
    const double x = kLeft + kw * static_cast<double>(i);
    svg.rect(x, ky0, kw - 3, kKernelH * std::min(u.capacity, max_rows) / max_rows,
             "fill=\"#f4f4f4\" stroke=\"#999\" stroke-width=\"0.5\"",
             "processor " + std::to_string(u.processor) + ": " + std::to_string(u.written) +
                 " of " + std::to_string(u.capacity) + " rows written");
    if (u.processor % 4 == 0)
      svg.text(x, ky0 + kKernelH + 14, std::to_string(u.processor), "font-size=\"9\"");
  }
  // Quarters of the rows shown; past the end of the memory, quarters of the memory (its end
  // is labelled below).
  const bool past_end = overflow_end > capacity_rows;
  for (int t = 0; t < (past_end ? 4 : 5); ++t) {
    const int row = (past_end ? capacity_rows : max_rows) * t / 4;
    const double ty = ky0 + kKernelH * row / max_rows;
    svg.text(kLeft - 6, ty + 4, std::to_string(row), "font-size=\"10\" text-anchor=\"end\"");
  }
  if (past_end) {  // the end of kernel memory
    const double ey = ky0 + kKernelH * capacity_rows / max_rows;
    svg.line(kLeft - 3, ey, kLeft + kPanelW, ey,
             "class=\"kernel-end\" stroke=\"#cc0000\" stroke-width=\"1\" "
             "stroke-dasharray=\"4,3\"",
             "end of kernel memory: " + std::to_string(capacity_rows) + " rows per processor");
    svg.text(kLeft - 6, ey + 4, std::to_string(capacity_rows),
             "font-size=\"10\" text-anchor=\"end\" fill=\"#cc0000\"");
  }
  for (const KernelRegion& r : m.kernel) {
    const double x = kLeft + kw * r.processor;
    if (r.overflow) {
      // The rows the layer would take: outlined in red inside the memory, filled red past its
      // end (izer's "kernel memory exhausted").
      const int cap = std::min(capacity_rows, m.processors[static_cast<size_t>(r.processor)].capacity);
      const int in_end = std::min(r.first_row + r.rows, cap);
      const std::string tip = "layer " + std::to_string(r.layer) + " would take rows " +
                              std::to_string(r.first_row) + "-" +
                              std::to_string(r.first_row + r.rows - 1) + " of processor " +
                              std::to_string(r.processor) + ", which has " + std::to_string(cap);
      if (in_end > r.first_row)
        svg.rect(x + 1, ky0 + kKernelH * r.first_row / max_rows, kw - 5,
                 std::max(1.0, kKernelH * (in_end - r.first_row) / max_rows),
                 "class=\"region kernel overflow-fits\" data-memory=\"kernel\" data-layer=\"" +
                     std::to_string(r.layer) + "\" data-processor=\"" +
                     std::to_string(r.processor) +
                     "\" fill=\"#cc0000\" fill-opacity=\"0.12\" stroke=\"#cc0000\" "
                     "stroke-width=\"0.8\" stroke-dasharray=\"2,1\"",
                 tip);
      const int past = r.first_row + r.rows - std::max(cap, r.first_row);
      if (past > 0)
        svg.rect(x + 1, ky0 + kKernelH * std::max(cap, r.first_row) / max_rows, kw - 5,
                 std::max(6.0, kKernelH * past / max_rows),
                 "class=\"region kernel overflow\" data-memory=\"kernel\" data-layer=\"" +
                     std::to_string(r.layer) + "\" data-processor=\"" +
                     std::to_string(r.processor) + "\" fill=\"#cc0000\" stroke=\"#cc0000\"",
                 tip + ": " + std::to_string(past) + " rows past the end");
      continue;
    }
    const std::string c = col_of(r.layer);
    const double ry = ky0 + kKernelH * r.first_row / max_rows;
    const double rh = std::max(1.0, kKernelH * r.rows / max_rows);
    svg.rect(x + 1, ry, kw - 5, rh,
             "class=\"region kernel\" data-memory=\"kernel\" data-layer=\"" +
                 std::to_string(r.layer) + "\" data-processor=\"" + std::to_string(r.processor) +
                 "\" fill=\"" + c + "\" fill-opacity=\"" + (r.shared_from >= 0 ? "0.15" : "0.7") +
                 "\" stroke=\"" + c + "\" stroke-width=\"0.5\"",
             "layer " + std::to_string(r.layer) + " kernels: processor " +
                 std::to_string(r.processor) + " rows " + std::to_string(r.first_row) + "-" +
                 std::to_string(r.first_row + r.rows - 1) +
                 (r.shared_from >= 0 ? " (reuses layer " + std::to_string(r.shared_from) + "'s)"
                                     : ""));
  }

  for (const KernelRegion& r : m.kernel)
    if (r.overflow) {  // named on the panel's title line
      const int past =
          r.first_row + r.rows - m.processors[static_cast<size_t>(r.processor)].capacity;
      svg.text(kLeft + 420, ky0 - 24,
               "overflow: layer " + std::to_string(r.layer) + " needs rows " +
                   std::to_string(r.first_row) + "-" + std::to_string(r.first_row + r.rows - 1) +
                   (past > 0 ? ", " + std::to_string(past) + " past the end (red)" : ""),
               "class=\"overflow-label\" font-size=\"13\" font-weight=\"bold\" fill=\"#cc0000\"");
      break;
    }

  // ---- bias memory ----
  y = ky0 + kKernelH + 50;
  svg.text(kLeft, y, "Bias memory: bytes per group", "font-size=\"15\" font-weight=\"bold\"");
  const double by0 = y + 24;
  const double bw = kPanelW / static_cast<double>(std::max<size_t>(m.bias_groups.size(), 1));
  const double bcap = std::max(spec.bias_size, 1);
  for (size_t i = 0; i < m.bias_groups.size(); ++i) {
    const BiasGroupUse& u = m.bias_groups[i];
    const double x = kLeft + bw * static_cast<double>(i);
    svg.rect(x, by0, bw - 12, kBiasH, "fill=\"#f4f4f4\" stroke=\"#999\" stroke-width=\"0.5\"");
    svg.text(x, by0 + kBiasH + 14,
             "group " + std::to_string(u.group) + ": " + std::to_string(u.used) + " of " +
                 std::to_string(u.capacity) + " bytes",
             "font-size=\"10\"");
  }
  svg.text(kLeft - 6, by0 + 4, "0", "font-size=\"10\" text-anchor=\"end\"");
  svg.text(kLeft - 6, by0 + kBiasH + 4, std::to_string(spec.bias_size),
           "font-size=\"10\" text-anchor=\"end\"");
  for (const BiasRegion& r : m.bias) {
    const double x = kLeft + bw * r.group;
    const std::string c = col_of(r.layer);
    svg.rect(x + 1, by0 + kBiasH * r.offset / bcap, bw - 14,
             std::max(1.0, kBiasH * r.length / bcap),
             "class=\"region bias\" data-memory=\"bias\" data-layer=\"" + std::to_string(r.layer) +
                 "\" data-group=\"" + std::to_string(r.group) + "\" fill=\"" + c +
                 "\" fill-opacity=\"" + (r.shared_from >= 0 ? "0.15" : "0.7") + "\" stroke=\"" +
                 c + "\" stroke-width=\"0.5\"",
             "layer " + std::to_string(r.layer) + " bias: group " + std::to_string(r.group) +
                 " bytes " + std::to_string(r.offset) + "-" +
                 std::to_string(r.offset + r.length - 1));
  }
  double bottom = by0 + kBiasH + 40;
  for (const std::string& n : m.notes) {
    svg.text(kLeft, bottom, "note: " + n, "font-size=\"11\" fill=\"#555\"");
    bottom += 15;
  }

  // ---- legend ----
  const double lx = kLeft + kPanelW + 30;
  double ly = 100;
  svg.text(lx, ly, "Legend", "font-size=\"15\" font-weight=\"bold\"");
  ly += 20;
  svg.rect(lx, ly - 10, 12, 12, "fill=\"#888888\"");
  svg.text(lx + 18, ly, "input loader", "font-size=\"11\"");
  ly += 16;
  for (const LayerInfo& i : m.layers) {
    svg.rect(lx, ly - 10, 12, 12, "class=\"legend\" fill=\"" + col_of(i.layer) + "\"");
    svg.text(lx + 18, ly,
             "layer " + std::to_string(i.layer) + ": " + i.what + " (in " + hex(i.in_offset) +
                 ", out " + hex(i.out_offset) + ")" + (i.output ? " output" : ""),
             "font-size=\"11\"");
    ly += 16;
  }
  ly += 8;
  svg.line(lx, ly, lx + 14, ly, "stroke=\"#e00000\" stroke-width=\"2\"");
  svg.text(lx + 18, ly + 4, "izer's overlap check finding", "font-size=\"11\"");
  ly += 16;
  svg.rect(lx, ly - 8, 12, 10, "fill=\"#888888\" fill-opacity=\"0.2\" stroke=\"#888888\" "
                               "stroke-dasharray=\"3,2\"");
  svg.text(lx + 18, ly, "output streamed to the next layer", "font-size=\"11\"");
  if (overflow_end > 0) {
    ly += 16;
    svg.rect(lx, ly - 8, 12, 10, "fill=\"#cc0000\"");
    svg.text(lx + 18, ly, "kernel rows a layer needs past the end of kernel memory (overflow)",
             "font-size=\"11\"");
  }

  const double width = lx + 420;
  const double height = std::max(bottom, ly + 30);
  std::ostringstream doc;
  doc << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width) << "\" height=\""
      << num(height) << "\" viewBox=\"0 0 " << num(width) << " " << num(height)
      << "\" font-family=\"sans-serif\">\n"
      << "<rect x=\"0\" y=\"0\" width=\"" << num(width) << "\" height=\"" << num(height)
      << "\" fill=\"white\"/>\n"
      << svg.str() << "</svg>\n";
  return doc.str();
}

}  // namespace ai8xsim
