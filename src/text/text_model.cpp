#include "text/text_model.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/sqrt.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "generation/kv_cache.h"
#include "text/attention.h"
#include "text/decoder_layer.h"
#include "text/layer_checkpoint.h"

namespace gemma::text {

TextModelImpl::TextModelImpl(const TextConfig& config, const at::TensorOptions& options)
    : config_(config) {
  const auto d = config.hidden_size;
  const auto l = config.num_hidden_layers;
  const auto e = config.hidden_size_per_layer_input;
  embed_tokens = register_module(
      "embed_tokens", nn::ScaledEmbedding(config.vocab_size, d, std::sqrt(double(d)), options));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < l; ++i) layers->push_back(DecoderLayer(config, i, options));
  norm = register_module("norm", nn::RMSNorm(d, config.rms_norm_eps, true, options));
  // On CUDA the per-layer-embedding table (4 GB in E2B's bf16) stays in host memory, a view on the
  // mapped checkpoint: a step needs one row per token, gathered on the CPU and copied over.
  embed_tokens_per_layer = register_module(
      "embed_tokens_per_layer",
      nn::ScaledEmbedding(config.vocab_size_per_layer_input, l * e, std::sqrt(double(e)),
                          options.device().is_cuda() ? options.device(at::kCPU) : options));
  per_layer_model_projection =
      register_module("per_layer_model_projection", nn::Linear(d, l * e, options));
  per_layer_projection_norm = register_module("per_layer_projection_norm",
                                              nn::RMSNorm(e, config.rms_norm_eps, true, options));
  altup_projections = register_module("altup_projections",
                                      nn::make_linears(config.altup_num_inputs - 1, d, d, options));
  altup_unembed_projections = register_module(
      "altup_unembed_projections", nn::make_linears(config.altup_num_inputs - 1, d, d, options));
}

at::Tensor TextModelImpl::embed(const at::Tensor& input_ids) const {
  return embed_tokens->forward(input_ids);
}

at::Tensor TextModelImpl::per_layer_inputs(const at::Tensor& input_ids) const {
  auto in_table = (input_ids >= 0) & (input_ids < config_.vocab_size_per_layer_input);
  auto ids = at::where(in_table, input_ids, at::zeros_like(input_ids));
  auto sizes = input_ids.sizes().vec();
  sizes.push_back(config_.num_hidden_layers);
  sizes.push_back(config_.hidden_size_per_layer_input);
  const auto table_device = embed_tokens_per_layer->weight.device();
  if (table_device == ids.device()) return embed_tokens_per_layer->forward(ids).reshape(sizes);
  // Host table, device model: gather the rows on the CPU into page-locked memory, so that the
  // copy to the device is a DMA that does not wait for the host.
  auto rows = embed_tokens_per_layer->forward(ids.to(table_device)).reshape(sizes);
  return rows.pin_memory().to(ids.device(), /*non_blocking=*/true);
}

at::Tensor TextModelImpl::project_per_layer_inputs(const at::Tensor& embeds,
                                                   const at::Tensor& ple) const {
  const auto dtype = embeds.scalar_type();
  // Both scales are float32 buffers in transformers, rounded to the activation dtype before use.
  auto projection_scale =
      at::scalar_tensor(1.0 / std::sqrt(double(config_.hidden_size)), at::kFloat).to(dtype);
  auto input_scale = at::rsqrt(at::scalar_tensor(2.0, at::kFloat)).to(dtype);
  auto p = per_layer_model_projection->forward(embeds) * projection_scale;
  auto sizes = embeds.sizes().vec();
  sizes.back() = config_.num_hidden_layers;
  sizes.push_back(config_.hidden_size_per_layer_input);
  p = per_layer_projection_norm->forward(p.reshape(sizes));
  return (p + ple) * input_scale;
}

at::Tensor TextModelImpl::match_magnitude(const at::Tensor& x, const at::Tensor& target) {
  auto magnitude = at::sqrt(x.pow(2).mean(-1, /*keepdim=*/true).clamp_min(1e-5));
  return x * target / magnitude;
}

namespace {

// A static cache attends over its whole buffer: the slots not yet written are padding (0).
at::Tensor pad_keys(const at::Tensor& key_padding, int64_t keys) {
  const auto missing = keys - key_padding.size(1);
  if (missing <= 0) return key_padding;
  return at::cat({key_padding, at::zeros({key_padding.size(0), missing}, key_padding.options())},
                 1);
}

}  // namespace

TextOutput TextModelImpl::forward(const TextForward& in) {
  const auto& h0 = in.inputs_embeds;
  const auto b = h0.size(0), t = h0.size(1);
  const auto dtype = h0.scalar_type();
  const int64_t past = in.cache ? in.cache->length() : 0;
  auto ple = project_per_layer_inputs(h0, in.per_layer_inputs);

  // AltUp streams: stream 0 is the embedding, the others projections of it at the same RMS.
  auto target = h0.pow(2).mean(-1, /*keepdim=*/true).pow(0.5);
  std::vector<at::Tensor> streams = {h0};
  for (int64_t i = 0; i + 1 < config_.altup_num_inputs; ++i) {
    streams.push_back(match_magnitude(nn::apply_linear(altup_projections, i, h0), target));
  }
  auto hidden = at::stack(streams, 0);  // [S, B, T, D]

  AttentionContext ctx;
  ctx.cache = in.cache;
  auto key_padding =
      in.key_padding.defined()
          ? in.key_padding
          : at::ones({b, past + t}, at::TensorOptions().dtype(at::kLong).device(h0.device()));
  if (in.cache) key_padding = pad_keys(key_padding, in.cache->mask_length(t));
  // Indexed by LayerType: sliding layers use the local base, full layers the global one.
  const double thetas[2] = {config_.rope_local_base_freq, config_.rope_theta};
  const int64_t windows[2] = {config_.sliding_window, 0};
  for (int type = 0; type < 2; ++type) {
    std::tie(ctx.cos[type], ctx.sin[type]) =
        rotary_tables(in.position_ids, thetas[type], config_.head_dim, dtype);
    ctx.mask[type] = attention_mask(key_padding, past, t, windows[type], dtype);
  }

  TextOutput out;
  if (in.output_hidden_states) out.hidden_states.push_back(hidden);
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    auto per_layer_input = ple.select(2, i);
    auto& layer = layers->at<DecoderLayerImpl>(i);
    // A layer that publishes K/V for later layers runs normally: the recompute could not hand
    // its K/V to them.
    const bool checkpoint = gradient_checkpointing_ && is_training() && at::GradMode::is_enabled() &&
                            !layer.self_attn->publishes_kv();
    hidden = checkpoint ? checkpointed_layer(layer, hidden, per_layer_input, ctx)
                        : layer.forward(hidden, per_layer_input, ctx);
    if (in.output_hidden_states) out.hidden_states.push_back(hidden);
  }
  if (in.cache) in.cache->advance(t);

  target = hidden[0].pow(2).mean(-1, /*keepdim=*/true).pow(0.5);
  streams = {hidden[0]};
  for (int64_t i = 0; i + 1 < config_.altup_num_inputs; ++i) {
    streams.push_back(
        match_magnitude(nn::apply_linear(altup_unembed_projections, i, hidden[i + 1]), target));
  }
  out.last_hidden_state = norm->forward(at::stack(streams, 0).mean(0));
  return out;
}

}  // namespace gemma::text
