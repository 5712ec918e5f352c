#include "audio/attention.h"

#include <ATen/Dispatch.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/tanh.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <vector>

#include "gemma/error.h"

namespace gemma::audio {
namespace {

// torch.finfo(dtype).min: what transformers writes into disallowed logits (finite, so a query
// whose keys are all padding still gets a softmax without NaN).
double lowest(c10::ScalarType dtype) {
  double value = 0.0;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, dtype, "lowest", [&] {
    value = static_cast<double>(std::numeric_limits<scalar_t>::lowest());
  });
  return value;
}

// Zero-pads dim 1 of x [B, T, ...] by `left` and `right` entries.
at::Tensor pad_time(const at::Tensor& x, int64_t left, int64_t right) {
  std::vector<int64_t> pad(2 * (x.dim() - 1), 0);
  pad[pad.size() - 2] = left;
  pad[pad.size() - 1] = right;
  return at::constant_pad_nd(x, pad, 0);
}

}  // namespace

RelativePositionEmbeddingImpl::RelativePositionEmbeddingImpl(const AudioConfig& config,
                                                             const at::TensorOptions& options)
    : heads_(config.conf_num_attention_heads),
      head_dim_(config.hidden_size / config.conf_num_attention_heads),
      channels_(config.hidden_size),
      max_backward_(std::max<int64_t>(0, config.conf_attention_context_left - 1)),
      max_forward_(config.conf_attention_context_right) {
  if (channels_ % 2 != 0) {
    throw UnsupportedError(fmt::format(
        "audio_config.hidden_size = {}: the relative position sinusoids need an even width",
        channels_));
  }
  pos_proj = register_module("pos_proj", nn::Linear(channels_, heads_ * head_dim_, options));
}

at::Tensor RelativePositionEmbeddingImpl::timing_signal(const at::Device& device,
                                                        c10::ScalarType dtype) const {
  const auto timescales = channels_ / 2;
  const double increment =
      std::log(1.0e4) / static_cast<double>(std::max<int64_t>(timescales - 1, 1));
  const auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  // int64 × double gives float32, as in transformers (torch's default dtype).
  const auto inv_timescales = at::exp(at::arange(timescales, longs) * -increment);
  const auto position = at::arange(max_backward_, -max_forward_ - 1, -1, longs).to(at::kFloat);
  const auto scaled = position.unsqueeze(-1) * inv_timescales.unsqueeze(0);  // [F, timescales]
  return at::cat({at::sin(scaled), at::cos(scaled)}, -1).to(dtype);
}

at::Tensor RelativePositionEmbeddingImpl::forward(const at::Tensor& queries,
                                                  const at::Tensor& keys) const {
  const auto batch = queries.size(0), blocks = queries.size(1), block = queries.size(2);
  const auto context = keys.size(2);
  const auto span = max_backward_ + max_forward_ + 1;
  const auto sin_emb = pos_proj->forward(timing_signal(queries.device(), queries.scalar_type()))
                           .reshape({span, heads_, head_dim_});  // [F, N, H]

  const auto q = queries.permute({0, 3, 1, 2, 4});                    // [B, N, U, W, H]
  const auto term_ac = at::matmul(q, keys.permute({0, 3, 1, 4, 2}));  // [B, N, U, W, C]
  const auto term_bd = at::matmul(q.reshape({batch, heads_, blocks * block, head_dim_}),
                                  sin_emb.permute({1, 2, 0}))  // [B, N, U·W, F]
                           .reshape({batch, heads_, blocks, block, span});
  // Transformer-XL relative shift: pad F to C + 1, flatten (W, C + 1), keep the first W·C and
  // fold back, so that entry (w, c) holds distance w − c + max_backward. Entries outside the
  // window are garbage; the local mask removes them.
  const auto shifted = at::constant_pad_nd(term_bd, {0, context + 1 - span}, 0)
                           .reshape({batch, heads_, blocks, block * (context + 1)})
                           .narrow(-1, 0, block * context)
                           .reshape({batch, heads_, blocks, block, context});
  return term_ac + shifted;
}

