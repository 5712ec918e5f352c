// The filters of jinja2/filters.py that transformers' environment offers, plus its tojson.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <map>
#include <unordered_map>

#include "gemma/error.h"
#include "jinja/ast.h"
#include "jinja/builtins.h"
#include "jinja/text.h"

namespace gemma::jinja {

namespace {

[[noreturn]] void missing_filter(const std::string& name) {
  if (jinja_has_filter(name)) throw EvalError(fmt::format("filter '{}' is not supported", name));
  throw EvalError(fmt::format("TemplateRuntimeError: No filter named '{}' found.", name));
}

// =============================================================================================
// Filters (jinja2/filters.py, plus transformers' tojson)
// =============================================================================================

// jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0.
Value attribute_path(Value item, const Value& attribute) {
  if (attribute.is_none()) return item;
  if (!attribute.is_string()) return get_item(item, attribute);
  for (const auto& part : text::split(attribute.as_string(), std::string("."), -1, false)) {
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; });
    int64_t index = 0;
    if (digits) std::from_chars(part.data(), part.data() + part.size(), index);
    item = get_item(item, digits ? Value(index) : Value(part));
  }
  return item;
}

Value ignore_case(const Value& v) { return v.is_string() ? Value(text::lower(v.as_string())) : v; }

Value generator(std::vector<Value> items, std::string type = "generator") {
  return Value::sequence_of(SequenceKind::kIterator, std::move(items), std::move(type));
}

int64_t int_arg(const Value& v, std::string_view name) {
  if (!v.is_integer()) {
    throw EvalError(fmt::format("TypeError: '{}' must be an integer, not {}", name, type_name(v)));
  }
  return v.as_integer();
}

Value f_abs(const Value& v, Args&) {
  if (v.is_integer()) {
    if (v.as_integer() == std::numeric_limits<int64_t>::min()) {
      throw EvalError("OverflowError: integer result does not fit in 64 bits");
    }
    return std::abs(v.as_integer());
  }
  if (const auto* d = v.get_if<double>()) return std::fabs(*d);
  throw EvalError(fmt::format("TypeError: bad operand type for abs(): '{}'", type_name(v)));
}

Value f_capitalize(const Value& v, Args&) { return text::capitalize(str(v)); }
Value f_lower(const Value& v, Args&) { return text::lower(str(v)); }
Value f_upper(const Value& v, Args&) { return text::upper(str(v)); }
Value f_string(const Value& v, Args&) { return str(v); }
Value f_length(const Value& v, Args&) { return length(v); }
Value f_list(const Value& v, Args&) { return Value::list(iterate(v)); }

// jinja2's title filter: every run between "-", blanks and opening brackets is capitalised.
Value f_title(const Value& v, Args&) {
  const auto is_delimiter = [](char32_t c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || text::is_space(c);
  };
  std::string out;
  bool item_start = true;
  bool previous_delimiter = false;
  for (char32_t c : text::decode(str(v))) {
    const bool delimiter = is_delimiter(c);
    if (delimiter != previous_delimiter) item_start = true;
    const std::string ch = text::encode(std::u32string(1, c));
    out += item_start ? text::upper(ch) : text::lower(ch);
    item_start = false;
    previous_delimiter = delimiter;
  }
  return out;
}

Value f_trim(const Value& v, Args& a) {
  const Value chars = a.next_or("chars", None{});
  if (!chars.is_none() && !chars.is_string()) {
    throw EvalError("TypeError: strip arg must be None or str");
  }
  return text::strip(str(v), chars.is_none() ? std::nullopt : std::optional(chars.as_string()),
                     true, true);
}

Value f_default(const Value& v, Args& a) {
  Value fallback = a.next_or("default_value", "");
  const bool boolean = truthy(a.next_or("boolean", false));
  return v.is_undefined() || (boolean && !truthy(v)) ? fallback : v;
}

