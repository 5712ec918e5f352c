#include "generation/logits_processors.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/gather.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/sort.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/where.h>

#include <algorithm>
#include <limits>

namespace gemma::generation {
namespace {

constexpr double kFiltered = -std::numeric_limits<double>::infinity();

}  // namespace

at::Tensor repetition_penalty(const at::Tensor& scores, const at::Tensor& ids,
                              const at::Tensor& prompt_ignore, double penalty) {
  const auto vocab = scores.size(-1);
  auto tokens = ids.clamp_max(vocab);
  if (prompt_ignore.defined()) {
    auto positions = at::arange(ids.size(1), ids.options()).unsqueeze(0);
    tokens = tokens.masked_fill(positions < prompt_ignore.unsqueeze(1), vocab);
  }
  // One spare column absorbs the ignored positions; it is dropped again below.
  auto padded = at::constant_pad_nd(scores, {0, 1});
  auto picked = at::gather(padded, 1, tokens);
  picked = at::where(picked < 0, picked * penalty, picked / penalty);
  return padded.scatter(1, tokens, picked).narrow(1, 0, vocab);
}

at::Tensor temperature(const at::Tensor& scores, double t) { return scores / t; }

at::Tensor top_k(const at::Tensor& scores, int64_t k) {
  k = std::min<int64_t>(k, scores.size(-1));
  auto kth = std::get<0>(at::topk(scores, k)).narrow(-1, k - 1, 1);
  return scores.masked_fill(scores < kth, kFiltered);
}

at::Tensor top_p(const at::Tensor& scores, double p) {
  auto [sorted, indices] = at::sort(scores, /*dim=*/-1, /*descending=*/false);
  auto cumulative = at::softmax(sorted, -1).cumsum(-1);
  auto remove = cumulative <= (1 - p);
  remove.narrow(-1, remove.size(-1) - 1, 1).fill_(false);  // always keep the best token
  return scores.masked_fill(remove.scatter(1, indices, remove), kFiltered);
}

at::Tensor min_p(const at::Tensor& scores, double p) {
  auto probs = at::softmax(scores, -1);
  auto remove = probs < p * probs.amax(-1, /*keepdim=*/true);
  remove.scatter_(-1, std::get<1>(at::topk(probs, 1)), false);
  return scores.masked_fill(remove, kFiltered);
}

at::Tensor process_logits(const at::Tensor& scores, const at::Tensor& ids,
                          const at::Tensor& prompt_ignore, const ResolvedGeneration& config) {
  auto out = scores;
  if (config.repetition_penalty != 1.0) {
    out = repetition_penalty(out, ids, prompt_ignore, config.repetition_penalty);
  }
  if (!config.do_sample) return out;
  if (config.temperature != 1.0) out = temperature(out, config.temperature);
  if (config.top_k != 0) out = top_k(out, config.top_k);
  if (config.top_p < 1.0) out = top_p(out, config.top_p);
  if (config.min_p) out = min_p(out, *config.min_p);
  return out;
}

}  // namespace gemma::generation
