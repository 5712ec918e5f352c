// Generation against transformers 5.23 on models/tiny-gemma3n: each logits processor on fixed
// scores, and greedy and seeded sampling runs of generate() (same seed → the same tokens, since
// torch's CPU generator is shared by Python and C++).
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "gemma/error.h"
#include "gemma/model.h"
#include "gemma/tokenizer.h"
#include "generation/generate.h"
#include "generation/kv_cache.h"
#include "generation/logits_processors.h"
#include "model/loader.h"
#include "support/catch_torch.h"
#include "support/golden.h"
#include "support/paths.h"

using gemma::test::load_golden;
using gemma::test::tiny_model;

namespace {

// Processors only reorder or rescale float32 values: the results must agree to float32 rounding.
void check_scores(const at::Tensor& ours, const at::Tensor& theirs) {
  CHECK(at::equal(at::isinf(ours), at::isinf(theirs)));
  auto finite = at::isfinite(theirs);
  CHECK(at::allclose(ours.masked_select(finite), theirs.masked_select(finite), 1e-6, 1e-6));
}

// transformers' [B, N] ids hold the pad id 0 after a row's EOS; ours stop at the EOS.
void check_rows(const gemma::GenerateResult& got, const at::Tensor& want) {
  REQUIRE(got.tokens.size() == static_cast<size_t>(want.size(0)));
  for (int64_t row = 0; row < want.size(0); ++row) {
    INFO("row " << row);
    std::vector<int64_t> padded = got.tokens[row];
    padded.resize(want.size(1), 0);
    auto expected = want[row];
    CHECK(padded == std::vector<int64_t>(expected.data_ptr<int64_t>(),
                                         expected.data_ptr<int64_t>() + expected.numel()));
  }
}

// Greedy generate() with `cache_implementation` on the single, long (past the sliding window),
// batched (left-padded) and multi-turn prompts must give transformers' tokens.
void check_greedy_goldens(const std::optional<std::string>& cache_implementation) {
  const auto defaults = gemma::load_generation_defaults(gemma::test::tiny_model_dir());
  for (const char* name : {"model_a_text.safetensors", "model_b_long.safetensors",
                           "model_c_batch.safetensors", "model_g_multi_turn.safetensors"}) {
    INFO(name);
    auto g = load_golden(name);
    gemma::GenerationConfig call;
    call.do_sample = false;
    call.max_new_tokens = g["generated_ids"].size(1);
    call.cache_implementation = cache_implementation;
    auto config = gemma::resolve_generation(call, defaults, g["input_ids"].size(1));
    auto result = gemma::generation::generate(tiny_model().model, g["input_ids"],
                                              g["attention_mask"], config);
    check_rows(result, g["generated_ids"]);
    CHECK(result.stats.prompt_tokens == g["attention_mask"].sum().item<int64_t>());
  }
}

}  // namespace

TEST_CASE("logits processors equal transformers'", "[golden][generation]") {
  auto g = load_golden("logits_processors.safetensors");
  const auto& scores = g["scores"];
  const auto& ids = g["input_ids"];
  using namespace gemma::generation;
  check_scores(repetition_penalty(scores, ids, g["prompt_ignore_length"], 1.3),
               g["repetition_1.3"]);
  check_scores(repetition_penalty(scores, ids, {}, 0.7), g["repetition_0.7_no_ignore"]);
  check_scores(temperature(scores, 0.6), g["temperature_0.6"]);
  check_scores(top_k(scores, 5), g["top_k_5"]);
  check_scores(top_p(scores, 0.8), g["top_p_0.8"]);
  check_scores(min_p(scores, 0.1), g["min_p_0.1"]);
}

TEST_CASE("greedy generate() equals transformers' on single, long, batched and multi-turn prompts",
          "[golden][generation]") {
  check_greedy_goldens(std::nullopt);  // generation_config.json's "hybrid": the dynamic cache
}

TEST_CASE("greedy generate() with a static KV cache equals transformers'", "[golden][generation]") {
  check_greedy_goldens("static");
}

