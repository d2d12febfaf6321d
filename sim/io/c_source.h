// ai8xsim: one reader for the C that izer generates (sampleoutput.h, sampledata.h, weights.h,
// cnn.c, main.c), in whatever layout a C compiler takes: CRLF or CR line ends, backslash line
// continuations (also with blanks before the line end, as GCC accepts), /* */ and // comments
// anywhere, any whitespace, the opening brace of a #define on a continued line (msdk's
// clang-format layout). The text goes through the C translation phases 1-3 (line ends, line
// splicing, comments to blanks), then into tokens; preprocessor directives are kept apart.
// Every failure is an ai8xsim::Error(IO) naming the file, the line and what was found.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ai8xsim {

struct CToken {
  enum class Kind { Identifier, Number, String, Char, Punct };
  Kind kind = Kind::Punct;
  std::string text;
  int line = 0;  // 1-based line of the token's first character in the original text
};

struct CDefine {
  std::string name;
  bool function_like = false;  // #define NAME(args) ...
  std::vector<CToken> body;    // the replacement list
  int line = 0;
};

struct CSource {
  std::string what;             // the file's name, for messages
  std::vector<CToken> tokens;   // every token outside preprocessor directives
  std::vector<CDefine> defines; // every #define, in order
};

// Tokenizes C text. `what` names the source in messages.
CSource read_c_source(const std::string& text, const std::string& what);

// The value of an integer constant token (decimal, 0x hex, 0 octal, u/l suffixes); nullopt
// when the token is not one or does not fit 64 bits.
std::optional<uint64_t> c_integer(const CToken& t);

// Every object-like `#define NAME { integer, ... }` of the source: the integers, in order (a
// trailing comma allowed, a leading `-` negates modulo 2^64). Other defines are skipped; a
// define whose body starts with `{` but holds anything but integer constants is an Error
// naming the define, the line and the token.
std::map<std::string, std::vector<uint64_t>> c_define_arrays(const CSource& src);
// The same with every value checked to fit 32 bits (an Error naming the define and value).
std::map<std::string, std::vector<uint32_t>> c_define_words(const CSource& src);

// The body of the function definition `name(...) { ... }`: token indexes [first, last) between
// its braces; nullopt when the source defines no such function.
std::optional<std::pair<size_t, size_t>> c_function_body(const CSource& src,
                                                         const std::string& name);

// Pattern matching on tokens: `pattern` is a list of token texts, where "#" stands for any
// integer constant and "$" for any identifier. On a match at `at`, the integer and identifier
// tokens matched by "#"/"$" are appended to `captured` (in order) and true is returned.
bool c_match(const std::vector<CToken>& tokens, size_t at, const std::vector<std::string>& pattern,
             std::vector<const CToken*>* captured = nullptr);

// "0x%08x": a 32-bit word as izer's C writes it.
std::string c_hex32(uint32_t v);

// A `#define NAME { ... }` of 32-bit words in izer's layout (its toplevel.c_define): "0x%08x"
// values, `columns` a line, each line continued with ` \\`, the `}` on a line of its own.
std::string c_define_text(const std::string& name, const std::vector<uint32_t>& words,
                          int columns = 8);

}  // namespace ai8xsim
