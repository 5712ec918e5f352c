// Methods, attributes and items of values: jinja2's sandboxed getattr and getitem, and the
// str, dict, list and tuple methods it allows.
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

}  // namespace gemma::jinja
