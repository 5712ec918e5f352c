#pragma once
// The filters and tests the interpreter implements, and the names jinja2 knows (so that the
// parser can tell "not supported here" from "no such filter").
#include <string>
#include <string_view>

#include "jinja/ast.h"

namespace gemma::jinja {

/// The implementation of a filter or test, or null.
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);
/// Whether transformers' jinja2 environment has the filter or test.
bool jinja_has_filter(std::string_view name);
bool jinja_has_test(std::string_view name);

/// Calls a filter or test with its arguments bound; a null `fn` fails as "not supported" for a
/// name jinja2 knows and as jinja2's "No filter/test named" error otherwise.
Value apply_filter(FilterFn fn, const std::string& name, const Value& operand, CallArgs args);
bool apply_test(TestFn fn, const std::string& name, const Value& operand, CallArgs args);

}  // namespace gemma::jinja
