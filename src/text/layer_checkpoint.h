#pragma once
// Gradient checkpointing of a decoder layer (transformers' gradient_checkpointing_enable with
// use_reentrant semantics): the forward keeps only the layer's inputs; backward recomputes the
// layer with the same RNG state and backpropagates through it. A KV-shared layer's borrowed K/V
// are explicit inputs, so their gradient still reaches the layer that produced them.
#include <ATen/core/Tensor.h>

#include "text/attention.h"
#include "text/decoder_layer.h"

namespace gemma::text {

// `layer` must not publish K/V (a producer's K/V are read by later layers outside the recompute).
at::Tensor checkpointed_layer(DecoderLayerImpl& layer, const at::Tensor& streams,
                              const at::Tensor& per_layer_input, AttentionContext& ctx);

}  // namespace gemma::text
