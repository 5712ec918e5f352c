#include "nn/modules.h"

#include <ATen/ops/embedding.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/dropout.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/scalar_tensor.h>
#include <fmt/format.h>
#include <c10/core/GradMode.h>
#include <torch/nn/modules/container/modulelist.h>

#include "gemma/error.h"
#include "io/tensor.h"
#include "nn/gemv.h"

namespace gemma::nn {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features,
                       const at::TensorOptions& options) {
  weight = register_parameter("weight", at::empty({out_features, in_features}, options));
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight,
                  const std::optional<Int8Weight>& int8) {
  if (int8) return int8_linear(x, *int8);
  if (auto fast = decode_linear(x, weight)) return *std::move(fast);
  return at::linear(x, weight);
}

at::Tensor LinearImpl::forward(const at::Tensor& x) const {
  auto y = linear(x, weight, int8_);
  if (!lora_) return y;
  auto in = x.to(lora_->lora_A->weight.scalar_type());
  if (lora_->dropout > 0.0 && is_training()) in = at::dropout(in, lora_->dropout, /*train=*/true);
  auto delta = at::linear(at::linear(in, lora_->lora_A->weight), lora_->lora_B->weight);
  return (y + delta * lora_->scaling).to(y.scalar_type());
}

void LinearImpl::add_lora(int64_t r, double scaling, double dropout,
                          const at::TensorOptions& adapter_options) {
  if (lora_) throw InvalidArgumentError("a LoRA adapter is already attached to this layer");
  LoraAdapter adapter;
  adapter.lora_A = register_module("lora_A", Linear(in_features(), r, adapter_options));
  adapter.lora_B = register_module("lora_B", Linear(r, out_features(), adapter_options));
  adapter.scaling = scaling;
  adapter.dropout = dropout;
  lora_ = std::move(adapter);
}

void LinearImpl::quantize_int8(c10::ScalarType dtype) {
  if (lora_) throw InternalError("a Linear with an unmerged LoRA adapter cannot be quantised");
  int8_ = nn::quantize_int8(weight, dtype);
  io::evict_pages(weight);
  // set_data refuses a meta tensor: a broadcast zero keeps the name and shape in one element.
  weight.set_data(at::zeros({1, 1}, weight.options()).expand(weight.sizes()));
}

void LinearImpl::merge_lora() {
  if (!lora_) return;
  if (int8_) throw InvalidArgumentError("a LoRA adapter cannot be merged into int8 weights");
  {
    at::NoGradGuard no_grad;
    auto delta = at::matmul(lora_->lora_B->weight.to(at::kFloat), lora_->lora_A->weight.to(at::kFloat));
    auto merged = (weight.to(at::kFloat) + delta * lora_->scaling).to(weight.scalar_type());
    // The weight may view the mapped checkpoint (copy-on-write): give it fresh memory rather than
    // writing into the mapping page by page.
    weight.set_data(merged);
  }
  unregister_module("lora_A");
  unregister_module("lora_B");
  lora_.reset();
}

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
