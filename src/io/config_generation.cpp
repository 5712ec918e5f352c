#include "io/config_parse.h"

namespace gemma {

namespace fs = std::filesystem;
// The checks, loaders and readers shared by the config files (io/config_parse.h).
using namespace io;

GenerationDefaults io::read_generation_defaults(const JsonObject& o) {
  GenerationDefaults g;
  g.max_length = o.get_nullable_int("max_length", g.max_length);
  g.max_new_tokens = o.get_nullable_int("max_new_tokens", g.max_new_tokens);
  g.do_sample = o.get_bool("do_sample", g.do_sample);
  g.temperature = o.get_double("temperature", g.temperature);
  // transformers skips the top-k warper for None, which 0 means here.
  g.top_k = o.get_nullable_int("top_k", g.top_k).value_or(0);
  g.top_p = o.get_double("top_p", g.top_p);
  g.min_p = o.get_nullable_double("min_p", g.min_p);
  g.repetition_penalty = o.get_double("repetition_penalty", g.repetition_penalty);
  g.bos_token_id = o.get_nullable_int("bos_token_id", g.bos_token_id);
  g.eos_token_id = o.get_token_ids("eos_token_id", g.eos_token_id);
  g.pad_token_id = o.get_nullable_int("pad_token_id", g.pad_token_id);
  g.cache_implementation = o.get_string("cache_implementation", g.cache_implementation);
  return g;
}

void GenerationDefaults::validate(std::string_view source) const {
  const Checker check(source, "");
  if (max_length) check.positive("max_length", *max_length);
  if (max_new_tokens) check.positive("max_new_tokens", *max_new_tokens);
  check.non_negative("temperature", temperature);
  check.non_negative("top_k", top_k);
  if (!(top_p >= 0.0 && top_p <= 1.0)) {
    check.fail("top_p", fmt::format("must be in [0, 1], got {}", top_p));
  }
  if (min_p && !(*min_p >= 0.0 && *min_p <= 1.0)) {
    check.fail("min_p", fmt::format("must be in [0, 1], got {}", *min_p));
  }
  check.positive("repetition_penalty", repetition_penalty);
  if (bos_token_id) check.non_negative("bos_token_id", *bos_token_id);
  if (pad_token_id) check.non_negative("pad_token_id", *pad_token_id);
  for (size_t i = 0; i < eos_token_id.size(); ++i) {
    check.non_negative(io::index_path("eos_token_id", i), eos_token_id[i]);
  }
}

GenerationDefaults parse_generation_defaults(std::string_view json_text,
                                             std::string_view source_name) {
  return parse_flat<GenerationDefaults>(json_text, source_name, read_generation_defaults);
}

GenerationDefaults load_generation_defaults(const fs::path& model_dir) {
  const auto loaded = load_optional_json(model_dir / "generation_config.json");
  if (!loaded) return {};
  GenerationDefaults config = read_generation_defaults(JsonObject(loaded->doc, loaded->source, ""));
  config.validate(loaded->source);
  return config;
}

}  // namespace gemma
