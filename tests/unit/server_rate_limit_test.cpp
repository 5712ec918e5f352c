#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "gemma/error.h"
#include "server/rate_limit.h"

namespace {

using gemma::server::RateLimiter;
using gemma::server::RateLimits;
using Clock = RateLimiter::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A clock the test moves by hand.
struct FakeClock {
  Clock::time_point now{std::chrono::hours(1000)};
  std::function<Clock::time_point()> function() {
    return [this] { return now; };
  }
};

}  // namespace

TEST_CASE("RateLimiter refuses once the window holds max requests", "[server][rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({.requests = 3, .window_seconds = 60}, clock.function());
  const auto start = clock.now;
  for (int i = 0; i < 3; ++i) {
    clock.now = start + seconds(10 * i);
    CHECK(limiter.admit("a").allowed);
  }
  clock.now = start + seconds(30);
  const auto refused = limiter.admit("a");
  CHECK_FALSE(refused.allowed);
  CHECK(refused.reason == "requests");
  // The first request leaves the window 60 s after it came.
  CHECK(refused.retry_after_seconds == Approx(30.0));

  // Refused requests do not count: hammering does not push the retry further out.
  clock.now = start + seconds(59);
  CHECK(limiter.admit("a").retry_after_seconds == Approx(1.0));

  clock.now = start + seconds(60);
  CHECK(limiter.admit("a").allowed);
  clock.now = start + seconds(61);
  const auto again = limiter.admit("a");
  CHECK_FALSE(again.allowed);
  CHECK(again.retry_after_seconds == Approx(9.0));
}

TEST_CASE("RateLimiter gives the exact time until a slot frees", "[server][rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({.requests = 1, .window_seconds = 1.5}, clock.function());
  CHECK(limiter.admit("a").allowed);
  clock.now += milliseconds(250);
  const auto refused = limiter.admit("a");
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_seconds == Approx(1.25).epsilon(1e-9));
  clock.now += milliseconds(1250);
  CHECK(limiter.admit("a").allowed);
}

TEST_CASE("RateLimiter limits the tokens used inside the window", "[server][rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({.tokens = 50, .window_seconds = 60}, clock.function());
  const auto start = clock.now;
  CHECK(limiter.admit("a").allowed);
  limiter.record_tokens("a", 30);
  clock.now = start + seconds(10);
  CHECK(limiter.admit("a").allowed);
  limiter.record_tokens("a", 30);
  clock.now = start + seconds(20);
  // 60 tokens: refused until dropping the oldest entries brings the window below 50.
  CHECK_FALSE(limiter.admit("a").allowed);
  limiter.record_tokens("a", 60);  // a request admitted earlier finishes

  clock.now = start + seconds(25);
  const auto refused = limiter.admit("a");
  CHECK_FALSE(refused.allowed);
  CHECK(refused.reason == "tokens");
  // 120 tokens; the two 30s leave at 60 s and 70 s, leaving 60: only the last one's expiry helps.
  CHECK(refused.retry_after_seconds == Approx(55.0));

  clock.now = start + seconds(80);
  CHECK(limiter.admit("a").allowed);
  CHECK_THROWS_AS(limiter.record_tokens("a", -1), gemma::InvalidArgumentError);
}

TEST_CASE("RateLimiter reports the later limit when both refuse", "[server][rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({.requests = 1, .tokens = 10, .window_seconds = 100}, clock.function());
  const auto start = clock.now;
  CHECK(limiter.admit("a").allowed);
  clock.now = start + seconds(40);
  limiter.record_tokens("a", 10);
  clock.now = start + seconds(50);
  const auto refused = limiter.admit("a");
  CHECK_FALSE(refused.allowed);
  CHECK(refused.reason == "tokens");
  CHECK(refused.retry_after_seconds == Approx(90.0));

  clock.now = start + seconds(100);
  const auto tokens_only = limiter.admit("a");
  CHECK(tokens_only.reason == "tokens");
  CHECK(tokens_only.retry_after_seconds == Approx(40.0));
}

