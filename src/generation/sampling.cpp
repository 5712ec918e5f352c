#include "generation/sampling.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/isnan.h>
#include <ATen/ops/logical_not.h>
#include <ATen/ops/multinomial.h>
#include <ATen/ops/softmax.h>
#include <fmt/format.h>

#include <random>

#include "gemma/error.h"

namespace gemma::generation {

Sampler::Sampler(const ResolvedGeneration& config) : sample_(config.do_sample) {
  if (sample_) {
    generator_ = at::make_generator<at::CPUGeneratorImpl>(config.seed ? *config.seed
                                                                      : std::random_device{}());
  }
}

at::Tensor Sampler::next(const at::Tensor& scores) {
  if (!sample_) return at::argmax(scores, -1);
  auto probs = at::softmax(scores, -1).to(at::kCPU);
  return at::multinomial(probs, 1, false, generator_).squeeze(1).to(scores.device());
}

void check_lengths(const model::ForConditionalGeneration& model, int64_t prompt,
                   const ResolvedGeneration& config) {
  const auto limit = model->config().text.max_position_embeddings;
  // Compared without adding: max_new_tokens may be anything up to 2^63 - 1.
  if (prompt > limit || config.max_new_tokens > limit - prompt) {
    throw GenerationError(
        fmt::format("prompt of {} tokens plus max_new_tokens {} exceeds the model's {} positions",
                    prompt, config.max_new_tokens, limit));
  }
}

void check_finite(const at::Tensor& logits, int64_t step) {
  if (at::isfinite(logits).all().item<bool>()) return;
  const auto bad = at::logical_not(at::isfinite(logits));
  const int64_t rows = bad.any(1).sum().item<int64_t>();
  const bool nan = at::isnan(logits).any().item<bool>();
  throw GenerationError(fmt::format(
      "the model produced {} logits at generation step {} ({} of {} rows): its weights or inputs "
      "hold NaN or infinite values (check the checkpoint with `gemma info --check-weights`)",
      nan ? "NaN" : "infinite", step, rows, logits.size(0)));
}

}  // namespace gemma::generation
