// The izer network YAML loader: every key izer's yamlcfg.parse accepts, with its defaults,
// aliases and errors, and a message naming file, line, layer, key, value found and what is
// allowed. Scalars are resolved as PyYAML (YAML 1.1) resolves them, since that is what izer sees:
// `0x0f` and `0b11` and `017` (octal) are integers, `yes`/`off` are booleans, `None` is a string,
// a quoted "0f" is a string (which izer reads as hex for `processors`).
// docs/izer-checks.md lists every check and which are made here.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "ai8xsim/config.h"
#include "ai8xsim/error.h"
#include "sim/model/config_yaml.h"
#include "ai8xsim/device.h"

namespace ai8xsim {

namespace {

// ------------------------------------------------------------------------------------------------
// Small text helpers

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string hex(uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// ------------------------------------------------------------------------------------------------
// YAML 1.1 scalar resolution (what PyYAML's yaml.Loader constructs for a scalar)

enum class Kind { Null, Bool, Int, Float, Str, Seq, Map, Other };

struct Value {
  Kind kind = Kind::Null;
  bool boolean = false;
  bool negative = false;   // Int: sign
  uint64_t magnitude = 0;  // Int: |value|
  bool overflow = false;   // Int: |value| >= 2^64
  std::string text;        // the scalar as written
};

// v = v * base + digit, false on overflow.
bool accumulate(uint64_t& v, uint64_t base, uint64_t digit) {
  if (v > (std::numeric_limits<uint64_t>::max() - digit) / base) return false;
  v = v * base + digit;
  return true;
}

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// Digits of `s` in `base` (no sign, no prefix); false when a character is not a digit.
bool parse_digits(const std::string& s, uint64_t base, uint64_t& out, bool& overflow) {
  if (s.empty()) return false;
  out = 0;
  for (char c : s) {
    const int d = digit_value(c);
    if (d >= static_cast<int>(base)) return false;
    if (!accumulate(out, base, static_cast<uint64_t>(d))) overflow = true;
  }
  return true;
}

const std::regex& int_pattern() {
  static const std::regex re(
      "[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|"
      "[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+");
  return re;
}

const std::regex& float_pattern() {
  static const std::regex re(
      "[-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9_]+([eE][-+][0-9]+)?|"
      "[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  return re;
}

bool is_bool_word(const std::string& s, bool& value) {
  static const std::set<std::string> yes{"yes",  "Yes", "YES", "true", "True",
                                         "TRUE", "on",  "On",  "ON"};
  static const std::set<std::string> no{"no",    "No",  "NO",  "false", "False",
                                        "FALSE", "off", "Off", "OFF"};
  value = yes.count(s) > 0;
  return value || no.count(s) > 0;
}

// An integer as PyYAML's construct_yaml_int reads it (the text matched int_pattern()).
void construct_int(std::string s, Value& v) {
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  v.kind = Kind::Int;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    v.negative = s[0] == '-';
    s.erase(0, 1);
  }
  if (s.find(':') != std::string::npos) {  // sexagesimal 1:30 = 90
    std::stringstream parts(s);
    std::string part;
    while (std::getline(parts, part, ':')) {
      uint64_t p = 0;
      parse_digits(part, 10, p, v.overflow);
      if (!accumulate(v.magnitude, 60, 0) || !accumulate(v.magnitude, 1, p)) v.overflow = true;
    }
  } else if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'b')) {
    parse_digits(s.substr(2), s[1] == 'x' ? 16 : 2, v.magnitude, v.overflow);
  } else {
    parse_digits(s, s.size() > 1 && s[0] == '0' ? 8 : 10, v.magnitude, v.overflow);
  }
  if (v.magnitude == 0) v.negative = false;
}

void resolve_plain(const std::string& s, Value& v) {
  if (is_bool_word(s, v.boolean)) {
    v.kind = Kind::Bool;
  } else if (std::regex_match(s, int_pattern())) {
    construct_int(s, v);
  } else if (std::regex_match(s, float_pattern())) {
    v.kind = Kind::Float;
  } else {
    v.kind = Kind::Str;
  }
}

// Kind::Other for explicit tags this loader does not construct.
Value resolve(const YAML::Node& n) {
  Value v;
  if (n.IsSequence()) {
    v.kind = Kind::Seq;
    return v;
  }
  if (n.IsMap()) {
    v.kind = Kind::Map;
    return v;
  }
  if (!n.IsScalar()) {
    v.kind = Kind::Null;
    return v;
  }
  v.text = n.Scalar();
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") {
    v.kind = Kind::Str;
  } else if (tag == "?" || tag.empty()) {
    resolve_plain(v.text, v);
  } else if (tag == "tag:yaml.org,2002:int" && std::regex_match(v.text, int_pattern())) {
    construct_int(v.text, v);
  } else if (tag == "tag:yaml.org,2002:bool" && is_bool_word(v.text, v.boolean)) {
    v.kind = Kind::Bool;
  } else {
    v.kind = Kind::Other;
  }
  return v;
}

// Long values are cut in messages: the start says what was written.
std::string shorten(std::string s) {
  constexpr size_t kMax = 160;
  if (s.size() > kMax)
    s = s.substr(0, kMax - 20) + " ... (" + std::to_string(s.size()) + " characters)";
  return s;
}

// The value as written, for messages.
std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "an empty value (null)";
  if (n.IsScalar()) return shorten(n.Tag() == "!" ? "\"" + n.Scalar() + "\"" : n.Scalar());
  YAML::Emitter e;
  e.SetSeqFormat(YAML::Flow);
  e.SetMapFormat(YAML::Flow);
  e << n;
  return (n.IsSequence() ? "a list " : "a mapping ") + shorten(e.c_str());
}

// Python's int(text, 16) after izer removed `.` and `_` (sign, 0x prefix, surrounding blanks).
bool parse_python_hex(std::string s, Value& v) {
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == '.' || c == '_'; }), s.end());
  const auto b = s.find_first_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return false;
  s = s.substr(b, s.find_last_not_of(" \t\n\r\f\v") - b + 1);
  v = Value{};
  v.kind = Kind::Int;
  if (s[0] == '-' || s[0] == '+') {
    v.negative = s[0] == '-';
    s.erase(0, 1);
  }
  if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.erase(0, 2);
  return parse_digits(s, 16, v.magnitude, v.overflow);
}