Value f_escape(const Value& v, Args&) {
  std::string out;
  for (char c : str(v)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Value f_first(const Value& v, Args&) {
  const auto items = iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(const Value& v, Args&) {
  const auto* seq = v.sequence();
  if (!(v.is_undefined() || v.is_string() || v.dict() ||
        (seq && seq->kind != SequenceKind::kView && seq->kind != SequenceKind::kIterator))) {
    throw EvalError(fmt::format("TypeError: '{}' object is not reversible", type_name(v)));
  }
  const auto items = iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

// Python's float(str): blanks around, "_" between digits, inf/nan spelled out.
std::optional<double> parse_float(const std::string& s) {
  std::string t = text::strip(s, std::nullopt, true, true);
  const bool negative = !t.empty() && t.front() == '-';
  if (!t.empty() && (t.front() == '-' || t.front() == '+')) t.erase(0, 1);
  const std::string lowered = text::lower(t);
  const double sign = negative ? -1.0 : 1.0;
  if (lowered == "inf" || lowered == "infinity")
    return sign * std::numeric_limits<double>::infinity();
  if (lowered == "nan") return std::numeric_limits<double>::quiet_NaN();
  std::string digits;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '_') {
      digits += t[i];
      continue;
    }
    const bool between = i > 0 && i + 1 < t.size() &&
                         std::isdigit(static_cast<unsigned char>(t[i - 1])) &&
                         std::isdigit(static_cast<unsigned char>(t[i + 1]));
    if (!between) return std::nullopt;
  }
  double value = 0;
  const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || result.ptr != digits.data() + digits.size()) return std::nullopt;
  if (result.ec == std::errc::result_out_of_range) {
    const size_t e = digits.find_first_of("eE");
    value = e != std::string::npos && digits[e + 1] == '-'
                ? 0.0
                : std::numeric_limits<double>::infinity();
  }
  return sign * value;
}

// Python's int(str, base): blanks around, a sign, an optional 0x/0o/0b prefix, "_" between digits.
std::optional<int64_t> parse_int(const std::string& s, int64_t base) {
  std::string t = text::strip(s, std::nullopt, true, true);
  bool negative = false;
  size_t i = 0;
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) negative = t[i++] == '-';
  if (i + 1 < t.size() && t[i] == '0') {
    const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(t[i + 1])));
    const int64_t prefixed = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (prefixed != 0 && (base == prefixed || base == 0)) {
      base = prefixed;
      i += 2;
      if (i < t.size() && t[i] == '_') ++i;
    }
  }
  if (base == 0) base = 10;
  if (base < 2 || base > 36 || i == t.size()) return std::nullopt;
  uint64_t value = 0;
  bool previous_digit = false;
  for (; i < t.size(); ++i) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(t[i])));
    if (c == '_' && previous_digit && i + 1 < t.size() && t[i + 1] != '_') {
      previous_digit = false;
      continue;
    }
    const int64_t digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : 99;
    if (digit >= base) return std::nullopt;
    if (value > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) -
                 static_cast<uint64_t>(digit)) /
                    static_cast<uint64_t>(base)) {
      return std::nullopt;
    }
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(digit);
    previous_digit = true;
  }
  if (!previous_digit) return std::nullopt;
  return negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
}

std::optional<int64_t> truncate_float(double d) {
  if (std::isnan(d)) return std::nullopt;
  if (std::isinf(d)) throw EvalError("OverflowError: cannot convert float infinity to integer");
  if (std::fabs(d) >= 9.2233720368547758e18) {
    throw EvalError("OverflowError: integer result does not fit in 64 bits");
  }
  return static_cast<int64_t>(d);
}

Value f_int(const Value& v, Args& a) {
  if (v.is_undefined()) fail_undefined(v);
  const Value fallback = a.next_or("default", 0);
  const int64_t base = int_arg(a.next_or("base", 10), "base");
  std::optional<int64_t> result;
  if (v.is_integer()) {
    result = v.as_integer();
  } else if (const auto* d = v.get_if<double>()) {
    result = truncate_float(*d);
  } else if (v.is_string()) {
    result = parse_int(v.as_string(), base);
    if (!result) {
      if (const auto f = parse_float(v.as_string())) result = truncate_float(*f);
    }
  }
  return result ? Value(*result) : fallback;
}

