// The MobileNetV5 vision tower against transformers 5.23 / timm 1.0.31 on models/tiny-gemma3n,
// whose layout covers every block kind Gemma 3n uses: er (strided and residual), uir with every
// depthwise-kernel combination, mqa with and without K/V stride, and the MSFA with average pooling.
#include <ATen/ops/cat.h>

#include <cmath>
#include <set>

#include "gemma/config.h"
#include "gemma/error.h"
#include "io/checkpoint.h"
#include "io/vision_layout.h"
#include "model/loader.h"
#include "support/catch_torch.h"
#include "support/golden.h"
#include "support/paths.h"
#include "vision/standalone.h"

using gemma::test::load_golden;
using gemma::test::max_abs_diff;
using gemma::vision::VisionTower;

namespace {

constexpr std::string_view kPrefix = "model.vision_tower.";

gemma::vision::StandaloneTower load_tower(at::ScalarType dtype) {
  return gemma::vision::load_standalone_tower(gemma::test::tiny_model_dir(),
                                              at::TensorOptions().dtype(dtype));
}

gemma::vision::StandaloneTower& tower_fp32() {
  static auto loaded = load_tower(at::kFloat);
  return loaded;
}

// The five processor test images in one batch, in MANIFEST's order.
at::Tensor batch_pixels() {
  auto images = load_golden("processor_images.safetensors");
  std::vector<at::Tensor> pixels;
  for (const char* name : {"gray_portrait", "jpeg_exif6", "palette", "rgb_landscape", "rgba"}) {
    pixels.push_back(images.at(std::string(name) + ".pixel_values"));
  }
  return at::cat(pixels, 0);
}

// Gemma3nModel.get_image_features after the tower: [N, C, R, R] -> [N, R·R, C] · √C ->
// embed_vision.
at::Tensor image_features(const at::Tensor& tower_output) {
  const int64_t n = tower_output.size(0), c = tower_output.size(1);
  auto tokens = tower_output.reshape({n, c, -1}).permute({0, 2, 1});
  tokens = tokens * std::sqrt(static_cast<double>(c));
  return gemma::test::tiny_model().model->model->embed_vision->embed_features(tokens);
}

// max|Δ| / max|theirs|, both reported on failure.
double relative_diff(const at::Tensor& ours, const at::Tensor& theirs, const std::string& what) {
  REQUIRE(ours.sizes() == theirs.sizes());
  const double diff = max_abs_diff(ours, theirs);
  const double scale = theirs.abs().max().item<double>();
  INFO(what << ": max|Δ| = " << diff << ", max|ref| = " << scale << ", ratio " << diff / scale);
  return diff / scale;
}

}  // namespace

TEST_CASE("the tower's parameters are exactly the checkpoint's vision keys", "[golden][vision]") {
  auto& loaded = tower_fp32();
  std::set<std::string> ours;
  for (const auto& item : loaded.tower->named_parameters()) ours.insert(item.key());
  std::set<std::string> theirs;
  const auto checkpoint = gemma::io::Checkpoint::open(gemma::test::tiny_model_dir());
  for (const auto& [key, entry] : checkpoint.entries()) {
    if (key.starts_with(kPrefix)) theirs.insert(key.substr(kPrefix.size()));
  }
  CHECK(ours == theirs);
  CHECK(ours.size() == 110);
  CHECK(loaded.report.loaded == ours.size());
}

// Measured (torch 2.11, CPU): max|Δ| 2.4e-6 at max|ref| 3.5 (6.7e-7 relative) for the tower and
// 1.8e-6 at 2.9 for the features; with one thread the tower output is bit-identical to timm's.
TEST_CASE("float32: five processed images in one batch", "[golden][vision]") {
  auto g = load_golden("model_towers.safetensors");
  at::NoGradGuard no_grad;
  auto out = tower_fp32().tower->forward(batch_pixels());
  CHECK(relative_diff(out, g["vision.batch.vision_tower_output"], "batch tower") <= 1e-5);
  CHECK(relative_diff(image_features(out), g["vision.batch.image_features"], "batch features") <=
        1e-5);
}

TEST_CASE("float32: the image of the d_image prompt", "[golden][vision]") {
  auto g = load_golden("model_d_image.safetensors");
  at::NoGradGuard no_grad;
  auto out = tower_fp32().tower->forward(g["pixel_values"]);
  CHECK(relative_diff(out, g["vision_tower_output"], "d_image tower") <= 1e-5);
  CHECK(relative_diff(image_features(out), g["image_features"], "d_image features") <= 1e-5);
}

// Measured: max|Δ| 0.098 at max|ref| 3.54 (2.8 %), which is exactly transformers' own bfloat16 run
// against its float32 one: on the CPU our bfloat16 output is bit-identical to transformers'.
TEST_CASE("bfloat16 tracks the float32 reference", "[golden][vision]") {
  auto g = load_golden("model_towers.safetensors");
  static auto bf16 = load_tower(at::kBFloat16);
  at::NoGradGuard no_grad;
  auto out = bf16.tower->forward(batch_pixels());
  CHECK(out.scalar_type() == at::kBFloat16);
  CHECK(relative_diff(out.to(at::kFloat), g["vision.batch.vision_tower_output"], "bf16 tower") <=
        0.05);
}

TEST_CASE("the tower is differentiable", "[golden][vision]") {
  auto loaded = load_tower(at::kFloat);
  for (auto& p : loaded.tower->parameters()) p.set_requires_grad(true);
  auto pixels = load_golden("model_d_image.safetensors")["pixel_values"].requires_grad_(true);
  loaded.tower->forward(pixels).square().sum().backward();
  REQUIRE(pixels.grad().defined());
  CHECK(pixels.grad().abs().sum().item<double>() > 0.0);
  for (const auto& item : loaded.tower->named_parameters()) {
    INFO(item.key());
    REQUIRE(item.value().grad().defined());
    CHECK(item.value().grad().abs().sum().item<double>() > 0.0);
  }
}

TEST_CASE("malformed pixel_values are rejected with InvalidArgumentError", "[golden][vision]") {
  auto& tower = tower_fp32().tower;
  at::NoGradGuard no_grad;
  CHECK_THROWS_AS(tower->forward(at::Tensor()), gemma::InvalidArgumentError);
  CHECK_THROWS_AS(tower->forward(at::zeros({3, 32, 32})), gemma::InvalidArgumentError);
  CHECK_THROWS_AS(tower->forward(at::zeros({1, 4, 32, 32})), gemma::InvalidArgumentError);
  CHECK_THROWS_AS(tower->forward(at::zeros({0, 3, 32, 32})), gemma::InvalidArgumentError);
  CHECK_THROWS_WITH(tower->forward(at::zeros({1, 1, 32, 32})),
                    Catch::Contains("pixel_values") && Catch::Contains("[1, 1, 32, 32]"));
  // Any other size runs, as in timm: the MSFA pools or resizes to R×R (checked by hand against
  // transformers for 71×50: bit-identical, through the bilinear branch).
  CHECK(tower->forward(at::rand({2, 3, 70, 50})).sizes() == at::IntArrayRef({2, 48, 4, 4}));
}

TEST_CASE("layouts the tower cannot build are reported", "[golden][vision]") {
  auto layout_with = [](std::vector<std::vector<std::string>> arch_def,
                        std::vector<int64_t> msfa_indices = {-2, -1}) {
    gemma::io::LayoutSpec spec;
    spec.arch_def = std::move(arch_def);
    spec.stem_size = 8;
    spec.msfa_indices = std::move(msfa_indices);
    spec.msfa_output_resolution = 2;
    gemma::VisionConfig config;
    config.hidden_size = 16;
    config.layout = gemma::io::build_mobilenet_layout(spec, "test", "layout");
    return config;
  };
  const auto options = at::TensorOptions().dtype(at::kFloat);
  CHECK_THROWS_AS(
      VisionTower(layout_with({{"er_r1_k3_s2_e4_c16_se0.25"}, {"uir_r1_a3_k5_s2_e2_c16"}}),
                  options),
      gemma::UnsupportedError);
  CHECK_THROWS_WITH(
      VisionTower(layout_with({{"er_r1_k3_s2_e4_c16_se0.25"}, {"uir_r1_a3_k5_s2_e2_c16"}}),
                  options),
      Catch::Contains("blocks.0.0") && Catch::Contains("squeeze-excite"));
  CHECK_THROWS_WITH(
      VisionTower(layout_with({{"er_r1_k3_s2_e4_c16"}, {"uir_r1_a3_k0_s1_e2_c16"}}), options),
      Catch::Contains("stage 1") && Catch::Contains("stride-1"));
  CHECK_THROWS_AS(
      VisionTower(layout_with({{"er_r1_k3_s2_e4_c16"}, {"uir_r1_a3_k5_s2_e2_c24_gs5"}}), options),
      gemma::ConfigError);
  CHECK_THROWS_WITH(
      VisionTower(layout_with({{"er_r1_k3_s2_e4_c16"}, {"uir_r1_a3_k5_s2_e2_c24_gs5"}}), options),
      Catch::Contains("blocks.1.0") && Catch::Contains("groups of 5"));
  CHECK_THROWS_AS(
      VisionTower(layout_with({{"er_r1_k3_s2_e4_c16"}, {"uir_r1_a3_k5_s2_e2_c16"}}, {-1, 2}),
                  options),
      gemma::ConfigError);
  CHECK_NOTHROW(VisionTower(
      layout_with({{"er_r1_k3_s2_e4_c16"}, {"uir_r1_a3_k5_s2_e2_c16"}}, {-1, -2}), options));
}