// Python's int(text) for a decimal string (blanks, sign, `_` between digits).
bool parse_python_decimal(std::string s, int64_t& out) {
  const auto b = s.find_first_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return false;
  s = s.substr(b, s.find_last_not_of(" \t\n\r\f\v") - b + 1);
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.erase(0, 1);
  }
  if (s.empty() || s.front() == '_' || s.back() == '_' || s.find("__") != std::string::npos)
    return false;
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  uint64_t mag = 0;
  bool overflow = false;
  if (!parse_digits(s, 10, mag, overflow) || overflow || mag > 1000000) return false;
  out = neg ? -static_cast<int64_t>(mag) : static_cast<int64_t>(mag);
  return true;
}

// ------------------------------------------------------------------------------------------------
// One YAML mapping (the top level, a layer, an `unload` or `data_buffer` entry) and its keys

struct Entry {
  YAML::Node value;
  int line = 0;
};

class Keys {
 public:
  Keys(const YAML::Node& map, std::string file, std::string scope)
      : file_(std::move(file)), scope_(std::move(scope)), line_(map.Mark().line + 1) {
    for (auto it = map.begin(); it != map.end(); ++it) add(it->first, it->second);
  }

  int line() const { return line_; }
  void set_scope(std::string s) { scope_ = std::move(s); }
  bool has(const std::string& k) const { return entries_.count(k) > 0; }
  const YAML::Node& node(const std::string& k) const { return entries_.at(k).value; }
  int line_of(const std::string& k) const { return has(k) ? entries_.at(k).line : line_; }
  std::string found(const std::string& k) const { return describe(node(k)); }

  [[noreturn]] void bad(const std::string& k, const std::string& found,
                        const std::string& allowed) const {
    std::ostringstream m;
    m << file_ << ":" << line_of(k) << ": ";
    if (!scope_.empty()) m << scope_ << ": ";
    m << "key `" << k << "`: found " << found << "; allowed: " << allowed;
    fail(ErrorKind::Config, m.str());
  }
  [[noreturn]] void bad(const std::string& k, const std::string& allowed) const {
    bad(k, found(k), allowed);
  }

  void only(const std::vector<std::string>& allowed) const {
    for (const auto& k : order_)
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        bad(k, "an unknown key", "the keys " + join(allowed, ", "));
  }
  void require(const std::string& k, const std::string& why) const {
    if (!has(k)) bad(k, "nothing (the key is missing)", why);
  }
  // At most one of the alias keys `names` may be present; returns the one present or "".
  std::string alias(const std::vector<std::string>& names) const;

  Value value(const std::string& k) const { return resolve(node(k)); }
  int64_t integer(const std::string& k, int64_t lo, int64_t hi, const std::string& allowed) const;
  int64_t integer_of(const std::string& k, const YAML::Node& n, int64_t lo, int64_t hi,
                     const std::string& allowed) const;
  bool boolean(const std::string& k) const;
  std::string string(const std::string& k, const std::string& allowed) const;
  std::array<int, 2> pair(const std::string& k, int lo, int hi, const std::string& allowed) const;
  uint64_t processor_map(const std::string& k) const;

 private:
  void add(const YAML::Node& key, const YAML::Node& value) {
    const int line = key.Mark().line + 1;
    if (!key.IsScalar()) {
      line_ = line;
      bad(describe(key), "a key that is not a plain name", "plain key names");
    }
    const std::string k = key.Scalar();
    if (has(k)) bad_dup(k, line);
    entries_[k] = {value, line};
    order_.push_back(k);
  }
  [[noreturn]] void bad_dup(const std::string& k, int line) const {
    std::ostringstream m;
    m << file_ << ":" << line << ": " << (scope_.empty() ? "" : scope_ + ": ") << "key `" << k
      << "`: found it a second time (first on line " << line_of(k) << "); allowed: each key once";
    fail(ErrorKind::Config, m.str());
  }

  std::string file_, scope_;
  int line_ = 0;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> order_;  // keys in file order
};

std::string Keys::alias(const std::vector<std::string>& names) const {
  std::string present;
  for (const auto& n : names) {
    if (!has(n)) continue;
    if (!present.empty())
      bad(n,
          "both `" + present + "` (line " + std::to_string(line_of(present)) + ") and `" + n + "`",
          "only one of `" + join(names, "`/`") + "`");
    present = n;
  }
  return present;
}

int64_t Keys::integer_of(const std::string& k, const YAML::Node& n, int64_t lo, int64_t hi,
                         const std::string& allowed) const {
  const Value v = resolve(n);
  if (v.kind != Kind::Int) bad(k, describe(n), allowed);
  const bool big = v.overflow || v.magnitude > static_cast<uint64_t>(INT64_MAX);
  const int64_t x =
      v.negative ? -static_cast<int64_t>(v.magnitude) : static_cast<int64_t>(v.magnitude);
  if (big || x < lo || x > hi) bad(k, describe(n), allowed);
  return x;
}

int64_t Keys::integer(const std::string& k, int64_t lo, int64_t hi,
                      const std::string& allowed) const {
  return integer_of(k, node(k), lo, hi, allowed);
}

// izer takes bool(value): YAML booleans, and integers (non-zero is true). A string would be
// true whatever it says ("False" too), so it is refused here.
bool Keys::boolean(const std::string& k) const {
  const Value v = value(k);
  if (v.kind == Kind::Null) return false;
  if (v.kind == Kind::Bool) return v.boolean;
  if (v.kind == Kind::Int) return v.magnitude != 0 || v.overflow;
  bad(k, "true or false");
}

std::string Keys::string(const std::string& k, const std::string& allowed) const {
  const Value v = value(k);
  if (v.kind != Kind::Str) bad(k, allowed);
  return v.text;
}

// A scalar N means [N, N]; a list must have two integers.
std::array<int, 2> Keys::pair(const std::string& k, int lo, int hi,
                              const std::string& allowed) const {
  const YAML::Node& n = node(k);
  if (!n.IsSequence()) {
    const int v = static_cast<int>(integer(k, lo, hi, allowed));
    return {v, v};
  }
  if (n.size() != 2) bad(k, allowed);
  return {static_cast<int>(integer_of(k, n[0], lo, hi, allowed)),
          static_cast<int>(integer_of(k, n[1], lo, hi, allowed))};
}

// `processors`-style maps: an integer, or a string izer reads as hex after removing `.`/`_`.
uint64_t Keys::processor_map(const std::string& k) const {
  static const std::string allowed =
      "an integer from 1 to 2**64-1, or a hex string such as 0x0000.0000.0000.000f";
  Value v = value(k);
  if (v.kind == Kind::Str && !parse_python_hex(v.text, v)) bad(k, allowed);
  if (v.kind != Kind::Int || v.negative || v.overflow || v.magnitude == 0) bad(k, allowed);
  return v.magnitude;
}

