#include "generation/kv_cache.h"

#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include <algorithm>

#include "gemma/error.h"

namespace gemma::generation {

KvCache::KvCache(const TextConfig& config, int64_t batch, int64_t capacity,
                 const at::TensorOptions& options, int64_t reserve)
    : batch_(batch), capacity_(capacity) {
  if (batch <= 0 || capacity <= 0 || reserve <= 0) {
    throw InvalidArgumentError(
        fmt::format("KV cache needs a positive batch, capacity and reserve, got {}, {} and {}",
                    batch, capacity, reserve));
  }
  const int64_t allocated = std::min(capacity, reserve);
  keys_.resize(config.num_hidden_layers);
  values_.resize(config.num_hidden_layers);
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    if (config.kv_shared_layer_index(l) >= 0) continue;
    keys_[l] = at::zeros({batch, config.num_key_value_heads, allocated, config.head_dim}, options);
    values_[l] = at::zeros_like(keys_[l]);
  }
}

KvCache KvCache::make_static(const TextConfig& config, int64_t batch, int64_t capacity,
                             const at::TensorOptions& options) {
  KvCache cache(config, batch, capacity, options, /*reserve=*/capacity);
  cache.static_ = true;
  return cache;
}

std::pair<at::Tensor, at::Tensor> KvCache::update(int layer, const at::Tensor& keys,
                                                  const at::Tensor& values) {
  const int64_t t = keys.size(2);
  if (length_ + t > capacity_) {
    throw GenerationError(fmt::format("KV cache holds {} tokens; {} more do not fit after {}",
                                      capacity_, t, length_));
  }
  auto& k = keys_.at(layer);
  auto& v = values_.at(layer);
  if (!k.defined()) {
    throw InternalError(fmt::format("layer {} shares KV and owns no cache entries", layer));
  }
  if (length_ + t > k.size(2)) {
    const int64_t grown = std::min(capacity_, std::max(length_ + t, 2 * k.size(2)));
    for (auto* cache : {&k, &v}) {
      auto sizes = cache->sizes().vec();
      sizes[2] = grown;
      auto bigger = at::zeros(sizes, cache->options());
      bigger.narrow(2, 0, length_).copy_(cache->narrow(2, 0, length_));
      *cache = std::move(bigger);
    }
  }
  k.narrow(2, length_, t).copy_(keys);
  v.narrow(2, length_, t).copy_(values);
  if (static_) return {k, v};
  return {k.narrow(2, 0, length_ + t), v.narrow(2, 0, length_ + t)};
}

void KvCache::advance(int64_t tokens) { length_ += tokens; }

void KvCache::check_dynamic(const char* operation) const {
  if (static_) {
    throw InternalError(fmt::format("{} changes the shape of a static KV cache", operation));
  }
}

void KvCache::append_rows(const KvCache& other) {
  check_dynamic("append_rows");
  other.check_dynamic("append_rows");
  if (keys_.size() != other.keys_.size()) {
    throw InternalError("KV caches of different models cannot be batched together");
  }
  const int64_t length = std::max(length_, other.length_);
  for (size_t l = 0; l < keys_.size(); ++l) {
    if (!keys_[l].defined()) continue;
    for (auto [mine, theirs] :
         {std::pair{&keys_[l], &other.keys_[l]}, std::pair{&values_[l], &other.values_[l]}}) {
      auto sizes = mine->sizes().vec();
      sizes[0] = batch_ + other.batch_;
      // The larger spare room of the two, so that the merged batch does not grow at once.
      const int64_t spare = std::max(mine->size(2) - length_, theirs->size(2) - other.length_);
      sizes[2] = std::max(length, std::min(length + spare, std::max(capacity_, other.capacity_)));
      auto merged = at::zeros(sizes, mine->options());
      merged.narrow(0, 0, batch_)
          .narrow(2, length - length_, length_)
          .copy_(mine->narrow(2, 0, length_));
      merged.narrow(0, batch_, other.batch_)
          .narrow(2, length - other.length_, other.length_)
          .copy_(theirs->narrow(2, 0, other.length_));
      *mine = std::move(merged);
    }
  }
  batch_ += other.batch_;
  length_ = length;
  capacity_ = std::max(capacity_, other.capacity_);
}

void KvCache::keep_rows(const at::Tensor& rows, int64_t front) {
  check_dynamic("keep_rows");
  if (front < 0 || front > length_) {
    throw InternalError(fmt::format("cannot drop {} of {} cached positions", front, length_));
  }
  for (auto* caches : {&keys_, &values_}) {
    for (auto& cache : *caches) {
      if (!cache.defined()) continue;
      cache = cache.index_select(0, rows.to(cache.device()));
      cache = cache.narrow(2, front, cache.size(2) - front);
    }
  }
  batch_ = rows.numel();
  length_ -= front;
}

}  // namespace gemma::generation
