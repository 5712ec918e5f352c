#pragma once
// The values a Jinja template computes with: Python's data model as far as chat templates reach
// into it, with Python's printing, comparison and arithmetic rules. transformers renders in
// jinja2's ImmutableSandboxedEnvironment, where lists and dicts cannot be modified, so they are
// shared rather than copied; namespaces and loop objects are the only mutable values.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "gemma/chat_template.h"

namespace gemma::jinja {

/// A failed operation, worded as the Python exception jinja2 would raise (TypeError,
/// UndefinedError, ...). The renderer prefixes the template location and rethrows it as a
/// ProcessorError.
class EvalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// jinja2's default Undefined: prints as "", iterates as empty and is falsy; any other use fails
/// with `error` (e.g. "UndefinedError: 'foo' is undefined").
struct Undefined {
  std::string error;
};

/// Python's None.
struct None {};

struct Sequence;
class Dict;
class Object;
class Function;

/// How a sequence behaves: list and tuple as in Python; range (materialised, at most 100000 items
/// in the sandbox); a view (dict.items() ...: has a length, is not subscriptable); an iterator (a
/// generator from select/map/...: no length, always true).
enum class SequenceKind { kList, kTuple, kRange, kView, kIterator };

class Value {
 public:
  using Storage = std::variant<Undefined, None, bool, int64_t, double, std::string,
                               std::shared_ptr<const Sequence>, std::shared_ptr<const Dict>,
                               std::shared_ptr<Object>, std::shared_ptr<const Function>>;

  Value() = default;
  Value(Undefined u) : storage_(std::move(u)) {}
  Value(None) : storage_(None{}) {}
  Value(bool b) : storage_(b) {}
  Value(int i) : storage_(int64_t{i}) {}
  Value(int64_t i) : storage_(i) {}
  Value(double d) : storage_(d) {}
  Value(std::string s) : storage_(std::move(s)) {}
  Value(std::string_view s) : storage_(std::string(s)) {}
  Value(const char* s) : storage_(std::string(s)) {}
  Value(std::shared_ptr<const Sequence> s) : storage_(std::move(s)) {}
  Value(std::shared_ptr<const Dict> d) : storage_(std::move(d)) {}
  Value(std::shared_ptr<Object> o) : storage_(std::move(o)) {}
  Value(std::shared_ptr<const Function> f) : storage_(std::move(f)) {}

  /// An undefined value whose use raises `error` ("UndefinedError", "SecurityError") with
  /// `message`.
  static Value undefined(std::string_view message, std::string_view error = "UndefinedError") {
    return Value(Undefined{std::string(error) + ": " + std::string(message)});
  }
  static Value list(std::vector<Value> items);
  static Value tuple(std::vector<Value> items);
  static Value dict(Dict entries);
  /// A sequence of any kind; `type_name` names a view or iterator type ("dict_items", ...).
  static Value sequence_of(SequenceKind kind, std::vector<Value> items, std::string type_name = {});

  template <class T>
  const T* get_if() const {
    return std::get_if<T>(&storage_);
  }
  template <class T>
  bool is() const {
    return std::holds_alternative<T>(storage_);
  }
  const Storage& storage() const { return storage_; }

  bool is_undefined() const { return is<Undefined>(); }
  bool is_none() const { return is<None>(); }
  bool is_string() const { return is<std::string>(); }
  /// int or bool (a Python bool is an int).
  bool is_integer() const { return is<int64_t>() || is<bool>(); }
  /// int, bool or float.
  bool is_number() const { return is_integer() || is<double>(); }
  const std::string& as_string() const { return std::get<std::string>(storage_); }
  /// The value of an int or bool.
  int64_t as_integer() const;
  /// The value of an int, bool or float.
  double as_double() const;
  const Sequence* sequence() const;
  const Dict* dict() const;
  Object* object() const;
  const Function* function() const;

 private:
  Storage storage_;
};

struct Sequence {
  SequenceKind kind = SequenceKind::kList;
  std::vector<Value> items;
  /// Python type of a view or iterator ("dict_items", "generator", ...).
  std::string type_name;
  /// range(start, stop, step), kept for printing.
  int64_t range_start = 0, range_stop = 0, range_step = 1;
  /// Nesting depth: 1 + the deepest item's (values nest at most 512 deep).
  size_t depth = 1;
};

/// An insertion-ordered Python dict. Keys compare with Python ==, so 1, 1.0 and True are one key.
class Dict {
 public:
  using Entry = std::pair<Value, Value>;

  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value value);
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  void clear() { entries_.clear(); }
  /// Nesting depth: 1 + the deepest value's.
  size_t depth() const { return depth_; }

 private:
  std::vector<Entry> entries_;
  size_t depth_ = 1;
};

/// A mutable object with attributes: a namespace() or a for loop's `loop`.
class Object : public std::enable_shared_from_this<Object> {
 public:
  virtual ~Object() = default;
  /// Python type(x).__name__, e.g. "TemplateNamespace".
  virtual std::string type_name() const = 0;
  /// Module-qualified type as jinja2 names it in undefined messages.
  virtual std::string qualified_type_name() const = 0;
  /// The attribute, or nullopt when the object has none by that name.
  virtual std::optional<Value> attribute(std::string_view name) = 0;
  virtual std::string repr() const = 0;
  /// Whether Python could call it (a LoopContext can be called, a namespace cannot).
  virtual bool callable() const { return false; }
};

/// Positional and keyword arguments of a call.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

