#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "gemma/error.h"
#include "gemma/model_info.h"

namespace gemma::cli {

namespace {

struct InfoOptions {
  std::string model;
  bool check_weights = false;
};

// Fails naming the tensors: a model with NaN/Inf weights produces NaN logits.
void check_weights(const std::string& model) {
  const auto bad = find_non_finite_weights(model);
  if (bad.empty()) {
    std::cout << "weights: every value is finite\n";
    return;
  }
  std::vector<std::string> names;
  for (const auto& t : bad) {
    if (names.size() == 10) {
      names.push_back(fmt::format("and {} more", bad.size() - 10));
      break;
    }
    names.push_back(
        fmt::format("{} ({} NaN, {} infinite of {} values)", t.name, t.nan, t.inf, t.values));
  }
  throw WeightError(fmt::format("{}: {} tensors hold NaN or infinite values: {}", model, bad.size(),
                                fmt::join(names, ", ")));
}

}  // namespace

Action add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a model's configuration and parameter counts");
  auto o = std::make_shared<InfoOptions>();
  cmd->add_option("--model", o->model, "Model directory (config.json + safetensors)")->required();
  cmd->add_flag("--check-weights", o->check_weights,
                "Also read every weight and fail if any is NaN or infinite");
  return [cmd, o]() -> int {
    if (!*cmd) return -1;
    std::cout << describe(inspect_model(o->model));
    if (o->check_weights) check_weights(o->model);
    return 0;
  };
}

}  // namespace gemma::cli
