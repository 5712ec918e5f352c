#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/metrics.h"

namespace {

using gemma::server::Metrics;

// The rendered text, parsed: samples by name and labels as written, and the HELP and TYPE of each
// family.
struct Exposition {
  std::map<std::string, double> samples;
  std::vector<std::pair<std::string, double>> in_order;
  std::map<std::string, std::string> types;
  std::set<std::string> helps;

  double at(const std::string& sample) const {
    const auto found = samples.find(sample);
    if (found == samples.end()) FAIL("no sample " << sample);
    return found->second;
  }
};

Exposition parse(const std::string& text) {
  Exposition out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    REQUIRE_FALSE(line.empty());
    std::istringstream words(line);
    std::string hash, keyword, name, rest;
    if (line.starts_with("# ")) {
      words >> hash >> keyword >> name >> rest;
      REQUIRE_FALSE(rest.empty());
      if (keyword == "TYPE") out.types[name] = rest;
      if (keyword == "HELP") out.helps.insert(name);
      continue;
    }
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const std::string value = line.substr(space + 1);
    const std::string sample = line.substr(0, space);
    out.samples[sample] = value == "+Inf" ? INFINITY : std::stod(value);
    out.in_order.emplace_back(sample, out.samples[sample]);
  }
  return out;
}

// The family a sample belongs to: its name less the labels and any histogram suffix.
std::string family(const Exposition& exposition, const std::string& sample) {
  std::string name = sample.substr(0, sample.find('{'));
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.ends_with(suffix)) {
      const std::string base = name.substr(0, name.size() - suffix.size());
      if (exposition.types.contains(base) && exposition.types.at(base) == "histogram") return base;
    }
  }
  return name;
}

}  // namespace

TEST_CASE("Metrics renders every family with HELP and TYPE", "[server][metrics]") {
  Metrics metrics;
  metrics.request("/v1/models", 200);
  const auto exposition = parse(metrics.render());
  for (const auto& [sample, value] : exposition.samples) {
    INFO(sample);
    const std::string name = family(exposition, sample);
    CHECK(exposition.types.contains(name));
    CHECK(exposition.helps.contains(name));
  }
  CHECK(exposition.types.at("gemma_requests_total") == "counter");
  CHECK(exposition.types.at("gemma_requests_running") == "gauge");
  CHECK(exposition.types.at("gemma_e2e_request_latency_seconds") == "histogram");
  CHECK(exposition.types.at("gemma_cost_total") == "counter");
  // The GPU gauges appear only once set.
  CHECK_FALSE(exposition.types.contains("gemma_gpu_memory_used_bytes"));
}

TEST_CASE("Metrics counts requests, tokens, cost and gauges", "[server][metrics]") {
  Metrics metrics;
  metrics.request("/v1/chat/completions", 200);
  metrics.request("/v1/chat/completions", 200);
  metrics.request("/v1/chat/completions", 429);
  metrics.set_running(3);
  metrics.set_waiting(7);
  metrics.set_waiting(5);
  metrics.tokens(100, 20);
  metrics.tokens(10, 2);
  metrics.tokens(-5, -5);  // ignored: counters never go down
  metrics.cost(0.25, 1.5);
  metrics.cost(0.5, std::nan(""));
  metrics.set_gpu(1 << 30, 0.75);

  const auto e = parse(metrics.render());
  CHECK(e.at(R"(gemma_requests_total{route="/v1/chat/completions",status="200"})") == 2);
  CHECK(e.at(R"(gemma_requests_total{route="/v1/chat/completions",status="429"})") == 1);
  CHECK(e.at("gemma_requests_running") == 3);
  CHECK(e.at("gemma_requests_waiting") == 5);
  CHECK(e.at("gemma_prompt_tokens_total") == 110);
  CHECK(e.at("gemma_generation_tokens_total") == 22);
  CHECK(e.at(R"(gemma_cost_total{kind="input"})") == Approx(0.75));
  CHECK(e.at(R"(gemma_cost_total{kind="output"})") == Approx(1.5));
  CHECK(e.at("gemma_gpu_memory_used_bytes") == 1 << 30);
  CHECK(e.at("gemma_gpu_utilization_ratio") == Approx(0.75));
  CHECK(e.types.at("gemma_gpu_utilization_ratio") == "gauge");
}