TEST_CASE("a static KV cache gives the dynamic cache's logits and tokens on a left-padded batch",
          "[golden][generation]") {
  // model_c_batch: rows of 17 and 50 prompt tokens, the first left-padded. Both caches decode the
  // same greedy tokens in lockstep; every step's logits at the real positions must agree, and the
  // tokens be equal.
  // Not bit-identical: measured max|Δ| = 2.7e-4 over the 16 steps (8.4e-5 at prefill; at worst
  // 1.1e-5 of max|logit|), float32 on the CPU, with 1 or 2 threads alike. The masked slots add
  // only exact zeros (exp of the lowest float times zero-filled V rows), but over rows of 66 keys
  // instead of 50 + step: SDPA's (prefill) and the decode path's probabilities·V reductions sum
  // in another order (≈5e-7 per attention output), which grows through the layers. Within the
  // 1e-4 × max|logit| that the goldens allow against transformers.
  auto g = load_golden("model_c_batch.safetensors");
  auto& model = tiny_model().model;
  const auto& text = model->config().text;
  const auto b = g["input_ids"].size(0), t = g["input_ids"].size(1);
  constexpr int64_t kNewTokens = 16;
  const auto options = at::TensorOptions().dtype(at::kFloat);
  gemma::generation::KvCache dynamic(text, b, t + kNewTokens, options, /*reserve=*/t + 1);
  auto fixed = gemma::generation::KvCache::make_static(text, b, t + kNewTokens, options);
  at::NoGradGuard no_grad;
  auto mask = g["attention_mask"];
  auto step_ids = g["input_ids"];
  for (int64_t step = 0; step < kNewTokens; ++step) {
    INFO("step " << step);
    const auto want = model->forward({step_ids, mask, {}, &dynamic}).logits;
    const auto got = model->forward({step_ids, mask, {}, &fixed}).logits;
    // A padding query attends to no key, and its softmax spreads over all of them (more in the
    // static cache): only the real positions' logits mean anything.
    const auto real = mask.narrow(1, t + step - step_ids.size(1), step_ids.size(1)).to(at::kBool);
    const auto diff = (got - want).abs().masked_select(real.unsqueeze(-1)).max().item<double>();
    CHECK(diff <= 1e-4 * want.abs().max().item<double>());
    const auto next = want.select(1, -1).argmax(-1);
    CHECK(at::equal(next, got.select(1, -1).argmax(-1)));
    step_ids = next.unsqueeze(1);
    mask = at::cat({mask, at::ones({b, 1}, mask.options())}, 1);
  }
  CHECK(fixed.length() == t + kNewTokens - 1);  // the last token is not fed back
}

TEST_CASE("a static KV cache is allocated once, at full capacity, and not for KV-shared layers",
          "[unit][generation]") {
  auto g = load_golden("model_c_batch.safetensors");
  auto& model = tiny_model().model;
  const auto& text = model->config().text;
  const auto b = g["input_ids"].size(0), t = g["input_ids"].size(1);
  const int64_t capacity = t + 4;
  auto cache = gemma::generation::KvCache::make_static(text, b, capacity, at::kFloat);
  CHECK(cache.is_static());
  CHECK(cache.mask_length(t) == capacity);
  const std::vector<int64_t> full = {b, text.num_key_value_heads, capacity, text.head_dim};
  std::vector<const void*> storage;
  int shared = 0;
  for (int l = 0; l < text.num_hidden_layers; ++l) {
    const auto [k, v] = cache.buffers(l);
    if (text.kv_shared_layer_index(l) >= 0) {
      ++shared;
      CHECK_FALSE(k.defined());
      CHECK_FALSE(v.defined());
      continue;
    }
    CHECK(k.sizes().vec() == full);
    CHECK(v.sizes().vec() == full);
    storage.push_back(k.data_ptr());
    storage.push_back(v.data_ptr());
  }
  CHECK(shared == 4);  // layers 4-7 of the tiny model
  at::NoGradGuard no_grad;
  auto mask = g["attention_mask"];
  auto step_ids = g["input_ids"];
  for (int64_t step = 0; step < 5; ++step) {  // prefill, then decode up to the last slot
    const auto logits = model->forward({step_ids, mask, {}, &cache}).logits;
    std::vector<const void*> now;
    for (int l = 0; l < text.num_hidden_layers; ++l) {
      const auto [k, v] = cache.buffers(l);
      if (!k.defined()) continue;
      CHECK(k.sizes().vec() == full);
      now.push_back(k.data_ptr());
      now.push_back(v.data_ptr());
    }
    CHECK(now == storage);
    step_ids = logits.select(1, -1).argmax(-1).unsqueeze(1);
    mask = at::cat({mask, at::ones({b, 1}, mask.options())}, 1);
  }
  CHECK(cache.length() == capacity);
  // Continuous batching reshapes caches; a static one refuses.
  CHECK_THROWS_AS(cache.keep_rows(at::arange(b), 0), gemma::InternalError);
  CHECK_THROWS_AS(cache.append_rows(cache), gemma::InternalError);
}