// ------------------------------------------------------------------------------------------------
// Names used by `in_sequences`, `next_sequence`, `simulated_sequence`, `weight_source`

enum class Slot { InSequence, Next, Simulated, WeightSource };

struct NameRef {
  Slot slot;
  size_t index = 0;  // InSequence: position in the list
  std::string key;
  std::string name;
};

// A layer as read, before the sequence holes are closed and the names resolved.
struct RawLayer {
  int sequence = 0;
  int list_index = 0;
  LayerConfig cfg;
  std::vector<NameRef> refs;
  std::vector<std::string> in_sequence_strings;  // for the data buffer check
  std::unique_ptr<Keys> keys;
};

const std::vector<std::string>& layer_keys() {
  static const std::vector<std::string> k{"processors",
                                          "output_processors",
                                          "max_pool",
                                          "avg_pool",
                                          "pool_stride",
                                          "pool_dilation",
                                          "quantization",
                                          "output_shift",
                                          "in_channels",
                                          "in_dim",
                                          "in_crop",
                                          "in_skip",
                                          "read_gap",
                                          "in_channel_skip",
                                          "in_offset",
                                          "out_channels",
                                          "out_offset",
                                          "activate",
                                          "activation",
                                          "convolution",
                                          "op",
                                          "operation",
                                          "operator",
                                          "pad",
                                          "output_pad",
                                          "dilation",
                                          "eltwise",
                                          "pool_first",
                                          "operands",
                                          "data_format",
                                          "output_width",
                                          "kernel_size",
                                          "stride",
                                          "streaming",
                                          "flatten",
                                          "in_sequences",
                                          "next_sequence",
                                          "snoop_sequence",
                                          "simulated_sequence",
                                          "sequence",
                                          "conv_groups",
                                          "groups",
                                          "write_gap",
                                          "bypass",
                                          "bias_group",
                                          "bias_quadrant",
                                          "calcx4",
                                          "readahead",
                                          "tcalc",
                                          "output",
                                          "name",
                                          "weight_source",
                                          "buffer_shift",
                                          "buffer_insert"};
  return k;
}

constexpr int kBig = 1 << 30;  // "any non-negative int" bound for register-sized values

// ------------------------------------------------------------------------------------------------
// One layer, key by key in the order izer reads them (later keys depend on earlier ones)

class LayerReader {
 public:
  LayerReader(RawLayer& raw, const DeviceSpec& spec, std::vector<std::string>& names, bool& op_seen)
      : k_(*raw.keys), raw_(raw), c_(raw.cfg), spec_(spec), names_(names), op_seen_(op_seen) {}

  void read() {
    c_.yaml_line = k_.line();
    processors();
    pooling();
    numbers();
    channels_and_offsets();
    activation();
    operation();
    unbound_conv_quirk();
    padding_and_dilation();
    eltwise_and_format();
    kernel_size();
    stride();
    sequencing();
    flags_and_groups();
    pool_dilation_and_output_pad();
    naming();
    buffers();
    fix_up();
  }

 private:
  void processors();
  void pooling();
  void numbers();
  void channels_and_offsets();
  void activation();
  void operation();
  void unbound_conv_quirk();
  void padding_and_dilation();
  void eltwise_and_format();
  void kernel_size();
  void stride();
  void sequencing();
  void flags_and_groups();
  void pool_dilation_and_output_pad();
  void naming();
  void buffers();
  void fix_up();
  std::optional<int> link(const std::string& key, Slot slot);

  const Keys& k_;
  RawLayer& raw_;
  LayerConfig& c_;
  const DeviceSpec& spec_;
  std::vector<std::string>& names_;  // lower-case layer names seen so far
  bool& op_seen_;  // an earlier layer had `op` or `eltwise` (izer's `conv` variable is bound)
};

void LayerReader::processors() {
  if (!k_.has("processors") || k_.node("processors").IsNull())
    k_.bad("processors", "nothing (`processors` is missing or empty)",
           "every layer needs `processors`, an integer from 1 to 2**64-1 or a hex string");
  c_.processors = k_.processor_map("processors");
  if (k_.has("output_processors")) c_.output_processors = k_.processor_map("output_processors");
}

// `max_pool` wins over `avg_pool` when both are given (izer ignores `avg_pool` then).
// The pooling hardware counts pool rows, columns and strides in 4-bit fields: izer's code
// generator asserts (pool - 1) * pool_dilation < 16 and pool_stride - 1 < 16, so a pool or a
// pool stride above 16 is refused here, where the key is known.
void LayerReader::pooling() {
  const std::string allowed =
      "a pool size from 1 to 16 (the pooling hardware's limit), or a list of two";
  const char* key = k_.has("max_pool") ? "max_pool" : k_.has("avg_pool") ? "avg_pool" : nullptr;
  if (key) {
    c_.pool = k_.pair(key, 1, 16, allowed);
    c_.pooling_enabled = true;
    c_.pool_average = std::string(key) == "avg_pool";
  }
  if (k_.has("pool_stride")) {
    c_.pool_stride = k_.pair("pool_stride", 1, 16,
                             "a pool stride from 1 to 16 (the pooling hardware's limit), or a "
                             "list of two");
    c_.pool_stride_given = true;
  }
}

void LayerReader::numbers() {
  if (k_.has("quantization")) {
    const Value v = k_.value("quantization");
    const std::string s = lower(v.text);
    const bool word = v.kind == Kind::Str && (s == "bin" || s == "binary");
    const bool bits =
        v.kind == Kind::Int && !v.negative && !v.overflow &&
        (v.magnitude == 1 || v.magnitude == 2 || v.magnitude == 4 || v.magnitude == 8);
    if (!word && !bits) k_.bad("quantization", "1, 2, 4, 8, or bin/binary");
    c_.quantization = word ? -1 : static_cast<int>(v.magnitude);
  }
  if (k_.has("output_shift"))
    c_.output_shift = static_cast<int>(k_.integer("output_shift", -kBig, kBig, "an integer"));
}

