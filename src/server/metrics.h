#pragma once
// The server's Prometheus metrics, rendered in the text exposition format 0.0.4 without a client
// library: a fixed set of counters, gauges and histograms.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace gemma::server {

/// Thread-safe. Counters ignore negative increments (a counter never goes down), histograms ignore
/// negative or non-finite observations (one clock glitch would otherwise poison _sum for good).
class Metrics {
 public:
  Metrics();

  /// gemma_requests_total{route,status}. `route` should name an endpoint ("/v1/chat/completions"),
  /// never a raw request path: every distinct value is kept for the life of the process.
  void request(const std::string& route, int status);

  /// gemma_requests_running and gemma_requests_waiting.
  void set_running(std::int64_t n);
  void set_waiting(std::int64_t n);

  /// gemma_prompt_tokens_total and gemma_generation_tokens_total.
  void tokens(std::int64_t prompt, std::int64_t generated);

  /// gemma_time_to_first_token_seconds, gemma_inter_token_latency_seconds and
  /// gemma_e2e_request_latency_seconds; buckets as vLLM's.
  void time_to_first_token(double seconds);
  void inter_token_latency(double seconds);
  void request_latency(double seconds);

  /// gemma_cost_total{kind="input"|"output"}, in currency units.
  void cost(double input_cost, double output_cost);

  /// gemma_gpu_memory_used_bytes and gemma_gpu_utilization_ratio, rendered once set.
  void set_gpu(std::int64_t memory_used_bytes, double utilization);

  /// The exposition text, with the process metrics (resident memory and CPU time from /proc/self,
  /// read now; the start time) after gemma's own.
  std::string render() const;

 private:
  class Histogram {
   public:
    explicit Histogram(std::span<const double> bounds);
    void observe(double value);
    void render(std::string& out, const char* name) const;

   private:
    std::span<const double> bounds_;
    std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; the last one is +Inf
    double sum_ = 0;
    std::uint64_t count_ = 0;
  };

  void render_own(std::string& out) const;

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::int64_t running_ = 0;
  std::int64_t waiting_ = 0;
  std::uint64_t prompt_tokens_ = 0;
  std::uint64_t generation_tokens_ = 0;
  Histogram time_to_first_token_;
  Histogram inter_token_latency_;
  Histogram request_latency_;
  double input_cost_ = 0;
  double output_cost_ = 0;
  std::optional<std::int64_t> gpu_memory_used_bytes_;
  std::optional<double> gpu_utilization_;
  std::optional<double> start_time_seconds_;  // from /proc, when there is one
};

}  // namespace gemma::server