/// A callable value: a macro, a builtin function or a bound method.
class Function {
 public:
  using Body = std::function<Value(CallArgs)>;
  /// `type_name` is Python's type(x).__name__ ("Macro", "builtin_function_or_method", ...).
  Function(std::string type_name, std::string repr, Body body)
      : type_name_(std::move(type_name)), repr_(std::move(repr)), body_(std::move(body)) {}

  Value call(CallArgs args) const { return body_(std::move(args)); }
  const std::string& type_name() const { return type_name_; }
  const std::string& repr() const { return repr_; }

 private:
  std::string type_name_;
  std::string repr_;
  Body body_;
};

Value make_function(std::string type_name, std::string repr, Function::Body body);

/// Binds a call's arguments to named parameters the way Python does: in order from the
/// positional arguments, then by keyword. finish() rejects what is left over.
class Args {
 public:
  Args(std::string callee, CallArgs call) : callee_(std::move(callee)), call_(std::move(call)) {}

  /// The next parameter: the next positional argument, else the keyword `name`, else nullopt.
  std::optional<Value> next(std::string_view name);
  Value next_or(std::string_view name, Value fallback);
  /// Like next(), but a missing argument is a TypeError.
  Value required(std::string_view name);
  /// Every positional argument not yet taken (Python's *args).
  std::vector<Value> rest();
  /// Every keyword argument not yet taken (Python's **kwargs), in call order.
  std::vector<std::pair<std::string, Value>> rest_keywords();
  /// Throws a TypeError naming the first argument no parameter took.
  void finish() const;

 private:
  std::string callee_;
  CallArgs call_;
  size_t next_positional_ = 0;
  std::vector<bool> used_keywords_;
};

/// Values nested deeper than this are refused (stack safety).
inline constexpr size_t kMaxNesting = 512;

// ---------------------------------------------------------------------------------------------
// Budgets (TemplateLimits). Values are made in many places (operators, filters, methods, the
// renderer); each charges the budget of the rendering running on its thread instead of carrying
// it. Outside a rendering (unit tests of single operations) nothing is charged.
// ---------------------------------------------------------------------------------------------

/// Installs `limits` as this thread's budget for its lifetime (one rendering).
class Budget {
 public:
  explicit Budget(const TemplateLimits& limits);
  ~Budget();
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

  const TemplateLimits& limits() const { return limits_; }
  void charge(uint64_t units);

 private:
  TemplateLimits limits_;
  uint64_t spent_ = 0;
  Budget* previous_;
};

/// Charges `units` of work; throws EvalError once TemplateLimits::max_work is spent.
void charge_work(uint64_t units);
/// Throws EvalError when a string of `bytes` would exceed TemplateLimits::max_output_bytes;
/// called before building strings whose size an input multiplies.
void check_string_size(uint64_t bytes);

// ---------------------------------------------------------------------------------------------
// Python semantics. Every function throws EvalError where Python would raise.
// ---------------------------------------------------------------------------------------------

/// Python's bool(x).
bool truthy(const Value& v);
/// Python's str(x); undefined prints as "".
std::string str(const Value& v);
/// Python's repr(x).
std::string repr(const Value& v);
/// Python's repr(str): single quotes unless the text has ' and no ", escapes for the rest.
std::string string_repr(std::string_view s);
/// Python's repr of a float ("1.0", "0.1", "1e-05").
std::string float_repr(double d);
/// Python's type(x).__name__ ("int", "str", "NoneType", ...).
std::string type_name(const Value& v);
/// What jinja2's undefined messages call the object: "dict object", "None", ...
std::string object_type_repr(const Value& v);
/// Throws the UndefinedError of an undefined value.
[[noreturn]] void fail_undefined(const Value& v);

/// Python's a == b.
bool equal(const Value& a, const Value& b);
/// Whether Python could hash it (lists, dicts and tuples holding them cannot be dict keys).
bool hashable(const Value& v);
enum class CompareOp { kLess, kLessEqual, kGreater, kGreaterEqual };
/// Python's ordering comparisons; unorderable operands raise TypeError.
bool compare(CompareOp op, const Value& a, const Value& b);
/// Python's `item in container`.
bool contains(const Value& container, const Value& item);
/// Python's len(x); undefined has length 0.
int64_t length(const Value& v);
/// Python's list(iter(x)); undefined iterates as empty.
std::vector<Value> iterate(const Value& v);

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow };
Value binary(BinaryOp op, const Value& a, const Value& b);
Value negate(const Value& v);
Value unary_plus(const Value& v);
/// Python's `format % args` (the %-formatting of str and jinja2's `format` filter).
std::string percent_format(const std::string& format, const Value& args);

/// jinja2's sandboxed getattr: methods of str, list and dict (mutating ones are unsafe), a
/// dict's keys, an object's attributes; an undefined value for anything else.
Value get_attr(const Value& obj, std::string_view name);
/// jinja2's sandboxed getitem: obj[key], falling back to a method for a string key.
Value get_item(const Value& obj, const Value& key);
/// obj[start:stop:step]; unset bounds are Python's None.
Value slice(const Value& obj, std::optional<int64_t> start, std::optional<int64_t> stop,
            std::optional<int64_t> step);

/// Converts JSON input (messages, tools, ...). Nesting deeper than 512 levels throws
/// std::invalid_argument.
Value from_json(const nlohmann::ordered_json& json);

/// Python's json.dumps options, as transformers' `tojson` filter passes them.
struct JsonOptions {
  std::optional<std::string> indent;  ///< None: one line
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool ensure_ascii = false;
  bool sort_keys = false;
};
std::string to_json(const Value& v, const JsonOptions& options);

}  // namespace gemma::jinja