void LayerReader::channels_and_offsets() {
  const std::string count = "an integer >= 1";
  const std::string offset = "an integer >= 0";
  if (k_.has("in_channels"))
    c_.in_channels = static_cast<int>(k_.integer("in_channels", 1, kBig, count));
  if (k_.has("in_dim")) {
    const YAML::Node& n = k_.node("in_dim");
    const std::string allowed = "an integer >= 1 or a list of one or two such integers";
    if (n.IsSequence() && (n.size() < 1 || n.size() > 2)) k_.bad("in_dim", allowed);
    if (n.IsSequence() && n.size() == 1) k_.bad("in_dim", allowed + " (izer fails on one)");
    const auto d = k_.pair("in_dim", 1, kBig, allowed);
    c_.in_dim = n.IsSequence() ? d : std::array<int, 2>{d[0], 1};
  }
  if (k_.has("in_crop")) {
    if (!k_.node("in_crop").IsSequence()) k_.bad("in_crop", "a list of two integers >= 0");
    c_.in_crop = k_.pair("in_crop", 0, kBig, "a list of two integers >= 0");
  }
  const std::string gap = k_.alias({"in_skip", "read_gap"});
  if (!gap.empty()) c_.read_gap = static_cast<int>(k_.integer(gap, 0, kBig, offset));
  if (k_.has("in_channel_skip"))
    c_.in_channel_skip = static_cast<int>(k_.integer("in_channel_skip", 0, kBig, offset));
  if (k_.has("in_offset"))
    c_.in_offset = static_cast<int>(k_.integer("in_offset", 0, kBig, offset));
  if (k_.has("out_channels"))
    c_.out_channels = static_cast<int>(k_.integer("out_channels", 1, kBig, count));
  if (k_.has("out_offset")) {
    const int limit = spec_.out_offset_limit();
    c_.out_offset = static_cast<int>(
        k_.integer("out_offset", 0, limit - 1,
                   "0 to " + hex(static_cast<uint64_t>(limit) - 1) + " on " + spec_.partnum));
    c_.out_offset_given = true;
  }
}

void LayerReader::activation() {
  const std::string key = k_.alias({"activate", "activation"});
  if (key.empty()) return;
  const std::string allowed = "ReLU, Abs or None (any letter case)";
  const std::string v = lower(k_.string(key, allowed));
  if (v == "relu")
    c_.activation = Activation::ReLU;
  else if (v == "abs")
    c_.activation = Activation::Abs;
  else if (v == "none")
    c_.activation = Activation::None;
  else
    k_.bad(key, allowed);
}

struct OpSpelling {
  const char* text;
  Operator op;
  Eltwise eltwise;
};

const OpSpelling kOpSpellings[] = {
    {"conv1d", Operator::Conv1d, Eltwise::None},
    {"conv2d", Operator::Conv2d, Eltwise::None},
    {"convtranspose2d", Operator::ConvTranspose2d, Eltwise::None},
    {"none", Operator::Passthrough, Eltwise::None},
    {"passthrough", Operator::Passthrough, Eltwise::None},
    {"add", Operator::Passthrough, Eltwise::Add},
    {"or", Operator::Passthrough, Eltwise::Or},
    {"bitwiseor", Operator::Passthrough, Eltwise::Or},
    {"bitwise_or", Operator::Passthrough, Eltwise::Or},
    {"sub", Operator::Passthrough, Eltwise::Sub},
    {"xor", Operator::Passthrough, Eltwise::Xor},
    {"bitwisexor", Operator::Passthrough, Eltwise::Xor},
    {"bitwise_xor", Operator::Passthrough, Eltwise::Xor},
    {"linear", Operator::Linear, Eltwise::None},
    {"fc", Operator::Linear, Eltwise::None},
    {"mlp", Operator::Linear, Eltwise::None},
};

void LayerReader::operation() {
  const std::string key = k_.alias({"convolution", "operation", "operator", "op"});
  if (key.empty()) return;
  const std::string allowed =
      "Conv1d, Conv2d, ConvTranspose2d, None/Passthrough, Add, Sub, Or/BitwiseOr/Bitwise_Or, "
      "Xor/BitwiseXor/Bitwise_Xor, Linear/FC/MLP (any letter case)";
  const std::string v = lower(k_.string(key, allowed));
  const OpSpelling* s = nullptr;
  for (const auto& e : kOpSpellings)
    if (v == e.text) s = &e;
  if (!s) k_.bad(key, allowed);
  c_.op = s->op;
  c_.op_given = true;
  c_.eltwise = s->eltwise;
  if (s->eltwise != Eltwise::None) c_.operands = 2;
  if (s->op == Operator::Passthrough || s->op == Operator::Linear) c_.padding = {0, 0};
  if (s->op == Operator::Linear) c_.kernel_size = {1, 1};
  op_seen_ = true;
}

// izer prints a notice naming its variable `conv` for a convolution layer without `activation`;
// before any layer has set `op`/`eltwise` that variable does not exist and izer stops with an
// internal error (UnboundLocalError). Reproduced as an error so the same files are refused.
void LayerReader::unbound_conv_quirk() {
  if (op_seen_ || k_.has("activate") || k_.has("activation")) return;
  k_.bad("activation",
         "neither `activation` nor `op` here, nor `op`/`eltwise` in any earlier layer",
         "izer needs `activation` (e.g. None) or an `op` in this layer; without either it fails "
         "with an internal error (UnboundLocalError)");
}

void LayerReader::padding_and_dilation() {
  if (k_.has("pad")) {
    const int p = static_cast<int>(k_.integer("pad", 0, kBig, "an integer >= 0"));
    c_.padding = {p, p};
    c_.padding_given = true;
  }
  if (k_.has("dilation")) {
    if (c_.op == Operator::Passthrough)
      k_.bad("dilation", k_.found("dilation") + " with a passthrough/element-wise `op`",
             "`dilation` only with a convolution operator");
    c_.dilation = k_.pair("dilation", 1, kBig, "a dilation >= 1, or a list of two");
  }
}

void LayerReader::eltwise_and_format() {
  if (k_.has("eltwise")) {
    const std::string allowed = "Add, Sub, Or or Xor (any letter case)";
    const std::string v = lower(k_.string("eltwise", allowed));
    if (v == "add")
      c_.eltwise = Eltwise::Add;
    else if (v == "sub")
      c_.eltwise = Eltwise::Sub;
    else if (v == "or")
      c_.eltwise = Eltwise::Or;
    else if (v == "xor")
      c_.eltwise = Eltwise::Xor;
    else
      k_.bad("eltwise", allowed);
    c_.operands = 2;
  }
  if (k_.has("pool_first")) c_.pool_first = k_.boolean("pool_first");
  if (k_.has("operands")) {
    if (c_.eltwise == Eltwise::None)
      k_.bad("operands", k_.found("operands") + " without an element-wise operation",
             "`operands` only with `eltwise` or an element-wise `op`");
    c_.operands = static_cast<int>(k_.integer("operands", 2, 16, "2 to 16"));
  }
  if (k_.has("data_format")) {
    const std::string allowed = "HWC/little or CHW/big (any letter case)";
    const std::string v = lower(k_.string("data_format", allowed));
    if (v == "chw" || v == "big")
      c_.big_data = true;
    else if (v != "hwc" && v != "little")
      k_.bad("data_format", allowed);
  }
  if (k_.has("output_width")) {
    const int w = static_cast<int>(k_.integer("output_width", 8, 32, "8 or 32"));
    if (w != 8 && w != 32) k_.bad("output_width", "8 or 32");
    c_.output_width = w;
  }
}

