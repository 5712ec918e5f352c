// Python printing for the Jinja interpreter: repr/str of values, %-formatting, and JSON in
// and out as json.dumps writes it.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "jinja/text.h"
#include "jinja/value.h"

namespace gemma::jinja {

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

}  // namespace

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

namespace {

std::string join_reprs(const std::vector<Value>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += repr(items[i]);
    check_string_size(out.size());  // shared sub-lists print exponentially large
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
    check_string_size(out.size());
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
    charge_work(1);
    check_string_size(out_.size());
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
