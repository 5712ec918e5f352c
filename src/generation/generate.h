#pragma once
// The generate loop: prefill, then one token per step with the caller-owned KV cache, as
// transformers' GenerationMixin._sample does (greedy or multinomial sampling, EOS per row, padding
// of finished rows).
#include <ATen/core/Tensor.h>

#include "gemma/generation.h"
#include "gemma/generation_config.h"
#include "model/gemma3n.h"

namespace gemma::generation {

// input_ids / attention_mask [B, T], left-padded; `media` joins the prefill only. Throws
// GenerationError when the prompt plus max_new_tokens exceeds max_position_embeddings.
GenerateResult generate(model::ForConditionalGeneration& model, const at::Tensor& input_ids,
                        const at::Tensor& attention_mask, const ResolvedGeneration& config,
                        const TokenCallback& on_token = {},
                        const model::MultimodalInputs& media = {});

}  // namespace gemma::generation
