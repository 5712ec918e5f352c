#pragma once
/// Continuous batching, as transformers' model.init_continuous_batching(): requests join the
/// running decode batch at step boundaries and leave when they end, each with its own sampling
/// settings, so a server keeps one forward per step for everything in flight.
///
///     gemma::ContinuousBatcher batcher(model);
///     batcher.add(processor.apply_chat_template(chat), {.max_new_tokens = 64}, on_token);
///     while (batcher.size() > 0) batcher.step();   // add more between steps at any time
///
/// One thread drives a batcher (add and step are not thread-safe); callbacks run on it.
#include <cstdint>
#include <memory>

#include "gemma/batch_encoding.h"
#include "gemma/export.h"
#include "gemma/generation.h"
#include "gemma/generation_config.h"
#include "gemma/model.h"

namespace gemma {

class GEMMA_API ContinuousBatcher {
 public:
  /// Shares `model`'s weights.
  explicit ContinuousBatcher(const Model& model);
  ~ContinuousBatcher();
  ContinuousBatcher(ContinuousBatcher&&) noexcept;
  ContinuousBatcher& operator=(ContinuousBatcher&&) noexcept;

  /// Prefills one conversation (`inputs` with one row, media included) on its own and adds it to
  /// the batch. `on_token` receives its tokens with row 0: the first one during this call, the
  /// others from step(); returning false ends the request (the token is kept). A request that
  /// ends on its first token never joins. Stop strings are not applied here (GenerationConfig's
  /// stop_strings must be empty: the caller sees the text). The batch keeps its own growing KV
  /// cache: cache_implementation "static" is refused, a model default ignored. Throws
  /// InvalidArgumentError for a batch of several rows, what resolve_generation() throws,
  /// GenerationError for an over-long request, ResourceError when memory runs out; the running
  /// batch is unaffected.
  void add(const BatchEncoding& inputs, const GenerationConfig& config, TokenCallback on_token);

  /// One decode step for every running request: each gets one token; those that end (EOS,
  /// max_new_tokens, on_token returning false) leave the batch. A request's tokens equal what
  /// Model::generate gives it alone (greedy; sampled with its seed, as a batch of one). Throws
  /// GenerationError (e.g. NaN logits) or ResourceError; the batch is then empty and no callback
  /// is called again.
  void step();

  /// Requests in the batch.
  int64_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemma
