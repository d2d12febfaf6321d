// ai8xsim: the `layers:` list of a network YAML as text (sim/planner/plan_yaml.h).
#include "sim/planner/plan_yaml.h"

#include <sstream>

#include "ai8xsim/error.h"

namespace ai8xsim {

namespace {

int indent_of(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return static_cast<int>(i);
}

bool blank_or_comment(const std::string& s) {
  const size_t i = s.find_first_not_of(" \t\r");
  return i == std::string::npos || s[i] == '#';
}

// The end of a scalar value starting at `at`: before a ` #` comment and trailing blanks.
size_t value_end(const std::string& s, size_t at) {
  size_t end = s.find(" #", at);
  if (end == std::string::npos) end = s.size();
  while (end > at && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r')) --end;
  return end;
}

}  // namespace

LayerYamlText::LayerYamlText(const std::string& text, const std::string& file) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines_.push_back(line);
  trailing_newline_ = !text.empty() && text.back() == '\n';
  const int n = static_cast<int>(lines_.size());
  int at = -1;
  for (int i = 0; i < n; ++i)
    if (lines_[i].rfind("layers:", 0) == 0) {
      at = i;
      break;
    }
  if (at < 0) fail(ErrorKind::Config, file + ": no top-level `layers:` line; plan edits a block-style YAML");
  if (!blank_or_comment(lines_[at].substr(7)))
    fail(ErrorKind::Config, file + ":" + std::to_string(at + 1) +
                                ": `layers:` is written in flow style ([...]); plan edits the "
                                "block style izer's files use (one `- key: value` item per layer)");
  int item_indent = -1;
  for (int i = at + 1; i < n; ++i) {
    const std::string& s = lines_[i];
    if (blank_or_comment(s)) continue;
    const int ind = indent_of(s);
    const bool dash = s[ind] == '-' && (ind + 1 == static_cast<int>(s.size()) || s[ind + 1] == ' ');
    if (item_indent < 0) {
      if (!dash) break;
      item_indent = ind;
    }
    if (dash && ind == item_indent) {
      if (!items_.empty()) items_.back().end = i;
      Item it;
      it.first = i;
      const size_t k = s.find_first_not_of(' ', ind + 1);
      if (k != std::string::npos && s[k] != '#') {
        if (s[k] == '{')
          fail(ErrorKind::Config, file + ":" + std::to_string(i + 1) +
                                      ": a layer written in flow style ({...}); plan edits "
                                      "block-style layers (one key per line)");
        it.key_indent = static_cast<int>(k);
      } else {
        it.key_indent = -1;  // keys start on the next line
      }
      items_.push_back(it);
      continue;
    }
    if (ind <= item_indent) {
      if (!items_.empty()) items_.back().end = i;
      item_indent = -2;  // done
      break;
    }
    if (!items_.empty() && items_.back().key_indent < 0) items_.back().key_indent = ind;
  }
  if (!items_.empty() && item_indent != -2) items_.back().end = n;
  if (items_.empty())
    fail(ErrorKind::Config, file + ":" + std::to_string(at + 1) + ": `layers:` has no `- ` items");
  for (Item& it : items_)
    if (it.key_indent < 0) it.key_indent = indent_of(lines_[it.first]) + 2;
}

int LayerYamlText::key_line(int i, const std::string& key, size_t* value_at) const {
  const Item& it = items_[static_cast<size_t>(i)];
  for (int l = it.first; l < it.end; ++l) {
    const std::string& s = lines_[l];
    if (blank_or_comment(s)) continue;
    const size_t k = static_cast<size_t>(it.key_indent);
    if (s.size() <= k) continue;
    if (l != it.first && indent_of(s) != it.key_indent) continue;
    if (s.compare(k, key.size(), key) != 0) continue;
    size_t c = k + key.size();
    while (c < s.size() && s[c] == ' ') ++c;
    if (c >= s.size() || s[c] != ':') continue;
    if (value_at) *value_at = s.find_first_not_of(' ', c + 1) == std::string::npos
                                  ? s.size()
                                  : s.find_first_not_of(' ', c + 1);
    return l;
  }
  return -1;
}

std::optional<std::string> LayerYamlText::value(int i, const std::string& key) const {
  size_t at = 0;
  const int l = key_line(i, key, &at);
  if (l < 0) return std::nullopt;
  const std::string& s = lines_[l];
  return s.substr(at, value_end(s, at) - at);
}

std::string LayerYamlText::with(const std::vector<KeyValues>& set,
                                std::vector<std::pair<int, int>>* item_lines) const {
  std::vector<std::string> lines = lines_;
  std::vector<std::vector<std::string>> added(lines.size());
  for (int i = 0; i < items() && i < static_cast<int>(set.size()); ++i)
    for (const auto& [key, val] : set[static_cast<size_t>(i)]) {
      size_t at = 0;
      const int l = key_line(i, key, &at);
      if (l >= 0) {
        std::string& s = lines[l];
        s = s.substr(0, at) + val + s.substr(value_end(s, at));
      } else {
        added[static_cast<size_t>(items_[i].first)].push_back(
            std::string(static_cast<size_t>(items_[i].key_indent), ' ') + key + ": " + val);
      }
    }
  std::string out;
  int line_no = 0;
  size_t next_item = 0;
  if (item_lines) item_lines->clear();
  for (size_t l = 0; l < lines.size(); ++l) {
    const int first_line = line_no + 1;
    out += lines[l];
    ++line_no;
    if (l + 1 < lines.size() || trailing_newline_ || !added[l].empty()) out += "\n";
    for (const std::string& a : added[l]) {
      out += a + "\n";
      ++line_no;
    }
    if (item_lines && next_item < items_.size() && items_[next_item].first == static_cast<int>(l)) {
      // item's first and last line (1-based) in the new text; the end is fixed up below
      item_lines->push_back({first_line, 0});
      ++next_item;
    }
    if (item_lines && !item_lines->empty()) {
      const size_t cur = item_lines->size() - 1;
      if (static_cast<int>(l) < items_[cur].end) (*item_lines)[cur].second = line_no;
    }
  }
  return out;
}

}  // namespace ai8xsim
