#pragma once
/// Options of one generate() call, as transformers' GenerationConfig: every field left unset takes
/// the model's generation_config.json value, then transformers' default.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gemma/config.h"
#include "gemma/export.h"

namespace gemma {

struct GenerationConfig {
  /// Default: generation_config's max_new_tokens, else its max_length minus the prompt length.
  std::optional<int64_t> max_new_tokens = {};
  std::optional<bool> do_sample = {};  ///< false: greedy (argmax)
  std::optional<double> temperature = {};
  std::optional<int64_t> top_k = {};  ///< 0 disables
  std::optional<double> top_p = {};   ///< 1.0 disables
  std::optional<double> min_p = {};
  std::optional<double> repetition_penalty = {};  ///< 1.0 disables; > 1 discourages repeats
  std::optional<uint64_t> seed = {};  ///< same seed, same prompt, same device → same output
  /// Token ids that end a sequence; default: generation_config's eos_token_id (Gemma 3n: <eos> and
  /// <end_of_turn>).
  std::optional<std::vector<int64_t>> eos_token_ids = {};
  std::vector<std::string> stop_strings = {};  ///< generation ends once the new text contains one
};

/// A GenerationConfig with every value decided.
struct ResolvedGeneration {
  int64_t max_new_tokens = 20;
  bool do_sample = false;
  double temperature = 1.0;
  int64_t top_k = 50;
  double top_p = 1.0;
  std::optional<double> min_p;
  double repetition_penalty = 1.0;
  std::optional<uint64_t> seed;
  std::vector<int64_t> eos_token_ids;
  int64_t pad_token_id = 0;
  std::vector<std::string> stop_strings;
};

/// Merges `call` over `defaults` the way transformers merges generate() kwargs over the model's
/// generation_config; `prompt_tokens` serves the max_length fallback. InvalidArgumentError for
/// impossible values (temperature ≤ 0 when sampling, top_p outside (0, 1], ...).
GEMMA_API ResolvedGeneration resolve_generation(const GenerationConfig& call,
                                                const GenerationDefaults& defaults,
                                                int64_t prompt_tokens);

}  // namespace gemma
