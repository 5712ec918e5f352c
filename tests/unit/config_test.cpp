#include "gemma/config.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gemma/error.h"
#include "io/vision_layout.h"
#include "support/paths.h"
#include "util/files.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using gemma::LayerType;
using gemma::MobileNetBlockKind;

// Both the type and the field named in the message matter: a user fixes the file from the message.
#define REQUIRE_CONFIG_ERROR(expr, fragment)              \
  do {                                                    \
    REQUIRE_THROWS_AS(expr, gemma::ConfigError);          \
    REQUIRE_THROWS_WITH(expr, Catch::Contains(fragment)); \
  } while (false)

fs::path e2b_dir() { return gemma::test::data_dir() / "configs" / "gemma-3n-E2B-it"; }
fs::path e4b_dir() { return gemma::test::data_dir() / "configs" / "gemma-3n-E4B-it"; }

Json read_json(const fs::path& path) { return Json::parse(gemma::util::read_file(path)); }

void write_json(const fs::path& path, const Json& doc) { std::ofstream(path) << doc.dump(2); }

gemma::ModelConfig parse_model(const Json& doc) {
  return gemma::parse_model_config(doc.dump(), "config.json");
}

Json e2b_config() { return read_json(e2b_dir() / "config.json"); }

// The 5.x spelling of a 4.5x config: rope_parameters, a scalar intermediate_size, "dtype".
Json to_5x_spelling(Json doc) {
  Json& text = doc["text_config"];
  text["rope_parameters"] = {
      {"full_attention", {{"rope_type", "default"}, {"rope_theta", text["rope_theta"]}}},
      {"sliding_attention",
       {{"rope_type", "default"}, {"rope_theta", text["rope_local_base_freq"]}}},
  };
  text["intermediate_size"] = text["intermediate_size"][0];
  for (const char* key : {"rope_theta", "rope_local_base_freq", "rope_scaling"}) text.erase(key);
  doc.erase("torch_dtype");
  doc["dtype"] = "bfloat16";
  return doc;
}

