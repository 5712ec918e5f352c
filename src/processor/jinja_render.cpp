// Evaluates a parsed template: jinja2's scoping (a new scope per loop iteration, macro call,
// {% set %} block and {% with %}; none for {% if %}), macros and call blocks, loop controls, and
// the globals of transformers' environment. Filters and tests are in the second half.
#include "processor/jinja.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "gemma/error.h"
#include "processor/jinja_ast.h"
#include "processor/jinja_builtins.h"
#include "processor/jinja_lexer.h"
#include "processor/jinja_text.h"

namespace gemma::jinja {

struct Program {
  Locator locator;
  Body body;
};

namespace {

constexpr int kMaxCallDepth = 100;     // nested macro calls (jinja2 hits Python's limit near 200)
constexpr int64_t kMaxRange = 100000;  // jinja2's sandbox.MAX_RANGE

// =============================================================================================
// Scopes and objects
// =============================================================================================

class Frame {
 public:
  explicit Frame(std::shared_ptr<Frame> parent) : parent_(std::move(parent)) {}

  const Value* find(std::string_view name) const {
    for (const Frame* f = this; f; f = f->parent_.get()) {
      if (const auto it = f->vars_.find(name); it != f->vars_.end()) return &it->second;
    }
    return nullptr;
  }
  void set(const std::string& name, Value value) { vars_[name] = std::move(value); }
  void clear() { vars_.clear(); }

 private:
  std::shared_ptr<Frame> parent_;
  std::map<std::string, Value, std::less<>> vars_;
};

using FramePtr = std::shared_ptr<Frame>;

// transformers' TemplateNamespace: a jinja2 Namespace that refuses "_"-prefixed attributes.
class Namespace final : public Object {
 public:
  std::string type_name() const override { return "TemplateNamespace"; }
  std::string qualified_type_name() const override {
    return "transformers.utils.chat_template_utils.TemplateNamespace";
  }
  std::optional<Value> attribute(std::string_view name) override {
    const Value* v = attributes_.find(name);
    return v ? std::optional<Value>(*v) : std::nullopt;
  }
  std::string repr() const override {
    return fmt::format("<Namespace {}>", jinja::repr(Value::dict(attributes_)));
  }

  void set(const std::string& name, Value value) {
    if (!name.empty() && name.front() == '_') {
      throw EvalError(fmt::format(
          "SecurityError: Chat templates cannot store underscore-prefixed attributes on a "
          "namespace, but got {}. Please rename the attribute.",
          jinja::repr(Value(name))));
    }
    attributes_.set(Value(name), std::move(value));
  }
  void clear() { attributes_.clear(); }

 private:
  Dict attributes_;
};

// jinja2's LoopContext, over a materialised (and already filtered) list of items.
class Loop final : public Object {
 public:
  explicit Loop(std::shared_ptr<const std::vector<Value>> items) : items_(std::move(items)) {}

  void set_index(size_t index0) { index0_ = index0; }

  std::string type_name() const override { return "LoopContext"; }
  std::string qualified_type_name() const override { return "jinja2.runtime.LoopContext"; }
  std::string repr() const override {
    return fmt::format("<LoopContext {}/{}>", index0_ + 1, items_->size());
  }
  bool callable() const override { return true; }

  std::optional<Value> attribute(std::string_view name) override {
    const auto n = static_cast<int64_t>(items_->size());
    const auto i = static_cast<int64_t>(index0_);
    if (name == "index0") return i;
    if (name == "index") return i + 1;
    if (name == "revindex0") return n - i - 1;
    if (name == "revindex") return n - i;
    if (name == "first") return i == 0;
    if (name == "last") return i == n - 1;
    if (name == "length") return n;
    if (name == "depth") return 1;
    if (name == "depth0") return 0;
    if (name == "previtem") {
      return i > 0 ? (*items_)[index0_ - 1] : Value::undefined("there is no previous item");
    }
    if (name == "nextitem") {
      return i + 1 < n ? (*items_)[index0_ + 1] : Value::undefined("there is no next item");
    }
    if (name == "cycle") return cycle_function();
    if (name == "changed") return changed_function();
    return std::nullopt;
  }

