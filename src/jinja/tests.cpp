// The tests of jinja2/tests.py (`x is defined`, `x is divisibleby(3)`, ...).
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

[[noreturn]] void missing_test(const std::string& name) {
  if (jinja_has_test(name)) throw EvalError(fmt::format("test '{}' is not supported", name));
  throw EvalError(fmt::format("TemplateRuntimeError: No test named '{}' found.", name));
}

// =============================================================================================
// Tests (jinja2/tests.py)
// =============================================================================================

bool t_odd(const Value& v, Args&) { return equal(binary(BinaryOp::kMod, v, 2), 1); }
bool t_even(const Value& v, Args&) { return equal(binary(BinaryOp::kMod, v, 2), 0); }
bool t_divisibleby(const Value& v, Args& a) {
  return equal(binary(BinaryOp::kMod, v, a.required("num")), 0);
}
bool t_defined(const Value& v, Args&) { return !v.is_undefined(); }
bool t_undefined(const Value& v, Args&) { return v.is_undefined(); }
bool t_none(const Value& v, Args&) { return v.is_none(); }
bool t_boolean(const Value& v, Args&) { return v.is<bool>(); }
bool t_true(const Value& v, Args&) { return v.is<bool>() && *v.get_if<bool>(); }
bool t_false(const Value& v, Args&) { return v.is<bool>() && !*v.get_if<bool>(); }
bool t_integer(const Value& v, Args&) { return v.is<int64_t>(); }
bool t_float(const Value& v, Args&) { return v.is<double>(); }
bool t_number(const Value& v, Args&) { return v.is_number(); }
bool t_string(const Value& v, Args&) { return v.is_string(); }
bool t_mapping(const Value& v, Args&) { return v.dict() != nullptr; }
bool t_lower(const Value& v, Args&) { return text::is_lower(str(v)); }
bool t_upper(const Value& v, Args&) { return text::is_upper(str(v)); }

// Python objects with __len__ and __getitem__ (undefined has both).
bool t_sequence(const Value& v, Args&) {
  const auto* seq = v.sequence();
  return v.is_undefined() || v.is_string() || v.dict() ||
         (seq && seq->kind != SequenceKind::kView && seq->kind != SequenceKind::kIterator);
}

bool t_iterable(const Value& v, Args&) {
  const auto* o = v.object();
  return v.is_undefined() || v.is_string() || v.dict() || v.sequence() || (o && o->callable());
}

bool t_callable(const Value& v, Args&) {
  const auto* o = v.object();
  return v.is_undefined() || v.function() || (o && o->callable());
}

// Python's `is`: singletons, small cached ints, and the same object.
bool t_sameas(const Value& v, Args& a) {
  const Value other = a.required("other");
  if (v.storage().index() != other.storage().index()) return false;
  if (v.is_none()) return true;
  if (const auto* b = v.get_if<bool>()) return *b == *other.get_if<bool>();
  if (const auto* i = v.get_if<int64_t>())
    return *i == *other.get_if<int64_t>() && *i >= -5 && *i <= 256;
  if (v.sequence()) return v.sequence() == other.sequence();
  if (v.dict()) return v.dict() == other.dict();
  if (v.object()) return v.object() == other.object();
  if (v.function()) return v.function() == other.function();
  return false;
}

bool t_in(const Value& v, Args& a) { return contains(a.required("seq"), v); }
bool t_eq(const Value& v, Args& a) { return equal(v, a.required("other")); }
bool t_ne(const Value& v, Args& a) { return !equal(v, a.required("other")); }
bool t_lt(const Value& v, Args& a) { return compare(CompareOp::kLess, v, a.required("other")); }
bool t_le(const Value& v, Args& a) {
  return compare(CompareOp::kLessEqual, v, a.required("other"));
}
bool t_gt(const Value& v, Args& a) { return compare(CompareOp::kGreater, v, a.required("other")); }
bool t_ge(const Value& v, Args& a) {
  return compare(CompareOp::kGreaterEqual, v, a.required("other"));
}
bool t_filter(const Value& v, Args&) { return v.is_string() && jinja_has_filter(v.as_string()); }
bool t_test(const Value& v, Args&) { return v.is_string() && jinja_has_test(v.as_string()); }

const std::unordered_map<std::string_view, TestFn>& test_table() {
  static const std::unordered_map<std::string_view, TestFn> table = {
      {"odd", t_odd},
      {"even", t_even},
      {"divisibleby", t_divisibleby},
      {"defined", t_defined},
      {"undefined", t_undefined},
      {"none", t_none},
      {"boolean", t_boolean},
      {"true", t_true},
      {"false", t_false},
      {"integer", t_integer},
      {"float", t_float},
      {"number", t_number},
      {"string", t_string},
      {"mapping", t_mapping},
      {"sequence", t_sequence},
      {"iterable", t_iterable},
      {"callable", t_callable},
      {"sameas", t_sameas},
      {"lower", t_lower},
      {"upper", t_upper},
      {"in", t_in},
      {"==", t_eq},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"!=", t_ne},
      {"ne", t_ne},
      {"<", t_lt},
      {"lt", t_lt},
      {"lessthan", t_lt},
      {"<=", t_le},
      {"le", t_le},
      {">", t_gt},
      {"gt", t_gt},
      {"greaterthan", t_gt},
      {">=", t_ge},
      {"ge", t_ge},
      {"filter", t_filter},
      {"test", t_test},
  };
  return table;
}

}  // namespace

bool apply_test(TestFn fn, const std::string& name, const Value& operand, CallArgs args) {
  if (!fn) missing_test(name);
  Args bound(name, std::move(args));
  const bool result = fn(operand, bound);
  bound.finish();
  return result;
}

TestFn find_test(std::string_view name) {
  const auto it = test_table().find(name);
  return it == test_table().end() ? nullptr : it->second;
}

bool jinja_has_test(std::string_view name) { return find_test(name) || name == "escaped"; }

}  // namespace gemma::jinja
