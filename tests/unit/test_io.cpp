// The file loaders: .npy / .npz, the zip reader, gzip, atomic writes and the torch checkpoint
// reader. Fixtures come from tests/data/make_fixtures.py, whose value formulas are recomputed
// here; error paths use small crafted byte strings.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "ai8xsim/error.h"
#include "ai8xsim/files.h"
#include "sim/io/npy.h"
#include "sim/io/torch_checkpoint.h"
#include "sim/io/zip.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using namespace ai8xsim::testing;

namespace {

const std::string kData = AI8XSIM_SOURCE_DIR "/tests/data/io/";

// ---- the fixture formulas (see make_fixtures.py) -------------------------------------------
std::vector<double> int_values(size_t n, bool is_unsigned) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(static_cast<double>((i * 37) % 251) -
                                             (is_unsigned ? 0 : 100));
  return v;
}
std::vector<double> float_values(size_t n) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back((static_cast<double>(i) - 2) * 0.75);
  return v;
}
std::vector<double> bool_values(size_t n) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(i % 3 == 0 ? 1 : 0);
  return v;
}

// ---- error capture -------------------------------------------------------------------------

// ---- byte builders -------------------------------------------------------------------------
void put_le(std::string& s, uint64_t v, int n) {
  for (int k = 0; k < n; ++k) s += static_cast<char>((v >> (8 * k)) & 0xff);
}

// A zip of stored entries, as torch.save writes them.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, central;
  for (const auto& [name, data] : entries) {
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const uint64_t offset = out.size();
    put_le(out, 0x04034b50, 4);
    put_le(out, 20, 2); put_le(out, 0, 2); put_le(out, 0, 2); put_le(out, 0, 4);
    put_le(out, crc, 4); put_le(out, data.size(), 4); put_le(out, data.size(), 4);
    put_le(out, name.size(), 2); put_le(out, 0, 2);
    out += name + data;
    put_le(central, 0x02014b50, 4);
    put_le(central, 20, 2); put_le(central, 20, 2); put_le(central, 0, 2); put_le(central, 0, 2);
    put_le(central, 0, 4); put_le(central, crc, 4); put_le(central, data.size(), 4);
    put_le(central, data.size(), 4); put_le(central, name.size(), 2); put_le(central, 0, 2);
    put_le(central, 0, 2); put_le(central, 0, 2); put_le(central, 0, 2); put_le(central, 0, 4);
    put_le(central, offset, 4);
    central += name;
  }
  const uint64_t cd_offset = out.size();
  out += central;
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 2); put_le(out, 0, 2);
  put_le(out, entries.size(), 2); put_le(out, entries.size(), 2);
  put_le(out, central.size(), 4); put_le(out, cd_offset, 4); put_le(out, 0, 2);
  return out;
}

// Pickle opcodes, protocol 2.
struct Pickle {
  std::string b = std::string("\x80\x02", 2);
  Pickle& op(char c) { b += c; return *this; }
  Pickle& str(const std::string& s) { b += 'X'; put_le(b, s.size(), 4); b += s; return *this; }
  Pickle& i1(int v) { b += 'K'; b += static_cast<char>(v); return *this; }
  Pickle& global(const std::string& m, const std::string& n) {
    b += 'c'; b += m + "\n" + n + "\n"; return *this;
  }
  std::string done() { return b + "."; }
};

// A one-entry state dict: {'epoch': 1, 'state_dict': {'w': <value built by `value`>}}.
std::string checkpoint_with(const std::function<void(Pickle&)>& value) {
  Pickle p;
  p.op('}').op('(').str("epoch").i1(1).str("state_dict").op('}').op('(').str("w");
  value(p);
  p.op('u').op('u');
  return p.done();
}

// A float tensor of `numel` elements in storage "0" with the given size and stride.
void float_tensor(Pickle& p, int numel, std::vector<int> size, std::vector<int> stride,
                  int offset = 0) {
  p.global("torch._utils", "_rebuild_tensor_v2").op('(');
  p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").i1(numel);
  p.op('t').op('Q').i1(offset).op('(');
  for (int s : size) p.i1(s);
  p.op('t').op('(');
  for (int s : stride) p.i1(s);
  p.op('t').op('\x89').global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
}

