#include "model/gemma3n.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/full.h>
#include <ATen/ops/full_like.h>
#include <c10/core/GradMode.h>
#include <ATen/ops/masked_fill.h>
#include <ATen/ops/tanh.h>
#include <ATen/ops/where.h>
#include <fmt/format.h>

#include <cmath>

#include "gemma/error.h"
#include "generation/kv_cache.h"
#include "nn/modules.h"

namespace gemma::model {

namespace {

// fp16 overflows in MobileNetV5 (known upstream): the vision tower then stays in float32.
at::TensorOptions vision_options(const at::TensorOptions& options) {
  return options.dtype() == at::kHalf ? options.dtype(at::kFloat) : options;
}

// masked_scatter of `features` [.., D] over the positions of `token_id`, after checking that the
// prompt has exactly one placeholder per feature row (transformers' get_placeholder_mask).
at::Tensor scatter_features(const at::Tensor& embeds, const at::Tensor& input_ids,
                            int64_t token_id, const at::Tensor& features, const char* what) {
  const auto mask = input_ids == token_id;
  const int64_t placeholders = mask.sum().item<int64_t>();
  const int64_t rows = features.numel() / features.size(-1);
  if (placeholders != rows) {
    throw ProcessorError(fmt::format(
        "{} features and placeholders do not match: the prompt has {} {} placeholder tokens (id {}) "
        "but the {} give {} feature rows",
        what, placeholders, what, token_id, what, rows));
  }
  return embeds.masked_scatter(mask.unsqueeze(-1), features.to(embeds.scalar_type()));
}

}  // namespace

Gemma3nModelImpl::Gemma3nModelImpl(const ModelConfig& config, const at::TensorOptions& options,
                                   Towers towers)
    : config_(config) {
  const auto& t = config.text;
  language_model = register_module("language_model", text::TextModel(t, options));
  if (config.has_vision && towers.vision) {
    vision_tower =
        register_module("vision_tower", vision::VisionTower(config.vision, vision_options(options)));
  }
  if (config.has_audio && towers.audio) {
    audio_tower = register_module("audio_tower", audio::AudioEncoder(config.audio, options));
  }
  if (config.has_vision) {
    const auto& v = config.vision;
    embed_vision = register_module("embed_vision",
                                   MultimodalEmbedder(v.vocab_size, v.vocab_offset, v.hidden_size,
                                                      v.rms_norm_eps, t.hidden_size, options));
  }
  if (config.has_audio) {
    const auto& a = config.audio;
    embed_audio = register_module("embed_audio",
                                  MultimodalEmbedder(a.vocab_size, a.vocab_offset, a.hidden_size,
                                                     a.rms_norm_eps, t.hidden_size, options));
  }
}

at::Tensor Gemma3nModelImpl::embed_ids(const at::Tensor& input_ids) const {
  auto embeds = language_model->embed(input_ids);
  // Inference runs each embedder only over its own ids. In training it runs over every position
  // with a dummy id and selects, as transformers does: the selected values are the same, but the
  // embedders' parameters (and LoRA on their projections) then get a gradient, zero or not, at
  // every step, which AdamW's state and weight decay depend on.
  const bool as_transformers = at::GradMode::is_enabled();
  auto replace = [&](const MultimodalEmbedder& embedder, const at::Tensor& mask) {
    if (!embedder) return;
    if (as_transformers) {
      const auto dummy = embedder->vocab_offset() + embedder->vocab_size() - 1;
      auto ids = at::where(mask, input_ids, at::full_like(input_ids, dummy));
      embeds = at::where(mask.unsqueeze(-1), embedder->embed_ids(ids).to(embeds.scalar_type()), embeds);
      return;
    }
    if (!mask.any().item<bool>()) return;
    auto rows = embedder->embed_ids(input_ids.masked_select(mask)).to(embeds.scalar_type());
    embeds = embeds.masked_scatter(mask.unsqueeze(-1), rows);
  };
  if (embed_audio) {
    const auto audio_start = embed_audio->vocab_offset();
    if (embed_vision) {
      replace(embed_vision,
              (input_ids >= embed_vision->vocab_offset()) & (input_ids < audio_start));
    }
    replace(embed_audio, input_ids >= audio_start);
  } else if (embed_vision) {
    replace(embed_vision, input_ids >= embed_vision->vocab_offset());
  }
  return embeds;
}

at::Tensor Gemma3nModelImpl::get_image_features(const at::Tensor& pixel_values) {
  if (!vision_tower) throw InvalidArgumentError("images given but the vision tower is not loaded");
  auto out = vision_tower->forward(pixel_values);  // [N, C, R, R]
  const auto n = out.size(0), c = out.size(1);
  out = out.reshape({n, c, -1}).permute({0, 2, 1});
  // transformers scales by sqrt(C) in the tower's dtype before the embedder.
  out = out * std::sqrt(static_cast<double>(c));
  return embed_vision->embed_features(out.to(embed_vision->embedding.scalar_type()));
}

audio::AudioEncoderOutput Gemma3nModelImpl::get_audio_features(
    const at::Tensor& input_features, const at::Tensor& input_features_mask) {
  if (!audio_tower) throw InvalidArgumentError("audio given but the audio tower is not loaded");
  auto out = audio_tower->forward(input_features, input_features_mask.logical_not());
  out.output = embed_audio->embed_features(out.output);
  return out;
}

// The processor always inserts audio_soft_tokens_per_image placeholders per clip; the tower gives
// at most that many (fewer for clips shorter than 30 s). Padded frames and the missing tail take
// the embedding of the last audio vocabulary id, as transformers does.
at::Tensor Gemma3nModelImpl::padded_audio_features(const at::Tensor& input_features,
                                                   const at::Tensor& input_features_mask) {
  auto out = get_audio_features(input_features, input_features_mask);
  auto& features = out.output;
  const auto pad_id = at::full({1, 1}, config_.text.vocab_size - 1,
                               at::TensorOptions().dtype(at::kLong).device(features.device()));
  const auto pad = embed_audio->embed_ids(pad_id).to(features.scalar_type());  // [1, 1, D]
  features = at::where(out.mask.unsqueeze(-1), pad, features);
  const int64_t missing = config_.audio_soft_tokens_per_image - features.size(1);
  if (missing < 0) {
    throw ProcessorError(fmt::format(
        "an audio clip gives {} soft tokens, more than the {} the prompt reserves per clip; clips "
        "must be at most 30 s (split longer audio)",
        features.size(1), config_.audio_soft_tokens_per_image));
  }
  return at::cat({features, pad.expand({features.size(0), missing, features.size(2)})}, 1);
}

at::Tensor Gemma3nModelImpl::embed_inputs(const at::Tensor& input_ids,
                                          const MultimodalInputs& media) {
  auto embeds = embed_ids(input_ids);
  if (media.pixel_values.defined()) {
    embeds = scatter_features(embeds, input_ids, config_.image_token_id,
                              get_image_features(media.pixel_values), "image");
  }
  if (media.input_features.defined()) {
    if (!media.input_features_mask.defined())
      throw InvalidArgumentError("input_features given without input_features_mask");
    embeds = scatter_features(embeds, input_ids, config_.audio_token_id,
                              padded_audio_features(media.input_features, media.input_features_mask),
                              "audio");
  }
  return embeds;
}

ForConditionalGenerationImpl::ForConditionalGenerationImpl(const ModelConfig& config,
                                                           const at::TensorOptions& options,
                                                           Towers towers)
    : config_(config) {
  model = register_module("model", Gemma3nModel(config, options, towers));
}

void ForConditionalGenerationImpl::quantize_int8(c10::ScalarType dtype) {
  // AltUp's coefficient and router Linears (4 x 16, 4 x 4, D x 4) are left alone: they would lose
  // accuracy for no memory saved.
  for (const auto& item : model->language_model->named_modules()) {
    auto* linear = dynamic_cast<nn::LinearImpl*>(item.value().get());
    if (linear && item.key().find(".altup.") == std::string::npos) linear->quantize_int8(dtype);
  }
  lm_head_int8_ = nn::quantize_int8(model->language_model->embed_tokens->weight, dtype);
}

at::Tensor default_position_ids(const at::Tensor& attention_mask, int64_t past, int64_t tokens,
                                int64_t batch, const at::Device& device) {
  if (!attention_mask.defined()) {
    auto pos = at::arange(past, past + tokens, at::TensorOptions().dtype(at::kLong).device(device));
    return pos.unsqueeze(0).expand({batch, tokens});
  }
  auto mask = attention_mask.to(at::kLong);
  auto pos = mask.cumsum(-1) - 1;
  pos = pos.masked_fill(mask == 0, 0);
  return pos.narrow(1, pos.size(1) - tokens, tokens);
}

ForwardOutput ForConditionalGenerationImpl::forward(const ForwardInputs& in) {
  const auto& ids = in.input_ids;
  const int64_t past = in.cache ? in.cache->length() : 0;
  auto& lm = model->language_model;

  text::TextForward t;
  t.inputs_embeds = model->embed_inputs(ids, in.media);
  t.per_layer_inputs = lm->per_layer_inputs(ids);
  t.position_ids =
      in.position_ids.defined()
          ? in.position_ids
          : default_position_ids(in.attention_mask, past, ids.size(1), ids.size(0), ids.device());
  t.key_padding = in.attention_mask;
  t.cache = in.cache;
  t.output_hidden_states = in.output_hidden_states;
  auto out = lm->forward(t);

  ForwardOutput result;
  auto hidden = out.last_hidden_state;
  if (in.logits_to_keep > 0 && in.logits_to_keep < hidden.size(1)) {
    hidden = hidden.narrow(1, hidden.size(1) - in.logits_to_keep, in.logits_to_keep);
  }
  result.logits = nn::linear(hidden, lm->embed_tokens->weight, lm_head_int8_);
  if (config_.text.final_logit_softcapping) {
    const double cap = *config_.text.final_logit_softcapping;
    result.logits = at::tanh(result.logits / cap) * cap;
  }
  result.hidden_states = std::move(out.hidden_states);
  return result;
}

}  // namespace gemma::model
