#include "model/gemma3n.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/masked_fill.h>
#include <ATen/ops/tanh.h>
#include <ATen/ops/where.h>

#include "generation/kv_cache.h"

namespace gemma::model {

Gemma3nModelImpl::Gemma3nModelImpl(const ModelConfig& config, const at::TensorOptions& options) {
  const auto& t = config.text;
  language_model = register_module("language_model", text::TextModel(t, options));
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
  // Each embedder runs only over its own ids (transformers runs it everywhere with a dummy id and
  // selects; the selected values are the same).
  auto replace = [&](const MultimodalEmbedder& embedder, const at::Tensor& mask) {
    if (!embedder || !mask.any().item<bool>()) return;
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

ForConditionalGenerationImpl::ForConditionalGenerationImpl(const ModelConfig& config,
                                                           const at::TensorOptions& options)
    : config_(config) {
  model = register_module("model", Gemma3nModel(config, options));
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
  t.inputs_embeds = model->embed_ids(ids);
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
  result.logits = at::linear(out.last_hidden_state, lm->embed_tokens->weight);
  if (config_.text.final_logit_softcapping) {
    const double cap = *config_.text.final_logit_softcapping;
    result.logits = at::tanh(result.logits / cap) * cap;
  }
  result.hidden_states = std::move(out.hidden_states);
  return result;
}

}  // namespace gemma::model