std::string floats_bytes(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    const float f = static_cast<float>(i);
    s.append(reinterpret_cast<const char*>(&f), 4);
  }
  return s;
}

TorchCheckpoint torch_from(const std::string& pickle, const std::string& storage = "") {
  std::vector<std::pair<std::string, std::string>> entries = {{"ck/data.pkl", pickle}};
  if (!storage.empty()) entries.push_back({"ck/data/0", storage});
  return read_torch_checkpoint(ZipArchive::from_bytes(make_zip(entries), "crafted.pth.tar"));
}

std::string gzip_bytes(const std::string& data) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

// ---- NdArray ---------------------------------------------------------------------------------

TEST_CASE("NdArray helpers: shape text, integrality, dtype names") {
  NdArray a{DType::F32, {3, 32, 32}, {}};
  CHECK(a.shape_str() == "(3, 32, 32)");
  CHECK(NdArray{DType::I8, {5}, {}}.shape_str() == "(5,)");
  CHECK(NdArray{DType::I8, {}, {1}}.shape_str() == "()");
  a.values = {1, -2, 3};
  CHECK(a.all_integral());
  a.values.push_back(0.5);
  CHECK_FALSE(a.all_integral());
  a.values = {NAN};
  CHECK_FALSE(a.all_integral());
  CHECK(std::string(dtype_name(DType::BF16)) == "bfloat16");
  CHECK(dtype_is_integer(DType::Bool));
  CHECK_FALSE(dtype_is_integer(DType::F16));
}

// ---- .npy ------------------------------------------------------------------------------------

TEST_CASE("read_npy reads every numeric dtype of the fixtures") {
  struct Case { const char* file; DType dtype; };
  const Case cases[] = {{"b1", DType::Bool}, {"i1", DType::I8},  {"u1", DType::U8},
                        {"i2", DType::I16},  {"u2", DType::U16}, {"i4", DType::I32},
                        {"u4", DType::U32},  {"i8", DType::I64}, {"u8", DType::U64},
                        {"f2", DType::F16},  {"f4", DType::F32}, {"f8", DType::F64}};
  for (const Case& c : cases) {
    CAPTURE(c.file);
    const NdArray a = read_npy(kData + c.file + ".npy");
    CHECK(a.dtype == c.dtype);
    CHECK(a.shape == std::vector<int64_t>{2, 3});
    const std::string f = c.file;
    const std::vector<double> expect = f == "b1"   ? bool_values(6)
                                       : f[0] == 'f' ? float_values(6)
                                                     : int_values(6, f[0] == 'u');
    CHECK(a.values == expect);
  }
}

TEST_CASE("read_npy reads format versions 2.0 and 3.0, 0-d and empty arrays") {
  const NdArray v2 = read_npy(kData + "v2.npy");
  CHECK(v2.dtype == DType::I16);
  CHECK(v2.values == int_values(4, false));
  const NdArray v3 = read_npy(kData + "v3.npy");
  CHECK(v3.shape == std::vector<int64_t>{2, 2});
  CHECK(v3.values == float_values(4));
  const NdArray s = read_npy(kData + "scalar.npy");
  CHECK(s.shape.empty());
  CHECK(s.values == std::vector<double>{-7});
  const NdArray e = read_npy(kData + "empty.npy");
  CHECK(e.shape == std::vector<int64_t>{0, 3});
  CHECK(e.values.empty());
}

TEST_CASE("read_npy refuses fortran order, big-endian and object arrays with the fix") {
  Caught c = catch_error([] { read_npy(kData + "fortran.npy"); });
  CHECK(c.thrown);
  CHECK(c.kind == ErrorKind::Input);
  CHECK(c.contains("fortran.npy"));
  CHECK(c.contains("'fortran_order': True"));
  c = catch_error([] { read_npy(kData + "bigendian.npy"); });
  CHECK(c.contains("'descr': '>i4'"));
  CHECK(c.contains("little-endian"));
  c = catch_error([] { read_npy(kData + "object.npy"); });
  CHECK(c.contains("object arrays"));
}

