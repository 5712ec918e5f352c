#pragma once
// Weight-streaming products for decoding on the CPU (src/nn/gemv.cpp).

#include <optional>

#include <ATen/core/Tensor.h>

namespace gemma::nn {

// x Wᵀ for a bfloat16 x [..., K] of at most a few rows and a bfloat16 weight [N, K], computed with
// AVX512-BF16 dot products in one parallel pass over the weight (float32 sums, rounded once to
// bfloat16, as at::linear rounds). nullopt where it does not apply (another dtype or device, more
// rows, gradients wanted, a CPU without AVX512-BF16): the caller uses at::linear then.
std::optional<at::Tensor> decode_linear(const at::Tensor& x, const at::Tensor& weight);

}  // namespace gemma::nn
