#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gemma/error.h"
#include "support/paths.h"
#include "train/lora_config.h"
#include "util/files.h"

using Catch::Contains;
using gemma::train::adapter_config_json;
using gemma::train::LoraConfig;
using gemma::train::matches_target;
using gemma::train::parse_adapter_config;
using nlohmann::json;

namespace {

// PEFT 0.21.2: LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["q_proj",
// "v_proj"], task_type="CAUSAL_LM").save_pretrained, from scripts/fixtures/train_misc.py.
std::filesystem::path golden_path() {
  return gemma::test::data_dir() / "golden" / "train" / "peft_adapter_config.json";
}

LoraConfig golden_config() {
  LoraConfig config;
  config.r = 16;
  config.lora_alpha = 32;
  config.lora_dropout = 0.05;
  config.target_modules = {"v_proj", "q_proj"};
  return config;
}

std::filesystem::path write_config(const std::string& name, const json& doc) {
  const auto path = gemma::test::scratch_dir(name) / "adapter_config.json";
  std::ofstream(path) << doc.dump(2);
  return path;
}

// The golden file with `key` set to `value`.
std::filesystem::path golden_with(const std::string& name, const std::string& key,
                                  const json& value) {
  json doc = json::parse(gemma::util::read_file(golden_path()));
  doc[key] = value;
  return write_config(name, doc);
}

LoraConfig parse_with(const std::string& key, const json& value) {
  return parse_adapter_config(golden_with("train_lora_" + key, key, value));
}

}  // namespace

TEST_CASE("parse_adapter_config reads PEFT's adapter_config.json", "[train][lora_config]") {
  const LoraConfig config = parse_adapter_config(golden_path());
  CHECK(config.r == 16);
  CHECK(config.lora_alpha == 32);
  CHECK(config.lora_dropout == 0.05);
  CHECK(config.target_modules == std::vector<std::string>{"q_proj", "v_proj"});
  CHECK_FALSE(config.target_regex);
  CHECK_FALSE(config.all_linear);
  CHECK_FALSE(config.use_rslora);
  CHECK(config.task_type == "CAUSAL_LM");
  CHECK(config.base_model_name_or_path.empty());
  CHECK(config.exclude_modules.empty());
  CHECK_FALSE(config.exclude_regex);
  CHECK_FALSE(config.inference_mode);
  CHECK(config.scaling() == 2.0);
}

TEST_CASE("adapter_config_json writes what PEFT writes", "[train][lora_config]") {
  const std::string ours = adapter_config_json(golden_config());
  const std::string peft = gemma::util::read_file(golden_path());
  CHECK(json::parse(ours) == json::parse(peft));
  // The same bytes too: indent 2, sorted keys, no final newline.
  CHECK(ours == peft);
}

TEST_CASE("every LoRA field round trips through adapter_config.json", "[train][lora_config]") {
  LoraConfig config;
  config.r = 4;
  config.lora_alpha = 6.5;
  config.use_rslora = true;
  config.base_model_name_or_path = "google/gemma-3n-E2B-it";
  config.task_type = "";
  config.inference_mode = true;
  SECTION("lists") {
    config.target_modules = {"o_proj", "down_proj"};
    config.exclude_modules = {"vision_tower"};
  }
  SECTION("regexes") {
    config.target_regex = R"(.*\.layers\.\d+\.self_attn\.(q|v)_proj)";
    config.exclude_regex = R"(.*audio.*)";
  }
  SECTION("all-linear") { config.all_linear = true; }
  const std::string text = adapter_config_json(config);
  const LoraConfig back =
      parse_adapter_config(write_config("train_lora_round_trip", json::parse(text)));
  CHECK(back.r == config.r);
  CHECK(back.lora_alpha == config.lora_alpha);
  CHECK(back.use_rslora);
  CHECK(back.base_model_name_or_path == config.base_model_name_or_path);
  CHECK(back.task_type.empty());
  CHECK(back.inference_mode);
  CHECK(back.all_linear == config.all_linear);
  CHECK(back.target_regex == config.target_regex);
  CHECK(back.exclude_regex == config.exclude_regex);
  CHECK(back.exclude_modules == config.exclude_modules);
  auto sorted = config.target_modules;
  std::sort(sorted.begin(), sorted.end());
  CHECK(back.target_modules == sorted);
  CHECK(back.scaling() == Approx(6.5 / 2.0));
  CHECK(adapter_config_json(back) == text);
}

TEST_CASE("all-linear is recognised in any case", "[train][lora_config]") {
  CHECK(parse_with("target_modules", "ALL-Linear").all_linear);
  CHECK(json::parse(adapter_config_json(
            parse_with("target_modules", "all-linear")))["target_modules"] == "all-linear");
}