void LayerReader::kernel_size() {
  if (!k_.has("kernel_size")) {
    if (c_.op == Operator::Conv1d) c_.kernel_size = {9, 1};
    return;
  }
  if (c_.op == Operator::Linear)
    k_.bad("kernel_size", k_.found("kernel_size") + " in a Linear/FC/MLP layer",
           "no `kernel_size` for fully connected layers (always 1x1)");
  const Value v = k_.value("kernel_size");
  if (v.kind != Kind::Int && v.kind != Kind::Str)
    k_.bad("kernel_size", "1x1 or 3x3 (2-D), 1..9 (1-D)");
  const std::string text =
      v.kind == Kind::Int ? (v.negative ? "-" : "") + std::to_string(v.magnitude) : lower(v.text);
  if (c_.op == Operator::Conv2d || c_.op == Operator::ConvTranspose2d) {
    const bool ok = text == "3x3" || (c_.op == Operator::Conv2d && text == "1x1");
    if (!ok)
      k_.bad("kernel_size",
             c_.op == Operator::Conv2d ? "1x1 or 3x3 for Conv2d" : "3x3 for ConvTranspose2d");
    c_.kernel_size = {text[0] - '0', text[2] - '0'};
    return;
  }
  int64_t n = 0;
  if (!parse_python_decimal(text, n) || n < 1 || n > 9)
    k_.bad("kernel_size", "an integer 1 to 9 for Conv1d and passthrough layers");
  c_.kernel_size = {static_cast<int>(n), 1};
}

void LayerReader::stride() {
  if (!k_.has("stride")) return;
  const YAML::Node& n = k_.node("stride");
  const std::string allowed = "a stride >= 1, or a list of two equal strides";
  if (n.IsSequence() && n.size() != 2) k_.bad("stride", allowed);
  const auto s = k_.pair("stride", 1, kBig, allowed);
  if (s[0] != s[1]) k_.bad("stride", "stride values equal in both dimensions");
  if (c_.pooling_enabled) {
    if (s[0] != 1)
      k_.bad("stride", k_.found("stride") + " in a pooling layer",
             "1 when pooling (the pool stride sets the step)");
    return;
  }
  if (c_.op == Operator::ConvTranspose2d && s[0] != 2) k_.bad("stride", "2 for ConvTranspose2d");
  c_.stride = {s[0], s[0]};
}

// `next_sequence`/`simulated_sequence`: an integer (-1 stops), `stop`, or a layer name.
std::optional<int> LayerReader::link(const std::string& key, Slot slot) {
  const Value v = k_.value(key);
  if (v.kind == Kind::Str) {
    const std::string s = lower(v.text);
    if (s == "stop") return -1;
    raw_.refs.push_back({slot, 0, key, s});
    return std::nullopt;
  }
  return static_cast<int>(k_.integer(key, -1, kBig, "a layer number, -1, `stop` or a layer name"));
}

void LayerReader::sequencing() {
  if (k_.has("in_sequences")) {
    const YAML::Node& n = k_.node("in_sequences");
    const std::string allowed =
        "a layer number (-1: the input), a layer name, or a non-empty list of these";
    if (n.IsSequence() && n.size() == 0) k_.bad("in_sequences", allowed);
    std::vector<YAML::Node> items;
    if (n.IsSequence())
      for (const auto& e : n) items.push_back(e);
    else
      items.push_back(n);
    std::vector<int> seq;
    for (const auto& e : items) {
      const Value v = resolve(e);
      if (v.kind == Kind::Str) {
        raw_.refs.push_back({Slot::InSequence, seq.size(), "in_sequences", v.text});
        raw_.in_sequence_strings.push_back(v.text);
        seq.push_back(-1);
      } else {
        seq.push_back(static_cast<int>(k_.integer_of("in_sequences", e, -2, kBig, allowed)));
      }
    }
    c_.in_sequences = seq;
  }
  if (k_.has("next_sequence")) c_.next_sequence = link("next_sequence", Slot::Next);
  if (k_.has("simulated_sequence"))
    c_.simulated_sequence = link("simulated_sequence", Slot::Simulated);
  if (k_.has("snoop_sequence"))
    c_.snoop_sequence =
        static_cast<int>(k_.integer("snoop_sequence", -kBig, kBig, "a layer number"));
}

void LayerReader::flags_and_groups() {
  if (k_.has("streaming")) c_.streaming = k_.boolean("streaming");
  if (k_.has("flatten")) c_.flatten = k_.boolean("flatten");
  const std::string g = k_.alias({"conv_groups", "groups"});
  if (!g.empty()) c_.groups = static_cast<int>(k_.integer(g, 1, kBig, "an integer >= 1"));
  if (k_.has("write_gap"))
    c_.write_gap = static_cast<int>(k_.integer("write_gap", 0, kBig, "an integer >= 0"));
  if (k_.has("bypass")) c_.bypass = k_.boolean("bypass");
  const std::string b = k_.alias({"bias_group", "bias_quadrant"});
  if (!b.empty()) {
    const YAML::Node& n = k_.node(b);
    const std::string allowed = "a group number 0..3 or a list of group numbers";
    std::vector<int> groups;
    if (n.IsSequence()) {
      if (n.size() == 0) k_.bad(b, allowed);
      for (const auto& e : n)
        groups.push_back(static_cast<int>(k_.integer_of(b, e, 0, kBig, allowed)));
    } else {
      groups.push_back(static_cast<int>(k_.integer(b, 0, kBig, allowed)));
    }
    c_.bias_group = groups;
  }
  if (k_.has("calcx4")) c_.calcx4 = k_.boolean("calcx4");
  if (k_.has("tcalc")) c_.tcalc = k_.boolean("tcalc");
  if (k_.has("readahead")) c_.readahead = k_.boolean("readahead");
}

