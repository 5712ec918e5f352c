// The audio tower (Gemma3nAudioEncoder) against transformers 5.23 on models/tiny-gemma3n, float32
// on the CPU: sub-sampling with the cumulative group norm, two conformer blocks with chunked local
// attention (chunk 6, 6 frames of left context, so windows span several blocks), the 4x output
// reduction and the padding mask. Inputs are the feature extractor's goldens; the batch clip pads
// its 0.5 s row with 49 frames, so the masking of padded frames is exercised.
#include <set>
#include <string>

#include "audio/audio_encoder.h"
#include "gemma/error.h"
#include "io/checkpoint.h"
#include "model/loader.h"
#include "support/catch_torch.h"
#include "support/golden.h"
#include "support/paths.h"

using gemma::test::load_golden;
using gemma::test::max_abs_diff;

namespace {

// The target. Measured (torch 2.11, AVX-512 CPU, 2 threads): tower outputs ≤ 1.2e-6 and
// audio_features ≤ 1.3e-6 on every clip; with one thread, as the goldens were made, bit-identical.
constexpr double kFloat32Tolerance = 1e-5;

gemma::audio::LoadedAudioEncoder& tiny_tower(at::ScalarType dtype) {
  static auto fp32 = gemma::audio::load_audio_encoder(gemma::test::tiny_model_dir(),
                                                      at::TensorOptions().dtype(at::kFloat));
  static auto bf16 = gemma::audio::load_audio_encoder(gemma::test::tiny_model_dir(),
                                                      at::TensorOptions().dtype(at::kBFloat16));
  return dtype == at::kBFloat16 ? bf16 : fp32;
}

struct Reference {
  std::string name;
  at::Tensor features, valid;               // the model's inputs: [N, T, 128], [N, T] true = valid
  at::Tensor output, mask, audio_features;  // transformers' outputs
};

Reference tower_reference(const std::string& clip) {
  auto inputs = load_golden("processor_audio.safetensors");
  auto towers = load_golden("model_towers.safetensors");
  const auto prefix = "audio." + clip + ".";
  return {clip,
          inputs[clip + ".input_features"],
          inputs[clip + ".input_features_mask"],
          towers[prefix + "audio_tower_output"],
          towers[prefix + "audio_tower_mask"],
          towers[prefix + "audio_features"]};
}

// A model golden: the clips of one prompt (or batch of prompts) as the processor made them.
Reference prompt_reference(const std::string& prompt) {
  auto g = load_golden("model_" + prompt + ".safetensors");
  return {prompt,
          g["input_features"],
          g["input_features_mask"],
          g["audio_tower_output"],
          g["audio_tower_mask"],
          g["audio_features"]};
}

void check_float32(const Reference& ref) {
  at::NoGradGuard no_grad;
  auto out = tiny_tower(at::kFloat).encoder->forward(ref.features, ref.valid.logical_not());
  REQUIRE(out.output.sizes() == ref.output.sizes());
  CHECK(out.output.scalar_type() == at::kFloat);
  CHECK(at::equal(out.mask, ref.mask));
  const double tower_diff = max_abs_diff(out.output, ref.output);
  const auto features =
      gemma::test::tiny_model().model->model->embed_audio->embed_features(out.output);
  const double features_diff = max_abs_diff(features, ref.audio_features);
  INFO(ref.name << ": tower max|Δ| = " << tower_diff << " (max|x| "
                << ref.output.abs().max().item<double>()
                << "), audio_features max|Δ| = " << features_diff);
  CHECK(tower_diff <= kFloat32Tolerance);
  CHECK(features_diff <= kFloat32Tolerance);
  // Padded frames come out as exact zeros.
  CHECK(out.output.index({out.mask}).abs().sum().item<double>() == 0.0);
}

}  // namespace

TEST_CASE("audio tower parameters are exactly the checkpoint's model.audio_tower.* tensors",
          "[golden][audio]") {
  const std::string prefix = "model.audio_tower.";
  std::set<std::string> stored;
  const auto checkpoint = gemma::io::Checkpoint::open(gemma::test::tiny_model_dir());
  for (const auto& [name, entry] : checkpoint.entries()) {
    if (name.starts_with(prefix)) stored.insert(name.substr(prefix.size()));
  }
  auto& loaded = tiny_tower(at::kFloat);
  std::set<std::string> built;
  for (const auto& item : loaded.encoder->named_parameters()) built.insert(item.key());
  CHECK(built == stored);
  CHECK(loaded.report.loaded == stored.size());
  CHECK(loaded.report.zero_copy == stored.size());
  for (const auto& key : loaded.report.skipped) CHECK_FALSE(key.starts_with(prefix));
}

TEST_CASE("audio tower: padded batch of two clips equals transformers'", "[golden][audio]") {
  auto ref = tower_reference("batch_sine440_1s_chirp_0.5s");
  // The second row is padded in the input and in the output.
  REQUIRE_FALSE(ref.valid[1].all().item<bool>());
  REQUIRE(ref.mask[1].any().item<bool>());
  REQUIRE_FALSE(ref.mask[0].any().item<bool>());
  check_float32(ref);
}

TEST_CASE("audio tower: a 2 s clip equals transformers'", "[golden][audio]") {
  check_float32(tower_reference("stereo_2s_44k"));
}

TEST_CASE("audio tower: the e_audio prompt's clip equals transformers'", "[golden][audio]") {
  check_float32(prompt_reference("e_audio"));
}

TEST_CASE("audio tower: a 1 s and a 4.9 s clip batched equal transformers'", "[golden][audio]") {
  auto ref = prompt_reference("l_audio_batch");
  REQUIRE(ref.mask[0].any().item<bool>());  // the short clip's tokens end early
  check_float32(ref);
}

TEST_CASE("audio tower in bfloat16 tracks transformers' float32 outputs", "[golden][audio]") {
  at::NoGradGuard no_grad;
  for (const auto& ref :
       {tower_reference("batch_sine440_1s_chirp_0.5s"), tower_reference("stereo_2s_44k")}) {
    auto out = tiny_tower(at::kBFloat16).encoder->forward(ref.features, ref.valid.logical_not());
    CHECK(out.output.scalar_type() == at::kBFloat16);
    CHECK(at::equal(out.mask, ref.mask));
    const double diff = max_abs_diff(out.output, ref.output);
    const double scale = ref.output.abs().max().item<double>();
    // Measured 1.4 % of max|x| (bf16 keeps 8 mantissa bits; two conformer blocks).
    INFO(ref.name << ": bf16 max|Δ| = " << diff << ", max|x| = " << scale);
    CHECK(diff <= 0.03 * scale);
  }
}

TEST_CASE("audio tower rejects malformed inputs", "[golden][audio]") {
  auto& tower = tiny_tower(at::kFloat).encoder;
  const auto features = at::zeros({1, 20, 128});
  const auto mask = at::zeros({1, 20}, at::kBool);
  at::NoGradGuard no_grad;
  CHECK_NOTHROW(tower->forward(features, mask));
  CHECK_THROWS_AS(tower->forward(at::zeros({1, 20, 80}), mask), gemma::InvalidArgumentError);
  CHECK_THROWS_AS(tower->forward(at::zeros({20, 128}), mask), gemma::InvalidArgumentError);
  CHECK_THROWS_AS(tower->forward(at::zeros({1, 0, 128}), at::zeros({1, 0}, at::kBool)),
                  gemma::InvalidArgumentError);
  CHECK_THROWS_AS(tower->forward(features, at::zeros({1, 20})), gemma::InvalidArgumentError);
  CHECK_THROWS_AS(tower->forward(features, at::zeros({2, 20}, at::kBool)),
                  gemma::InvalidArgumentError);
  CHECK_THROWS_AS(tower->forward(at::zeros({1, 20, 128}, at::kLong), mask),
                  gemma::InvalidArgumentError);
  CHECK_THROWS_WITH(tower->forward(features, at::Tensor()),
                    Catch::Contains("audio_mel_mask") && Catch::Contains("undefined"));
}

TEST_CASE("audio tower forward is differentiable", "[golden][audio]") {
  auto loaded = gemma::audio::load_audio_encoder(gemma::test::tiny_model_dir(),
                                                 at::TensorOptions().dtype(at::kFloat));
  auto ref = tower_reference("batch_sine440_1s_chirp_0.5s");
  auto out = loaded.encoder->forward(ref.features, ref.valid.logical_not());
  out.output.pow(2).sum().backward();
  for (const auto& item : loaded.encoder->named_parameters()) {
    INFO(item.key());
    REQUIRE(item.value().grad().defined());
    CHECK(item.value().grad().isfinite().all().item<bool>());
  }
  CHECK(loaded.encoder->subsample_conv_projection->conv_0->conv->weight.grad()
            .abs()
            .sum()
            .item<double>() > 0);
}
