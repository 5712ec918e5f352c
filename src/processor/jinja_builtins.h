#pragma once
// The filters and tests the interpreter implements, and the names jinja2 knows (so that the
// parser can tell "not supported here" from "no such filter").
#include <string_view>

#include "processor/jinja_ast.h"

namespace gemma::jinja {

/// The implementation of a filter or test, or null.
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);
/// Whether transformers' jinja2 environment has the filter or test.
bool jinja_has_filter(std::string_view name);
bool jinja_has_test(std::string_view name);

}  // namespace gemma::jinja
