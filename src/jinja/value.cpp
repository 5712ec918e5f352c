// Python's data model for the Jinja interpreter: values, dicts and argument binding, equality
// and ordering, arithmetic. Printing is in jinja_format.cpp, methods in jinja_methods.cpp.
#include "jinja/value.h"

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

namespace gemma::jinja {

// =============================================================================================
// Value, Dict, Args
// =============================================================================================

// =============================================================================================
// Budgets
// =============================================================================================

namespace {
thread_local Budget* active_budget = nullptr;
}  // namespace

Budget::Budget(const TemplateLimits& limits) : limits_(limits), previous_(active_budget) {
  active_budget = this;
}

Budget::~Budget() { active_budget = previous_; }

void Budget::charge(uint64_t units) {
  spent_ += units;
  if (spent_ > limits_.max_work) {
    throw EvalError(
        fmt::format("TemplateBudgetError: the template did more than {} units of work "
                    "(TemplateLimits::max_work)",
                    limits_.max_work));
  }
}

void charge_work(uint64_t units) {
  if (active_budget) active_budget->charge(units);
}

void check_string_size(uint64_t bytes) {
  if (active_budget && bytes > active_budget->limits().max_output_bytes) {
    throw EvalError(
        fmt::format("TemplateBudgetError: a string of {} bytes exceeds the {}-byte limit "
                    "(TemplateLimits::max_output_bytes)",
                    bytes, active_budget->limits().max_output_bytes));
  }
}

namespace {

size_t nesting(const Value& v);

// What copying `v` into a new container allocates: its string bytes (lists and dicts are shared).
uint64_t copy_cost(const Value& v) {
  const auto* s = v.get_if<std::string>();
  return 1 + (s ? s->size() : 0);
}

std::shared_ptr<const Sequence> make_sequence(SequenceKind kind, std::vector<Value> items,
                                              std::string type_name = {}) {
  uint64_t cost = 1;
  for (const auto& item : items) cost += copy_cost(item);
  charge_work(cost);
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
  charge_work(copy_cost(key) + copy_cost(value));
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
  charge_work(1);  // shared sub-lists would otherwise make deep comparisons free
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
  charge_work(1);
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
    // Checked before the string exists: `'x' * 10**12` must not allocate first.
    if (!s->empty() &&
        static_cast<uint64_t>(n) > std::numeric_limits<uint64_t>::max() / s->size()) {
      throw EvalError("OverflowError: repetition result too large");
    }
    check_string_size(static_cast<uint64_t>(n) * s->size());
    charge_work(static_cast<uint64_t>(n) * s->size());
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += *s;
    return out;
  }
  const auto* x = seq.sequence();
  if (!x || (x->kind != SequenceKind::kList && x->kind != SequenceKind::kTuple))
    return std::nullopt;
  if (!x->items.empty() &&
      static_cast<uint64_t>(n) > std::numeric_limits<uint64_t>::max() / x->items.size()) {
    throw EvalError("OverflowError: repetition result too large");
  }
  uint64_t item_cost = 0;
  for (const auto& item : x->items) item_cost += copy_cost(item);
  if (item_cost > 0 &&
      static_cast<uint64_t>(n) > std::numeric_limits<uint64_t>::max() / item_cost) {
    throw EvalError("OverflowError: repetition result too large");
  }
  charge_work(static_cast<uint64_t>(n) * item_cost);  // before the items exist
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

}  // namespace gemma::jinja
