#include "sim/io/npy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "ai8xsim/files.h"
#include "sim/io/zip.h"

namespace ai8xsim {

namespace {

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kMaxDims = 64;

// ---- element decoding -----------------------------------------------------------------------

template <typename T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the host is little-endian (x86-64, AArch64)
  return v;
}

double half_to_double(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  double v;
  if (exp == 0) v = std::ldexp(frac, -24);
  else if (exp == 31) v = frac ? std::numeric_limits<double>::quiet_NaN()
                               : std::numeric_limits<double>::infinity();
  else v = std::ldexp(frac + 1024, exp - 25);
  return sign ? -v : v;
}

double bfloat16_to_double(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Bool: case DType::I8: case DType::U8: return 1;
    case DType::I16: case DType::U16: case DType::F16: case DType::BF16: return 2;
    case DType::I32: case DType::U32: case DType::F32: return 4;
    case DType::I64: case DType::U64: case DType::F64: return 8;
  }
  return 1;
}

void decode_values(DType t, const char* p, size_t count, std::vector<double>& out) {
  out.reserve(out.size() + count);
  const size_t step = dtype_size(t);
  for (size_t i = 0; i < count; ++i, p += step) {
    switch (t) {
      case DType::Bool: out.push_back(*p != 0 ? 1.0 : 0.0); break;
      case DType::I8: out.push_back(load_le<int8_t>(p)); break;
      case DType::U8: out.push_back(load_le<uint8_t>(p)); break;
      case DType::I16: out.push_back(load_le<int16_t>(p)); break;
      case DType::U16: out.push_back(load_le<uint16_t>(p)); break;
      case DType::I32: out.push_back(load_le<int32_t>(p)); break;
      case DType::U32: out.push_back(load_le<uint32_t>(p)); break;
      case DType::I64: out.push_back(static_cast<double>(load_le<int64_t>(p))); break;
      case DType::U64: out.push_back(static_cast<double>(load_le<uint64_t>(p))); break;
      case DType::F16: out.push_back(half_to_double(load_le<uint16_t>(p))); break;
      case DType::BF16: out.push_back(bfloat16_to_double(load_le<uint16_t>(p))); break;
      case DType::F32: out.push_back(load_le<float>(p)); break;
      case DType::F64: out.push_back(load_le<double>(p)); break;
    }
  }
}

namespace {

// ---- the header: a Python dict literal -----------------------------------------------------

struct HeaderValue {
  enum Kind { String, Bool, Tuple, Other } kind = Other;
  std::string text;            // String: the contents; Other: the raw token
  bool flag = false;           // Bool
  std::vector<int64_t> ints;   // Tuple
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& what, ErrorKind kind)
      : s_(text), what_(what), kind_(kind) {}

