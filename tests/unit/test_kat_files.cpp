// izer's known-answer records as ai8xsim writes them (grouping, the c_define layout) and the
// board dump reader of `check-memory --dump` (text formats, binary, errors).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <unistd.h>
#include <string>
#include <vector>

#include "sim/io/c_source.h"
#include "sim/memory/kat.h"
#include "tests/unit/support.h"

using ai8xsim::testing::Caught;
using ai8xsim::testing::catch_error;
using namespace ai8xsim;

namespace {

KatWord word(uint32_t address, uint32_t mask, uint32_t value) {
  KatWord w;
  w.address = address;
  w.mask = mask;
  w.value = value;
  return w;
}

// A file in /tmp holding `bytes`, removed at the end of the test case.
struct TempFiles {
  std::vector<std::string> paths;
  ~TempFiles() {
    for (const std::string& p : paths) std::remove(p.c_str());
  }
  std::string operator()(const std::string& name, const std::string& bytes) {
    const std::string path = "/tmp/ai8xsim_unit_" + std::to_string(::getpid()) + "_" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    paths.push_back(path);
    return path;
  }
};

}  // namespace

TEST_CASE("SAMPLE_OUTPUT: a record per run of consecutive addresses with one mask, then 0") {
  const std::vector<KatWord> w = {word(0x50400000, 0xff, 1), word(0x50400004, 0xff, 2),
                                  word(0x50400010, 0xff, 3), word(0x50400014, 0xffffffff, 4)};
  CHECK(sample_output_array(w) ==
        std::vector<uint32_t>{0x50400000, 0xff, 2, 1, 2, 0x50400010, 0xff, 1, 3, 0x50400014,
                              0xffffffff, 1, 4, 0});
  // izer's layout: 8 values a line, each line continued, the brace alone on the last line.
  const std::string h = sampleoutput_h(w);
  CHECK(h.find("#define SAMPLE_OUTPUT { \\\n  0x50400000, 0x000000ff, 0x00000002, 0x00000001, "
               "0x00000002, 0x50400010, 0x000000ff, 0x00000001, \\\n  0x00000003,") !=
        std::string::npos);
  CHECK(h.substr(h.size() - 15) == "0x00000000 \\\n}\n");
  // And it reads back.
  const std::vector<KatRecord> r = parse_sample_output(h, "x");
  REQUIRE(r.size() == 3);
  CHECK(r[2].words == std::vector<uint32_t>{4});
}

TEST_CASE("board dump: gdb and OpenOCD text, CRLF, comments, symbols; .bin with a base") {
  TempFiles temp_file;
  const std::string text =
      "# dump\r\n0x50400000 <buf>:\t0x00000001\t0x00000002\r\n\r\n"
      "50400010: 0000000a 0000000B\r\n// end\r\n";
  const std::vector<DumpWord> d = read_memory_dump(temp_file("d.txt", text), std::nullopt);
  REQUIRE(d.size() == 4);
  CHECK(d[1].address == 0x50400004);
  CHECK(d[1].value == 2);
  CHECK(d[3].address == 0x50400014);
  CHECK(d[3].value == 0xb);
  const std::vector<DumpWord> b =
      read_memory_dump(temp_file("d.bin", std::string("\x01\x02\x03\x04\xff\x00\x00\x80", 8)),
                       0x50800000u);
  REQUIRE(b.size() == 2);
  CHECK(b[0].value == 0x04030201);
  CHECK(b[1].address == 0x50800004);
  CHECK(b[1].value == 0x800000ff);
}

TEST_CASE("board dump: errors name the file, the line and what was found") {
  TempFiles temp_file;
  Caught c = catch_error(
      [&] { read_memory_dump(temp_file("e1.txt", "0x50400002: 0x1\n"), std::nullopt); });
  CHECK(c.kind == ErrorKind::Input);
  CHECK(c.contains("line 1: address 0x50400002 is not word aligned"));
  c = catch_error(
      [&] { read_memory_dump(temp_file("e2.txt", "0x50400000: 0x123456789\n"), std::nullopt); });
  CHECK(c.contains("line 1: found `0x123456789` where a 32-bit hex word belongs"));
  c = catch_error([&] { read_memory_dump(temp_file("e3.txt", "\n# nothing\n"), std::nullopt); });
  CHECK(c.contains("the dump is empty"));
  c = catch_error([&] { read_memory_dump(temp_file("e4.bin", "abcd"), 0xfffffffcu); });
  CHECK_FALSE(c.thrown);
  c = catch_error([&] { read_memory_dump(temp_file("e5.bin", "abcdefgh"), 0xfffffffcu); });
  CHECK(c.contains("runs past address 0xffffffff"));
}