 private:
  Value cycle_function() {
    auto self = std::static_pointer_cast<Loop>(shared_from_this());
    return make_function("method", "<bound method LoopContext.cycle>", [self](CallArgs call) {
      if (call.positional.empty()) throw EvalError("TypeError: no items for cycling given");
      return call.positional[self->index0_ % call.positional.size()];
    });
  }

  Value changed_function() {
    auto self = std::static_pointer_cast<Loop>(shared_from_this());
    return make_function("method", "<bound method LoopContext.changed>", [self](CallArgs call) {
      Value current = Value::tuple(std::move(call.positional));
      if (self->last_changed_ && equal(*self->last_changed_, current)) return Value(false);
      self->last_changed_ = std::move(current);
      return Value(true);
    });
  }

  std::shared_ptr<const std::vector<Value>> items_;
  size_t index0_ = 0;
  std::optional<Value> last_changed_;
};

Value call_value(const Value& callee, CallArgs args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (const auto* f = callee.function()) return f->call(std::move(args));
  if (const auto* o = callee.object(); o && o->callable()) {
    throw EvalError("calling loop() (recursive loops) is not supported");
  }
  throw EvalError(fmt::format("TypeError: '{}' object is not callable", type_name(callee)));
}

[[noreturn]] void missing_filter(const std::string& name) {
  if (jinja_has_filter(name)) throw EvalError(fmt::format("filter '{}' is not supported", name));
  throw EvalError(fmt::format("TemplateRuntimeError: No filter named '{}' found.", name));
}

[[noreturn]] void missing_test(const std::string& name) {
  if (jinja_has_test(name)) throw EvalError(fmt::format("test '{}' is not supported", name));
  throw EvalError(fmt::format("TemplateRuntimeError: No test named '{}' found.", name));
}

Value apply_filter(FilterFn fn, const std::string& name, const Value& operand, CallArgs args) {
  if (!fn) missing_filter(name);
  Args bound(name, std::move(args));
  Value result = fn(operand, bound);
  bound.finish();
  return result;
}

bool apply_test(TestFn fn, const std::string& name, const Value& operand, CallArgs args) {
  if (!fn) missing_test(name);
  Args bound(name, std::move(args));
  const bool result = fn(operand, bound);
  bound.finish();
  return result;
}

// =============================================================================================
// The renderer
// =============================================================================================

class Renderer {
 public:
  explicit Renderer(const Program& program) : program_(program) {}

  // Macros keep their defining scope alive and namespaces may hold themselves; clearing them
  // breaks those reference cycles once rendering is over.
  ~Renderer() {
    for (const auto& frame : closures_) frame->clear();
    for (const auto& weak : namespaces_) {
      if (auto ns = weak.lock()) ns->clear();
    }
  }