void LayerReader::pool_dilation_and_output_pad() {
  if (k_.has("pool_dilation")) {
    // Range (1..MAX_POOL_DILATION) is a network-level check in izer: integers are kept as given.
    c_.pool_dilation = k_.pair("pool_dilation", -kBig, kBig, "an integer or a list of two");
    if (!c_.pooling_enabled)
      k_.bad("pool_dilation", k_.found("pool_dilation") + " without `max_pool`/`avg_pool`",
             "`pool_dilation` only in a pooling layer");
  }
  if (k_.has("output_pad")) {
    const int p = static_cast<int>(k_.integer("output_pad", 0, kBig, "an integer >= 0"));
    c_.output_padding = {p, p};
  } else if (c_.op == Operator::ConvTranspose2d) {
    c_.output_padding = {1, 1};
  }
  if (k_.has("output")) c_.output = k_.boolean("output");
}

void LayerReader::naming() {
  if (k_.has("name")) {
    const std::string name = k_.string("name", "a layer name (a string)");
    const std::string l = lower(name);
    if (l == "stop" || l == "input")
      k_.bad("name", "the reserved name `" + name + "`", "any name except stop and input");
    if (std::find(names_.begin(), names_.end(), l) != names_.end())
      k_.bad("name", "`" + name + "`, already the name of another layer",
             "a name no other layer uses (letter case is ignored)");
    names_.push_back(l);
    c_.name = name;
  }
  if (k_.has("weight_source")) {
    const Value v = k_.value("weight_source");
    if (v.kind == Kind::Str) {
      raw_.refs.push_back({Slot::WeightSource, 0, "weight_source", lower(v.text)});
    } else {
      c_.weight_source =
          static_cast<int>(k_.integer("weight_source", 0, kBig, "a layer number or a layer name"));
    }
  }
}

void LayerReader::buffers() {
  const std::string allowed = "an integer >= 1";
  if (k_.has("buffer_shift")) {
    c_.buffer_shift = static_cast<int>(k_.integer("buffer_shift", 1, kBig, allowed));
    if (!k_.has("in_sequences"))
      k_.bad("buffer_shift", k_.found("buffer_shift") + " without `in_sequences`",
             "`buffer_shift` only with `in_sequences` naming the buffer");
  }
  if (k_.has("buffer_insert")) {
    c_.buffer_insert = static_cast<int>(k_.integer("buffer_insert", 1, kBig, allowed));
    if (!k_.has("out_offset"))
      k_.bad("buffer_insert", k_.found("buffer_insert") + " without `out_offset`",
             "`buffer_insert` only with `out_offset`");
  }
}

// izer's final per-layer fix-ups. The Conv1d padding fix-up, applied to izer's shared default
// list, is the quirk the resolver reproduces from `padding_given` (docs/izer-checks.md).
void LayerReader::fix_up() {
  if (c_.op == Operator::Conv1d) {
    c_.padding[1] = 0;
    c_.pool[1] = 1;
    c_.pool_stride[1] = 1;
    c_.stride[1] = 1;
    c_.dilation[1] = 1;
    c_.pool_dilation[1] = 1;
  } else if (c_.op == Operator::Passthrough) {
    c_.kernel_size = {1, 1};
  } else if (c_.op == Operator::ConvTranspose2d) {
    c_.stride = {2, 2};
  }
}

// ------------------------------------------------------------------------------------------------
// The whole file

class ConfigParser {
 public:
  ConfigParser(std::string path, Device device, const std::string* text = nullptr)
      : path_(std::move(path)), spec_(device_spec(device)), text_(text) {}
  NetworkConfig run();

 private:
  YAML::Node load_yaml() const;
  void top_level(const YAML::Node& root);
  void extra_sections(const Keys& top);
  void entries(const Keys& top, const std::string& key, const std::vector<std::string>& keys,
               const std::vector<std::string>& required);
  void read_layers(const Keys& top);
  void read_layer(const YAML::Node& node, int list_index, int& sequence);
  int layer_sequence(const Keys& k, int list_index, int sequence) const;
  void close_holes();
  void check_data_buffer_inputs() const;
  void data_buffer(const Keys& top, const Keys& e, size_t index);
  void resolve_names();
  void check_pool_first() const;
  [[noreturn]] void layer_error(const RawLayer& l, const std::string& key, const std::string& found,
                                const std::string& allowed) const {
    l.keys->bad(key, found, allowed);
  }

  std::string path_;
  const DeviceSpec& spec_;
  const std::string* text_;  // the YAML text when given in memory, else read from path_
  NetworkConfig net_;
  std::vector<RawLayer> raw_;  // sorted by sequence after close_holes()
  std::vector<std::string> names_;
  std::optional<std::string> data_buffer_name_;
  bool op_seen_ = false;
};

// Calls visit(c, line, column) (1-based) for every character of `text` outside quoted strings
// and comments, as PyYAML reads them, until visit returns true.
template <typename Visit>
void scan_yaml_code(const std::string& text, Visit&& visit) {
  int line = 1, col = 0;
  char quote = 0;  // the open quote character, 0 outside quotes
  bool comment = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ++col;
    if (c == '\n') {
      ++line, col = 0, comment = false;
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (quote == '"' && c == '\\')
        ++i, ++col;
      else if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n'))
      comment = true;
    else if ((c == '"' || c == '\'') && (i == 0 || std::strchr(" \n[{,:-", text[i - 1])))
      quote = c;
    else if (visit(c, line, col))
      return;
  }
}

// PyYAML (izer's reader) refuses a tab anywhere outside a quoted string or a comment
// ("found character '\t' that cannot start any token"); yaml-cpp accepts some. Returns the
// 1-based line and column of the first such tab, or {0, 0}.
std::pair<int, int> find_refused_tab(const std::string& text) {
  std::pair<int, int> at{0, 0};
  scan_yaml_code(text, [&](char c, int line, int col) {
    if (c == '\t') at = {line, col};
    return c == '\t';
  });
  return at;
}

struct BracketAt {
  int first = 0, second = 0;  // 1-based line and column, 0 when every bracket is closed
  char third = 0;             // '[' or '{'
};

// The innermost `[` or `{` of a flow collection that is never closed (outside quoted strings and
// comments), for the message of yaml-cpp's "end of ... flow not found", which points at where
// the parser gave up rather than at the bracket.
BracketAt find_unclosed_bracket(const std::string& text) {
  std::vector<BracketAt> open;
  scan_yaml_code(text, [&](char c, int line, int col) {
    if (c == '[' || c == '{')
      open.push_back({line, col, c});
    else if ((c == ']' || c == '}') && !open.empty())
      open.pop_back();
    return false;
  });
  return open.empty() ? BracketAt{} : open.back();
}

constexpr std::streamoff kMaxYamlBytes = 1 << 20;

