// Continuous batching over one batched KV cache. A request is prefilled alone (batch of one, its
// media encoded then), then its cache rows are appended to the running batch, left-padded to the
// batch's length; the attention mask marks the padding, and positions come from the mask, so a
// row computes what it would alone. Rows leave by index; the columns that became padding for every
// remaining row are dropped, which keeps the batch's length at its longest row's.
#include "gemma/continuous_batching.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "gemma/error.h"
#include "generation/kv_cache.h"
#include "generation/logits_processors.h"
#include "generation/sampling.h"
#include "model/model_impl.h"
#include "util/torch_errors.h"

namespace gemma {
namespace {

// Same first reservation as generate(): most requests stop at EOS long before max_new_tokens.
constexpr int64_t kFirstDecodeTokens = 256;

struct Row {
  ResolvedGeneration config;
  generation::Sampler sampler;
  TokenCallback on_token;
  at::Tensor ids;  // [1, prompt + generated], for the repetition penalty
  int64_t generated = 0;

  // Records `token`, tells the caller; true when the request ends with it.
  bool take(int64_t token) {
    ids = at::cat({ids, at::tensor({token}, ids.options()).unsqueeze(0)}, 1);
    const auto& eos = config.eos_token_ids;
    bool ends = std::find(eos.begin(), eos.end(), token) != eos.end() ||
                generated + 1 == config.max_new_tokens;
    const TokenEvent event{0, token, generated++, ends};
    if (on_token && !on_token(event)) ends = true;
    return ends;
  }
  // The next token from this row's float32 logits [1, V].
  int64_t choose(const at::Tensor& logits) {
    const auto no_padding = at::zeros({1}, ids.options());
    auto scores = generation::process_logits(logits, ids, no_padding, config);
    return sampler.next(scores).to(at::kCPU).item<int64_t>();
  }
};

}  // namespace

struct ContinuousBatcher::Impl {
  std::shared_ptr<Model::Impl> model;
  std::vector<Row> rows;
  std::optional<generation::KvCache> cache;
  at::Tensor mask;  // [B, cache length]: 0 over each row's left padding
  at::Tensor next;  // [B, 1]: the tokens the next step feeds
  int64_t steps = 0;