Value f_float(const Value& v, Args& a) {
  if (v.is_undefined()) fail_undefined(v);
  const Value fallback = a.next_or("default", 0.0);
  if (v.is_number()) return v.as_double();
  if (v.is_string()) {
    if (const auto f = parse_float(v.as_string())) return *f;
  }
  return fallback;
}

Value f_format(const Value& v, Args& a) {
  std::vector<Value> args = a.rest();
  auto keywords = a.rest_keywords();
  if (!args.empty() && !keywords.empty()) {
    throw EvalError(
        "FilterArgumentError: can't handle positional and keyword arguments at the same time");
  }
  if (keywords.empty()) return percent_format(str(v), Value::tuple(std::move(args)));
  Dict mapping;
  for (auto& [k, value] : keywords) mapping.set(Value(k), std::move(value));
  return percent_format(str(v), Value::dict(std::move(mapping)));
}

Value f_indent(const Value& v, Args& a) {
  const Value width = a.next_or("width", 4);
  const bool first = truthy(a.next_or("first", false));
  const bool blank = truthy(a.next_or("blank", false));
  const std::string indention =
      width.is_string() ? width.as_string() : str(binary(BinaryOp::kMul, Value(" "), width));
  // jinja2 appends "\n" to the value first, which only a str survives.
  if (v.is_undefined()) fail_undefined(v);
  if (const auto* seq = v.sequence(); seq && seq->kind == SequenceKind::kList) {
    throw EvalError("AttributeError: 'list' object has no attribute 'splitlines'");
  }
  if (!v.is_string()) {
    throw EvalError(
        fmt::format("TypeError: unsupported operand type(s) for +=: '{}' and 'str'", type_name(v)));
  }
  const auto lines = text::splitlines(v.as_string() + "\n");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    if (i > 0 && (blank || !lines[i].empty())) out += indention;
    out += lines[i];
  }
  return first ? indention + out : out;
}

// jinja2's wordcount: runs of \w characters (letters, digits, "_"; any non-ASCII letter).
Value f_wordcount(const Value& v, Args&) {
  int64_t words = 0;
  bool in_word = false;
  for (char32_t c : text::decode(str(v))) {
    const bool word_char = c == '_' || (c >= '0' && c <= '9') || text::is_alpha(c);
    if (word_char && !in_word) ++words;
    in_word = word_char;
  }
  return words;
}

Value f_batch(const Value& v, Args& a) {
  const int64_t size = int_arg(a.required("linecount"), "linecount");
  const Value fill = a.next_or("fill_with", None{});
  std::vector<Value> batches;
  std::vector<Value> current;
  for (auto& item : iterate(v)) {
    if (static_cast<int64_t>(current.size()) == size)
      batches.push_back(Value::list(std::exchange(current, {})));
    current.push_back(std::move(item));
  }
  if (!current.empty()) {
    while (!fill.is_none() && static_cast<int64_t>(current.size()) < size) current.push_back(fill);
    batches.push_back(Value::list(std::move(current)));
  }
  return generator(std::move(batches));
}

Value f_items(const Value& v, Args&) {
  if (v.is_undefined()) return generator({});
  const Dict* d = v.dict();
  if (!d) throw EvalError("TypeError: Can only get item pairs from a mapping.");
  std::vector<Value> pairs;
  for (const auto& [k, value] : *d) pairs.push_back(Value::tuple({k, value}));
  return generator(std::move(pairs));
}

Value f_dictsort(const Value& v, Args& a) {
  const bool case_sensitive = truthy(a.next_or("case_sensitive", false));
  const Value by = a.next_or("by", "key");
  const bool reverse = truthy(a.next_or("reverse", false));
  if (!by.is_string() || (by.as_string() != "key" && by.as_string() != "value")) {
    throw EvalError("FilterArgumentError: You can only sort by either \"key\" or \"value\"");
  }
  const Dict* d = v.dict();
  if (!d)
    throw EvalError(
        fmt::format("AttributeError: '{}' object has no attribute 'items'", type_name(v)));
  const size_t pos = by.as_string() == "key" ? 0 : 1;
  std::vector<Value> pairs;
  for (const auto& [k, value] : *d) pairs.push_back(Value::tuple({k, value}));
  const auto key = [&](const Value& pair) {
    const Value& part = pair.sequence()->items[pos];
    return case_sensitive ? part : ignore_case(part);
  };
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    return reverse ? compare(CompareOp::kLess, key(y), key(x))
                   : compare(CompareOp::kLess, key(x), key(y));
  });
  return Value::list(std::move(pairs));
}