std::vector<int> kv_producers(const gemma::TextConfig& text) {
  std::vector<int> out;
  for (int layer = 0; layer < text.num_hidden_layers; ++layer) {
    out.push_back(text.kv_shared_layer_index(layer));
  }
  return out;
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// config.json
// -----------------------------------------------------------------------------------------------

TEST_CASE("E2B config.json (4.5x spelling) parses with the E2B values", "[unit][config]") {
  const gemma::ModelConfig m = gemma::load_model_config(e2b_dir());
  const gemma::TextConfig& t = m.text;
  CHECK(m.model_type == "gemma3n");
  CHECK(m.has_vision);
  CHECK(m.has_audio);
  CHECK(t.vocab_size == 262400);
  CHECK(t.vocab_size_per_layer_input == 262144);
  CHECK(t.hidden_size == 2048);
  CHECK(t.hidden_size_per_layer_input == 256);
  CHECK(t.num_hidden_layers == 30);
  CHECK(t.intermediate_size == std::vector<int64_t>(30, 8192));
  CHECK(t.num_attention_heads == 8);
  CHECK(t.num_key_value_heads == 2);
  CHECK(t.head_dim == 256);
  CHECK(t.hidden_activation == "gelu_pytorch_tanh");
  CHECK(t.max_position_embeddings == 32768);
  CHECK(t.rms_norm_eps == 1e-6);
  CHECK(t.pad_token_id == 0);
  CHECK(t.eos_token_id == std::vector<int64_t>{1});
  CHECK(t.bos_token_id == 2);
  CHECK(t.rope_type == "default");
  CHECK(t.rope_theta == 1e6);
  CHECK(t.rope_local_base_freq == 1e4);
  CHECK(t.sliding_window == 512);
  CHECK(t.final_logit_softcapping == 30.0);
  CHECK(t.altup_coef_clip == 120.0);
  CHECK(t.altup_num_inputs == 4);
  CHECK(t.num_kv_shared_layers == 10);
  CHECK(t.laurel_rank == 64);
  REQUIRE(t.layer_types.size() == 30);
  for (int i = 0; i < 30; ++i) {
    CHECK(t.layer_types[i] ==
          ((i + 1) % 5 == 0 ? LayerType::kFullAttention : LayerType::kSlidingAttention));
  }
  std::vector<double> sparsity(10, 0.95);
  sparsity.resize(30, 0.0);
  CHECK(t.activation_sparsity_pattern == sparsity);

  CHECK(m.audio == gemma::AudioConfig{});
  CHECK(m.vision.architecture == "mobilenetv5_300m_enc");
  CHECK(m.vision.do_pooling);  // 4.5x wrote true
  CHECK(m.vision.vocab_offset == 262144);
  CHECK(m.vision.layout == gemma::MobileNetLayout::mobilenetv5_300m());
  CHECK(m.eos_token_id == std::vector<int64_t>{1, 106});
  CHECK(m.boi_token_id == 255999);
  CHECK(m.eoi_token_id == 262144);
  CHECK(m.image_token_id == 262145);
  CHECK(m.boa_token_id == 256000);
  CHECK(m.eoa_token_id == 262272);
  CHECK(m.audio_token_id == 262273);
  CHECK(m.vision_soft_tokens_per_image == 256);
  CHECK(m.audio_soft_tokens_per_image == 188);
}

TEST_CASE("E4B config.json (5.x spelling) parses with the E4B values", "[unit][config]") {
  const gemma::ModelConfig m = gemma::load_model_config(e4b_dir());
  CHECK(m.text.num_hidden_layers == 35);
  CHECK(m.text.intermediate_size == std::vector<int64_t>(35, 16384));
  CHECK(m.text.num_kv_shared_layers == 15);
  CHECK(m.text.rope_theta == 1e6);
  CHECK(m.text.rope_local_base_freq == 1e4);
  CHECK_FALSE(m.vision.do_pooling);
  // E4B is transformers' default text shape.
  CHECK(m.text == gemma::TextConfig{});
  CHECK(m.audio == gemma::AudioConfig{});
  CHECK(m.eos_token_id == std::vector<int64_t>{1, 106});
}

TEST_CASE("the 4.5x and 5.x spellings give identical structs", "[unit][config]") {
  const Json v4 = e2b_config();
  const Json v5 = to_5x_spelling(v4);
  REQUIRE(v5["text_config"].contains("rope_parameters"));
  REQUIRE_FALSE(v5["text_config"].contains("rope_theta"));
  CHECK(parse_model(v4) == parse_model(v5));

  // rope_parameters wins over the 4.5x keys; the 4.5x keys fill what it lacks.
  Json mixed = v4;
  mixed["text_config"]["rope_parameters"] = {{"full_attention", {{"rope_theta", 5e5}}}};
  const gemma::TextConfig text = parse_model(mixed).text;
  CHECK(text.rope_theta == 5e5);
  CHECK(text.rope_local_base_freq == 1e4);
}

TEST_CASE("defaults for missing fields equal transformers' defaults", "[unit][config]") {
  SECTION("an empty text config") {
    const gemma::ModelConfig m =
        parse_model({{"model_type", "gemma3n"}, {"text_config", Json::object()}});
    const gemma::TextConfig& t = m.text;
    CHECK(t == gemma::TextConfig{});
    CHECK(t.vocab_size == 262400);
    CHECK(t.num_hidden_layers == 35);
    CHECK(t.intermediate_size == std::vector<int64_t>(35, 16384));
    CHECK(t.num_kv_shared_layers == 15);
    CHECK(t.rope_theta == 1e6);
    CHECK(t.rope_local_base_freq == 1e4);
    CHECK(t.final_logit_softcapping == 30.0);
    CHECK(t.pad_token_id == 0);
    CHECK(t.bos_token_id == 2);
    CHECK(t.eos_token_id == std::vector<int64_t>{1});
    CHECK(t.layer_types == gemma::TextConfig::default_layer_types(35));
    CHECK(t.layer_types[4] == LayerType::kFullAttention);
    CHECK(t.layer_types[34] == LayerType::kFullAttention);
    CHECK(t.layer_types[33] == LayerType::kSlidingAttention);
    std::vector<double> sparsity(10, 0.95);
    sparsity.resize(35, 0.0);
    CHECK(t.activation_sparsity_pattern == sparsity);
  }
  SECTION("a config.json with only model_type") {
    const gemma::ModelConfig m = parse_model({{"model_type", "gemma3n"}});
    CHECK(m == gemma::ModelConfig{});
    CHECK(m.vision.layout.num_blocks() == 84);
    CHECK(m.eos_token_id.empty());
    CHECK_NOTHROW(gemma::ModelConfig{}.validate());
  }
  SECTION("per-layer defaults follow num_hidden_layers") {
    const gemma::ModelConfig m = parse_model(
        {{"model_type", "gemma3n_text"}, {"num_hidden_layers", 8}, {"num_kv_shared_layers", 2}});
    CHECK(m.text.intermediate_size == std::vector<int64_t>(8, 16384));
    CHECK(m.text.activation_sparsity_pattern == std::vector<double>(8, 0.0));  // L <= 10
    CHECK(m.text.layer_types[4] == LayerType::kFullAttention);
    CHECK(m.text.layer_types[7] == LayerType::kSlidingAttention);
  }
  SECTION("null means None where transformers allows it") {
    Json doc = e2b_config();
    doc["text_config"]["final_logit_softcapping"] = nullptr;
    doc["text_config"]["altup_coef_clip"] = nullptr;
    doc["text_config"]["pad_token_id"] = nullptr;
    doc["text_config"]["attention_dropout"] = nullptr;
    const gemma::TextConfig t = parse_model(doc).text;
    CHECK_FALSE(t.final_logit_softcapping.has_value());
    CHECK_FALSE(t.altup_coef_clip.has_value());
    CHECK_FALSE(t.pad_token_id.has_value());
    CHECK(t.attention_dropout == 0.0);
  }
}

TEST_CASE("a text-only config.json has no vision or audio", "[unit][config]") {
  Json doc = e2b_config()["text_config"];
  doc["eos_token_id"] = {1, 106};
  const gemma::ModelConfig m = parse_model(doc);
  CHECK(m.model_type == "gemma3n_text");
  CHECK_FALSE(m.has_vision);
  CHECK_FALSE(m.has_audio);
  gemma::TextConfig expected = parse_model(e2b_config()).text;
  expected.eos_token_id = {1, 106};
  CHECK(m.text == expected);
  CHECK(m.eos_token_id == std::vector<int64_t>{1, 106});
  // Paths have no "text_config." prefix here.
  doc["num_attention_heads"] = -1;
  REQUIRE_CONFIG_ERROR(parse_model(doc), "config.json: num_attention_heads: must be > 0, got -1");
}

TEST_CASE("unknown fields are ignored", "[unit][config]") {
  Json doc = e2b_config();
  doc["some_future_key"] = {{"nested", true}};
  doc["text_config"]["query_pre_attn_scalar"] = 123;
  doc["text_config"]["altup_lr_multiplier"] = "anything";
  doc["vision_config"]["label_names"] = Json::array({1, 2, 3});
  doc["audio_config"]["conf_attention_invalid_logits_value"] = "x";
  CHECK(parse_model(doc) == gemma::load_model_config(e2b_dir()));
}

TEST_CASE("kv_shared_layer_index picks the last non-shared layer of the same type",
          "[unit][config]") {
  SECTION("E2B") {
    const gemma::TextConfig text = gemma::load_model_config(e2b_dir()).text;
    std::vector<int> expected(20, -1);
    for (int layer = 20; layer < 30; ++layer) expected.push_back((layer + 1) % 5 == 0 ? 19 : 18);
    CHECK(kv_producers(text) == expected);
    CHECK(text.kv_shared_layer_index(24) == 19);
    CHECK(text.kv_shared_layer_index(29) == 19);
    CHECK(text.kv_shared_layer_index(28) == 18);
  }
  SECTION("E4B") {
    const gemma::TextConfig text = gemma::load_model_config(e4b_dir()).text;
    std::vector<int> expected(20, -1);
    for (int layer = 20; layer < 35; ++layer) expected.push_back((layer + 1) % 5 == 0 ? 19 : 18);
    CHECK(kv_producers(text) == expected);
    CHECK(text.kv_shared_layer_index(34) == 19);
  }
  SECTION("no sharing") {
    gemma::TextConfig text;
    text.num_kv_shared_layers = 0;
    CHECK(kv_producers(text) == std::vector<int>(35, -1));
  }
  SECTION("out of range") {
    const gemma::TextConfig text;
    CHECK_THROWS_AS(text.kv_shared_layer_index(35), gemma::InvalidArgumentError);
    CHECK_THROWS_AS(text.kv_shared_layer_index(-1), gemma::InvalidArgumentError);
  }
}

// -----------------------------------------------------------------------------------------------
// Validation: every rule has a failing case naming its field
// -----------------------------------------------------------------------------------------------

TEST_CASE("impossible text values are rejected with the field's path", "[unit][config]") {
  Json doc = e2b_config();
  Json& text = doc["text_config"];
  SECTION("sizes must be positive") {
    text["num_attention_heads"] = -1;
    REQUIRE_CONFIG_ERROR(parse_model(doc),
                         "config.json: text_config.num_attention_heads: must be > 0, got -1");
  }
  SECTION("hidden_size") {
    text["hidden_size"] = 0;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.hidden_size: must be > 0, got 0");
  }
  SECTION("heads must be a multiple of the KV heads") {
    text["num_key_value_heads"] = 3;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.num_key_value_heads");
  }
  SECTION("layer_types length") {
    text["layer_types"].erase(0);
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.layer_types: has 29 entries");
  }
  SECTION("layer_types values") {
    text["layer_types"][3] = "global";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.layer_types[3]: unknown layer type");
  }
  SECTION("activation_sparsity_pattern length") {
    text["activation_sparsity_pattern"].erase(0);
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.activation_sparsity_pattern: has 29");
  }
  SECTION("activation_sparsity_pattern is a list") {
    text["activation_sparsity_pattern"] = 0.95;
    REQUIRE_CONFIG_ERROR(parse_model(doc),
                         "text_config.activation_sparsity_pattern: expected an array");
  }
  SECTION("sparsities are probabilities") {
    text["activation_sparsity_pattern"][2] = 1.0;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.activation_sparsity_pattern[2]");
  }
  SECTION("attention_dropout is a probability") {
    text["attention_dropout"] = 1.5;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.attention_dropout: must be in [0, 1)");
  }
  SECTION("intermediate_size list length") {
    text["intermediate_size"].erase(0);
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.intermediate_size: has 29 entries");
  }
  SECTION("intermediate_size entries") {
    text["intermediate_size"][7] = 0;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.intermediate_size[7]: must be > 0");
  }
  SECTION("num_kv_shared_layers below num_hidden_layers") {
    text["num_kv_shared_layers"] = 30;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.num_kv_shared_layers");
  }
  SECTION("num_kv_shared_layers not negative") {
    text["num_kv_shared_layers"] = -1;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.num_kv_shared_layers: must be >= 0");
  }
  SECTION("KV-shared layers need a producer of their type") {
    // Layers 0..19 sliding, so full layers 24 and 29 have no full-attention producer.
    for (int i = 0; i < 20; ++i) text["layer_types"][i] = "sliding_attention";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "no full_attention layer precedes layer 20");
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.num_kv_shared_layers");
  }
  SECTION("altup_active_idx below altup_num_inputs") {
    text["altup_active_idx"] = 4;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.altup_active_idx");
  }
  SECTION("token ids inside the vocabulary") {
    text["eos_token_id"] = {1, 999999};
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.eos_token_id[1]: token id 999999");
  }
  SECTION("vocab_size_per_layer_input within vocab_size") {
    text["vocab_size_per_layer_input"] = 300000;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.vocab_size_per_layer_input");
  }
  SECTION("unsupported activation") {
    text["hidden_activation"] = "relu";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.hidden_activation");
  }
  SECTION("4.5x rope_scaling other than default") {
    text["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.rope_scaling.rope_type");
  }
  SECTION("5.x rope_parameters other than default") {
    Json v5 = to_5x_spelling(doc);
    v5["text_config"]["rope_parameters"]["sliding_attention"]["rope_type"] = "yarn";
    REQUIRE_CONFIG_ERROR(parse_model(v5),
                         "text_config.rope_parameters.sliding_attention.rope_type: rope type");
  }
  SECTION("rope theta positive") {
    text["rope_theta"] = -1.0;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.rope_theta");
  }
  SECTION("absurd layer counts are refused before allocating") {
    text["num_hidden_layers"] = 1000000000;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.num_hidden_layers: must be <= 4096");
  }
}

