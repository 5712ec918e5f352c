// Python's data model for the Jinja interpreter: str operations on UTF-8, printing, equality and
// ordering, arithmetic, attribute and item access as jinja2's sandbox does them, JSON in and out.
#include "processor/jinja_value.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "processor/jinja_text.h"

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

// =============================================================================================
// Value, Dict, Args
// =============================================================================================

namespace {

constexpr size_t kMaxNesting = 512;          // deeper values are refused (stack safety)
constexpr size_t kMaxRepeatBytes = 1 << 28;  // `'x' * n` and `[x] * n` beyond this fail

size_t nesting(const Value& v);

std::shared_ptr<const Sequence> make_sequence(SequenceKind kind, std::vector<Value> items,
                                              std::string type_name = {}) {
  auto seq = std::make_shared<Sequence>();
  seq->kind = kind;
  seq->items = std::move(items);
  seq->type_name = std::move(type_name);
  for (const auto& item : seq->items) seq->depth = std::max(seq->depth, nesting(item) + 1);
  if (seq->depth > kMaxNesting) throw EvalError("RecursionError: values nested too deeply");
  return seq;
}

size_t nesting(const Value& v) {
  if (const auto* seq = v.sequence()) return seq->depth;
  if (const auto* d = v.dict()) return d->depth();
  return 0;
}

}  // namespace

bool hashable(const Value& v) {
  if (v.dict()) return false;
  if (const auto* seq = v.sequence()) {
    if (seq->kind == SequenceKind::kTuple) {
      return std::all_of(seq->items.begin(), seq->items.end(),
                         [](const Value& item) { return hashable(item); });
    }
    return seq->kind == SequenceKind::kRange || seq->kind == SequenceKind::kIterator;
  }
  return true;
}

Value Value::list(std::vector<Value> items) {
  return Value(make_sequence(SequenceKind::kList, std::move(items)));
}

Value Value::tuple(std::vector<Value> items) {
  return Value(make_sequence(SequenceKind::kTuple, std::move(items)));
}

Value Value::dict(Dict entries) {
  if (entries.depth() > kMaxNesting) throw EvalError("RecursionError: values nested too deeply");
  return Value(std::make_shared<const Dict>(std::move(entries)));
}

Value Value::sequence_of(SequenceKind kind, std::vector<Value> items, std::string type_name) {
  return Value(make_sequence(kind, std::move(items), std::move(type_name)));
}

int64_t Value::as_integer() const {
  if (const auto* b = get_if<bool>()) return *b ? 1 : 0;
  return std::get<int64_t>(storage_);
}

double Value::as_double() const {
  if (const auto* d = get_if<double>()) return *d;
  return static_cast<double>(as_integer());
}

const Sequence* Value::sequence() const {
  const auto* p = get_if<std::shared_ptr<const Sequence>>();
  return p ? p->get() : nullptr;
}

const Dict* Value::dict() const {
  const auto* p = get_if<std::shared_ptr<const Dict>>();
  return p ? p->get() : nullptr;
}

Object* Value::object() const {
  const auto* p = get_if<std::shared_ptr<Object>>();
  return p ? p->get() : nullptr;
}

const Function* Value::function() const {
  const auto* p = get_if<std::shared_ptr<const Function>>();
  return p ? p->get() : nullptr;
}

const Value* Dict::find(const Value& key) const {
  if (const auto* s = key.get_if<std::string>()) return find(std::string_view(*s));
  if (!hashable(key))
    throw EvalError(fmt::format("TypeError: unhashable type: '{}'", type_name(key)));
  for (const auto& [k, v] : entries_) {
    if (equal(k, key)) return &v;
  }
  return nullptr;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (const auto* s = k.get_if<std::string>(); s && *s == key) return &v;
  }
  return nullptr;
}

