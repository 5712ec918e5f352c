#pragma once
// Training data: JSON lines of transformers-format conversations, collated into model inputs and
// labels as the recipes do (labels = input ids with padding, image/audio soft tokens and the
// boi/eoi/boa/eoa markers set to -100; optionally only the assistant turns count).
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "gemma/messages.h"
#include "gemma/processor.h"
#include "model/gemma3n.h"

namespace gemma::train {

inline constexpr int64_t kIgnoreIndex = -100;

struct Example {
  Conversation conversation;
  std::string source;  // "<file>:<line>" for messages
};

// One conversation per non-empty line: {"messages": [...]} (TRL's conversational format) or a bare
// list of messages. Relative media paths are taken relative to the file. Throws
// InvalidArgumentError naming the file and line for anything malformed, and for a file without
// conversations.
std::vector<Example> read_examples(const std::filesystem::path& path);

struct Batch {
  at::Tensor input_ids;       // [B, T], left-padded
  at::Tensor attention_mask;  // [B, T]
  at::Tensor position_ids;    // [B, T]: 0..T-1 as transformers uses in training (no cache)
  at::Tensor labels;          // [B, T], kIgnoreIndex where nothing is learned
  model::MultimodalInputs media;
};

struct CollateOptions {
  bool assistant_only_loss = false;
  int64_t max_length = 0;  // 0: no limit beyond the model's context
  at::Device device = at::kCPU;
};

Batch collate(const Processor& processor, const ModelConfig& config,
              std::span<const Example* const> examples, const CollateOptions& options);

// The examples rank `rank` of `world` reads in `epoch`, in order: torch.randperm(n) seeded with
// seed + epoch (accelerate's SeedableRandomSampler), padded by wrapping to a multiple of the world
// size and strided by rank (DistributedSampler). One process reads the permutation itself.
std::vector<int64_t> epoch_order(int64_t n, int64_t seed, int64_t epoch, int rank, int world);

// Consecutive groups of `batch_size` examples in `order` (the last one may be shorter).
std::vector<std::vector<const Example*>> micro_batches(const std::vector<Example>& examples,
                                                       const std::vector<int64_t>& order,
                                                       int64_t batch_size);

// Gemma3nForConditionalGeneration's training loss: logits in float32, position t predicting label
// t + 1, the mean cross-entropy over the labels that are not kIgnoreIndex.
at::Tensor causal_lm_loss(model::ForConditionalGenerationImpl& model, const Batch& batch);

}  // namespace gemma::train