TEST_CASE("wrong JSON types are rejected with the field's path", "[unit][config]") {
  Json doc = e2b_config();
  SECTION("string for an integer") {
    doc["text_config"]["head_dim"] = "256";
    REQUIRE_CONFIG_ERROR(parse_model(doc),
                         "text_config.head_dim: expected an integer, got string \"256\"");
  }
  SECTION("float for an integer") {
    doc["text_config"]["head_dim"] = 256.5;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.head_dim: expected an integer");
  }
  SECTION("integer out of range") {
    doc = Json::parse(R"({"model_type": "gemma3n", "boi_token_id": 100000000000000000000})");
    REQUIRE_CONFIG_ERROR(parse_model(doc), "boi_token_id");
  }
  SECTION("huge unsigned integer") {
    REQUIRE_CONFIG_ERROR(
        gemma::parse_model_config(
            R"({"model_type": "gemma3n", "boi_token_id": 18446744073709551615})", "config.json"),
        "boi_token_id: integer 18446744073709551615 is out of range");
  }
  SECTION("string for a boolean") {
    doc["text_config"]["attention_bias"] = "false";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config.attention_bias: expected a boolean");
  }
  SECTION("array for an object") {
    doc["text_config"] = Json::array();
    REQUIRE_CONFIG_ERROR(parse_model(doc), "text_config: expected an object");
  }
  SECTION("eos as a string") {
    doc["eos_token_id"] = "1";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "eos_token_id: expected an integer or an array");
  }
  SECTION("a list element of the wrong type") {
    doc["audio_config"]["sscp_conv_kernel_size"][1][0] = "3";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "audio_config.sscp_conv_kernel_size[1][0]");
  }
  SECTION("invalid JSON") {
    REQUIRE_CONFIG_ERROR(gemma::parse_model_config("{\"model_type\": ", "my/config.json"),
                         "my/config.json: invalid JSON");
  }
  SECTION("invalid UTF-8") {
    REQUIRE_CONFIG_ERROR(
        gemma::parse_model_config("{\"model_type\": \"gemma3n\", \"boi_token_id\": \"\xff\"}",
                                  "config.json"),
        "config.json: invalid JSON");
  }
}