void Dict::set(Value key, Value value) {
  if (!hashable(key))
    throw EvalError(fmt::format("TypeError: unhashable type: '{}'", type_name(key)));
  depth_ = std::max(depth_, nesting(value) + 1);
  for (auto& [k, v] : entries_) {
    if (equal(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

Value make_function(std::string type_name, std::string repr, Function::Body body) {
  return Value(
      std::make_shared<const Function>(std::move(type_name), std::move(repr), std::move(body)));
}

std::optional<Value> Args::next(std::string_view name) {
  used_keywords_.resize(call_.keywords.size(), false);
  for (size_t i = 0; i < call_.keywords.size(); ++i) {
    if (call_.keywords[i].first != name) continue;
    if (next_positional_ < call_.positional.size()) {
      throw EvalError(
          fmt::format("TypeError: {}() got multiple values for argument '{}'", callee_, name));
    }
    used_keywords_[i] = true;
    return call_.keywords[i].second;
  }
  if (next_positional_ < call_.positional.size()) return call_.positional[next_positional_++];
  return std::nullopt;
}

Value Args::next_or(std::string_view name, Value fallback) {
  auto v = next(name);
  return v ? std::move(*v) : std::move(fallback);
}

Value Args::required(std::string_view name) {
  auto v = next(name);
  if (!v) {
    throw EvalError(fmt::format("TypeError: {}() missing required argument '{}'", callee_, name));
  }
  return std::move(*v);
}

std::vector<Value> Args::rest() {
  std::vector<Value> out(call_.positional.begin() + static_cast<std::ptrdiff_t>(next_positional_),
                         call_.positional.end());
  next_positional_ = call_.positional.size();
  return out;
}

std::vector<std::pair<std::string, Value>> Args::rest_keywords() {
  used_keywords_.resize(call_.keywords.size(), false);
  std::vector<std::pair<std::string, Value>> out;
  for (size_t i = 0; i < call_.keywords.size(); ++i) {
    if (used_keywords_[i]) continue;
    used_keywords_[i] = true;
    out.push_back(call_.keywords[i]);
  }
  return out;
}

void Args::finish() const {
  if (next_positional_ < call_.positional.size()) {
    throw EvalError(
        fmt::format("TypeError: {}() takes at most {} positional argument(s) ({} given)", callee_,
                    next_positional_, call_.positional.size()));
  }
  for (size_t i = 0; i < call_.keywords.size(); ++i) {
    if (i >= used_keywords_.size() || !used_keywords_[i]) {
      throw EvalError(fmt::format("TypeError: {}() got an unexpected keyword argument '{}'",
                                  callee_, call_.keywords[i].first));
    }
  }
}

// =============================================================================================
// Printing
// =============================================================================================

namespace {

// Python's repr(str): single quotes unless the text has ' and no ", escapes for the rest.
bool printable(char32_t c) {
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  if (c <= 0xA0 || c == 0xAD) return false;
  if (c >= 0xD800 && c <= 0xDFFF) return false;  // surrogates (and escaped raw bytes)
  if (c >= 0xE000 && c <= 0xF8FF) return false;  // private use
  if (c == 0x1680 || c == 0x180E || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
      (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) ||
      (c >= 0x600 && c <= 0x605) || c == 0x61C || c == 0x6DD || c == 0x70F) {
    return false;
  }
  return c < 0xF0000;
}

std::string string_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : text::decode(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (printable(c)) {
      text::append_utf8(out, c);
    } else if (c >= 0xDC80 && c <= 0xDCFF) {
      out += fmt::format("\\udc{:02x}", static_cast<unsigned>(c - 0xDC00));
    } else if (c <= 0xFF) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else if (c <= 0xFFFF) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += fmt::format("\\U{:08x}", static_cast<unsigned>(c));
    }
  }
  out += quote;
  return out;
}

std::string join_reprs(const std::vector<Value>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += repr(items[i]);
  }
  return out;
}

std::string sequence_repr(const Sequence& seq) {
  switch (seq.kind) {
    case SequenceKind::kList:
      return fmt::format("[{}]", join_reprs(seq.items));
    case SequenceKind::kTuple:
      return fmt::format("({}{})", join_reprs(seq.items), seq.items.size() == 1 ? "," : "");
    case SequenceKind::kRange:
      if (seq.range_step == 1) return fmt::format("range({}, {})", seq.range_start, seq.range_stop);
      return fmt::format("range({}, {}, {})", seq.range_start, seq.range_stop, seq.range_step);
    case SequenceKind::kView:
      return seq.type_name + "([" + join_reprs(seq.items) + "])";
    case SequenceKind::kIterator:
      break;
  }
  return fmt::format("<{} object>", seq.type_name);
}

std::string dict_repr(const Dict& d) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : d) {
    if (!first) out += ", ";
    first = false;
    out += repr(k) + ": " + repr(v);
  }
  return out + "}";
}

}  // namespace

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits, laid out as Python's repr does: fixed notation for decimal
  // exponents in [-4, 16), scientific otherwise.
  std::array<char, 64> buf{};
  const auto result =
      std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::scientific);
  std::string_view sci(buf.data(), static_cast<size_t>(result.ptr - buf.data()));
  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits(1, sci[0]);
  if (e > 1) digits += sci.substr(2, e - 2);
  int exponent = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exponent);
  const int decpt = exponent + 1;
  const int n = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return out + "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    if (decpt >= n) return out + digits + std::string(static_cast<size_t>(decpt - n), '0') + ".0";
    return out + digits.substr(0, static_cast<size_t>(decpt)) + "." +
           digits.substr(static_cast<size_t>(decpt));
  }
  out += digits[0];
  if (n > 1) {
    out += '.';
    out += digits.substr(1);
  }
  return out + fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
}

std::string repr(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Undefined>) {
          return "Undefined";
        } else if constexpr (std::is_same_v<T, None>) {
          return "None";
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "True" : "False";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, double>) {
          return float_repr(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return string_repr(x);
        } else if constexpr (std::is_same_v<T, std::shared_ptr<const Sequence>>) {
          return sequence_repr(*x);
        } else if constexpr (std::is_same_v<T, std::shared_ptr<const Dict>>) {
          return dict_repr(*x);
        } else {
          return x->repr();
        }
      },
      v.storage());
}

std::string str(const Value& v) {
  if (v.is_undefined()) return "";
  if (const auto* s = v.get_if<std::string>()) return *s;
  return repr(v);
}

std::string type_name(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Undefined>) {
          return "Undefined";
        } else if constexpr (std::is_same_v<T, None>) {
          return "NoneType";
        } else if constexpr (std::is_same_v<T, bool>) {
          return "bool";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return "int";
        } else if constexpr (std::is_same_v<T, double>) {
          return "float";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return "str";
        } else if constexpr (std::is_same_v<T, std::shared_ptr<const Sequence>>) {
          switch (x->kind) {
            case SequenceKind::kList:
              return "list";
            case SequenceKind::kTuple:
              return "tuple";
            case SequenceKind::kRange:
              return "range";
            default:
              return x->type_name;
          }
        } else if constexpr (std::is_same_v<T, std::shared_ptr<const Dict>>) {
          return "dict";
        } else {
          return x->type_name();
        }
      },
      v.storage());
}

std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_undefined()) return "jinja2.runtime.Undefined object";
  if (const auto* o = v.object()) return o->qualified_type_name() + " object";
  if (const auto* f = v.function(); f && f->type_name() == "Macro") {
    return "jinja2.runtime.Macro object";
  }
  return type_name(v) + " object";
}

void fail_undefined(const Value& v) { throw EvalError(std::get<Undefined>(v.storage()).error); }

// =============================================================================================
// Equality, ordering, containers
// =============================================================================================

namespace {

// Orders two numbers exactly (long double holds every int64 and double); nullopt for NaN.
std::optional<int> numeric_order(const Value& a, const Value& b) {
  if (a.is_integer() && b.is_integer()) {
    const int64_t x = a.as_integer();
    const int64_t y = b.as_integer();
    return (x > y) - (x < y);
  }
  const long double x = a.is<double>() ? a.as_double() : static_cast<long double>(a.as_integer());
  const long double y = b.is<double>() ? b.as_double() : static_cast<long double>(b.as_integer());
  if (std::isnan(x) || std::isnan(y)) return std::nullopt;
  return (x > y) - (x < y);
}

bool apply_order(CompareOp op, int order) {
  switch (op) {
    case CompareOp::kLess:
      return order < 0;
    case CompareOp::kLessEqual:
      return order <= 0;
    case CompareOp::kGreater:
      return order > 0;
    case CompareOp::kGreaterEqual:
      return order >= 0;
  }
  return false;
}

std::string_view op_symbol(CompareOp op) {
  switch (op) {
    case CompareOp::kLess:
      return "<";
    case CompareOp::kLessEqual:
      return "<=";
    case CompareOp::kGreater:
      return ">";
    case CompareOp::kGreaterEqual:
      return ">=";
  }
  return "?";
}

bool same_sequence_kind(const Sequence& a, const Sequence& b) {
  return a.kind == b.kind && (a.kind == SequenceKind::kList || a.kind == SequenceKind::kTuple);
}

bool items_equal(const std::vector<Value>& a, const std::vector<Value>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!equal(a[i], b[i])) return false;
  }
  return true;
}

}  // namespace

