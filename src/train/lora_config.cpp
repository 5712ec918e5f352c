#include "train/lora_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <regex>
#include <string>

#include "gemma/error.h"
#include "io/json_fields.h"
#include "util/files.h"

namespace gemma {

double LoraConfig::scaling() const {
  const auto rank = static_cast<double>(r);
  return lora_alpha / (use_rslora ? std::sqrt(rank) : rank);
}

namespace train {

namespace {

using nlohmann::json;

// The PEFT release whose adapter_config.json format this mirrors.
constexpr std::string_view kPeftVersion = "0.21.2";
constexpr std::string_view kAllLinear = "all-linear";

bool is_all_linear(std::string_view value) {
  return std::equal(
      value.begin(), value.end(), kAllLinear.begin(), kAllLinear.end(),
      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

// PEFT's rule for lists: the full name, or a suffix starting at a "." boundary.
bool matches_name_list(const std::vector<std::string>& names, std::string_view module) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& name) {
    return module == name || (module.size() > name.size() && module.ends_with(name) &&
                              module[module.size() - name.size() - 1] == '.');
  });
}

// libstdc++'s std::regex compiler recurses once per term and per group (about 450 bytes and 1.4 KB
// of stack under AddressSanitizer: 20,000 characters or 6,000 nested groups overflow 8 MB), and
// reads a repeat count or back-reference into a long that overflows past 18 digits (undefined
// behaviour) before cutting it to an int. Patterns beyond these bounds are refused before it sees
// them; PEFT's are a few dozen characters with one-digit counts.
constexpr size_t kMaxRegexChars = 1024;
constexpr size_t kMaxRegexDigits = 9;

std::optional<std::string> regex_problem(std::string_view pattern) {
  if (pattern.size() > kMaxRegexChars) {
    return fmt::format("is longer than {} characters ({})", kMaxRegexChars, pattern.size());
  }
  size_t digits = 0;
  for (const char c : pattern) {
    digits = std::isdigit(static_cast<unsigned char>(c)) ? digits + 1 : 0;
    if (digits > kMaxRegexDigits) {
      return fmt::format("has a number of more than {} digits", kMaxRegexDigits);
    }
  }
  return std::nullopt;
}

// re.fullmatch.
bool matches_regex(const std::string& pattern, std::string_view module) {
  if (const auto problem = regex_problem(pattern)) {
    throw InvalidArgumentError(fmt::format("LoRA module regex \"{}{}\" cannot be used: {}",
                                           pattern.substr(0, 60), pattern.size() > 60 ? "..." : "",
                                           *problem));
  }
  try {
    return std::regex_match(module.begin(), module.end(), std::regex(pattern));
  } catch (const std::regex_error& e) {
    throw InvalidArgumentError(
        fmt::format("LoRA module regex \"{}\" cannot be used: {}", pattern, e.what()));
  }
}

void check_regex(const io::JsonValue& value) {
  const std::string pattern = value.as_string();
  if (const auto problem = regex_problem(pattern)) value.fail(*problem);
  try {
    std::regex{pattern};
  } catch (const std::regex_error& e) {
    value.fail(fmt::format("is not a regex std::regex (ECMAScript) accepts: {}", e.what()));
  }
}

[[noreturn]] void refuse(const io::JsonObject& o, std::string_view key, std::string_view what) {
  throw UnsupportedError(fmt::format("{}: {}: {} is not supported (plain LoRA only)", o.source(),
                                     o.path_of(key), what));
}

void refuse_if_true(const io::JsonObject& o, std::string_view key, std::string_view what) {
  if (o.get_bool(key, false)) refuse(o, key, what);
}

// PEFT treats null, false, [] and {} as "not used".
void refuse_if_set(const io::JsonObject& o, std::string_view key, std::string_view what) {
  if (!o.has(key)) return;
  const json& value = o.at(key).raw();
  const bool unset = (value.is_boolean() && !value.get<bool>()) ||
                     ((value.is_array() || value.is_object()) && value.empty());
  if (!unset) refuse(o, key, what);
}

void check_supported(const io::JsonObject& o) {
  if (!o.has("peft_type")) o.fail("peft_type", "missing");
  if (const auto type = o.at("peft_type").as_string(); type != "LORA") {
    refuse(o, "peft_type", fmt::format("PEFT method \"{}\"", type));
  }
  if (const auto bias = o.get_string("bias", "none"); bias != "none") {
    refuse(o, "bias", fmt::format("training biases (\"{}\")", bias));
  }
  refuse_if_true(o, "use_dora", "DoRA");
  refuse_if_true(o, "fan_in_fan_out", "a transposed (fan_in, fan_out) weight layout");
  refuse_if_true(o, "lora_bias", "a bias on LoRA B");
  refuse_if_true(o, "use_qalora", "QALoRA");
  refuse_if_set(o, "modules_to_save", "training whole modules beside the adapters");
  refuse_if_set(o, "layers_to_transform", "adapting only some layers");
  refuse_if_set(o, "rank_pattern", "a rank per module");
  refuse_if_set(o, "alpha_pattern", "an alpha per module");
  refuse_if_set(o, "target_parameters", "LoRA on parameters");
  refuse_if_set(o, "layer_replication", "layer replication");
  refuse_if_set(o, "trainable_token_indices", "training token embeddings");
  refuse_if_set(o, "alora_invocation_tokens", "activated LoRA (aLoRA)");
  for (const std::string_view variant :
       {"velora_config", "monteclora_config", "use_bdlora", "arrow_config", "kasa_config"}) {
    refuse_if_set(o, variant, "this LoRA variant");
  }
}

void read_targets(const io::JsonObject& o, LoraConfig& config) {
  if (!o.has("target_modules")) {
    refuse(o, "target_modules", "null (PEFT's per-architecture default)");
  }
  const io::JsonValue value = o.at("target_modules");
  if (value.raw().is_array()) {
    config.target_modules = value.as_string_list();
    return;
  }
  const std::string text = value.as_string();
  if (is_all_linear(text)) {
    config.all_linear = true;
    return;
  }
  check_regex(value);
  config.target_regex = text;
}

void read_excludes(const io::JsonObject& o, LoraConfig& config) {
  if (!o.has("exclude_modules")) return;
  const io::JsonValue value = o.at("exclude_modules");
  if (value.raw().is_array()) {
    config.exclude_modules = value.as_string_list();
    return;
  }
  check_regex(value);
  config.exclude_regex = value.as_string();
}

std::string nullable_string(const io::JsonObject& o, std::string_view key) {
  return o.has(key) ? o.at(key).as_string() : "";
}

json string_or_null(const std::string& value) {
  return value.empty() ? json(nullptr) : json(value);
}

// PEFT declares lora_alpha an int: 32 is written 32, not 32.0.
json alpha_json(double alpha) {
  if (alpha == std::trunc(alpha) && std::abs(alpha) < 0x1p53) return static_cast<int64_t>(alpha);
  return alpha;
}

json targets_json(const LoraConfig& config) {
  if (config.all_linear) return kAllLinear;
  if (config.target_regex) return *config.target_regex;
  auto names = config.target_modules;
  std::sort(names.begin(), names.end());
  return names;
}

json excludes_json(const LoraConfig& config) {
  if (config.exclude_regex) return *config.exclude_regex;
  if (config.exclude_modules.empty()) return nullptr;
  auto names = config.exclude_modules;
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace


bool matches_excluded(const LoraConfig& config, std::string_view module_name) {
  if (config.exclude_regex) return matches_regex(*config.exclude_regex, module_name);
  return matches_name_list(config.exclude_modules, module_name);
}

bool matches_target(const LoraConfig& config, std::string_view module_name) {
  if (matches_excluded(config, module_name)) return false;
  if (config.target_regex) return matches_regex(*config.target_regex, module_name);
  return matches_name_list(config.target_modules, module_name);
}

LoraConfig parse_adapter_config(const std::filesystem::path& file) {
  return parse_adapter_config_text(util::read_file(file), file.string());
}

LoraConfig parse_adapter_config_text(std::string_view text, std::string_view source) {
  const json doc = io::parse_json(text, source);
  const io::JsonObject o(doc, source, "");
  check_supported(o);
  LoraConfig config;
  config.r = o.get_int("r", config.r);
  // No layer of Gemma 3n is wider than 16384; a rank beyond 65536 only serves to allocate.
  if (config.r < 1 || config.r > 65536)
    o.fail("r", fmt::format("must be in [1, 65536], got {}", config.r));
  config.lora_alpha = o.get_double("lora_alpha", config.lora_alpha);
  config.lora_dropout = o.get_double("lora_dropout", config.lora_dropout);
  if (!(config.lora_dropout >= 0.0 && config.lora_dropout < 1.0)) {
    o.fail("lora_dropout", fmt::format("must be in [0, 1), got {}", config.lora_dropout));
  }
  config.use_rslora = o.get_bool("use_rslora", config.use_rslora);
  read_targets(o, config);
  read_excludes(o, config);
  config.base_model_name_or_path = nullable_string(o, "base_model_name_or_path");
  // PEFT's default task_type is None, not our CAUSAL_LM.
  config.task_type = nullable_string(o, "task_type");
  config.inference_mode = o.get_bool("inference_mode", config.inference_mode);
  return config;
}

std::string adapter_config_json(const LoraConfig& config) {
  const json doc = {
      {"alora_invocation_tokens", nullptr},
      {"alpha_pattern", json::object()},
      {"arrow_config", nullptr},
      {"auto_mapping", nullptr},
      {"base_model_name_or_path", string_or_null(config.base_model_name_or_path)},
      {"bias", "none"},
      {"corda_config", nullptr},
      {"ensure_weight_tying", false},
      {"eva_config", nullptr},
      {"exclude_modules", excludes_json(config)},
      {"fan_in_fan_out", false},
      {"inference_mode", config.inference_mode},
      {"init_lora_weights", true},
      {"kasa_config", nullptr},
      {"layer_replication", nullptr},
      {"layers_pattern", nullptr},
      {"layers_to_transform", nullptr},
      {"loftq_config", json::object()},
      {"lora_alpha", alpha_json(config.lora_alpha)},
      {"lora_bias", false},
      {"lora_dropout", config.lora_dropout},
      {"lora_ga_config", nullptr},
      {"megatron_config", nullptr},
      {"megatron_core", "megatron.core"},
      {"modules_to_save", nullptr},
      {"monteclora_config", nullptr},
      {"peft_type", "LORA"},
      {"peft_version", kPeftVersion},
      {"qalora_group_size", 16},
      {"r", config.r},
      {"rank_pattern", json::object()},
      {"revision", nullptr},
      {"target_modules", targets_json(config)},
      {"target_parameters", nullptr},
      {"task_type", string_or_null(config.task_type)},
      {"trainable_token_indices", nullptr},
      {"use_bdlora", nullptr},
      {"use_dora", false},
      {"use_qalora", false},
      {"use_rslora", config.use_rslora},
      {"velora_config", nullptr},
  };
  return doc.dump(2, ' ', true);
}

}  // namespace train
}  // namespace gemma