Value f_join(const Value& v, Args& a) {
  const std::string separator = str(a.next_or("d", ""));
  const Value attribute = a.next_or("attribute", None{});
  std::string out;
  bool first = true;
  for (const auto& item : iterate(v)) {
    if (!first) out += separator;
    first = false;
    out += str(attribute_path(item, attribute));
  }
  return out;
}

Value f_replace(const Value& v, Args& a) {
  const std::string old_text = str(a.required("old"));
  const std::string new_text = str(a.required("new"));
  const Value count = a.next_or("count", None{});
  return text::replace(str(v), old_text, new_text, count.is_none() ? -1 : int_arg(count, "count"));
}

Value f_reverse(const Value& v, Args&) {
  if (v.is_string()) {
    std::u32string cps = text::decode(v.as_string());
    std::reverse(cps.begin(), cps.end());
    return text::encode(cps);
  }
  std::vector<Value> items = iterate(v);
  std::reverse(items.begin(), items.end());
  const auto* seq = v.sequence();
  if (seq && seq->kind == SequenceKind::kIterator) return Value::list(std::move(items));
  std::string type = "reversed";
  if (seq && seq->kind == SequenceKind::kList) type = "list_reverseiterator";
  if (seq && seq->kind == SequenceKind::kRange) type = "range_iterator";
  if (v.dict()) type = "dict_reversekeyiterator";
  return generator(std::move(items), type);
}

// Python's round(x, n): half to even on the exact binary value, as printf rounds.
double round_half_even(double x, int64_t precision) {
  if (!std::isfinite(x)) return x;
  if (precision <= 0) {
    const double scale = std::pow(10.0, static_cast<double>(-precision));
    return std::nearbyint(x / scale) * scale;
  }
  if (precision > 340) return x;
  const int n = std::snprintf(nullptr, 0, "%.*f", static_cast<int>(precision), x);
  std::string digits(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(digits.data(), digits.size(), "%.*f", static_cast<int>(precision), x);
  return std::strtod(digits.c_str(), nullptr);
}

Value f_round(const Value& v, Args& a) {
  const int64_t precision = int_arg(a.next_or("precision", 0), "precision");
  const Value method = a.next_or("method", "common");
  const std::string m = str(method);
  if (m != "common" && m != "ceil" && m != "floor") {
    throw EvalError("FilterArgumentError: method must be common, ceil or floor");
  }
  if (!v.is_number()) {
    throw EvalError(
        fmt::format("TypeError: type {} doesn't define __round__ method", type_name(v)));
  }
  if (m == "common") {
    if (v.is_integer() && precision >= 0) return v.as_integer();
    return round_half_even(v.as_double(), precision);
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double scaled = v.as_double() * scale;
  return (m == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / scale;
}

Value f_sort(const Value& v, Args& a) {
  const bool reverse = truthy(a.next_or("reverse", false));
  const bool case_sensitive = truthy(a.next_or("case_sensitive", false));
  const Value attribute = a.next_or("attribute", None{});
  std::vector<Value> attributes;
  if (attribute.is_string()) {
    for (auto& part : text::split(attribute.as_string(), std::string(","), -1, false)) {
      attributes.emplace_back(std::move(part));
    }
  } else {
    attributes.push_back(attribute);
  }
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& item : iterate(v)) {
    std::vector<Value> key;
    for (const auto& attr : attributes) {
      const Value part = attribute_path(item, attr);
      key.push_back(case_sensitive ? part : ignore_case(part));
    }
    keyed.emplace_back(Value::list(std::move(key)), std::move(item));
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? compare(CompareOp::kLess, y.first, x.first)
                   : compare(CompareOp::kLess, x.first, y.first);
  });
  std::vector<Value> out;
  for (auto& [key, item] : keyed) out.push_back(std::move(item));
  return Value::list(std::move(out));
}

Value f_unique(const Value& v, Args& a) {
  const bool case_sensitive = truthy(a.next_or("case_sensitive", false));
  const Value attribute = a.next_or("attribute", None{});
  std::vector<Value> seen;
  std::vector<Value> out;
  for (auto& item : iterate(v)) {
    Value key = attribute_path(item, attribute);
    if (!case_sensitive) key = ignore_case(key);
    if (!hashable(key)) {
      throw EvalError(fmt::format("TypeError: unhashable type: '{}'", type_name(key)));
    }
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equal(s, key); }))
      continue;
    seen.push_back(std::move(key));
    out.push_back(std::move(item));
  }
  return generator(std::move(out));
}