bool truthy(const Value& v) {
  if (v.is_undefined() || v.is_none()) return false;
  if (const auto* b = v.get_if<bool>()) return *b;
  if (const auto* i = v.get_if<int64_t>()) return *i != 0;
  if (const auto* d = v.get_if<double>()) return *d != 0;
  if (const auto* s = v.get_if<std::string>()) return !s->empty();
  if (const auto* seq = v.sequence()) {
    return seq->kind == SequenceKind::kIterator || !seq->items.empty();
  }
  if (const auto* d = v.dict()) return !d->empty();
  return true;
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return numeric_order(a, b) == 0;
  if (a.storage().index() != b.storage().index()) return false;
  if (a.is_undefined() || a.is_none()) return true;
  if (const auto* s = a.get_if<std::string>()) return *s == b.as_string();
  if (const auto* x = a.sequence()) {
    const auto* y = b.sequence();
    if (x == y) return true;
    const bool ranges = x->kind == SequenceKind::kRange && y->kind == SequenceKind::kRange;
    return (same_sequence_kind(*x, *y) || ranges) && items_equal(x->items, y->items);
  }
  if (const auto* x = a.dict()) {
    const auto* y = b.dict();
    if (x->size() != y->size()) return false;
    for (const auto& [k, v] : *x) {
      const Value* other = y->find(k);
      if (!other || !equal(v, *other)) return false;
    }
    return true;
  }
  if (const auto* o = a.object()) return o == b.object();
  return a.function() == b.function();
}

bool compare(CompareOp op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    const auto order = numeric_order(a, b);
    return order && apply_order(op, *order);
  }
  if (a.is_string() && b.is_string()) {
    const int order = a.as_string().compare(b.as_string());
    return apply_order(op, (order > 0) - (order < 0));
  }
  const auto* x = a.sequence();
  const auto* y = b.sequence();
  if (x && y && same_sequence_kind(*x, *y)) {
    const size_t n = std::min(x->items.size(), y->items.size());
    for (size_t i = 0; i < n; ++i) {
      if (!equal(x->items[i], y->items[i])) return compare(op, x->items[i], y->items[i]);
    }
    const size_t xs = x->items.size();
    const size_t ys = y->items.size();
    return apply_order(op, (xs > ys) - (xs < ys));
  }
  throw EvalError(fmt::format("TypeError: '{}' not supported between instances of '{}' and '{}'",
                              op_symbol(op), type_name(a), type_name(b)));
}

bool contains(const Value& container, const Value& item) {
  if (const auto* s = container.get_if<std::string>()) {
    if (!item.is_string()) {
      throw EvalError(fmt::format(
          "TypeError: 'in <string>' requires string as left operand, not {}", type_name(item)));
    }
    return s->find(item.as_string()) != std::string::npos;
  }
  if (const auto* d = container.dict()) return d->find(item) != nullptr;
  if (container.is_undefined() || container.sequence()) {
    const auto items = iterate(container);
    return std::any_of(items.begin(), items.end(), [&](const Value& v) { return equal(v, item); });
  }
  throw EvalError(
      fmt::format("TypeError: argument of type '{}' is not iterable", type_name(container)));
}

int64_t length(const Value& v) {
  if (v.is_undefined()) return 0;
  if (const auto* s = v.get_if<std::string>()) return static_cast<int64_t>(text::length(*s));
  if (const auto* d = v.dict()) return static_cast<int64_t>(d->size());
  if (const auto* seq = v.sequence(); seq && seq->kind != SequenceKind::kIterator) {
    return static_cast<int64_t>(seq->items.size());
  }
  throw EvalError(fmt::format("TypeError: object of type '{}' has no len()", type_name(v)));
}

std::vector<Value> iterate(const Value& v) {
  if (v.is_undefined()) return {};
  if (const auto* seq = v.sequence()) return seq->items;
  if (const auto* s = v.get_if<std::string>()) {
    std::vector<Value> out;
    for (auto& c : text::characters(*s)) out.emplace_back(std::move(c));
    return out;
  }
  if (const auto* d = v.dict()) {
    std::vector<Value> out;
    out.reserve(d->size());
    for (const auto& entry : *d) out.push_back(entry.first);
    return out;
  }
  throw EvalError(fmt::format("TypeError: '{}' object is not iterable", type_name(v)));
}

// =============================================================================================
// Arithmetic
// =============================================================================================

namespace {

[[noreturn]] void overflow() {
  throw EvalError("OverflowError: integer result does not fit in 64 bits");
}

std::string_view binary_symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kFloorDiv:
      return "//";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "** or pow()";
  }
  return "?";
}

int64_t int_pow(int64_t base, int64_t exponent) {
  int64_t result = 1;
  while (exponent > 0) {
    if ((exponent & 1) && __builtin_mul_overflow(result, base, &result)) overflow();
    exponent >>= 1;
    if (exponent > 0 && __builtin_mul_overflow(base, base, &base)) overflow();
  }
  return result;
}

double float_pow(double x, double y) {
  if (x == 0 && y < 0)
    throw EvalError("ZeroDivisionError: 0.0 cannot be raised to a negative power");
  if (x < 0 && std::isfinite(y) && y != std::floor(y)) {
    throw EvalError("ValueError: complex results are not supported");
  }
  const double r = std::pow(x, y);
  if (std::isinf(r) && std::isfinite(x) && std::isfinite(y)) {
    throw EvalError("OverflowError: (34, 'Numerical result out of range')");
  }
  return r;
}

// Python's float floor division and modulo (Objects/floatobject.c: _float_div_mod).
std::pair<double, double> float_divmod(double x, double y) {
  double mod = std::fmod(x, y);
  double div = (x - mod) / y;
  if (mod != 0) {
    if ((y < 0) != (mod < 0)) {
      mod += y;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, y);
  }
  double floordiv = 0;
  if (div != 0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, x / y);
  }
  return {floordiv, mod};
}

