#include "gemma/generation_config.h"

#include <fmt/format.h>

#include "gemma/error.h"

namespace gemma {
namespace {

void require(bool ok, const std::string& problem) {
  if (!ok) throw InvalidArgumentError("generation config: " + problem);
}

// transformers 5 reads "hybrid" as unset (the dynamic cache): the Gemma 3n checkpoints carry it
// from when models with sliding layers were forced onto a static cache (transformers #40039).
std::string resolve_cache_implementation(const std::string& name) {
  if (name.empty() || name == "hybrid") return "dynamic";
  require(name == "dynamic" || name == "static",
          fmt::format("cache_implementation \"{}\" is not supported: use \"dynamic\" or \"static\"",
                      name));
  return name;
}

}  // namespace

ResolvedGeneration resolve_generation(const GenerationConfig& call,
                                      const GenerationDefaults& defaults, int64_t prompt_tokens) {
  ResolvedGeneration r;
  // transformers' _prepare_generated_length: max_new_tokens wins; else generation_config's
  // max_length counts the prompt; with no max_length at all, 20 new tokens.
  constexpr int64_t kDefaultNewTokens = 20;
  r.max_new_tokens = call.max_new_tokens.value_or(defaults.max_new_tokens.value_or(
      defaults.max_length ? *defaults.max_length - prompt_tokens : kDefaultNewTokens));
  r.do_sample = call.do_sample.value_or(defaults.do_sample);
  r.temperature = call.temperature.value_or(defaults.temperature);
  r.top_k = call.top_k.value_or(defaults.top_k);
  r.top_p = call.top_p.value_or(defaults.top_p);
  r.min_p = call.min_p ? call.min_p : defaults.min_p;
  r.repetition_penalty = call.repetition_penalty.value_or(defaults.repetition_penalty);
  r.seed = call.seed;
  r.eos_token_ids = call.eos_token_ids.value_or(defaults.eos_token_id);
  // transformers pads finished rows with pad_token_id, falling back to the first EOS id.
  r.pad_token_id = defaults.pad_token_id.value_or(r.eos_token_ids.empty() ? 0 : r.eos_token_ids[0]);
  r.stop_strings = call.stop_strings;
  r.cache_implementation = resolve_cache_implementation(
      call.cache_implementation.value_or(defaults.cache_implementation));

  require(
      r.max_new_tokens > 0,
      fmt::format("max_new_tokens must be positive, got {} (prompt of {} tokens, max_length {})",
                  r.max_new_tokens, prompt_tokens, defaults.max_length.value_or(0)));
  require(r.repetition_penalty > 0,
          fmt::format("repetition_penalty must be > 0, got {}", r.repetition_penalty));
  if (r.do_sample) {
    require(r.temperature > 0, fmt::format("temperature must be > 0, got {}", r.temperature));
    require(r.top_k >= 0, fmt::format("top_k must be >= 0, got {}", r.top_k));
    require(r.top_p > 0 && r.top_p <= 1, fmt::format("top_p must be in (0, 1], got {}", r.top_p));
    require(!r.min_p || (*r.min_p >= 0 && *r.min_p <= 1),
            fmt::format("min_p must be in [0, 1], got {}", r.min_p.value_or(0)));
  }
  for (const auto& s : r.stop_strings) require(!s.empty(), "stop strings must not be empty");
  return r;
}

}  // namespace gemma
