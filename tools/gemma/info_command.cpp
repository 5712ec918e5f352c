#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "gemma/model_info.h"

namespace gemma::cli {

Action add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a model's configuration and parameter counts");
  auto model = std::make_shared<std::string>();
  cmd->add_option("--model", *model, "Model directory (config.json + safetensors)")->required();
  return [cmd, model]() -> int {
    if (!*cmd) return -1;
    std::cout << describe(inspect_model(*model));
    return 0;
  };
}

}  // namespace gemma::cli