Value int_binary(BinaryOp op, int64_t x, int64_t y) {
  int64_t r = 0;
  switch (op) {
    case BinaryOp::kAdd:
      if (__builtin_add_overflow(x, y, &r)) overflow();
      return r;
    case BinaryOp::kSub:
      if (__builtin_sub_overflow(x, y, &r)) overflow();
      return r;
    case BinaryOp::kMul:
      if (__builtin_mul_overflow(x, y, &r)) overflow();
      return r;
    case BinaryOp::kDiv:
      if (y == 0) throw EvalError("ZeroDivisionError: division by zero");
      return static_cast<double>(x) / static_cast<double>(y);
    case BinaryOp::kFloorDiv:
    case BinaryOp::kMod: {
      if (y == 0) {
        throw EvalError(op == BinaryOp::kMod
                            ? "ZeroDivisionError: integer modulo by zero"
                            : "ZeroDivisionError: integer division or modulo by zero");
      }
      if (x == std::numeric_limits<int64_t>::min() && y == -1) {
        if (op == BinaryOp::kMod) return int64_t{0};
        overflow();
      }
      int64_t q = x / y;
      int64_t m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        q -= 1;
        m += y;
      }
      return op == BinaryOp::kMod ? m : q;
    }
    case BinaryOp::kPow:
      if (y < 0) return float_pow(static_cast<double>(x), static_cast<double>(y));
      return int_pow(x, y);
  }
  return r;
}

Value float_binary(BinaryOp op, double x, double y) {
  switch (op) {
    case BinaryOp::kAdd:
      return x + y;
    case BinaryOp::kSub:
      return x - y;
    case BinaryOp::kMul:
      return x * y;
    case BinaryOp::kDiv:
      if (y == 0) throw EvalError("ZeroDivisionError: float division by zero");
      return x / y;
    case BinaryOp::kFloorDiv:
      if (y == 0) throw EvalError("ZeroDivisionError: float floor division by zero");
      return float_divmod(x, y).first;
    case BinaryOp::kMod:
      if (y == 0) throw EvalError("ZeroDivisionError: float modulo");
      return float_divmod(x, y).second;
    case BinaryOp::kPow:
      return float_pow(x, y);
  }
  return 0.0;
}

Value concatenate(const Value& a, const Value& b) {
  if (a.is_string() && b.is_string()) return a.as_string() + b.as_string();
  const auto* x = a.sequence();
  const auto* y = b.sequence();
  if (x && y && same_sequence_kind(*x, *y)) {
    std::vector<Value> items = x->items;
    items.insert(items.end(), y->items.begin(), y->items.end());
    return Value::sequence_of(x->kind, std::move(items));
  }
  if (a.is_string() || (x && (x->kind == SequenceKind::kList || x->kind == SequenceKind::kTuple))) {
    throw EvalError(fmt::format("TypeError: can only concatenate {} (not \"{}\") to {}",
                                type_name(a), type_name(b), type_name(a)));
  }
  throw EvalError(fmt::format("TypeError: unsupported operand type(s) for +: '{}' and '{}'",
                              type_name(a), type_name(b)));
}

std::optional<Value> repeat(const Value& seq, const Value& count) {
  if (!count.is_integer()) return std::nullopt;
  const int64_t n = std::max<int64_t>(count.as_integer(), 0);
  if (const auto* s = seq.get_if<std::string>()) {
    if (!s->empty() && static_cast<uint64_t>(n) > kMaxRepeatBytes / s->size()) {
      throw EvalError("MemoryError: repetition result too large");
    }
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += *s;
    return out;
  }
  const auto* x = seq.sequence();
  if (!x || (x->kind != SequenceKind::kList && x->kind != SequenceKind::kTuple))
    return std::nullopt;
  if (!x->items.empty() && static_cast<uint64_t>(n) > kMaxRepeatBytes / 64 / x->items.size()) {
    throw EvalError("MemoryError: repetition result too large");
  }
  std::vector<Value> items;
  for (int64_t i = 0; i < n; ++i) items.insert(items.end(), x->items.begin(), x->items.end());
  return Value::sequence_of(x->kind, std::move(items));
}

}  // namespace

Value binary(BinaryOp op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  // str % x is str's own operation: an undefined x is just an argument (printed as "").
  if (op == BinaryOp::kMod && a.is_string()) return percent_format(a.as_string(), b);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_integer() && b.is_integer()) return int_binary(op, a.as_integer(), b.as_integer());
    return float_binary(op, a.as_double(), b.as_double());
  }
  if (op == BinaryOp::kAdd) return concatenate(a, b);
  if (op == BinaryOp::kMul) {
    if (auto r = repeat(a, b)) return *r;
    if (auto r = repeat(b, a)) return *r;
    if (a.is_string() || b.is_string() || a.sequence() || b.sequence()) {
      throw EvalError(fmt::format("TypeError: can't multiply sequence by non-int of type '{}'",
                                  type_name(a.is_number() ? a : b)));
    }
  }
  throw EvalError(fmt::format("TypeError: unsupported operand type(s) for {}: '{}' and '{}'",
                              binary_symbol(op), type_name(a), type_name(b)));
}

Value negate(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_integer()) {
    if (v.as_integer() == std::numeric_limits<int64_t>::min()) overflow();
    return -v.as_integer();
  }
  if (const auto* d = v.get_if<double>()) return -*d;
  throw EvalError(fmt::format("TypeError: bad operand type for unary -: '{}'", type_name(v)));
}

Value unary_plus(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_integer()) return v.as_integer();
  if (v.is<double>()) return v;
  throw EvalError(fmt::format("TypeError: bad operand type for unary +: '{}'", type_name(v)));
}

// =============================================================================================
// %-formatting
// =============================================================================================

