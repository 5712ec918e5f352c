#pragma once
// The syntax tree of a parsed Jinja template. Nodes mirror jinja2.nodes; every node keeps the byte
// offset where it starts so that runtime errors can name a line and column.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "jinja/lexer.h"
#include "jinja/value.h"

namespace gemma::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// Arguments of a call, filter or test: f(a, b, k=v, *args, **kwargs).
struct CallArgsNode {
  std::vector<Expr> positional;
  std::vector<std::pair<std::string, Expr>> keywords;
  ExprPtr star_args;
  ExprPtr star_kwargs;
};

/// A filter or test as the parser resolved it; null when this interpreter does not implement it
/// (evaluating it then fails, as jinja2 fails for a filter it does not know).
using FilterFn = Value (*)(const Value& operand, Args& args);
using TestFn = bool (*)(const Value& operand, Args& args);

namespace node {
struct Literal {
  Value value;
};
struct Name {
  std::string name;
};
struct List {
  std::vector<Expr> items;
};
struct Tuple {
  std::vector<Expr> items;
};
struct DictLiteral {
  std::vector<std::pair<Expr, Expr>> items;
};
struct Getattr {
  ExprPtr object;
  std::string attribute;
};
struct Getitem {
  ExprPtr object;
  ExprPtr key;
};
/// obj[start:stop:step]; unset parts are null.
struct Slice {
  ExprPtr object;
  ExprPtr start, stop, step;
};
struct Call {
  ExprPtr callee;
  CallArgsNode args;
};
struct Filter {
  ExprPtr operand;
  std::string name;
  FilterFn fn = nullptr;
  CallArgsNode args;
};
struct Test {
  ExprPtr operand;
  std::string name;
  TestFn fn = nullptr;
  CallArgsNode args;
};
enum class UnaryOp { kNeg, kPos, kNot };
struct Unary {
  UnaryOp op;
  ExprPtr operand;
};
struct Binary {
  BinaryOp op;
  ExprPtr left, right;
};
/// `and` / `or`: short-circuit, yielding an operand as Python does.
struct Logical {
  bool is_and;
  ExprPtr left, right;
};
enum class CompareKind { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };
/// a < b <= c: chained as in Python.
struct Compare {
  ExprPtr first;
  std::vector<std::pair<CompareKind, Expr>> rest;
};
/// a ~ b ~ c
struct Concat {
  std::vector<Expr> parts;
};
/// `a if test else b`; without else the result is undefined.
struct CondExpr {
  ExprPtr test, then, otherwise;
};
}  // namespace node

struct Expr {
  size_t offset = 0;
  std::variant<node::Literal, node::Name, node::List, node::Tuple, node::DictLiteral, node::Getattr,
               node::Getitem, node::Slice, node::Call, node::Filter, node::Test, node::Unary,
               node::Binary, node::Logical, node::Compare, node::Concat, node::CondExpr>
      node;
};

namespace detail {
// Defines Expr's destructor here, before anything instantiates std::pair<..., Expr>. Otherwise
// clang 14 with libstdc++ 12 may first define it while evaluating that pair's conditionally
// explicit constructor, which recurses into the trait being evaluated ("incomplete type").
inline void destroy(Expr& expr) { expr.~Expr(); }
}  // namespace detail

/// Where a `for` or `set` stores: a name, a (nested) tuple of names, or a namespace attribute.
struct Target {
  std::string name;                      ///< the variable (or the namespace variable)
  std::optional<std::string> attribute;  ///< set ns.attribute = ...
  std::vector<Target> elements;          ///< non-empty for tuple unpacking
  bool is_tuple = false;
};

struct Stmt;
using Body = std::vector<Stmt>;

/// One filter of a chain applied to a block's output ({% set x | f %}, {% filter f %}).
struct FilterCall {
  size_t offset = 0;
  std::string name;
  FilterFn fn = nullptr;
  CallArgsNode args;
};

/// A macro, or the body of a {% call %} block (which becomes the `caller` macro).
struct MacroDef {
  std::string name;
  std::vector<std::pair<std::string, std::optional<Expr>>> params;
  Body body;
  bool uses_varargs = false;  ///< the body reads `varargs`: extra positional arguments allowed
  bool uses_kwargs = false;   ///< the body reads `kwargs`: extra keyword arguments allowed
  bool uses_caller = false;   ///< the body reads `caller`
};

namespace node {
struct Text {
  std::string text;
};
struct Print {
  Expr expr;
};
struct If {
  std::vector<std::pair<Expr, Body>> branches;
  Body otherwise;
};
struct For {
  Target target;
  Expr iterable;
  std::optional<Expr> condition;
  Body body;
  Body otherwise;
};
struct Set {
  Target target;
  Expr value;
};
struct SetBlock {
  Target target;
  std::vector<FilterCall> filters;
  Body body;
};
struct Macro {
  std::shared_ptr<const MacroDef> def;
};
struct CallBlock {
  std::shared_ptr<const MacroDef> caller;
  Expr call;  ///< a node::Call
};
struct FilterBlock {
  std::vector<FilterCall> filters;
  Body body;
};
/// {% with a = 1 %} ... {% endwith %}, and transformers' {% generation %} block (a plain scope).
struct With {
  std::vector<std::pair<Target, Expr>> assignments;
  Body body;
};
struct Break {};
struct Continue {};
}  // namespace node

struct Stmt {
  size_t offset = 0;
  std::variant<node::Text, node::Print, node::If, node::For, node::Set, node::SetBlock, node::Macro,
               node::CallBlock, node::FilterBlock, node::With, node::Break, node::Continue>
      node;
};

/// Parses the tokens of the template that `locator` holds. Throws ProcessorError naming the
/// line and column of a syntax error or of a construct this interpreter does not support.
Body parse(const Locator& locator);

}  // namespace gemma::jinja
