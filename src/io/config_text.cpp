#include <cmath>

#include "io/config_parse.h"

namespace gemma {

// The checks, loaders and readers shared by the config files (io/config_parse.h).
using namespace io;

namespace {

std::string_view layer_type_name(LayerType type) {
  return type == LayerType::kFullAttention ? "full_attention" : "sliding_attention";
}

LayerType parse_layer_type(const JsonValue& value) {
  const std::string name = value.as_string();
  if (name == "full_attention") return LayerType::kFullAttention;
  if (name == "sliding_attention") return LayerType::kSlidingAttention;
  value.fail(fmt::format(
      R"(unknown layer type "{}" (expected "sliding_attention" or "full_attention"))", name));
}

// Both spellings of intermediate_size: one width for all layers, or one per layer.
std::vector<int64_t> read_intermediate_size(const JsonObject& o, int64_t num_layers,
                                            int64_t fallback) {
  if (!o.has("intermediate_size")) return std::vector<int64_t>(num_layers, fallback);
  const JsonValue value = o.at("intermediate_size");
  if (value.raw().is_array()) return value.as_int_list();
  return std::vector<int64_t>(num_layers, value.as_int());
}

// "rope_type" (or the legacy "type") of one RoPE parameter object; only unscaled RoPE is built.
void require_default_rope(const JsonObject& params) {
  for (const std::string_view key : {"rope_type", "type"}) {
    if (!params.has(key)) continue;
    const std::string type = params.at(key).as_string();
    if (type != "default") {
      params.fail(key, fmt::format("rope type \"{}\" is not supported (only \"default\")", type));
    }
    return;
  }
}

// 5.x keeps rope_parameters = {"full_attention": {...}, "sliding_attention": {...}}; 4.5x keeps
// rope_theta / rope_local_base_freq / rope_scaling at the top. As transformers'
// convert_rope_params_to_dict: rope_parameters wins, the 4.5x keys fill what it lacks, and
// rope_scaling applies to the full-attention layers.
void read_rope(const JsonObject& o, TextConfig& c) {
  std::optional<double> full_theta;
  std::optional<double> sliding_theta;
  if (const auto params = o.child("rope_parameters")) {
    if (const auto full = params->child("full_attention")) {
      require_default_rope(*full);
      if (full->has("rope_theta")) full_theta = full->at("rope_theta").as_double();
    }
    if (const auto sliding = params->child("sliding_attention")) {
      require_default_rope(*sliding);
      if (sliding->has("rope_theta")) sliding_theta = sliding->at("rope_theta").as_double();
    }
  }
  if (const auto scaling = o.child("rope_scaling")) require_default_rope(*scaling);
  c.rope_theta = full_theta.value_or(o.get_double("rope_theta", c.rope_theta));
  c.rope_local_base_freq =
      sliding_theta.value_or(o.get_double("rope_local_base_freq", c.rope_local_base_freq));
}

}  // namespace

TextConfig io::read_text_config(const JsonObject& o) {
  TextConfig c;
  c.num_hidden_layers = o.get_int("num_hidden_layers", c.num_hidden_layers);
  // Checked before the per-layer defaults below are sized by it.
  const Checker check(o.source(), o.path());
  check.positive("num_hidden_layers", c.num_hidden_layers);
  check.at_most("num_hidden_layers", c.num_hidden_layers, kMaxLayers);
  const int64_t layers = c.num_hidden_layers;

  c.vocab_size = o.get_int("vocab_size", c.vocab_size);
  c.vocab_size_per_layer_input =
      o.get_int("vocab_size_per_layer_input", c.vocab_size_per_layer_input);
  c.hidden_size = o.get_int("hidden_size", c.hidden_size);
  c.hidden_size_per_layer_input =
      o.get_int("hidden_size_per_layer_input", c.hidden_size_per_layer_input);
  c.intermediate_size = read_intermediate_size(o, layers, 16384);
  c.num_attention_heads = o.get_int("num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads = o.get_int("num_key_value_heads", c.num_key_value_heads);
  c.head_dim = o.get_int("head_dim", c.head_dim);
  c.hidden_activation = o.get_string("hidden_activation", c.hidden_activation);
  c.max_position_embeddings = o.get_int("max_position_embeddings", c.max_position_embeddings);
  c.rms_norm_eps = o.get_double("rms_norm_eps", c.rms_norm_eps);
  c.pad_token_id = o.get_nullable_int("pad_token_id", c.pad_token_id);
  c.eos_token_id = o.get_token_ids("eos_token_id", c.eos_token_id);
  c.bos_token_id = o.get_nullable_int("bos_token_id", c.bos_token_id);
  c.tie_word_embeddings = o.get_bool("tie_word_embeddings", c.tie_word_embeddings);
  read_rope(o, c);
  c.attention_bias = o.get_bool("attention_bias", c.attention_bias);
  c.attention_dropout = o.get_double("attention_dropout", c.attention_dropout);
  c.sliding_window = o.get_int("sliding_window", c.sliding_window);
  c.layer_types = o.has("layer_types") ? o.at("layer_types").as_list(parse_layer_type)
                                       : TextConfig::default_layer_types(layers);
  c.final_logit_softcapping =
      o.get_nullable_double("final_logit_softcapping", c.final_logit_softcapping);
  c.altup_active_idx = o.get_int("altup_active_idx", c.altup_active_idx);
  c.altup_coef_clip = o.get_nullable_double("altup_coef_clip", c.altup_coef_clip);
  c.altup_correct_scale = o.get_bool("altup_correct_scale", c.altup_correct_scale);
  c.altup_num_inputs = o.get_int("altup_num_inputs", c.altup_num_inputs);
  c.num_kv_shared_layers = o.get_int("num_kv_shared_layers", c.num_kv_shared_layers);
  c.laurel_rank = o.get_int("laurel_rank", c.laurel_rank);
  c.activation_sparsity_pattern = o.has("activation_sparsity_pattern")
                                      ? o.at("activation_sparsity_pattern").as_double_list()
                                      : TextConfig::default_activation_sparsity(layers);
  return c;
}

std::vector<LayerType> TextConfig::default_layer_types(int64_t num_layers) {
  std::vector<LayerType> types;
  for (int64_t i = 0; i < num_layers; ++i) {
    types.push_back((i + 1) % 5 == 0 ? LayerType::kFullAttention : LayerType::kSlidingAttention);
  }
  return types;
}

std::vector<double> TextConfig::default_activation_sparsity(int64_t num_layers) {
  // configuration_gemma3n.py: "num_sparse_layers = 10 if self.num_hidden_layers > 10 else 0".
  const int64_t sparse = num_layers > 10 ? 10 : 0;
  std::vector<double> pattern;
  for (int64_t i = 0; i < num_layers; ++i) pattern.push_back(i < sparse ? 0.95 : 0.0);
  return pattern;
}

int TextConfig::kv_shared_layer_index(int layer) const {
  if (layer < 0 || layer >= static_cast<int64_t>(layer_types.size())) {
    throw InvalidArgumentError(
        fmt::format("layer {} is outside [0, {})", layer, layer_types.size()));
  }
  // transformers: shared iff layer >= first_kv_shared_layer_idx > 0.
  const int64_t first_shared = num_hidden_layers - num_kv_shared_layers;
  if (first_shared <= 0 || layer < first_shared) return -1;
  const int64_t candidates = std::min<int64_t>(first_shared, layer_types.size());
  for (int64_t i = candidates - 1; i >= 0; --i) {
    if (layer_types[i] == layer_types[layer]) return static_cast<int>(i);
  }
  return -1;
}

void TextConfig::validate(std::string_view source, std::string_view json_path) const {
  const Checker check(source, json_path);
  check.positive("num_hidden_layers", num_hidden_layers);
  check.at_most("num_hidden_layers", num_hidden_layers, kMaxLayers);
  check.positive("vocab_size", vocab_size);
  check.positive("vocab_size_per_layer_input", vocab_size_per_layer_input);
  if (vocab_size_per_layer_input > vocab_size) {
    check.fail("vocab_size_per_layer_input",
               fmt::format("{} exceeds vocab_size = {}", vocab_size_per_layer_input, vocab_size));
  }
  check.positive("hidden_size", hidden_size);
  check.positive("hidden_size_per_layer_input", hidden_size_per_layer_input);
  check.positive("num_attention_heads", num_attention_heads);
  check.positive("num_key_value_heads", num_key_value_heads);
  if (num_attention_heads % num_key_value_heads != 0) {
    check.fail("num_key_value_heads", fmt::format("{} does not divide num_attention_heads = {}",
                                                  num_key_value_heads, num_attention_heads));
  }
  // Gemma3nTextConfig.validate_architecture (5.x).
  if (hidden_size % num_attention_heads != 0) {
    check.fail("num_attention_heads", fmt::format("{} does not divide hidden_size = {}",
                                                  num_attention_heads, hidden_size));
  }
  check.positive("head_dim", head_dim);
  check.one_of("hidden_activation", hidden_activation, {"gelu_pytorch_tanh", "gelu_new", "gelu"});
  check.length("intermediate_size", intermediate_size.size(), num_hidden_layers,
               "num_hidden_layers");
  for (size_t i = 0; i < intermediate_size.size(); ++i) {
    check.positive(io::index_path("intermediate_size", i), intermediate_size[i]);
  }
  check.positive("max_position_embeddings", max_position_embeddings);
  check.positive("rms_norm_eps", rms_norm_eps);
  const int64_t vocab = vocab_size;
  if (pad_token_id) check.token_id("pad_token_id", *pad_token_id, vocab, "vocab_size");
  if (bos_token_id) check.token_id("bos_token_id", *bos_token_id, vocab, "vocab_size");
  for (size_t i = 0; i < eos_token_id.size(); ++i) {
    check.token_id(io::index_path("eos_token_id", i), eos_token_id[i], vocab, "vocab_size");
  }
  check.one_of("rope_type", rope_type, {"default"});
  check.positive("rope_theta", rope_theta);
  check.positive("rope_local_base_freq", rope_local_base_freq);
  check.probability("attention_dropout", attention_dropout);
  check.positive("sliding_window", sliding_window);
  check.length("layer_types", layer_types.size(), num_hidden_layers, "num_hidden_layers");
  if (final_logit_softcapping) check.positive("final_logit_softcapping", *final_logit_softcapping);
  if (altup_coef_clip) check.positive("altup_coef_clip", *altup_coef_clip);
  check.positive("altup_num_inputs", altup_num_inputs);
  if (altup_active_idx < 0 || altup_active_idx >= altup_num_inputs) {
    check.fail("altup_active_idx", fmt::format("{} is outside [0, altup_num_inputs = {})",
                                               altup_active_idx, altup_num_inputs));
  }
  check.positive("laurel_rank", laurel_rank);
  check.length("activation_sparsity_pattern", activation_sparsity_pattern.size(), num_hidden_layers,
               "num_hidden_layers");
  for (size_t i = 0; i < activation_sparsity_pattern.size(); ++i) {
    check.probability(io::index_path("activation_sparsity_pattern", i),
                      activation_sparsity_pattern[i]);
  }
  check.non_negative("num_kv_shared_layers", num_kv_shared_layers);
  if (num_kv_shared_layers >= num_hidden_layers) {
    check.fail("num_kv_shared_layers", fmt::format("{} must be < num_hidden_layers = {}",
                                                   num_kv_shared_layers, num_hidden_layers));
  }
  const int64_t first_shared = num_hidden_layers - num_kv_shared_layers;
  for (int64_t layer = first_shared; layer < num_hidden_layers; ++layer) {
    if (kv_shared_layer_index(static_cast<int>(layer)) >= 0) continue;
    check.fail("num_kv_shared_layers",
               fmt::format("{} makes layer {} ({}) KV-shared, but no {} layer precedes layer {} "
                           "to produce its K/V",
                           num_kv_shared_layers, layer, layer_type_name(layer_types[layer]),
                           layer_type_name(layer_types[layer]), first_shared));
  }
}

}  // namespace gemma