namespace {

struct FormatSpec {
  std::string flags;
  std::string width;
  std::optional<int> precision;
  char conversion = 's';
};

std::string pad(std::string body, const FormatSpec& spec) {
  const size_t width = spec.width.empty() ? 0 : std::stoul(spec.width);
  const size_t len = text::length(body);
  if (len >= width) return body;
  const std::string fill(width - len, ' ');
  return spec.flags.find('-') != std::string::npos ? body + fill : fill + body;
}

// Numbers go through the C printf Python's own %-formatting mirrors.
template <class T>
std::string c_format(const FormatSpec& spec, const char* length_modifier, T value) {
  std::string format = fmt::format("%{}{}", spec.flags, spec.width);
  if (spec.precision) format += fmt::format(".{}", *spec.precision);
  format += length_modifier;
  format += spec.conversion;
  const int n = std::snprintf(nullptr, 0, format.c_str(), value);
  std::string out(static_cast<size_t>(std::max(n, 0)) + 1, '\0');
  std::snprintf(out.data(), out.size(), format.c_str(), value);
  out.resize(static_cast<size_t>(std::max(n, 0)));
  return out;
}

std::string format_one(const FormatSpec& spec, const Value& value) {
  switch (spec.conversion) {
    case 's':
    case 'r':
    case 'a': {
      std::string body = spec.conversion == 's' ? str(value) : repr(value);
      if (spec.precision) {
        const auto chars = text::characters(body);
        body.clear();
        for (size_t i = 0; i < chars.size() && i < static_cast<size_t>(*spec.precision); ++i) {
          body += chars[i];
        }
      }
      return pad(std::move(body), spec);
    }
    case 'd':
    case 'i':
    case 'u':
    case 'x':
    case 'X':
    case 'o': {
      if (!value.is_number()) {
        throw EvalError(fmt::format("TypeError: %{} format: a real number is required, not {}",
                                    spec.conversion, type_name(value)));
      }
      const double d = value.as_double();
      const long long n = value.is_integer() ? value.as_integer() : static_cast<long long>(d);
      FormatSpec c = spec;
      if (c.conversion == 'i' || c.conversion == 'u') c.conversion = 'd';
      return c_format(c, "ll", n);
    }
    case 'c': {
      if (value.is_string() && text::length(value.as_string()) == 1)
        return pad(value.as_string(), spec);
      if (!value.is_integer() || value.as_integer() < 0 || value.as_integer() > 0x10FFFF) {
        throw EvalError("TypeError: %c requires an int or a unicode character");
      }
      std::string ch;
      text::append_utf8(ch, static_cast<char32_t>(value.as_integer()));
      return pad(std::move(ch), spec);
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (!value.is_number()) {
        throw EvalError(fmt::format("TypeError: must be real number, not {}", type_name(value)));
      }
      return c_format(spec, "", value.as_double());
    default:
      throw EvalError(fmt::format("ValueError: unsupported format character '{}' (0x{:x})",
                                  spec.conversion, static_cast<unsigned char>(spec.conversion)));
  }
}

}  // namespace

std::string percent_format(const std::string& format, const Value& args) {
  const Sequence* tuple = args.sequence();
  if (tuple && tuple->kind != SequenceKind::kTuple) tuple = nullptr;
  const Dict* mapping = args.dict();
  // Python treats any argument with __getitem__ (but a tuple or str) like a mapping: it is used as
  // the single value of %s and never "not converted".
  const Sequence* seq = args.sequence();
  const bool mapping_like =
      mapping || args.is_undefined() ||
      (seq && (seq->kind == SequenceKind::kList || seq->kind == SequenceKind::kRange));
  const std::vector<Value> single = {args};
  const std::vector<Value>& positional = tuple ? tuple->items : single;
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (++i == format.size()) throw EvalError("ValueError: incomplete format");
    if (format[i] == '%') {
      out += '%';
      continue;
    }
    std::optional<std::string> key;
    if (format[i] == '(') {
      const size_t close = format.find(')', i);
      if (close == std::string::npos) throw EvalError("ValueError: incomplete format key");
      key = format.substr(i + 1, close - i - 1);
      i = close + 1;
    }
    FormatSpec spec;
    for (; i < format.size() && std::string_view("-+ #0").find(format[i]) != std::string::npos;
         ++i) {
      spec.flags += format[i];
    }
    for (; i < format.size() && std::isdigit(static_cast<unsigned char>(format[i])); ++i) {
      if (spec.width.size() == 4) throw EvalError("ValueError: width too big");
      spec.width += format[i];
    }
    if (i < format.size() && format[i] == '.') {
      int precision = 0;
      for (++i; i < format.size() && std::isdigit(static_cast<unsigned char>(format[i])); ++i) {
        precision = std::min(precision * 10 + (format[i] - '0'), 1000);
      }
      spec.precision = precision;
    }
    while (i < format.size() && std::string_view("hlL").find(format[i]) != std::string::npos) ++i;
    if (i == format.size()) throw EvalError("ValueError: incomplete format");
    spec.conversion = format[i];
    const Value* value = nullptr;
    if (key) {
      if (!mapping) throw EvalError("TypeError: format requires a mapping");
      value = mapping->find(std::string_view(*key));
      if (!value) throw EvalError("KeyError: " + string_repr(*key));
    } else {
      if (next >= positional.size()) {
        throw EvalError("TypeError: not enough arguments for format string");
      }
      value = &positional[next++];
    }
    out += format_one(spec, *value);
  }
  if (!mapping_like && next < positional.size()) {
    throw EvalError("TypeError: not all arguments converted during string formatting");
  }
  return out;
}

// =============================================================================================
// Methods, attributes and items (jinja2's sandboxed getattr / getitem)
// =============================================================================================

namespace {

using Method = Value (*)(const Value& self, Args& args);

std::optional<std::string> optional_string(const std::optional<Value>& v, std::string_view method) {
  if (!v || v->is_none()) return std::nullopt;
  if (!v->is_string()) {
    throw EvalError(
        fmt::format("TypeError: {}() argument must be str or None, not {}", method, type_name(*v)));
  }
  return v->as_string();
}

std::string string_arg(const Value& v, std::string_view method) {
  if (!v.is_string()) {
    throw EvalError(
        fmt::format("TypeError: {}() argument must be str, not {}", method, type_name(v)));
  }
  return v.as_string();
}

int64_t integer_arg(const Value& v) {
  if (!v.is_integer()) {
    throw EvalError(
        fmt::format("TypeError: '{}' object cannot be interpreted as an integer", type_name(v)));
  }
  return v.as_integer();
}

Value string_list(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& p : parts) items.emplace_back(std::move(p));
  return Value::list(std::move(items));
}

Value strip_method(const Value& self, Args& a, bool left, bool right, std::string_view name) {
  return text::strip(self.as_string(), optional_string(a.next("chars"), name), left, right);
}
Value str_strip(const Value& s, Args& a) { return strip_method(s, a, true, true, "strip"); }
Value str_lstrip(const Value& s, Args& a) { return strip_method(s, a, true, false, "lstrip"); }
Value str_rstrip(const Value& s, Args& a) { return strip_method(s, a, false, true, "rstrip"); }

