#include "nn/quantize.h"

#include <ATen/ops/_weight_int8pack_mm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/round.h>
#include <c10/core/GradMode.h>

#include <algorithm>

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
  const int64_t n = weight.size(0), k = weight.size(1);
  Int8Weight out{at::empty({n, k}, weight.options().dtype(at::kChar)),
                 at::empty({n}, weight.options().dtype(dtype))};
  // About 1 MiB of float32 rows at a time: the temporaries stay in the cache (the whole
  // E2B decoder at once took 22 s to quantise, mostly in memory traffic).
  const int64_t rows = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(k, 1));
  for (int64_t r = 0; r < n; r += rows) {
    const int64_t len = std::min(rows, n - r);
    // A copy even for float32 weights: it is divided in place below.
    auto w = weight.narrow(0, r, len).to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
    // The scale is rounded to the activation dtype first, so that q·scale is what the kernels
    // compute.
    auto scales = (w.abs().amax(1) / 127.0).clamp_min(1e-12).to(dtype);
    out.scales.narrow(0, r, len).copy_(scales);
    out.q.narrow(0, r, len).copy_(
        at::round(w.div_(scales.to(at::kFloat).unsqueeze(1))).clamp_(-127, 127));
  }
  return out;
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