YAML::Node ConfigParser::load_yaml() const {
  std::stringstream text;
  if (text_) {
    if (static_cast<std::streamoff>(text_->size()) > kMaxYamlBytes)
      fail(ErrorKind::Config, path_ + ": " + std::to_string(text_->size()) +
                                  " bytes, more than the " + std::to_string(kMaxYamlBytes) +
                                  " bytes a network YAML may take (izer's are a few kB)");
    text << *text_;
  } else {
    std::ifstream in(path_, std::ios::binary);
    if (!in) fail(ErrorKind::IO, path_ + ": cannot open the network YAML file");
    // izer's network YAMLs take a few kB; the parser's tree takes many times the text.
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size > kMaxYamlBytes)
      fail(ErrorKind::Config, path_ + ": " + std::to_string(size) +
                                  " bytes, more than the " + std::to_string(kMaxYamlBytes) +
                                  " bytes a network YAML may take (izer's are a few kB); not "
                                  "read");
    text << in.rdbuf();
  }
  const auto tab = find_refused_tab(text.str());
  if (tab.first)
    fail(ErrorKind::Config, path_ + ":" + std::to_string(tab.first) +
                                ": not valid YAML for izer: found a tab character (column " +
                                std::to_string(tab.second) +
                                "); allowed: spaces (PyYAML accepts tabs only inside quoted "
                                "strings and comments)");
  try {
    return YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    std::string where = std::to_string(e.mark.line + 1);
    if (e.mark.column >= 0) where += ":" + std::to_string(e.mark.column + 1);
    std::string hint;
    if (e.msg.find("flow") != std::string::npos) {
      const auto open = find_unclosed_bracket(text.str());
      if (open.first)
        hint = " (the `" + std::string(1, open.third) + "` on line " +
               std::to_string(open.first) + ", column " + std::to_string(open.second) +
               " is never closed)";
    }
    fail(ErrorKind::Config, path_ + ":" + where + ": not valid YAML: " + e.msg + hint +
                                "; allowed: a YAML mapping with "
                                "`arch`, `dataset` and `layers`");
  }
}

std::string scope_of(int sequence, int list_index) {
  std::string s = "layer " + std::to_string(sequence) + " (YAML sequence";
  if (sequence != list_index) s += "; entry " + std::to_string(list_index) + " of `layers`";
  return s + ")";
}

NetworkConfig ConfigParser::run() {
  net_.file = path_;
  const YAML::Node root = load_yaml();
  if (!root.IsMap())
    fail(ErrorKind::Config, path_ + ":" + std::to_string(root.Mark().line + 1) + ": found " +
                                describe(root) +
                                " at the top level; allowed: a mapping with "
                                "`arch`, `dataset` and `layers`");
  top_level(root);
  close_holes();
  check_data_buffer_inputs();
  resolve_names();
  check_pool_first();
  for (auto& l : raw_) net_.layers.push_back(std::move(l.cfg));
  return net_;
}

void ConfigParser::top_level(const YAML::Node& root) {
  Keys top(root, path_, "");
  top.only({"arch", "dataset", "layers", "output_map", "unload", "data_buffer", "snoop", "weights",
            "bias"});
  for (const char* k : {"arch", "dataset", "layers"})
    top.require(k, "a file with `arch`, `dataset` and `layers`");
  net_.arch = top.string("arch", "the network architecture name (a string)");
  net_.dataset = top.string("dataset", "the data set name (a string)");
  if (top.has("output_map")) {
    const Value v = top.value("output_map");
    if (v.kind != Kind::Int || v.negative || v.overflow || v.magnitude == 0)
      top.bad("output_map", "an integer from 1 to 2**64-1 (izer takes no hex string here)");
    net_.output_map = v.magnitude;
  }
  extra_sections(top);
  read_layers(top);
}

void ConfigParser::extra_sections(const Keys& top) {
  if (top.has("snoop") && !top.node("snoop").IsNull() && !spec_.support_snoop)
    top.bad("snoop", std::string("`snoop` on ") + spec_.partnum,
            "`snoop` only on devices that support it (MAX78002)");
  for (const char* k : {"weights", "bias"})  // izer pastes them into a file name
    if (top.has(k) && !top.node(k).IsScalar() && !top.node(k).IsNull())
      top.bad(k, "the name of a sample file in izer's tests folder (a scalar)");
  entries(top, "unload", {"processors", "dim", "offset", "width", "write_gap", "channels"},
          {"processors", "dim", "channels", "offset"});
  entries(top, "data_buffer", {"processors", "dim", "offset", "width", "channels", "name"},
          {"processors", "dim", "channels", "offset", "name"});
  net_.has_unload = top.has("unload");
  net_.has_data_buffer = top.has("data_buffer");
}

// `unload` and `data_buffer`: lists of mappings with known and required keys.
void ConfigParser::entries(const Keys& top, const std::string& key,
                           const std::vector<std::string>& keys,
                           const std::vector<std::string>& required) {
  if (!top.has(key)) return;
  const YAML::Node& list = top.node(key);
  if (!list.IsSequence()) top.bad(key, "a list of mappings with " + join(keys, ", "));
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string scope = "`" + key + "` entry " + std::to_string(i);
    if (!list[i].IsMap()) top.bad(key, describe(list[i]) + " as " + scope, "a mapping");
    Keys e(list[i], path_, scope);
    e.only(keys);
    for (const auto& r : required)
      e.require(r, "every `" + key + "` entry has " + join(required, ", "));
    e.processor_map("processors");
    if (key == "data_buffer") data_buffer(top, e, i);
  }
}

// One `data_buffer` entry. izer simulates the first entry's shape under the last entry's name;
// ai8xsim takes exactly one buffer. izer reads `width` under a misspelt key, so its buffer is
// always 8-bit: any other width is refused rather than ignored.
void ConfigParser::data_buffer(const Keys& top, const Keys& e, size_t index) {
  if (index > 0)
    top.bad("data_buffer", std::to_string(index + 1) + " or more entries",
            "one entry (izer simulates only the first buffer; ai8xsim one buffer)");
  DataBufferConfig b;
  b.yaml_line = e.line();
  b.processors = e.processor_map("processors");
  const std::string dims = "an integer N >= 1 (1-D, N entries) or a list [N, M] (2-D)";
  const YAML::Node& n = e.node("dim");
  if (n.IsSequence() && n.size() != 2) e.bad("dim", dims);
  const auto d = e.pair("dim", 1, kBig, dims);
  b.dim = n.IsSequence() ? d : std::array<int, 2>{d[0], 1};
  if (int64_t{b.dim[0]} * b.dim[1] > spec_.mem_size)
    e.bad("dim", "more pixels than a data memory instance holds (" +
                     std::to_string(spec_.mem_size) + " words on " + spec_.partnum + ")");
  b.channels = static_cast<int>(e.integer("channels", 1, spec_.max_channels,
                                          "an integer from 1 to " +
                                              std::to_string(spec_.max_channels)));
  b.offset = static_cast<int>(
      e.integer("offset", 0, spec_.out_offset_limit() - 4,
                "a byte offset in the data memory instance, 0 to 0x" + hex(spec_.out_offset_limit() - 4)));
  if (e.has("width") && e.integer("width", 8, 32, "8") != 8)
    e.bad("width", "8 (izer ignores `width`: its buffer holds 8-bit data)");
  b.name = e.string("name", "the buffer name (a string)");
  data_buffer_name_ = b.name;  // izer compares it with the lower-cased reference as written
  net_.data_buffer = b;
}

