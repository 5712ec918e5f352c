// A port of jinja2's regex lexer (jinja2/lexer.py) for the environment transformers configures.
// Whitespace rules, in jinja2's order: "{%-"/"{{-"/"{#-" strip all whitespace before the tag;
// "-%}"/"-}}"/"-#}" strip all whitespace after it; otherwise lstrip_blocks removes blanks between
// a line start and "{%" or "{#" (not "{{", and not after "{%+"), and trim_blocks removes one
// newline after "%}" or "#}" (not after "+%}").
#include "jinja/lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>

#include "gemma/error.h"
#include "jinja/text.h"

namespace gemma::jinja {

Locator::Locator(std::string name, std::string_view source) : name_(std::move(name)) {
  source_.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      source_ += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      source_ += source[i];
    }
  }
  if (!source_.empty() && source_.back() == '\n') source_.pop_back();
  line_starts_.push_back(0);
  for (size_t i = 0; i < source_.size(); ++i) {
    if (source_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

std::pair<size_t, size_t> Locator::line_column(size_t offset) const {
  offset = std::min(offset, source_.size());
  const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const size_t line = static_cast<size_t>(it - line_starts_.begin());
  const size_t start = line_starts_[line - 1];
  return {line, text::length(std::string_view(source_).substr(start, offset - start)) + 1};
}

void Locator::fail(size_t offset, std::string_view message) const {
  const auto [line, column] = line_column(offset);
  throw ProcessorError(fmt::format("{} line {}, column {}: {}", name_, line, column, message));
}

namespace {

enum class TagKind { kBlock, kVariable };

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::string_view kTwoCharOperators[] = {"//", "**", "==", "!=", ">=", "<="};
constexpr std::string_view kOneCharOperators = "+-/*%~[](){}><=.:|,;";

class Lexer {
 public:
  explicit Lexer(const Locator& locator) : locator_(locator), src_(locator.source()) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_root();
    emit(TokenType::kEof, "", src_.size());
    return std::move(tokens_);
  }

 private:
  void emit(TokenType type, std::string text, size_t offset) {
    Token token;
    token.type = type;
    token.text = std::move(text);
    token.offset = offset;
    tokens_.push_back(std::move(token));
  }

  void emit_data(std::string text, size_t offset) {
    if (!text.empty()) emit(TokenType::kData, std::move(text), offset);
  }

  [[noreturn]] void fail(size_t offset, std::string_view message) const {
    locator_.fail(offset, message);
  }

  bool at(size_t pos, std::string_view s) const { return src_.compare(pos, s.size(), s) == 0; }

  size_t skip_spaces(size_t pos) const {
    while (pos < src_.size()) {
      const size_t n = text::space_at(src_, pos);
      if (n == 0) break;
      pos += n;
    }
    return pos;
  }

  // Root state: text up to the next "{{", "{%" or "{#", then the tag.
  void lex_root() {
    size_t open = pos_;
    while ((open = src_.find('{', open)) != std::string_view::npos) {
      if (open + 1 < src_.size() &&
          std::string_view("{%#").find(src_[open + 1]) != std::string_view::npos) {
        break;
      }
      ++open;
    }
    if (open == std::string_view::npos) {
      emit_data(std::string(src_.substr(pos_)), pos_);
      pos_ = src_.size();
      return;
    }
    const char kind = src_[open + 1];
    const size_t after = open + 2;
    const char sign =
        after < src_.size() && (src_[after] == '-' || src_[after] == '+') ? src_[after] : 0;
    const size_t raw_end = kind == '%' ? match_raw_begin(after) : std::string_view::npos;
    emit_data(strip_before_tag(src_.substr(pos_, open - pos_), sign, kind != '{'), pos_);
    line_starting_ = false;
    if (raw_end != std::string_view::npos) {
      line_starting_ = src_[raw_end - 1] == '\n';
      lex_raw(raw_end, open);
      return;
    }
    pos_ = after + (sign ? 1 : 0);
    if (kind == '#') {
      lex_comment(open);
    } else {
      lex_tag(kind == '%' ? TagKind::kBlock : TagKind::kVariable, open);
    }
  }

  // jinja2's OptionalLStrip: "-" strips all trailing whitespace of the text; lstrip_blocks strips
  // the blanks of its last line when they are all that precedes the tag on that line.
  std::string strip_before_tag(std::string_view text, char sign, bool lstrip) const {
    if (sign == '-') return text::strip(text, std::nullopt, false, true);
    if (sign == '+' || !lstrip) return std::string(text);
    const size_t line_pos = text.rfind('\n') + 1;  // npos + 1 == 0
    if (line_pos == 0 && !line_starting_) return std::string(text);
    const std::string_view last = text.substr(line_pos);
    size_t p = 0;
    while (p < last.size()) {
      const size_t n = text::space_at(last, p);
      if (n == 0) return std::string(text);
      p += n;
    }
    return last.empty() ? std::string(text) : std::string(text.substr(0, line_pos));
  }

  // "{%" [-+] \s* "raw" \s* ("-%}" \s* | "%}"): the offset after it, or npos.
  size_t match_raw_begin(size_t after) const {
    size_t p = after;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    p = skip_spaces(p);
    if (!at(p, "raw")) return std::string_view::npos;
    p = skip_spaces(p + 3);
    if (at(p, "-%}")) return skip_spaces(p + 3);
    if (at(p, "%}")) return p + 2;
    return std::string_view::npos;
  }

  // The first "{%" [-+] \s* "endraw" \s* ("+%}" | "-%}" \s* | "%}" "\n"?) after `start`.
  void lex_raw(size_t start, size_t open) {
    for (size_t k = src_.find("{%", start); k != std::string_view::npos;
         k = src_.find("{%", k + 1)) {
      size_t p = k + 2;
      const char sign = p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p] : 0;
      if (sign) ++p;
      p = skip_spaces(p);
      if (!at(p, "endraw")) continue;
      p = skip_spaces(p + 6);
      size_t end = std::string_view::npos;
      if (at(p, "+%}")) {
        end = p + 3;
      } else if (at(p, "-%}")) {
        end = skip_spaces(p + 3);
      } else if (at(p, "%}")) {
        end = p + 2 + (at(p + 2, "\n") ? 1 : 0);
      }
      if (end == std::string_view::npos) continue;
      emit_data(strip_before_tag(src_.substr(start, k - start), sign, true), start);
      line_starting_ = src_[end - 1] == '\n';
      pos_ = end;
      return;
    }
    fail(open, "Missing end of raw directive");
  }

  void lex_comment(size_t open) {
    for (size_t k = pos_; k < src_.size(); ++k) {
      size_t end = std::string_view::npos;
      if (at(k, "+#}")) {
        end = k + 3;
      } else if (at(k, "-#}")) {
        end = skip_spaces(k + 3);
      } else if (at(k, "#}")) {
        end = k + 2 + (at(k + 2, "\n") ? 1 : 0);
      }
      if (end == std::string_view::npos) continue;
      line_starting_ = src_[end - 1] == '\n';
      pos_ = end;
      return;
    }
    fail(open, "Missing end of comment tag");
  }

  // The end of the tag at pos_, or npos: "+%}", "-%}" + blanks, "%}" + one newline (trim_blocks);
  // "-}}" + blanks or "}}" for variables.
  size_t match_tag_end(TagKind kind) const {
    if (kind == TagKind::kBlock) {
      if (at(pos_, "+%}")) return pos_ + 3;
      if (at(pos_, "-%}")) return skip_spaces(pos_ + 3);
      if (at(pos_, "%}")) return pos_ + 2 + (at(pos_ + 2, "\n") ? 1 : 0);
      return std::string_view::npos;
    }
    if (at(pos_, "-}}")) return skip_spaces(pos_ + 3);
    if (at(pos_, "}}")) return pos_ + 2;
    return std::string_view::npos;
  }

  void lex_tag(TagKind kind, size_t open) {
    emit(kind == TagKind::kBlock ? TokenType::kBlockBegin : TokenType::kVariableBegin, "", open);
    std::vector<char> closers;
    while (pos_ < src_.size()) {
      if (closers.empty()) {
        if (const size_t end = match_tag_end(kind); end != std::string_view::npos) {
          emit(kind == TagKind::kBlock ? TokenType::kBlockEnd : TokenType::kVariableEnd, "", pos_);
          line_starting_ = src_[end - 1] == '\n';
          pos_ = end;
          return;
        }
      }
      if (const size_t end = skip_spaces(pos_); end > pos_) {
        line_starting_ = src_[end - 1] == '\n';
        pos_ = end;
        continue;
      }
      line_starting_ = false;
      if (lex_number() || lex_name() || lex_string()) continue;
      lex_operator(closers);
    }
  }

  // (\d+_)*\d+ from `p`: the end offset, or npos without a leading digit.
  size_t match_digits(size_t p) const {
    if (p >= src_.size() || !is_digit(src_[p])) return std::string_view::npos;
    while (true) {
      while (p < src_.size() && is_digit(src_[p])) ++p;
      if (p + 1 < src_.size() && src_[p] == '_' && is_digit(src_[p + 1])) {
        ++p;
        continue;
      }
      return p;
    }
  }

  size_t match_exponent(size_t p) const {
    if (p >= src_.size() || (src_[p] != 'e' && src_[p] != 'E')) return std::string_view::npos;
    ++p;
    if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
    return match_digits(p);
  }

  bool lex_number() {
    const size_t digits_end = match_digits(pos_);
    if (digits_end == std::string_view::npos) return false;
    // jinja2's float_re: digits, then a fraction and/or an exponent, not right after a ".".
    size_t end = std::string_view::npos;
    if (pos_ == 0 || src_[pos_ - 1] != '.') {
      if (at(digits_end, ".") && match_digits(digits_end + 1) != std::string_view::npos) {
        end = match_digits(digits_end + 1);
        if (const size_t e = match_exponent(end); e != std::string_view::npos) end = e;
      } else {
        end = match_exponent(digits_end);
      }
    }
    if (end != std::string_view::npos) {
      emit_float(end);
    } else {
      emit_integer();
    }
    return true;
  }

  void emit_float(size_t end) {
    std::string literal;
    for (size_t i = pos_; i < end; ++i) {
      if (src_[i] != '_') literal += src_[i];
    }
    double value = 0;
    const auto result = std::from_chars(literal.data(), literal.data() + literal.size(), value);
    if (result.ec == std::errc::result_out_of_range) {
      // Python's float(): overflow is infinity, underflow is zero.
      const size_t e = literal.find_first_of("eE");
      const bool tiny = e != std::string::npos && literal[e + 1] == '-';
      value = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    }
    emit(TokenType::kFloat, std::string(src_.substr(pos_, end - pos_)), pos_);
    tokens_.back().number = value;
    pos_ = end;
  }

  // 0b/0o/0x with optional "_" between digits, a decimal without leading zeros, or zeros.
  void emit_integer() {
    size_t p = pos_;
    int base = 10;
    if (src_[p] == '0' && p + 1 < src_.size() &&
        std::string_view("bBoOxX").find(src_[p + 1]) != std::string_view::npos) {
      const char prefix = static_cast<char>(std::tolower(static_cast<unsigned char>(src_[p + 1])));
      const int candidate = prefix == 'b' ? 2 : prefix == 'o' ? 8 : 16;
      const auto digit_ok = [&](size_t i) {
        const int v = i < src_.size() ? hex_value(src_[i]) : -1;
        return v >= 0 && v < candidate;
      };
      size_t q = p + 2;
      size_t count = 0;
      while (true) {
        if (digit_ok(q)) {
          ++q, ++count;
        } else if (q < src_.size() && src_[q] == '_' && digit_ok(q + 1)) {
          q += 2, ++count;
        } else {
          break;
        }
      }
      if (count > 0) {
        base = candidate;
        p = q;
      }
    }
    if (base == 10) {
      if (src_[pos_] == '0') {
        p = pos_ + 1;
        while (true) {
          if (at(p, "0")) {
            ++p;
          } else if (at(p, "_0")) {
            p += 2;
          } else {
            break;
          }
        }
      } else {
        p = match_digits(pos_);
      }
    }
    const size_t digits_start = base == 10 ? pos_ : pos_ + 2;
    uint64_t value = 0;
    for (size_t i = digits_start; i < p; ++i) {
      if (src_[i] == '_') continue;
      const auto digit = static_cast<uint64_t>(hex_value(src_[i]));
      if (value > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) /
                      static_cast<uint64_t>(base)) {
        fail(pos_, "integer literal too large (Python's unbounded integers are not supported)");
      }
      value = value * static_cast<uint64_t>(base) + digit;
    }
    emit(TokenType::kInteger, std::string(src_.substr(pos_, p - pos_)), pos_);
    tokens_.back().integer = static_cast<int64_t>(value);
    pos_ = p;
  }

  // Identifier characters: ASCII letters, "_", digits after the first, and letters beyond ASCII
  // (Python's identifiers, approximated by text::is_alpha).
  size_t name_char_at(size_t pos, bool first) const {
    const char c = src_[pos];
    if (c == '_' || std::isalpha(static_cast<unsigned char>(c)) || (!first && is_digit(c)))
      return 1;
    if (static_cast<unsigned char>(c) < 0x80) return 0;
    const std::string ch = text::characters(src_.substr(pos, 4)).front();
    return text::is_alpha(text::decode(ch).front()) ? ch.size() : 0;
  }

  bool lex_name() {
    size_t end = pos_ + name_char_at(pos_, true);
    if (end == pos_) return false;
    while (end < src_.size()) {
      const size_t n = name_char_at(end, false);
      if (n == 0) break;
      end += n;
    }
    emit(TokenType::kName, std::string(src_.substr(pos_, end - pos_)), pos_);
    pos_ = end;
    return true;
  }

  bool lex_string() {
    const char quote = src_[pos_];
    if (quote != '\'' && quote != '"') return false;
    size_t p = pos_ + 1;
    while (p < src_.size() && src_[p] != quote) p += src_[p] == '\\' ? 2 : 1;
    if (p >= src_.size()) return false;  // unterminated: reported as an unexpected character
    emit(TokenType::kString, decode_string(pos_ + 1, p), pos_);
    pos_ = p + 1;
    return true;
  }

  // jinja2 decodes a string literal with Python's "unicode-escape" codec.
  std::string decode_string(size_t begin, size_t end) const {
    std::string out;
    for (size_t i = begin; i < end; ++i) {
      if (src_[i] != '\\') {
        out += src_[i];
        continue;
      }
      const char e = src_[++i];
      switch (e) {
        case '\n':
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x':
          i = append_hex_escape(out, i, end, 2, "truncated \\xXX escape");
          break;
        case 'u':
          i = append_hex_escape(out, i, end, 4, "truncated \\uXXXX escape");
          break;
        case 'U':
          i = append_hex_escape(out, i, end, 8, "truncated \\UXXXXXXXX escape");
          break;
        case 'N':
          fail(i - 1, "\\N{...} escapes are not supported");
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = 0;
            size_t n = 0;
            for (; n < 3 && i + n < end && src_[i + n] >= '0' && src_[i + n] <= '7'; ++n) {
              cp = cp * 8 + static_cast<char32_t>(src_[i + n] - '0');
            }
            text::append_utf8(out, cp);
            i += n - 1;
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    return out;
  }

  // \xXX, \uXXXX, \UXXXXXXXX at `i` (the letter); returns the index of the last digit.
  size_t append_hex_escape(std::string& out, size_t i, size_t end, size_t digits,
                           std::string_view truncated) const {
    char32_t cp = 0;
    for (size_t n = 1; n <= digits; ++n) {
      const int v = i + n < end ? hex_value(src_[i + n]) : -1;
      if (v < 0) fail(i - 1, truncated);
      cp = cp * 16 + static_cast<char32_t>(v);
    }
    if (cp > 0x10FFFF) fail(i - 1, "illegal Unicode character");
    text::append_utf8(out, cp);
    return i + digits;
  }

  void lex_operator(std::vector<char>& closers) {
    std::string op;
    for (std::string_view two : kTwoCharOperators) {
      if (at(pos_, two)) op = two;
    }
    if (op.empty() && kOneCharOperators.find(src_[pos_]) != std::string_view::npos) {
      op = src_[pos_];
    }
    if (op.empty()) {
      // jinja2 names the character and its index in the source.
      const std::string c = text::characters(src_.substr(pos_, 4)).front();
      fail(pos_, fmt::format("unexpected char {} at {}", c == "'" ? "\"'\"" : "'" + c + "'",
                             text::length(src_.substr(0, pos_))));
    }
    if (op == "{" || op == "(" || op == "[") {
      closers.push_back(op == "{" ? '}' : op == "(" ? ')' : ']');
    } else if (op == "}" || op == ")" || op == "]") {
      if (closers.empty()) fail(pos_, fmt::format("unexpected '{}'", op));
      if (closers.back() != op[0]) {
        fail(pos_, fmt::format("unexpected '{}', expected '{}'", op, closers.back()));
      }
      closers.pop_back();
    }
    emit(TokenType::kOperator, op, pos_);
    pos_ += op.size();
  }

  const Locator& locator_;
  std::string_view src_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(const Locator& locator) { return Lexer(locator).run(); }

}  // namespace gemma::jinja