TEST_CASE("parse_npy: truncated data, bad magic, bad version, broken headers") {
  const std::string good = encode_npy_int32({2, 3}, {1, 2, 3, 4, 5, 6});
  Caught c = catch_error([&] { parse_npy(good.substr(0, good.size() - 1), "file t.npy"); });
  CHECK(c.contains("file t.npy: .npy data: found 23 bytes, expected 24"));
  c = catch_error([&] { parse_npy("PK\x03\x04 not numpy", "file t.npy"); });
  CHECK(c.contains("no \\x93NUMPY magic"));
  c = catch_error([&] { parse_npy("", "file t.npy"); });
  CHECK(c.contains("an empty file"));
  std::string v9 = good;
  v9[6] = 9;
  c = catch_error([&] { parse_npy(v9, "file t.npy"); });
  CHECK(c.contains("version: found 9.0, expected 1.0, 2.0 or 3.0"));
  c = catch_error([&] { parse_npy(good.substr(0, 40), "file t.npy"); });
  CHECK(c.contains("header bytes, expected"));

  auto with_header = [](const std::string& dict) {
    std::string s("\x93NUMPY\x01\x00", 8);
    put_le(s, dict.size(), 2);
    return s + dict + std::string(64, '\0');
  };
  c = catch_error([&] { parse_npy(with_header("{'descr': '<i4', 'shape': (2,), }"), "x"); });
  CHECK(c.contains("no 'fortran_order' key"));
  c = catch_error([&] {
    parse_npy(with_header("{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}"), "x");
  });
  CHECK(c.contains("'descr': '<c8'"));
  c = catch_error([&] {
    parse_npy(with_header("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,)}"),
              "x");
  });
  CHECK(c.contains("structured"));
  c = catch_error([&] {
    parse_npy(with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (2, -1)}"), "x");
  });
  CHECK(c.contains("non-negative integer"));
  c = catch_error([&] { parse_npy(with_header("not a dict"), "x"); });
  CHECK(c.contains("expected a dict opening"));
  c = catch_error([&] {
    parse_npy(with_header("{'descr': '<i8', 'fortran_order': False, "
                          "'shape': (4294967296, 4294967296)}"),
              "x");
  });
  CHECK(c.contains("2^62"));
}

TEST_CASE("write_npy_int32 / int64 round-trip through an atomic write") {
  const std::string dir = temp_dir();
  const std::vector<int32_t> v32 = {-2147483647 - 1, -1, 0, 1, 127, 2147483647};
  write_npy_int32(dir + "/a.npy", {3, 2}, v32);
  const NdArray a = read_npy(dir + "/a.npy");
  CHECK(a.dtype == DType::I32);
  CHECK(a.shape == std::vector<int64_t>{3, 2});
  CHECK(std::vector<double>(v32.begin(), v32.end()) == a.values);
  const std::string raw = read_file(dir + "/a.npy");
  CHECK((10 + (static_cast<uint8_t>(raw[8]) | static_cast<uint8_t>(raw[9]) << 8)) % 64 == 0);

  const std::vector<int64_t> v64 = {-(int64_t{1} << 40), 5, int64_t{1} << 50};
  write_npy_int64(dir + "/b.npy", {3}, v64);
  const NdArray b = read_npy(dir + "/b.npy");
  CHECK(b.dtype == DType::I64);
  CHECK(b.values == std::vector<double>{-std::ldexp(1, 40), 5, std::ldexp(1, 50)});
  write_npy_int64(dir + "/b.npy", {}, {9});  // overwrite in place
  CHECK(read_npy(dir + "/b.npy").values == std::vector<double>{9});
  CHECK_THROWS_AS(encode_npy_int32({4}, {1, 2}), Error);
  std::remove((dir + "/a.npy").c_str());
  std::remove((dir + "/b.npy").c_str());
  CHECK(rmdir(dir.c_str()) == 0);  // no temporary files were left behind
}

// ---- files -----------------------------------------------------------------------------------

