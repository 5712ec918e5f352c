// A port of jinja2's recursive-descent parser (jinja2/parser.py), with its operator precedence,
// its error messages, and the loopcontrols extension and transformers' {% generation %} tag.
#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>

#include "jinja/ast.h"
#include "jinja/builtins.h"

namespace gemma::jinja {
namespace {

// Brackets, nested blocks and operator chains; deeper templates are refused. jinja2 fails near
// there too: it compiles each level to a parenthesis of Python, and CPython allows 200.
constexpr int kMaxNesting = 200;

// Tags jinja2 has that a chat template cannot use here (they load other templates or change
// escaping).
constexpr std::string_view kUnsupportedTags[] = {"block",  "extends", "include",
                                                 "import", "from",    "autoescape"};

template <class T>
ExprPtr boxed(T&& node, size_t offset) {
  auto e = std::make_unique<Expr>();
  e->offset = offset;
  e->node = std::forward<T>(node);
  return e;
}

template <class T>
Expr make_expr(T&& node, size_t offset) {
  Expr e;
  e.offset = offset;
  e.node = std::forward<T>(node);
  return e;
}

ExprPtr box(Expr e) { return std::make_unique<Expr>(std::move(e)); }

// Which end tags the parser is waiting for ("endfor", "else"), for jinja2's messages.
using EndTags = std::vector<std::string_view>;

class Parser {
 public:
  explicit Parser(const Locator& locator) : locator_(locator), tokens_(tokenize(locator)) {}

  Body parse_template() { return subparse(nullptr); }

 private:
  // ---- token stream ------------------------------------------------------------------------

  const Token& current() const { return tokens_[pos_]; }
  const Token& look() const { return tokens_[std::min(pos_ + 1, tokens_.size() - 1)]; }
  const Token& advance() {
    const Token& t = tokens_[pos_];
    if (t.type != TokenType::kEof) ++pos_;
    return t;
  }
  static bool is_name(const Token& t, std::string_view name) {
    return t.type == TokenType::kName && t.text == name;
  }
  static bool is_op(const Token& t, std::string_view op) {
    return t.type == TokenType::kOperator && t.text == op;
  }
  bool skip_name(std::string_view name) { return is_name(current(), name) && (advance(), true); }
  bool skip_op(std::string_view op) { return is_op(current(), op) && (advance(), true); }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::kName:
      case TokenType::kOperator:
        return t.text;
      case TokenType::kString:
        return "string";
      case TokenType::kInteger:
        return "integer";
      case TokenType::kFloat:
        return "float";
      case TokenType::kData:
        return "template data / text";
      case TokenType::kVariableBegin:
        return "begin of print statement";
      case TokenType::kVariableEnd:
        return "end of print statement";
      case TokenType::kBlockBegin:
        return "begin of statement block";
      case TokenType::kBlockEnd:
        return "end of statement block";
      case TokenType::kEof:
        return "end of template";
    }
    return "?";
  }

  [[noreturn]] void fail(size_t offset, std::string_view message) const {
    locator_.fail(offset, message);
  }

  // jinja2's TokenStream.expect: `what` describes the wanted token in the message.
  const Token& expect(bool ok, std::string_view what) {
    if (!ok) {
      if (current().type == TokenType::kEof) {
        fail(current().offset, fmt::format("unexpected end of template, expected '{}'.", what));
      }
      fail(current().offset,
           fmt::format("expected token '{}', got '{}'", what, describe(current())));
    }
    return advance();
  }
  const Token& expect_type(TokenType type) {
    Token probe;
    probe.type = type;
    return expect(current().type == type, describe(probe));
  }
  const Token& expect_op(std::string_view op) { return expect(is_op(current(), op), op); }
  const Token& expect_name() { return expect(current().type == TokenType::kName, "name"); }
  const Token& expect_keyword(std::string_view name) {
    return expect(is_name(current(), name), name);
  }