TEST_CASE("model-level rules are enforced", "[unit][config]") {
  Json doc = e2b_config();
  SECTION("model_type is required") {
    doc.erase("model_type");
    REQUIRE_CONFIG_ERROR(parse_model(doc), "config.json: model_type: missing");
  }
  SECTION("model_type must be Gemma 3n") {
    doc["model_type"] = "gemma3";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "model_type: \"gemma3\" is not one of");
  }
  SECTION("vision vocab inside the text vocab") {
    doc["vision_config"]["vocab_offset"] = 262300;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "vision_config.vocab_offset");
  }
  SECTION("audio vocab inside the text vocab") {
    doc["audio_config"]["vocab_size"] = 200;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "audio_config.vocab_offset: vocab_offset + vocab_size");
  }
  SECTION("vision and audio ids do not overlap") {
    doc["vision_config"]["vocab_size"] = 129;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "vision_config.vocab_offset: vision ids");
  }
  SECTION("multimodal token ids inside the vocab") {
    doc["boi_token_id"] = 262400;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "boi_token_id: token id 262400 is outside");
  }
  SECTION("each multimodal token has its own id") {
    doc["audio_token_id"] = doc["image_token_id"];
    REQUIRE_CONFIG_ERROR(parse_model(doc),
                         "audio_token_id: 262145 is also image_token_id; each special token needs "
                         "its own id");
  }
  SECTION("top-level eos ids inside the vocab") {
    doc["eos_token_id"] = {1, -5};
    REQUIRE_CONFIG_ERROR(parse_model(doc), "eos_token_id[1]");
  }
  SECTION("soft token counts positive") {
    doc["vision_soft_tokens_per_image"] = 0;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "vision_soft_tokens_per_image: must be > 0");
  }
  SECTION("audio heads divide the width") {
    doc["audio_config"]["conf_num_attention_heads"] = 7;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "audio_config.conf_num_attention_heads");
  }
  SECTION("audio subsampling has two convs of {time, frequency}") {
    doc["audio_config"]["sscp_conv_stride_size"][0] = {2};
    REQUIRE_CONFIG_ERROR(parse_model(doc), "audio_config.sscp_conv_stride_size[0]: has 1 entries");
  }
  SECTION("audio context") {
    doc["audio_config"]["conf_attention_context_left"] = 0;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "audio_config.conf_attention_context_left");
  }
  SECTION("vision width") {
    doc["vision_config"]["hidden_size"] = -2048;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "vision_config.hidden_size: must be > 0");
  }
  SECTION("timm model_args are refused") {
    doc["vision_config"]["model_args"] = {{"depth", 3}};
    REQUIRE_CONFIG_ERROR(parse_model(doc), "vision_config.model_args");
  }
  SECTION("other architectures need a layout") {
    doc["vision_config"]["architecture"] = "resnet50";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "vision_config.gemma_cpp_layout: missing");
  }
}

// -----------------------------------------------------------------------------------------------
// MobileNetV5 layout
// -----------------------------------------------------------------------------------------------

TEST_CASE("the built-in 300M layout decodes to timm's 84 blocks", "[unit][config][vision]") {
  const gemma::MobileNetLayout layout = gemma::MobileNetLayout::mobilenetv5_300m();
  REQUIRE(layout.stages.size() == 4);
  CHECK(layout.stages[0].size() == 3);
  CHECK(layout.stages[1].size() == 5);
  CHECK(layout.stages[2].size() == 37);
  CHECK(layout.stages[3].size() == 39);
  CHECK(layout.num_blocks() == 84);
  CHECK(layout.stem_size == 64);
  CHECK(layout.msfa_indices == std::vector<int64_t>{-2, -1});
  CHECK(layout.msfa_output_resolution == 16);
  CHECK(layout.msfa_expansion_ratio == 2.0);

  const auto& s0 = layout.stages[0];
  CHECK(s0[0].kind == MobileNetBlockKind::kEdgeResidual);
  CHECK(s0[0].exp_kernel_size == 3);
  CHECK(s0[0].stride == 2);
  CHECK((s0[0].in_channels == 64 && s0[0].mid_channels == 256 && s0[0].out_channels == 128));
  CHECK((s0[2].in_channels == 128 && s0[2].mid_channels == 512 && s0[2].out_channels == 128));
  CHECK(s0[2].stride == 1);

  const auto& s1 = layout.stages[1];
  CHECK(s1[0].kind == MobileNetBlockKind::kUniversalInvertedResidual);
  CHECK((s1[0].dw_kernel_size_start == 3 && s1[0].dw_kernel_size_mid == 5 && s1[0].stride == 2));
  CHECK((s1[0].in_channels == 128 && s1[0].mid_channels == 768 && s1[0].out_channels == 256));
  CHECK((s1[1].dw_kernel_size_start == 5 && s1[1].dw_kernel_size_mid == 0));
  CHECK((s1[4].mid_channels == 1024 && s1[4].out_channels == 256));

  const auto& s2 = layout.stages[2];
  CHECK((s2[0].dw_kernel_size_start == 5 && s2[0].dw_kernel_size_mid == 5 && s2[0].stride == 2));
  CHECK((s2[0].in_channels == 256 && s2[0].mid_channels == 1536 && s2[0].out_channels == 640));
  for (int j = 1; j <= 7; ++j) CHECK(s2[j].mid_channels == 2560);
  CHECK((s2[8].dw_kernel_size_start == 0 && s2[8].dw_kernel_size_mid == 0));
  CHECK(s2[8].mid_channels == 640);  // uir a0 k0 e1
  for (int j = 9; j < 37; j += 2) {
    CHECK(s2[j].kind == MobileNetBlockKind::kMobileMQA);
    CHECK((s2[j].num_heads == 12 && s2[j].key_dim == 64 && s2[j].value_dim == 64));
    CHECK((s2[j].kv_stride == 2 && s2[j].stride == 1 && s2[j].dw_kernel_size == 3));
    CHECK(s2[j].mid_channels == 0);
    CHECK(s2[j + 1].kind == MobileNetBlockKind::kUniversalInvertedResidual);
    CHECK(s2[j + 1].mid_channels == 1280);
  }

  const auto& s3 = layout.stages[3];
  CHECK((s3[0].in_channels == 640 && s3[0].mid_channels == 3840 && s3[0].out_channels == 1280));
  for (int j = 1; j < 39; j += 2) {
    CHECK(s3[j].kind == MobileNetBlockKind::kMobileMQA);
    CHECK((s3[j].num_heads == 16 && s3[j].key_dim == 96 && s3[j].kv_stride == 1));
    CHECK(s3[j + 1].mid_channels == 2560);
  }
  // MSFA input: stage 2 + stage 3 outputs.
  CHECK(s2.back().out_channels + s3.back().out_channels == 1920);
}