Value split_method(const Value& self, Args& a, bool from_right) {
  auto sep = optional_string(a.next("sep"), from_right ? "rsplit" : "split");
  const int64_t maxsplit = integer_arg(a.next_or("maxsplit", -1));
  return string_list(text::split(self.as_string(), sep, maxsplit, from_right));
}
Value str_split(const Value& s, Args& a) { return split_method(s, a, false); }
Value str_rsplit(const Value& s, Args& a) { return split_method(s, a, true); }

Value str_splitlines(const Value& s, Args& a) {
  if (truthy(a.next_or("keepends", false))) {
    throw EvalError("str.splitlines(keepends=True) is not supported");
  }
  return string_list(text::splitlines(s.as_string()));
}

Value affix_method(const Value& self, Args& a, bool prefix) {
  const std::string_view name = prefix ? "startswith" : "endswith";
  const Value affix = a.required(prefix ? "prefix" : "suffix");
  const std::string& s = self.as_string();
  const auto matches = [&](const Value& v) {
    if (!v.is_string()) {
      throw EvalError(fmt::format("TypeError: {} first arg must be str or a tuple of str, not {}",
                                  name, type_name(v)));
    }
    const std::string& t = v.as_string();
    return t.size() <= s.size() && (prefix ? s.compare(0, t.size(), t) == 0
                                           : s.compare(s.size() - t.size(), t.size(), t) == 0);
  };
  if (const auto* seq = affix.sequence(); seq && seq->kind == SequenceKind::kTuple) {
    return std::any_of(seq->items.begin(), seq->items.end(), matches);
  }
  return matches(affix);
}
Value str_startswith(const Value& s, Args& a) { return affix_method(s, a, true); }
Value str_endswith(const Value& s, Args& a) { return affix_method(s, a, false); }

Value str_upper(const Value& s, Args&) { return text::upper(s.as_string()); }
Value str_lower(const Value& s, Args&) { return text::lower(s.as_string()); }
Value str_title(const Value& s, Args&) { return text::title(s.as_string()); }
Value str_capitalize(const Value& s, Args&) { return text::capitalize(s.as_string()); }

Value str_replace(const Value& s, Args& a) {
  const std::string old_text = string_arg(a.required("old"), "replace");
  const std::string new_text = string_arg(a.required("new"), "replace");
  return text::replace(s.as_string(), old_text, new_text, integer_arg(a.next_or("count", -1)));
}

// find/rfind/index/rindex return code-point offsets, as Python does.
Value find_method(const Value& self, Args& a, bool from_right, bool raise) {
  const std::string& s = self.as_string();
  const std::string sub = string_arg(a.required("sub"), from_right ? "rfind" : "find");
  const size_t hit = from_right ? s.rfind(sub) : s.find(sub);
  if (hit == std::string::npos) {
    if (raise) throw EvalError("ValueError: substring not found");
    return int64_t{-1};
  }
  return static_cast<int64_t>(text::length(std::string_view(s).substr(0, hit)));
}
Value str_find(const Value& s, Args& a) { return find_method(s, a, false, false); }
Value str_rfind(const Value& s, Args& a) { return find_method(s, a, true, false); }
Value str_index(const Value& s, Args& a) { return find_method(s, a, false, true); }
Value str_rindex(const Value& s, Args& a) { return find_method(s, a, true, true); }

Value str_count(const Value& self, Args& a) {
  const std::string& s = self.as_string();
  const std::string sub = string_arg(a.required("sub"), "count");
  if (sub.empty()) return static_cast<int64_t>(text::length(s) + 1);
  int64_t n = 0;
  for (size_t pos = s.find(sub); pos != std::string::npos; pos = s.find(sub, pos + sub.size())) ++n;
  return n;
}

Value str_join(const Value& self, Args& a) {
  std::string out;
  const auto items = iterate(a.required("iterable"));
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) {
      throw EvalError(fmt::format("TypeError: sequence item {}: expected str instance, {} found", i,
                                  type_name(items[i])));
    }
    if (i > 0) out += self.as_string();
    out += items[i].as_string();
  }
  return out;
}

Value str_removeprefix(const Value& self, Args& a) {
  const std::string& s = self.as_string();
  const std::string p = string_arg(a.required("prefix"), "removeprefix");
  return s.compare(0, p.size(), p) == 0 ? s.substr(p.size()) : s;
}

Value str_removesuffix(const Value& self, Args& a) {
  const std::string& s = self.as_string();
  const std::string p = string_arg(a.required("suffix"), "removesuffix");
  const bool has = p.size() <= s.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
  return has && !p.empty() ? s.substr(0, s.size() - p.size()) : s;
}

bool alpha_cp(char32_t c) { return text::is_alpha(c); }
bool digit_cp(char32_t c) { return c >= '0' && c <= '9'; }

template <bool (*Pred)(char32_t)>
Value all_chars(const Value& self, Args&) {
  const std::u32string cps = text::decode(self.as_string());
  return !cps.empty() && std::all_of(cps.begin(), cps.end(), Pred);
}
bool alnum_cp(char32_t c) { return alpha_cp(c) || digit_cp(c); }
bool space_cp(char32_t c) { return text::is_space(c); }
Value str_islower(const Value& s, Args&) { return text::is_lower(s.as_string()); }
Value str_isupper(const Value& s, Args&) { return text::is_upper(s.as_string()); }

Value dict_get(const Value& self, Args& a) {
  const Value key = a.required("key");
  const Value fallback = a.next_or("default", None{});
  const Value* found = self.dict()->find(key);
  return found ? *found : fallback;
}

Value dict_view(const Value& self, std::string type, int part) {
  std::vector<Value> items;
  for (const auto& [k, v] : *self.dict()) {
    items.push_back(part == 0 ? k : part == 1 ? v : Value::tuple({k, v}));
  }
  return Value::sequence_of(SequenceKind::kView, std::move(items), std::move(type));
}
Value dict_keys(const Value& s, Args&) { return dict_view(s, "dict_keys", 0); }
Value dict_values(const Value& s, Args&) { return dict_view(s, "dict_values", 1); }
Value dict_items(const Value& s, Args&) { return dict_view(s, "dict_items", 2); }
Value same_value(const Value& s, Args&) { return s; }

Value seq_count(const Value& self, Args& a) {
  const Value x = a.required("value");
  const auto& items = self.sequence()->items;
  return static_cast<int64_t>(
      std::count_if(items.begin(), items.end(), [&](const Value& v) { return equal(v, x); }));
}

