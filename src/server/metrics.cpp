#include "server/metrics.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>
#include <string_view>

#include "util/files.h"

namespace gemma::server {

namespace {

// vLLM's buckets (vllm:time_to_first_token_seconds, vllm:inter_token_latency_seconds,
// vllm:e2e_request_latency_seconds), so that dashboards built for it read ours alike.
constexpr double kTimeToFirstTokenBounds[] = {0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                              0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                              20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
constexpr double kInterTokenLatencyBounds[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                               0.3,  0.4,   0.5,  0.75,  1.0, 2.5,  5.0,
                                               7.5,  10.0,  20.0, 40.0,  80.0};
constexpr double kRequestLatencyBounds[] = {0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                            5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                            60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

// /proc files are small, but claim a size of 0; the cap only bounds the read.
constexpr std::uint64_t kMaxProcFileBytes = 64 << 10;

struct ProcessStats {
  double resident_bytes = 0;
  double cpu_seconds = 0;
};

// Go's ParseFloat spelling, which Prometheus reads: shortest round trip, "+Inf", "NaN".
std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void add_if_valid(double& counter, double increment) {
  if (std::isfinite(increment) && increment > 0) counter += increment;
}

void add_if_valid(std::uint64_t& counter, std::int64_t increment) {
  if (increment > 0) counter += static_cast<std::uint64_t>(increment);
}

// The fields of /proc/self/stat from the third (state) on. The second, the command name in
// parentheses, may itself hold spaces and parentheses, hence the last ')'.
std::optional<std::vector<std::string>> self_stat_fields() {
  const auto stat = util::read_optional_file("/proc/self/stat", kMaxProcFileBytes);
  if (!stat) return std::nullopt;
  const auto end_of_name = stat->rfind(')');
  if (end_of_name == std::string::npos) return std::nullopt;
  std::istringstream in(stat->substr(end_of_name + 1));
  std::vector<std::string> fields;
  for (std::string field; in >> field;) fields.push_back(std::move(field));
  return fields;
}

std::optional<ProcessStats> read_process_stats() {
  const auto fields = self_stat_fields();
  const auto statm = util::read_optional_file("/proc/self/statm", kMaxProcFileBytes);
  if (!fields || fields->size() < 13 || !statm) return std::nullopt;
  std::istringstream pages(*statm);
  double size = 0;
  double resident = 0;
  if (!(pages >> size >> resident)) return std::nullopt;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  // utime and stime, fields 14 and 15.
  const double cpu_ticks = std::stod((*fields)[11]) + std::stod((*fields)[12]);
  return ProcessStats{resident * static_cast<double>(::sysconf(_SC_PAGESIZE)), cpu_ticks / ticks};
}

// Boot time (btime in /proc/stat) plus the process's start in clock ticks after boot (field 22).
std::optional<double> read_start_time_seconds() {
  const auto fields = self_stat_fields();
  const auto stat = util::read_optional_file("/proc/stat", kMaxProcFileBytes);
  if (!fields || fields->size() < 20 || !stat) return std::nullopt;
  const auto btime = stat->find("\nbtime ");
  if (btime == std::string::npos) return std::nullopt;
  const double boot_seconds = std::stod(stat->substr(btime + 7));
  return boot_seconds + std::stod((*fields)[19]) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void render_process(std::string& out, const std::optional<ProcessStats>& stats,
                    std::optional<double> start_time_seconds) {
  if (stats) {
    header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out += "process_resident_memory_bytes " + format_value(stats->resident_bytes) + "\n";
    header(out, "process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.");
    out += "process_cpu_seconds_total " + format_value(stats->cpu_seconds) + "\n";
  }
  if (start_time_seconds) {
    header(out, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
    out += "process_start_time_seconds " + format_value(*start_time_seconds) + "\n";
  }
}

}  // namespace

Metrics::Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(bounds.size() + 1, 0) {}

void Metrics::Histogram::observe(double value) {
  if (!std::isfinite(value) || value < 0) return;
  // Buckets are upper bounds, inclusive ("le").
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[static_cast<std::size_t>(bucket)];
  sum_ += value;
  ++count_;
}

void Metrics::Histogram::render(std::string& out, const char* name) const {
  auto it = std::back_inserter(out);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    fmt::format_to(it, "{}_bucket{{le=\"{}\"}} {}\n", name, format_value(bounds_[i]), cumulative);
  }
  fmt::format_to(it, "{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
  fmt::format_to(it, "{}_sum {}\n{}_count {}\n", name, format_value(sum_), name, count_);
}

Metrics::Metrics()
    : time_to_first_token_(kTimeToFirstTokenBounds),
      inter_token_latency_(kInterTokenLatencyBounds),
      request_latency_(kRequestLatencyBounds),
      start_time_seconds_(read_start_time_seconds()) {}

void Metrics::request(const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::set_running(std::int64_t n) {
  std::lock_guard lock(mutex_);
  running_ = n;
}

void Metrics::set_waiting(std::int64_t n) {
  std::lock_guard lock(mutex_);
  waiting_ = n;
}

void Metrics::tokens(std::int64_t prompt, std::int64_t generated) {
  std::lock_guard lock(mutex_);
  add_if_valid(prompt_tokens_, prompt);
  add_if_valid(generation_tokens_, generated);
}

void Metrics::time_to_first_token(double seconds) {
  std::lock_guard lock(mutex_);
  time_to_first_token_.observe(seconds);
}

void Metrics::inter_token_latency(double seconds) {
  std::lock_guard lock(mutex_);
  inter_token_latency_.observe(seconds);
}

void Metrics::request_latency(double seconds) {
  std::lock_guard lock(mutex_);
  request_latency_.observe(seconds);
}

void Metrics::cost(double input_cost, double output_cost) {
  std::lock_guard lock(mutex_);
  add_if_valid(input_cost_, input_cost);
  add_if_valid(output_cost_, output_cost);
}

void Metrics::set_gpu(std::int64_t memory_used_bytes, double utilization) {
  std::lock_guard lock(mutex_);
  gpu_memory_used_bytes_ = memory_used_bytes;
  gpu_utilization_ = utilization;
}

std::string Metrics::render() const {
  // /proc is read before taking the lock, which request threads wait on.
  const auto process = read_process_stats();
  std::string out;
  render_own(out);
  render_process(out, process, start_time_seconds_);
  return out;
}

void Metrics::render_own(std::string& out) const {
  auto it = std::back_inserter(out);
  std::lock_guard lock(mutex_);
  header(out, "gemma_requests_total", "counter", "HTTP requests by route and status code.");
  for (const auto& [key, count] : requests_) {
    fmt::format_to(it, "gemma_requests_total{{route=\"{}\",status=\"{}\"}} {}\n",
                   escape_label(key.first), key.second, count);
  }
  header(out, "gemma_requests_running", "gauge", "Requests being generated.");
  fmt::format_to(it, "gemma_requests_running {}\n", running_);
  header(out, "gemma_requests_waiting", "gauge", "Requests waiting for a generation slot.");
  fmt::format_to(it, "gemma_requests_waiting {}\n", waiting_);
  header(out, "gemma_prompt_tokens_total", "counter", "Prompt tokens processed.");
  fmt::format_to(it, "gemma_prompt_tokens_total {}\n", prompt_tokens_);
  header(out, "gemma_generation_tokens_total", "counter", "Tokens generated.");
  fmt::format_to(it, "gemma_generation_tokens_total {}\n", generation_tokens_);
  header(out, "gemma_time_to_first_token_seconds", "histogram",
         "Time from receiving a request to its first generated token.");
  time_to_first_token_.render(out, "gemma_time_to_first_token_seconds");
  header(out, "gemma_inter_token_latency_seconds", "histogram",
         "Time between consecutive generated tokens.");
  inter_token_latency_.render(out, "gemma_inter_token_latency_seconds");
  header(out, "gemma_e2e_request_latency_seconds", "histogram",
         "Time from receiving a request to its last byte.");
  request_latency_.render(out, "gemma_e2e_request_latency_seconds");
  header(out, "gemma_cost_total", "counter", "Estimated cost of prompt and generated tokens.");
  fmt::format_to(it, "gemma_cost_total{{kind=\"input\"}} {}\n", format_value(input_cost_));
  fmt::format_to(it, "gemma_cost_total{{kind=\"output\"}} {}\n", format_value(output_cost_));
  if (gpu_memory_used_bytes_) {
    header(out, "gemma_gpu_memory_used_bytes", "gauge", "GPU memory in use, in bytes.");
    fmt::format_to(it, "gemma_gpu_memory_used_bytes {}\n", *gpu_memory_used_bytes_);
    header(out, "gemma_gpu_utilization_ratio", "gauge", "GPU utilization, 0 to 1.");
    fmt::format_to(it, "gemma_gpu_utilization_ratio {}\n", format_value(*gpu_utilization_));
  }
}

}  // namespace gemma::server