TEST_CASE("block strings decode as timm's _decode_block_str", "[unit][config][vision]") {
  using gemma::io::decode_block_string;
  SECTION("er") {
    const auto b = decode_block_string("er_r1_k3_s2_e4_c128", "t");
    CHECK(b.kind == MobileNetBlockKind::kEdgeResidual);
    CHECK((b.repeat == 1 && b.exp_kernel_size == 3 && b.stride == 2 && b.exp_ratio == 4.0));
    CHECK((b.out_channels == 128 && b.pw_kernel_size == 1 && !b.noskip));
  }
  SECTION("uir") {
    const auto b = decode_block_string("uir_r1_a3_k5_s2_e6_c256", "t");
    CHECK(b.kind == MobileNetBlockKind::kUniversalInvertedResidual);
    CHECK((b.dw_kernel_size_start == 3 && b.dw_kernel_size_mid == 5 && b.dw_kernel_size_end == 0));
    CHECK((b.stride == 2 && b.exp_ratio == 6.0 && b.out_channels == 256));
    const auto plain = decode_block_string("uir_r1_a0_k0_s1_e2_c640", "t");
    CHECK((plain.dw_kernel_size_start == 0 && plain.dw_kernel_size_mid == 0));
  }
  SECTION("mqa: v is the K/V stride, s the block stride") {
    const auto b = decode_block_string("mqa_r1_k3_h12_v2_s1_d64_c640", "t");
    CHECK(b.kind == MobileNetBlockKind::kMobileMQA);
    CHECK((b.num_heads == 12 && b.key_dim == 64 && b.value_dim == 64 && b.dw_kernel_size == 3));
    CHECK((b.kv_stride == 2 && b.stride == 1));
    const auto base = decode_block_string("mqa_r1_k3_h8_s2_d64_c512", "t");
    CHECK((base.kv_stride == 1 && base.stride == 2 && base.num_heads == 8));
  }
  SECTION("options in any order, noskip, se, gs") {
    const auto b = decode_block_string("uir_c64_e2_s1_k3_r2_noskip_se0.25_gs8", "t");
    CHECK((b.out_channels == 64 && b.repeat == 2 && b.noskip && b.se_ratio == 0.25));
    CHECK(b.group_size == 8);
  }
  SECTION("errors name the block") {
    REQUIRE_CONFIG_ERROR(decode_block_string("ir_r1_k3_s1_e1_c16", "where"),
                         "where: cannot decode block \"ir_r1_k3_s1_e1_c16\": block type \"ir\"");
    REQUIRE_CONFIG_ERROR(decode_block_string("er_r1_k3_s2_e4", "w"), "missing option 'c'");
    REQUIRE_CONFIG_ERROR(decode_block_string("uir_r1_a3.5_k5_s2_e6_c256", "w"),
                         "mixed kernel sizes");
    REQUIRE_CONFIG_ERROR(decode_block_string("er_r1_k3_s2_e4x_c128", "w"), "'e' needs a number");
    REQUIRE_CONFIG_ERROR(decode_block_string("er_r1_k3_s2_e4_c128_nre", "w"),
                         "activation override \"nre\"");
  }
}

TEST_CASE("gemma_cpp_layout describes other MobileNetV5 networks", "[unit][config][vision]") {
  Json doc = e2b_config();
  Json& vision = doc["vision_config"];
  vision["architecture"] = "mobilenetv5_custom";
  vision["gemma_cpp_layout"] = {
      {"arch_def", {{"er_r2_k3_s2_e4_c32"}, {"uir_r1_a3_k5_s2_e6_c60", "mqa_r1_k3_h8_s2_d64_c64"}}},
      {"stem_size", 16},
      {"msfa_indices", {-1}},
      {"msfa_output_resolution", 8},
  };
  SECTION("decoded like timm's builder") {
    const gemma::MobileNetLayout layout = parse_model(doc).vision.layout;
    REQUIRE(layout.num_blocks() == 4);
    CHECK(layout.stem_size == 16);
    CHECK(layout.msfa_expansion_ratio == 2.0);  // default when absent
    const auto& s0 = layout.stages[0];
    CHECK((s0[0].stride == 2 && s0[1].stride == 1));  // the repeat's copy does not stride
    CHECK((s0[0].in_channels == 16 && s0[1].in_channels == 32 && s0[1].mid_channels == 128));
    const auto& s1 = layout.stages[1];
    CHECK(s1[0].out_channels == 64);  // round_channels(60) = 64
    CHECK(s1[1].stride == 1);         // only a stage's first block strides
    CHECK(s1[1].in_channels == 64);
  }
  SECTION("block errors name the arch_def entry") {
    vision["gemma_cpp_layout"]["arch_def"][1][1] = "mqa_r1_k3_h0_s1_d64_c64";
    REQUIRE_CONFIG_ERROR(parse_model(doc),
                         "vision_config.gemma_cpp_layout.arch_def[1][1]: heads (h) must be >= 1");
  }
  SECTION("strides other than 1 or 2") {
    vision["gemma_cpp_layout"]["arch_def"][0][0] = "er_r1_k3_s3_e4_c32";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "gemma_cpp_layout.arch_def[0][0]: stride (s)");
  }
  SECTION("repeat counts") {
    vision["gemma_cpp_layout"]["arch_def"][0][0] = "er_r0_k3_s2_e4_c32";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "gemma_cpp_layout.arch_def[0][0]: cannot decode");
  }
  SECTION("msfa indices inside the feature list") {
    vision["gemma_cpp_layout"]["msfa_indices"] = {-4};
    REQUIRE_CONFIG_ERROR(parse_model(doc), "gemma_cpp_layout.msfa_indices[0]: feature index -4");
  }
  SECTION("arch_def is required") {
    vision["gemma_cpp_layout"].erase("arch_def");
    REQUIRE_CONFIG_ERROR(parse_model(doc), "vision_config.gemma_cpp_layout.arch_def: missing");
  }
  SECTION("arch_def entries are strings") {
    vision["gemma_cpp_layout"]["arch_def"][0][0] = 5;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "gemma_cpp_layout.arch_def[0][0]: expected a string");
  }
  SECTION("an empty stage") {
    vision["gemma_cpp_layout"]["arch_def"][1] = Json::array();
    REQUIRE_CONFIG_ERROR(parse_model(doc), "gemma_cpp_layout.arch_def[1]: needs at least one");
  }
  // Widths are computed from these in doubles and converted to int64_t: refused first (found by
  // fuzz_config as a float-cast overflow).
  SECTION("huge expansion ratios") {
    vision["gemma_cpp_layout"]["arch_def"][0][0] = "er_r2_k0_s1_e666666666666666666_c3";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "expansion ratio (e) must be in (0, 1024]");
  }
  SECTION("huge channel counts") {
    vision["gemma_cpp_layout"]["arch_def"][0][0] = "er_r1_k3_s2_e4_c9223372036854775807";
    REQUIRE_CONFIG_ERROR(parse_model(doc), "out channels (c) must be in [1, 1048576]");
  }
  SECTION("a huge stem") {
    vision["gemma_cpp_layout"]["stem_size"] = int64_t{1} << 62;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "gemma_cpp_layout.stem_size: must be in [1, 1048576]");
  }
  SECTION("a huge fused resolution") {
    vision["gemma_cpp_layout"]["msfa_output_resolution"] = 100000;
    REQUIRE_CONFIG_ERROR(parse_model(doc), "msfa_output_resolution: must be in [1, 1024]");
  }
}