TEST_CASE("seeded sampling equals transformers' token for token", "[golden][generation]") {
  std::ifstream in(gemma::test::data_dir() / "golden" / "sampling.json");
  const auto cases = nlohmann::json::parse(in)["cases"];
  const auto defaults = gemma::load_generation_defaults(gemma::test::tiny_model_dir());
  for (const auto& c : cases) {
    INFO(c["name"].get<std::string>());
    auto prompt = load_golden(std::filesystem::path(c["prompt"].get<std::string>()).filename());
    auto call = gemma::test::generation_config_from(c["generate_kwargs"]);
    call.max_new_tokens = c["max_new_tokens"].get<int64_t>();
    call.seed = c["seed"].get<uint64_t>();
    auto config = gemma::resolve_generation(call, defaults, prompt["input_ids"].size(1));
    auto result = gemma::generation::generate(tiny_model().model, prompt["input_ids"],
                                              prompt["attention_mask"], config);
    auto want = c["generated_ids"].get<std::vector<std::vector<int64_t>>>();
    std::vector<at::Tensor> rows;
    for (const auto& r : want) rows.push_back(at::tensor(r, at::kLong));
    check_rows(result, at::stack(rows));
  }
}

TEST_CASE("a token callback that returns false ends its row", "[golden][generation]") {
  auto g = load_golden("model_c_batch.safetensors");
  auto config = gemma::resolve_generation({.max_new_tokens = 10, .do_sample = false},
                                          gemma::GenerationDefaults{}, g["input_ids"].size(1));
  auto result = gemma::generation::generate(
      tiny_model().model, g["input_ids"], g["attention_mask"], config,
      [](const gemma::TokenEvent& e) { return !(e.row == 1 && e.index == 2); });
  CHECK(result.tokens[1].size() == 3);
  CHECK(result.tokens[0].size() == 10);
  CHECK(result.stats.new_tokens == 13);
  // Each row's first token comes from prefill: 9 + 2 tokens were decoded, not 13 - 1.
  CHECK(result.stats.decode_tokens == 11);
  CHECK(result.stats.decode_tokens_per_second() ==
        Approx(11 / result.stats.decode_seconds).epsilon(1e-12));
}

TEST_CASE("a KV cache that grows reads back what one allocated in full holds",
          "[unit][generation]") {
  // generate() allocates for the prompt + 256 tokens and grows from there; writes past the first
  // allocation must read back exactly.
  const auto& text = tiny_model().config.text;
  const auto options = at::TensorOptions().dtype(at::kFloat);
  gemma::generation::KvCache small(text, 1, 10, options, /*reserve=*/1);
  gemma::generation::KvCache full(text, 1, 10, options, /*reserve=*/10);
  const int layer = 0;
  for (int step = 0; step < 10; ++step) {
    const auto k = at::randn({1, text.num_key_value_heads, 1, text.head_dim});
    const auto v = at::randn({1, text.num_key_value_heads, 1, text.head_dim});
    const auto [ks, vs] = small.update(layer, k, v);
    const auto [kf, vf] = full.update(layer, k, v);
    CHECK(at::equal(ks, kf));
    CHECK(at::equal(vs, vf));
    small.advance(1);
    full.advance(1);
  }
  CHECK_THROWS_AS(small.update(layer, at::zeros({1, text.num_key_value_heads, 1, text.head_dim}),
                               at::zeros({1, text.num_key_value_heads, 1, text.head_dim})),
                  gemma::GenerationError);
}

TEST_CASE("forward with logits_to_keep gives the last positions' logits", "[unit][generation]") {
  auto g = load_golden("model_a_text.safetensors");
  gemma::model::ForwardInputs in;
  in.input_ids = g["input_ids"];
  in.attention_mask = g["attention_mask"];
  const auto all = tiny_model().model->forward(in).logits;
  in.logits_to_keep = 1;
  const auto last = tiny_model().model->forward(in).logits;
  REQUIRE(last.size(1) == 1);
  CHECK(at::allclose(last.select(1, 0), all.select(1, -1), 1e-6, 1e-6));
}

