#pragma once
// int8 weight-only quantisation (src/nn/quantize.cpp): symmetric, one scale per output channel,
// computed on load from the checkpoint's weights; activations stay in the model dtype.

#include <ATen/core/Tensor.h>

namespace gemma::nn {

struct Int8Weight {
  at::Tensor q;       // int8 [N, K]: round(W / scale) in [-127, 127]
  at::Tensor scales;  // [N] in the activation dtype: max|W[n]| / 127, rounded to that dtype
};

// W [N, K] (any float dtype) -> its int8 form; `dtype` is the activations' dtype.
Int8Weight quantize_int8(const at::Tensor& weight, c10::ScalarType dtype);

// x [..., K] times the dequantised Wᵀ: at::_weight_int8pack_mm (CPU and CUDA kernels that read the
// int8 weight directly) for decode-sized batches; larger ones (prefill) dequantise to x's dtype
// and use at::linear, where int8pack is several times slower than the dense product.
at::Tensor int8_linear(const at::Tensor& x, const Int8Weight& w);

}  // namespace gemma::nn
