#pragma once
// Per-client rate limits for `gemma serve`: the recipe's sliding window of request timestamps,
// plus a limit on the tokens that finished requests used inside the same window.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gemma::server {

/// 0 means no limit.
struct RateLimits {
  std::int64_t requests = 0;  ///< requests admitted per window
  std::int64_t tokens = 0;    ///< prompt + completion tokens per window
  double window_seconds = 3600;
};

/// Thread-safe. Memory stays bounded however many clients appear: a client is forgotten once
/// nothing of it is left in the window, and beyond `max_clients` the client seen least recently is
/// evicted, which forgets its history (the alternative, refusing new clients, would let anyone who
/// can invent client names lock everybody else out).
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxClients = 100000;

  /// `now` must never go back. InvalidArgumentError for negative limits or a window that is not a
  /// positive number of seconds (at most ten years).
  explicit RateLimiter(RateLimits limits, std::function<Clock::time_point()> now = Clock::now,
                       std::size_t max_clients = kMaxClients);

  struct Decision {
    bool allowed = true;
    /// When refused: the exact time until enough of the window expires (callers round up).
    double retry_after_seconds = 0;
    /// When refused: "requests" or "tokens", the limit reached.
    std::string reason;
  };

  /// Counts one request for `client` when allowed; a refused request does not count.
  Decision admit(const std::string& client);

  /// Records the tokens (prompt + completion) a finished request of `client` used, at the time of
  /// the call: later admits are refused while the window holds at least limits.tokens.
  /// InvalidArgumentError when `tokens` is negative.
  void record_tokens(const std::string& client, std::int64_t tokens);

  /// The clients currently tracked.
  std::size_t clients() const;

 private:
  // Amounts (1 per request, or a token count) with the time each entered the window, oldest first.
  class Window {
   public:
    void expire(Clock::time_point cutoff);
    void add(Clock::time_point time, std::int64_t amount);
    std::int64_t total() const { return total_; }
    // The time of the entry whose expiry brings the total below `limit` (total() >= limit > 0).
    Clock::time_point blocking_entry_time(std::int64_t limit) const;

   private:
    struct Entry {
      Clock::time_point time;
      std::int64_t amount;
    };
    std::vector<Entry> entries_;
    std::size_t head_ = 0;  // expired entries before it are dropped in batches
    std::int64_t total_ = 0;
  };

  struct Client {
    std::string name;
    Clock::time_point last_seen;  // not before any time in its windows
    Window requests;
    Window tokens;
  };
  using Clients = std::list<Client>;  // least recently seen first

  Client& touch(const std::string& name, Clock::time_point now);
  void forget_idle(Clock::time_point now);
  Decision check(const Window& window, std::int64_t limit, Clock::time_point now,
                 std::string_view reason) const;

  const RateLimits limits_;
  const std::function<Clock::time_point()> now_;
  const std::size_t max_clients_;
  const Clock::duration window_;
  mutable std::mutex mutex_;
  Clients clients_;
  std::unordered_map<std::string_view, Clients::iterator> by_name_;  // views of Client::name
};

}  // namespace gemma::server
