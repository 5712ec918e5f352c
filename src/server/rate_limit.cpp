#include "server/rate_limit.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "gemma/error.h"

namespace gemma::server {

namespace {

constexpr double kMaxWindowSeconds = 10 * 366 * 24 * 3600.0;

RateLimits checked(RateLimits limits) {
  if (limits.requests < 0 || limits.tokens < 0) {
    throw InvalidArgumentError(
        fmt::format("rate limits must not be negative (requests {}, tokens {})", limits.requests,
                    limits.tokens));
  }
  // Negated so that NaN fails too.
  if (!(limits.window_seconds > 0 && limits.window_seconds <= kMaxWindowSeconds)) {
    throw InvalidArgumentError(
        fmt::format("the rate limit window must be between 0 and {} seconds, not {}",
                    kMaxWindowSeconds, limits.window_seconds));
  }
  return limits;
}

}  // namespace

void RateLimiter::Window::expire(Clock::time_point cutoff) {
  while (head_ < entries_.size() && entries_[head_].time <= cutoff) {
    total_ -= entries_[head_].amount;
    ++head_;
  }
  // Dropping expired entries only once they are half the vector keeps expiry amortized O(1).
  if (head_ > entries_.size() / 2) {
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void RateLimiter::Window::add(Clock::time_point time, std::int64_t amount) {
  entries_.push_back({time, amount});
  total_ += amount;
}

RateLimiter::Clock::time_point RateLimiter::Window::blocking_entry_time(std::int64_t limit) const {
  std::int64_t left = total_;
  std::size_t i = head_;
  while (left - entries_[i].amount >= limit) left -= entries_[i++].amount;
  return entries_[i].time;
}

RateLimiter::RateLimiter(RateLimits limits, std::function<Clock::time_point()> now,
                         std::size_t max_clients)
    : limits_(checked(limits)),
      now_(std::move(now)),
      max_clients_(max_clients),
      // At least one tick: a window that rounds to nothing would never limit anything.
      window_(
          std::max(Clock::duration(1), std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(limits.window_seconds)))) {
  if (!now_) throw InvalidArgumentError("the rate limiter needs a clock");
  if (max_clients_ == 0) throw InvalidArgumentError("the rate limiter must track a client");
}

RateLimiter::Decision RateLimiter::admit(const std::string& client) {
  if (limits_.requests == 0 && limits_.tokens == 0) return {};
  std::lock_guard lock(mutex_);
  const auto now = now_();
  forget_idle(now);
  Client& state = touch(client, now);
  Decision by_requests = check(state.requests, limits_.requests, now, "requests");
  Decision by_tokens = check(state.tokens, limits_.tokens, now, "tokens");
  // When both refuse, the client has to wait for the later of the two.
  Decision decision = by_requests.retry_after_seconds >= by_tokens.retry_after_seconds
                          ? std::move(by_requests)
                          : std::move(by_tokens);
  if (decision.allowed && limits_.requests > 0) state.requests.add(now, 1);
  return decision;
}

void RateLimiter::record_tokens(const std::string& client, std::int64_t tokens) {
  if (tokens < 0) {
    throw InvalidArgumentError(fmt::format("a request cannot use {} tokens", tokens));
  }
  if (limits_.tokens == 0 || tokens == 0) return;
  std::lock_guard lock(mutex_);
  const auto now = now_();
  forget_idle(now);
  touch(client, now).tokens.add(now, tokens);
}

std::size_t RateLimiter::clients() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

RateLimiter::Client& RateLimiter::touch(const std::string& name, Clock::time_point now) {
  if (const auto found = by_name_.find(name); found != by_name_.end()) {
    clients_.splice(clients_.end(), clients_, found->second);
  } else {
    if (clients_.size() >= max_clients_) {
      by_name_.erase(clients_.front().name);
      clients_.pop_front();
    }
    clients_.emplace_back().name = name;
    by_name_.emplace(clients_.back().name, std::prev(clients_.end()));
  }
  Client& client = clients_.back();
  client.last_seen = now;
  client.requests.expire(now - window_);
  client.tokens.expire(now - window_);
  return client;
}

// Clients are ordered by last_seen, and nothing in a client's windows is newer than its last_seen:
// once that left the window, so did all the client's entries.
void RateLimiter::forget_idle(Clock::time_point now) {
  while (!clients_.empty() && clients_.front().last_seen <= now - window_) {
    by_name_.erase(clients_.front().name);
    clients_.pop_front();
  }
}

RateLimiter::Decision RateLimiter::check(const Window& window, std::int64_t limit,
                                         Clock::time_point now, std::string_view reason) const {
  if (limit == 0 || window.total() < limit) return {};
  const auto leaves = window.blocking_entry_time(limit) + window_;
  return {.allowed = false,
          .retry_after_seconds = std::chrono::duration<double>(leaves - now).count(),
          .reason = std::string(reason)};
}

}  // namespace gemma::server
