#include "sim/io/c_source.h"

#include <cctype>
#include <cstdio>
#include <cstring>

#include "ai8xsim/error.h"

namespace ai8xsim {

namespace {

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}
bool ident_char(char c) { return ident_start(c) || std::isdigit(static_cast<unsigned char>(c)); }
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v'; }

// Phases 1-2: line ends to '\n', backslash-newline removed (blanks between the backslash and
// the line end allowed). `line[i]` is the original line of out[i].
void splice(const std::string& text, std::string& out, std::vector<int>& line) {
  std::string lf;
  lf.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      lf.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      lf.push_back(text[i]);
    }
  }
  out.clear();
  line.clear();
  out.reserve(lf.size());
  line.reserve(lf.size());
  int ln = 1;
  for (size_t i = 0; i < lf.size(); ++i) {
    if (lf[i] == '\\') {
      size_t j = i + 1;
      while (j < lf.size() && is_blank(lf[j])) ++j;
      if (j < lf.size() && lf[j] == '\n') {
        i = j;
        ++ln;
        continue;
      }
    }
    out.push_back(lf[i]);
    line.push_back(ln);
    if (lf[i] == '\n') ++ln;
  }
}

const char* const kPunct3[] = {"<<=", ">>=", "...", nullptr};
const char* const kPunct2[] = {"++", "--", "->", "<<", ">>", "<=", ">=", "==", "!=", "&&",
                               "||", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "##",
                               nullptr};

std::string at_line(const std::string& what, int line) {
  return what + " line " + std::to_string(line);
}

}  // namespace

CSource read_c_source(const std::string& text, const std::string& what) {
  std::string s;
  std::vector<int> lines;
  splice(text, s, lines);
  CSource src;
  src.what = what;
  const size_t n = s.size();
  bool line_start = true;       // no token yet on this logical line
  bool in_directive = false;    // the tokens go to `directive`
  std::vector<CToken> directive;

  auto end_directive = [&] {
    in_directive = false;
    // directive[0] is `#`; `# define NAME ...`
    if (directive.size() >= 3 && directive[1].text == "define" &&
        directive[2].kind == CToken::Kind::Identifier) {
      CDefine d;
      d.name = directive[2].text;
      d.line = directive[0].line;
      size_t body = 3;
      // function-like: `(` right after the name, without whitespace (recorded below)
      if (directive.size() > 3 && directive[3].text == "(" && directive[3].line < 0) {
        d.function_like = true;
        while (body < directive.size() && directive[body].text != ")") ++body;
        ++body;
      }
      for (size_t i = body; i < directive.size(); ++i) {
        CToken t = directive[i];
        if (t.line < 0) t.line = -t.line;
        d.body.push_back(std::move(t));
      }
      src.defines.push_back(std::move(d));
    }
    directive.clear();
  };

  size_t i = 0;
  bool glued = false;  // no whitespace since the previous token
  while (i < n) {
    const char c = s[i];
    if (c == '\n') {
      if (in_directive) end_directive();
      line_start = true;
      glued = false;
      ++i;
      continue;
    }
    if (is_blank(c)) {
      glued = false;
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      const size_t close = s.find("*/", i + 2);
      if (close == std::string::npos)
        fail(ErrorKind::IO, at_line(what, lines[i]) +
                                ": a /* comment is never closed; add the closing */");
      i = close + 2;
      glued = false;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n') ++i;
      glued = false;
      continue;
    }
    CToken t;
    t.line = lines[i];
    const size_t start = i;
    if (ident_start(c)) {
      while (i < n && ident_char(s[i])) ++i;
      t.kind = CToken::Kind::Identifier;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      // a preprocessing number: digits, letters, '_', '.', and e+ e- p+ p- signs
      ++i;
      while (i < n) {
        const char d = s[i];
        if ((d == '+' || d == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E' || s[i - 1] == 'p' ||
                                       s[i - 1] == 'P')) {
          ++i;
        } else if (ident_char(d) || d == '.') {
          ++i;
        } else {
          break;
        }
      }
      t.kind = CToken::Kind::Number;
    } else if (c == '"' || c == '\'') {
      ++i;
      while (i < n && s[i] != c) {
        if (s[i] == '\n')
          fail(ErrorKind::IO, at_line(what, t.line) + ": a " +
                                  (c == '"' ? "string" : "character") +
                                  " literal is not closed before the end of the line");
        if (s[i] == '\\') ++i;
        ++i;
      }
      if (i >= n)
        fail(ErrorKind::IO, at_line(what, t.line) + ": a " +
                                (c == '"' ? "string" : "character") +
                                " literal is not closed before the end of the file");
      ++i;
      t.kind = c == '"' ? CToken::Kind::String : CToken::Kind::Char;
    } else {
      size_t len = 1;
      for (const char* const* p = kPunct3; *p; ++p)
        if (s.compare(i, 3, *p) == 0) len = 3;
      if (len == 1)
        for (const char* const* p = kPunct2; *p; ++p)
          if (s.compare(i, 2, *p) == 0) len = 2;
      i += len;
      t.kind = CToken::Kind::Punct;
    }
    t.text = s.substr(start, i - start);
    if (line_start && t.text == "#") {
      in_directive = true;
      directive.clear();
    }
    line_start = false;
    if (in_directive) {
      // A `(` glued to a define's name makes the macro function-like: mark it (negative line).
      if (glued && t.text == "(" && directive.size() == 3) t.line = -t.line;
      directive.push_back(std::move(t));
    } else {
      src.tokens.push_back(std::move(t));
    }
    glued = true;
  }
  if (in_directive) end_directive();
  return src;
}

