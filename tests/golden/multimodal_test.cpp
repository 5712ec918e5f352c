// The whole model on image and audio prompts against transformers 5.23: the towers' features
// merged at the placeholder tokens, logits, greedy continuations
// (tests/data/golden/model_*.safetensors) and the processor producing those inputs from the
// conversations themselves.
#include "gemma/processor.h"
#include "generation/generate.h"
#include "model/loader.h"
#include "support/catch_torch.h"
#include "support/golden.h"
#include "support/paths.h"

using gemma::test::load_golden;
using gemma::test::max_abs_diff;
using gemma::test::tiny_model;

namespace {

gemma::model::MultimodalInputs media(std::map<std::string, at::Tensor>& g) {
  return {g.count("pixel_values") ? g["pixel_values"] : at::Tensor(),
          g.count("input_features") ? g["input_features"] : at::Tensor(),
          g.count("input_features_mask") ? g["input_features_mask"] : at::Tensor()};
}

// The text issue's bound: max|Δ| ≤ 1e-4 × max|logit|. Batches keep only their last positions
// (real tokens under left padding); the rest is compared where the mask is set.
void check_logits(std::map<std::string, at::Tensor>& g, const at::Tensor& ours,
                  const std::string& name) {
  auto theirs = g["logits"];
  auto mine = ours.narrow(1, ours.size(1) - theirs.size(1), theirs.size(1));
  auto real =
      g["attention_mask"].narrow(1, ours.size(1) - theirs.size(1), theirs.size(1)).to(at::kBool);
  mine = mine.index({real});
  theirs = theirs.index({real});
  const double scale = theirs.abs().max().item<double>();
  const double diff = max_abs_diff(mine, theirs);
  INFO(name << ": max|Δ| = " << diff << ", max|logit| = " << scale << ", ratio " << diff / scale);
  CHECK(diff <= 1e-4 * scale);
}

// Greedy tokens per row up to and including the first EOS, as the goldens store them (pad after).
void check_greedy(std::map<std::string, at::Tensor>& g, const std::string& name) {
  gemma::GenerationDefaults defaults;
  defaults.eos_token_id = {1, 6};
  gemma::GenerationConfig call;
  call.max_new_tokens = g["generated_ids"].size(1);
  call.do_sample = false;
  auto result = gemma::generation::generate(
      tiny_model().model, g["input_ids"], g["attention_mask"],
      gemma::resolve_generation(call, defaults, g["input_ids"].size(1)), {}, media(g));
  const auto expected = g["generated_ids"];
  for (int64_t row = 0; row < expected.size(0); ++row) {
    const auto& tokens = result.tokens[row];
    INFO(name << " row " << row);
    REQUIRE(tokens.size() >= 1);
    const auto want = expected[row].narrow(0, 0, static_cast<int64_t>(tokens.size()));
    CHECK(at::equal(at::tensor(tokens, at::kLong), want));
    if (tokens.size() < static_cast<size_t>(expected.size(1))) {
      CHECK((tokens.back() == 1 || tokens.back() == 6));
    }
  }
}

}  // namespace

TEST_CASE("image and audio prompts: logits and greedy continuations equal transformers'",
          "[golden][multimodal]") {
  for (const std::string name :
       {"d_image", "e_audio", "f_image_audio", "i_two_images", "j_images_two_turns",
        "k_image_batch", "l_audio_batch", "m_mixed_batch"}) {
    DYNAMIC_SECTION(name) {
      auto g = load_golden("model_" + name + ".safetensors");
      at::NoGradGuard no_grad;
      gemma::model::ForwardInputs in{g["input_ids"], g["attention_mask"]};
      in.media = media(g);
      check_logits(g, tiny_model().model->forward(in).logits, name);
      check_greedy(g, name);
    }
  }
}

TEST_CASE("image and audio features before the merge equal transformers'", "[golden][multimodal]") {
  auto g = load_golden("model_f_image_audio.safetensors");
  at::NoGradGuard no_grad;
  auto& m = tiny_model().model->model;
  const auto image = m->get_image_features(g["pixel_values"]);
  CHECK(max_abs_diff(image, g["image_features"]) <=
        1e-5 * g["image_features"].abs().max().item<double>());
  const auto audio = m->get_audio_features(g["input_features"], g["input_features_mask"]);
  CHECK(at::equal(audio.mask, g["audio_tower_mask"]));
  CHECK(max_abs_diff(audio.output, g["audio_features"]) <=
        1e-5 * g["audio_features"].abs().max().item<double>());
}

TEST_CASE("placeholders and media must match in number", "[golden][multimodal]") {
  auto g = load_golden("model_d_image.safetensors");
  at::NoGradGuard no_grad;
  gemma::model::ForwardInputs in{g["input_ids"], g["attention_mask"]};
  in.media.pixel_values = at::cat({g["pixel_values"], g["pixel_values"]});
  CHECK_THROWS_WITH(
      tiny_model().model->forward(in),
      Catch::Contains("16 image placeholder tokens") && Catch::Contains("give 32 feature rows"));
}

TEST_CASE("the processor turns the golden conversations into transformers' inputs",
          "[golden][multimodal][processor]") {
  const auto processor = gemma::Processor::from_pretrained(gemma::test::tiny_model_dir());
  for (const std::string name :
       {"d_image", "e_audio", "f_image_audio", "i_two_images", "j_images_two_turns",
        "k_image_batch", "l_audio_batch", "m_mixed_batch"}) {
    DYNAMIC_SECTION(name) {
      auto g = load_golden("model_" + name + ".safetensors");
      const auto batch = processor.apply_chat_template(
          gemma::test::golden_conversations("model_" + name + ".safetensors"));
      CHECK(at::equal(batch.input_ids, g["input_ids"]));
      CHECK(at::equal(batch.attention_mask, g["attention_mask"]));
      if (g.count("pixel_values")) {
        REQUIRE(batch.pixel_values.defined());
        // OpenCV decodes these PNGs and the EXIF-rotated JPEG exactly as PIL does (measured 0).
        CHECK(max_abs_diff(batch.pixel_values, g["pixel_values"]) <= 1.0 / 255);
      }
      if (g.count("input_features")) {
        REQUIRE(batch.input_features.defined());
        CHECK(at::equal(batch.input_features_mask, g["input_features_mask"]));
        // libsndfile + libsoxr against soundfile + python-soxr, then the features: measured 9.6e-7.
        CHECK(max_abs_diff(batch.input_features, g["input_features"]) <= 1e-5);
      }
    }
  }
}