Value seq_index(const Value& self, Args& a) {
  const Value x = a.required("value");
  const auto& items = self.sequence()->items;
  for (size_t i = 0; i < items.size(); ++i) {
    if (equal(items[i], x)) return static_cast<int64_t>(i);
  }
  throw EvalError(fmt::format("ValueError: {} is not in {}", repr(x), type_name(self)));
}

struct MethodTable {
  std::unordered_map<std::string_view, Method> methods;
  std::vector<std::string_view> unsafe;       // exist in Python, refused by the sandbox
  std::vector<std::string_view> unsupported;  // exist in Python, not implemented here
};

const MethodTable& str_methods() {
  static const MethodTable table{
      {{"strip", str_strip},
       {"lstrip", str_lstrip},
       {"rstrip", str_rstrip},
       {"split", str_split},
       {"rsplit", str_rsplit},
       {"splitlines", str_splitlines},
       {"startswith", str_startswith},
       {"endswith", str_endswith},
       {"upper", str_upper},
       {"lower", str_lower},
       {"title", str_title},
       {"capitalize", str_capitalize},
       {"replace", str_replace},
       {"find", str_find},
       {"rfind", str_rfind},
       {"index", str_index},
       {"rindex", str_rindex},
       {"count", str_count},
       {"join", str_join},
       {"removeprefix", str_removeprefix},
       {"removesuffix", str_removesuffix},
       {"isalpha", all_chars<alpha_cp>},
       {"isdigit", all_chars<digit_cp>},
       {"isalnum", all_chars<alnum_cp>},
       {"isspace", all_chars<space_cp>},
       {"islower", str_islower},
       {"isupper", str_isupper}},
      {},
      {"casefold",    "center",     "encode",    "expandtabs",   "format",
       "format_map",  "isascii",    "isdecimal", "isidentifier", "isnumeric",
       "isprintable", "istitle",    "ljust",     "maketrans",    "partition",
       "rjust",       "rpartition", "swapcase",  "translate",    "zfill"}};
  return table;
}

const MethodTable& dict_methods() {
  static const MethodTable table{{{"get", dict_get},
                                  {"keys", dict_keys},
                                  {"values", dict_values},
                                  {"items", dict_items},
                                  {"copy", same_value}},
                                 {"clear", "pop", "popitem", "setdefault", "update"},
                                 {"fromkeys"}};
  return table;
}

const MethodTable& list_methods() {
  static const MethodTable table{
      {{"count", seq_count}, {"index", seq_index}, {"copy", same_value}},
      {"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"},
      {}};
  return table;
}

const MethodTable& tuple_methods() {
  static const MethodTable table{{{"count", seq_count}, {"index", seq_index}}, {}, {}};
  return table;
}

const MethodTable* methods_of(const Value& obj) {
  if (obj.is_string()) return &str_methods();
  if (obj.dict()) return &dict_methods();
  if (const auto* seq = obj.sequence()) {
    if (seq->kind == SequenceKind::kList) return &list_methods();
    if (seq->kind == SequenceKind::kTuple) return &tuple_methods();
  }
  return nullptr;
}

bool listed(const std::vector<std::string_view>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A method of a str, dict, list or tuple as jinja2's sandbox returns it: bound, refused as
// unsafe (an undefined value that fails with SecurityError's message when used) or nullopt.
std::optional<Value> method(const Value& obj, std::string_view name) {
  const MethodTable* table = methods_of(obj);
  if (!table) return std::nullopt;
  const std::string owner = type_name(obj);
  if (const auto it = table->methods.find(name); it != table->methods.end()) {
    const Method fn = it->second;
    return make_function("builtin_function_or_method",
                         fmt::format("<built-in method {} of {} object>", name, owner),
                         [self = obj, fn, callee = std::string(name)](CallArgs call) {
                           Args args(callee, std::move(call));
                           Value result = fn(self, args);
                           args.finish();
                           return result;
                         });
  }
  if (listed(table->unsafe, name)) {
    return Value::undefined(
        fmt::format("access to attribute {} of '{}' object is unsafe.", string_repr(name), owner),
        "SecurityError");
  }
  if (listed(table->unsupported, name)) {
    throw EvalError(fmt::format("{} method '{}' is not supported", owner, name));
  }
  return std::nullopt;
}

Value missing_attribute(const Value& obj, std::string_view name) {
  return Value::undefined(
      fmt::format("{} has no attribute {}", string_repr(object_type_repr(obj)), string_repr(name)));
}

Value missing_element(const Value& obj, const Value& key) {
  return Value::undefined(fmt::format("{} has no element {}", object_type_repr(obj), repr(key)));
}

bool subscriptable_sequence(const Value& obj) {
  const auto* seq = obj.sequence();
  return obj.is_string() ||
         (seq && seq->kind != SequenceKind::kView && seq->kind != SequenceKind::kIterator);
}

}  // namespace

Value get_attr(const Value& obj, std::string_view name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (auto m = method(obj, name)) return *m;
  if (const auto* d = obj.dict()) {
    if (const Value* v = d->find(name)) return *v;
  }
  if (auto* o = obj.object()) {
    if (auto v = o->attribute(name)) return *v;
  }
  return missing_attribute(obj, name);
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (const auto* d = obj.dict(); d && hashable(key)) {
    if (const Value* v = d->find(key)) return *v;
  }
  if (subscriptable_sequence(obj) && key.is_integer()) {
    const auto items = obj.is_string() ? iterate(obj) : std::vector<Value>();
    const auto& seq = obj.is_string() ? items : obj.sequence()->items;
    int64_t i = key.as_integer();
    const auto n = static_cast<int64_t>(seq.size());
    if (i < 0) i += n;
    if (i >= 0 && i < n) return seq[static_cast<size_t>(i)];
    return missing_element(obj, key);
  }
  if (!key.is_string()) return missing_element(obj, key);
  if (auto m = method(obj, key.as_string())) return *m;
  if (auto* o = obj.object()) {
    if (auto v = o->attribute(key.as_string())) return *v;
  }
  return missing_attribute(obj, key.as_string());
}

