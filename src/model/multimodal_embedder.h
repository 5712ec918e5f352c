#pragma once
// HF: Gemma3nMultimodalEmbedder — maps vision/audio vocabulary ids (hard path) or tower features
// (soft path) into the text model's embedding space.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/modules.h"

namespace gemma::model {

class MultimodalEmbedderImpl : public torch::nn::Module {
 public:
  MultimodalEmbedderImpl(int64_t vocab_size, int64_t vocab_offset, int64_t hidden, double eps,
                         int64_t text_hidden, const at::TensorOptions& options);
  // ids in [vocab_offset, vocab_offset + vocab_size) -> [.., text_hidden].
  at::Tensor embed_ids(const at::Tensor& ids) const;
  // features [.., hidden] -> [.., text_hidden].
  at::Tensor embed_features(const at::Tensor& features) const;

  int64_t vocab_offset() const { return vocab_offset_; }
  int64_t vocab_size() const { return vocab_size_; }

  at::Tensor embedding;  // the "embedding.weight" parameter of a child module
  nn::RMSNorm hard_embedding_norm{nullptr}, soft_embedding_norm{nullptr};
  nn::Linear embedding_projection{nullptr};
  nn::RMSNorm embedding_post_projection_norm{nullptr};

 private:
  at::Tensor project(const at::Tensor& normed) const;
  int64_t vocab_size_, vocab_offset_;
};
TORCH_MODULE(MultimodalEmbedder);

}  // namespace gemma::model
