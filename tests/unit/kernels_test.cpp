// The decode kernels (src/nn/gemv.cpp) and int8 weights (src/nn/quantize.cpp) against float32
// products of the same operands.
#include <ATen/ops/linear.h>
#include <ATen/ops/randn.h>
#include <c10/core/GradMode.h>

#include "nn/gemv.h"
#include "nn/quantize.h"
#include "support/catch_torch.h"

namespace {

// max|a − b| / max|b|
double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>() /
         b.to(at::kFloat).abs().max().item<double>();
}

bool cpu_has_bf16_dot() { return __builtin_cpu_supports("avx512bf16"); }

}  // namespace

TEST_CASE("decode_linear equals a float32 product rounded once to bfloat16", "[unit][kernels]") {
  at::NoGradGuard no_grad;
  at::manual_seed(7);
  // Row counts that are and are not multiples of the 4-row block, K with and without a 32 tail.
  for (auto [n, k] : {std::pair{37, 64}, {130, 2048}, {64, 100}, {1000, 33}, {4099, 512}}) {
    auto w = at::randn({n, k}).to(at::kBFloat16);
    for (int64_t m = 1; m <= 4; ++m) {
      auto x = at::randn({m, 1, k}).to(at::kBFloat16);
      auto ours = gemma::nn::decode_linear(x, w);
      if (!cpu_has_bf16_dot()) {
        CHECK_FALSE(ours.has_value());
        continue;
      }
      REQUIRE(ours.has_value());
      CHECK(ours->sizes() == at::IntArrayRef{m, 1, n});
      auto exact = at::linear(x.to(at::kFloat), w.to(at::kFloat));
      // One bf16 rounding of the sum (2^-9 relative) plus float32 summation-order noise.
      const double err = relative_error(*ours, exact);
      INFO("n " << n << " k " << k << " m " << m << ": max|Δ|/max|y| = " << err);
      CHECK(err <= 4e-3);
      CHECK(((*ours).to(at::kFloat) - exact).abs().le(exact.abs() * (1.0 / 256) + 1e-4 * k).all()
                .item<bool>());
    }
  }
}

TEST_CASE("decode_linear declines what it does not compute", "[unit][kernels]") {
  at::NoGradGuard no_grad;
  auto w = at::randn({16, 64}).to(at::kBFloat16);
  CHECK_FALSE(gemma::nn::decode_linear(at::randn({1, 64}), w.to(at::kFloat)).has_value());
  CHECK_FALSE(gemma::nn::decode_linear(at::randn({5, 64}).to(at::kBFloat16), w).has_value());
  CHECK_FALSE(gemma::nn::decode_linear(at::randn({1, 32}).to(at::kBFloat16), w).has_value());
  {
    at::AutoGradMode grad(true);
    auto x = at::randn({1, 64}).to(at::kBFloat16).requires_grad_();
    CHECK_FALSE(gemma::nn::decode_linear(x, w).has_value());
  }
}

TEST_CASE("int8 weights are within half a step of the weight, per output channel",
          "[unit][kernels]") {
  at::manual_seed(3);
  // 300 x 96 in one block of rows, 600 x 2048 in several.
  for (auto [n, k] : {std::pair<int64_t, int64_t>{300, 96}, {600, 2048}})
  for (auto dtype : {at::kBFloat16, at::kFloat}) {
    auto w = at::randn({n, k}) * at::randn({n, 1}).abs();
    auto q = gemma::nn::quantize_int8(w, dtype);
    CHECK(q.q.scalar_type() == at::kChar);
    CHECK(q.scales.scalar_type() == dtype);
    CHECK(q.q.abs().max().item<int>() <= 127);
    auto scale = q.scales.to(at::kFloat).unsqueeze(1);
    auto err = (q.q.to(at::kFloat) * scale - w).abs();
    // Half a step, plus the clamp when rounding the scale down made max|w|/scale exceed 127.
    CHECK(err.le(scale * 0.5 + w.abs().amax(1, true) / 256.0).all().item<bool>());
  }
}

TEST_CASE("int8_linear equals the product with the dequantised weight", "[unit][kernels]") {
  at::NoGradGuard no_grad;
  at::manual_seed(5);
  // K = 8 (the tiny model's LAuReL rank) is a width _weight_int8pack_mm cannot take.
  for (int64_t k : {128, 8}) {
    auto w = at::randn({257, k});
    for (auto dtype : {at::kBFloat16, at::kFloat}) {
      auto q = gemma::nn::quantize_int8(w, dtype);
      auto dense = q.q.to(at::kFloat) * q.scales.to(at::kFloat).unsqueeze(1);
      // 1 and 3 rows take _weight_int8pack_mm (when K allows), 40 the dequantised dense product.
      for (int64_t rows : {1, 3, 40}) {
        auto x = at::randn({1, rows, k}).to(dtype);
        auto ours = gemma::nn::int8_linear(x, q);
        CHECK(ours.scalar_type() == dtype);
        CHECK(ours.sizes() == at::IntArrayRef{1, rows, 257});
        const double err = relative_error(ours, at::linear(x.to(at::kFloat), dense));
        INFO("K " << k << " dtype " << dtype << " rows " << rows << ": " << err);
        CHECK(err <= (dtype == at::kFloat ? 1e-5 : 8e-3));
      }
    }
  }
}
