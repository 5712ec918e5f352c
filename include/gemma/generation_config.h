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

/// A plain value; designated initialisers read like generate() kwargs:
/// `{.max_new_tokens = 128, .do_sample = true, .temperature = 0.7, .top_p = 0.9}`.
/// Setting temperature, top_k, top_p or min_p does not turn sampling on: do_sample does (as in
/// transformers; Gemma 3n IT checkpoints sample by default).
struct GenerationConfig {
  /// Default: generation_config's max_new_tokens, else its max_length minus the prompt length,
  /// else (no max_length in generation_config.json) 20, as transformers.
  std::optional<int64_t> max_new_tokens = {};
  std::optional<bool> do_sample = {};      ///< false: greedy (argmax)
  std::optional<double> temperature = {};  ///< logits divisor when sampling; > 0
  std::optional<int64_t> top_k = {};       ///< 0 disables
  std::optional<double> top_p = {};        ///< 1.0 disables
  std::optional<double> min_p = {};  ///< in [0, 1]: drop tokens below min_p × the top probability
  std::optional<double> repetition_penalty = {};  ///< 1.0 disables; > 1 discourages repeats
  /// Same seed, same prompt, same device → same output (sampling draws on the CPU with torch's
  /// generator: transformers' tokens on the CPU after torch.manual_seed). Unset: a fresh random
  /// seed per call.
  std::optional<uint64_t> seed = {};
  /// Token ids that end a sequence; default: generation_config's eos_token_id (Gemma 3n: <eos> and
  /// <end_of_turn>).
  std::optional<std::vector<int64_t>> eos_token_ids = {};
  std::vector<std::string> stop_strings = {};  ///< generation ends once the new text contains one
  /// The KV cache: "dynamic" (default) grows with the tokens generated; "static" (transformers'
  /// StaticCache) is allocated for prompt + max_new_tokens before prefill and keeps its shapes from
  /// step to step, as CUDA graphs need (on the CPU it is slower: attention reads the whole
  /// capacity). Default: generation_config's, where "hybrid" reads as "dynamic" as in
  /// transformers 5. ContinuousBatcher manages its own caches and refuses "static".
  std::optional<std::string> cache_implementation = {};
};

/// A GenerationConfig with every value decided (what generate() runs with); fields mean what the
/// GenerationConfig fields of the same name mean.
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
  int64_t pad_token_id = 0;  ///< fills finished rows: generation_config's, else the first EOS id
  std::vector<std::string> stop_strings;
  std::string cache_implementation = "dynamic";  ///< "dynamic" or "static"
};

/// Merges `call` over `defaults` the way transformers merges generate() kwargs over the model's
/// generation_config; `prompt_tokens` serves the max_length fallback. InvalidArgumentError for
/// impossible values (temperature ≤ 0 when sampling, top_p outside (0, 1], ...).
GEMMA_API ResolvedGeneration resolve_generation(const GenerationConfig& call,
                                                const GenerationDefaults& defaults,
                                                int64_t prompt_tokens);

}  // namespace gemma
