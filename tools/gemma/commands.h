#pragma once
// Each subcommand registers its options on the app and returns the action to run if selected.
#include <functional>

#include <CLI/CLI.hpp>

namespace gemma::cli {

using Action = std::function<int()>;

Action add_info_command(CLI::App& app);
Action add_template_command(CLI::App& app);
Action add_tokenize_command(CLI::App& app);
Action add_run_command(CLI::App& app);

}  // namespace gemma::cli
