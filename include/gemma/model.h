#pragma once
/// Tier 2: the model itself, as transformers' Gemma3nForConditionalGeneration — load, forward,
/// generate. Speaks at::Tensor; everything else in the public API stays torch-free.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <memory>
#include <string>

#include "gemma/config.h"
#include "gemma/export.h"
#include "gemma/generation.h"
#include "gemma/generation_config.h"

namespace gemma {

class Tokenizer;

struct ModelOptions {
  std::string device = "cpu";  ///< "cpu", "cuda" or "cuda:N"
  std::string dtype =
      "float32";  ///< "float32" or "bfloat16" (CPU bf16 is fast only with AVX512-BF16/AMX)
};

/// A loaded model. Copies share the weights; forward and generate are const and may run from
/// several threads at once (each call owns its KV cache).
class GEMMA_API Model {
 public:
  /// Reads config.json, generation_config.json and the safetensors checkpoint (one file or shards)
  /// of `model_dir`. On the CPU with the checkpoint's dtype the weights are views on the mapped
  /// files (no copy). Throws ConfigError / WeightError / IoError naming the file, or
  /// InvalidArgumentError for an unknown device or dtype, UnsupportedError when CUDA is absent.
  static Model from_pretrained(const std::filesystem::path& model_dir,
                               const ModelOptions& options = {});

  const ModelConfig& config() const;
  const GenerationDefaults& generation_defaults() const;
  at::Device device() const;
  at::ScalarType dtype() const;

  /// Logits [B, T, vocab] (soft-capped, model dtype) for left-padded `input_ids` [B, T] with
  /// `attention_mask` [B, T] (all ones when undefined). Differentiable outside inference mode.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {}) const;

  /// transformers' generate(): greedy or sampling as `config` and generation_config.json say, EOS
  /// per row, `on_token` for streaming (return false to end a row). Stop strings need `tokenizer`
  /// (InvalidArgumentError otherwise, as transformers). GenerationError when the prompt plus
  /// max_new_tokens exceeds max_position_embeddings.
  GenerateResult generate(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                          const GenerationConfig& config, const TokenCallback& on_token = {},
                          const Tokenizer* tokenizer = nullptr) const;

 private:
  struct Impl;
  explicit Model(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace gemma