  std::map<std::string, HeaderValue> parse_dict() {
    std::map<std::string, HeaderValue> out;
    expect('{', "a dict opening '{'");
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string("a quoted key");
      expect(':', "':' after key '" + key + "'");
      if (out.count(key)) bad("key '" + key + "' twice", "each key once");
      out[key] = parse_value(key);
      skip_space();
      if (peek() == ',') { ++i_; continue; }
      if (peek() != '}') bad(snippet(), "',' or '}' after the value of '" + key + "'");
    }
    ++i_;
    skip_space();
    if (i_ != s_.size()) bad("text after the dict: " + snippet(), "the dict alone");
    return out;
  }

  [[noreturn]] void bad(const std::string& found, const std::string& expected) const {
    fail(kind_, what_ + ": .npy header: found " + found + ", expected " + expected);
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  std::string snippet() const {
    if (i_ >= s_.size()) return "the end of the header";
    std::string t = s_.substr(i_, 24);
    for (char& c : t)
      if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
    return "'" + t + "'";
  }
  void expect(char c, const std::string& what) {
    skip_space();
    if (peek() != c) bad(snippet(), what);
    ++i_;
  }

  std::string parse_string(const std::string& what) {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') bad(snippet(), what);
    const size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos) bad("an unterminated string", what);
    std::string out = s_.substr(i_ + 1, end - i_ - 1);
    if (out.find('\\') != std::string::npos) bad("an escape in '" + out + "'", "a plain string");
    i_ = end + 1;
    return out;
  }

  int64_t parse_int(const std::string& key) {
    skip_space();
    const size_t start = i_;
    int64_t v = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      if (v > (std::numeric_limits<int64_t>::max() - 9) / 10)
        bad("a huge number in '" + key + "'", "a dimension below 2^63");
      v = v * 10 + (s_[i_++] - '0');
    }
    if (i_ == start) bad(snippet(), "a non-negative integer in the tuple of '" + key + "'");
    if (peek() == 'L') ++i_;  // Python 2 long suffix
    return v;
  }

  HeaderValue parse_tuple(const std::string& key) {
    HeaderValue v;
    v.kind = HeaderValue::Tuple;
    ++i_;  // '('
    while (true) {
      skip_space();
      if (peek() == ')') break;
      v.ints.push_back(parse_int(key));
      if (v.ints.size() > kMaxDims) bad("more than 64 dimensions", "at most 64");
      skip_space();
      if (peek() == ',') { ++i_; continue; }
      if (peek() != ')') bad(snippet(), "',' or ')' in the tuple of '" + key + "'");
    }
    ++i_;
    return v;
  }

  HeaderValue parse_value(const std::string& key) {
    skip_space();
    HeaderValue v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = HeaderValue::String;
      v.text = parse_string("a string");
    } else if (c == '(') {
      v = parse_tuple(key);
    } else if (s_.compare(i_, 4, "True") == 0 || s_.compare(i_, 5, "False") == 0) {
      v.kind = HeaderValue::Bool;
      v.flag = s_[i_] == 'T';
      i_ += v.flag ? 4 : 5;
    } else if (c == '[') {
      v.kind = HeaderValue::Other;
      v.text = "a list";
      skip_until_value_end();
    } else {
      bad(snippet(), "a string, True/False or a tuple as the value of '" + key + "'");
    }
    return v;
  }

  void skip_until_value_end() {
    int depth = 0;
    for (; i_ < s_.size(); ++i_) {
      const char c = s_[i_];
      if (c == '[' || c == '(') ++depth;
      if (c == ']' || c == ')') --depth;
      if (depth == 0) { ++i_; return; }
    }
  }

  const std::string& s_;
  const std::string& what_;
  ErrorKind kind_;
  size_t i_ = 0;
};

struct Header {
  DType dtype = DType::I64;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};

DType descr_to_dtype(const std::string& descr, HeaderParser& p) {
  const std::string found = "'descr': '" + descr + "'";
  if (descr.size() >= 2 && descr[1] == 'O')
    p.bad(found, "a numeric dtype; object arrays (pickled Python objects) are not supported: "
                 "save integers or floats");
  if (descr.size() < 3) p.bad(found, "a dtype like '<i8', '<f4' or '|b1'");
  const char order = descr[0];
  const std::string digits = descr.substr(2);
  for (char c : digits)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      p.bad(found, "a dtype like '<i8', '<f4' or '|b1' (no units, no sub-arrays)");
  const int size = digits.size() <= 3 ? std::stoi(digits) : 0;
  if (order != '<' && order != '|' && order != '=' && order != '>')
    p.bad(found, "a byte order of '<', '|' or '='");
  if (order == '>' && size > 1)
    p.bad(found, "little-endian ('<', '|' or '='); convert with arr.astype(arr.dtype."
                 "newbyteorder('<')) before saving");
  const std::map<std::string, DType> kinds = {
      {"b1", DType::Bool}, {"i1", DType::I8},  {"u1", DType::U8},  {"i2", DType::I16},
      {"u2", DType::U16},  {"i4", DType::I32}, {"u4", DType::U32}, {"i8", DType::I64},
      {"u8", DType::U64},  {"f2", DType::F16}, {"f4", DType::F32}, {"f8", DType::F64}};
  const auto it = kinds.find(descr.substr(1));
  if (it == kinds.end())
    p.bad(found, "bool, int8..int64, uint8..uint64 or float16/32/64 (complex, string, "
                 "datetime and void dtypes are not supported)");
  return it->second;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  NdArray a;
  a.shape = shape;
  return a.shape_str();
}