TEST_CASE("impossible generation settings are refused by name", "[unit][generation]") {
  gemma::GenerationDefaults defaults;
  CHECK_THROWS_AS(gemma::resolve_generation({.do_sample = true, .temperature = 0.0}, defaults, 5),
                  gemma::InvalidArgumentError);
  CHECK_THROWS_WITH(gemma::resolve_generation({.do_sample = true, .top_p = 1.5}, defaults, 5),
                    Catch::Contains("top_p"));
  // Without max_length in generation_config.json transformers makes 20 new tokens; with one, the
  // prompt counts against it.
  CHECK(gemma::resolve_generation({}, gemma::GenerationDefaults{}, 25).max_new_tokens == 20);
  auto limited = defaults;
  limited.max_length = 20;
  CHECK_THROWS_WITH(gemma::resolve_generation({}, limited, 25), Catch::Contains("max_new_tokens"));
}

TEST_CASE("cache_implementation is dynamic or static, and nothing else", "[unit][generation]") {
  gemma::GenerationDefaults defaults;
  CHECK(gemma::resolve_generation({}, defaults, 5).cache_implementation == "dynamic");
  CHECK(gemma::resolve_generation({.cache_implementation = "static"}, defaults, 5)
            .cache_implementation == "static");
  // The Gemma 3n checkpoints' generation_config.json says "hybrid", which transformers 5 reads as
  // the dynamic cache; a call's value wins over the model's.
  defaults.cache_implementation = "hybrid";
  CHECK(gemma::resolve_generation({}, defaults, 5).cache_implementation == "dynamic");
  CHECK(gemma::resolve_generation({.cache_implementation = "static"}, defaults, 5)
            .cache_implementation == "static");
  CHECK_THROWS_AS(gemma::resolve_generation({.cache_implementation = "offloaded"}, defaults, 5),
                  gemma::InvalidArgumentError);
  CHECK_THROWS_WITH(gemma::resolve_generation({.cache_implementation = "Static "}, defaults, 5),
                    Catch::Contains("cache_implementation") && Catch::Contains("\"Static \""));
  defaults.cache_implementation = "sliding_window";
  CHECK_THROWS_WITH(gemma::resolve_generation({}, defaults, 5),
                    Catch::Contains("\"sliding_window\""));
  CHECK(gemma::resolve_generation({.cache_implementation = "dynamic"}, defaults, 5)
            .cache_implementation == "dynamic");
}

TEST_CASE("the public Model streams UTF-8 text that adds up to the decoded reply",
          "[golden][generation]") {
  auto g = load_golden("model_c_batch.safetensors");
  const auto dir = gemma::test::tiny_model_dir();
  const auto model = gemma::Model::from_pretrained(dir);
  const auto tokenizer = gemma::Tokenizer::from_pretrained(dir);
  std::vector<std::string> texts(2);
  auto result = model.generate(g["input_ids"], g["attention_mask"],
                               {.max_new_tokens = 40, .do_sample = false}, tokenizer,
                               [&](int64_t row, std::string_view piece) {
                                 texts[row] += piece;
                                 return true;
                               });
  check_rows(result, g["generated_ids"]);  // transformers' tokens, row 0 ending at its EOS
  for (size_t row = 0; row < texts.size(); ++row) {
    CHECK(texts[row] == tokenizer.decode(result.tokens[row], /*skip_special_tokens=*/true));
  }
}

TEST_CASE("stop strings end a row once its text contains one", "[golden][generation]") {
  auto g = load_golden("model_a_text.safetensors");
  const auto dir = gemma::test::tiny_model_dir();
  const auto model = gemma::Model::from_pretrained(dir);
  const auto tokenizer = gemma::Tokenizer::from_pretrained(dir);
  gemma::GenerationConfig config{.max_new_tokens = 40, .do_sample = false};
  // The reply transformers produced, cut in the middle: generation must stop right there.
  const auto& want = g["generated_ids"][0];
  std::vector<int64_t> first(want.data_ptr<int64_t>(), want.data_ptr<int64_t>() + 10);
  const auto prefix = tokenizer.decode(first);
  config.stop_strings = {prefix.substr(prefix.size() - 3)};
  auto result = model.generate(g["input_ids"], g["attention_mask"], config, {}, &tokenizer);
  CHECK(result.tokens[0].size() <= 10);
  CHECK(tokenizer.decode(result.tokens[0]).find(config.stop_strings[0]) != std::string::npos);
  CHECK_THROWS_AS(model.generate(g["input_ids"], g["attention_mask"], config),
                  gemma::InvalidArgumentError);
}