Value slice(const Value& obj, std::optional<int64_t> start, std::optional<int64_t> stop,
            std::optional<int64_t> step) {
  // jinja2 compiles a slice to a plain Python subscript, not to the sandbox's getitem, so
  // slicing what cannot be sliced raises.
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.dict()) throw EvalError("TypeError: unhashable type: 'slice'");
  if (!subscriptable_sequence(obj)) {
    throw EvalError(fmt::format("TypeError: '{}' object is not subscriptable", type_name(obj)));
  }
  const int64_t s = step.value_or(1);
  if (s == 0) throw EvalError("ValueError: slice step cannot be zero");
  const std::vector<Value> items = iterate(obj);
  const auto n = static_cast<int64_t>(items.size());
  // PySlice_AdjustIndices.
  const auto adjust = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t i = *v;
    if (i < 0) {
      i += n;
      if (i < 0) i = s < 0 ? -1 : 0;
    } else if (i >= n) {
      i = s < 0 ? n - 1 : n;
    }
    return i;
  };
  const int64_t first = adjust(start, s < 0 ? n - 1 : 0);
  const int64_t last = adjust(stop, s < 0 ? -1 : n);
  std::vector<Value> picked;
  for (int64_t i = first; s > 0 ? i < last : i > last; i += s) {
    picked.push_back(items[static_cast<size_t>(i)]);
  }
  if (obj.is_string()) {
    std::string out;
    for (const auto& c : picked) out += c.as_string();
    return out;
  }
  if (const Sequence* r = obj.sequence(); r->kind == SequenceKind::kRange) {
    auto seq = std::make_shared<Sequence>(*r);
    seq->items = std::move(picked);
    seq->range_start = r->range_start + first * r->range_step;
    seq->range_stop = r->range_start + last * r->range_step;
    seq->range_step = r->range_step * s;
    return Value(std::shared_ptr<const Sequence>(std::move(seq)));
  }
  const bool tuple = obj.sequence()->kind == SequenceKind::kTuple;
  return tuple ? Value::tuple(std::move(picked)) : Value::list(std::move(picked));
}

// =============================================================================================
// JSON
// =============================================================================================

namespace {

Value from_json_at(const nlohmann::ordered_json& json, size_t depth) {
  if (depth > kMaxNesting) throw std::invalid_argument("JSON nested deeper than 512 levels");
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null:
      return None{};
    case nlohmann::ordered_json::value_t::boolean:
      return json.get<bool>();
    case nlohmann::ordered_json::value_t::number_integer:
      return json.get<int64_t>();
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = json.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return static_cast<int64_t>(u);
      }
      return static_cast<double>(u);
    }
    case nlohmann::ordered_json::value_t::number_float:
      return json.get<double>();
    case nlohmann::ordered_json::value_t::string:
      return json.get<std::string>();
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(from_json_at(item, depth + 1));
      return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (const auto& [k, v] : json.items()) d.set(Value(k), from_json_at(v, depth + 1));
      return Value::dict(std::move(d));
    }
    default:
      throw std::invalid_argument("binary JSON values are not supported");
  }
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (char32_t c : text::decode(s)) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
          if (c >= 0x10000) {
            const char32_t v = c - 0x10000;
            out += fmt::format("\\u{:04x}\\u{:04x}", static_cast<unsigned>(0xD800 | (v >> 10)),
                               static_cast<unsigned>(0xDC00 | (v & 0x3FF)));
          } else {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
          }
        } else {
          text::append_utf8(out, c);
        }
    }
  }
  out += '"';
}

std::string json_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return float_repr(d);
}

[[noreturn]] void not_serializable(const Value& v) {
  throw EvalError(
      fmt::format("TypeError: Object of type {} is not JSON serializable", type_name(v)));
}

// A dict key as json.dumps writes it: str as is, numbers, booleans and None converted.
std::string json_key(const Value& k) {
  if (k.is_string()) return k.as_string();
  if (const auto* b = k.get_if<bool>()) return *b ? "true" : "false";
  if (const auto* i = k.get_if<int64_t>()) return std::to_string(*i);
  if (const auto* d = k.get_if<double>()) return json_float(*d);
  if (k.is_none()) return "null";
  throw EvalError(
      fmt::format("TypeError: keys must be str, int, float, bool or None, not {}", type_name(k)));
}

class JsonWriter {
 public:
  explicit JsonWriter(const JsonOptions& options) : options_(options) {}

  void write(const Value& v, size_t level) {
    if (v.is_none()) {
      out_ += "null";
    } else if (const auto* b = v.get_if<bool>()) {
      out_ += *b ? "true" : "false";
    } else if (const auto* i = v.get_if<int64_t>()) {
      out_ += std::to_string(*i);
    } else if (const auto* d = v.get_if<double>()) {
      out_ += json_float(*d);
    } else if (const auto* s = v.get_if<std::string>()) {
      append_json_string(out_, *s, options_.ensure_ascii);
    } else if (const auto* seq = v.sequence();
               seq && (seq->kind == SequenceKind::kList || seq->kind == SequenceKind::kTuple)) {
      write_list(seq->items, level);
    } else if (const auto* dict = v.dict()) {
      write_dict(*dict, level);
    } else {
      not_serializable(v);
    }
  }

  std::string take() { return std::move(out_); }

 private:
  void newline(size_t level) {
    if (!options_.indent) return;
    out_ += '\n';
    for (size_t i = 0; i < level; ++i) out_ += *options_.indent;
  }

  void write_list(const std::vector<Value>& items, size_t level) {
    if (items.empty()) {
      out_ += "[]";
      return;
    }
    out_ += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_ += options_.item_separator;
      newline(level + 1);
      write(items[i], level + 1);
    }
    newline(level);
    out_ += ']';
  }

  void write_dict(const Dict& dict, size_t level) {
    if (dict.empty()) {
      out_ += "{}";
      return;
    }
    std::vector<const Dict::Entry*> entries;
    for (const auto& entry : dict) entries.push_back(&entry);
    if (options_.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) {
        return compare(CompareOp::kLess, a->first, b->first);
      });
    }
    out_ += '{';
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) out_ += options_.item_separator;
      newline(level + 1);
      append_json_string(out_, json_key(entries[i]->first), options_.ensure_ascii);
      out_ += options_.key_separator;
      write(entries[i]->second, level + 1);
    }
    newline(level);
    out_ += '}';
  }

  const JsonOptions& options_;
  std::string out_;
};

}  // namespace

Value from_json(const nlohmann::ordered_json& json) { return from_json_at(json, 0); }

std::string to_json(const Value& v, const JsonOptions& options) {
  JsonWriter writer(options);
  writer.write(v, 0);
  return writer.take();
}

}  // namespace gemma::jinja
