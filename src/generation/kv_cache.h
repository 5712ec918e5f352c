#pragma once
// The caller-owned KV cache: per non-shared decoder layer, [B, kv_heads, allocated, head_dim],
// allocated for `reserve` tokens first and grown geometrically up to `capacity` as tokens arrive,
// so that a generation allowed to run to the end of the context (32k positions: GBs of cache) holds
// memory only for the tokens it really produces. KV-shared layers own nothing here: they read
// their producer's entries in the same forward (see text/attention.h).
// A static cache (make_static, transformers' StaticCache) allocates the full capacity up front and
// hands the attention the whole buffers, so that no tensor changes shape from step to step: what
// CUDA graphs need.
#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

#include "gemma/config.h"

namespace gemma::generation {

class KvCache {
 public:
  KvCache(const TextConfig& config, int64_t batch, int64_t capacity,
          const at::TensorOptions& options, int64_t reserve);
  // transformers' StaticCache: [B, kv_heads, capacity, head_dim] per non-shared layer, allocated
  // now and never reallocated.
  static KvCache make_static(const TextConfig& config, int64_t batch, int64_t capacity,
                             const at::TensorOptions& options);

  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  // Tokens committed so far; a forward writes at [length, length + T) and then calls advance(T).
  int64_t length() const { return length_; }
  bool is_static() const { return static_; }
  // The key length of the attention masks for a forward of `tokens` new tokens (transformers'
  // get_mask_sizes): the whole buffer for a static cache, whose unwritten slots the masks exclude;
  // else the entries update() returns.
  int64_t mask_length(int64_t tokens) const { return static_ ? capacity_ : length_ + tokens; }

  // Writes this step's K/V ([B, kv_heads, T, head_dim]) for `layer` at [length, length + T)
  // (growing a dynamic cache's storage when full) and returns views over all entries so far
  // including them, or a static cache's whole buffers. GenerationError when capacity would be
  // exceeded.
  std::pair<at::Tensor, at::Tensor> update(int layer, const at::Tensor& keys,
                                           const at::Tensor& values);
  void advance(int64_t tokens);
  // The layer's storage (undefined for KV-shared layers): [B, kv_heads, allocated, head_dim].
  std::pair<at::Tensor, at::Tensor> buffers(int layer) const {
    return {keys_.at(layer), values_.at(layer)};
  }

  // Continuous batching (generation/continuous_batching.cpp), on dynamic caches only: both change
  // the buffers' shapes, which a static cache must not (InternalError).
  // Appends `other`'s rows after these, left-padding the shorter side with zeros so both end at the
  // longer length (the attention mask marks the padding); the capacity becomes the larger one.
  void append_rows(const KvCache& other);
  // Keeps the rows `rows` (int64 indices) in that order and drops the first `front` positions,
  // which must be padding in every kept row.
  void keep_rows(const at::Tensor& rows, int64_t front);

 private:
  void check_dynamic(const char* operation) const;

  int64_t batch_;
  int64_t capacity_;
  int64_t length_ = 0;
  bool static_ = false;
  std::vector<at::Tensor> keys_;  // undefined for KV-shared layers
  std::vector<at::Tensor> values_;
};

}  // namespace gemma::generation
