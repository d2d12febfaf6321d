// The reader of izer-generated C (sim/io/c_source.h) and its users (sampleoutput.h,
// sampledata.h, load_input(), weights.h, cnn_load_bias()) on every layout a C compiler takes:
// izer's own, msdk's clang-format layout (the opening brace on the line after
// `#define SAMPLE_OUTPUT \`, values on continued lines), CRLF and CR line ends, comments
// between the values, blanks after a line-continuation backslash, one line, trailing comma.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/memory/biasmem.h"
#include "sim/io/c_source.h"
#include "sim/memory/kat.h"
#include "sim/memory/kernelmem.h"
#include "tests/unit/support.h"

using ai8xsim::testing::Caught;
using ai8xsim::testing::catch_error;
using namespace ai8xsim;

namespace {

// Two records (4 words with a full mask, 1 word with a byte mask), then the terminating 0.
const std::vector<uint32_t> kRecords = {0x50402000, 0xffffffff, 4,          0x000000bf,
                                        0xfffc67a9, 0xfffe4339, 0xfffefbe3, 0x5080a000,
                                        0x000000ff, 1,          0x00000022, 0};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size())
    s.replace(at, from.size(), to);
  return s;
}

// izer's layout (toplevel.c_define): `#define NAME { \`, 8 values a line, ` \` and `}`.
const std::string kIzer =
    "// This file was @generated automatically\n\n"
    "#define SAMPLE_OUTPUT { \\\n"
    "  0x50402000, 0xffffffff, 0x00000004, 0x000000bf, 0xfffc67a9, 0xfffe4339, 0xfffefbe3, "
    "0x5080a000, \\\n"
    "  0x000000ff, 0x00000001, 0x00000022, 0x00000000 \\\n"
    "}\n";

// msdk's clang-format layout: the name alone, the brace on a continued line, the values
// indented and continued, the backslashes padded to one column, the closing brace unescaped.
const std::string kClangFormat =
    "#define SAMPLE_OUTPUT                                                          \\\n"
    "    {                                                                          \\\n"
    "        0x50402000, 0xffffffff, 0x00000004, 0x000000bf, 0xfffc67a9, 0xfffe4339,  \\\n"
    "            0xfffefbe3, 0x5080a000, 0x000000ff, 0x00000001, 0x00000022,          \\\n"
    "            0x00000000                                                         \\\n"
    "    }\n";

void check_records(const std::string& text) {
  const std::vector<KatRecord> r = parse_sample_output(text, "sampleoutput.h");
  REQUIRE(r.size() == 2);
  CHECK(r[0].address == 0x50402000);
  CHECK(r[0].mask == 0xffffffff);
  CHECK(r[0].words == std::vector<uint32_t>{0x000000bf, 0xfffc67a9, 0xfffe4339, 0xfffefbe3});
  CHECK(r[1].address == 0x5080a000);
  CHECK(r[1].mask == 0xff);
  CHECK(r[1].words == std::vector<uint32_t>{0x22});
  const auto words = parse_c_arrays(text, "sampleoutput.h");
  REQUIRE(words.count("SAMPLE_OUTPUT"));
  CHECK(words.at("SAMPLE_OUTPUT") == kRecords);
}

}  // namespace

TEST_CASE("C reader: sampleoutput.h in izer's layout") { check_records(kIzer); }

TEST_CASE("C reader: sampleoutput.h in msdk's clang-format layout (brace on the next line)") {
  check_records(kClangFormat);
}