// -----------------------------------------------------------------------------------------------
// generation_config.json, preprocessor / processor configs, tokenizer
// -----------------------------------------------------------------------------------------------

TEST_CASE("generation_config.json", "[unit][config]") {
  SECTION("the IT checkpoints' values") {
    const gemma::GenerationDefaults g = gemma::load_generation_defaults(e2b_dir());
    CHECK(g.do_sample);
    CHECK(g.top_k == 64);
    CHECK(g.top_p == 0.95);
    CHECK(g.temperature == 1.0);
    CHECK(g.eos_token_id == std::vector<int64_t>{1, 106});
    CHECK(g.bos_token_id == 2);
    CHECK(g.pad_token_id == 0);
    CHECK(g.cache_implementation == "hybrid");
    CHECK_FALSE(g.max_length.has_value());
    CHECK_FALSE(g.max_new_tokens.has_value());
    CHECK_FALSE(g.min_p.has_value());
  }
  SECTION("transformers' GenerationConfig defaults") {
    const auto g = gemma::parse_generation_defaults("{}", "generation_config.json");
    CHECK(g == gemma::GenerationDefaults{});
    CHECK((!g.max_length && !g.do_sample && g.temperature == 1.0 && g.top_k == 50));
    CHECK((g.top_p == 1.0 && g.repetition_penalty == 1.0 && g.eos_token_id.empty()));
  }
  SECTION("eos as an int, top_k null disables top-k") {
    const auto g = gemma::parse_generation_defaults(R"({"eos_token_id": 1, "top_k": null})", "g");
    CHECK(g.eos_token_id == std::vector<int64_t>{1});
    CHECK(g.top_k == 0);
  }
  SECTION("impossible values") {
    REQUIRE_CONFIG_ERROR(gemma::parse_generation_defaults(R"({"top_p": 1.5})", "gen.json"),
                         "gen.json: top_p: must be in [0, 1]");
    REQUIRE_CONFIG_ERROR(gemma::parse_generation_defaults(R"({"temperature": -1})", "g"),
                         "temperature: must be >= 0");
    REQUIRE_CONFIG_ERROR(gemma::parse_generation_defaults(R"({"top_k": -1})", "g"), "top_k");
    REQUIRE_CONFIG_ERROR(gemma::parse_generation_defaults(R"({"max_new_tokens": 0})", "g"),
                         "max_new_tokens: must be > 0");
    REQUIRE_CONFIG_ERROR(gemma::parse_generation_defaults(R"({"min_p": 2})", "g"), "min_p");
    REQUIRE_CONFIG_ERROR(gemma::parse_generation_defaults(R"({"repetition_penalty": 0})", "g"),
                         "repetition_penalty");
    REQUIRE_CONFIG_ERROR(gemma::parse_generation_defaults(R"({"eos_token_id": [1, -1]})", "g"),
                         "eos_token_id[1]");
  }
}

TEST_CASE("image processor config", "[unit][config]") {
  SECTION("the 4.5x flat preprocessor_config.json") {
    const gemma::ImageProcessorConfig c = gemma::load_image_processor_config(e2b_dir());
    CHECK(c.do_resize);
    CHECK((c.size.height == 768 && c.size.width == 768));
    CHECK(c.resample == 2);
    CHECK(c.do_rescale);
    CHECK(c.rescale_factor == Approx(1.0 / 255.0));
    CHECK_FALSE(c.do_normalize);
    CHECK(c.image_mean == std::vector<double>{0.5, 0.5, 0.5});
    CHECK(c.image_std == std::vector<double>{0.5, 0.5, 0.5});
    CHECK_FALSE(c.do_convert_rgb);  // null
    CHECK(c.image_processor_type == "SiglipImageProcessorFast");
  }
  SECTION("the 5.x nested processor_config.json gives the same values") {
    CHECK(gemma::load_image_processor_config(e4b_dir()) ==
          gemma::load_image_processor_config(e2b_dir()));
  }
  SECTION("SigLIP defaults and a scalar mean") {
    const auto c = gemma::parse_image_processor_config(R"({"image_mean": 0.25})", "p");
    CHECK(c.image_mean == std::vector<double>(3, 0.25));
    CHECK((c.size.height == 224 && c.resample == 3 && c.do_normalize));
  }
  SECTION("impossible values") {
    REQUIRE_CONFIG_ERROR(
        gemma::parse_image_processor_config(R"({"image_mean": [0.5, 0.5]})", "pre.json"),
        "pre.json: image_mean: has 2 entries");
    REQUIRE_CONFIG_ERROR(gemma::parse_image_processor_config(R"({"resample": 9})", "p"),
                         "resample");
    REQUIRE_CONFIG_ERROR(
        gemma::parse_image_processor_config(R"({"size": {"shortest_edge": 224}})", "p"),
        "p: size: expected {\"height\", \"width\"}");
    REQUIRE_CONFIG_ERROR(
        gemma::parse_image_processor_config(R"({"size": {"height": 0, "width": 5}})", "p"),
        "size.height: must be > 0");
    REQUIRE_CONFIG_ERROR(gemma::parse_image_processor_config(R"({"image_std": [1, 0, 1]})", "p"),
                         "image_std[1]");
  }
}

