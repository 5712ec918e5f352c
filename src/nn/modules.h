#pragma once
// Primitive layers. Parameters are allocated with at::empty and filled by the checkpoint loader:
// torch::nn::Linear would first spend time randomly initialising billions of weights.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "nn/quantize.h"

#include <memory>
#include <optional>

namespace gemma::nn {

class LinearImpl;

// x Wᵀ as every weight of the decoder takes it: the int8 kernels when `int8` holds W's int8 form,
// else the decode kernel for decode-sized bfloat16 batches (nn/gemv.h), else at::linear.
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight,
                  const std::optional<Int8Weight>& int8 = std::nullopt);

// A LoRA adapter on a Linear, as PEFT's lora.Linear computes it: y + B(A(dropout(x)))·scaling, in
// the adapter's dtype (float32, PEFT's autocast_adapter_dtype), the sum cast back to y's dtype.
// Registered as "lora_A" / "lora_B" submodules so that their parameters are named like the keys
// of PEFT's adapter_model.safetensors ("….q_proj.lora_A.weight").
struct LoraAdapter {
  std::shared_ptr<LinearImpl> lora_A, lora_B;
  double scaling = 1.0;
  double dropout = 0.0;
};

// y = x Wᵀ; weight [out, in] as PyTorch stores it. No bias anywhere in Gemma 3n.
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;
  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  // Adds an adapter of rank `r` (A [r, in], B [out, r]) with `adapter_options` (float32); both
  // uninitialised: the caller fills them (PEFT's init or a saved adapter).
  void add_lora(int64_t r, double scaling, double dropout, const at::TensorOptions& adapter_options);
  // W += B·A·scaling (in float32, as PEFT's merge), then the adapter is removed.
  void merge_lora();
  const LoraAdapter* lora() const { return lora_ ? &*lora_ : nullptr; }
  // Replaces the weight by its int8 form (nn/quantize.h) for activations of `dtype`. The
  // parameter stays registered under its name and shape, as a broadcast zero holding no memory.
  void quantize_int8(c10::ScalarType dtype);
  bool quantized() const { return int8_.has_value(); }

  at::Tensor weight;

 private:
  std::optional<LoraAdapter> lora_;
  std::optional<Int8Weight> int8_;
};
TORCH_MODULE(Linear);

// Gemma3nRMSNorm: x / sqrt(mean(x²) + eps) in float32, times a plain weight (no "1 +" offset as in
// Gemma 1–3), cast back. Without scale nothing is registered: transformers persists no weight then.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps, bool with_scale, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight;  // undefined when !with_scale

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// nn.Embedding times a scale that is first rounded to the weight dtype, as
// Gemma3nTextScaledWordEmbedding does (sqrt(2048) becomes 45.25 in bf16).
class ScaledEmbeddingImpl : public torch::nn::Module {
 public:
  ScaledEmbeddingImpl(int64_t num, int64_t dim, double scale, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& ids) const;
  at::Tensor weight;

 private:
  double scale_;
};
TORCH_MODULE(ScaledEmbedding);

// A ModuleList of Linear layers, registered as "0", "1", ... like nn.ModuleList.
torch::nn::ModuleList make_linears(int64_t count, int64_t in, int64_t out,
                                   const at::TensorOptions& options);
at::Tensor apply_linear(const torch::nn::ModuleList& list, size_t index, const at::Tensor& x);

// gelu with the tanh approximation ("gelu_pytorch_tanh"); the only activation Gemma 3n uses.
at::Tensor activation(const std::string& name, const at::Tensor& x);

}  // namespace gemma::nn
