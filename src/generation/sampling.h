#pragma once
// What every decode loop shares: drawing the next token and the checks on lengths and logits.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "gemma/generation_config.h"
#include "model/gemma3n.h"

namespace gemma::generation {

// Sampling always draws on the CPU from float32 probabilities: torch's CPU generator is the same
// mt19937 as Python's, so a seed gives transformers' tokens, and CUDA runs agree with CPU ones.
class Sampler {
 public:
  explicit Sampler(const ResolvedGeneration& config);
  at::Tensor next(const at::Tensor& scores);  // [B, V] -> [B]

 private:
  bool sample_;
  at::Generator generator_;
};

// GenerationError when the prompt plus max_new_tokens exceeds the model's positions.
void check_lengths(const model::ForConditionalGeneration& model, int64_t prompt,
                   const ResolvedGeneration& config);

// NaN or infinite logits mean corrupt weights or inputs (Gemma's soft-capped logits are always
// finite): argmax would pick token 0 (<pad>) over and over, silently. GenerationError.
void check_finite(const at::Tensor& logits, int64_t step);

}  // namespace gemma::generation
