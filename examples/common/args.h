#pragma once
// Command-line options shared by the example programs: `--name value`, `--name=value` and bare
// `--flag`, plus the options every example understands (--model, --device, --dtype and the
// sampling knobs of transformers' generate()). Kept tiny on purpose: the examples are about gemma.
#include <gemma/generation_config.h>
#include <gemma/model.h>
#include <gemma/pipeline.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace examples {

class Args {
 public:
  /// Throws gemma::InvalidArgumentError for an argument that is not an option.
  Args(int argc, char** argv);

  std::string text(std::string_view name, std::string_view fallback) const;
  std::optional<std::string> optional_text(std::string_view name) const;
  /// Every value of an option given several times, in order; `fallback` when it is absent.
  std::vector<std::string> texts(std::string_view name, std::vector<std::string> fallback) const;
  int64_t integer(std::string_view name, int64_t fallback) const;
  std::optional<int64_t> optional_integer(std::string_view name) const;
  double number(std::string_view name, double fallback) const;
  std::optional<double> optional_number(std::string_view name) const;
  bool flag(std::string_view name) const;

  /// Throws gemma::InvalidArgumentError naming any option nothing asked for, so that a misspelt
  /// option fails loudly instead of being ignored. Call after reading every option.
  void reject_unknown() const;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> given_;
  mutable std::set<std::string, std::less<>> asked_;
};

/// --model: a model directory or a hub id (default: the bundled random-weight tiny model, relative
/// to the repository root).
std::string model_id(const Args& args);

/// --device (cpu, cuda, cuda:N) and --dtype (float32, bfloat16).
gemma::PipelineOptions pipeline_options(const Args& args);
gemma::ModelOptions model_options(const Args& args);

/// `recipe` (the values the Python recipe passes to generate()) overridden by --max-new-tokens,
/// --temperature, --top-p, --top-k, --seed and --greedy.
gemma::GenerationConfig generation_config(const Args& args, gemma::GenerationConfig recipe);

}  // namespace examples
