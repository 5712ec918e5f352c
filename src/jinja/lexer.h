#pragma once
// Tokens of a Jinja template, split exactly as jinja2's lexer does in transformers' environment:
// trim_blocks and lstrip_blocks on, "-"/"+" whitespace control, raw blocks, comments dropped, a
// single trailing newline removed (keep_trailing_newline=False).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gemma::jinja {

/// The normalised template source and its name; turns byte offsets into "line L, column C".
class Locator {
 public:
  /// `source` is the raw template text; jinja2 reads "\r\n", "\r" and "\n" as one newline and
  /// drops a single trailing newline, and so does this.
  Locator(std::string name, std::string_view source);

  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }
  /// 1-based line and column (counted in code points) of a byte offset.
  std::pair<size_t, size_t> line_column(size_t offset) const;
  /// Throws ProcessorError "<name> line L, column C: <message>".
  [[noreturn]] void fail(size_t offset, std::string_view message) const;

 private:
  std::string name_;
  std::string source_;
  std::vector<size_t> line_starts_;
};

enum class TokenType {
  kData,           ///< template text
  kVariableBegin,  ///< {{
  kVariableEnd,    ///< }}
  kBlockBegin,     ///< {%
  kBlockEnd,       ///< %}
  kName,
  kString,   ///< text holds the decoded value
  kInteger,  ///< integer holds the value
  kFloat,    ///< number holds the value
  kOperator,
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string text;  ///< data, name, operator or decoded string
  int64_t integer = 0;
  double number = 0;
  size_t offset = 0;  ///< byte offset in Locator::source()
};

/// Splits the template into tokens; the last one is kEof. Lexical errors (unterminated comment,
/// unbalanced brackets, bad escapes) throw ProcessorError with their location.
std::vector<Token> tokenize(const Locator& locator);

}  // namespace gemma::jinja
