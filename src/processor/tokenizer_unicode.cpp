#include "processor/tokenizer_unicode.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace gemma::detail {
namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Length of the valid sequence at `pos`, or 0. The second byte's range rules out overlong forms,
// surrogates (ED A0..BF) and code points above U+10FFFF (F4 90..BF), as RFC 3629 does.
size_t valid_sequence_length(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - pos < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (!is_continuation(byte(i))) return 0;
  }
  return length;
}

struct Range {
  char32_t first;
  char32_t last;
};

// Punctuation, symbol, space and format blocks above Latin-1 whose characters are not `\w`.
constexpr std::array<Range, 27> kNonWordRanges = {{
    {0x2000, 0x200B},   {0x200E, 0x203E},   {0x2041, 0x2053}, {0x2055, 0x206F}, {0x20A0, 0x20CF},
    {0x2190, 0x23FF},   {0x2400, 0x245F},   {0x2500, 0x2BFF}, {0x2E00, 0x2E7F}, {0x3000, 0x3004},
    {0x3008, 0x3020},   {0x3030, 0x3030},   {0x303D, 0x303F}, {0xFE10, 0xFE19}, {0xFE30, 0xFE32},
    {0xFE35, 0xFE4C},   {0xFE50, 0xFE6B},   {0xFEFF, 0xFEFF}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF20},
    {0xFF3B, 0xFF3E},   {0xFF40, 0xFF40},   {0xFF5B, 0xFF65}, {0xFFE0, 0xFFEE}, {0xFFF9, 0xFFFD},
    {0x1F000, 0x1F0FF}, {0x1F300, 0x1FAFF},
}};

bool is_latin1_word_char(char32_t c) {
  if (c < 0x80) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  }
  if (c < 0xC0) return c == 0xAA || c == 0xB5 || c == 0xBA;  // ª µ º are letters
  return c != 0xD7 && c != 0xF7;                             // × ÷
}

}  // namespace

std::optional<size_t> find_invalid_utf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = valid_sequence_length(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return std::nullopt;
}

size_t code_point_length(std::string_view text, size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

char32_t code_point_at(std::string_view text, size_t pos) {
  const size_t length = code_point_length(text, pos);
  constexpr std::array<unsigned char, 5> kLeadMask = {0, 0x7F, 0x1F, 0x0F, 0x07};
  char32_t c = static_cast<unsigned char>(text[pos]) & kLeadMask[length];
  for (size_t i = 1; i < length; ++i) {
    c = (c << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  }
  return c;
}

size_t previous_code_point(std::string_view text, size_t pos) {
  size_t start = pos - 1;
  while (is_continuation(static_cast<unsigned char>(text[start]))) --start;
  return start;
}

bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool is_word_char(char32_t c) {
  if (c < 0x100) return is_latin1_word_char(c);
  return std::none_of(kNonWordRanges.begin(), kNonWordRanges.end(),
                      [c](const Range& r) { return c >= r.first && c <= r.last; });
}

}  // namespace gemma::detail