TEST_CASE("files: read errors, atomic writes into new directories, gzip") {
  Caught c = catch_error([] { read_file("/nonexistent/dir/x.bin"); });
  CHECK(c.kind == ErrorKind::IO);
  CHECK(c.contains("file /nonexistent/dir/x.bin: cannot open"));
  c = catch_error([] { write_file_atomically("/nonexistent/dir/x.bin", "x"); });
  CHECK(c.kind == ErrorKind::IO);
  CHECK(c.contains("/nonexistent/dir/x.bin"));

  const std::string dir = temp_dir();
  write_files_atomically({{dir + "/sub/deeper/one.txt", "1"}, {dir + "/sub/deeper/two.txt", "22"}},
                         dir + "/sub/deeper");
  CHECK(read_file(dir + "/sub/deeper/one.txt") == "1");
  CHECK(read_file(dir + "/sub/deeper/two.txt") == "22");

  const std::string text = "izer wrote this line\n" + std::string(5000, 'z');
  CHECK(gunzip(gzip_bytes(text), "mem") == text);
  CHECK(gunzip(gzip_bytes("ab") + gzip_bytes("cd"), "mem") == "abcd");  // two members
  write_file_atomically(dir + "/t.gz", gzip_bytes(text));
  CHECK(gunzip_file(dir + "/t.gz") == text);
  const std::string gz = gzip_bytes(text);
  c = catch_error([&] { gunzip(gz.substr(0, gz.size() / 2), "file t.gz"); });
  CHECK(c.contains("file t.gz: truncated gzip data"));
  c = catch_error([&] { gunzip("plain text, not gzip", "file t.gz"); });
  CHECK(c.contains("corrupt gzip data"));

  for (const char* f : {"/sub/deeper/one.txt", "/sub/deeper/two.txt", "/t.gz"})
    std::remove((dir + f).c_str());
  rmdir((dir + "/sub/deeper").c_str());
  rmdir((dir + "/sub").c_str());
  CHECK(rmdir(dir.c_str()) == 0);
}

// ---- zip and .npz ----------------------------------------------------------------------------

TEST_CASE("read_npz reads stored and deflated archives alike") {
  for (const char* f : {"stored.npz", "deflated.npz"}) {
    CAPTURE(f);
    const NdArrayMap m = read_npz(kData + f);
    REQUIRE(m.size() == 2);
    CHECK(m.at("first").dtype == DType::I64);
    CHECK(m.at("first").shape == std::vector<int64_t>{3, 4});
    CHECK(m.at("first").values == int_values(12, false));
    CHECK(m.at("second").values == float_values(5));
  }
}

TEST_CASE("ZipArchive reads ZIP64 fields in the entry and the end records") {
  const ZipArchive z = ZipArchive::open(kData + "zip64.zip");
  REQUIRE(z.entries().size() == 1);
  CHECK(z.entries()[0].method == 8);
  std::string expect;
  for (int k = 0; k < 3; ++k) expect += "ZIP64 entry contents\n";
  CHECK(z.read("hello.txt") == expect);
}

