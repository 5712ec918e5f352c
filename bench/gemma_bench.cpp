// Benchmark: load time, time to first token, prefill and decode speed and peak memory of greedy
// generation, for a text prompt of exactly N tokens and an image prompt. bench_transformers.py
// measures the same with transformers; bench/README.md defines every figure. One JSON object per
// prompt kind on stdout.
//
//   gemma_bench --model DIR [--device cpu] [--dtype bfloat16] [--threads N] [--runs R]
//               [--prompt-tokens 512] [--new-tokens 64] [--image PATH] [--kinds text,image]
#include <ATen/Parallel.h>
#include <gemma/error.h>
#include <gemma/messages.h>
#include <gemma/model.h>
#include <gemma/processor.h>
#include <gemma/runtime.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "text_prompt.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kImageQuestion = "Describe this image.";

struct Options {
  std::string model;
  std::string device = "cpu";
  std::string dtype = "bfloat16";
  int threads = 0;  // 0: LibTorch's default
  int runs = 1;
  int warmup = 1;
  int64_t prompt_tokens = 512;
  int64_t new_tokens = 64;
  std::string image = GEMMA_BENCH_DEFAULT_IMAGE;
  std::vector<std::string> kinds = {"text", "image"};
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// FNV-1a over the ids as little-endian int64: bench_transformers.py prints the same hash, so equal
// hashes mean both sides ran on identical token ids.
std::string ids_hash(const std::vector<int64_t>& ids) {
  uint64_t hash = 14695981039346656037ull;
  for (const int64_t id : ids) {
    for (int byte = 0; byte < 8; ++byte) {
      hash ^= (static_cast<uint64_t>(id) >> (8 * byte)) & 0xFF;
      hash *= 1099511628211ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

std::vector<int64_t> row_ids(const at::Tensor& input_ids) {
  const auto ids = input_ids.select(0, 0).contiguous();
  return {ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel()};
}

gemma::BatchEncoding image_prompt(const gemma::Processor& processor, const std::string& image) {
  return processor.apply_chat_template(
      {gemma::chat::user({gemma::chat::image(image), gemma::chat::text(kImageQuestion)})});
}

struct Run {
  double ttft = 0, total = 0;
  int64_t new_tokens = 0, peak_memory = 0;
  std::vector<int64_t> tokens;
};

// Time to first token from the generate call to the first token's callback, as the Python side's
// streamer sees it: generate()'s own setup counts on both sides.
Run generate_once(const gemma::Model& model, const gemma::BatchEncoding& inputs,
                  int64_t new_tokens) {
  const gemma::GenerationConfig config{
      .max_new_tokens = new_tokens, .do_sample = false, .eos_token_ids = std::vector<int64_t>{}};
  std::optional<double> first;
  const auto start = Clock::now();
  auto result = model.generate(inputs, config, [&](const gemma::TokenEvent&) {
    if (!first) first = seconds_since(start);
    return true;
  });
  const double total = seconds_since(start);
  return {.ttft = first.value_or(0),
          .total = total,
          .new_tokens = result.stats.new_tokens,
          .peak_memory = result.stats.peak_memory_bytes,
          .tokens = std::move(result.tokens.at(0))};
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

nlohmann::json measure(const gemma::Model& model, const gemma::BatchEncoding& inputs,
                       const Options& options) {
  for (int i = 0; i < options.warmup; ++i) generate_once(model, inputs, options.new_tokens);
  std::vector<double> ttft, prefill, decode, total, peak;
  Run run;
  for (int i = 0; i < options.runs; ++i) {
    run = generate_once(model, inputs, options.new_tokens);
    const auto prompt = static_cast<double>(inputs.input_ids.size(1));
    ttft.push_back(run.ttft);
    prefill.push_back(prompt / run.ttft);
    decode.push_back(static_cast<double>(run.new_tokens - 1) / (run.total - run.ttft));
    total.push_back(run.total);
    peak.push_back(static_cast<double>(run.peak_memory));
  }
  return {{"prompt_tokens", inputs.input_ids.size(1)},
          {"new_tokens", run.new_tokens},
          {"ids_hash", ids_hash(row_ids(inputs.input_ids))},
          {"output_hash", ids_hash(run.tokens)},
          {"time_to_first_token_seconds", median(ttft)},
          {"prefill_tokens_per_second", median(prefill)},
          {"decode_tokens_per_second", median(decode)},
          {"total_seconds", median(total)},
          {"peak_memory_bytes", static_cast<int64_t>(median(peak))}};
}

Options parse(int argc, char** argv) {
  Options o;
  CLI::App app{"gemma benchmark: load, time to first token, prefill/decode speed, peak memory"};
  app.add_option("--model", o.model, "model directory or hub id")->required();
  app.add_option("--device", o.device, "cpu, cuda or cuda:N");
  app.add_option("--dtype", o.dtype, "float32, bfloat16 or int8");
  app.add_option("--threads", o.threads, "intra-op threads (0: LibTorch's default)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--runs", o.runs, "measured runs (the median is reported)")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "unmeasured runs first")->check(CLI::NonNegativeNumber);
  app.add_option("--prompt-tokens", o.prompt_tokens, "text prompt length")
      ->check(CLI::PositiveNumber);
  app.add_option("--new-tokens", o.new_tokens, "tokens generated per run")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  app.add_option("--image", o.image, "image of the image prompt");
  app.add_option("--kinds", o.kinds, "prompt kinds to run")
      ->delimiter(',')
      ->check(CLI::IsMember({"text", "image"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  gemma::reuse_freed_memory();  // as the gemma CLI does
  try {
    if (options.threads > 0) at::set_num_threads(options.threads);
    const auto load_start = Clock::now();
    const auto model = gemma::Model::from_pretrained(
        options.model, {.device = options.device, .dtype = options.dtype});
    const auto processor = gemma::Processor::from_pretrained(options.model);
    const double load_seconds = seconds_since(load_start);
    for (const auto& kind : options.kinds) {
      const auto inputs = kind == "text" ? gemma::bench::text_prompt(processor, options.prompt_tokens)
                                         : image_prompt(processor, options.image);
      auto report = measure(model, inputs, options);
      report.update({{"implementation", "gemma"},
                     {"kind", kind},
                     {"model", options.model},
                     {"device", options.device},
                     {"dtype", options.dtype},
                     {"threads", at::get_num_threads()},
                     {"runs", options.runs},
                     {"warmup", options.warmup},
                     {"load_seconds", load_seconds}});
      std::cout << report.dump() << std::endl;
    }
  } catch (const gemma::Error& e) {
    std::cerr << "gemma_bench: " << e.what() << "\n";
    return 1;
  }
}