void ConfigParser::read_layers(const Keys& top) {
  const YAML::Node& layers = top.node("layers");
  if (!layers.IsSequence() || layers.size() == 0)
    top.bad("layers", "a non-empty list of layer mappings");
  int sequence = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i].IsMap()) {
      top.bad("layers", describe(layers[i]) + " as entry " + std::to_string(i) + " of `layers`",
              "a list of layer mappings (`- processors: ...`)");
    }
    read_layer(layers[i], static_cast<int>(i), sequence);
  }
}

// The layer's sequence: the running count, or `sequence` when given.
int ConfigParser::layer_sequence(const Keys& k, int list_index, int sequence) const {
  const int max = spec_.max_layers;
  const std::string limit = "at most " + std::to_string(max) + " layers on " + spec_.partnum +
                            " (sequences 0.." + std::to_string(max - 1) + ")";
  if (k.has("sequence")) return static_cast<int>(k.integer("sequence", 0, max - 1, limit));
  if (sequence >= max)
    k.bad("layers",
          "layer sequence " + std::to_string(sequence) + " (entry " + std::to_string(list_index) +
              " of `layers`)",
          limit);
  return sequence;
}

void ConfigParser::read_layer(const YAML::Node& node, int list_index, int& sequence) {
  RawLayer raw;
  raw.list_index = list_index;
  raw.keys = std::make_unique<Keys>(node, path_, scope_of(sequence, list_index));
  sequence = layer_sequence(*raw.keys, list_index, sequence);
  raw.sequence = sequence;
  raw.keys->set_scope(scope_of(sequence, list_index));
  raw.keys->only(layer_keys());
  for (const auto& other : raw_)
    if (other.sequence == sequence)
      raw.keys->bad(raw.keys->has("sequence") ? "sequence" : "layers",
                    "layer sequence " + std::to_string(sequence) + ", already given on line " +
                        std::to_string(other.cfg.yaml_line),
                    "each layer sequence once");
  LayerReader(raw, spec_, names_, op_seen_).read();
  if (raw.keys->has("eltwise")) op_seen_ = true;
  raw_.push_back(std::move(raw));
  ++sequence;
}

// izer allows holes in the sequence numbers and closes them: layers are indexed in sequence
// order. References (`in_sequences: [3]`, and names, see resolve_names) stay sequence numbers,
// as in izer: with holes they do not match the closed-up indices.
void ConfigParser::close_holes() {
  std::stable_sort(raw_.begin(), raw_.end(),
                   [](const RawLayer& a, const RawLayer& b) { return a.sequence < b.sequence; });
}

void ConfigParser::check_data_buffer_inputs() const {
  if (!data_buffer_name_) return;
  for (const auto& l : raw_) {
    if (!l.cfg.in_sequences || l.cfg.in_sequences->size() != 1 ||
        l.in_sequence_strings != std::vector<std::string>{*data_buffer_name_})
      continue;
    for (const char* k : {"in_offset", "out_offset", "in_dim", "in_channels"})
      if (!l.keys->has(k))
        l.keys->bad(k, "nothing (the key is missing) in a layer reading the data buffer",
                    "a layer reading the data buffer states in_offset, out_offset, in_dim and "
                    "in_channels");
  }
}

// izer's name lookup: `input` is -1, then layer names (letter case ignored), then the data
// buffer's name (-2). A name stands for its layer's sequence number: izer closes the holes in
// every per-layer list except the names, so with holes a name does not give the closed-up index.
void ConfigParser::resolve_names() {
  for (auto& l : raw_) {
    for (const auto& r : l.refs) {
      const std::string n = lower(r.name);
      int found = n == "input" ? -1 : -3;
      for (size_t i = 0; found == -3 && i < raw_.size(); ++i)
        if (raw_[i].cfg.name && lower(*raw_[i].cfg.name) == n) found = raw_[i].sequence;
      if (found == -3 && data_buffer_name_ && n == *data_buffer_name_) found = -2;
      if (found == -3)
        layer_error(l, r.key, "the layer name `" + r.name + "`",
                    "`input` or the `name` of a layer in this file");
      if (r.slot == Slot::InSequence) (*l.cfg.in_sequences)[r.index] = found;
      if (r.slot == Slot::Next) l.cfg.next_sequence = found;
      if (r.slot == Slot::Simulated) l.cfg.simulated_sequence = found;
      if (r.slot == Slot::WeightSource) l.cfg.weight_source = found;
    }
  }
}

void ConfigParser::check_pool_first() const {
  for (const auto& l : raw_) {
    const LayerConfig& c = l.cfg;
    if (c.pool_first) continue;
    if (c.operands == 1 || (c.pool[0] == 1 && c.pool[1] == 1))
      layer_error(l, "pool_first",
                  "False with " + std::to_string(c.operands) + " operand(s) and pool " +
                      std::to_string(c.pool[0]) + "x" + std::to_string(c.pool[1]),
                  "`pool_first: False` only with both pooling (pool > 1) and an element-wise "
                  "operation");
  }
}

}  // namespace

namespace {

NetworkConfig parse_config(const std::string& path, Device device, const std::string* text) {
  try {
    return ConfigParser(path, device, text).run();
  } catch (const Error&) {
    throw;
  } catch (const YAML::Exception& e) {
    fail(ErrorKind::Config, path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg +
                                "; allowed: a valid izer network YAML");
  } catch (const std::exception& e) {
    fail(ErrorKind::Internal,
         path + ": unexpected failure reading the network YAML: " + std::string(e.what()));
  }
}

}  // namespace

NetworkConfig load_network_config(const std::string& path, Device device) {
  return parse_config(path, device, nullptr);
}

NetworkConfig parse_network_config(const std::string& text, const std::string& name,
                                   Device device) {
  return parse_config(name, device, &text);
}

}  // namespace ai8xsim