TEST_CASE("ZipArchive errors: not a zip, truncated, bad CRC, unsupported compression") {
  const std::string npz = read_file(kData + "stored.npz");
  Caught c = catch_error([] { ZipArchive::from_bytes("just some text that is long enough", "a.zip"); });
  CHECK(c.kind == ErrorKind::Checkpoint);
  CHECK(c.contains("file a.zip: not a zip archive"));
  c = catch_error([&] { ZipArchive::from_bytes(npz.substr(0, npz.size() - 30), "a.npz"); });
  CHECK(c.contains("truncated"));
  c = catch_error([] { ZipArchive::from_bytes("PK", "a.zip"); });
  CHECK(c.contains("too short"));

  // Flip one byte of the first entry's data: its CRC-32 no longer matches.
  std::string corrupt = npz;
  const ZipArchive z = ZipArchive::from_bytes(npz, "a.npz");
  const ZipEntry first = z.entries()[0];
  const size_t data_at = first.local_header_offset + 30 + first.name.size() + 100;
  corrupt[data_at] = static_cast<char>(corrupt[data_at] ^ 0x55);
  c = catch_error([&] { ZipArchive::from_bytes(corrupt, "a.npz").read(first.name); });
  CHECK(c.contains("file a.npz, zip entry '" + first.name + "': bad CRC-32"));

  // Declare bzip2 (method 12) in the central directory.
  std::string bz = make_zip({{"x.bin", "payload"}});
  const size_t central = bz.find("PK\x01\x02");
  bz[central + 10] = 12;
  c = catch_error([&] { ZipArchive::from_bytes(bz, "b.zip").read("x.bin"); });
  CHECK(c.contains("unsupported compression (bzip2)"));
  c = catch_error([&] { ZipArchive::from_bytes(make_zip({{"x", "y"}}), "b.zip").read("nope"); });
  CHECK(c.contains("no zip entry named 'nope'"));

  // A central directory that points past the end of the file.
  std::string lying = make_zip({{"x.bin", "payload"}});
  const size_t end = lying.rfind("PK\x05\x06");
  lying[end + 16] = '\x7f';
  c = catch_error([&] { ZipArchive::from_bytes(lying, "c.zip"); });
  CHECK(c.contains("central directory"));
}

TEST_CASE("read_npz names the entry of a broken array") {
  const std::string dir = temp_dir();
  write_file_atomically(dir + "/bad.npz", make_zip({{"ok.npy", encode_npy_int64({1}, {4})},
                                                    {"bad.npy", "not an array"}}));
  Caught c = catch_error([&] { read_npz(dir + "/bad.npz"); });
  CHECK(c.contains("entry 'bad.npy'"));
  CHECK(c.kind == ErrorKind::Checkpoint);
  write_file_atomically(dir + "/odd.npz", make_zip({{"notes.txt", "hello"}}));
  c = catch_error([&] { read_npz(dir + "/odd.npz"); });
  CHECK(c.contains("not a .npy array"));
  std::remove((dir + "/bad.npz").c_str());
  std::remove((dir + "/odd.npz").c_str());
  rmdir(dir.c_str());
}

// ---- torch checkpoints -----------------------------------------------------------------------

TEST_CASE("read_torch_checkpoint: the fixture's metadata, key order and every tensor") {
  const TorchCheckpoint ck = read_torch_checkpoint(kData + "tiny-q.pth.tar");
  CHECK(ck.has_state_dict);
  CHECK(ck.metadata.at("epoch") == "7");
  CHECK(ck.metadata.at("arch") == "TinyNet");
  CHECK(ck.metadata.at("best") == "0.5");
  CHECK(ck.metadata.at("flag") == "True");
  CHECK(ck.metadata.at("nothing") == "None");
  CHECK(ck.metadata.count("optimizer_type") == 0);  // a class reference, not a scalar
  CHECK(ck.metadata.count("extras") == 0);
  const std::vector<std::string> order = {"conv.op.weight", "conv.weight_bits", "transposed",
                                          "window", "param", "i1", "f2", "f8", "b1", "i2", "i4",
                                          "u1", "u2", "expanded", "scalar"};
  CHECK(ck.keys == order);

  const NdArray& w = ck.tensors.at("conv.op.weight");
  CHECK(w.dtype == DType::F32);
  CHECK(w.shape == std::vector<int64_t>{2, 1, 3, 3});
  CHECK(w.values == float_values(18));
  CHECK(ck.tensors.at("conv.weight_bits").values == std::vector<double>{8});
  CHECK(ck.tensors.at("conv.weight_bits").dtype == DType::I64);

  // A 3 x 4 storage read as its 4 x 3 transpose (stride (1, 4)): element [r][c] = base[c*4+r].
  const std::vector<double> base = float_values(12);
  const NdArray& t = ck.tensors.at("transposed");
  CHECK(t.shape == std::vector<int64_t>{4, 3});
  for (int r = 0; r < 4; ++r)
    for (int col = 0; col < 3; ++col) CHECK(t.values[r * 3 + col] == base[col * 4 + r]);
  CHECK(ck.tensors.at("window").values ==
        std::vector<double>(base.begin() + 2, base.begin() + 7));
  const NdArray& ex = ck.tensors.at("expanded");  // stride 0 repeats a row
  CHECK(ex.values == std::vector<double>{base[1], base[2], base[1], base[2], base[1], base[2]});
  CHECK(ck.tensors.at("scalar").shape.empty());
  CHECK(ck.tensors.at("scalar").values == std::vector<double>{base[5]});
  CHECK(ck.tensors.at("param").values == float_values(3));

  struct Typed { const char* key; DType dtype; std::vector<double> values; };
  const Typed typed[] = {{"i1", DType::I8, int_values(6, false)},
                         {"f2", DType::F16, float_values(6)},
                         {"f8", DType::F64, float_values(6)},
                         {"b1", DType::Bool, bool_values(6)},
                         {"i2", DType::I16, int_values(6, false)},
                         {"i4", DType::I32, int_values(6, false)},
                         {"u1", DType::U8, int_values(6, true)},
                         {"u2", DType::U16, int_values(6, true)}};  // v3 over an untyped storage
  for (const Typed& x : typed) {
    CAPTURE(x.key);
    CHECK(ck.tensors.at(x.key).dtype == x.dtype);
    CHECK(ck.tensors.at(x.key).shape == std::vector<int64_t>{2, 3});
    CHECK(ck.tensors.at(x.key).values == x.values);
  }
}