Value min_or_max(const Value& v, Args& a, CompareOp better) {
  const bool case_sensitive = truthy(a.next_or("case_sensitive", false));
  const Value attribute = a.next_or("attribute", None{});
  const auto items = iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const auto key = [&](const Value& item) {
    const Value part = attribute_path(item, attribute);
    return case_sensitive ? part : ignore_case(part);
  };
  size_t best = 0;
  Value best_key = key(items[0]);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = key(items[i]);
    if (compare(better, k, best_key)) {
      best = i;
      best_key = std::move(k);
    }
  }
  return items[best];
}
Value f_max(const Value& v, Args& a) { return min_or_max(v, a, CompareOp::kGreater); }
Value f_min(const Value& v, Args& a) { return min_or_max(v, a, CompareOp::kLess); }

Value f_sum(const Value& v, Args& a) {
  const Value attribute = a.next_or("attribute", None{});
  Value total = a.next_or("start", 0);
  if (total.is_string())
    throw EvalError("TypeError: sum() can't sum strings [use ''.join(seq) instead]");
  for (const auto& item : iterate(v))
    total = binary(BinaryOp::kAdd, total, attribute_path(item, attribute));
  return total;
}

Value f_tojson(const Value& v, Args& a) {
  JsonOptions options;
  options.ensure_ascii = truthy(a.next_or("ensure_ascii", false));
  const Value indent = a.next_or("indent", None{});
  const Value separators = a.next_or("separators", None{});
  options.sort_keys = truthy(a.next_or("sort_keys", false));
  if (!indent.is_none()) {
    options.indent =
        indent.is_string() ? indent.as_string() : str(binary(BinaryOp::kMul, Value(" "), indent));
    options.item_separator = ",";
  }
  if (!separators.is_none()) {
    const auto parts = iterate(separators);
    if (parts.size() != 2 || !parts[0].is_string() || !parts[1].is_string()) {
      throw EvalError("ValueError: separators must be a pair of strings");
    }
    options.item_separator = parts[0].as_string();
    options.key_separator = parts[1].as_string();
  }
  return to_json(v, options);
}

bool call_test_named(const Value& name, const Value& operand, std::vector<Value> args,
                     std::vector<std::pair<std::string, Value>> keywords) {
  const std::string test = str(name);
  return apply_test(find_test(test), test, operand, CallArgs{std::move(args), std::move(keywords)});
}

// select/reject/selectattr/rejectattr: keep the items whose test result equals `keep`.
Value select_or_reject(const Value& v, Args& a, bool keep, bool lookup_attr) {
  std::vector<Value> args = a.rest();
  auto keywords = a.rest_keywords();
  std::vector<Value> out;
  if (!truthy(v)) return generator({});
  if (lookup_attr && args.empty()) {
    throw EvalError("FilterArgumentError: Missing parameter for attribute name");
  }
  const size_t off = lookup_attr ? 1 : 0;
  for (auto& item : iterate(v)) {
    const Value operand = lookup_attr ? attribute_path(item, args[0]) : item;
    bool result = truthy(operand);
    if (args.size() > off) {
      result = call_test_named(
          args[off], operand,
          std::vector<Value>(args.begin() + static_cast<std::ptrdiff_t>(off) + 1, args.end()),
          keywords);
    }
    if (result == keep) out.push_back(std::move(item));
  }
  return generator(std::move(out));
}
Value f_select(const Value& v, Args& a) { return select_or_reject(v, a, true, false); }
Value f_reject(const Value& v, Args& a) { return select_or_reject(v, a, false, false); }
Value f_selectattr(const Value& v, Args& a) { return select_or_reject(v, a, true, true); }
Value f_rejectattr(const Value& v, Args& a) { return select_or_reject(v, a, false, true); }