  // Brackets and blocks nest through recursion; a guard keeps hostile templates off the stack.
  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxNesting) {
        parser.fail(parser.current().offset, "template nested too deeply");
      }
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  // Operator chains (a + b + c, x.y[0], v | f | g) are parsed in a loop but make the tree one
  // level deeper per operator, and the renderer, the name checks and the destructors all recurse
  // over the tree: each such level counts as one of kMaxNesting too.
  class ChainGuard {
   public:
    explicit ChainGuard(Parser& p) : parser_(p) {}
    ~ChainGuard() { parser_.depth_ -= levels_; }
    ChainGuard(const ChainGuard&) = delete;
    ChainGuard& operator=(const ChainGuard&) = delete;
    void deeper() {
      ++levels_;
      if (++parser_.depth_ > kMaxNesting) {
        parser_.fail(parser_.current().offset, "template nested too deeply");
      }
    }

   private:
    Parser& parser_;
    int levels_ = 0;
  };

  // ---- statements --------------------------------------------------------------------------

  Body subparse(const EndTags* end_tags) {
    Body body;
    if (end_tags) end_stack_.push_back(*end_tags);
    while (current().type != TokenType::kEof) {
      const Token& token = current();
      if (token.type == TokenType::kData) {
        body.push_back(Stmt{token.offset, node::Text{token.text}});
        advance();
      } else if (token.type == TokenType::kVariableBegin) {
        advance();
        Expr e = parse_tuple({.with_condexpr = true});
        expect_type(TokenType::kVariableEnd);
        body.push_back(Stmt{e.offset, node::Print{std::move(e)}});
      } else {
        advance();  // block begin
        if (end_tags && current().type == TokenType::kName &&
            std::find(end_tags->begin(), end_tags->end(), current().text) != end_tags->end()) {
          end_stack_.pop_back();
          return body;
        }
        parse_statement(body);
        expect_type(TokenType::kBlockEnd);
      }
    }
    if (end_tags) end_stack_.pop_back();
    return body;
  }

  // The body of a block statement up to one of `end_tags`, which is left as the current token
  // (or consumed with drop_needle).
  Body parse_statements(const EndTags& end_tags, bool drop_needle = false) {
    skip_op(":");
    expect_type(TokenType::kBlockEnd);
    Body body = subparse(&end_tags);
    if (current().type == TokenType::kEof) fail_eof(&end_tags);
    if (drop_needle) advance();
    return body;
  }

  void parse_statement(Body& out) {
    const Token& token = current();
    if (token.type != TokenType::kName) fail(token.offset, "tag name expected");
    DepthGuard guard(*this);
    const std::string tag = token.text;
    const size_t offset = token.offset;
    if (std::find(std::begin(kUnsupportedTags), std::end(kUnsupportedTags), tag) !=
        std::end(kUnsupportedTags)) {
      fail(offset, fmt::format("tag '{}' is not supported", tag));
    }
    tag_stack_.push_back(tag);
    if (tag == "for") {
      out.push_back(Stmt{offset, parse_for()});
    } else if (tag == "if") {
      out.push_back(Stmt{offset, parse_if()});
    } else if (tag == "set") {
      out.push_back(parse_set());
    } else if (tag == "macro") {
      out.push_back(Stmt{offset, parse_macro()});
    } else if (tag == "call") {
      out.push_back(Stmt{offset, parse_call_block()});
    } else if (tag == "filter") {
      out.push_back(Stmt{offset, parse_filter_block()});
    } else if (tag == "with") {
      out.push_back(Stmt{offset, parse_with()});
    } else if (tag == "generation") {
      advance();
      out.push_back(Stmt{offset, node::With{{}, parse_statements({"endgeneration"}, true)}});
    } else if (tag == "print") {
      advance();
      for (bool first = true; current().type != TokenType::kBlockEnd; first = false) {
        if (!first) expect_op(",");
        Expr e = parse_expression();
        out.push_back(Stmt{e.offset, node::Print{std::move(e)}});
      }
    } else if (tag == "break" || tag == "continue") {
      advance();
      if (loop_depth_ == 0) fail(offset, fmt::format("'{}' outside loop", tag));
      if (tag == "break") {
        out.push_back(Stmt{offset, node::Break{}});
      } else {
        out.push_back(Stmt{offset, node::Continue{}});
      }
    } else {
      tag_stack_.pop_back();
      fail_unknown_tag(tag, offset);
    }
    tag_stack_.pop_back();
  }

  // jinja2's _fail_ut_eof: what was found, what it was looking for, what is still open.
  [[noreturn]] void fail_with_context(const std::string* tag, const std::vector<EndTags>& stack,
                                      size_t offset) {
    std::string message =
        tag ? fmt::format("Encountered unknown tag '{}'.", *tag) : "Unexpected end of template.";
    if (!stack.empty()) {
      std::string looking;
      for (const auto& t : stack.back()) {
        looking += (looking.empty() ? "'" : " or '") + std::string(t) + "'";
      }
      bool expected = false;
      for (const auto& tags : stack) {
        expected = expected || (tag && std::find(tags.begin(), tags.end(), *tag) != tags.end());
      }
      if (expected) {
        message += fmt::format(
            " You probably made a nesting mistake. Jinja is expecting this tag, but currently "
            "looking for {}.",
            looking);
      } else {
        message += fmt::format(" Jinja was looking for the following tags: {}.", looking);
      }
    }
    if (!tag_stack_.empty()) {
      message +=
          fmt::format(" The innermost block that needs to be closed is '{}'.", tag_stack_.back());
    }
    fail(offset, message);
  }
  [[noreturn]] void fail_unknown_tag(const std::string& tag, size_t offset) {
    fail_with_context(&tag, end_stack_, offset);
  }
  [[noreturn]] void fail_eof(const EndTags* end_tags) {
    std::vector<EndTags> stack = end_stack_;
    if (end_tags) stack.push_back(*end_tags);
    fail_with_context(nullptr, stack, current().offset);
  }

  node::For parse_for() {
    expect_keyword("for");
    node::For f;
    f.target = parse_assign_target({"in"});
    expect_keyword("in");
    f.iterable = parse_tuple({.with_condexpr = false, .extra_end = {"recursive"}});
    if (skip_name("if")) f.condition = parse_expression();
    if (is_name(current(), "recursive"))
      fail(current().offset, "recursive loops are not supported");
    ++loop_depth_;
    f.body = parse_statements({"endfor", "else"});
    --loop_depth_;
    if (advance().text != "endfor") f.otherwise = parse_statements({"endfor"}, true);
    return f;
  }

  node::If parse_if() {
    expect_keyword("if");
    node::If result;
    while (true) {
      Expr test = parse_tuple({.with_condexpr = false});
      Body body = parse_statements({"elif", "else", "endif"});
      result.branches.emplace_back(std::move(test), std::move(body));
      const Token& token = advance();
      if (is_name(token, "elif")) continue;
      if (is_name(token, "else")) result.otherwise = parse_statements({"endif"}, true);
      return result;
    }
  }

  Stmt parse_set() {
    const size_t offset = advance().offset;
    Target target = parse_assign_target({}, /*with_namespace=*/true);
    if (skip_op("=")) return Stmt{offset, node::Set{std::move(target), parse_tuple({})}};
    node::SetBlock block;
    block.target = std::move(target);
    block.filters = parse_filter_chain(false);
    block.body = parse_statements({"endset"}, true);
    return Stmt{offset, std::move(block)};
  }

  std::vector<std::pair<std::string, std::optional<Expr>>> parse_signature() {
    std::vector<std::pair<std::string, std::optional<Expr>>> params;
    expect_op("(");
    bool defaults = false;
    while (!is_op(current(), ")")) {
      if (!params.empty()) expect_op(",");
      std::string name = expect_name().text;
      std::optional<Expr> fallback;
      if (skip_op("=")) {
        fallback = parse_expression();
        defaults = true;
      } else if (defaults) {
        fail(current().offset, "non-default argument follows default argument");
      }
      params.emplace_back(std::move(name), std::move(fallback));
    }
    expect_op(")");
    return params;
  }

  // A macro body; `varargs`, `kwargs` and `caller` read inside it change how calls bind.
  Body parse_macro_body(MacroDef& def, std::string_view end_tag) {
    const int saved_loops = loop_depth_;
    loop_depth_ = 0;
    macros_.push_back(&def);
    Body body = parse_statements({end_tag}, true);
    macros_.pop_back();
    loop_depth_ = saved_loops;
    return body;
  }

  node::Macro parse_macro() {
    advance();
    auto def = std::make_shared<MacroDef>();
    def->name = expect_name().text;
    def->params = parse_signature();
    def->body = parse_macro_body(*def, "endmacro");
    return node::Macro{std::move(def)};
  }

  node::CallBlock parse_call_block() {
    const size_t offset = advance().offset;
    auto def = std::make_shared<MacroDef>();
    def->name = "caller";
    if (is_op(current(), "(")) def->params = parse_signature();
    Expr call = parse_expression();
    if (!std::holds_alternative<node::Call>(call.node)) fail(offset, "expected call");
    def->body = parse_macro_body(*def, "endcall");
    return node::CallBlock{std::move(def), std::move(call)};
  }

  node::FilterBlock parse_filter_block() {
    advance();
    node::FilterBlock block;
    block.filters = parse_filter_chain(true);
    block.body = parse_statements({"endfilter"}, true);
    return block;
  }

  node::With parse_with() {
    advance();
    node::With with;
    while (current().type != TokenType::kBlockEnd) {
      if (!with.assignments.empty()) expect_op(",");
      Target target = parse_assign_target({});
      expect_op("=");
      with.assignments.emplace_back(std::move(target), parse_expression());
    }
    with.body = parse_statements({"endwith"}, true);
    return with;
  }

  // ---- assignment targets ------------------------------------------------------------------

  Target parse_assign_target(const EndTags& extra_end, bool with_namespace = false) {
    return to_target(parse_tuple(
        {.simplified = true, .extra_end = extra_end, .with_namespace = with_namespace}));
  }

  Target to_target(const Expr& e) {
    Target t;
    if (const auto* name = std::get_if<node::Name>(&e.node)) {
      t.name = name->name;
    } else if (const auto* tuple = std::get_if<node::Tuple>(&e.node)) {
      t.is_tuple = true;
      for (const auto& item : tuple->items) t.elements.push_back(to_target(item));
    } else if (const auto* attr = std::get_if<node::Getattr>(&e.node);
               attr && std::holds_alternative<node::Name>(attr->object->node)) {
      t.name = std::get<node::Name>(attr->object->node).name;
      t.attribute = attr->attribute;
    } else {
      fail(e.offset, "can't assign to this expression");
    }
    return t;
  }

  // ---- expressions -------------------------------------------------------------------------

  struct TupleOptions {
    bool simplified = false;
    bool with_condexpr = true;
    EndTags extra_end = {};
    bool explicit_parentheses = false;
    bool with_namespace = false;
  };

  bool is_tuple_end(const EndTags& extra_end) const {
    const Token& t = current();
    if (t.type == TokenType::kVariableEnd || t.type == TokenType::kBlockEnd || is_op(t, ")")) {
      return true;
    }
    return t.type == TokenType::kName &&
           std::find(extra_end.begin(), extra_end.end(), t.text) != extra_end.end();
  }

  Expr parse_tuple(const TupleOptions& options) {
    const size_t offset = current().offset;
    std::vector<Expr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(options.extra_end)) break;
      items.push_back(options.simplified ? parse_primary(options.with_namespace)
                                         : parse_expression(options.with_condexpr));
      if (!is_op(current(), ",")) break;
      is_tuple = true;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items.front());
      if (!options.explicit_parentheses) {
        fail(current().offset,
             fmt::format("Expected an expression, got '{}'", describe(current())));
      }
    }
    return make_expr(node::Tuple{std::move(items)}, offset);
  }

  Expr parse_expression(bool with_condexpr = true) {
    DepthGuard guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  Expr parse_condexpr() {
    Expr expr = parse_or();
    ChainGuard chain(*this);
    while (skip_name("if")) {
      chain.deeper();
      Expr test = parse_or();
      ExprPtr otherwise;
      if (skip_name("else")) otherwise = box(parse_condexpr());
      const size_t offset = expr.offset;
      expr = make_expr(
          node::CondExpr{box(std::move(test)), box(std::move(expr)), std::move(otherwise)}, offset);
    }
    return expr;
  }

  Expr parse_or() {
    Expr left = parse_and();
    ChainGuard chain(*this);
    while (skip_name("or")) {
      chain.deeper();
      const size_t offset = left.offset;
      left = make_expr(node::Logical{false, box(std::move(left)), box(parse_and())}, offset);
    }
    return left;
  }

  Expr parse_and() {
    Expr left = parse_not();
    ChainGuard chain(*this);
    while (skip_name("and")) {
      chain.deeper();
      const size_t offset = left.offset;
      left = make_expr(node::Logical{true, box(std::move(left)), box(parse_not())}, offset);
    }
    return left;
  }

  Expr parse_not() {
    if (is_name(current(), "not")) {
      const size_t offset = advance().offset;
      DepthGuard guard(*this);
      return make_expr(node::Unary{node::UnaryOp::kNot, box(parse_not())}, offset);
    }
    return parse_compare();
  }

  Expr parse_compare() {
    Expr first = parse_math1();
    std::vector<std::pair<node::CompareKind, Expr>> rest;
    while (true) {
      static const std::pair<std::string_view, node::CompareKind> kOps[] = {
          {"==", node::CompareKind::kEq}, {"!=", node::CompareKind::kNe},
          {"<", node::CompareKind::kLt},  {"<=", node::CompareKind::kLe},
          {">", node::CompareKind::kGt},  {">=", node::CompareKind::kGe}};
      const auto op = std::find_if(std::begin(kOps), std::end(kOps),
                                   [&](const auto& o) { return is_op(current(), o.first); });
      if (op != std::end(kOps)) {
        advance();
        rest.emplace_back(op->second, parse_math1());
      } else if (skip_name("in")) {
        rest.emplace_back(node::CompareKind::kIn, parse_math1());
      } else if (is_name(current(), "not") && is_name(look(), "in")) {
        advance();
        advance();
        rest.emplace_back(node::CompareKind::kNotIn, parse_math1());
      } else {
        break;
      }
    }
    if (rest.empty()) return first;
    const size_t offset = first.offset;
    return make_expr(node::Compare{box(std::move(first)), std::move(rest)}, offset);
  }

  Expr parse_math1() {
    Expr left = parse_concat();
    ChainGuard chain(*this);
    while (is_op(current(), "+") || is_op(current(), "-")) {
      chain.deeper();
      const BinaryOp op = advance().text == "+" ? BinaryOp::kAdd : BinaryOp::kSub;
      const size_t offset = left.offset;
      left = make_expr(node::Binary{op, box(std::move(left)), box(parse_concat())}, offset);
    }
    return left;
  }

  Expr parse_concat() {
    std::vector<Expr> parts;
    parts.push_back(parse_math2());
    while (skip_op("~")) parts.push_back(parse_math2());
    if (parts.size() == 1) return std::move(parts.front());
    const size_t offset = parts.front().offset;
    return make_expr(node::Concat{std::move(parts)}, offset);
  }

  Expr parse_math2() {
    Expr left = parse_pow();
    ChainGuard chain(*this);
    while (true) {
      BinaryOp op;
      if (is_op(current(), "*")) {
        op = BinaryOp::kMul;
      } else if (is_op(current(), "/")) {
        op = BinaryOp::kDiv;
      } else if (is_op(current(), "//")) {
        op = BinaryOp::kFloorDiv;
      } else if (is_op(current(), "%")) {
        op = BinaryOp::kMod;
      } else {
        return left;
      }
      advance();
      chain.deeper();
      const size_t offset = left.offset;
      left = make_expr(node::Binary{op, box(std::move(left)), box(parse_pow())}, offset);
    }
  }

  Expr parse_pow() {
    Expr left = parse_unary(true);
    ChainGuard chain(*this);
    while (skip_op("**")) {
      chain.deeper();
      const size_t offset = left.offset;
      left = make_expr(node::Binary{BinaryOp::kPow, box(std::move(left)), box(parse_unary(true))},
                       offset);
    }
    return left;
  }

  // Unary minus binds looser than filters in jinja2: -x|abs is (-x)|abs.
  Expr parse_unary(bool with_filter) {
    const size_t offset = current().offset;
    Expr e;
    if (is_op(current(), "-") || is_op(current(), "+")) {
      const auto op = advance().text == "-" ? node::UnaryOp::kNeg : node::UnaryOp::kPos;
      DepthGuard guard(*this);
      e = make_expr(node::Unary{op, box(parse_unary(false))}, offset);
    } else {
      e = parse_primary(false);
    }
    e = parse_postfix(std::move(e));
    return with_filter ? parse_filter_expr(std::move(e)) : std::move(e);
  }

  Expr parse_primary(bool with_namespace) {
    const Token& token = current();
    const size_t offset = token.offset;
    switch (token.type) {
      case TokenType::kName: {
        advance();
        if (token.text == "true" || token.text == "True")
          return make_expr(node::Literal{true}, offset);
        if (token.text == "false" || token.text == "False") {
          return make_expr(node::Literal{false}, offset);
        }
        if (token.text == "none" || token.text == "None")
          return make_expr(node::Literal{None{}}, offset);
        if (with_namespace && is_op(current(), ".")) {
          advance();
          std::string attribute = expect_name().text;
          return make_expr(
              node::Getattr{boxed(node::Name{token.text}, offset), std::move(attribute)}, offset);
        }
        note_special_name(token.text);
        return make_expr(node::Name{token.text}, offset);
      }
      case TokenType::kString: {
        std::string s;
        while (current().type == TokenType::kString) s += advance().text;
        return make_expr(node::Literal{Value(std::move(s))}, offset);
      }
      case TokenType::kInteger:
        return make_expr(node::Literal{Value(advance().integer)}, offset);
      case TokenType::kFloat:
        return make_expr(node::Literal{Value(advance().number)}, offset);
      default:
        break;
    }
    DepthGuard guard(*this);
    if (skip_op("(")) {
      Expr e = parse_tuple({.explicit_parentheses = true});
      expect_op(")");
      return e;
    }
    if (is_op(token, "[")) return parse_list();
    if (is_op(token, "{")) return parse_dict();
    fail(offset, fmt::format("unexpected '{}'", describe(token)));
  }

  void note_special_name(const std::string& name) {
    for (MacroDef* def : macros_) {
      if (name == "varargs") def->uses_varargs = true;
      if (name == "kwargs") def->uses_kwargs = true;
      if (name == "caller") def->uses_caller = true;
    }
  }

  Expr parse_list() {
    const size_t offset = expect_op("[").offset;
    std::vector<Expr> items;
    while (!is_op(current(), "]")) {
      if (!items.empty()) expect_op(",");
      if (is_op(current(), "]")) break;
      items.push_back(parse_expression());
    }
    expect_op("]");
    return make_expr(node::List{std::move(items)}, offset);
  }

  Expr parse_dict() {
    const size_t offset = expect_op("{").offset;
    std::vector<std::pair<Expr, Expr>> items;
    while (!is_op(current(), "}")) {
      if (!items.empty()) expect_op(",");
      if (is_op(current(), "}")) break;
      Expr key = parse_expression();
      expect_op(":");
      items.emplace_back(std::move(key), parse_expression());
    }
    expect_op("}");
    return make_expr(node::DictLiteral{std::move(items)}, offset);
  }

  Expr parse_postfix(Expr e) {
    ChainGuard chain(*this);
    while (true) {
      if (is_op(current(), ".") || is_op(current(), "[") || is_op(current(), "(")) chain.deeper();
      if (is_op(current(), ".") || is_op(current(), "[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op(current(), "(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  Expr parse_filter_expr(Expr e) {
    ChainGuard chain(*this);
    while (true) {
      if (is_op(current(), "|") || is_name(current(), "is") || is_op(current(), "(")) {
        chain.deeper();
      }
      if (is_op(current(), "|")) {
        e = parse_filter(std::move(e));
      } else if (is_name(current(), "is")) {
        e = parse_test(std::move(e));
      } else if (is_op(current(), "(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  Expr parse_subscript(Expr object) {
    const Token& token = advance();
    const size_t offset = object.offset;
    if (token.text == ".") {
      const Token& attr = advance();
      if (attr.type == TokenType::kName) {
        return make_expr(node::Getattr{box(std::move(object)), attr.text}, offset);
      }
      if (attr.type != TokenType::kInteger) fail(attr.offset, "expected name or number");
      return make_expr(node::Getitem{box(std::move(object)),
                                     boxed(node::Literal{Value(attr.integer)}, attr.offset)},
                       offset);
    }
    DepthGuard guard(*this);
    std::vector<Expr> args;
    while (!is_op(current(), "]")) {
      if (!args.empty()) expect_op(",");
      args.push_back(parse_subscribed());
    }
    expect_op("]");
    if (args.size() == 1 && std::holds_alternative<node::Slice>(args.front().node)) {
      auto& s = std::get<node::Slice>(args.front().node);
      s.object = box(std::move(object));
      args.front().offset = offset;
      return std::move(args.front());
    }
    for (const auto& a : args) {
      if (std::holds_alternative<node::Slice>(a.node))
        fail(a.offset, "multi-dimensional slices are not supported");
    }
    Expr key = args.size() == 1 ? std::move(args.front())
                                : make_expr(node::Tuple{std::move(args)}, token.offset);
    return make_expr(node::Getitem{box(std::move(object)), box(std::move(key))}, offset);
  }

  // One subscript: an expression, or a slice start:stop:step with any part omitted.
  Expr parse_subscribed() {
    const size_t offset = current().offset;
    node::Slice s;
    if (!skip_op(":")) {
      Expr e = parse_expression();
      if (!skip_op(":")) return e;
      s.start = box(std::move(e));
    }
    const auto slice_part_ends = [&] { return is_op(current(), "]") || is_op(current(), ","); };
    if (!is_op(current(), ":") && !slice_part_ends()) s.stop = box(parse_expression());
    if (skip_op(":") && !slice_part_ends()) s.step = box(parse_expression());
    return make_expr(std::move(s), offset);
  }

  CallArgsNode parse_call_args() {
    const size_t offset = expect_op("(").offset;
    CallArgsNode args;
    const auto ensure = [&](bool ok) {
      if (!ok) fail(offset, "invalid syntax for function call expression");
    };
    bool require_comma = false;
    while (!is_op(current(), ")")) {
      if (require_comma) {
        expect_op(",");
        if (is_op(current(), ")")) break;
      }
      if (skip_op("*")) {
        ensure(!args.star_args && !args.star_kwargs);
        args.star_args = box(parse_expression());
      } else if (skip_op("**")) {
        ensure(!args.star_kwargs);
        args.star_kwargs = box(parse_expression());
      } else if (current().type == TokenType::kName && is_op(look(), "=")) {
        ensure(!args.star_kwargs);
        std::string key = advance().text;
        advance();
        args.keywords.emplace_back(std::move(key), parse_expression());
      } else {
        ensure(!args.star_args && !args.star_kwargs && args.keywords.empty());
        args.positional.push_back(parse_expression());
      }
      require_comma = true;
    }
    expect_op(")");
    return args;
  }

  Expr parse_call(Expr callee) {
    const size_t offset = callee.offset;
    DepthGuard guard(*this);
    CallArgsNode args = parse_call_args();
    return make_expr(node::Call{box(std::move(callee)), std::move(args)}, offset);
  }

  std::string parse_dotted_name() {
    std::string name = expect_name().text;
    while (skip_op(".")) {
      name += '.';
      name += expect_name().text;
    }
    return name;
  }

  Expr parse_filter(Expr operand) {
    advance();  // |
    const size_t offset = current().offset;
    std::string name = parse_dotted_name();
    CallArgsNode args;
    if (is_op(current(), "(")) args = parse_call_args();
    const FilterFn fn = find_filter(name);
    return make_expr(node::Filter{box(std::move(operand)), std::move(name), fn, std::move(args)},
                     offset);
  }

  // The filters of {% set x | f %} and {% filter f %} (the latter needs at least one).
  std::vector<FilterCall> parse_filter_chain(bool start_inline) {
    std::vector<FilterCall> chain;
    while (start_inline || skip_op("|")) {
      start_inline = false;
      FilterCall call;
      call.offset = current().offset;
      call.name = parse_dotted_name();
      if (is_op(current(), "(")) call.args = parse_call_args();
      call.fn = find_filter(call.name);
      chain.push_back(std::move(call));
    }
    return chain;
  }

  Expr parse_test(Expr operand) {
    const size_t offset = advance().offset;  // is
    const bool negated = skip_name("not");
    const size_t name_offset = current().offset;
    std::string name = parse_dotted_name();
    CallArgsNode args;
    const Token& t = current();
    if (is_op(t, "(")) {
      args = parse_call_args();
    } else if ((t.type == TokenType::kName || t.type == TokenType::kString ||
                t.type == TokenType::kInteger || t.type == TokenType::kFloat || is_op(t, "[") ||
                is_op(t, "{")) &&
               !is_name(t, "else") && !is_name(t, "or") && !is_name(t, "and")) {
      if (is_name(t, "is")) fail(t.offset, "You cannot chain multiple tests with is");
      args.positional.push_back(parse_postfix(parse_primary(false)));
    }
    const TestFn fn = find_test(name);
    Expr test = make_expr(node::Test{box(std::move(operand)), std::move(name), fn, std::move(args)},
                          name_offset);
    if (!negated) return test;
    return make_expr(node::Unary{node::UnaryOp::kNot, box(std::move(test))}, offset);
  }

  const Locator& locator_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  std::vector<std::string> tag_stack_;
  std::vector<EndTags> end_stack_;
  std::vector<MacroDef*> macros_;
};

// jinja2 rejects a filter or test it does not know when it compiles the template, except inside
// an `if` statement or conditional expression, where the error waits until it is evaluated.
class NameChecker {
 public:
  explicit NameChecker(const Locator& locator) : locator_(locator) {}

  void body(const Body& b, bool soft) {
    for (const auto& s : b) stmt(s, soft);
  }

 private:
  void stmt(const Stmt& s, bool soft) {
    std::visit([&](const auto& n) { visit(n, soft); }, s.node);
  }

  void visit(const node::Text&, bool) {}
  void visit(const node::Break&, bool) {}
  void visit(const node::Continue&, bool) {}
  void visit(const node::Print& n, bool soft) { expr(n.expr, soft); }
  void visit(const node::If& n, bool) {
    for (const auto& [test, b] : n.branches) {
      expr(test, true);
      body(b, true);
    }
    body(n.otherwise, true);
  }
  void visit(const node::For& n, bool soft) {
    expr(n.iterable, soft);
    if (n.condition) expr(*n.condition, false);
    body(n.body, false);
    body(n.otherwise, false);
  }
  void visit(const node::Set& n, bool soft) { expr(n.value, soft); }
  void visit(const node::SetBlock& n, bool soft) {
    filters(n.filters, soft);
    body(n.body, false);
  }
  void visit(const node::Macro& n, bool) { macro(*n.def); }
  void visit(const node::CallBlock& n, bool soft) {
    expr(n.call, soft);
    macro(*n.caller);
  }
  void visit(const node::FilterBlock& n, bool soft) {
    filters(n.filters, soft);
    body(n.body, false);
  }
  void visit(const node::With& n, bool soft) {
    for (const auto& [target, value] : n.assignments) expr(value, soft);
    body(n.body, false);
  }

  void macro(const MacroDef& def) {
    for (const auto& [name, fallback] : def.params) {
      if (fallback) expr(*fallback, false);
    }
    body(def.body, false);
  }

  void filters(const std::vector<FilterCall>& chain, bool soft) {
    for (const auto& f : chain) {
      filter_name(f.name, f.offset, soft);
      args(f.args, soft);
    }
  }

  void filter_name(const std::string& name, size_t offset, bool soft) {
    if (!soft && !jinja_has_filter(name)) {
      locator_.fail(offset, fmt::format("No filter named '{}'.", name));
    }
  }

  void args(const CallArgsNode& a, bool soft) {
    for (const auto& e : a.positional) expr(e, soft);
    for (const auto& [k, e] : a.keywords) expr(e, soft);
    if (a.star_args) expr(*a.star_args, soft);
    if (a.star_kwargs) expr(*a.star_kwargs, soft);
  }

  void expr(const Expr& e, bool soft) {
    std::visit([&](const auto& n) { visit_expr(n, e.offset, soft); }, e.node);
  }

  void visit_expr(const node::Literal&, size_t, bool) {}
  void visit_expr(const node::Name&, size_t, bool) {}
  void visit_expr(const node::List& n, size_t, bool soft) {
    for (const auto& i : n.items) expr(i, soft);
  }
  void visit_expr(const node::Tuple& n, size_t, bool soft) {
    for (const auto& i : n.items) expr(i, soft);
  }
  void visit_expr(const node::DictLiteral& n, size_t, bool soft) {
    for (const auto& [k, v] : n.items) {
      expr(k, soft);
      expr(v, soft);
    }
  }
  void visit_expr(const node::Getattr& n, size_t, bool soft) { expr(*n.object, soft); }
  void visit_expr(const node::Getitem& n, size_t, bool soft) {
    expr(*n.object, soft);
    expr(*n.key, soft);
  }
  void visit_expr(const node::Slice& n, size_t, bool soft) {
    for (const ExprPtr* p : {&n.object, &n.start, &n.stop, &n.step}) {
      if (*p) expr(**p, soft);
    }
  }
  void visit_expr(const node::Call& n, size_t, bool soft) {
    expr(*n.callee, soft);
    args(n.args, soft);
  }
  void visit_expr(const node::Filter& n, size_t offset, bool soft) {
    expr(*n.operand, soft);
    filter_name(n.name, offset, soft);
    args(n.args, soft);
  }
  void visit_expr(const node::Test& n, size_t offset, bool soft) {
    expr(*n.operand, soft);
    if (!soft && !jinja_has_test(n.name)) {
      locator_.fail(offset, fmt::format("No test named '{}'.", n.name));
    }
    args(n.args, soft);
  }
  void visit_expr(const node::Unary& n, size_t, bool soft) { expr(*n.operand, soft); }
  void visit_expr(const node::Binary& n, size_t, bool soft) {
    expr(*n.left, soft);
    expr(*n.right, soft);
  }
  void visit_expr(const node::Logical& n, size_t, bool soft) {
    expr(*n.left, soft);
    expr(*n.right, soft);
  }
  void visit_expr(const node::Compare& n, size_t, bool soft) {
    expr(*n.first, soft);
    for (const auto& [op, e] : n.rest) expr(e, soft);
  }
  void visit_expr(const node::Concat& n, size_t, bool soft) {
    for (const auto& p : n.parts) expr(p, soft);
  }
  void visit_expr(const node::CondExpr& n, size_t, bool) {
    expr(*n.test, true);
    expr(*n.then, true);
    if (n.otherwise) expr(*n.otherwise, true);
  }

  const Locator& locator_;
};

}  // namespace

Body parse(const Locator& locator) {
  Body body = Parser(locator).parse_template();
  NameChecker(locator).body(body, false);
  return body;
}

}  // namespace gemma::jinja
