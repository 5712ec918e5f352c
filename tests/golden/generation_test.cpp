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
  const auto defaults = gemma::load_generation_defaults(gemma::test::tiny_model_dir());
  for (const char* name : {"model_a_text.safetensors", "model_b_long.safetensors",
                           "model_c_batch.safetensors", "model_g_multi_turn.safetensors"}) {
    INFO(name);
    auto g = load_golden(name);
    gemma::GenerationConfig call;
    call.do_sample = false;
    call.max_new_tokens = g["generated_ids"].size(1);
    auto config = gemma::resolve_generation(call, defaults, g["input_ids"].size(1));
    auto result = gemma::generation::generate(tiny_model().model, g["input_ids"],
                                              g["attention_mask"], config);
    check_rows(result, g["generated_ids"]);
    CHECK(result.stats.prompt_tokens == g["attention_mask"].sum().item<int64_t>());
  }
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