  std::string render(const nlohmann::ordered_json& context) {
    auto root = std::make_shared<Frame>(nullptr);
    add_globals(*root);
    for (const auto& [key, value] : context.items()) root->set(key, from_json(value));
    std::string out;
    out_ = &out;
    exec_body(program_.body, root);
    return out;
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  [[noreturn]] void fail(size_t offset, const EvalError& e) const {
    program_.locator.fail(offset, e.what());
  }

  // ---- statements --------------------------------------------------------------------------

  Flow exec_body(const Body& body, const FramePtr& frame) {
    for (const auto& stmt : body) {
      const Flow flow = exec(stmt, frame);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow exec(const Stmt& stmt, const FramePtr& frame) {
    try {
      return std::visit([&](const auto& n) { return run(n, frame); }, stmt.node);
    } catch (const EvalError& e) {
      fail(stmt.offset, e);
    }
  }

  // Renders `body` into its own buffer.
  std::pair<Flow, std::string> capture(const Body& body, const FramePtr& frame) {
    std::string buffer;
    std::string* saved = out_;
    out_ = &buffer;
    struct Restore {
      std::string*& out;
      std::string* saved;
      ~Restore() { out = saved; }
    } restore{out_, saved};
    const Flow flow = exec_body(body, frame);
    return {flow, std::move(buffer)};
  }

  Flow run(const node::Text& n, const FramePtr&) {
    *out_ += n.text;
    return Flow::kNormal;
  }

  Flow run(const node::Print& n, const FramePtr& frame) {
    *out_ += str(eval(n.expr, frame));
    return Flow::kNormal;
  }

  Flow run(const node::If& n, const FramePtr& frame) {
    for (const auto& [test, body] : n.branches) {
      if (truthy(eval(test, frame))) return exec_body(body, frame);
    }
    return exec_body(n.otherwise, frame);
  }

  Flow run(const node::For& n, const FramePtr& frame) {
    std::vector<Value> items;
    try {
      items = iterate(eval(n.iterable, frame));
    } catch (const EvalError& e) {
      fail(n.iterable.offset, e);
    }
    if (n.condition) {
      std::vector<Value> kept;
      for (auto& item : items) {
        auto scope = std::make_shared<Frame>(frame);
        assign(n.target, item, *scope);
        if (truthy(eval(*n.condition, scope))) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec_body(n.otherwise, std::make_shared<Frame>(frame));
    const auto shared_items = std::make_shared<const std::vector<Value>>(std::move(items));
    const auto loop = std::make_shared<Loop>(shared_items);
    for (size_t i = 0; i < shared_items->size(); ++i) {
      auto scope = std::make_shared<Frame>(frame);
      assign(n.target, (*shared_items)[i], *scope);
      loop->set_index(i);
      scope->set("loop", Value(std::static_pointer_cast<Object>(loop)));
      if (exec_body(n.body, scope) == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  Flow run(const node::Set& n, const FramePtr& frame) {
    assign(n.target, eval(n.value, frame), *frame);
    return Flow::kNormal;
  }

  Flow run(const node::SetBlock& n, const FramePtr& frame) {
    auto [flow, text] = capture(n.body, std::make_shared<Frame>(frame));
    if (flow != Flow::kNormal) return flow;
    assign(n.target, apply_chain(n.filters, Value(std::move(text)), frame), *frame);
    return Flow::kNormal;
  }

  Flow run(const node::Macro& n, const FramePtr& frame) {
    frame->set(n.def->name, make_macro(*n.def, frame));
    return Flow::kNormal;
  }

  Flow run(const node::CallBlock& n, const FramePtr& frame) {
    const auto& call = std::get<node::Call>(n.call.node);
    Value caller = make_macro(*n.caller, frame);
    Value result;
    try {
      CallArgs args = eval_args(call.args, frame);
      args.keywords.emplace_back("caller", std::move(caller));
      result = call_value(eval(*call.callee, frame), std::move(args));
    } catch (const EvalError& e) {
      fail(n.call.offset, e);
    }
    *out_ += str(result);
    return Flow::kNormal;
  }

  Flow run(const node::FilterBlock& n, const FramePtr& frame) {
    auto [flow, text] = capture(n.body, std::make_shared<Frame>(frame));
    if (flow != Flow::kNormal) return flow;
    *out_ += str(apply_chain(n.filters, Value(std::move(text)), frame));
    return Flow::kNormal;
  }

  Flow run(const node::With& n, const FramePtr& frame) {
    auto scope = std::make_shared<Frame>(frame);
    for (const auto& [target, value] : n.assignments) assign(target, eval(value, frame), *scope);
    return exec_body(n.body, scope);
  }

  Flow run(const node::Break&, const FramePtr&) { return Flow::kBreak; }
  Flow run(const node::Continue&, const FramePtr&) { return Flow::kContinue; }

  void assign(const Target& target, const Value& value, Frame& frame) {
    if (target.attribute) {
      const Value* holder = frame.find(target.name);
      auto* ns = holder ? dynamic_cast<Namespace*>(holder->object()) : nullptr;
      if (!ns) {
        throw EvalError("TemplateRuntimeError: cannot assign attribute on non-namespace object");
      }
      ns->set(*target.attribute, value);
      return;
    }
    if (!target.is_tuple) {
      frame.set(target.name, value);
      return;
    }
    const std::vector<Value> items = iterate(value);
    const size_t n = target.elements.size();
    if (items.size() < n) {
      throw EvalError(fmt::format("ValueError: not enough values to unpack (expected {}, got {})",
                                  n, items.size()));
    }
    if (items.size() > n) {
      throw EvalError(fmt::format("ValueError: too many values to unpack (expected {})", n));
    }
    for (size_t i = 0; i < n; ++i) assign(target.elements[i], items[i], frame);
  }

  Value apply_chain(const std::vector<FilterCall>& chain, Value value, const FramePtr& frame) {
    for (const auto& f : chain) {
      try {
        value = apply_filter(f.fn, f.name, value, eval_args(f.args, frame));
      } catch (const EvalError& e) {
        fail(f.offset, e);
      }
    }
    return value;
  }

  // ---- macros ------------------------------------------------------------------------------

  Value make_macro(const MacroDef& def, const FramePtr& closure) {
    closures_.push_back(closure);
    return make_function(
        "Macro", fmt::format("<Macro {}>", repr(Value(def.name))),
        [this, &def, closure](CallArgs args) { return call_macro(def, closure, std::move(args)); });
  }

  // jinja2's Macro.__call__: positional arguments first, then keywords by name; extra
  // positional arguments go to `varargs` and extra keywords to `kwargs` only when the body
  // reads them.
  Value call_macro(const MacroDef& def, const FramePtr& closure, CallArgs args) {
    if (call_depth_ >= kMaxCallDepth) {
      throw EvalError("RecursionError: maximum recursion depth exceeded");
    }
    ++call_depth_;
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{call_depth_};

    auto scope = std::make_shared<Frame>(closure);
    const std::string quoted = repr(Value(def.name));
    const size_t n = def.params.size();
    const size_t positional = std::min(n, args.positional.size());
    std::vector<std::optional<Value>> bound(n);
    for (size_t i = 0; i < positional; ++i) bound[i] = args.positional[i];
    Dict extra;
    std::optional<Value> caller;
    for (auto& [key, value] : args.keywords) {
      const auto param =
          std::find_if(def.params.begin() + static_cast<std::ptrdiff_t>(positional),
                       def.params.end(), [&](const auto& p) { return p.first == key; });
      if (param != def.params.end()) {
        bound[static_cast<size_t>(param - def.params.begin())] = std::move(value);
      } else if (key == "caller" && def.uses_caller) {
        caller = std::move(value);
      } else {
        extra.set(Value(key), std::move(value));
      }
    }
    if (def.uses_caller) {
      scope->set("caller", caller ? *caller : Value::undefined("No caller defined"));
    }
    if (def.uses_kwargs) {
      scope->set("kwargs", Value::dict(std::move(extra)));
    } else if (!extra.empty()) {
      throw EvalError(fmt::format("TypeError: macro {} takes no keyword argument {}", quoted,
                                  repr(extra.begin()->first)));
    }
    if (def.uses_varargs) {
      scope->set("varargs", Value::tuple(std::vector<Value>(
                                args.positional.begin() + static_cast<std::ptrdiff_t>(positional),
                                args.positional.end())));
    } else if (args.positional.size() > n) {
      throw EvalError(
          fmt::format("TypeError: macro {} takes not more than {} argument(s)", quoted, n));
    }
    for (size_t i = 0; i < n; ++i) {
      const auto& [name, fallback] = def.params[i];
      if (bound[i]) {
        scope->set(name, std::move(*bound[i]));
      } else if (fallback) {
        scope->set(name, eval(*fallback, scope));
      } else {
        scope->set(name, Value::undefined(
                             fmt::format("parameter {} was not provided", repr(Value(name)))));
      }
    }
    return capture(def.body, scope).second;
  }

  // ---- expressions -------------------------------------------------------------------------

  Value eval(const Expr& e, const FramePtr& frame) {
    try {
      return std::visit([&](const auto& n) { return value_of(n, e, frame); }, e.node);
    } catch (const EvalError& err) {
      fail(e.offset, err);
    }
  }

  CallArgs eval_args(const CallArgsNode& node, const FramePtr& frame) {
    CallArgs args;
    for (const auto& e : node.positional) args.positional.push_back(eval(e, frame));
    if (node.star_args) {
      for (auto& v : iterate(eval(*node.star_args, frame))) args.positional.push_back(std::move(v));
    }
    for (const auto& [key, e] : node.keywords) args.keywords.emplace_back(key, eval(e, frame));
    if (node.star_kwargs) {
      const Value mapping = eval(*node.star_kwargs, frame);
      const Dict* d = mapping.dict();
      if (!d) throw EvalError("TypeError: argument after ** must be a mapping");
      for (const auto& [k, v] : *d) {
        if (!k.is_string()) throw EvalError("TypeError: keywords must be strings");
        args.keywords.emplace_back(k.as_string(), v);
      }
    }
    return args;
  }

  Value value_of(const node::Literal& n, const Expr&, const FramePtr&) { return n.value; }

  Value value_of(const node::Name& n, const Expr&, const FramePtr& frame) {
    if (const Value* v = frame->find(n.name)) return *v;
    return Value::undefined(fmt::format("{} is undefined", repr(Value(n.name))));
  }

  Value value_of(const node::List& n, const Expr&, const FramePtr& frame) {
    std::vector<Value> items;
    for (const auto& e : n.items) items.push_back(eval(e, frame));
    return Value::list(std::move(items));
  }

  Value value_of(const node::Tuple& n, const Expr&, const FramePtr& frame) {
    std::vector<Value> items;
    for (const auto& e : n.items) items.push_back(eval(e, frame));
    return Value::tuple(std::move(items));
  }

  Value value_of(const node::DictLiteral& n, const Expr&, const FramePtr& frame) {
    Dict d;
    for (const auto& [k, v] : n.items) {
      Value key = eval(k, frame);
      d.set(std::move(key), eval(v, frame));
    }
    return Value::dict(std::move(d));
  }

  Value value_of(const node::Getattr& n, const Expr&, const FramePtr& frame) {
    return get_attr(eval(*n.object, frame), n.attribute);
  }

  Value value_of(const node::Getitem& n, const Expr&, const FramePtr& frame) {
    Value object = eval(*n.object, frame);
    return get_item(object, eval(*n.key, frame));
  }

  Value value_of(const node::Slice& n, const Expr&, const FramePtr& frame) {
    Value object = eval(*n.object, frame);
    const auto bound = [&](const ExprPtr& e) -> std::optional<int64_t> {
      if (!e) return std::nullopt;
      const Value v = eval(*e, frame);
      if (v.is_none()) return std::nullopt;
      if (!v.is_integer()) {
        throw EvalError(
            "TypeError: slice indices must be integers or None or have an __index__ "
            "method");
      }
      return v.as_integer();
    };
    const auto start = bound(n.start);
    const auto stop = bound(n.stop);
    return slice(object, start, stop, bound(n.step));
  }

  Value value_of(const node::Call& n, const Expr&, const FramePtr& frame) {
    Value callee = eval(*n.callee, frame);
    return call_value(callee, eval_args(n.args, frame));
  }

  Value value_of(const node::Filter& n, const Expr&, const FramePtr& frame) {
    Value operand = eval(*n.operand, frame);
    return apply_filter(n.fn, n.name, operand, eval_args(n.args, frame));
  }

  Value value_of(const node::Test& n, const Expr&, const FramePtr& frame) {
    Value operand = eval(*n.operand, frame);
    return apply_test(n.fn, n.name, operand, eval_args(n.args, frame));
  }

  Value value_of(const node::Unary& n, const Expr&, const FramePtr& frame) {
    const Value v = eval(*n.operand, frame);
    switch (n.op) {
      case node::UnaryOp::kNot:
        return !truthy(v);
      case node::UnaryOp::kNeg:
        return negate(v);
      case node::UnaryOp::kPos:
        return unary_plus(v);
    }
    return v;
  }

  Value value_of(const node::Binary& n, const Expr&, const FramePtr& frame) {
    Value left = eval(*n.left, frame);
    return binary(n.op, left, eval(*n.right, frame));
  }

  Value value_of(const node::Logical& n, const Expr&, const FramePtr& frame) {
    Value left = eval(*n.left, frame);
    if (truthy(left) != n.is_and) return left;
    return eval(*n.right, frame);
  }

  static bool compare_values(node::CompareKind kind, const Value& a, const Value& b) {
    switch (kind) {
      case node::CompareKind::kEq:
        return equal(a, b);
      case node::CompareKind::kNe:
        return !equal(a, b);
      case node::CompareKind::kLt:
        return compare(CompareOp::kLess, a, b);
      case node::CompareKind::kLe:
        return compare(CompareOp::kLessEqual, a, b);
      case node::CompareKind::kGt:
        return compare(CompareOp::kGreater, a, b);
      case node::CompareKind::kGe:
        return compare(CompareOp::kGreaterEqual, a, b);
      case node::CompareKind::kIn:
        return contains(b, a);
      case node::CompareKind::kNotIn:
        return !contains(b, a);
    }
    return false;
  }

  Value value_of(const node::Compare& n, const Expr&, const FramePtr& frame) {
    Value left = eval(*n.first, frame);
    for (const auto& [kind, e] : n.rest) {
      Value right = eval(e, frame);
      if (!compare_values(kind, left, right)) return false;
      left = std::move(right);
    }
    return true;
  }

  Value value_of(const node::Concat& n, const Expr&, const FramePtr& frame) {
    std::string out;
    for (const auto& part : n.parts) out += str(eval(part, frame));
    return out;
  }

  Value value_of(const node::CondExpr& n, const Expr& e, const FramePtr& frame) {
    if (truthy(eval(*n.test, frame))) return eval(*n.then, frame);
    if (n.otherwise) return eval(*n.otherwise, frame);
    return Value::undefined(fmt::format(
        "the inline if-expression on line {} evaluated to false and no else section was defined.",
        program_.locator.line_column(e.offset).first));
  }

  // ---- globals -----------------------------------------------------------------------------

  void add_globals(Frame& root) {
    root.set("range", make_function("builtin_function_or_method", "<function safe_range>",
                                    [](CallArgs call) { return range(std::move(call)); }));
    root.set("namespace",
             make_function("type", "<class 'TemplateNamespace'>",
                           [this](CallArgs call) { return make_namespace(std::move(call)); }));
    root.set("dict", make_function("TemplateDict", "<TemplateDict>", [](CallArgs call) {
               return Value::dict(dict_from_args(std::move(call), "dict"));
             }));
    root.set("raise_exception",
             make_function("function", "<function raise_exception>", [](CallArgs call) -> Value {
               Args args("raise_exception", std::move(call));
               const Value message = args.required("message");
               args.finish();
               throw ProcessorError(str(message));
             }));
    root.set("strftime_now",
             make_function("function", "<function strftime_now>",
                           [](CallArgs call) { return strftime_now(std::move(call)); }));
    for (const char* name : {"cycler", "joiner", "lipsum"}) {
      root.set(name,
               make_function("type", fmt::format("<class '{}'>", name),
                             [name = std::string(name)](CallArgs) -> Value {
                               throw EvalError(fmt::format("global '{}' is not supported", name));
                             }));
    }
  }

  // Python's dict(*args, **kwargs): a mapping or an iterable of pairs, then keywords.
  static Dict dict_from_args(CallArgs call, std::string_view callee) {
    if (call.positional.size() > 1) {
      throw EvalError(fmt::format("TypeError: {} expected at most 1 argument, got {}", callee,
                                  call.positional.size()));
    }
    Dict d;
    if (!call.positional.empty()) {
      const Value& source = call.positional.front();
      if (const Dict* other = source.dict()) {
        for (const auto& [k, v] : *other) d.set(k, v);
      } else {
        for (const auto& pair : iterate(source)) {
          const auto kv = iterate(pair);
          if (kv.size() != 2) {
            throw EvalError(fmt::format(
                "ValueError: dictionary update sequence element has length {}; 2 is required",
                kv.size()));
          }
          d.set(kv[0], kv[1]);
        }
      }
    }
    for (auto& [k, v] : call.keywords) d.set(Value(k), std::move(v));
    return d;
  }

  Value make_namespace(CallArgs call) {
    auto ns = std::make_shared<Namespace>();
    namespaces_.push_back(ns);
    for (const auto& [k, v] : dict_from_args(std::move(call), "namespace")) {
      if (!k.is_string()) throw EvalError("TypeError: keywords must be strings");
      ns->set(k.as_string(), v);
    }
    return Value(std::static_pointer_cast<Object>(ns));
  }

  static Value range(CallArgs call) {
    if (!call.keywords.empty()) throw EvalError("TypeError: range() takes no keyword arguments");
    std::vector<int64_t> bounds;
    for (const auto& v : call.positional) {
      if (!v.is_integer()) {
        throw EvalError(fmt::format("TypeError: '{}' object cannot be interpreted as an integer",
                                    type_name(v)));
      }
      bounds.push_back(v.as_integer());
    }
    if (bounds.empty() || bounds.size() > 3) {
      throw EvalError(
          fmt::format("TypeError: range expected at least 1 argument, got {}", bounds.size()));
    }
    const int64_t start = bounds.size() == 1 ? 0 : bounds[0];
    const int64_t stop = bounds.size() == 1 ? bounds[0] : bounds[1];
    const int64_t step = bounds.size() == 3 ? bounds[2] : 1;
    if (step == 0) throw EvalError("ValueError: range() arg 3 must not be zero");
    const long double span =
        step > 0 ? static_cast<long double>(stop) - start : static_cast<long double>(start) - stop;
    const long double count =
        span <= 0 ? 0 : std::ceil(span / std::abs(static_cast<long double>(step)));
    if (count > kMaxRange) {
      throw EvalError(fmt::format(
          "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).",
          kMaxRange));
    }
    auto seq = std::make_shared<Sequence>();
    seq->kind = SequenceKind::kRange;
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i)
      seq->items.emplace_back(start + i * step);
    seq->range_start = start;
    seq->range_stop = stop;
    seq->range_step = step;
    return Value(std::shared_ptr<const Sequence>(std::move(seq)));
  }

  static Value strftime_now(CallArgs call) {
    Args args("strftime_now", std::move(call));
    const Value format = args.required("format");
    args.finish();
    if (!format.is_string()) throw EvalError("TypeError: strftime() argument 1 must be str");
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    std::string out(256, '\0');
    while (true) {
      const size_t n = std::strftime(out.data(), out.size(), format.as_string().c_str(), &local);
      if (n > 0 || format.as_string().empty() || out.size() > 65536) {
        out.resize(n);
        return out;
      }
      out.resize(out.size() * 4);
    }
  }

  const Program& program_;
  std::string* out_ = nullptr;
  int call_depth_ = 0;
  std::vector<FramePtr> closures_;
  std::vector<std::weak_ptr<Namespace>> namespaces_;
};

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

FilterFn find_filter(std::string_view name) {
  const auto it = filter_table().find(name);
  return it == filter_table().end() ? nullptr : it->second;
}

TestFn find_test(std::string_view name) {
  const auto it = test_table().find(name);
  return it == test_table().end() ? nullptr : it->second;
}

bool jinja_has_filter(std::string_view name) {
  static constexpr std::string_view kNotImplemented[] = {
      "attr",      "center",   "filesizeformat", "groupby", "pprint",   "random", "slice",
      "striptags", "truncate", "urlencode",      "urlize",  "wordwrap", "xmlattr"};
  return find_filter(name) || std::find(std::begin(kNotImplemented), std::end(kNotImplemented),
                                        name) != std::end(kNotImplemented);
}

bool jinja_has_test(std::string_view name) { return find_test(name) || name == "escaped"; }

Template Template::parse(std::string_view source, std::string name) {
  Locator locator(std::move(name), source);
  Body body = jinja::parse(locator);
  return Template(std::make_shared<const Program>(Program{std::move(locator), std::move(body)}));
}

std::string Template::render(const nlohmann::ordered_json& context) const {
  if (!context.is_object()) {
    throw InvalidArgumentError("chat template context must be a JSON object");
  }
  try {
    return Renderer(*program_).render(context);
  } catch (const std::invalid_argument& e) {
    throw InvalidArgumentError(e.what());
  }
}

}  // namespace gemma::jinja
