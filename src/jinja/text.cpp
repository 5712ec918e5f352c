// Python str semantics on UTF-8 for the Jinja interpreter: code points, whitespace, case
// mapping, strip/split/replace (see jinja_text.h).
#include "jinja/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "jinja/value.h"

namespace gemma::jinja {

// =============================================================================================
// UTF-8 and Python str primitives
// =============================================================================================

namespace text {
namespace {

constexpr char32_t kEscapeBase = 0xDC00;  // surrogateescape: byte b <-> U+DC00 + b

// Decodes one code point at `pos`, advancing it. Malformed bytes decode one at a time as
// surrogate escapes.
char32_t decode_one(std::string_view s, size_t& pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  size_t extra = 0;
  char32_t cp = 0;
  char32_t minimum = 0;
  if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    cp = b0 & 0x1F;
    minimum = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    cp = b0 & 0x0F;
    minimum = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    cp = b0 & 0x07;
    minimum = 0x10000;
  }
  bool valid = extra > 0 && pos + extra < s.size();
  for (size_t i = 1; valid && i <= extra; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) valid = false;
    cp = (cp << 6) | (byte(pos + i) & 0x3F);
  }
  if (!valid || cp < minimum || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++pos;
    return kEscapeBase + b0;
  }
  pos += extra + 1;
  return cp;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Greek capitals with tonos and their small letters, which sit apart from the basic alphabet.
constexpr std::array<std::pair<char32_t, char32_t>, 7> kGreekTonos = {{{0x386, 0x3AC},
                                                                       {0x388, 0x3AD},
                                                                       {0x389, 0x3AE},
                                                                       {0x38A, 0x3AF},
                                                                       {0x38C, 0x3CC},
                                                                       {0x38E, 0x3CD},
                                                                       {0x38F, 0x3CE}}};

// One-to-one case pairs beyond ASCII: Latin-1, Latin Extended-A, Greek, Cyrillic.
char32_t to_lower_cp(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
      c != 0x178 && c != 0x17F) {
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper) return (c % 2 == 1) ? c + 1 : c;
    return (c % 2 == 0) ? c + 1 : c;
  }
  if (c == 0x178) return 0xFF;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;
  for (const auto& [upper, lower] : kGreekTonos) {
    if (c == upper) return lower;
  }
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

char32_t to_upper_cp(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c == 0xB5) return 0x39C;
  if (c == 0x131) return 'I';
  if (c == 0x17F) return 'S';
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
      c != 0x178 && c != 0x17F) {
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper) return (c % 2 == 0) ? c - 1 : c;
    return (c % 2 == 1) ? c - 1 : c;
  }
  if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) return c - 32;
  for (const auto& [upper, lower] : kGreekTonos) {
    if (c == lower) return upper;
  }
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

bool is_cased(char32_t c) {
  return to_lower_cp(c) != c || to_upper_cp(c) != c || c == 0xDF || c == 0x138;
}

// Python uppercases "ß" to "SS" and title-cases it to "Ss"; every other mapping here is one code
// point.
void append_upper(std::u32string& out, char32_t c, bool title = false) {
  if (c == 0xDF) {
    out += title ? U"Ss" : U"SS";
  } else {
    out += to_upper_cp(c);
  }
}

template <class Fn>
std::string map_code_points(std::string_view s, Fn&& fn) {
  std::u32string out;
  const std::u32string in = decode(s);
  for (size_t i = 0; i < in.size(); ++i) fn(out, in, i);
  return encode(out);
}

bool is_line_break(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
         c == 0x85 || c == 0x2028 || c == 0x2029;
}

}  // namespace

std::u32string decode(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  for (size_t pos = 0; pos < utf8.size();) out += decode_one(utf8, pos);
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp >= kEscapeBase + 0x80 && cp <= kEscapeBase + 0xFF) {
    out += static_cast<char>(cp - kEscapeBase);
  } else if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string encode(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t cp : code_points) append_utf8(out, cp);
  return out;
}

size_t length(std::string_view utf8) {
  if (is_ascii(utf8)) return utf8.size();
  size_t n = 0;
  for (size_t pos = 0; pos < utf8.size(); ++n) decode_one(utf8, pos);
  return n;
}

std::vector<std::string> characters(std::string_view utf8) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < utf8.size();) {
    const size_t start = pos;
    decode_one(utf8, pos);
    out.emplace_back(utf8.substr(start, pos - start));
  }
  return out;
}

bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool is_alpha(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return is_cased(c) || (c >= 0x3040 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF);
}