TEST_CASE("Metrics histograms have cumulative buckets, a sum and a count", "[server][metrics]") {
  Metrics metrics;
  metrics.request_latency(0.3);  // on a bound: "le" is inclusive
  metrics.request_latency(0.9);
  metrics.request_latency(1.0);
  metrics.request_latency(10000);                                    // above every bound
  metrics.request_latency(-1);                                       // dropped
  metrics.request_latency(std::numeric_limits<double>::infinity());  // dropped
  metrics.time_to_first_token(0.05);
  metrics.inter_token_latency(0.02);

  const auto e = parse(metrics.render());
  const std::string name = "gemma_e2e_request_latency_seconds";
  CHECK(e.at(name + R"(_bucket{le="0.3"})") == 1);
  CHECK(e.at(name + R"(_bucket{le="0.5"})") == 1);
  CHECK(e.at(name + R"(_bucket{le="0.8"})") == 1);
  CHECK(e.at(name + R"(_bucket{le="1"})") == 3);
  CHECK(e.at(name + R"(_bucket{le="7680"})") == 3);
  CHECK(e.at(name + R"(_bucket{le="+Inf"})") == 4);
  CHECK(e.at(name + "_count") == 4);
  CHECK(e.at(name + "_sum") == Approx(10002.2));

  // Buckets never decrease.
  double previous = 0;
  int buckets = 0;
  for (const auto& [sample, value] : e.in_order) {
    if (!sample.starts_with(name + "_bucket")) continue;
    ++buckets;
    CHECK(value >= previous);
    previous = value;
  }
  CHECK(buckets == 22);  // vLLM's 21 bounds and +Inf

  CHECK(e.at(R"(gemma_time_to_first_token_seconds_bucket{le="0.04"})") == 0);
  CHECK(e.at(R"(gemma_time_to_first_token_seconds_bucket{le="0.06"})") == 1);
  CHECK(e.at(R"(gemma_inter_token_latency_seconds_bucket{le="0.025"})") == 1);
  CHECK(e.at("gemma_inter_token_latency_seconds_count") == 1);
}

TEST_CASE("Metrics escapes label values", "[server][metrics]") {
  Metrics metrics;
  metrics.request("/v1/\"odd\"\\route\nx", 404);
  const std::string text = metrics.render();
  CHECK(text.find(R"(gemma_requests_total{route="/v1/\"odd\"\\route\nx",status="404"} 1)") !=
        std::string::npos);
  CHECK(parse(text).at(R"(gemma_requests_total{route="/v1/\"odd\"\\route\nx",status="404"})") == 1);
}

TEST_CASE("Metrics reports the process from /proc", "[server][metrics]") {
  const Metrics metrics;
  // Burn a little CPU so that the counter has something to show on a fresh process.
  volatile double sink = 0;
  for (int i = 0; i < 20'000'000; ++i) sink = sink + std::sqrt(static_cast<double>(i));
  const auto e = parse(metrics.render());
  CHECK(e.types.at("process_resident_memory_bytes") == "gauge");
  CHECK(e.types.at("process_cpu_seconds_total") == "counter");
  CHECK(e.types.at("process_start_time_seconds") == "gauge");
  CHECK(e.at("process_resident_memory_bytes") > 1 << 20);
  CHECK(e.at("process_cpu_seconds_total") > 0);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(e.at("process_start_time_seconds") > now - 24 * 3600);
  CHECK(e.at("process_start_time_seconds") <= now + 5);  // btime is whole seconds
}

TEST_CASE("Metrics counts exactly under concurrent updates", "[server][metrics]") {
  Metrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        metrics.request("/v1/completions", 200);
        metrics.tokens(1, 2);
        metrics.request_latency(0.1);
        if (i % 1000 == 0) metrics.render();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto e = parse(metrics.render());
  CHECK(e.at(R"(gemma_requests_total{route="/v1/completions",status="200"})") == 40000);
  CHECK(e.at("gemma_prompt_tokens_total") == 40000);
  CHECK(e.at("gemma_generation_tokens_total") == 80000);
  CHECK(e.at("gemma_e2e_request_latency_seconds_count") == 40000);
  CHECK(e.at(R"(gemma_e2e_request_latency_seconds_bucket{le="0.3"})") == 40000);
}