TEST_CASE("audio feature extractor config", "[unit][config]") {
  SECTION("the checkpoints' values, lengths derived from milliseconds") {
    const gemma::AudioFeatureConfig c = gemma::load_audio_feature_config(e2b_dir());
    CHECK(c.feature_size == 128);
    CHECK(c.sampling_rate == 16000);
    CHECK((c.frame_length == 512 && c.hop_length == 160 && c.fft_length == 1024));
    CHECK((c.min_frequency == 125.0 && c.max_frequency == 7600.0));
    CHECK((c.preemphasis == 0.97 && c.preemphasis_htk_flavor && c.fft_overdrive));
    CHECK((c.mel_floor == 1e-5 && c.dither == 0.0 && c.input_scale_factor == 1.0));
    CHECK_FALSE(c.per_bin_mean.has_value());
    CHECK((c.padding == "longest" && c.max_length == 480000 && c.truncation));
    CHECK(c.pad_to_multiple_of == 128);
    CHECK(c.feature_extractor_type == "Gemma3nAudioFeatureExtractor");
    CHECK(gemma::load_audio_feature_config(e4b_dir()) == c);
  }
  SECTION("defaults equal transformers'") {
    CHECK(gemma::parse_audio_feature_config("{}", "p") == gemma::AudioFeatureConfig{});
  }
  SECTION("derivation: Python's round-half-even and the FFT size") {
    const auto c = gemma::parse_audio_feature_config(
        R"({"sampling_rate": 1000, "hop_length_ms": 2.5, "frame_length_ms": 25,
            "fft_overdrive": false})",
        "p");
    CHECK(c.hop_length == 2);  // round(2.5) == 2
    CHECK(c.frame_length == 25);
    CHECK(c.fft_length == 32);
  }
  SECTION("impossible values") {
    REQUIRE_CONFIG_ERROR(gemma::parse_audio_feature_config(R"({"per_bin_mean": [1, 2]})", "p"),
                         "per_bin_mean: has 2 entries, expected feature_size = 128");
    REQUIRE_CONFIG_ERROR(gemma::parse_audio_feature_config(R"({"padding": "sideways"})", "p"),
                         "padding");
    REQUIRE_CONFIG_ERROR(gemma::parse_audio_feature_config(R"({"frame_length_ms": -1})", "p"),
                         "frame_length_ms");
    REQUIRE_CONFIG_ERROR(gemma::parse_audio_feature_config(R"({"sampling_rate": 0})", "p"),
                         "sampling_rate: must be > 0");
    REQUIRE_CONFIG_ERROR(gemma::parse_audio_feature_config(R"({"max_frequency": 100})", "p"),
                         "max_frequency");
    REQUIRE_CONFIG_ERROR(gemma::parse_audio_feature_config(R"({"mel_floor": 0})", "p"),
                         "mel_floor");
  }
  SECTION("nested 5.x errors name the section") {
    const fs::path dir = gemma::test::scratch_dir("config_nested_error");
    Json processor = read_json(e4b_dir() / "processor_config.json");
    processor["feature_extractor"]["feature_size"] = 0;
    write_json(dir / "processor_config.json", processor);
    REQUIRE_CONFIG_ERROR(gemma::load_audio_feature_config(dir),
                         "processor_config.json: feature_extractor.feature_size: must be > 0");
  }
}

TEST_CASE("processor_config.json", "[unit][config]") {
  const gemma::ProcessorConfig c = gemma::load_processor_config(e2b_dir());
  CHECK((c.image_seq_length == 256 && c.audio_seq_length == 188));
  CHECK(gemma::load_processor_config(e4b_dir()) == c);
  REQUIRE_CONFIG_ERROR(gemma::parse_processor_config(R"({"image_seq_length": 0})", "p"),
                       "image_seq_length: must be > 0");
}

