#pragma once
// One way to parse JSON from untrusted files and requests: nesting is bounded before nlohmann's
// parser builds anything (dumping or walking a million-deep document would overflow the stack),
// and every failure, numbers out of range (1e400) included, becomes the caller's gemma::Error
// naming the source.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace gemma::util {

/// Deeper JSON is refused (Python's json module stops near 1000 levels; no config or message
/// nests beyond ten).
inline constexpr std::size_t kMaxJsonDepth = 512;

/// A message when `text` nests deeper than kMaxJsonDepth (brackets outside strings), else nullopt.
std::optional<std::string> json_depth_problem(std::string_view text);

/// nlohmann's message without its "[json.exception.parse_error.101] " tag.
std::string json_error_message(const nlohmann::json::exception& e);

/// Parses `text`; throws `Error("<source>: invalid JSON: <problem>")` on failure. `Json` is
/// nlohmann::json or nlohmann::ordered_json; `callback` is nlohmann's parser callback.
template <class Error, class Json = nlohmann::json>
Json parse_json(std::string_view text, std::string_view source,
                typename Json::parser_callback_t callback = nullptr) {
  std::string problem;
  if (auto depth = json_depth_problem(text)) {
    problem = std::move(*depth);
  } else {
    try {
      return Json::parse(text.begin(), text.end(), callback);
    } catch (const typename Json::exception& e) {
      problem = json_error_message(e);
    }
  }
  throw Error(std::string(source) + ": invalid JSON: " + problem);
}

}  // namespace gemma::util