TEST_CASE("RateLimiter keeps clients apart", "[server][rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({.requests = 2, .tokens = 100}, clock.function());
  CHECK(limiter.admit("a").allowed);
  CHECK(limiter.admit("a").allowed);
  CHECK_FALSE(limiter.admit("a").allowed);
  CHECK(limiter.admit("b").allowed);
  limiter.record_tokens("b", 100);
  CHECK_FALSE(limiter.admit("b").allowed);
  CHECK(limiter.admit("c").allowed);
  CHECK(limiter.clients() == 3);
}

TEST_CASE("RateLimiter without limits admits everything and tracks nobody",
          "[server][rate_limit]") {
  RateLimiter limiter({});
  for (int i = 0; i < 1000; ++i) CHECK(limiter.admit("client-" + std::to_string(i)).allowed);
  limiter.record_tokens("client-0", 1'000'000);
  CHECK(limiter.clients() == 0);
}

TEST_CASE("RateLimiter forgets clients whose window emptied", "[server][rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({.requests = 1, .window_seconds = 10}, clock.function());
  for (int i = 0; i < 1000; ++i) limiter.admit("client-" + std::to_string(i));
  CHECK(limiter.clients() == 1000);
  clock.now += seconds(5);
  limiter.admit("late");
  CHECK(limiter.clients() == 1001);
  clock.now += seconds(5);
  limiter.admit("new");
  CHECK(limiter.clients() == 2);  // "late" and "new"
  clock.now += seconds(10);
  limiter.admit("newest");
  CHECK(limiter.clients() == 1);
}

TEST_CASE("RateLimiter evicts the least recently seen client beyond its cap",
          "[server][rate_limit]") {
  FakeClock clock;
  RateLimiter limiter({.requests = 1}, clock.function(), 3);
  for (const char* name : {"a", "b", "c"}) {
    CHECK(limiter.admit(name).allowed);
    clock.now += seconds(1);
  }
  CHECK_FALSE(limiter.admit("a").allowed);  // seen again: "b" is now the stalest
  CHECK(limiter.admit("d").allowed);
  CHECK(limiter.clients() == 3);
  CHECK(limiter.admit("b").allowed);  // evicted, so its history is gone; "c" goes now
  CHECK_FALSE(limiter.admit("a").allowed);
  CHECK_FALSE(limiter.admit("d").allowed);
  CHECK(limiter.clients() == 3);
}

TEST_CASE("RateLimiter refuses impossible limits", "[server][rate_limit]") {
  using gemma::InvalidArgumentError;
  CHECK_THROWS_AS(RateLimiter({.requests = -1}), InvalidArgumentError);
  CHECK_THROWS_AS(RateLimiter({.tokens = -1}), InvalidArgumentError);
  CHECK_THROWS_AS(RateLimiter({.window_seconds = 0}), InvalidArgumentError);
  CHECK_THROWS_AS(RateLimiter({.window_seconds = -5}), InvalidArgumentError);
  CHECK_THROWS_AS(RateLimiter({.window_seconds = std::nan("")}), InvalidArgumentError);
  CHECK_THROWS_AS(RateLimiter({.window_seconds = std::numeric_limits<double>::infinity()}),
                  InvalidArgumentError);
  CHECK_THROWS_AS(RateLimiter({}, nullptr), InvalidArgumentError);
  CHECK_THROWS_AS(RateLimiter({}, RateLimiter::Clock::now, 0), InvalidArgumentError);
}

TEST_CASE("RateLimiter admits exactly the limit under concurrent requests",
          "[server][rate_limit]") {
  RateLimiter limiter({.requests = 1000});
  std::atomic<int> allowed = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) allowed += limiter.admit("shared").allowed ? 1 : 0;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(allowed == 1000);
  CHECK(limiter.clients() == 1);
}