size_t space_at(std::string_view utf8, size_t pos) {
  size_t end = pos;
  return is_space(decode_one(utf8, end)) ? end - pos : 0;
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left,
                  bool right) {
  const std::u32string in = decode(s);
  const std::u32string set = chars ? decode(*chars) : std::u32string();
  const auto strippable = [&](char32_t c) {
    return chars ? set.find(c) != std::u32string::npos : is_space(c);
  };
  size_t begin = 0;
  size_t end = in.size();
  while (left && begin < end && strippable(in[begin])) ++begin;
  while (right && end > begin && strippable(in[end - 1])) --end;
  return encode(std::u32string_view(in).substr(begin, end - begin));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               long long maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty()) throw EvalError("ValueError: empty separator");
    size_t splits = 0;
    if (!from_right) {
      size_t start = 0;
      for (size_t hit; (maxsplit < 0 || splits < static_cast<size_t>(maxsplit)) &&
                       (hit = s.find(*sep, start)) != std::string_view::npos;
           ++splits) {
        parts.emplace_back(s.substr(start, hit - start));
        start = hit + sep->size();
      }
      parts.emplace_back(s.substr(start));
      return parts;
    }
    size_t end = s.size();
    for (size_t hit;
         (maxsplit < 0 || splits < static_cast<size_t>(maxsplit)) && end >= sep->size() &&
         (hit = s.rfind(*sep, end - sep->size())) != std::string_view::npos;
         ++splits) {
      parts.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
      end = hit;
    }
    parts.emplace_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  // Runs of whitespace separate words and yield no empty words; once maxsplit is reached the
  // remainder is kept as it is.
  std::u32string in = decode(s);
  if (from_right) std::reverse(in.begin(), in.end());
  size_t pos = 0;
  size_t splits = 0;
  while (true) {
    while (pos < in.size() && is_space(in[pos])) ++pos;
    if (pos == in.size()) break;
    if (maxsplit >= 0 && splits == static_cast<size_t>(maxsplit)) {
      parts.push_back(encode(std::u32string_view(in).substr(pos)));
      break;
    }
    size_t end = pos;
    while (end < in.size() && !is_space(in[end])) ++end;
    parts.push_back(encode(std::u32string_view(in).substr(pos, end - pos)));
    pos = end;
    ++splits;
  }
  if (from_right) {
    for (auto& part : parts) {
      std::u32string cps = decode(part);
      std::reverse(cps.begin(), cps.end());
      part = encode(cps);
    }
    std::reverse(parts.begin(), parts.end());
  }
  return parts;
}

std::vector<std::string> splitlines(std::string_view s) {
  const std::u32string in = decode(s);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!is_line_break(in[i])) continue;
    lines.push_back(encode(std::u32string_view(in).substr(start, i - start)));
    if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < in.size()) lines.push_back(encode(std::u32string_view(in).substr(start)));
  return lines;
}

std::string replace(std::string_view s, std::string_view old_text, std::string_view new_text,
                    long long count) {
  std::string out;
  long long done = 0;
  if (old_text.empty()) {
    // Python inserts `new` before every character and at the end.
    const auto chars = characters(s);
    for (const auto& c : chars) {
      if (count < 0 || done < count) out += new_text, ++done;
      out += c;
    }
    if (count < 0 || done < count) out += new_text;
    return out;
  }
  size_t start = 0;
  for (size_t hit;
       (count < 0 || done < count) && (hit = s.find(old_text, start)) != std::string_view::npos;
       ++done) {
    out.append(s.substr(start, hit - start));
    out.append(new_text);
    start = hit + old_text.size();
  }
  out.append(s.substr(start));
  return out;
}

std::string lower(std::string_view s) {
  return map_code_points(s, [](std::u32string& out, const std::u32string& in, size_t i) {
    out += to_lower_cp(in[i]);
  });
}

std::string upper(std::string_view s) {
  return map_code_points(
      s, [](std::u32string& out, const std::u32string& in, size_t i) { append_upper(out, in[i]); });
}

std::string title(std::string_view s) {
  bool previous_cased = false;
  return map_code_points(s, [&](std::u32string& out, const std::u32string& in, size_t i) {
    if (previous_cased) {
      out += to_lower_cp(in[i]);
    } else {
      append_upper(out, in[i], true);
    }
    previous_cased = is_cased(in[i]);
  });
}

std::string capitalize(std::string_view s) {
  return map_code_points(s, [](std::u32string& out, const std::u32string& in, size_t i) {
    if (i == 0) {
      append_upper(out, in[i], true);
    } else {
      out += to_lower_cp(in[i]);
    }
  });
}

bool is_lower(std::string_view s) {
  bool any_cased = false;
  for (char32_t c : decode(s)) {
    if (to_lower_cp(c) != c) return false;
    any_cased = any_cased || is_cased(c);
  }
  return any_cased;
}

bool is_upper(std::string_view s) {
  bool any_cased = false;
  for (char32_t c : decode(s)) {
    if (to_upper_cp(c) != c || c == 0xDF || c == 0x138) return false;
    any_cased = any_cased || is_cased(c);
  }
  return any_cased;
}

}  // namespace text

}  // namespace gemma::jinja