AttentionImpl::AttentionImpl(const AudioConfig& config, const at::TensorOptions& options)
    : heads_(config.conf_num_attention_heads),
      head_dim_(config.hidden_size / config.conf_num_attention_heads),
      chunk_(config.conf_attention_chunk_size),
      max_past_(std::max<int64_t>(0, config.conf_attention_context_left - 1)),
      max_future_(config.conf_attention_context_right),
      context_(chunk_ + max_past_ + max_future_),
      logit_cap_(config.conf_attention_logit_cap) {
  const auto hidden = config.hidden_size;
  relative_position_embedding =
      register_module("relative_position_embedding", RelativePositionEmbedding(config, options));
  per_dim_scale = register_parameter("per_dim_scale", at::empty({head_dim_}, options));
  q_proj = register_module("q_proj", nn::Linear(hidden, heads_ * head_dim_, options));
  k_proj = register_module("k_proj", nn::Linear(hidden, heads_ * head_dim_, options));
  v_proj = register_module("v_proj", nn::Linear(hidden, heads_ * head_dim_, options));
  // head_dim^-0.5 / softplus(0), evaluated in float32 with torch's kernels as transformers does.
  const auto r_softplus_0 = at::softplus(at::zeros({}, at::kFloat)).reciprocal();
  q_scale_ = (r_softplus_0 * std::pow(static_cast<double>(head_dim_), -0.5)).item<double>();
}

at::Tensor AttentionImpl::to_blocks(const at::Tensor& x) const {
  const auto steps = x.size(1);
  const auto blocks = (steps + chunk_ - 1) / chunk_;
  auto shape = x.sizes().vec();
  shape[1] = chunk_;
  shape.insert(shape.begin() + 1, blocks);
  return pad_time(x, 0, blocks * chunk_ - steps).reshape(shape).contiguous();
}

at::Tensor AttentionImpl::block_context(const at::Tensor& x) const {
  // Left max_past frames; right max_future + chunk − 1 so that the last block gets a full window.
  auto windows = pad_time(x, max_past_, max_future_ + chunk_ - 1).unfold(1, context_, chunk_);
  // unfold appends the window dim: [B, U, ..., C] -> [B, U, C, ...].
  if (x.dim() > 2) windows = windows.movedim(-1, 2);
  return windows.contiguous();
}

at::Tensor AttentionImpl::local_causal_mask(const at::Device& device) const {
  const auto longs = at::TensorOptions().dtype(at::kLong).device(device);
  const auto w = at::arange(chunk_, longs).unsqueeze(1);
  const auto c = at::arange(context_, longs).unsqueeze(0);
  return (c >= w) & (c <= w + max_past_ + max_future_);
}

at::Tensor AttentionImpl::forward(const at::Tensor& hidden, const at::Tensor& mask) const {
  const auto batch = hidden.size(0), steps = hidden.size(1);
  const std::vector<int64_t> qkv_shape = {batch, steps, heads_, head_dim_};
  auto q = q_proj->forward(hidden).reshape(qkv_shape).contiguous();
  const auto k = k_proj->forward(hidden).reshape(qkv_shape).contiguous();
  const auto v = v_proj->forward(hidden).reshape(qkv_shape).contiguous();

  // q_scale is a buffer of the module dtype in transformers: round it the same way.
  const auto q_scale = at::scalar_tensor(q_scale_, at::TensorOptions().device(hidden.device()))
                           .to(per_dim_scale.scalar_type());
  q = q * q_scale * at::softplus(per_dim_scale).view({1, 1, 1, head_dim_});

  const auto query_blocks = to_blocks(q);    // [B, U, W, N, H]
  const auto key_blocks = block_context(k);  // [B, U, C, N, H]
  const auto value_blocks = block_context(v);
  const auto blocks = query_blocks.size(1);
  const auto key_valid = block_context(mask.logical_not());  // [B, U, C]
  const auto allowed = key_valid.unsqueeze(1).unsqueeze(-2) &
                       local_causal_mask(hidden.device()).view({1, 1, 1, chunk_, context_});

  auto logits = relative_position_embedding->forward(query_blocks, key_blocks);  // [B,N,U,W,C]
  // The cap is a float32 buffer in transformers even in bf16 models; the soft-cap comes before
  // the masking.
  const auto cap = at::scalar_tensor(logit_cap_, at::TensorOptions().device(hidden.device()));
  logits = at::tanh(logits / cap) * cap;
  logits = at::where(allowed, logits, lowest(logits.scalar_type()));
  const auto probs = at::softmax(logits, -1, at::kFloat).to(value_blocks.scalar_type());

  const auto context =
      at::bmm(probs.permute({0, 2, 1, 3, 4}).reshape({-1, chunk_, context_}),
              value_blocks.permute({0, 1, 3, 2, 4}).reshape({-1, context_, head_dim_}));
  return context.reshape({batch, blocks, heads_, chunk_, head_dim_})
      .permute({0, 1, 3, 2, 4})
      .reshape({batch, blocks * chunk_, heads_, head_dim_})
      .narrow(1, 0, steps);
}

}  // namespace gemma::audio
