#pragma once
// What the config readers of io/config_*.cpp share: value checks that name the file and the JSON
// path, the JSON file loaders, and each part's reader (one file per tower).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "gemma/config.h"
#include "gemma/error.h"
#include "io/json_fields.h"

namespace gemma::io {

inline constexpr std::string_view kGemma3n = "gemma3n";
inline constexpr std::string_view kGemma3nText = "gemma3n_text";
// Bounds on sizes that allocate per layer or per frame: beyond them a value is a typo, and
// honouring it would exhaust memory before any shape check could fire.
inline constexpr int64_t kMaxLayers = 4096;
inline constexpr int64_t kMaxFrameSamples = int64_t{1} << 24;

class Checker {
 public:
  Checker(std::string_view source, std::string_view json_path)
      : source_(source), json_path_(json_path) {}

  std::string path(std::string_view field) const { return join_path(json_path_, field); }

  [[noreturn]] void fail(std::string_view field, std::string_view message) const {
    fail_config(source_, path(field), message);
  }

  template <typename T>
  void positive(std::string_view field, T value) const {
    if (!(value > 0)) fail(field, fmt::format("must be > 0, got {}", value));
  }

  template <typename T>
  void non_negative(std::string_view field, T value) const {
    if (!(value >= 0)) fail(field, fmt::format("must be >= 0, got {}", value));
  }

  template <typename T>
  void at_most(std::string_view field, T value, T limit) const {
    if (value > limit) fail(field, fmt::format("must be <= {}, got {}", limit, value));
  }

  // Dropout rates and sparsities: a value of 1 would drop or zero everything.
  void probability(std::string_view field, double value) const {
    if (!(value >= 0.0 && value < 1.0)) {
      fail(field, fmt::format("must be in [0, 1), got {}", value));
    }
  }

  void length(std::string_view field, size_t actual, int64_t expected,
              std::string_view expected_name) const {
    if (static_cast<int64_t>(actual) != expected) {
      fail(field, fmt::format("has {} entries, expected {} = {}", actual, expected_name, expected));
    }
  }

  void token_id(std::string_view field, int64_t id, int64_t vocab_size,
                std::string_view vocab_name) const {
    if (id < 0 || id >= vocab_size) {
      fail(field, fmt::format("token id {} is outside [0, {} = {})", id, vocab_name, vocab_size));
    }
  }

  void one_of(std::string_view field, const std::string& value,
              std::initializer_list<std::string_view> allowed) const {
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
    fail(field, fmt::format("\"{}\" is not one of \"{}\"", value, fmt::join(allowed, "\", \"")));
  }

 private:
  std::string_view source_;
  std::string_view json_path_;
};

// A parsed JSON file and how messages name it (its path).
struct LoadedJson {
  std::string source;
  Json doc;
};

std::optional<LoadedJson> load_optional_json(const std::filesystem::path& path);
LoadedJson load_required_json(const std::filesystem::path& path);

// processor_config.json's nested `section` (5.x) if it has one, else the flat
// preprocessor_config.json (4.5x), else nothing.
template <typename Read>
auto load_processor_section(const std::filesystem::path& dir, std::string_view section, Read read)
    -> std::optional<decltype(read(std::declval<const JsonObject&>()))> {
  if (const auto processor = load_optional_json(dir / "processor_config.json")) {
    const JsonObject root(processor->doc, processor->source, "");
    if (const auto nested = root.child(section)) {
      auto config = read(*nested);
      config.validate(processor->source, section);
      return config;
    }
  }
  if (const auto flat = load_optional_json(dir / "preprocessor_config.json")) {
    auto config = read(JsonObject(flat->doc, flat->source, ""));
    config.validate(flat->source, "");
    return config;
  }
  return std::nullopt;
}

template <typename Config, typename Read>
Config parse_flat(std::string_view json_text, std::string_view source_name, Read read) {
  const Json doc = parse_json(json_text, source_name);
  Config config = read(JsonObject(doc, source_name, ""));
  config.validate(source_name);
  return config;
}

// The readers of each part (no validation: the callers validate where the file is known).
TextConfig read_text_config(const JsonObject& o);
VisionConfig read_vision_config(const JsonObject& o);
AudioConfig read_audio_config(const JsonObject& o);
ModelConfig read_model_config(const JsonObject& root);
GenerationDefaults read_generation_defaults(const JsonObject& o);
ImageProcessorConfig read_image_processor(const JsonObject& o);
AudioFeatureConfig read_audio_features(const JsonObject& o);
ProcessorConfig read_processor_config(const JsonObject& o);
TokenizerConfig read_tokenizer_config(const JsonObject& o);
// special_tokens_map.json's keys, applied over a tokenizer config.
void read_special_tokens(const JsonObject& o, TokenizerConfig& c);
// chat_template.jinja, else chat_template.json, else the tokenizer config's template, into `files`
// (whose tokenizer config is loaded already).
void load_chat_template(const std::filesystem::path& dir, ModelFiles& files);

}  // namespace gemma::io