// Elements of `shape`; an Error when the byte count would not fit in memory addresses.
size_t checked_count(const std::vector<int64_t>& shape, size_t item, const std::string& what,
                     ErrorKind kind, const std::string& shape_text) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() / 2 / item;
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > limit / static_cast<uint64_t>(d))
      fail(kind, what + ": .npy header: found 'shape': " + shape_text +
                     ", expected a shape of fewer than 2^62 bytes");
    n *= static_cast<uint64_t>(d);
  }
  return static_cast<size_t>(n);
}

Header parse_header(std::string_view b, const std::string& what, ErrorKind kind) {
  if (b.size() < kMagicLen + 4 || b.compare(0, kMagicLen, kMagic, kMagicLen) != 0) {
    if (b.size() >= kMagicLen && b.compare(0, kMagicLen, kMagic, kMagicLen) == 0)
      fail(kind, what + ": .npy header: found a truncated header, expected the version and "
                        "header length after the magic");
    fail(kind, what + ": .npy header: found " +
                   (b.empty() ? std::string("an empty file") : "no \\x93NUMPY magic") +
                   ", expected a NumPy .npy file");
  }
  const int major = static_cast<uint8_t>(b[6]), minor = static_cast<uint8_t>(b[7]);
  if (major < 1 || major > 3 || minor != 0)
    fail(kind, what + ": .npy header version: found " + std::to_string(major) + "." +
                   std::to_string(minor) + ", expected 1.0, 2.0 or 3.0");
  size_t len = 0, start = 0;
  if (major == 1) {
    len = static_cast<uint8_t>(b[8]) | static_cast<size_t>(static_cast<uint8_t>(b[9])) << 8;
    start = 10;
  } else {
    if (b.size() < 12) fail(kind, what + ": .npy header: found a truncated header, expected a "
                                         "4-byte header length");
    for (int i = 3; i >= 0; --i) len = len << 8 | static_cast<uint8_t>(b[8 + i]);
    start = 12;
  }
  if (len > b.size() - start)
    fail(kind, what + ": .npy header: found " + std::to_string(b.size() - start) +
                   " header bytes, expected " + std::to_string(len) + " (truncated file)");
  const std::string text(b.substr(start, len));
  HeaderParser p(text, what, kind);
  const auto dict = p.parse_dict();
  for (const char* key : {"descr", "fortran_order", "shape"})
    if (!dict.count(key)) p.bad("no '" + std::string(key) + "' key", "the keys 'descr', "
                                                                      "'fortran_order', 'shape'");
  if (dict.size() != 3) p.bad(std::to_string(dict.size()) + " keys",
                              "exactly 'descr', 'fortran_order' and 'shape'");
  const HeaderValue& descr = dict.at("descr");
  if (descr.kind != HeaderValue::String)
    p.bad("'descr': " + (descr.text.empty() ? std::string("a non-string") : descr.text),
          "a simple dtype string; structured (record) dtypes are not supported");
  const HeaderValue& order = dict.at("fortran_order");
  if (order.kind != HeaderValue::Bool) p.bad("a non-boolean 'fortran_order'", "True or False");
  if (order.flag)
    p.bad("'fortran_order': True", "False (C order); save np.ascontiguousarray(arr) instead");
  const HeaderValue& shape = dict.at("shape");
  if (shape.kind != HeaderValue::Tuple) p.bad("a non-tuple 'shape'", "a tuple of integers");
  Header h;
  h.dtype = descr_to_dtype(descr.text, p);
  h.shape = shape.ints;
  h.data_offset = start + len;
  return h;
}

}  // namespace

