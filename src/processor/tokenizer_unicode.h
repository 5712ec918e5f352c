#pragma once
// The UTF-8 and character-class rules the tokenizer shares with Hugging Face tokenizers (Rust):
// strict UTF-8 as String::from_utf8 checks it, char::is_whitespace, and regex `\w`.
#include <cstddef>
#include <optional>
#include <string_view>

namespace gemma::detail {

// Byte offset of the first byte that does not start a valid UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF are invalid); nullopt if all of `text` is valid.
std::optional<size_t> find_invalid_utf8(std::string_view text);

// Positions are byte offsets into valid UTF-8 `text`, at code point boundaries.
char32_t code_point_at(std::string_view text, size_t pos);
size_t code_point_length(std::string_view text, size_t pos);
// Where the code point that ends at `pos` (> 0) starts.
size_t previous_code_point(std::string_view text, size_t pos);

// Unicode White_Space (Rust's char::is_whitespace, regex `\s`).
bool is_whitespace(char32_t c);
// Regex `\w`: exact for ASCII and Latin-1; above that, everything except the punctuation, symbol
// and space blocks counts as a word character (no Unicode tables are linked in).
bool is_word_char(char32_t c);

}  // namespace gemma::detail
