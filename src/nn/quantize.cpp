#include "nn/quantize.h"

#include <ATen/ops/_weight_int8pack_mm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/round.h>
#include <c10/core/GradMode.h>

#include "gemma/error.h"

namespace gemma::nn {
namespace {

constexpr int64_t kInt8PackMaxRows = 16;  // measured crossover against dequantise + at::linear
// torch 2.11's CPU kernel reads K in blocks of 16: K = 8 crashed and K = 2050 gave NaN in our
// probes, so other widths (the tiny model's LAuReL rank 8) take the dense path.
constexpr int64_t kInt8PackKMultiple = 16;

}  // namespace

Int8Weight quantize_int8(const at::Tensor& weight, c10::ScalarType dtype) {
  if (weight.dim() != 2) throw InternalError("int8 quantisation takes a 2-D weight");
  at::NoGradGuard no_grad;
  auto w = weight.to(at::kFloat);
  // The scale is rounded to the activation dtype first, so that q·scale is what the kernels compute.
  auto scales = (w.abs().amax(1) / 127.0).clamp_min(1e-12).to(dtype);
  auto q = at::round(w / scales.to(at::kFloat).unsqueeze(1)).clamp(-127, 127).to(at::kChar);
  return {q.contiguous(), scales.contiguous()};
}

at::Tensor int8_linear(const at::Tensor& x, const Int8Weight& w) {
  const int64_t k = w.q.size(1);
  const int64_t rows = x.numel() / k;
  auto sizes = x.sizes().vec();
  sizes.back() = w.q.size(0);
  if (rows <= kInt8PackMaxRows && k % kInt8PackKMultiple == 0) {
    auto x2 = x.reshape({rows, k}).to(w.scales.scalar_type());
    return at::_weight_int8pack_mm(x2, w.q, w.scales).view(sizes).to(x.scalar_type());
  }
  auto dense = w.q.to(x.scalar_type()) * w.scales.to(x.scalar_type()).unsqueeze(1);
  return at::linear(x, dense);
}

}  // namespace gemma::nn
