#pragma once
/// What generate() reports: per-token events for streaming and per-call statistics.
#include <cstdint>
#include <functional>
#include <vector>

namespace gemma {

/// One new token of one sequence of the batch.
struct TokenEvent {
  int64_t row = 0;    ///< index in the batch
  int64_t token = 0;  ///< token id
  int64_t index = 0;  ///< 0 for the first new token of the row
  bool last = false;  ///< the row ends with this token (EOS or length limit)
};

/// Called for every new token, in order, on the thread that runs generate(), between decoding
/// steps (a slow callback slows generation); returning false ends that row (the token is kept).
using TokenCallback = std::function<bool(const TokenEvent&)>;

/// Measurements of one generate() call (one batch), wall-clock on the host.
struct GenerationStats {
  int64_t prompt_tokens = 0;  ///< non-padding prompt tokens over the batch
  int64_t new_tokens = 0;     ///< generated tokens over the batch, EOS included, padding not
  /// new_tokens after each row's first (which prefill produces): what decode_seconds made.
  int64_t decode_tokens = 0;
  /// Seconds from the call's start to the first new token: the prompt's forward (media encoders
  /// included) and the first token's selection.
  double prefill_seconds = 0;
  /// Seconds after that, to the end of generation (all later tokens).
  double decode_seconds = 0;
  /// Seconds to the first new token; equals prefill_seconds.
  double time_to_first_token_seconds = 0;
  /// Peak memory during the call, in bytes: on CUDA the caching allocator's peak of allocated
  /// bytes; on the CPU the process's peak resident set size (reset at the call's start on Linux).
  /// Both are per device / process, not per call: concurrent calls see each other's memory.
  int64_t peak_memory_bytes = 0;
  /// prompt_tokens / prefill_seconds (0 when nothing was timed).
  double prefill_tokens_per_second() const {
    return prefill_seconds > 0 ? prompt_tokens / prefill_seconds : 0;
  }
  /// decode_tokens per second of decode_seconds (0 when nothing was timed).
  double decode_tokens_per_second() const {
    return decode_seconds > 0 ? decode_tokens / decode_seconds : 0;
  }
};

/// New tokens per row (EOS included; nothing after it) and the statistics.
struct GenerateResult {
  /// tokens[row]: the row's new tokens only (transformers' `generation[:, input_len:]` without
  /// the padding after EOS); decode with Tokenizer::decode or Processor::batch_decode.
  std::vector<std::vector<int64_t>> tokens;
  GenerationStats stats;  ///< of the whole batch
};

}  // namespace gemma