TEST_CASE("C reader: CRLF, CR, tabs, blanks after the backslash, comments, one line") {
  SUBCASE("CRLF") { check_records(replace_all(kClangFormat, "\n", "\r\n")); }
  SUBCASE("CR only") { check_records(replace_all(kIzer, "\n", "\r")); }
  SUBCASE("tabs") { check_records(replace_all(kClangFormat, "    ", "\t")); }
  SUBCASE("blanks between the backslash and the line end") {
    check_records(replace_all(kClangFormat, "\\\n", "\\  \t\n"));
  }
  SUBCASE("block comments between values and across lines") {
    check_records(replace_all(kIzer, ", 0x0000", ", /* word */ 0x0000") +
                  "/* a comment\n spanning lines */\n");
    check_records(replace_all(kIzer, "0x000000bf,", "0x000000bf, /* spans \\\n lines */"));
  }
  SUBCASE("a // comment after the define") {
    check_records(replace_all(kIzer, "}\n", "} // expected output\n"));
  }
  SUBCASE("one line, suffixes, decimal and a trailing comma") {
    check_records(
        "#define SAMPLE_OUTPUT {0x50402000u,0xFFFFFFFFUL,4,0xbf,0xfffc67a9,0xfffe4339,"
        "0xfffefbe3,0x5080a000,255,1,0x22,0,}");
  }
  SUBCASE("a function-like macro and other defines are skipped") {
    check_records("#define CHECK(x) {x}\n#define N 3\n#pragma once\n" + kIzer);
  }
}

TEST_CASE("C reader: tokens, lines, function bodies") {
  const CSource src = read_c_source(
      "int f(void)\r\n{\r\n  x = *p++; /* c */ y <<= 0x10u;\r\n  if (a) { b(); }\r\n}\r\n"
      "const char* s = \"a // not a comment\";\n",
      "t.c");
  const auto body = c_function_body(src, "f");
  REQUIRE(body);
  std::string joined;
  for (size_t i = body->first; i < body->second; ++i) joined += src.tokens[i].text + " ";
  CHECK(joined == "x = * p ++ ; y <<= 0x10u ; if ( a ) { b ( ) ; } ");
  CHECK(src.tokens[body->first].line == 3);
  CHECK(src.tokens.back().text == ";");
  CHECK(src.tokens[src.tokens.size() - 2].text == "\"a // not a comment\"");
  CHECK_FALSE(c_function_body(src, "g"));
  CHECK(*c_integer(CToken{CToken::Kind::Number, "0777", 1}) == 0777);
  CHECK_FALSE(c_integer(CToken{CToken::Kind::Number, "0x1ffffffffffffffff", 1}));
  CHECK_FALSE(c_integer(CToken{CToken::Kind::Number, "09", 1}));
}

TEST_CASE("C reader: errors name the file, the line, the define and what was found") {
  Caught c = catch_error([] { read_c_source("#define A { 1, /* 2 }\n", "x.h"); });
  CHECK(c.thrown);
  CHECK(c.kind == ErrorKind::IO);
  CHECK(c.contains("x.h line 1"));
  CHECK(c.contains("never closed"));
  c = catch_error([] { c_define_arrays(read_c_source("\n#define A { 1, foo, 3 }\n", "y.h")); });
  CHECK(c.contains("y.h line 2: #define A: found `foo`"));
  c = catch_error([] { c_define_arrays(read_c_source("#define A { 1, 2 \n}\n", "z.h")); });
  CHECK(c.contains("#define A: found `2`"));  // the `}` is outside the define
  c = catch_error([] { c_define_words(read_c_source("#define A { 0x100000000 }", "w.h")); });
  CHECK(c.contains("does not fit 32 bits"));
  c = catch_error([] { parse_sample_output("#define SAMPLE_OUTPUT \\\n { 0x50400000 }", "s.h"); });
  CHECK(c.contains("s.h: SAMPLE_OUTPUT: the record at 0x50400000 has no mask/count"));
  c = catch_error([] { read_c_source("char* s = \"abc\n\";", "q.c"); });
  CHECK(c.contains("q.c line 1: a string literal is not closed"));
}

