#pragma once
// Each subcommand registers its options on the app and returns the action to run if selected.
#include <CLI/CLI.hpp>
#include <charconv>
#include <functional>
#include <limits>
#include <string>

namespace gemma::cli {

using Action = std::function<int()>;

/// An integer option checked before CLI11 converts it: CLI11 would clamp 2^64 + 1 to 2^64 - 1
/// without a word. Also bounds the value to [min, max].
template <class T>
CLI::Validator integer_in(T min, T max = std::numeric_limits<T>::max()) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        T value{};
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc::result_out_of_range ||
            (ec == std::errc() && (value < min || value > max)))
          return text + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]";
        if (ec != std::errc() || end != text.data() + text.size())
          return "'" + text + "' is not an integer";
        return {};
      },
      "INT");
}

Action add_info_command(CLI::App& app);
Action add_template_command(CLI::App& app);
Action add_tokenize_command(CLI::App& app);
Action add_run_command(CLI::App& app);
Action add_serve_command(CLI::App& app);
Action add_train_command(CLI::App& app, int argc, char** argv);
Action add_merge_command(CLI::App& app);

}  // namespace gemma::cli
