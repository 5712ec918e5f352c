#include "generation/generate.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/ones.h>

#include <algorithm>
#include <chrono>

#include "generation/kv_cache.h"
#include "generation/logits_processors.h"
#include "generation/peak_memory.h"
#include "generation/sampling.h"

namespace gemma::generation {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The dynamic cache is reserved for the prompt + 256 tokens and grown as tokens come: most
// generations stop at EOS long before max_new_tokens. The static one holds them all from the start.
KvCache make_cache(const TextConfig& text, int64_t batch, int64_t prompt,
                   const ResolvedGeneration& config, const at::TensorOptions& options) {
  const int64_t capacity = prompt + config.max_new_tokens;
  if (config.cache_implementation == "static") {
    return KvCache::make_static(text, batch, capacity, options);
  }
  constexpr int64_t kFirstDecodeTokens = 256;
  return KvCache(text, batch, capacity, options,
                 prompt + std::min(config.max_new_tokens, kFirstDecodeTokens));
}

}  // namespace

GenerateResult generate(model::ForConditionalGeneration& model, const at::Tensor& input_ids,
                        const at::Tensor& attention_mask, const ResolvedGeneration& config,
                        const TokenCallback& on_token, const model::MultimodalInputs& media) {
  at::NoGradGuard no_grad;
  const auto b = input_ids.size(0), t = input_ids.size(1);
  check_lengths(model, t, config);
  const auto param = model->parameters().front();
  auto cache = make_cache(model->config().text, b, t, config,
                          at::TensorOptions().dtype(param.scalar_type()).device(param.device()));
  auto mask = attention_mask.defined() ? attention_mask.to(at::kLong)
                                       : at::ones({b, t}, input_ids.options().dtype(at::kLong));
  // Left padding per row: the repetition penalty ignores it, as transformers does.
  const auto padding = (mask != 0).to(at::kInt).argmax(1);
  auto all_ids = input_ids;
  auto step_ids = input_ids;
  Sampler sampler(config);

  const PeakMemory peak_memory(input_ids.device());
  GenerateResult result;
  result.tokens.resize(b);
  result.stats.prompt_tokens = mask.sum().item<int64_t>();
  std::vector<bool> finished(b, false);
  const auto start = Clock::now();
  for (int64_t step = 0; step < config.max_new_tokens; ++step) {
    model::ForwardInputs in{step_ids, mask, {}, &cache};
    if (step == 0) in.media = media;
    in.logits_to_keep = 1;  // the prompt's other positions would cost [B, T, vocab] floats
    auto logits = model->forward(in).logits.select(1, -1).to(at::kFloat);
    check_finite(logits, step);
    auto scores = process_logits(logits, all_ids, padding, config);
    auto next = sampler.next(scores).to(at::kCPU);
    if (step == 0) {
      result.stats.prefill_seconds = result.stats.time_to_first_token_seconds =
          seconds_since(start);
    }
    auto* tokens = next.data_ptr<int64_t>();
    bool all_done = true;
    for (int64_t row = 0; row < b; ++row) {
      if (finished[row]) {
        tokens[row] = config.pad_token_id;
        continue;
      }
      const auto token = tokens[row];
      result.tokens[row].push_back(token);
      bool ends = std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), token) !=
                  config.eos_token_ids.end();
      ends = ends || step + 1 == config.max_new_tokens;
      TokenEvent event{row, token, step, ends};
      if (on_token && !on_token(event)) ends = true;
      finished[row] = ends;
      all_done = all_done && ends;
    }
    if (all_done) break;
    step_ids = next.to(input_ids.device()).unsqueeze(1);
    all_ids = at::cat({all_ids, step_ids}, 1);
    mask = at::cat({mask, at::ones({b, 1}, mask.options())}, 1);
  }
  for (const auto& row : result.tokens) {
    result.stats.new_tokens += row.size();
    result.stats.decode_tokens += std::max<int64_t>(0, static_cast<int64_t>(row.size()) - 1);
  }
  result.stats.decode_seconds = seconds_since(start) - result.stats.prefill_seconds;
  result.stats.peak_memory_bytes = peak_memory.bytes();
  return result;
}

}  // namespace gemma::generation
