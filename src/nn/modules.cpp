#include "nn/modules.h"

#include <ATen/ops/embedding.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/scalar_tensor.h>
#include <fmt/format.h>
#include <torch/nn/modules/container/modulelist.h>

#include "gemma/error.h"

namespace gemma::nn {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features,
                       const at::TensorOptions& options) {
  weight = register_parameter("weight", at::empty({out_features, in_features}, options));
}

at::Tensor LinearImpl::forward(const at::Tensor& x) const { return at::linear(x, weight); }

RMSNormImpl::RMSNormImpl(int64_t dim, double eps, bool with_scale, const at::TensorOptions& options)
    : eps_(eps) {
  if (with_scale) weight = register_parameter("weight", at::empty({dim}, options));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) const {
  auto h = x.to(at::kFloat);
  // transformers uses pow(.., -0.5) rather than rsqrt, for parity with JAX; so do we.
  auto normed = h * at::pow(h.pow(2).mean(-1, /*keepdim=*/true) + eps_, -0.5);
  if (weight.defined()) normed = normed * weight.to(at::kFloat);
  return normed.to(x.scalar_type());
}

ScaledEmbeddingImpl::ScaledEmbeddingImpl(int64_t num, int64_t dim, double scale,
                                         const at::TensorOptions& options)
    : scale_(scale) {
  weight = register_parameter("weight", at::empty({num, dim}, options));
}

at::Tensor ScaledEmbeddingImpl::forward(const at::Tensor& ids) const {
  // The float32 scale is cast to the weight dtype before multiplying, exactly as transformers does.
  auto scale = at::scalar_tensor(scale_, at::kFloat).to(weight.scalar_type());
  return at::embedding(weight, ids) * scale;
}

torch::nn::ModuleList make_linears(int64_t count, int64_t in, int64_t out,
                                   const at::TensorOptions& options) {
  torch::nn::ModuleList list;
  for (int64_t i = 0; i < count; ++i) list->push_back(Linear(in, out, options));
  return list;
}

at::Tensor apply_linear(const torch::nn::ModuleList& list, size_t index, const at::Tensor& x) {
  return list->at<LinearImpl>(index).forward(x);
}

at::Tensor activation(const std::string& name, const at::Tensor& x) {
  if (name == "gelu_pytorch_tanh" || name == "gelu_new" || name == "gelu_fast") {
    return at::gelu(x, "tanh");
  }
  if (name == "gelu") return at::gelu(x);
  throw UnsupportedError(fmt::format("hidden_activation '{}' is not implemented", name));
}

}  // namespace gemma::nn
