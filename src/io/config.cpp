#include "gemma/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "gemma/error.h"
#include "io/json_fields.h"
#include "io/special_tokens.h"
#include "io/vision_layout.h"
#include "util/files.h"

namespace gemma {
namespace {

namespace fs = std::filesystem;
using io::Json;
using io::JsonObject;
using io::JsonValue;

constexpr std::string_view kGemma3n = "gemma3n";
constexpr std::string_view kGemma3nText = "gemma3n_text";
// Bounds on sizes that allocate per layer or per frame: beyond them a value is a typo, and
// honouring it would exhaust memory before any shape check could fire.
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxFrameSamples = int64_t{1} << 24;

// ---------------------------------------------------------------------------------------------
// Value checks shared by the validate() methods
// ---------------------------------------------------------------------------------------------

class Checker {
 public:
  Checker(std::string_view source, std::string_view json_path)
      : source_(source), json_path_(json_path) {}

  std::string path(std::string_view field) const { return io::join_path(json_path_, field); }

  [[noreturn]] void fail(std::string_view field, std::string_view message) const {
    io::fail_config(source_, path(field), message);
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

std::string_view layer_type_name(LayerType type) {
  return type == LayerType::kFullAttention ? "full_attention" : "sliding_attention";
}

// ---------------------------------------------------------------------------------------------
// config.json: text
// ---------------------------------------------------------------------------------------------

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

TextConfig read_text_config(const JsonObject& o) {
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

// ---------------------------------------------------------------------------------------------
// config.json: audio and vision
// ---------------------------------------------------------------------------------------------

std::vector<std::vector<int64_t>> read_int_matrix(const JsonObject& o, std::string_view key,
                                                  std::vector<std::vector<int64_t>> fallback) {
  if (!o.has(key)) return fallback;
  return o.at(key).as_list([](const JsonValue& row) { return row.as_int_list(); });
}

AudioConfig read_audio_config(const JsonObject& o) {
  AudioConfig c;
  c.vocab_size = o.get_int("vocab_size", c.vocab_size);
  c.vocab_offset = o.get_int("vocab_offset", c.vocab_offset);
  c.input_feat_size = o.get_int("input_feat_size", c.input_feat_size);
  c.hidden_size = o.get_int("hidden_size", c.hidden_size);
  c.rms_norm_eps = o.get_double("rms_norm_eps", c.rms_norm_eps);
  c.gradient_clipping = o.get_double("gradient_clipping", c.gradient_clipping);
  c.conf_attention_chunk_size = o.get_int("conf_attention_chunk_size", c.conf_attention_chunk_size);
  c.conf_attention_context_left =
      o.get_int("conf_attention_context_left", c.conf_attention_context_left);
  c.conf_attention_context_right =
      o.get_int("conf_attention_context_right", c.conf_attention_context_right);
  c.conf_attention_logit_cap = o.get_double("conf_attention_logit_cap", c.conf_attention_logit_cap);
  c.conf_num_attention_heads = o.get_int("conf_num_attention_heads", c.conf_num_attention_heads);
  c.conf_num_hidden_layers = o.get_int("conf_num_hidden_layers", c.conf_num_hidden_layers);
  c.conf_conv_kernel_size = o.get_int("conf_conv_kernel_size", c.conf_conv_kernel_size);
  c.conf_reduction_factor = o.get_int("conf_reduction_factor", c.conf_reduction_factor);
  c.conf_residual_weight = o.get_double("conf_residual_weight", c.conf_residual_weight);
  if (o.has("sscp_conv_channel_size")) {
    c.sscp_conv_channel_size = o.at("sscp_conv_channel_size").as_int_list();
  }
  c.sscp_conv_group_norm_eps = o.get_double("sscp_conv_group_norm_eps", c.sscp_conv_group_norm_eps);
  c.sscp_conv_kernel_size = read_int_matrix(o, "sscp_conv_kernel_size", c.sscp_conv_kernel_size);
  c.sscp_conv_stride_size = read_int_matrix(o, "sscp_conv_stride_size", c.sscp_conv_stride_size);
  return c;
}

MobileNetLayout read_layout(const JsonObject& vision, const std::string& architecture) {
  const std::string layout_path = vision.path_of("gemma_cpp_layout");
  const auto layout = vision.child("gemma_cpp_layout");
  if (!layout) {
    if (architecture == io::kMobileNetV5_300mEnc) return MobileNetLayout::mobilenetv5_300m();
    vision.fail("gemma_cpp_layout",
                fmt::format("missing, and architecture \"{}\" has no built-in layout (only \"{}\" "
                            "has); describe the network here (docs/vision-layout.md)",
                            architecture, io::kMobileNetV5_300mEnc));
  }
  if (!layout->has("arch_def")) layout->fail("arch_def", "missing");
  io::LayoutSpec spec;
  spec.arch_def =
      layout->at("arch_def").as_list([](const JsonValue& stage) { return stage.as_string_list(); });
  spec.stem_size = layout->get_int("stem_size", spec.stem_size);
  if (layout->has("msfa_indices")) spec.msfa_indices = layout->at("msfa_indices").as_int_list();
  spec.msfa_output_resolution =
      layout->get_int("msfa_output_resolution", spec.msfa_output_resolution);
  spec.msfa_expansion_ratio = layout->get_double("msfa_expansion_ratio", spec.msfa_expansion_ratio);
  return io::build_mobilenet_layout(spec, vision.source(), layout_path);
}

VisionConfig read_vision_config(const JsonObject& o) {
  VisionConfig c;
  c.architecture = o.get_string("architecture", c.architecture);
  c.hidden_size = o.get_int("hidden_size", c.hidden_size);
  c.vocab_size = o.get_int("vocab_size", c.vocab_size);
  c.vocab_offset = o.get_int("vocab_offset", c.vocab_offset);
  c.rms_norm_eps = o.get_double("rms_norm_eps", c.rms_norm_eps);
  c.do_pooling = o.get_bool("do_pooling", c.do_pooling);
  // timm.create_model(architecture, **model_args) would build a different network than the layout.
  if (o.has("model_args") &&
      !(o.at("model_args").raw().is_object() && o.at("model_args").raw().empty())) {
    o.fail("model_args",
           "timm model_args are not supported; describe the network in "
           "gemma_cpp_layout instead");
  }
  c.layout = read_layout(o, c.architecture);
  return c;
}

// ---------------------------------------------------------------------------------------------
// config.json: whole model
// ---------------------------------------------------------------------------------------------

ModelConfig read_model_config(const JsonObject& root) {
  ModelConfig m;
  if (!root.has("model_type")) {
    root.fail("model_type",
              fmt::format("missing; expected \"{}\" or \"{}\"", kGemma3n, kGemma3nText));
  }
  m.model_type = root.at("model_type").as_string();
  if (m.model_type == kGemma3nText) {
    m.text = read_text_config(root);
    m.has_vision = false;
    m.has_audio = false;
    m.eos_token_id = m.text.eos_token_id;
    m.tie_word_embeddings = m.text.tie_word_embeddings;
    return m;
  }
  Checker(root.source(), "").one_of("model_type", m.model_type, {kGemma3n, kGemma3nText});
  if (const auto text = root.child("text_config")) m.text = read_text_config(*text);
  if (const auto vision = root.child("vision_config")) m.vision = read_vision_config(*vision);
  if (const auto audio = root.child("audio_config")) m.audio = read_audio_config(*audio);
  m.audio_soft_tokens_per_image =
      root.get_int("audio_soft_tokens_per_image", m.audio_soft_tokens_per_image);
  m.vision_soft_tokens_per_image =
      root.get_int("vision_soft_tokens_per_image", m.vision_soft_tokens_per_image);
  m.boi_token_id = root.get_int("boi_token_id", m.boi_token_id);
  m.eoi_token_id = root.get_int("eoi_token_id", m.eoi_token_id);
  m.image_token_id = root.get_int("image_token_id", m.image_token_id);
  m.boa_token_id = root.get_int("boa_token_id", m.boa_token_id);
  m.eoa_token_id = root.get_int("eoa_token_id", m.eoa_token_id);
  m.audio_token_id = root.get_int("audio_token_id", m.audio_token_id);
  m.eos_token_id = root.get_token_ids("eos_token_id", m.eos_token_id);
  m.tie_word_embeddings = root.get_bool("tie_word_embeddings", m.tie_word_embeddings);
  return m;
}

// ---------------------------------------------------------------------------------------------
// generation_config.json, preprocessor / processor configs
// ---------------------------------------------------------------------------------------------

GenerationDefaults read_generation_defaults(const JsonObject& o) {
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

// image_mean / image_std: a list per channel, or one number for all three.
std::vector<double> read_channel_values(const JsonObject& o, std::string_view key,
                                        std::vector<double> fallback) {
  if (!o.has(key)) return fallback;
  const JsonValue value = o.at(key);
  if (value.raw().is_array()) return value.as_double_list();
  return std::vector<double>(3, value.as_double());
}

ImageSize read_image_size(const JsonObject& o, ImageSize fallback) {
  const auto size = o.child("size");
  if (!size) return fallback;
  // Other processors use {"shortest_edge"} or a bare int; SigLIP resizes to an exact box.
  if (!size->contains("height") || !size->contains("width")) {
    size->fail_here(
        fmt::format("expected {{\"height\", \"width\"}}, got {}", io::describe_json(size->raw())));
  }
  return {size->get_int("height", 0), size->get_int("width", 0)};
}

ImageProcessorConfig read_image_processor(const JsonObject& o) {
  ImageProcessorConfig c;
  c.do_resize = o.get_bool("do_resize", c.do_resize);
  c.size = read_image_size(o, c.size);
  c.resample = o.get_int("resample", c.resample);
  c.do_rescale = o.get_bool("do_rescale", c.do_rescale);
  c.rescale_factor = o.get_double("rescale_factor", c.rescale_factor);
  c.do_normalize = o.get_bool("do_normalize", c.do_normalize);
  c.image_mean = read_channel_values(o, "image_mean", c.image_mean);
  c.image_std = read_channel_values(o, "image_std", c.image_std);
  c.do_convert_rgb = o.get_bool("do_convert_rgb", c.do_convert_rgb);
  c.image_processor_type = o.get_string("image_processor_type", c.image_processor_type);
  return c;
}

// Gemma3nAudioFeatureExtractor.__init__: int(round(sampling_rate * ms / 1000.0)); Python's round
// is half-to-even, as nearbyint under the default rounding mode.
int64_t samples_for_ms(const JsonObject& o, std::string_view key, int64_t sampling_rate,
                       double ms) {
  const double samples = std::nearbyint(static_cast<double>(sampling_rate) * ms / 1000.0);
  if (!(samples >= 1.0 && samples <= static_cast<double>(kMaxFrameSamples))) {
    o.fail(key, fmt::format("{} ms at {} Hz gives {} samples, expected 1 to {}", ms, sampling_rate,
                            samples, kMaxFrameSamples));
  }
  return static_cast<int64_t>(samples);
}

std::optional<std::vector<double>> read_optional_doubles(const JsonObject& o,
                                                         std::string_view key) {
  if (!o.has(key)) return std::nullopt;
  return o.at(key).as_double_list();
}

AudioFeatureConfig read_audio_features(const JsonObject& o) {
  AudioFeatureConfig c;
  c.feature_size = o.get_int("feature_size", c.feature_size);
  c.sampling_rate = o.get_int("sampling_rate", c.sampling_rate);
  c.padding_value = o.get_double("padding_value", c.padding_value);
  c.return_attention_mask = o.get_bool("return_attention_mask", c.return_attention_mask);
  c.frame_length_ms = o.get_double("frame_length_ms", c.frame_length_ms);
  c.hop_length_ms = o.get_double("hop_length_ms", c.hop_length_ms);
  Checker(o.source(), o.path()).positive("sampling_rate", c.sampling_rate);
  c.frame_length = samples_for_ms(o, "frame_length_ms", c.sampling_rate, c.frame_length_ms);
  c.hop_length = samples_for_ms(o, "hop_length_ms", c.sampling_rate, c.hop_length_ms);
  c.min_frequency = o.get_double("min_frequency", c.min_frequency);
  c.max_frequency = o.get_double("max_frequency", c.max_frequency);
  c.preemphasis = o.get_double("preemphasis", c.preemphasis);
  c.preemphasis_htk_flavor = o.get_bool("preemphasis_htk_flavor", c.preemphasis_htk_flavor);
  c.fft_overdrive = o.get_bool("fft_overdrive", c.fft_overdrive);
  // 2 ** ceil(log2(frame_length)), doubled by fft_overdrive.
  c.fft_length = 1;
  while (c.fft_length < c.frame_length) c.fft_length *= 2;
  if (c.fft_overdrive) c.fft_length *= 2;
  c.dither = o.get_double("dither", c.dither);
  c.input_scale_factor = o.get_double("input_scale_factor", c.input_scale_factor);
  c.mel_floor = o.get_double("mel_floor", c.mel_floor);
  c.per_bin_mean = read_optional_doubles(o, "per_bin_mean");
  c.per_bin_stddev = read_optional_doubles(o, "per_bin_stddev");
  c.padding = o.get_string("padding", c.padding);
  c.max_length = o.get_int("max_length", c.max_length);
  c.truncation = o.get_bool("truncation", c.truncation);
  c.pad_to_multiple_of = o.get_int("pad_to_multiple_of", c.pad_to_multiple_of);
  c.feature_extractor_type = o.get_string("feature_extractor_type", c.feature_extractor_type);
  return c;
}

ProcessorConfig read_processor_config(const JsonObject& o) {
  ProcessorConfig c;
  c.image_seq_length = o.get_int("image_seq_length", c.image_seq_length);
  c.audio_seq_length = o.get_int("audio_seq_length", c.audio_seq_length);
  return c;
}

// ---------------------------------------------------------------------------------------------
// tokenizer_config.json / special_tokens_map.json
// ---------------------------------------------------------------------------------------------

// A special token is a string or an AddedToken object {"content": ...}; null means none.
std::string token_content(const JsonValue& value) {
  if (value.raw().is_null()) return {};
  if (value.raw().is_string()) return value.as_string();
  if (!value.raw().is_object()) value.fail_type("a string or an AddedToken object");
  const JsonObject token(value.raw(), value.source(), value.path());
  if (!token.has("content")) token.fail("content", "missing");
  return token.at("content").as_string();
}

std::vector<std::string> token_list(const JsonValue& value) { return value.as_list(token_content); }

AddedToken read_added_token(const JsonObject& o) {
  AddedToken t;
  if (!o.has("content")) o.fail("content", "missing");
  t.content = o.at("content").as_string();
  t.special = o.get_bool("special", t.special);
  t.lstrip = o.get_bool("lstrip", t.lstrip);
  t.rstrip = o.get_bool("rstrip", t.rstrip);
  t.normalized = o.get_bool("normalized", !t.special);
  t.single_word = o.get_bool("single_word", t.single_word);
  return t;
}

std::map<int64_t, AddedToken> read_added_tokens(const JsonObject& decoder) {
  std::map<int64_t, AddedToken> tokens;
  for (const auto& [key, value] : decoder.raw().items()) {
    int64_t id = -1;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || end != key.data() + key.size() || id < 0) {
      decoder.fail(key, "key must be a non-negative token id");
    }
    tokens[id] = read_added_token(JsonObject(value, decoder.source(), decoder.path_of(key)));
  }
  return tokens;
}

// Every named token at the top level; the multimodal ones also inside the nested maps.
void read_named_tokens(const JsonObject& o, TokenizerConfig& c, bool multimodal_only) {
  for (const auto& field : io::kSpecialTokenFields) {
    if (multimodal_only && !field.multimodal) continue;
    if (o.contains(field.name)) c.*field.member = token_content(o.at(field.name));
  }
}

// The keys both tokenizer_config.json and special_tokens_map.json may carry.
void read_special_tokens(const JsonObject& o, TokenizerConfig& c) {
  read_named_tokens(o, c, /*multimodal_only=*/false);
  if (o.has("additional_special_tokens")) {
    c.additional_special_tokens = token_list(o.at("additional_special_tokens"));
  }
  for (const std::string_view nested : {"model_specific_special_tokens", "extra_special_tokens"}) {
    if (!o.has(nested)) continue;
    const JsonValue value = o.at(nested);
    if (value.raw().is_array()) {
      c.additional_special_tokens = token_list(value);
    } else {
      read_named_tokens(JsonObject(value.raw(), o.source(), value.path()), c,
                        /*multimodal_only=*/true);
    }
  }
  // Top-level keys win over the nested maps.
  read_named_tokens(o, c, /*multimodal_only=*/true);
}

// A template string, or a list of {"name", "template"} from which "default" is used.
std::string read_chat_template(const JsonObject& o) {
  if (!o.has("chat_template")) return {};
  const JsonValue value = o.at("chat_template");
  if (value.raw().is_string()) return value.as_string();
  if (!value.raw().is_array()) value.fail_type("a string or a list of {name, template}");
  for (size_t i = 0; i < value.raw().size(); ++i) {
    const JsonObject entry(value.raw()[i], o.source(), io::index_path(value.path(), i));
    if (entry.get_string("name", "") == "default") return entry.get_string("template", "");
  }
  return {};
}

// transformers writes "no limit" as int(1e30), which JSON parsers read back as a float.
int64_t read_model_max_length(const JsonObject& o, int64_t fallback) {
  if (!o.has("model_max_length")) return fallback;
  const JsonValue value = o.at("model_max_length");
  if (value.raw().is_number_float()) {
    const double v = value.as_double();
    if (v >= static_cast<double>(std::numeric_limits<int64_t>::max())) {
      return std::numeric_limits<int64_t>::max();
    }
    if (v != std::floor(v)) value.fail_type("an integer");
    if (v < 1.0) value.fail(fmt::format("must be > 0, got {}", v));
    return static_cast<int64_t>(v);
  }
  if (value.raw().is_number_unsigned() &&
      value.raw().get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::numeric_limits<int64_t>::max();
  }
  return value.as_int();
}

TokenizerConfig read_tokenizer_config(const JsonObject& o) {
  TokenizerConfig c;
  c.add_bos_token = o.get_bool("add_bos_token", c.add_bos_token);
  c.add_eos_token = o.get_bool("add_eos_token", c.add_eos_token);
  read_special_tokens(o, c);
  if (const auto decoder = o.child("added_tokens_decoder"))
    c.added_tokens = read_added_tokens(*decoder);
  c.chat_template = read_chat_template(o);
  c.model_max_length = read_model_max_length(o, c.model_max_length);
  c.padding_side = o.get_string("padding_side", c.padding_side);
  c.clean_up_tokenization_spaces =
      o.get_bool("clean_up_tokenization_spaces", c.clean_up_tokenization_spaces);
  c.tokenizer_class = o.get_string("tokenizer_class", c.tokenizer_class);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

struct LoadedJson {
  std::string source;
  Json doc;
};

std::optional<LoadedJson> load_optional_json(const fs::path& path) {
  auto text = util::read_optional_file(path);
  if (!text) return std::nullopt;
  LoadedJson loaded{path.string(), {}};
  loaded.doc = io::parse_json(*text, loaded.source);
  return loaded;
}

LoadedJson load_required_json(const fs::path& path) {
  auto loaded = load_optional_json(path);
  if (!loaded) throw IoError(fmt::format("cannot open {}: no such file", path.string()));
  return std::move(*loaded);
}

// processor_config.json's nested `section` (5.x) if it has one, else the flat
// preprocessor_config.json (4.5x), else nothing.
template <typename Read>
auto load_processor_section(const fs::path& dir, std::string_view section, Read read)
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

std::string load_chat_template(const fs::path& dir, const TokenizerConfig& tokenizer) {
  if (auto jinja = util::read_optional_file(dir / "chat_template.jinja")) return std::move(*jinja);
  if (const auto legacy = load_optional_json(dir / "chat_template.json")) {
    const JsonObject root(legacy->doc, legacy->source, "");
    return root.get_string("chat_template", "");
  }
  return tokenizer.chat_template;
}

void check_seq_length(const std::string& source, std::string_view field, int64_t processor_value,
                      std::string_view model_field, int64_t model_value) {
  if (processor_value == model_value) return;
  io::fail_config(source, field,
                  fmt::format("{} does not match config.json {} = {}", processor_value, model_field,
                              model_value));
}

template <typename Config, typename Read>
Config parse_flat(std::string_view json_text, std::string_view source_name, Read read) {
  const Json doc = io::parse_json(json_text, source_name);
  Config config = read(JsonObject(doc, source_name, ""));
  config.validate(source_name);
  return config;
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// TextConfig
// -----------------------------------------------------------------------------------------------

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

// -----------------------------------------------------------------------------------------------
// AudioConfig, VisionConfig, ModelConfig
// -----------------------------------------------------------------------------------------------

void AudioConfig::validate(std::string_view source, std::string_view json_path) const {
  const Checker check(source, json_path);
  check.positive("vocab_size", vocab_size);
  check.non_negative("vocab_offset", vocab_offset);
  check.positive("input_feat_size", input_feat_size);
  check.positive("hidden_size", hidden_size);
  check.positive("rms_norm_eps", rms_norm_eps);
  check.positive("gradient_clipping", gradient_clipping);
  check.positive("conf_attention_chunk_size", conf_attention_chunk_size);
  // The left context counts the frame itself, so 1 means "no past frames".
  check.positive("conf_attention_context_left", conf_attention_context_left);
  check.non_negative("conf_attention_context_right", conf_attention_context_right);
  check.positive("conf_attention_logit_cap", conf_attention_logit_cap);
  check.positive("conf_num_attention_heads", conf_num_attention_heads);
  if (hidden_size % conf_num_attention_heads != 0) {
    check.fail("conf_num_attention_heads", fmt::format("{} does not divide hidden_size = {}",
                                                       conf_num_attention_heads, hidden_size));
  }
  check.positive("conf_num_hidden_layers", conf_num_hidden_layers);
  check.positive("conf_conv_kernel_size", conf_conv_kernel_size);
  check.positive("conf_reduction_factor", conf_reduction_factor);
  check.non_negative("conf_residual_weight", conf_residual_weight);
  check.positive("sscp_conv_group_norm_eps", sscp_conv_group_norm_eps);
  // Gemma3nAudioSubSampleConvProjection builds exactly conv_0 and conv_1.
  check.length("sscp_conv_channel_size", sscp_conv_channel_size.size(), 2, "the conv count");
  for (size_t i = 0; i < sscp_conv_channel_size.size(); ++i) {
    check.positive(io::index_path("sscp_conv_channel_size", i), sscp_conv_channel_size[i]);
  }
  for (const auto& [field, sizes] : {std::pair{"sscp_conv_kernel_size", &sscp_conv_kernel_size},
                                     std::pair{"sscp_conv_stride_size", &sscp_conv_stride_size}}) {
    check.length(field, sizes->size(), 2, "the conv count");
    for (size_t i = 0; i < sizes->size(); ++i) {
      const std::string row = io::index_path(field, i);
      check.length(row, (*sizes)[i].size(), 2, "{time, frequency} entries");
      for (size_t j = 0; j < (*sizes)[i].size(); ++j) {
        check.positive(io::index_path(row, j), (*sizes)[i][j]);
      }
    }
  }
}

void VisionConfig::validate(std::string_view source, std::string_view json_path) const {
  const Checker check(source, json_path);
  if (architecture.empty()) check.fail("architecture", "must not be empty");
  check.positive("hidden_size", hidden_size);
  check.positive("vocab_size", vocab_size);
  check.non_negative("vocab_offset", vocab_offset);
  check.positive("rms_norm_eps", rms_norm_eps);
  layout.validate(source, check.path("gemma_cpp_layout"));
}

void ModelConfig::validate(std::string_view source) const {
  const Checker root(source, "");
  root.one_of("model_type", model_type, {kGemma3n, kGemma3nText});
  const bool multimodal = model_type == kGemma3n;
  text.validate(source, multimodal ? "text_config" : "");
  const int64_t vocab = text.vocab_size;
  const std::string vocab_name = multimodal ? "text_config.vocab_size" : "vocab_size";
  for (size_t i = 0; i < eos_token_id.size(); ++i) {
    root.token_id(io::index_path("eos_token_id", i), eos_token_id[i], vocab, vocab_name);
  }
  if (!multimodal) return;

  root.positive("audio_soft_tokens_per_image", audio_soft_tokens_per_image);
  root.positive("vision_soft_tokens_per_image", vision_soft_tokens_per_image);
  for (const auto& [field, id] :
       {std::pair{"boi_token_id", boi_token_id}, std::pair{"eoi_token_id", eoi_token_id},
        std::pair{"image_token_id", image_token_id}, std::pair{"boa_token_id", boa_token_id},
        std::pair{"eoa_token_id", eoa_token_id}, std::pair{"audio_token_id", audio_token_id}}) {
    root.token_id(field, id, vocab, vocab_name);
  }
  // Gemma3nModel routes ids in [vision offset, audio offset) to embed_vision and ids from the
  // audio offset on to embed_audio; each table must fit in the text vocabulary.
  const auto check_range = [&](std::string_view part, int64_t offset, int64_t size) {
    if (offset + size > vocab) {
      root.fail(io::join_path(part, "vocab_offset"),
                fmt::format("vocab_offset + vocab_size = {} + {} exceeds {} = {}", offset, size,
                            vocab_name, vocab));
    }
  };
  if (has_vision) {
    vision.validate(source, "vision_config");
    check_range("vision_config", vision.vocab_offset, vision.vocab_size);
  }
  if (has_audio) {
    audio.validate(source, "audio_config");
    check_range("audio_config", audio.vocab_offset, audio.vocab_size);
  }
  if (has_vision && has_audio && vision.vocab_offset + vision.vocab_size > audio.vocab_offset) {
    root.fail("vision_config.vocab_offset",
              fmt::format("vision ids [{}, {}) overlap audio ids starting at "
                          "audio_config.vocab_offset = {}",
                          vision.vocab_offset, vision.vocab_offset + vision.vocab_size,
                          audio.vocab_offset));
  }
}

// -----------------------------------------------------------------------------------------------
// GenerationDefaults, processors, tokenizer
// -----------------------------------------------------------------------------------------------

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

void ImageProcessorConfig::validate(std::string_view source, std::string_view json_path) const {
  const Checker check(source, json_path);
  check.positive("size.height", size.height);
  check.positive("size.width", size.width);
  // PIL.Image.Resampling: NEAREST 0, LANCZOS 1, BILINEAR 2, BICUBIC 3, BOX 4, HAMMING 5.
  if (resample < 0 || resample > 5) {
    check.fail("resample", fmt::format("must be a PIL filter code in [0, 5], got {}", resample));
  }
  check.positive("rescale_factor", rescale_factor);
  check.length("image_mean", image_mean.size(), 3, "the RGB channel count");
  check.length("image_std", image_std.size(), 3, "the RGB channel count");
  for (size_t i = 0; i < image_std.size(); ++i) {
    check.positive(io::index_path("image_std", i), image_std[i]);
  }
}

void AudioFeatureConfig::validate(std::string_view source, std::string_view json_path) const {
  const Checker check(source, json_path);
  check.positive("feature_size", feature_size);
  check.positive("sampling_rate", sampling_rate);
  check.positive("frame_length_ms", frame_length_ms);
  check.positive("hop_length_ms", hop_length_ms);
  check.positive("frame_length", frame_length);
  check.positive("hop_length", hop_length);
  if (fft_length < frame_length || (fft_length & (fft_length - 1)) != 0) {
    check.fail("fft_length", fmt::format("must be a power of two >= frame_length = {}, got {}",
                                         frame_length, fft_length));
  }
  check.non_negative("min_frequency", min_frequency);
  if (!(max_frequency > min_frequency)) {
    check.fail("max_frequency",
               fmt::format("must be > min_frequency = {}, got {}", min_frequency, max_frequency));
  }
  if (!(preemphasis >= 0.0 && preemphasis <= 1.0)) {
    check.fail("preemphasis", fmt::format("must be in [0, 1], got {}", preemphasis));
  }
  check.non_negative("dither", dither);
  check.positive("mel_floor", mel_floor);
  if (per_bin_mean) {
    check.length("per_bin_mean", per_bin_mean->size(), feature_size, "feature_size");
  }
  if (per_bin_stddev) {
    check.length("per_bin_stddev", per_bin_stddev->size(), feature_size, "feature_size");
    for (size_t i = 0; i < per_bin_stddev->size(); ++i) {
      check.positive(io::index_path("per_bin_stddev", i), (*per_bin_stddev)[i]);
    }
  }
  check.one_of("padding", padding, {"longest", "max_length", "do_not_pad"});
  check.positive("max_length", max_length);
  check.positive("pad_to_multiple_of", pad_to_multiple_of);
}

void ProcessorConfig::validate(std::string_view source) const {
  const Checker check(source, "");
  check.positive("image_seq_length", image_seq_length);
  check.positive("audio_seq_length", audio_seq_length);
}

void TokenizerConfig::validate(std::string_view source) const {
  const Checker check(source, "");
  check.positive("model_max_length", model_max_length);
  check.one_of("padding_side", padding_side, {"left", "right"});
  for (const auto& [id, token] : added_tokens) {
    if (token.content.empty()) {
      check.fail(
          io::join_path(io::join_path("added_tokens_decoder", std::to_string(id)), "content"),
          "must not be empty");
    }
  }
}

// -----------------------------------------------------------------------------------------------
// Parsing and loading
// -----------------------------------------------------------------------------------------------

ModelConfig parse_model_config(std::string_view json_text, std::string_view source_name) {
  return parse_flat<ModelConfig>(json_text, source_name, read_model_config);
}

GenerationDefaults parse_generation_defaults(std::string_view json_text,
                                             std::string_view source_name) {
  return parse_flat<GenerationDefaults>(json_text, source_name, read_generation_defaults);
}

ImageProcessorConfig parse_image_processor_config(std::string_view json_text,
                                                  std::string_view source_name) {
  return parse_flat<ImageProcessorConfig>(json_text, source_name, read_image_processor);
}

AudioFeatureConfig parse_audio_feature_config(std::string_view json_text,
                                              std::string_view source_name) {
  return parse_flat<AudioFeatureConfig>(json_text, source_name, read_audio_features);
}

ProcessorConfig parse_processor_config(std::string_view json_text, std::string_view source_name) {
  return parse_flat<ProcessorConfig>(json_text, source_name, read_processor_config);
}

TokenizerConfig parse_tokenizer_config(std::string_view json_text, std::string_view source_name) {
  return parse_flat<TokenizerConfig>(json_text, source_name, read_tokenizer_config);
}

ModelConfig load_model_config(const fs::path& model_dir) {
  const LoadedJson loaded = load_required_json(model_dir / "config.json");
  ModelConfig config = read_model_config(JsonObject(loaded.doc, loaded.source, ""));
  config.validate(loaded.source);
  return config;
}

GenerationDefaults load_generation_defaults(const fs::path& model_dir) {
  const auto loaded = load_optional_json(model_dir / "generation_config.json");
  if (!loaded) return {};
  GenerationDefaults config = read_generation_defaults(JsonObject(loaded->doc, loaded->source, ""));
  config.validate(loaded->source);
  return config;
}

ImageProcessorConfig load_image_processor_config(const fs::path& model_dir) {
  return load_processor_section(model_dir, "image_processor", read_image_processor)
      .value_or(ImageProcessorConfig{});
}

AudioFeatureConfig load_audio_feature_config(const fs::path& model_dir) {
  return load_processor_section(model_dir, "feature_extractor", read_audio_features)
      .value_or(AudioFeatureConfig{});
}

ProcessorConfig load_processor_config(const fs::path& model_dir) {
  const auto loaded = load_optional_json(model_dir / "processor_config.json");
  if (!loaded) return {};
  ProcessorConfig config = read_processor_config(JsonObject(loaded->doc, loaded->source, ""));
  config.validate(loaded->source);
  return config;
}

TokenizerConfig load_tokenizer_config(const fs::path& model_dir) {
  TokenizerConfig config;
  if (const auto loaded = load_optional_json(model_dir / "tokenizer_config.json")) {
    config = read_tokenizer_config(JsonObject(loaded->doc, loaded->source, ""));
    config.validate(loaded->source);
  }
  // transformers applies special_tokens_map.json over tokenizer_config.json's values.
  if (const auto loaded = load_optional_json(model_dir / "special_tokens_map.json")) {
    read_special_tokens(JsonObject(loaded->doc, loaded->source, ""), config);
    config.validate(loaded->source);
  }
  return config;
}

ModelFiles load_model_files(const fs::path& model_dir) {
  ModelFiles files;
  files.model = load_model_config(model_dir);
  files.generation = load_generation_defaults(model_dir);
  files.image = load_image_processor_config(model_dir);
  files.audio = load_audio_feature_config(model_dir);
  files.processor = load_processor_config(model_dir);
  files.tokenizer = load_tokenizer_config(model_dir);
  files.chat_template = load_chat_template(model_dir, files.tokenizer);
  const fs::path processor_path = model_dir / "processor_config.json";
  if (files.model.model_type == kGemma3n && fs::exists(processor_path)) {
    const std::string source = processor_path.string();
    if (files.model.has_vision) {
      check_seq_length(source, "image_seq_length", files.processor.image_seq_length,
                       "vision_soft_tokens_per_image", files.model.vision_soft_tokens_per_image);
    }
    if (files.model.has_audio) {
      check_seq_length(source, "audio_seq_length", files.processor.audio_seq_length,
                       "audio_soft_tokens_per_image", files.model.audio_soft_tokens_per_image);
    }
  }
  return files;
}

}  // namespace gemma
