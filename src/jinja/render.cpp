// Evaluates a parsed template: jinja2's scoping (a new scope per loop iteration, macro call,
// {% set %} block and {% with %}; none for {% if %}), macros and call blocks, loop controls, and
// the globals of transformers' environment. Filters and tests are in jinja_filters.cpp and
// jinja_tests.cpp.
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
#include "jinja/jinja.h"
#include "jinja/lexer.h"
#include "jinja/text.h"

namespace gemma::jinja {

struct Program {
  Locator locator;
  Body body;
};

namespace {

constexpr int64_t kMaxRange = 100000;  // jinja2's sandbox.MAX_RANGE
// Statements and expressions evaluated inside each other, macro bodies included. The parser
// bounds one template's nesting and max_call_depth the macro calls, but not their product: a
// deep expression in a macro that calls itself overflowed the stack (fuzz_jinja). 3000 leaves
// max_call_depth (100) macros 30 levels each, and takes under 1 MB of stack optimised, about 4 MB
// in a gcc -O0 AddressSanitizer build.
constexpr int kMaxRenderDepth = 3000;

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

// =============================================================================================
// The renderer
// =============================================================================================

class Renderer {
 public:
  Renderer(const Program& program, const TemplateLimits& limits)
      : program_(program), budget_(limits) {}

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
    for (const auto& [key, value] : context.items()) {
      try {
        root->set(key, from_json(value));
      } catch (const std::invalid_argument& e) {  // nested too deeply
        throw InvalidArgumentError(fmt::format("template variable '{}': {}", key, e.what()));
      } catch (const EvalError& e) {  // over budget
        throw ProcessorError(
            fmt::format("{}: template variable '{}': {}", program_.locator.name(), key, e.what()));
      }
    }
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

  // One level of kMaxRenderDepth for as long as it lives.
  class Nested {
   public:
    explicit Nested(int& depth) : depth_(depth) {
      if (depth_ >= kMaxRenderDepth) {
        throw EvalError(fmt::format(
            "RecursionError: maximum recursion depth exceeded (statements, expressions and macro "
            "calls nested {} deep)",
            kMaxRenderDepth));
      }
      ++depth_;
    }
    ~Nested() { --depth_; }
    Nested(const Nested&) = delete;
    Nested& operator=(const Nested&) = delete;

   private:
    int& depth_;
  };

  // Appends to the output (or the block being captured) within max_output_bytes.
  void emit(std::string_view text) {
    check_string_size(out_->size() + text.size());
    charge_work(text.size());
    *out_ += text;
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
      const Nested nested(depth_);
      charge_work(1);
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
    emit(n.text);
    return Flow::kNormal;
  }

  Flow run(const node::Print& n, const FramePtr& frame) {
    emit(str(eval(n.expr, frame)));
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
    charge_work(items.size());  // one per iteration, empty bodies included
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
    emit(str(result));
    return Flow::kNormal;
  }

  Flow run(const node::FilterBlock& n, const FramePtr& frame) {
    auto [flow, text] = capture(n.body, std::make_shared<Frame>(frame));
    if (flow != Flow::kNormal) return flow;
    emit(str(apply_chain(n.filters, Value(std::move(text)), frame)));
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
    if (call_depth_ >= budget_.limits().max_call_depth) {
      throw EvalError(
          fmt::format("RecursionError: maximum recursion depth exceeded ({} nested macro calls, "
                      "TemplateLimits::max_call_depth)",
                      budget_.limits().max_call_depth));
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
      // An init-capture: lambdas capture structured bindings only from clang 16 on.
      const auto param =
          std::find_if(def.params.begin() + static_cast<std::ptrdiff_t>(positional),
                       def.params.end(), [&name = key](const auto& p) { return p.first == name; });
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
      const Nested nested(depth_);
      charge_work(1);
      Value v = std::visit([&](const auto& n) { return value_of(n, e, frame); }, e.node);
      if (const auto* s = v.get_if<std::string>()) {
        check_string_size(s->size());
        charge_work(s->size());  // a string value is a copy
      }
      return v;
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
               // jinja2.exceptions.TemplateError, as transformers reports it.
               throw EvalError("TemplateError: " + str(message));
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
    charge_work(static_cast<uint64_t>(count));
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
  Budget budget_;  // this thread's budget while the Renderer lives
  std::string* out_ = nullptr;
  int call_depth_ = 0;
  int depth_ = 0;  // see kMaxRenderDepth
  std::vector<FramePtr> closures_;
  std::vector<std::weak_ptr<Namespace>> namespaces_;
};

}  // namespace

Template Template::parse(std::string_view source, std::string name) {
  Locator locator(std::move(name), source);
  Body body = jinja::parse(locator);
  return Template(std::make_shared<const Program>(Program{std::move(locator), std::move(body)}));
}

std::string Template::render(const nlohmann::ordered_json& context,
                             const TemplateLimits& limits) const {
  if (!context.is_object()) {
    throw InvalidArgumentError("chat template context must be a JSON object");
  }
  return Renderer(*program_, limits).render(context);
}

}  // namespace gemma::jinja
