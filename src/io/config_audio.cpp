#include "io/config_parse.h"

namespace gemma {

// The checks, loaders and readers shared by the config files (io/config_parse.h).
using namespace io;

namespace {

std::vector<std::vector<int64_t>> read_int_matrix(const JsonObject& o, std::string_view key,
                                                  std::vector<std::vector<int64_t>> fallback) {
  if (!o.has(key)) return fallback;
  return o.at(key).as_list([](const JsonValue& row) { return row.as_int_list(); });
}

}  // namespace

AudioConfig io::read_audio_config(const JsonObject& o) {
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

}  // namespace gemma
