#pragma once
/// What a model directory holds, read from its config and safetensors headers alone (no weights are
/// loaded): the `gemma info` command and the package tests use it.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "gemma/config.h"
#include "gemma/export.h"

namespace gemma {

/// Checkpoint tensors of one part of the model, selected by Hugging Face name prefix.
struct ComponentInfo {
  std::string name;                 ///< "text decoder", "vision tower", ...
  std::string prefix;               ///< e.g. "model.language_model."
  std::size_t tensors = 0;          ///< checkpoint tensors under `prefix`
  std::uint64_t parameters = 0;     ///< elements
  std::uint64_t bytes = 0;          ///< stored bytes (in the checkpoint's dtypes)
  std::vector<std::string> dtypes;  ///< safetensors dtype names present, sorted
};

/// A checkpoint's summary; a plain value.
struct ModelInfo {
  std::filesystem::path directory;        ///< as given to inspect_model
  ModelConfig config;                     ///< config.json
  std::vector<ComponentInfo> components;  ///< only the parts present in the checkpoint
  std::size_t shards = 0;                 ///< safetensors files
  std::uint64_t total_parameters = 0;     ///< elements over all tensors, embeddings included
  std::uint64_t total_bytes = 0;          ///< stored bytes over all tensors
  /// False for checkpoints that rely on the tied embedding (`tie_word_embeddings`), as the hub's
  /// do.
  bool lm_head_stored = false;
};

/// Reads `model_dir`'s config.json and checkpoint headers, validating both; no tensor data is read.
/// `model_dir` is a local directory (see resolve_model for hub ids). Throws ConfigError,
/// WeightError or IoError naming the file at fault.
GEMMA_API ModelInfo inspect_model(const std::filesystem::path& model_dir);

/// A human-readable multi-line summary of `info`.
GEMMA_API std::string describe(const ModelInfo& info);

/// A tensor holding NaN or infinite values (see find_non_finite_weights).
struct NonFiniteTensor {
  std::string name;          ///< the checkpoint's tensor name
  std::uint64_t nan = 0;     ///< NaN values
  std::uint64_t inf = 0;     ///< +/- infinite values
  std::uint64_t values = 0;  ///< all values of the tensor
};

/// Reads every floating-point tensor of the checkpoint in `model_dir` (F16, BF16, F32, F64; the
/// whole checkpoint is read once) and returns those holding NaN or infinite values, which make a
/// model produce NaN logits. Throws what inspect_model throws. `gemma info --check-weights`.
GEMMA_API std::vector<NonFiniteTensor> find_non_finite_weights(
    const std::filesystem::path& model_dir);

}  // namespace gemma
