#pragma once
// A Jinja interpreter for chat templates: renders a template the way transformers does, i.e. with
// jinja2's ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
// extensions=[loopcontrols]) plus transformers' `tojson` filter and its `raise_exception`,
// `strftime_now`, `namespace` and `dict` globals. docs/jinja.md lists what is supported.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "gemma/chat_template.h"

namespace gemma::jinja {

struct Program;

/// A parsed template. Immutable and cheap to copy; render() may run concurrently.
class Template {
 public:
  /// Parses `source`. A syntax error or an unsupported tag throws ProcessorError
  /// "<name> line L, column C: <what>".
  static Template parse(std::string_view source, std::string name = "chat template");

  /// Renders with the variables of `context` (a JSON object; values become Python-like values:
  /// objects keep their key order). raise_exception(msg) throws ProcessorError whose message is
  /// exactly msg; any other failure throws ProcessorError naming the line and column.
  /// Budgets (`limits`) stop a runaway template with a ProcessorError naming the limit.
  std::string render(const nlohmann::ordered_json& context,
                     const TemplateLimits& limits = {}) const;

 private:
  explicit Template(std::shared_ptr<const Program> program) : program_(std::move(program)) {}

  std::shared_ptr<const Program> program_;
};

}  // namespace gemma::jinja
