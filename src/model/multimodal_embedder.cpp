#include "model/multimodal_embedder.h"

#include <ATen/ops/embedding.h>

namespace gemma::model {
namespace {

// nn.Embedding without a scale: a module holding "weight", so the checkpoint name is
// "embedding.weight".
class PlainEmbeddingImpl : public torch::nn::Module {
 public:
  PlainEmbeddingImpl(int64_t num, int64_t dim, const at::TensorOptions& options) {
    weight = register_parameter("weight", at::empty({num, dim}, options));
  }
  at::Tensor weight;
};
TORCH_MODULE(PlainEmbedding);

}  // namespace

MultimodalEmbedderImpl::MultimodalEmbedderImpl(int64_t vocab_size, int64_t vocab_offset,
                                               int64_t hidden, double eps, int64_t text_hidden,
                                               const at::TensorOptions& options)
    : vocab_size_(vocab_size), vocab_offset_(vocab_offset) {
  embedding = register_module("embedding", PlainEmbedding(vocab_size, hidden, options))->weight;
  hard_embedding_norm =
      register_module("hard_embedding_norm", nn::RMSNorm(hidden, eps, true, options));
  soft_embedding_norm =
      register_module("soft_embedding_norm", nn::RMSNorm(hidden, eps, true, options));
  embedding_projection =
      register_module("embedding_projection", nn::Linear(hidden, text_hidden, options));
  embedding_post_projection_norm = register_module("embedding_post_projection_norm",
                                                   nn::RMSNorm(text_hidden, eps, false, options));
}

at::Tensor MultimodalEmbedderImpl::project(const at::Tensor& normed) const {
  return embedding_post_projection_norm->forward(embedding_projection->forward(normed));
}

at::Tensor MultimodalEmbedderImpl::embed_ids(const at::Tensor& ids) const {
  return project(hard_embedding_norm->forward(at::embedding(embedding, ids - vocab_offset_)));
}

at::Tensor MultimodalEmbedderImpl::embed_features(const at::Tensor& features) const {
  return project(soft_embedding_norm->forward(features));
}

}  // namespace gemma::model