TEST_CASE("target_modules match as PEFT matches them", "[train][lora_config]") {
  LoraConfig config;
  config.target_modules = {"q_proj", "self_attn.v_proj"};
  CHECK(matches_target(config, "model.layers.0.self_attn.q_proj"));
  CHECK(matches_target(config, "q_proj"));
  CHECK(matches_target(config, "model.layers.0.self_attn.v_proj"));
  CHECK_FALSE(matches_target(config, "model.layers.0.self_attn.xq_proj"));
  CHECK_FALSE(matches_target(config, "model.layers.0.cross_attn_v_proj"));
  CHECK_FALSE(matches_target(config, "model.layers.0.q_proj.lora_A"));
  CHECK_FALSE(matches_target(config, "model.layers.0.self_attn.k_proj"));

  config.exclude_modules = {"layers.1.self_attn.q_proj"};
  CHECK(matches_target(config, "model.layers.0.self_attn.q_proj"));
  CHECK_FALSE(matches_target(config, "model.layers.1.self_attn.q_proj"));
  CHECK(gemma::train::matches_excluded(config, "model.layers.1.self_attn.q_proj"));
  CHECK_FALSE(gemma::train::matches_excluded(config, "model.layers.11.self_attn.q_proj"));

  config.exclude_modules.clear();
  config.exclude_regex = R"(.*\.layers\.[0-4]\..*)";
  CHECK_FALSE(matches_target(config, "model.layers.3.self_attn.q_proj"));
  CHECK(matches_target(config, "model.layers.13.self_attn.q_proj"));
}

TEST_CASE("a target regex must match the whole name", "[train][lora_config]") {
  LoraConfig config;
  config.target_regex = R"(.*\.(q|v)_proj)";
  CHECK(matches_target(config, "model.layers.0.self_attn.q_proj"));
  CHECK_FALSE(matches_target(config, "model.layers.0.self_attn.q_proj.lora_A"));
  CHECK_FALSE(matches_target(config, "model.layers.0.self_attn.k_proj"));
  config.target_regex = "q_proj";
  CHECK_FALSE(matches_target(config, "model.layers.0.self_attn.q_proj"));
  config.target_regex.emplace("(");
  CHECK_THROWS_AS(matches_target(config, "q_proj"), gemma::InvalidArgumentError);
}

TEST_CASE("adapter configs beyond plain LoRA are refused", "[train][lora_config]") {
  const std::vector<std::pair<std::string, json>> unsupported = {
      {"peft_type", "LOHA"},
      {"use_dora", true},
      {"bias", "lora_only"},
      {"fan_in_fan_out", true},
      {"modules_to_save", {"lm_head"}},
      {"layers_to_transform", 3},
      {"layers_to_transform", {0, 1}},
      {"rank_pattern", {{"q_proj", 4}}},
      {"alpha_pattern", {{"q_proj", 4}}},
      {"target_parameters", {"experts.down_proj"}},
      {"lora_bias", true},
      {"use_qalora", true},
      {"layer_replication", {{0, 2}}},
      {"trainable_token_indices", {1, 2}},
      {"alora_invocation_tokens", {5}},
      {"kasa_config", json::object({{"a", 1}})},
      {"target_modules", nullptr},
  };
  for (const auto& [key, value] : unsupported) {
    INFO(key << " = " << value.dump());
    const auto path = golden_with("train_lora_refused", key, value);
    CHECK_THROWS_AS(parse_adapter_config(path), gemma::UnsupportedError);
    CHECK_THROWS_WITH(parse_adapter_config(path), Contains(path.string()) && Contains(key));
  }
  // PEFT's "not used" spellings.
  const std::vector<std::pair<std::string, json>> unused = {
      {"modules_to_save", json::array()}, {"layers_to_transform", json::array()},
      {"rank_pattern", json::object()},   {"target_parameters", json::array()},
      {"init_lora_weights", "gaussian"},  {"loftq_config", json::object()},
      {"layers_pattern", nullptr},        {"trainable_token_indices", nullptr},
  };
  for (const auto& [key, value] : unused) {
    INFO(key << " = " << value.dump());
    CHECK_NOTHROW(parse_with(key, value));
  }
}

TEST_CASE("malformed adapter configs are ConfigErrors naming the field", "[train][lora_config]") {
  const std::vector<std::pair<std::string, json>> malformed = {
      {"r", 0},
      {"r", "16"},
      {"r", 16.5},
      {"lora_alpha", "32"},
      {"lora_dropout", 1.0},
      {"lora_dropout", -0.1},
      {"use_rslora", "yes"},
      {"use_dora", 1},
      {"target_modules", 3},
      {"target_modules", {"q_proj", 3}},
      {"target_modules", "(?P<name>q_proj)"},
      {"exclude_modules", "["},
      {"task_type", 1},
      {"peft_type", nullptr},
  };
  for (const auto& [key, value] : malformed) {
    INFO(key << " = " << value.dump());
    const auto path = golden_with("train_lora_malformed", key, value);
    CHECK_THROWS_AS(parse_adapter_config(path), gemma::ConfigError);
    CHECK_THROWS_WITH(parse_adapter_config(path), Contains(path.string()) && Contains(key));
  }
}
