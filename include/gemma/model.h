#pragma once
/// Tier 2: the model itself, as transformers' Gemma3nForConditionalGeneration — load, forward,
/// generate. Speaks at::Tensor; everything else in the public API stays torch-free.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gemma/batch_encoding.h"
#include "gemma/config.h"
#include "gemma/export.h"
#include "gemma/generation.h"
#include "gemma/generation_config.h"
#include "gemma/hub.h"

namespace gemma {

class Tokenizer;

/// Receives each row's reply as UTF-8-complete text pieces (special tokens skipped), in order, on
/// the thread that runs generate(); returning false ends that row.
using TextCallback = std::function<bool(int64_t row, std::string_view text)>;

/// How Model::from_pretrained places the weights; transformers' from_pretrained(torch_dtype=...,
/// device_map=...) arguments.
struct ModelOptions {
  std::string device = "cpu";  ///< "cpu", "cuda" or "cuda:N"
  /// "float32", "bfloat16" (CPU bf16 is fast only with AVX512-BF16/AMX) or "int8": the text
  /// decoder's large weights and the LM head quantised on load to int8 with one scale per output
  /// channel, activations in bfloat16 (dtype() then says bfloat16).
  std::string dtype = "float32";
  /// Build and load the vision tower (MobileNetV5). A text-only user can skip it: its weights
  /// are then never read, and image inputs are refused.
  bool load_vision = true;
  /// Build and load the audio tower (USM conformer); as load_vision.
  bool load_audio = true;
  /// How a hub id given to from_pretrained is resolved / downloaded.
  HubOptions hub = {};
  /// A LoRA adapter directory (PEFT's adapter_config.json + adapter_model.safetensors, from
  /// `gemma train` or PEFT), merged into the weights after loading (W += B·A·scaling).
  std::filesystem::path adapter = {};
};

/// A loaded model. Copies are cheap and share the weights, which live as long as any copy;
/// forward and generate are const and may run from several threads at once (each call owns its
/// KV cache). Input tensors may be on any device: they are moved to device().
class GEMMA_API Model {
 public:
  /// Reads config.json, generation_config.json and the safetensors checkpoint (one file or shards)
  /// of `model_dir`: a local directory, or a hub id ("google/gemma-3n-E2B-it") found in the
  /// Hugging Face cache or downloaded into it (resolve_model()). On the CPU with the checkpoint's
  /// dtype the weights are views on the mapped files (no copy). Throws ConfigError / WeightError /
  /// IoError naming the file, or InvalidArgumentError for an unknown device or dtype,
  /// UnsupportedError when CUDA is absent.
  static Model from_pretrained(const std::filesystem::path& model_dir,
                               const ModelOptions& options = {});

  /// config.json as parsed.
  const ModelConfig& config() const;
  /// generation_config.json: what every unset GenerationConfig field falls back to.
  const GenerationDefaults& generation_defaults() const;
  /// Where the weights live and the forward runs.
  at::Device device() const;
  /// at::kFloat or at::kBFloat16: the weights' and activations' dtype.
  at::ScalarType dtype() const;

  /// Logits [B, T, vocab] (soft-capped, model dtype) for left-padded `input_ids` [B, T] with
  /// `attention_mask` [B, T] (all ones when undefined). Differentiable outside inference mode.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {}) const;

  /// `model(**inputs)`: logits [B, T, vocab] for a Processor's output, images and audio merged at
  /// their placeholder tokens. ProcessorError when placeholders and media do not match.
  at::Tensor forward(const BatchEncoding& inputs) const;

  /// transformers' generate(): greedy or sampling as `config` and generation_config.json say, EOS
  /// per row, `on_token` for streaming (return false to end a row). Stop strings need `tokenizer`
  /// (InvalidArgumentError otherwise, as transformers). GenerationError when the prompt plus
  /// max_new_tokens exceeds max_position_embeddings.
  GenerateResult generate(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                          const GenerationConfig& config, const TokenCallback& on_token = {},
                          const Tokenizer* tokenizer = nullptr) const;

  /// generate() streaming text instead of token ids: `on_text` gets every piece of each row's
  /// reply as soon as it is valid UTF-8, and once more at the end for bytes that never completed
  /// one; a row's pieces concatenate to tokenizer.decode(tokens, skip_special_tokens=true). Stop
  /// strings use `tokenizer` too.
  GenerateResult generate(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                          const GenerationConfig& config, const Tokenizer& tokenizer,
                          const TextCallback& on_text) const;

  /// `model.generate(**inputs, ...)` for a Processor's output (text, images, audio): the media
  /// are encoded once, in the prefill; rows are generated together as one batch.
  GenerateResult generate(const BatchEncoding& inputs, const GenerationConfig& config,
                          const TokenCallback& on_token = {},
                          const Tokenizer* tokenizer = nullptr) const;

  /// As above, streaming each row's text (see the text-callback overload for tensors).
  GenerateResult generate(const BatchEncoding& inputs, const GenerationConfig& config,
                          const Tokenizer& tokenizer, const TextCallback& on_text) const;

 private:
  friend class ContinuousBatcher;
  struct Impl;
  GenerateResult generate_tokens(const BatchEncoding& inputs, const GenerationConfig& config,
                                 const TokenCallback& on_token, const Tokenizer* tokenizer) const;
  explicit Model(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace gemma
