// The text decoder against transformers 5.23 (Gemma3nForConditionalGeneration, float32, CPU,
// use_cache=True) on models/tiny-gemma3n: every feature on (AltUp, LAuReL, per-layer inputs, KV
// sharing into a sliding and a full consumer, activation sparsity, sliding + full layers).
#include "support/catch_torch.h"

#include <regex>

#include "generation/kv_cache.h"
#include "model/loader.h"
#include "support/golden.h"
#include "support/paths.h"

using gemma::test::load_golden;
using gemma::test::max_abs_diff;

namespace {

gemma::model::LoadedModel& tiny_model() {
  static auto loaded = gemma::model::load_model(gemma::test::tiny_model_dir(),
                                                at::TensorOptions().dtype(at::kFloat));
  return loaded;
}

// The acceptance bound of the text issue: max|Δ| ≤ 1e-4 × max|logit| at every compared position.
void check_logits(const at::Tensor& ours, const at::Tensor& theirs, const std::string& what) {
  const double scale = theirs.abs().max().item<double>();
  const double diff = max_abs_diff(ours, theirs);
  INFO(what << ": max|Δ| = " << diff << ", max|logit| = " << scale << ", ratio "
            << diff / scale);
  CHECK(diff <= 1e-4 * scale);
}

// Greedy decoding with our KV cache: prefill, then one token at a time. As in transformers'
// generate(), a row that emitted an EOS id (1 or 6 here) continues with the pad id 0.
at::Tensor greedy(const at::Tensor& input_ids, const at::Tensor& attention_mask, int64_t steps) {
  auto& loaded = tiny_model();
  const auto b = input_ids.size(0), t = input_ids.size(1);
  gemma::generation::KvCache cache(loaded.config.text, b, t + steps, at::TensorOptions());
  auto mask = attention_mask;
  auto ids = input_ids;
  std::vector<at::Tensor> produced;
  auto finished = at::zeros({b, 1}, at::kBool);
  for (int64_t step = 0; step < steps; ++step) {
    auto out = loaded.model->forward({ids, mask, {}, &cache});
    auto next = out.logits.select(1, -1).argmax(-1, /*keepdim=*/true);  // [B, 1]
    next = at::where(finished, at::zeros_like(next), next);
    finished = finished | (next == 1) | (next == 6);
    produced.push_back(next);
    ids = next;
    mask = at::cat({mask, at::ones({b, 1}, mask.options())}, 1);
  }
  return at::cat(produced, 1);
}

}  // namespace

TEST_CASE("the tiny checkpoint loads strictly, zero-copy", "[golden][text]") {
  auto& loaded = tiny_model();
  const auto params = loaded.model->named_parameters().size();
  CHECK(loaded.report.loaded == params);
  CHECK(loaded.report.zero_copy == params);
  // Left unused: the towers (not built yet) and the dead K/V weights of the KV-shared layers 4-7.
  const std::regex dead_kv(R"(model\.language_model\.layers\.[4-7]\.self_attn\.(k|v)_(proj|norm)\.weight)");
  for (const auto& key : loaded.report.skipped) {
    INFO(key);
    CHECK((key.starts_with("model.vision_tower.") || key.starts_with("model.audio_tower.") ||
           std::regex_match(key, dead_kv)));
  }
}

TEST_CASE("text prompt: logits and hidden states equal transformers'", "[golden][text]") {
  auto g = load_golden("model_a_text.safetensors");
  auto& loaded = tiny_model();
  at::NoGradGuard no_grad;
  auto out = loaded.model->forward({g["input_ids"], g["attention_mask"], {}, nullptr, true});
  check_logits(out.logits, g["logits"], "a_text");
  CHECK(at::equal(gemma::model::default_position_ids(g["attention_mask"], 0, 39, 1, at::kCPU),
                  g["position_ids"]));

  // All AltUp streams, initially and after each decoder layer.
  const auto& layers = g["hidden_states"];  // [L + 1, S, B, T, D]
  REQUIRE(out.hidden_states.size() == static_cast<size_t>(layers.size(0)));
  for (size_t i = 0; i < out.hidden_states.size(); ++i) {
    INFO("streams after layer " << int(i) - 1);
    const double scale = layers[i].abs().max().item<double>();
    CHECK(max_abs_diff(out.hidden_states[i], layers[i]) <= 1e-4 * scale);
  }
}

TEST_CASE("a prompt ten times the sliding window", "[golden][text]") {
  auto g = load_golden("model_b_long.safetensors");
  at::NoGradGuard no_grad;
  auto out = tiny_model().model->forward({g["input_ids"], g["attention_mask"]});
  check_logits(out.logits, g["logits"], "b_long");
}

TEST_CASE("a left-padded batch of two prompts", "[golden][text]") {
  auto g = load_golden("model_c_batch.safetensors");
  at::NoGradGuard no_grad;
  auto out = tiny_model().model->forward({g["input_ids"], g["attention_mask"]});
  CHECK(at::equal(gemma::model::default_position_ids(g["attention_mask"], 0, 50, 2, at::kCPU),
                  g["position_ids"]));
  // Padded query slots carry no meaning; compare the real tokens only.
  auto real = g["attention_mask"].to(at::kBool);
  check_logits(out.logits.index({real}), g["logits"].index({real}), "c_batch");
}

TEST_CASE("greedy continuations with the KV cache equal transformers' generate()",
          "[golden][text]") {
  at::NoGradGuard no_grad;
  for (const char* name : {"model_a_text.safetensors", "model_b_long.safetensors",
                           "model_c_batch.safetensors"}) {
    INFO(name);
    auto g = load_golden(name);
    const auto& want = g["generated_ids"];
    auto got = greedy(g["input_ids"], g["attention_mask"], want.size(1));
    CHECK(at::equal(got, want));
  }
}
