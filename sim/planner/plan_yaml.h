// ai8xsim: the network YAML as text, for `plan`: the `layers:` list item by item, so that the
// placement keys can be set without re-emitting (and losing) anything else the user wrote.
// Block-style YAML only (izer's files, ADI's and the corpus's are all block style).
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace ai8xsim {

class LayerYamlText {
 public:
  // Throws Error(Config) naming `file` when the text has no block-style `layers:` list.
  LayerYamlText(const std::string& text, const std::string& file);

  int items() const { return static_cast<int>(items_.size()); }
  // The value written for `key` in item `i` (without a comment), if the key is there.
  std::optional<std::string> value(int i, const std::string& key) const;

  // The text with, per item, each key of `set[i]` (key, value) replaced in place (its line
  // and comment kept) or, when absent, added after the item's first line. `first_lines`, when
  // given, receives each item's first line (1-based) in the returned text.
  using KeyValues = std::vector<std::pair<std::string, std::string>>;
  std::string with(const std::vector<KeyValues>& set,
                   std::vector<std::pair<int, int>>* item_lines = nullptr) const;

 private:
  struct Item {
    int first = 0, end = 0;  // line indices [first, end)
    int key_indent = 0;
  };
  // Line index of `key` in item i, -1 when absent; `value_at` the column of its value.
  int key_line(int i, const std::string& key, size_t* value_at = nullptr) const;
  std::vector<std::string> lines_;
  std::vector<Item> items_;
  bool trailing_newline_ = true;
};

}  // namespace ai8xsim
