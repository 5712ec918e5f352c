#pragma once
// Gemma3nTextAttention: q/k/v norms, RoPE per layer type, sliding or full masks, scaling 1.0, and
// KV sharing as a rule of the model: a KV-shared layer always reads its producer's K/V from the
// same forward, whether or not a cache exists (the bug peers shipped was sharing only with a
// cache).
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <utility>

#include "gemma/config.h"
#include "nn/modules.h"

namespace gemma::generation {
class KvCache;
}

namespace gemma::text {

// Per-forward state shared by all decoder layers, indexed by LayerType.
struct AttentionContext {
  std::array<at::Tensor, 2> cos;  // [B, T, head_dim], activation dtype
  std::array<at::Tensor, 2> sin;
  std::array<at::Tensor, 2> mask;  // additive [B, 1, T, S], activation dtype
  generation::KvCache* cache = nullptr;
  // Filled by each producer layer, read by the KV-shared layers of its type: [B, kv_heads, S, D].
  std::array<std::pair<at::Tensor, at::Tensor>, 2> shared_kv;
};

// RoPE tables for `positions` [B, T] (float32 math, then cast to `dtype`), HF's
// Gemma3nRotaryEmbedding with rope_type "default".
std::pair<at::Tensor, at::Tensor> rotary_tables(const at::Tensor& positions, double theta,
                                                int64_t head_dim, c10::ScalarType dtype);

// Additive masks [B, 1, T, S] for queries at cache slots [past, past + T) over keys [0, S), S =
// key_padding.size(1) (past + T, or a static cache's capacity): causal, within `sliding_window`
// for sliding layers, and excluding keys whose `key_padding` [B, S] entry is 0. Disallowed entries
// get the dtype's lowest finite value, as transformers does.
at::Tensor attention_mask(const at::Tensor& key_padding, int64_t past, int64_t tokens,
                          int64_t sliding_window, c10::ScalarType dtype);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const TextConfig& config, int layer, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& hidden, AttentionContext& ctx);

  // Whether this layer publishes its K/V for the KV-shared layers, or reads them (and of which
  // LayerType, the index into AttentionContext's arrays).
  bool publishes_kv() const { return producer_; }
  bool reads_shared_kv() const { return shared_; }
  int layer_type() const { return type_; }

  nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  nn::RMSNorm q_norm{nullptr}, k_norm{nullptr}, v_norm{nullptr};

 private:
  int layer_;
  int type_;       // LayerType as an index
  bool shared_;    // reads the producer's K/V instead of computing its own
  bool producer_ = false;  // the last non-shared layer of its type: publishes its K/V
  int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE(Attention);

}  // namespace gemma::text
