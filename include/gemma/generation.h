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

/// Called for every new token, in order; returning false ends that row (the token is kept).
using TokenCallback = std::function<bool(const TokenEvent&)>;

struct GenerationStats {
  int64_t prompt_tokens = 0;  ///< non-padding prompt tokens over the batch
  int64_t new_tokens = 0;     ///< generated tokens over the batch, EOS included, padding not
  double prefill_seconds = 0;
  double decode_seconds = 0;
  double time_to_first_token_seconds = 0;
  /// Peak memory during the call, in bytes: on CUDA the caching allocator's peak of allocated
  /// bytes; on the CPU the process's peak resident set size (reset at the call's start on Linux).
  int64_t peak_memory_bytes = 0;
  double prefill_tokens_per_second() const {
    return prefill_seconds > 0 ? prompt_tokens / prefill_seconds : 0;
  }
  double decode_tokens_per_second() const {
    return decode_seconds > 0 ? (new_tokens > 0 ? new_tokens - 1 : 0) / decode_seconds : 0;
  }
};

/// New tokens per row (EOS included; nothing after it) and the statistics.
struct GenerateResult {
  std::vector<std::vector<int64_t>> tokens;
  GenerationStats stats;
};

}  // namespace gemma