TEST_CASE("read_torch_checkpoint: a crafted checkpoint with a strided tensor") {
  const TorchCheckpoint ck =
      torch_from(checkpoint_with([](Pickle& p) { float_tensor(p, 6, {2, 2}, {1, 3}, 1); }),
                 floats_bytes(6));
  REQUIRE(ck.keys == std::vector<std::string>{"w"});
  // element [r][c] = storage[1 + r + 3c]
  CHECK(ck.tensors.at("w").values == std::vector<double>{1, 4, 2, 5});
}

TEST_CASE("read_torch_checkpoint errors: opcodes, truncation, globals, storages") {
  auto error_of = [](const std::string& pickle, const std::string& storage = "") {
    return catch_error([&] { torch_from(pickle, storage); });
  };
  Caught c = error_of(Pickle().op('}').op('\xff').done());
  CHECK(c.kind == ErrorKind::Checkpoint);
  CHECK(c.contains("crafted.pth.tar, record 'ck/data.pkl': pickle: unsupported opcode 0xff"));
  c = error_of(Pickle().op('I').done());  // protocol-0 INT
  CHECK(c.contains("unsupported opcode 0x49 ('I')"));
  c = error_of(std::string("\x80\x02}(X\x05\x00\x00\x00" "ep", 12));
  CHECK(c.contains("truncated data"));
  c = error_of(Pickle().op('u').done());
  CHECK(c.contains("no MARK"));
  c = error_of(Pickle().op('h').done() + "\x05.");
  CHECK(c.contains("memo entry"));
  c = error_of(Pickle().op('0').done());
  CHECK(c.contains("stack underflow"));
  c = error_of(Pickle().op(']').done());
  CHECK(c.contains("the checkpoint is a list, expected a dict"));

  // An object of an unknown class where a tensor belongs.
  c = error_of(checkpoint_with([](Pickle& p) {
    p.global("argparse", "Namespace").op(')').op('R');
  }));
  CHECK(c.contains("state_dict entry 'w' is an object of class 'argparse.Namespace', expected a "
                   "tensor"));
  c = error_of(checkpoint_with([](Pickle& p) { p.str("text"); }));
  CHECK(c.contains("entry 'w' is a string, expected a tensor"));

  // Storages: missing record, too short, tensor reaching past the end, unknown storage type.
  c = error_of(checkpoint_with([](Pickle& p) { float_tensor(p, 4, {4}, {1}); }));
  CHECK(c.contains("storage '0' but there is no record 'ck/data/0'"));
  c = error_of(checkpoint_with([](Pickle& p) { float_tensor(p, 4, {4}, {1}); }), floats_bytes(3));
  CHECK(c.contains("should hold 4 elements of float32 but its record has only 12 bytes"));
  c = error_of(checkpoint_with([](Pickle& p) { float_tensor(p, 4, {2, 2}, {3, 1}); }),
               floats_bytes(4));
  CHECK(c.contains("reaches past its storage"));
  c = error_of(checkpoint_with([](Pickle& p) {
    p.op('(').str("storage").global("torch", "QInt8Storage").str("0").str("cpu").i1(1);
    p.op('t').op('Q');
  }), floats_bytes(1));
  CHECK(c.contains("storage of type a reference to 'torch.QInt8Storage'"));

  // The container: a zip without data.pkl, a legacy (pre-1.6) file, a big-endian record.
  c = catch_error([] {
    read_torch_checkpoint(ZipArchive::from_bytes(make_zip({{"x/other", "1"}}), "z.pth"));
  });
  CHECK(c.contains("without a <dir>/data.pkl record"));
  const std::string dir = temp_dir();
  write_file_atomically(dir + "/legacy.pth", std::string("\x80\x02\x8a\x0a" "legacy", 10));
  c = catch_error([&] { read_torch_checkpoint(dir + "/legacy.pth"); });
  CHECK(c.contains("legacy torch.save checkpoint"));
  std::remove((dir + "/legacy.pth").c_str());
  rmdir(dir.c_str());
  c = catch_error([] {
    read_torch_checkpoint(ZipArchive::from_bytes(
        make_zip({{"a/data.pkl", Pickle().op('}').done()}, {"a/byteorder", "big"}}), "be.pth"));
  });
  CHECK(c.contains("big-endian"));
  c = error_of(Pickle().op('}').op('(').str("arch").str("x").op('u').done());
  CHECK(c.contains("no `state_dict` entry and the top level is not a dict of tensors"));
}

