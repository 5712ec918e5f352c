// The Jinja interpreter on arbitrary templates and variables: the input is template text, then a
// 0 byte, then a JSON object of variables (absent: none). Parsing and rendering either succeed or
// throw gemma::Error; the budgets below keep every input to milliseconds, so a hang or an
// allocation past them is a bug.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "gemma/chat_template.h"
#include "gemma/error.h"
#include "jinja/jinja.h"
#include "util/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view source = input.substr(0, nul);
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  if (nul != std::string_view::npos) {
    try {
      context = gemma::util::parse_json<gemma::InvalidArgumentError, nlohmann::ordered_json>(
          input.substr(nul + 1), "context");
    } catch (const gemma::Error&) {
      return 0;  // not JSON: nothing to learn about the interpreter
    }
  }
  gemma::TemplateLimits limits;
  limits.max_output_bytes = std::size_t{1} << 20;
  limits.max_work = 2'000'000;
  try {
    gemma::jinja::Template::parse(source, "fuzz template").render(context, limits);
  } catch (const gemma::Error&) {
    // The expected outcome for a bad template, a failing one or one over budget.
  }
  return 0;
}
