// Image input against transformers 5.23 (tests/data/golden/processor_images.safetensors): the
// processor on transformers' own decoded pixels, then the whole path from the file (our OpenCV
// decoding) against load_image + the processor, as apply_chat_template runs them.
#include "gemma/image_processor.h"

#include <ATen/ops/from_blob.h>

#include <string>

#include "support/catch_torch.h"
#include "support/golden.h"
#include "support/paths.h"

namespace {

struct Fixture {
  const char* name;  // key prefix in the golden file
  const char* file;  // under tests/data/images
};

constexpr Fixture kFixtures[] = {{"rgb_landscape", "rgb_landscape_256x160.png"},
                                 {"gray_portrait", "gray_portrait_100x140.png"},
                                 {"rgba", "rgba_128x128.png"},
                                 {"palette", "palette_200x120.png"},
                                 {"jpeg_exif6", "exif_rotate90_240x160.jpg"}};

// One uint8 level after the rescale (plus float32 rounding of the difference): what torchvision's
// float fallback for bilinear on CPUs without AVX2 may change. The golden file was made on an
// AVX512 CPU; there and on AVX2 the match is exact.
constexpr double kOneLevel = 1.0 / 255.0 + 1e-6;

gemma::Image from_hwc(const at::Tensor& rgb) {
  const auto c = rgb.contiguous();
  return gemma::image_from_rgb(c.data_ptr<uint8_t>(), c.size(1), c.size(0));
}

at::Tensor to_hwc(const gemma::Image& image) {
  return at::from_blob(const_cast<uint8_t*>(image.rgb.data()), {image.height, image.width, 3},
                       at::kByte)
      .clone();
}

// NAME.KEY_load_image where the fixture has one (load_image differs from Image.open), else
// NAME.KEY.
const at::Tensor& load_image_golden(const std::map<std::string, at::Tensor>& g,
                                    const std::string& name, const std::string& key) {
  const auto it = g.find(name + "." + key + "_load_image");
  return it != g.end() ? it->second : g.at(name + "." + key);
}

}  // namespace

TEST_CASE("pixel_values equal transformers' on transformers' decoded pixels", "[golden][image]") {
  const auto g = gemma::test::load_golden("processor_images.safetensors");
  const auto processor = gemma::ImageProcessor::from_pretrained(gemma::test::tiny_model_dir());
  for (const auto& f : kFixtures) {
    for (const std::string suffix : {"", "_load_image"}) {
      const auto rgb = g.find(std::string(f.name) + ".rgb_uint8" + suffix);
      if (rgb == g.end()) continue;
      INFO(f.name << suffix);
      const auto got = processor.preprocess({from_hwc(rgb->second)});
      const auto& want = g.at(std::string(f.name) + ".pixel_values" + suffix);
      REQUIRE(got.sizes() == want.sizes());
      // Measured: max|Δ| = 0 for all seven (bit-identical).
      CHECK(gemma::test::max_abs_diff(got, want) <= kOneLevel);
    }
  }
}

TEST_CASE("images loaded from the files equal transformers' load_image + processor",
          "[golden][image]") {
  const auto g = gemma::test::load_golden("processor_images.safetensors");
  const auto processor = gemma::ImageProcessor::from_pretrained(gemma::test::tiny_model_dir());
  for (const auto& f : kFixtures) {
    INFO(f.file);
    const auto image = gemma::load_image((gemma::test::data_dir() / "images" / f.file).string());
    const auto rgb = to_hwc(image);
    const auto& want_rgb = load_image_golden(g, f.name, "rgb_uint8");
    REQUIRE(rgb.sizes() == want_rgb.sizes());
    // OpenCV's libjpeg-turbo 2.1 and Pillow's bundled libjpeg-turbo decode the JPEG identically
    // (ISLOW IDCT, fancy upsampling), so the JPEG is held to the PNGs' bound: measured 0 for all.
    CHECK(gemma::test::max_abs_diff(rgb, want_rgb) == 0);
    const auto pixel_values = processor.preprocess({image});
    // Measured: max|Δ| = 0 (bit-identical) for all five files.
    CHECK(gemma::test::max_abs_diff(pixel_values, load_image_golden(g, f.name, "pixel_values")) <=
          kOneLevel);
  }
}
