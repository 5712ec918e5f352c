#include "text/attention.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/scaled_dot_product_attention.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>

#include <c10/core/GradMode.h>

#include <limits>

#include "generation/kv_cache.h"

namespace gemma::text {
namespace {

at::Tensor rotate_half(const at::Tensor& x) {
  const auto half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// Attention of one new token per row on the CPU, in float32 like SDPA's kernels: SDPA's flash
// kernel takes 1.2 ms per layer for a single query over 512 cached keys on the development
// machine, these two small products 0.1–0.2 ms. q [B, H, T, D]; k, v [B, KV, S, D] (H = KV·G,
// query head h reads K/V head h / G, as enable_gqa); mask [B, 1, T, S] additive.
at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& mask) {
  const auto b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3), kv = k.size(1);
  auto q5 = q.to(at::kFloat).reshape({b, kv, h / kv, t, d});
  auto scores = at::matmul(q5, k.to(at::kFloat).unsqueeze(2).transpose(-1, -2));  // scale 1.0
  scores = scores + mask.to(at::kFloat).unsqueeze(2);
  auto out = at::matmul(at::softmax(scores, -1), v.to(at::kFloat).unsqueeze(2));
  return out.reshape({b, h, t, d}).to(q.scalar_type());
}

// x [B, T, H, D]; cos/sin [B, T, D] broadcast over heads.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return x * cos.unsqueeze(2) + rotate_half(x) * sin.unsqueeze(2);
}

}  // namespace

std::pair<at::Tensor, at::Tensor> rotary_tables(const at::Tensor& positions, double theta,
                                                int64_t head_dim, c10::ScalarType dtype) {
  auto opts = at::TensorOptions().dtype(at::kFloat).device(positions.device());
  // inv_freq = 1 / theta^(arange(0, D, 2) / D), in float32 as transformers computes it.
  auto exponents = at::arange(0, head_dim, 2, opts.dtype(at::kLong)).to(at::kFloat) / head_dim;
  auto inv_freq = 1.0 / at::pow(at::scalar_tensor(theta, opts), exponents);
  auto freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [B, T, D/2]
  auto emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor attention_mask(const at::Tensor& key_padding, int64_t past, int64_t tokens,
                          int64_t sliding_window, c10::ScalarType dtype) {
  const auto device = key_padding.device();
  const auto index = at::TensorOptions().dtype(at::kLong).device(device);
  auto q = at::arange(past, past + tokens, index).unsqueeze(1);
  // A static cache's keys run past past + T: causality excludes those slots, as not yet written.
  auto k = at::arange(0, key_padding.size(1), index).unsqueeze(0);
  auto allowed = k <= q;  // [T, S]
  if (sliding_window > 0) allowed = allowed & (q - k < sliding_window);
  auto keep = allowed.unsqueeze(0) & key_padding.to(at::kBool).unsqueeze(1);  // [B, T, S]
  const double lowest = dtype == at::kFloat      ? std::numeric_limits<float>::lowest()
                        : dtype == at::kDouble   ? std::numeric_limits<double>::lowest()
                        : dtype == at::kBFloat16 ? -3.3895313892515355e38
                                                 : -65504.0;
  auto zero = at::zeros({}, at::TensorOptions().dtype(dtype).device(device));
  auto low = at::full({}, lowest, at::TensorOptions().dtype(dtype).device(device));
  return at::where(keep, zero, low).unsqueeze(1);
}

AttentionImpl::AttentionImpl(const TextConfig& config, int layer, const at::TensorOptions& options)
    : layer_(layer),
      type_(static_cast<int>(config.layer_types[layer])),
      shared_(config.kv_shared_layer_index(layer) >= 0),
      heads_(config.num_attention_heads),
      kv_heads_(config.num_key_value_heads),
      head_dim_(config.head_dim) {
  const auto hidden = config.hidden_size;
  const auto eps = config.rms_norm_eps;
  q_proj = register_module("q_proj", nn::Linear(hidden, heads_ * head_dim_, options));
  q_norm = register_module("q_norm", nn::RMSNorm(head_dim_, eps, true, options));
  // KV-shared layers have no K/V weights in the model (checkpoints may still carry dead copies).
  if (!shared_) {
    k_proj = register_module("k_proj", nn::Linear(hidden, kv_heads_ * head_dim_, options));
    v_proj = register_module("v_proj", nn::Linear(hidden, kv_heads_ * head_dim_, options));
    k_norm = register_module("k_norm", nn::RMSNorm(head_dim_, eps, true, options));
    v_norm = register_module("v_norm", nn::RMSNorm(head_dim_, eps, false, options));
  }
  o_proj = register_module("o_proj", nn::Linear(heads_ * head_dim_, hidden, options));
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    if (config.kv_shared_layer_index(l) == layer) producer_ = true;
  }
}

at::Tensor AttentionImpl::forward(const at::Tensor& hidden, AttentionContext& ctx) {
  const auto b = hidden.size(0), t = hidden.size(1);
  const auto& cos = ctx.cos[type_];
  const auto& sin = ctx.sin[type_];
  auto q = q_norm->forward(q_proj->forward(hidden).view({b, t, heads_, head_dim_}));
  q = apply_rotary(q, cos, sin).transpose(1, 2);  // [B, H, T, D]

  at::Tensor k, v;
  if (shared_) {
    std::tie(k, v) = ctx.shared_kv[type_];
  } else {
    k = apply_rotary(k_norm->forward(k_proj->forward(hidden).view({b, t, kv_heads_, head_dim_})),
                     cos, sin);
    k = k.transpose(1, 2);
    v = v_norm->forward(v_proj->forward(hidden).view({b, t, kv_heads_, head_dim_})).transpose(1, 2);
    if (ctx.cache) std::tie(k, v) = ctx.cache->update(layer_, k, v);
    if (producer_) ctx.shared_kv[type_] = {k, v};
  }

  // Below ~128 keys SDPA's single fused call is the faster one (fewer ops: tiny model, short
  // contexts); above, its flash kernel's per-block cost for one query dominates.
  constexpr int64_t kDecodeAttentionMinKeys = 128;
  const bool decode_step = t == 1 && q.device().is_cpu() && k.size(2) >= kDecodeAttentionMinKeys &&
                           !(at::GradMode::is_enabled() && q.requires_grad());
  auto out = decode_step ? decode_attention(q, k, v, ctx.mask[type_])
                         : at::scaled_dot_product_attention(q, k, v, ctx.mask[type_], 0.0, false,
                                                            /*scale=*/1.0, /*enable_gqa=*/true);
  return o_proj->forward(out.transpose(1, 2).reshape({b, t, heads_ * head_dim_}));
}

}  // namespace gemma::text