std::optional<uint64_t> c_integer(const CToken& t) {
  if (t.kind != CToken::Kind::Number) return std::nullopt;
  const std::string& s = t.text;
  size_t end = s.size();
  // suffixes: u, l, ll in any order, any case
  int suffix = 0;
  while (end > 0 && std::strchr("uUlL", s[end - 1]) && suffix < 3) {
    --end;
    ++suffix;
  }
  if (end == 0) return std::nullopt;
  int base = 10;
  size_t i = 0;
  if (end > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    i = 2;
  } else if (s[0] == '0') {
    base = 8;
  }
  if (i >= end) return std::nullopt;
  uint64_t v = 0;
  for (; i < end; ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base))
      return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return v;
}

std::map<std::string, std::vector<uint64_t>> c_define_arrays(const CSource& src) {
  std::map<std::string, std::vector<uint64_t>> out;
  for (const CDefine& d : src.defines) {
    if (d.function_like || d.body.empty() || d.body.front().text != "{") continue;
    const std::string where = at_line(src.what, d.line) + ": #define " + d.name;
    const std::vector<CToken>& b = d.body;
    if (b.back().text != "}")
      fail(ErrorKind::IO, where + ": found `" + b.back().text + "` (line " +
                              std::to_string(b.back().line) +
                              ") where the array's closing `}` must end the define");
    std::vector<uint64_t> values;
    size_t i = 1;
    const size_t last = b.size() - 1;
    while (i < last) {
      bool negative = false;
      if (b[i].text == "-" || b[i].text == "+") {
        negative = b[i].text == "-";
        ++i;
      }
      const std::optional<uint64_t> v = i < last ? c_integer(b[i]) : std::nullopt;
      if (!v)
        fail(ErrorKind::IO, where + ": found `" + (i < last ? b[i].text : b[last].text) +
                                "` (line " + std::to_string(b[i < last ? i : last].line) +
                                "); the array may hold only integer constants separated by "
                                "commas");
      values.push_back(negative ? ~*v + 1 : *v);
      ++i;
      if (i < last) {
        if (b[i].text != ",")
          fail(ErrorKind::IO, where + ": found `" + b[i].text + "` (line " +
                                  std::to_string(b[i].line) + ") after a value; expected `,`");
        ++i;
      }
    }
    out[d.name] = std::move(values);
  }
  return out;
}

std::map<std::string, std::vector<uint32_t>> c_define_words(const CSource& src) {
  std::map<std::string, std::vector<uint32_t>> out;
  for (auto& [name, values] : c_define_arrays(src)) {
    std::vector<uint32_t> words;
    words.reserve(values.size());
    for (uint64_t v : values) {
      // a negated constant that fits 32 bits as a signed value is taken as its 32-bit word
      if (v > 0xffffffffull && v < 0xffffffff80000000ull) {
        char b[32];
        std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
        fail(ErrorKind::IO, src.what + ": #define " + name + ": value " + b +
                                " does not fit 32 bits; the array holds 32-bit words");
      }
      words.push_back(static_cast<uint32_t>(v));
    }
    out[name] = std::move(words);
  }
  return out;
}

std::optional<std::pair<size_t, size_t>> c_function_body(const CSource& src,
                                                         const std::string& name) {
  const std::vector<CToken>& t = src.tokens;
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i].text != name || t[i].kind != CToken::Kind::Identifier || t[i + 1].text != "(")
      continue;
    // a definition: the matching `)` is followed by `{`
    size_t j = i + 1;
    int depth = 0;
    for (; j < t.size(); ++j) {
      if (t[j].text == "(") ++depth;
      else if (t[j].text == ")" && --depth == 0) break;
    }
    if (j + 1 >= t.size() || t[j + 1].text != "{") continue;
    const size_t open = j + 1;
    depth = 0;
    for (size_t k = open; k < t.size(); ++k) {
      if (t[k].text == "{") ++depth;
      else if (t[k].text == "}" && --depth == 0) return std::make_pair(open + 1, k);
    }
    fail(ErrorKind::IO, at_line(src.what, t[open].line) + ": the body of " + name +
                            "() has no closing `}`");
  }
  return std::nullopt;
}

bool c_match(const std::vector<CToken>& tokens, size_t at, const std::vector<std::string>& pattern,
             std::vector<const CToken*>* captured) {
  if (at + pattern.size() > tokens.size()) return false;
  std::vector<const CToken*> got;
  for (size_t k = 0; k < pattern.size(); ++k) {
    const CToken& t = tokens[at + k];
    if (pattern[k] == "#") {
      if (!c_integer(t)) return false;
      got.push_back(&t);
    } else if (pattern[k] == "$") {
      if (t.kind != CToken::Kind::Identifier) return false;
      got.push_back(&t);
    } else if (t.text != pattern[k]) {
      return false;
    }
  }
  if (captured) captured->insert(captured->end(), got.begin(), got.end());
  return true;
}

std::string c_hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

std::string c_define_text(const std::string& name, const std::vector<uint32_t>& words,
                          int columns) {
  std::string out = "#define " + name + " { \\\n  ";
  out.reserve(out.size() + words.size() * 12 + 8);
  for (size_t i = 0; i < words.size(); ++i) {
    out += c_hex32(words[i]);
    if (i + 1 < words.size()) {
      out += ", ";
      if ((i + 1) % static_cast<size_t>(columns) == 0) out += "\\\n  ";
    }
  }
  out += " \\\n}\n";
  return out;
}

}  // namespace ai8xsim