NpyData locate_npy(std::string_view bytes, const std::string& what, ErrorKind kind) {
  const Header h = parse_header(bytes, what, kind);
  NpyData d;
  d.dtype = h.dtype;
  d.shape = h.shape;
  const size_t item = dtype_size(h.dtype);
  d.count = checked_count(h.shape, item, what, kind, shape_text(h.shape));
  const size_t available = bytes.size() - h.data_offset;
  if (available / item < d.count)
    fail(kind, what + ": .npy data: found " + std::to_string(available) + " bytes, expected " +
                   std::to_string(d.count * item) + " for shape " + shape_text(h.shape) +
                   " of " + dtype_name(h.dtype) + " (truncated file)");
  d.data = bytes.data() + h.data_offset;
  return d;
}

NdArray parse_npy(const std::string& bytes, const std::string& what, ErrorKind kind) {
  const NpyData d = locate_npy(bytes, what, kind);
  NdArray a;
  a.dtype = d.dtype;
  a.shape = d.shape;
  decode_values(d.dtype, d.data, d.count, a.values);
  return a;
}

NdArray read_npy(const std::string& path, ErrorKind kind) {
  return parse_npy(read_file(path), "file " + path, kind);
}

// ---- a .npy file read in place ----------------------------------------------------------------

struct NpyFile::Storage {
  void* map = MAP_FAILED;
  size_t map_size = 0;
  std::string bytes;  // when the file cannot be mapped (a pipe, an empty file)
  ~Storage() {
    if (map != MAP_FAILED) ::munmap(map, map_size);
  }
};

NpyFile NpyFile::open(const std::string& path, ErrorKind kind) {
  auto storage = std::make_shared<Storage>();
  std::string_view bytes;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    storage->map_size = static_cast<size_t>(st.st_size);
    storage->map = ::mmap(nullptr, storage->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  if (fd >= 0) ::close(fd);
  if (storage->map != MAP_FAILED) {
    bytes = std::string_view(static_cast<const char*>(storage->map), storage->map_size);
  } else {
    storage->bytes = read_file(path);  // names the file and the reason when it cannot be read
    bytes = storage->bytes;
  }
  NpyFile f;
  f.what = "file " + path;
  static_cast<NpyData&>(f) = locate_npy(bytes, f.what, kind);
  f.storage_ = std::move(storage);
  return f;
}

namespace {

NdArrayMap npz_arrays(const ZipArchive& zip, ErrorKind kind, const LoadLimits& limits = {},
                      const std::function<std::string(const std::string&)>& refuse = {}) {
  NdArrayMap out;
  for (const ZipEntry& e : zip.entries()) {  // every name checked before anything is inflated
    const std::string what = "file " + zip.name() + ", entry '" + e.name + "'";
    if (e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0)
      fail(kind, what + ": found an entry that is not a .npy array, expected only .npy entries "
                        "(as numpy.savez writes)");
    const std::string why = refuse ? refuse(e.name.substr(0, e.name.size() - 4)) : "";
    if (!why.empty()) fail(kind, "file " + zip.name() + ": " + why);
  }
  uint64_t elements = 0;  // decoded so far; each takes at least one byte of its entry
  for (const ZipEntry& e : zip.entries()) {
    const std::string what = "file " + zip.name() + ", entry '" + e.name + "'";
    if (e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0)
      fail(kind, what + ": found an entry that is not a .npy array, expected only .npy entries "
                        "(as numpy.savez writes)");
    const std::string key = e.name.substr(0, e.name.size() - 4);
    if (out.count(key)) fail(kind, what + ": the array '" + key + "' appears twice");
    if (e.uncompressed_size > 4096 &&  // a .npy header takes at most a few kB
        e.uncompressed_size - 4096 > limits.max_elements - elements)
      fail(kind, what + ": declares " + std::to_string(e.uncompressed_size) +
                     " bytes, more than the arrays may still hold (" +
                     std::to_string(limits.max_elements) + " elements in all, " + limits.basis +
                     "); not inflated");
    NdArray& a = out[key] = parse_npy(zip.read(e), what, kind);
    elements += a.values.size();
    if (elements > limits.max_elements)
      fail(kind, what + ": the arrays hold more than " + std::to_string(limits.max_elements) +
                     " elements in all, the limit (" + limits.basis + ")");
  }
  return out;
}

}  // namespace

NdArrayMap read_npz(const std::string& path, ErrorKind kind) {
  return npz_arrays(ZipArchive::open(path, kind), kind);
}

NdArrayMap read_npz(const std::string& path, ErrorKind kind, const LoadLimits& limits,
                    const std::function<std::string(const std::string& key)>& refuse) {
  return npz_arrays(ZipArchive::open(path, kind, limits), kind, limits, refuse);
}

NdArrayMap parse_npz(std::string bytes, const std::string& name, ErrorKind kind,
                     const LoadLimits& limits,
                     const std::function<std::string(const std::string& key)>& refuse) {
  if (bytes.size() > limits.max_bytes)
    fail(kind, "file " + name + ": " + std::to_string(bytes.size()) + " bytes, more than the " +
                   std::to_string(limits.max_bytes) + " bytes allowed (" + limits.basis + ")");
  ZipArchive zip = ZipArchive::from_bytes(std::move(bytes), name, kind);
  zip.limit(limits.max_bytes, limits.basis);
  return npz_arrays(zip, kind, limits, refuse);
}

NdArrayMap parse_npz(std::string bytes, const std::string& name, ErrorKind kind) {
  return npz_arrays(ZipArchive::from_bytes(std::move(bytes), name, kind), kind);
}

namespace {

std::string shape_literal(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) fail(ErrorKind::Internal, "encode_npy: negative dimension in " +
                                             shape_literal(shape));
    count *= d;
  }
  return count;
}