  void add(const BatchEncoding& inputs, const GenerationConfig& config, TokenCallback on_token);
  void step();
  void join(Row row, generation::KvCache one, const at::Tensor& token);
  void keep(const std::vector<int64_t>& kept);
  void clear() {
    rows.clear();
    cache.reset();
    mask = next = at::Tensor();
  }
};

void ContinuousBatcher::Impl::add(const BatchEncoding& inputs, const GenerationConfig& config,
                                  TokenCallback on_token) {
  const auto& ids = inputs.input_ids;
  if (!ids.defined() || ids.dim() != 2 || ids.size(0) != 1) {
    throw InvalidArgumentError("ContinuousBatcher::add takes the inputs of one conversation");
  }
  if (!config.stop_strings.empty()) {
    throw InvalidArgumentError("ContinuousBatcher::add does not apply stop_strings");
  }
  // Rows join and leave the batched cache, which changes its shapes. A model default of "static"
  // is ignored, as transformers' continuous batching ignores cache_implementation.
  if (config.cache_implementation == "static") {
    throw InvalidArgumentError(
        "ContinuousBatcher::add does not use a static KV cache (cache_implementation \"static\")");
  }
  auto& net = model->loaded.model;
  const auto& device = model->device;
  auto resolved = resolve_generation(config, model->generation, ids.size(1));
  generation::check_lengths(net, ids.size(1), resolved);
  at::NoGradGuard no_grad;
  Row row{resolved, generation::Sampler(resolved), std::move(on_token), ids.to(device), 0};
  const auto& text = net->config().text;
  const auto prompt = ids.size(1);
  const auto options = at::TensorOptions().dtype(model->dtype).device(device);
  generation::KvCache one(text, 1, text.max_position_embeddings, options,
                          prompt + std::min(resolved.max_new_tokens, kFirstDecodeTokens));
  model::ForwardInputs in{row.ids, at::ones({1, prompt}, row.ids.options()), {}, &one};
  in.media = model::media_inputs(inputs, device);
  in.logits_to_keep = 1;
  auto logits = net->forward(in).logits.select(1, -1).to(at::kFloat);
  generation::check_finite(logits, 0);
  const auto token = row.choose(logits);
  if (row.take(token)) return;
  join(std::move(row), std::move(one), at::tensor({token}, at::kLong).to(device));
}

void ContinuousBatcher::Impl::join(Row row, generation::KvCache one, const at::Tensor& token) {
  const auto length = one.length();
  auto row_mask = at::ones({1, length}, token.options());
  if (!cache) {
    cache.emplace(std::move(one));
    mask = row_mask;
    next = token.unsqueeze(0);
  } else {
    const auto width = std::max(cache->length(), length);
    auto pad = [&](const at::Tensor& m) {
      const auto missing = width - m.size(1);
      return missing == 0 ? m : at::cat({at::zeros({m.size(0), missing}, m.options()), m}, 1);
    };
    cache->append_rows(one);
    mask = at::cat({pad(mask), pad(row_mask)}, 0);
    next = at::cat({next, token.unsqueeze(0)}, 0);
  }
  rows.push_back(std::move(row));
}

void ContinuousBatcher::Impl::step() {
  if (rows.empty()) return;
  at::NoGradGuard no_grad;
  auto& net = model->loaded.model;
  mask = at::cat({mask, at::ones({mask.size(0), 1}, mask.options())}, 1);
  model::ForwardInputs in{next, mask, {}, &*cache};
  in.logits_to_keep = 1;
  auto logits = net->forward(in).logits.select(1, -1).to(at::kFloat);
  generation::check_finite(logits, ++steps);
  std::vector<int64_t> kept, tokens;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto token = rows[i].choose(logits.narrow(0, static_cast<int64_t>(i), 1));
    if (!rows[i].take(token)) {
      kept.push_back(static_cast<int64_t>(i));
      tokens.push_back(token);
    }
  }
  next = at::tensor(tokens, at::kLong).to(next.device()).unsqueeze(1);
  if (kept.size() != rows.size()) keep(kept);
}

void ContinuousBatcher::Impl::keep(const std::vector<int64_t>& kept) {
  if (kept.empty()) return clear();
  std::vector<Row> remaining;
  for (auto i : kept) remaining.push_back(std::move(rows[i]));
  rows = std::move(remaining);
  const auto index = at::tensor(kept, at::kLong).to(mask.device());
  mask = mask.index_select(0, index);
  // Columns that are padding in every remaining row: each row's padding is its mask's leading
  // zeros, so the shared part is the smallest index of a first 1.
  const auto front = (mask != 0).to(at::kInt).argmax(1).min().item<int64_t>();
  cache->keep_rows(index, front);
  mask = mask.narrow(1, front, mask.size(1) - front);
}

ContinuousBatcher::ContinuousBatcher(const Model& model) : impl_(std::make_unique<Impl>()) {
  impl_->model = model.impl_;
}
ContinuousBatcher::~ContinuousBatcher() = default;
ContinuousBatcher::ContinuousBatcher(ContinuousBatcher&&) noexcept = default;
ContinuousBatcher& ContinuousBatcher::operator=(ContinuousBatcher&&) noexcept = default;

void ContinuousBatcher::add(const BatchEncoding& inputs, const GenerationConfig& config,
                            TokenCallback on_token) {
  util::with_torch_errors("continuous batching prefill",
                          [&] { impl_->add(inputs, config, std::move(on_token)); });
}

void ContinuousBatcher::step() {
  try {
    util::with_torch_errors("continuous batching step", [&] { impl_->step(); });
  } catch (...) {
    impl_->clear();
    throw;
  }
}

int64_t ContinuousBatcher::size() const { return static_cast<int64_t>(impl_->rows.size()); }

}  // namespace gemma