Value f_map(const Value& v, Args& a) {
  std::vector<Value> args = a.rest();
  auto keywords = a.rest_keywords();
  std::vector<Value> out;
  if (!truthy(v)) return generator({});
  const auto take_keyword = [&](std::string_view name) -> std::optional<Value> {
    const auto it = std::find_if(keywords.begin(), keywords.end(),
                                 [&](const auto& kv) { return kv.first == name; });
    if (it == keywords.end()) return std::nullopt;
    Value value = std::move(it->second);
    keywords.erase(it);
    return value;
  };
  if (args.empty()) {
    if (const auto attribute = take_keyword("attribute")) {
      const auto fallback = take_keyword("default");
      if (!keywords.empty()) {
        throw EvalError(fmt::format("FilterArgumentError: Unexpected keyword argument '{}'",
                                    keywords.front().first));
      }
      for (const auto& item : iterate(v)) {
        Value mapped = attribute_path(item, *attribute);
        if (fallback && !fallback->is_none() && mapped.is_undefined()) mapped = *fallback;
        out.push_back(std::move(mapped));
      }
      return generator(std::move(out));
    }
    throw EvalError("FilterArgumentError: map requires a filter argument");
  }
  const std::string name = str(args.front());
  const FilterFn fn = find_filter(name);
  for (const auto& item : iterate(v)) {
    out.push_back(apply_filter(
        fn, name, item, CallArgs{std::vector<Value>(args.begin() + 1, args.end()), keywords}));
  }
  return generator(std::move(out));
}

const std::unordered_map<std::string_view, FilterFn>& filter_table() {
  static const std::unordered_map<std::string_view, FilterFn> table = {
      {"abs", f_abs},
      {"batch", f_batch},
      {"capitalize", f_capitalize},
      {"count", f_length},
      {"wordcount", f_wordcount},
      {"d", f_default},
      {"default", f_default},
      {"dictsort", f_dictsort},
      {"e", f_escape},
      {"escape", f_escape},
      {"first", f_first},
      {"float", f_float},
      {"forceescape", f_escape},
      {"format", f_format},
      {"indent", f_indent},
      {"int", f_int},
      {"items", f_items},
      {"join", f_join},
      {"last", f_last},
      {"length", f_length},
      {"list", f_list},
      {"lower", f_lower},
      {"map", f_map},
      {"max", f_max},
      {"min", f_min},
      {"reject", f_reject},
      {"rejectattr", f_rejectattr},
      {"replace", f_replace},
      {"reverse", f_reverse},
      {"round", f_round},
      {"safe", f_string},
      {"select", f_select},
      {"selectattr", f_selectattr},
      {"sort", f_sort},
      {"string", f_string},
      {"sum", f_sum},
      {"title", f_title},
      {"tojson", f_tojson},
      {"trim", f_trim},
      {"unique", f_unique},
      {"upper", f_upper},
  };
  return table;
}

}  // namespace

Value apply_filter(FilterFn fn, const std::string& name, const Value& operand, CallArgs args) {
  if (!fn) missing_filter(name);
  Args bound(name, std::move(args));
  Value result = fn(operand, bound);
  bound.finish();
  return result;
}

FilterFn find_filter(std::string_view name) {
  const auto it = filter_table().find(name);
  return it == filter_table().end() ? nullptr : it->second;
}

bool jinja_has_filter(std::string_view name) {
  static constexpr std::string_view kNotImplemented[] = {
      "attr",      "center",   "filesizeformat", "groupby", "pprint",   "random", "slice",
      "striptags", "truncate", "urlencode",      "urlize",  "wordwrap", "xmlattr"};
  return find_filter(name) || std::find(std::begin(kNotImplemented), std::end(kNotImplemented),
                                        name) != std::end(kNotImplemented);
}

}  // namespace gemma::jinja