TEST_CASE("C reader: load_input() with memcpy32 and with FIFO pushes, in any layout") {
  const std::string copy =
      "static const uint32_t input_0[] =\n    SAMPLE_INPUT_0;\n"
      "void\nload_input (void)\n{\n  // load\n  memcpy32 ((uint32_t *)0x50400000,\n"
      "            input_0, /* words */ 196);\n}\n";
  InputLoadCode code = parse_load_input(copy, "main.c");
  REQUIRE(code.copies.size() == 1);
  CHECK(code.copies[0].address == 0x50400000);
  CHECK(code.copies[0].array == "SAMPLE_INPUT_0");
  CHECK(code.copies[0].count == 196);

  const std::string fifo =
      "static const uint32_t input_0[] = SAMPLE_INPUT_0;\r\n"
      "static const uint32_t input_1[] = SAMPLE_INPUT_1;\r\n"
      "void load_input(void)\r\n{\r\n  int i;\r\n  const uint32_t *in0 = input_0;\r\n"
      "  const uint32_t *in1 = input_1;\r\n  for (i = 0; i < 16; i++) {\r\n"
      "    while (((*((volatile uint32_t *) 0x50000004) & 1)) != 0);\r\n"
      "    *((volatile uint32_t *) 0x50000008) = *in0++;\r\n"
      "    *((volatile uint32_t *)\r\n      0x5000000c) =\r\n      *in1++;\r\n  }\r\n}\r\n";
  code = parse_load_input(fifo, "main.c");
  CHECK(code.copies.empty());
  REQUIRE(code.fifo_arrays.size() == 2);
  CHECK(code.fifo_arrays.at(0) == "SAMPLE_INPUT_0");
  CHECK(code.fifo_arrays.at(1) == "SAMPLE_INPUT_1");
}

TEST_CASE("C reader: weights.h and cnn_load_bias() in clang-format's layout") {
  // One bias block of 2 bytes in group 0 and one express kernel block (the same words either
  // layout); the two layouts must give the same memories.
  const std::string cnn_izer =
      "int cnn_load_bias(void)\n{\n  memcpy_8to32((uint32_t *) 0x50108000, bias_0, "
      "sizeof(uint8_t) * 2);\n\n  return CNN_OK;\n}\n";
  const std::string cnn_clang =
      "int cnn_load_bias(void)\r\n{\r\n    memcpy_8to32((uint32_t *)0x50108000, bias_0,\r\n"
      "                 sizeof(uint8_t) * 2); // group 0\r\n\r\n    return CNN_OK;\r\n}\r\n";
  const std::string w_izer =
      "#define BIAS_0 { \\\n  0x05, 0xfb \\\n}\n"
      "#define KERNELS { \\\n  0x50180000, 0x00000003, 0x01020304, 0x05060708, 0x09000000, "
      "0x00000000 \\\n}\n";
  const std::string w_clang =
      "#define BIAS_0 \\\n    {               \\\n        0x05, 0xfb \\\n    }\n"
      "#define KERNELS                                        \\\n"
      "    {                                                  \\\n"
      "        0x50180000, 0x00000003, 0x01020304, 0x05060708, \\\n"
      "            0x09000000, 0x00000000                     \\\n    }\n";
  {
    const Device d = Device::MAX78000;
    const BiasMemory b1 = bias_memory_from_c(cnn_izer, w_izer, d);
    const BiasMemory b2 = bias_memory_from_c(cnn_clang, w_clang, d);
    CHECK(b1.bytes == b2.bytes);
    REQUIRE(b1.bytes[0].size() >= 2);
    CHECK(b1.bytes[0][0] == 0x05);
    CHECK(b1.bytes[0][1] == 0xfb);
    const KernelMemory k1 = kernel_memory_from_weights_h(w_izer, true, d);
    const KernelMemory k2 = kernel_memory_from_weights_h(w_clang, true, d);
    CHECK(k1.rows_written() == 1);
    CHECK(k1 == k2);
    CHECK(k1.row(0, 0) == KernelRow{1, 2, 3, 4, 5, 6, 7, 8, 9});
  }
}
