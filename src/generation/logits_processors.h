#pragma once
// transformers' logits processors, in generate()'s order: repetition penalty, then — when sampling
// — temperature, top-k, top-p, min-p. All take float32 scores [B, V] and return new scores;
// filtered entries become -inf.
#include <ATen/core/Tensor.h>

#include "gemma/generation_config.h"

namespace gemma::generation {

// `ids` [B, S] are all tokens so far; the first `prompt_ignore[b]` of row b (its left padding) are
// not penalised, as transformers passes the padding lengths.
at::Tensor repetition_penalty(const at::Tensor& scores, const at::Tensor& ids,
                              const at::Tensor& prompt_ignore, double penalty);
at::Tensor temperature(const at::Tensor& scores, double t);
at::Tensor top_k(const at::Tensor& scores, int64_t k);
at::Tensor top_p(const at::Tensor& scores, double p);
at::Tensor min_p(const at::Tensor& scores, double p);

at::Tensor process_logits(const at::Tensor& scores, const at::Tensor& ids,
                          const at::Tensor& prompt_ignore, const ResolvedGeneration& config);

}  // namespace gemma::generation
