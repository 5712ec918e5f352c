#include "nn/gemv.h"

// Why this file exists: at::linear hands a [1, K] × [N, K]ᵀ bfloat16 product to oneDNN, which reads
// the weight at 6–22 GB/s on the development machine (AVX512-BF16, 40 GB/s of read bandwidth), and
// a decode step is almost nothing but such products. Here each weight row is read once, four rows
// at a time against the same activations, split into contiguous row ranges across ATen's OpenMP
// threads (this file is compiled with -fopenmp so at::parallel_for really forks).

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <c10/core/GradMode.h>

namespace gemma::nn {
namespace {

constexpr int64_t kMaxRows = 4;        // rows of x: decode batches; prefill goes to oneDNN
constexpr int64_t kRowBlock = 4;       // weight rows sharing each load of x
constexpr int64_t kMinChunkBytes = 1 << 18;  // below this a thread would cost more than it saves

bool cpu_has_bf16_dot() {
  static const bool has = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
  return has;
}

// GCC 12 warns inside its own avx512fintrin.h (the _mm256_undefined_* operand of the extract
// intrinsic that _mm512_reduce_add_ps inlines): a false positive of that header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define GEMMA_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

GEMMA_BF16_TARGET inline __m512bh load_bf16(const uint16_t* p) {
  return (__m512bh)_mm512_loadu_si512(p);
}

GEMMA_BF16_TARGET inline __m512bh load_bf16_tail(const uint16_t* p, __mmask32 mask) {
  return (__m512bh)_mm512_maskz_loadu_epi16(mask, p);
}

// R weight rows starting at w (row stride k) against one row of x; sums into out[0..R).
template <int R>
GEMMA_BF16_TARGET void dot_rows(const uint16_t* w, const uint16_t* x, int64_t k, float* out) {
  __m512 acc[R];
  for (int j = 0; j < R; ++j) acc[j] = _mm512_setzero_ps();
  const int64_t full = k / 32 * 32;
  for (int64_t c = 0; c < full; c += 32) {
    const __m512bh xv = load_bf16(x + c);
    for (int j = 0; j < R; ++j) acc[j] = _mm512_dpbf16_ps(acc[j], load_bf16(w + j * k + c), xv);
  }
  if (full < k) {
    const auto mask = static_cast<__mmask32>((uint64_t{1} << (k - full)) - 1);
    const __m512bh xv = load_bf16_tail(x + full, mask);
    for (int j = 0; j < R; ++j) {
      acc[j] = _mm512_dpbf16_ps(acc[j], load_bf16_tail(w + j * k + full, mask), xv);
    }
  }
  for (int j = 0; j < R; ++j) out[j] = _mm512_reduce_add_ps(acc[j]);
}

// Weight rows [n0, n1) against every row of x; y is [m, n].
GEMMA_BF16_TARGET void gemv_range(const uint16_t* w, const uint16_t* x, int64_t m, int64_t k,
                                  int64_t n, int64_t n0, int64_t n1, c10::BFloat16* y) {
  float sums[kRowBlock];
  for (int64_t r = n0; r < n1; r += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, n1 - r);
    for (int64_t i = 0; i < m; ++i) {
      if (rows == kRowBlock) {
        dot_rows<kRowBlock>(w + r * k, x + i * k, k, sums);
      } else {
        for (int64_t j = 0; j < rows; ++j) dot_rows<1>(w + (r + j) * k, x + i * k, k, sums + j);
      }
      for (int64_t j = 0; j < rows; ++j) y[i * n + r + j] = c10::BFloat16(sums[j]);
    }
  }
}

#pragma GCC diagnostic pop

}  // namespace

std::optional<at::Tensor> decode_linear(const at::Tensor& x, const at::Tensor& weight) {
  if (!x.device().is_cpu() || !weight.device().is_cpu()) return std::nullopt;
  if (x.scalar_type() != at::kBFloat16 || weight.scalar_type() != at::kBFloat16) return std::nullopt;
  if (weight.dim() != 2 || !weight.is_contiguous() || x.dim() < 1) return std::nullopt;
  const int64_t k = weight.size(1), n = weight.size(0);
  if (x.size(-1) != k || k == 0 || n == 0) return std::nullopt;
  const int64_t m = x.numel() / k;
  if (m == 0 || m > kMaxRows) return std::nullopt;
  if (at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) {
    return std::nullopt;
  }
  if (!cpu_has_bf16_dot()) return std::nullopt;

  const auto xc = x.contiguous();
  auto sizes = x.sizes().vec();
  sizes.back() = n;
  auto y = at::empty(sizes, x.options());
  const auto* wp = reinterpret_cast<const uint16_t*>(weight.const_data_ptr<c10::BFloat16>());
  const auto* xp = reinterpret_cast<const uint16_t*>(xc.const_data_ptr<c10::BFloat16>());
  auto* yp = y.mutable_data_ptr<c10::BFloat16>();
  const int64_t blocks = (n + kRowBlock - 1) / kRowBlock;
  const int64_t block_bytes = kRowBlock * k * 2;
  const int64_t grain = std::max<int64_t>(1, kMinChunkBytes / block_bytes);
  at::parallel_for(0, blocks, grain, [&](int64_t b0, int64_t b1) {
    gemv_range(wp, xp, m, k, n, b0 * kRowBlock, std::min(n, b1 * kRowBlock), yp);
  });
  return y;
}

}  // namespace gemma::nn