TEST_CASE("read_torch_checkpoint: a top-level dict of tensors is taken as the state dict") {
  Pickle p;
  p.op('}').op('(').str("a.weight");
  float_tensor(p, 2, {2}, {1});
  p.op('u');
  const TorchCheckpoint ck = torch_from(p.done(), floats_bytes(2));
  CHECK_FALSE(ck.has_state_dict);
  CHECK(ck.tensors.at("a.weight").values == std::vector<double>{0, 1});
}

// Mutations of real files: every outcome is a result or an ai8xsim::Error, never a crash or a
// foreign exception.
TEST_CASE("loaders survive random corruption") {
  std::mt19937 rng(12345);
  const std::string ckpt = read_file(kData + "tiny-q.pth.tar");
  const ZipArchive zip = ZipArchive::from_bytes(ckpt, "tiny");
  const std::string pickle = zip.read("tiny-q/data.pkl");
  const std::string npz = read_file(kData + "deflated.npz");
  const std::string npy = read_file(kData + "f4.npy");
  auto mutate = [&](std::string s) {
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[at] = static_cast<char>(rng()); break;
        case 1: s.resize(at); break;
        case 2: s.erase(at, 1 + rng() % 8); break;
        default: s.insert(at, 1, static_cast<char>(rng())); break;
      }
    }
    return s;
  };
  int errors = 0, loaded = 0;
  auto attempt = [&](const std::function<void()>& f) {
    try {
      f();
      ++loaded;
    } catch (const Error&) {
      ++errors;
    }
  };
  for (int round = 0; round < 1500; ++round) {
    std::vector<std::pair<std::string, std::string>> entries;
    for (const ZipEntry& e : zip.entries())
      entries.push_back({e.name, e.name == "tiny-q/data.pkl" ? mutate(pickle) : zip.read(e)});
    attempt([&] { read_torch_checkpoint(ZipArchive::from_bytes(make_zip(entries), "m")); });
    attempt([&] { read_torch_checkpoint(ZipArchive::from_bytes(mutate(ckpt), "m")); });
    attempt([&] {
      const ZipArchive z = ZipArchive::from_bytes(mutate(npz), "m");
      for (const ZipEntry& e : z.entries()) parse_npy(z.read(e), "m");
    });
    attempt([&] { parse_npy(mutate(npy), "m"); });
  }
  CHECK(errors > 0);
  CHECK(errors + loaded == 6000);
}