TEST_CASE("tokenizer_config.json and special_tokens_map.json", "[unit][config]") {
  SECTION("E2B (4.5x)") {
    const gemma::TokenizerConfig t = gemma::load_tokenizer_config(e2b_dir());
    CHECK(t.add_bos_token);
    CHECK_FALSE(t.add_eos_token);
    CHECK((t.bos_token == "<bos>" && t.eos_token == "<eos>"));
    CHECK((t.pad_token == "<pad>" && t.unk_token == "<unk>"));
    CHECK(t.image_token == "<image_soft_token>");
    CHECK(t.boi_token == "<start_of_image>");
    CHECK(t.eoi_token == "<end_of_image>");
    CHECK(t.audio_token == "<audio_soft_token>");
    CHECK(t.boa_token == "<start_of_audio>");
    CHECK(t.eoa_token == "<end_of_audio>");
    CHECK(t.added_tokens.size() == 13);
    const gemma::AddedToken& eot = t.added_tokens.at(106);
    CHECK((eot.content == "<end_of_turn>" && eot.special && !eot.normalized));
    CHECK(t.added_tokens.at(262145).content == "<image_soft_token>");
    CHECK(t.chat_template.rfind("{{ bos_token }}", 0) == 0);
    CHECK(t.model_max_length == std::numeric_limits<int64_t>::max());
    CHECK(t.padding_side == "left");
    CHECK_FALSE(t.clean_up_tokenization_spaces);
    CHECK(t.tokenizer_class == "GemmaTokenizer");
  }
  SECTION("E4B (5.x): named tokens only inside extra_special_tokens") {
    const gemma::TokenizerConfig t = gemma::load_tokenizer_config(e4b_dir());
    CHECK(t.boi_token == "<start_of_image>");
    CHECK(t.audio_token == "<audio_soft_token>");
    CHECK(t.chat_template.empty());
  }
  SECTION("GemmaTokenizer defaults") {
    const auto t = gemma::parse_tokenizer_config("{}", "t");
    CHECK(t == gemma::TokenizerConfig{});
    CHECK((t.add_bos_token && t.bos_token == "<bos>" && t.padding_side == "left"));
  }
  SECTION("AddedToken objects, null tokens, chat template lists") {
    const auto t = gemma::parse_tokenizer_config(R"({
        "bos_token": {"content": "<s>", "special": true},
        "pad_token": null,
        "additional_special_tokens": ["<a>", {"content": "<b>"}],
        "chat_template": [{"name": "tool_use", "template": "T"},
                          {"name": "default", "template": "D"}],
        "model_max_length": 8192})",
                                                 "t");
    CHECK(t.bos_token == "<s>");
    CHECK(t.pad_token.empty());
    CHECK(t.additional_special_tokens == std::vector<std::string>{"<a>", "<b>"});
    CHECK(t.chat_template == "D");
    CHECK(t.model_max_length == 8192);
  }
  SECTION("special_tokens_map.json wins") {
    const fs::path dir = gemma::test::scratch_dir("config_special_tokens");
    write_json(dir / "tokenizer_config.json", {{"eos_token", "<eos>"}, {"boi_token", "<x>"}});
    write_json(dir / "special_tokens_map.json",
               {{"eos_token", {{"content", "<end_of_turn>"}}}, {"boi_token", "<start_of_image>"}});
    const gemma::TokenizerConfig t = gemma::load_tokenizer_config(dir);
    CHECK(t.eos_token == "<end_of_turn>");
    CHECK(t.boi_token == "<start_of_image>");
  }
  SECTION("impossible values") {
    REQUIRE_CONFIG_ERROR(gemma::parse_tokenizer_config(R"({"padding_side": "middle"})", "tok"),
                         "tok: padding_side");
    REQUIRE_CONFIG_ERROR(gemma::parse_tokenizer_config(
                             R"({"added_tokens_decoder": {"abc": {"content": "x"}}})", "t"),
                         "added_tokens_decoder.abc: key must be a non-negative token id");
    REQUIRE_CONFIG_ERROR(
        gemma::parse_tokenizer_config(R"({"added_tokens_decoder": {"7": {"special": true}}})", "t"),
        "added_tokens_decoder.7.content: missing");
    REQUIRE_CONFIG_ERROR(gemma::parse_tokenizer_config(R"({"bos_token": 5})", "t"),
                         "bos_token: expected a string or an AddedToken object");
    REQUIRE_CONFIG_ERROR(gemma::parse_tokenizer_config(R"({"model_max_length": 0})", "t"),
                         "model_max_length: must be > 0");
    REQUIRE_CONFIG_ERROR(gemma::parse_tokenizer_config(R"({"model_max_length": -1e300})", "t"),
                         "model_max_length: must be > 0");
    REQUIRE_CONFIG_ERROR(gemma::parse_tokenizer_config(R"({"model_max_length": 10.5})", "t"),
                         "model_max_length: expected an integer");
  }
}

// -----------------------------------------------------------------------------------------------
// Whole directories
// -----------------------------------------------------------------------------------------------

TEST_CASE("load_model_files reads a whole model directory", "[unit][config]") {
  const gemma::ModelFiles e2b = gemma::load_model_files(e2b_dir());
  const gemma::ModelFiles e4b = gemma::load_model_files(e4b_dir());
  CHECK(e2b.model == gemma::load_model_config(e2b_dir()));
  CHECK(e2b.generation == e4b.generation);
  CHECK(e2b.image == e4b.image);
  CHECK(e2b.audio == e4b.audio);
  CHECK(e2b.processor == e4b.processor);
  // E2B's template comes from tokenizer_config.json, E4B's from chat_template.jinja.
  CHECK(e2b.chat_template == e2b.tokenizer.chat_template);
  CHECK(e4b.chat_template == e2b.chat_template);
  gemma::VisionConfig e4b_vision = e4b.model.vision;
  e4b_vision.do_pooling = true;  // the only vision difference between the 4.5x and 5.x files
  CHECK(e2b.model.vision == e4b_vision);
}

TEST_CASE("load_model_files cross-checks and file errors", "[unit][config]") {
  const fs::path dir = gemma::test::scratch_dir("config_files");
  SECTION("a missing config.json is an IoError naming the path") {
    REQUIRE_THROWS_AS(gemma::load_model_config(dir), gemma::IoError);
    REQUIRE_THROWS_WITH(gemma::load_model_config(dir), Catch::Contains("config.json"));
  }
  SECTION("a directory where a file should be is an IoError") {
    fs::create_directory(dir / "config.json");
    REQUIRE_THROWS_AS(gemma::load_model_config(dir), gemma::IoError);
  }
  SECTION("missing optional files give the defaults") {
    CHECK(gemma::load_generation_defaults(dir) == gemma::GenerationDefaults{});
    CHECK(gemma::load_image_processor_config(dir) == gemma::ImageProcessorConfig{});
    CHECK(gemma::load_audio_feature_config(dir) == gemma::AudioFeatureConfig{});
    CHECK(gemma::load_processor_config(dir) == gemma::ProcessorConfig{});
    CHECK(gemma::load_tokenizer_config(dir) == gemma::TokenizerConfig{});
  }
  SECTION("errors in a loaded file name its path") {
    Json doc = e2b_config();
    doc["text_config"]["head_dim"] = 0;
    write_json(dir / "config.json", doc);
    REQUIRE_CONFIG_ERROR(gemma::load_model_config(dir),
                         (dir / "config.json").string() + ": text_config.head_dim");
  }
  SECTION("processor sequence lengths must match the model's soft-token counts") {
    write_json(dir / "config.json", e2b_config());
    write_json(dir / "processor_config.json", {{"image_seq_length", 255}});
    REQUIRE_CONFIG_ERROR(gemma::load_model_files(dir),
                         "processor_config.json: image_seq_length: 255 does not match");
  }
  SECTION("chat_template.json is used when there is no chat_template.jinja") {
    write_json(dir / "config.json", e2b_config());
    write_json(dir / "chat_template.json", {{"chat_template", "{{ messages }}"}});
    CHECK(gemma::load_model_files(dir).chat_template == "{{ messages }}");
  }
}

TEST_CASE("the bundled tiny model's files load", "[unit][config]") {
  const gemma::ModelFiles files = gemma::load_model_files(gemma::test::tiny_model_dir());
  CHECK(files.model.text.num_hidden_layers == 8);
  const gemma::MobileNetLayout& layout = files.model.vision.layout;
  CHECK(layout.num_blocks() == 15);
  // The tower emits one soft token per MSFA output cell.
  CHECK(files.model.vision_soft_tokens_per_image ==
        layout.msfa_output_resolution * layout.msfa_output_resolution);
  CHECK_FALSE(files.chat_template.empty());
}