std::string npy_header(const char* descr, const std::vector<int64_t>& shape) {
  std::string dict = "{'descr': '" + std::string(descr) +
                     "', 'fortran_order': False, 'shape': " + shape_literal(shape) + ", }";
  // Pad with spaces so that the data starts on a 64-byte boundary; end with a newline.
  const size_t total = kMagicLen + 4 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 0xffff) fail(ErrorKind::Internal, "encode_npy: header too long");
  std::string out(kMagic, kMagicLen);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  out += dict;
  return out;
}

template <typename T>
std::string encode_npy(const char* descr, const std::vector<int64_t>& shape,
                       const std::vector<T>& data) {
  const int64_t count = element_count(shape);
  if (count != static_cast<int64_t>(data.size()))
    fail(ErrorKind::Internal, "encode_npy: shape " + shape_literal(shape) + " holds " +
                                  std::to_string(count) + " values, the data " +
                                  std::to_string(data.size()));
  std::string out = npy_header(descr, shape);
  out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(T));
  return out;
}

}  // namespace

std::string npy_header_int32(const std::vector<int64_t>& shape) {
  element_count(shape);  // checks the dimensions
  return npy_header("<i4", shape);
}

std::string encode_npy_int32(const std::vector<int64_t>& shape, const std::vector<int32_t>& data) {
  return encode_npy("<i4", shape, data);
}

std::string encode_npy_int64(const std::vector<int64_t>& shape, const std::vector<int64_t>& data) {
  return encode_npy("<i8", shape, data);
}

void write_npy_int32(const std::string& path, const std::vector<int64_t>& shape,
                     const std::vector<int32_t>& data) {
  write_file_atomically(path, encode_npy_int32(shape, data));
}

void write_npy_int64(const std::string& path, const std::vector<int64_t>& shape,
                     const std::vector<int64_t>& data) {
  write_file_atomically(path, encode_npy_int64(shape, data));
}

}  // namespace ai8xsim
